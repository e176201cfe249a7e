//! Fixed-base scalar multiplication with a precomputed table.
//!
//! For a base point B the table holds `[j * 64^i] B` in affine coordinates for every 6-bit
//! window i (171 of them, covering 1026 bits) and j = 1..32. The scalar is recoded into signed
//! digits in [-32, 31] (branch-free carries), so `[k]B` is one mixed addition per window and no
//! doubling: 171 additions (about 1 900 field multiplications) instead of 1 022 doublings and
//! hundreds of additions. The constant-time variant reads all 32 entries of every window (the
//! masked lookup of [`crate::field::lookup`], AVX-512 where the CPU has it) and negates the
//! selected one by a masked select; the variable-time one (public scalars only) indexes
//! directly and skips zero digits.
//!
//! A table takes 171 x 32 x 256 octets (about 1.4 MB) and costs about 5 500 point additions and
//! one inversion to build; the table of the generator P is built once per process on first use.
//! (Measured against 4-bit unsigned windows, 256 additions and 15 entries per window: the
//! signed 6-bit windows need a third fewer additions for a slightly longer scan.)
//!
//! Wide tables (8-bit windows: 129 windows x 128 entries, about 4 MB, about 16 500 additions
//! to build) serve batches ([`FixedBaseTable::mul_many`]): 129 additions per scalar instead of
//! 171, and the four times longer scans are shared by the batch.

use std::sync::OnceLock;

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroize;

use super::{AffinePoint, ProjectivePoint};
use crate::field::kernel::{LIMBS, Limbs};
use crate::field::lookup::{lookup, lookup_many};
use crate::field::{Fp, Fq};

/// Window width in bits of the default tables.
const W: usize = 6;

/// Window width of the wide tables for batches ([`FixedBaseTable::generator_wide`]): a quarter
/// fewer additions than 6-bit windows, four times the entries per window (4 MB a table), which
/// pays off only when one pass over the table serves several scalars.
const W_WIDE: usize = 8;

/// Number of w-bit windows: enough for a scalar below 2^1024 plus the carry out of the signed
/// recoding (171 for w = 6, 129 for w = 8).
const fn windows(w: usize) -> usize {
    (LIMBS * 64 + 1).div_ceil(w)
}

/// `[j * 2^(w i)] B` for every w-bit window i and j in 1..=2^(w-1), affine (never the identity
/// for B in the order-q subgroup: `j * 2^(w i)` is never a multiple of the prime q).
#[derive(Clone)]
pub struct FixedBaseTable {
    /// Window width in bits (public).
    w: usize,
    /// The windows one after the other, `2^(w-1)` entries each; each entry is `x || y` as
    /// limbs (Montgomery form), the layout of the constant-time lookup.
    entries: Vec<Entry>,
}

/// A table entry: the limbs of x, then those of y.
type Entry = [u64; 2 * LIMBS];

/// Affine coordinates without an identity flag (table entries are never the identity).
#[derive(Clone, Copy, Default, Zeroize)]
struct AffineCoords {
    x: Fp,
    y: Fp,
}

impl AffineCoords {
    fn to_entry(self) -> Entry {
        let mut e = [0u64; 2 * LIMBS];
        e[..LIMBS].copy_from_slice(&self.x.0);
        e[LIMBS..].copy_from_slice(&self.y.0);
        e
    }

    fn from_entry(e: &Entry) -> Self {
        let (mut x, mut y) = ([0u64; LIMBS], [0u64; LIMBS]);
        x.copy_from_slice(&e[..LIMBS]);
        y.copy_from_slice(&e[LIMBS..]);
        Self { x: Fp(x), y: Fp(y) }
    }
}

/// The signed w-bit digits of a scalar below 2^1024, least significant first: `k = sum d_i
/// 2^(w i)` with every `d_i` in [-2^(w-1), 2^(w-1) - 1]. Branch-free (the carries are
/// arithmetic; the width is public), so it may be used on secret scalars; each digit is
/// returned as (|d|, d < 0).
fn signed_digits(k: &Limbs, w: usize) -> Vec<(u64, Choice)> {
    signed_digits_of(k, w, windows(w))
}

/// [`signed_digits`] for a scalar of any number of limbs (little-endian), in `n` windows. The
/// digits sum to `k` when the top window holds fewer than w - 1 bits of `k` (so that it absorbs
/// the carry without one of its own): `n * w >= bits(k) + 2`.
pub(crate) fn signed_digits_of(k: &[u64], w: usize, n: usize) -> Vec<(u64, Choice)> {
    // Zero limbs of headroom for windows that straddle or pass the top.
    let mut limbs = vec![0u64; k.len().max((n * w).div_ceil(64)) + 1];
    limbs[..k.len()].copy_from_slice(k);
    let mut out = vec![(0u64, Choice::from(0)); n];
    let mut carry = 0u64;
    for (i, o) in out.iter_mut().enumerate() {
        // Bit positions are public.
        let pos = i * w;
        let (idx, shift) = (pos / 64, pos % 64);
        let mut bits = limbs[idx] >> shift;
        if shift + w > 64 {
            bits |= limbs[idx + 1] << (64 - shift);
        }
        let raw = (bits & ((1 << w) - 1)) + carry; // 0..=2^w
        carry = (raw + (1 << (w - 1))) >> w; // 1 iff raw >= 2^(w-1)
        // d = raw - 2^w carry in [-2^(w-1), 2^(w-1) - 1]; |d| and the sign through masks, no
        // branch.
        #[allow(clippy::cast_possible_wrap)]
        let d = raw as i64 - ((carry as i64) << w);
        let m = d >> 63;
        #[allow(clippy::cast_sign_loss)]
        let (abs, neg) = (((d ^ m) - m) as u64, (m & 1) as u8);
        *o = (abs, Choice::from(neg));
    }
    limbs.zeroize();
    out
}

impl Drop for FixedBaseTable {
    fn drop(&mut self) {
        // Tables of secret-derived points (a recipient's [b]P + Z is public, but callers may
        // build tables of secret points) are wiped.
        self.entries.zeroize();
    }
}

impl core::fmt::Debug for FixedBaseTable {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FixedBaseTable").finish_non_exhaustive()
    }
}

impl FixedBaseTable {
    /// Builds the table of `base`, which must be a point of the order-q subgroup other than
    /// the identity. Constant time in `base`.
    pub fn new(base: &AffinePoint) -> Self {
        Self::with_width(base, W)
    }

    /// The wide table of `base` (8-bit windows, 4 MB) for batches ([`Self::mul_many`]).
    pub(crate) fn new_wide(base: &AffinePoint) -> Self {
        Self::with_width(base, W_WIDE)
    }

    /// [`Self::new`] with w-bit windows (w in 2..=10, public).
    pub(crate) fn with_width(base: &AffinePoint, w: usize) -> Self {
        let digits = 1 << (w - 1);
        let mut proj = Vec::with_capacity(windows(w) * digits);
        let mut b = ProjectivePoint::from(*base);
        for _ in 0..windows(w) {
            let mut acc = b;
            proj.push(acc);
            for _ in 1..digits {
                acc = acc.add(&b);
                proj.push(acc);
            }
            // next window base: 2^w b = 2 (2^(w-1) b)
            b = acc.double();
        }
        let entries = batch_to_affine(&proj)
            .into_iter()
            .map(AffineCoords::to_entry)
            .collect();
        Self { w, entries }
    }

    /// The windows of the table, `2^(w-1)` entries each.
    fn windows(&self) -> core::slice::Chunks<'_, Entry> {
        self.entries.chunks(1 << (self.w - 1))
    }

    /// `[k]B` for a secret scalar, in constant time (every entry of every window is read).
    pub fn mul(&self, k: &Fq) -> ProjectivePoint {
        let mut limbs = k.to_canonical_limbs();
        let mut digits = signed_digits(&limbs, self.w);
        limbs.zeroize();
        let mut acc = ProjectivePoint::IDENTITY;
        for (window, &(abs, neg)) in self.windows().zip(digits.iter()) {
            let mut raw = lookup(window, 1, abs);
            let entry = AffineCoords::from_entry(&raw);
            raw.zeroize();
            let y = Fp::conditional_select(&entry.y, &entry.y.neg(), neg);
            let sum = acc.add_mixed(&entry.x, &y);
            acc = ProjectivePoint::conditional_select(&acc, &sum, !abs.ct_eq(&0));
        }
        for d in &mut digits {
            d.0.zeroize();
            d.1 = Choice::from(0);
        }
        acc
    }

    /// `[k]B` for each of several secret scalars, in constant time: the same additions as
    /// [`Self::mul`] for each, but every window of the table is read once for the whole batch
    /// (`field::lookup`), so a batch costs one pass over the table instead of one
    /// per scalar. For a sender encapsulating to many recipients (best with the wide tables).
    pub fn mul_many(&self, ks: &[Fq]) -> Vec<ProjectivePoint> {
        let mut digits: Vec<Vec<(u64, Choice)>> = ks
            .iter()
            .map(|k| {
                let mut limbs = k.to_canonical_limbs();
                let d = signed_digits(&limbs, self.w);
                limbs.zeroize();
                d
            })
            .collect();
        let mut accs = vec![ProjectivePoint::IDENTITY; ks.len()];
        let mut idxs = vec![0u64; ks.len()];
        let mut raw = vec![[0u64; 2 * LIMBS]; ks.len()];
        for (i, window) in self.windows().enumerate() {
            for (idx, d) in idxs.iter_mut().zip(&digits) {
                *idx = d[i].0;
            }
            lookup_many(window, 1, &idxs, &mut raw);
            for ((acc, r), d) in accs.iter_mut().zip(&raw).zip(&digits) {
                let (abs, neg) = d[i];
                let entry = AffineCoords::from_entry(r);
                let y = Fp::conditional_select(&entry.y, &entry.y.neg(), neg);
                let sum = acc.add_mixed(&entry.x, &y);
                *acc = ProjectivePoint::conditional_select(acc, &sum, !abs.ct_eq(&0));
            }
        }
        idxs.zeroize();
        raw.zeroize();
        for d in digits.iter_mut().flatten() {
            d.0.zeroize();
            d.1 = Choice::from(0);
        }
        accs
    }

    /// `[k]B` for a public scalar given as little-endian limbs: variable time.
    pub fn mul_vartime(&self, k: &Limbs) -> ProjectivePoint {
        let mut acc = ProjectivePoint::IDENTITY;
        for (window, &(abs, neg)) in self.windows().zip(signed_digits(k, self.w).iter()) {
            if let Some(e) = usize::try_from(abs)
                .ok()
                .and_then(|d| d.checked_sub(1))
                .and_then(|d| window.get(d))
            {
                let e = AffineCoords::from_entry(e);
                let y = if bool::from(neg) { e.y.neg() } else { e.y };
                acc = acc.add_mixed(&e.x, &y);
            }
        }
        acc
    }

    /// The table of the generator P, built on first use and shared by the whole process.
    pub fn generator() -> &'static Self {
        static TABLE: OnceLock<FixedBaseTable> = OnceLock::new();
        TABLE.get_or_init(|| Self::new(&AffinePoint::generator()))
    }

    /// The wide (8-bit windows, 4 MB) table of the generator P for batches
    /// ([`Self::mul_many`]), built on first use and shared by the whole process.
    pub fn generator_wide() -> &'static Self {
        static TABLE: OnceLock<FixedBaseTable> = OnceLock::new();
        TABLE.get_or_init(|| Self::new_wide(&AffinePoint::generator()))
    }
}

/// Converts projective points (none the identity) to affine with one inversion (Montgomery's
/// trick). Constant time.
fn batch_to_affine(points: &[ProjectivePoint]) -> Vec<AffineCoords> {
    let mut prefix = Vec::with_capacity(points.len());
    let mut acc = Fp::ONE;
    for p in points {
        prefix.push(acc);
        acc = acc.mul(&p.z);
    }
    let mut inv = acc.invert().unwrap_or(Fp::ZERO);
    let mut out = vec![AffineCoords::default(); points.len()];
    for i in (0..points.len()).rev() {
        // inv = 1 / (z_0 ... z_i); prefix[i] = z_0 ... z_(i-1)
        let zinv = inv.mul(&prefix[i]);
        inv = inv.mul(&points[i].z);
        out[i] = AffineCoords {
            x: points[i].x.mul(&zinv),
            y: points[i].y.mul(&zinv),
        };
    }
    out
}

impl ProjectivePoint {
    /// `self + (x, y)` for an affine point that is not the identity: complete mixed addition
    /// (RCB algorithm 5 with b = 0), 11 multiplications.
    pub(crate) fn add_mixed(&self, x2: &Fp, y2: &Fp) -> Self {
        let xx = self.x.mul(x2);
        let yy = self.y.mul(y2);
        let xy = self.x.add(&self.y).mul(&x2.add(y2)).sub(&xx.add(&yy));
        let yz = y2.mul(&self.z).add(&self.y);
        let xz = x2.mul(&self.z).add(&self.x);
        let t = xz.double().add(&xz);
        let ym = yy.sub(&t);
        let yp = yy.add(&t);
        let z3 = self.z.double().add(&self.z);
        let s = z3.add(&xx);
        let u = s.double().add(&s).neg();
        let w = xx.double().add(&xx).sub(&z3);
        Self {
            x: yp.mul(&xy).sub(&yz.mul(&u)),
            y: yp.mul(&ym).add(&w.mul(&u)),
            z: ym.mul(&yz).add(&xy.mul(&w)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_bigint::BigInt;

    fn value(digits: &[(u64, Choice)], w: usize) -> BigInt {
        digits
            .iter()
            .rev()
            .fold(BigInt::from(0), |acc, &(abs, neg)| {
                let d = BigInt::from(abs);
                (acc << w) + if bool::from(neg) { -d } else { d }
            })
    }

    fn to_big(k: &Limbs) -> BigInt {
        k.iter()
            .rev()
            .fold(BigInt::from(0), |acc, &l| (acc << 64) + BigInt::from(l))
    }

    #[test]
    fn signed_digits_recode_the_scalar() {
        let mut cases: Vec<Limbs> = vec![
            [0; LIMBS],
            [u64::MAX; LIMBS],
            [0x2020_2020_2020_2020; LIMBS],
        ];
        cases[1][LIMBS - 1] = u64::MAX >> 1; // 2^1023 - 1
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..200 {
            let mut k = [0u64; LIMBS];
            for l in &mut k {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *l = x;
            }
            k[LIMBS - 1] >>= 1;
            cases.push(k);
        }
        // Fq's modulus minus one: the largest scalar.
        let mut q1 = Fq::MODULUS;
        q1[0] -= 1;
        cases.push(q1);
        // and the largest 1024-bit value (for the public multiplication's limbs)
        cases.push([u64::MAX; LIMBS]);
        for w in [W, W_WIDE] {
            let half = 1u64 << (w - 1);
            for k in &cases {
                let digits = signed_digits(k, w);
                assert_eq!(value(&digits, w), to_big(k), "w = {w}");
                for &(abs, neg) in &digits {
                    assert!(abs <= half);
                    assert!(abs != half || bool::from(neg), "digit +2^(w-1)");
                    assert!(abs != 0 || !bool::from(neg), "digit -0");
                }
            }
        }
    }
}
