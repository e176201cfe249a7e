//! Fixed-base scalar multiplication with a precomputed table.
//!
//! For a base point B the table holds `[j * 16^i] B` in affine coordinates for every 4-bit
//! window i (256 of them) and digit j = 1..15. `[k]B` is then one mixed addition per window and
//! no doubling: 256 additions (about 2 800 field multiplications) instead of 1 024 doublings and
//! 256 additions. The constant-time variant reads all 15 entries of every window; the
//! variable-time one (public scalars only) indexes directly and skips zero digits.
//!
//! A table takes 256 x 15 x 256 octets (about 1 MB) and costs about 15 ms to build; the table
//! of the generator P is built once per process on first use.

use std::sync::OnceLock;

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroize;

use super::{AffinePoint, ProjectivePoint};
use crate::field::kernel::LIMBS;
use crate::field::{Fp, Fq};

/// Number of 4-bit windows in a 1024-bit scalar.
const WINDOWS: usize = LIMBS * 16;

/// Non-zero digits per window.
const DIGITS: usize = 15;

/// `[j * 16^i] B` for i in 0..256, j in 1..=15, affine (never the identity for B in the order-q
/// subgroup: `j * 16^i` is never a multiple of the prime q).
#[derive(Clone)]
pub struct FixedBaseTable {
    entries: Vec<[AffineCoords; DIGITS]>,
}

/// Affine coordinates without an identity flag (table entries are never the identity).
#[derive(Clone, Copy, Default, Zeroize)]
struct AffineCoords {
    x: Fp,
    y: Fp,
}

impl ConditionallySelectable for AffineCoords {
    fn conditional_select(a: &Self, b: &Self, choice: Choice) -> Self {
        Self {
            x: Fp::conditional_select(&a.x, &b.x, choice),
            y: Fp::conditional_select(&a.y, &b.y, choice),
        }
    }
}

impl Drop for FixedBaseTable {
    fn drop(&mut self) {
        // Tables of secret-derived points (a recipient's [b]P + Z is public, but callers may
        // build tables of secret points) are wiped.
        for w in self.entries.iter_mut() {
            w.zeroize();
        }
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
        let mut proj = Vec::with_capacity(WINDOWS * DIGITS);
        let mut b = ProjectivePoint::from(*base);
        for _ in 0..WINDOWS {
            let mut acc = b;
            proj.push(acc);
            for _ in 1..DIGITS {
                acc = acc.add(&b);
                proj.push(acc);
            }
            // next window base: 16 * b = 16th multiple = (15 b) + b
            b = acc.add(&b);
        }
        let affine = batch_to_affine(&proj);
        let mut entries = vec![[AffineCoords::default(); DIGITS]; WINDOWS];
        for (i, w) in entries.iter_mut().enumerate() {
            for (j, e) in w.iter_mut().enumerate() {
                *e = affine[i * DIGITS + j];
            }
        }
        Self { entries }
    }

    /// `[k]B` for a secret scalar, in constant time (every entry of every window is read).
    pub fn mul(&self, k: &Fq) -> ProjectivePoint {
        let mut limbs = k.to_canonical_limbs();
        let mut acc = ProjectivePoint::IDENTITY;
        for (i, window) in self.entries.iter().enumerate() {
            let digit = (limbs[i / 16] >> (4 * (i % 16))) & 0xf;
            let mut entry = AffineCoords::default();
            for (j, e) in (1u64..).zip(window.iter()) {
                entry.conditional_assign(e, j.ct_eq(&digit));
            }
            let sum = acc.add_mixed(&entry.x, &entry.y);
            acc = ProjectivePoint::conditional_select(&acc, &sum, !digit.ct_eq(&0));
        }
        limbs.zeroize();
        acc
    }

    /// `[k]B` for a public scalar given as little-endian limbs: variable time.
    pub fn mul_vartime(&self, k: &crate::field::kernel::Limbs) -> ProjectivePoint {
        let mut acc = ProjectivePoint::IDENTITY;
        for (i, window) in self.entries.iter().enumerate() {
            let digit = (k[i / 16] >> (4 * (i % 16))) & 0xf;
            if let Some(e) = usize::try_from(digit)
                .ok()
                .and_then(|d| d.checked_sub(1))
                .and_then(|d| window.get(d))
            {
                acc = acc.add_mixed(&e.x, &e.y);
            }
        }
        acc
    }

    /// The table of the generator P, built on first use and shared by the whole process.
    pub fn generator() -> &'static Self {
        static TABLE: OnceLock<FixedBaseTable> = OnceLock::new();
        TABLE.get_or_init(|| Self::new(&AffinePoint::generator()))
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
