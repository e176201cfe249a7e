//! Variable-time Jacobian arithmetic for public points: the subgroup test `[q]X = O` of every
//! decoder.
//!
//! Jacobian coordinates `(X, Y, Z)` with `x = X/Z^2`, `y = Y/Z^3` make a doubling cheap on a
//! curve with `a = -3` (3M + 5S, against 8M + 3S for the complete projective formulas), and
//! `[q]X` is computed over the width-5 NAF of q (about 170 additions of precomputed affine odd
//! multiples). Every special case (identity, `P = Q`, `P = -Q`) is handled explicitly, so the
//! result is exact for any point of E, inside the subgroup or not. Branches depend on the
//! (public) point: never use this for secrets.

use subtle::ConstantTimeEq;

use super::{AffinePoint, Jacobian};
use crate::field::{Fp, Fq};

/// The variable-time wrappers around the shared formulas of [`Jacobian`]: every special case
/// is decided by a branch on the (public) point.
impl Jacobian {
    fn is_identity_vartime(&self) -> bool {
        bool::from(self.z.is_zero())
    }

    fn from_affine(p: &AffinePoint) -> Self {
        if bool::from(p.infinity) {
            Self::IDENTITY
        } else {
            Self {
                x: p.x,
                y: p.y,
                z: Fp::ONE,
            }
        }
    }

    /// dbl-2001-b for a = -3; the identity and points of order 2 give the identity.
    fn double_vartime(&self) -> Self {
        if self.is_identity_vartime() || bool::from(self.y.is_zero()) {
            return Self::IDENTITY;
        }
        self.double()
    }

    /// Mixed addition with an affine point (not the identity), every case handled.
    fn add_affine_vartime(&self, x2: &Fp, y2: &Fp) -> Self {
        if self.is_identity_vartime() {
            return Self {
                x: *x2,
                y: *y2,
                z: Fp::ONE,
            };
        }
        let sum = self.add_affine(x2, y2);
        // Z3 = Z1 H vanishes exactly when the x-coordinates agree: then the points are equal
        // (double) or opposite (identity).
        if !bool::from(sum.z.is_zero()) {
            return sum;
        }
        let z1z1 = self.z.square();
        if bool::from(y2.mul(&self.z).mul(&z1z1).ct_eq(&self.y)) {
            self.double_vartime()
        } else {
            Self::IDENTITY
        }
    }
}

/// Width of the NAF used for `[q]X`.
const W: u32 = 5;

/// The width-5 NAF of q, most significant digit last; digits are odd in [-15, 15] or 0.
fn wnaf_of_q() -> Vec<i8> {
    let mut n = Fq::MODULUS;
    let mut out = Vec::with_capacity(1024);
    let is_zero = |n: &[u64; 16]| n.iter().all(|&l| l == 0);
    while !is_zero(&n) {
        let mut d = 0i64;
        if n[0] & 1 == 1 {
            let m = i64::try_from(n[0] & ((1 << W) - 1)).unwrap_or(0);
            d = if m >= 1 << (W - 1) { m - (1 << W) } else { m };
            // n -= d
            if d > 0 {
                sub_small(&mut n, d.unsigned_abs());
            } else {
                add_small(&mut n, d.unsigned_abs());
            }
        }
        out.push(i8::try_from(d).unwrap_or(0));
        shr1(&mut n);
    }
    out
}

fn sub_small(n: &mut [u64; 16], v: u64) {
    let mut borrow = v;
    for limb in n.iter_mut() {
        let (r, b) = limb.overflowing_sub(borrow);
        *limb = r;
        borrow = u64::from(b);
        if borrow == 0 {
            break;
        }
    }
}

fn add_small(n: &mut [u64; 16], v: u64) {
    let mut carry = v;
    for limb in n.iter_mut() {
        let (r, c) = limb.overflowing_add(carry);
        *limb = r;
        carry = u64::from(c);
        if carry == 0 {
            break;
        }
    }
}

fn shr1(n: &mut [u64; 16]) {
    for i in 0..16 {
        let hi = if i + 1 < 16 { n[i + 1] << 63 } else { 0 };
        n[i] = (n[i] >> 1) | hi;
    }
}

/// Whether `[q]p = O`, exactly, for any point of E (public data only: variable time).
pub(crate) fn is_killed_by_q_vartime(p: &AffinePoint) -> bool {
    #[cfg(fuzzing)]
    return fuzzing_memo::killed_by_q(p);
    #[cfg(not(fuzzing))]
    killed_by_q_vartime(p)
}

/// Fuzz builds only (`cargo fuzz` sets `cfg(fuzzing)`): the subgroup check of the last few
/// points is remembered. A fuzz target that reads the same KMS public key from thousands of
/// mutated inputs (a store's master keys) spent 80% of its time here under the sanitizer; the
/// check is a pure function of the point, so the answers are unchanged. Never compiled into a
/// shipped build.
#[cfg(fuzzing)]
mod fuzzing_memo {
    use std::sync::Mutex;

    use super::{AffinePoint, killed_by_q_vartime};
    use crate::params::POINT_LEN;

    static SEEN: Mutex<Vec<([u8; POINT_LEN], bool)>> = Mutex::new(Vec::new());

    pub(super) fn killed_by_q(p: &AffinePoint) -> bool {
        let key = p.to_bytes();
        if let Ok(seen) = SEEN.lock() {
            if let Some(&(_, answer)) = seen.iter().find(|(k, _)| *k == key) {
                return answer;
            }
        }
        let answer = killed_by_q_vartime(p);
        if let Ok(mut seen) = SEEN.lock() {
            if seen.len() >= 16 {
                seen.clear();
            }
            seen.push((key, answer));
        }
        answer
    }
}

fn killed_by_q_vartime(p: &AffinePoint) -> bool {
    if bool::from(p.infinity) {
        return true;
    }
    // Odd multiples 1P, 3P, ..., 15P in affine form (public, so plain affine arithmetic with one
    // inversion each is fine: 8 inversions of ~0.03 ms).
    let twice = Jacobian::from_affine(p).double_vartime();
    let Some(twice) = to_affine_vartime(&twice) else {
        // 2P = O: P has order 2, never in the odd-order subgroup.
        return false;
    };
    let mut odd = Vec::with_capacity(8);
    odd.push((p.x, p.y));
    for _ in 1..8 {
        let Some(&(lx, ly)) = odd.last() else {
            return false;
        };
        let next = Jacobian {
            x: lx,
            y: ly,
            z: Fp::ONE,
        }
        .add_affine_vartime(&twice.0, &twice.1);
        match to_affine_vartime(&next) {
            Some(a) => odd.push(a),
            // kP = O for a small odd k: not of order q
            None => return false,
        }
    }
    static WNAF: std::sync::OnceLock<Vec<i8>> = std::sync::OnceLock::new();
    let digits = WNAF.get_or_init(wnaf_of_q);
    let mut acc = Jacobian::IDENTITY;
    for &d in digits.iter().rev() {
        acc = acc.double_vartime();
        if d != 0 {
            let idx = usize::from(d.unsigned_abs() / 2);
            let Some(&(x, y)) = odd.get(idx) else {
                return false;
            };
            let y = if d > 0 { y } else { y.neg() };
            acc = acc.add_affine_vartime(&x, &y);
        }
    }
    acc.is_identity_vartime()
}

fn to_affine_vartime(p: &Jacobian) -> Option<(Fp, Fp)> {
    let zinv: Option<Fp> = p.z.invert().into();
    let zinv = zinv?;
    let zinv2 = zinv.square();
    Some((p.x.mul(&zinv2), p.y.mul(&zinv2).mul(&zinv)))
}
