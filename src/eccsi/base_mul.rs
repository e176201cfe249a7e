//! Constant-time \[k\]G on P-256 with a precomputed table: ECCSI's J = \[j\]G (signing), PVT =
//! \[v\]G and KPAK = \[KSAK\]G (KMS), and \[SSK\]G (validation of a received key pair).
//!
//! `p256`'s own `mul_by_generator` adds projective table points with complete formulas (about
//! 65 additions of 12 multiplications each, plus 4 doublings) and costs about 77 us on this
//! project's machine, more than the whole OpenSSL ECDSA verification used as the yardstick.
//! Here the table holds `[d * 64^i] G` for d = 1..=32 and each of 43 six-bit windows, in affine
//! form, and a multiplication is 43 Jacobian mixed additions (7M + 4S each, madd-2007-bl) over
//! `fiat-crypto`'s formally verified P-256 field arithmetic, plus one inversion.
//!
//! # Why incomplete formulas are safe here
//!
//! The scalar is first replaced by `q - k` when `k >= 2^255` (and the result negated), so the
//! recoded scalar is below 2^255 and its signed 6-bit digits `d_i` lie in \[-32, 31\] (the top
//! one in \[0, 8\]). Before window i the accumulator holds `[m]G` with `|m| < 64^i` (an integer,
//! not reduced), and the window adds `[d_i 64^i]G` with `|d_i 64^i| >= 64^i` unless `d_i = 0`.
//! As `|m| + |d_i| 64^i < q` for every window, `m = +-d_i 64^i (mod q)` only when both are 0:
//! the only exceptional cases of the mixed addition are an identity accumulator (`m = 0`, all
//! lower digits zero) and a zero digit. Both are handled by constant-time selects, never by a
//! branch; the doubling case cannot occur.
//!
//! # Constant time
//!
//! The scalar's sign flip, recoding, table reads (every entry of a window is read and masked,
//! `crate::ct::lookup`), negations and selects are branch-free; the field arithmetic is
//! fiat-crypto's (straight-line code with masked carries); the inversion is the crate's
//! constant-time safegcd. The table is public (multiples of G) and takes 43 x 32 x 64 octets (88 KB),
//! built once per process on first use (about 1 400 additions and one batched inversion).

use std::sync::LazyLock;

use fiat_crypto::p256_64 as fiat;
use p256::elliptic_curve::ff::PrimeField;
use p256::elliptic_curve::group::Group;
use p256::elliptic_curve::point::{AffineCoordinates, BatchNormalize};
use p256::{AffinePoint, FieldBytes, ProjectivePoint, Scalar};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroize;

use crate::ct::{lookup, signed_digits};

/// P-256's field prime for the safegcd inversion (little-endian words).
pub(super) const P256_P: crate::field::safegcd::Modulus62<5> =
    crate::field::safegcd::Modulus62::new(&[
        0xffff_ffff_ffff_ffff,
        0x0000_0000_ffff_ffff,
        0x0000_0000_0000_0000,
        0xffff_ffff_0000_0001,
    ]);

/// Window width in bits.
const W: usize = 6;
/// Windows: a recoded scalar below 2^255 needs ceil(257 / 6) = 43.
const WINDOWS: usize = 43;
/// Table entries per window: `[d * 64^i] G` for d = 1..=32.
const ENTRIES: usize = 1 << (W - 1);

/// A P-256 field element in fiat-crypto's Montgomery form, fully reduced (below p). The
/// constant-time multiplication here and the variable-time verification arithmetic of
/// [`super::jacobian`] (through the operators) share it.
#[derive(Clone, Copy, Default, Zeroize, PartialEq, Eq)]
pub(crate) struct Fe([u64; 4]);

impl core::fmt::Debug for Fe {
    /// The canonical big-endian hex; for the public values of verification and tests (the
    /// constant-time code never formats its values).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Fe({})", hex::encode_upper(self.to_be()))
    }
}

impl Fe {
    pub(super) const ZERO: Self = Self([0; 4]);
    /// 1 in the Montgomery form: 2^256 mod p.
    pub(super) const ONE: Self = Self([
        0x0000_0000_0000_0001,
        0xffff_ffff_0000_0000,
        0xffff_ffff_ffff_ffff,
        0x0000_0000_ffff_fffe,
    ]);

    fn m(&self) -> fiat::fiat_p256_montgomery_domain_field_element {
        fiat::fiat_p256_montgomery_domain_field_element(self.0)
    }

    fn one() -> Self {
        let mut out = fiat::fiat_p256_montgomery_domain_field_element([0; 4]);
        fiat::fiat_p256_set_one(&mut out);
        Self(out.0)
    }

    pub(super) fn mul(&self, rhs: &Self) -> Self {
        let mut out = fiat::fiat_p256_montgomery_domain_field_element([0; 4]);
        fiat::fiat_p256_mul(&mut out, &self.m(), &rhs.m());
        Self(out.0)
    }

    pub(super) fn square(&self) -> Self {
        let mut out = fiat::fiat_p256_montgomery_domain_field_element([0; 4]);
        fiat::fiat_p256_square(&mut out, &self.m());
        Self(out.0)
    }

    pub(super) fn add(&self, rhs: &Self) -> Self {
        let mut out = fiat::fiat_p256_montgomery_domain_field_element([0; 4]);
        fiat::fiat_p256_add(&mut out, &self.m(), &rhs.m());
        Self(out.0)
    }

    pub(super) fn double(&self) -> Self {
        self.add(self)
    }

    pub(super) fn sub(&self, rhs: &Self) -> Self {
        let mut out = fiat::fiat_p256_montgomery_domain_field_element([0; 4]);
        fiat::fiat_p256_sub(&mut out, &self.m(), &rhs.m());
        Self(out.0)
    }

    pub(super) fn neg(&self) -> Self {
        let mut out = fiat::fiat_p256_montgomery_domain_field_element([0; 4]);
        fiat::fiat_p256_opp(&mut out, &self.m());
        Self(out.0)
    }

    pub(super) fn is_zero(&self) -> Choice {
        self.0[..].ct_eq(&[0u64; 4][..])
    }

    fn select(a: &Self, b: &Self, choice: Choice) -> Self {
        let mut out = [0u64; 4];
        for (o, (x, y)) in out.iter_mut().zip(a.0.iter().zip(&b.0)) {
            *o = u64::conditional_select(x, y, choice);
        }
        Self(out)
    }

    /// The inverse, 0 for 0: the constant-time safegcd of [`crate::field::safegcd`] (about
    /// 1.5 us; Fermat's `self^(p - 2)` by an addition chain took about 8). On the Montgomery
    /// form `a R` it gives `a^-1 R^-1`; two conversions into the Montgomery domain (one
    /// multiplication by R each) make that `a^-1 R`.
    pub(super) fn invert(&self) -> Self {
        let mut plain = crate::field::safegcd::invert(&self.0, &P256_P);
        let mut once = fiat::fiat_p256_montgomery_domain_field_element([0; 4]);
        fiat::fiat_p256_to_montgomery(
            &mut once,
            &fiat::fiat_p256_non_montgomery_domain_field_element(plain),
        );
        let mut twice = fiat::fiat_p256_montgomery_domain_field_element([0; 4]);
        fiat::fiat_p256_to_montgomery(
            &mut twice,
            &fiat::fiat_p256_non_montgomery_domain_field_element(once.0),
        );
        plain.zeroize();
        once.0.zeroize();
        Self(twice.0)
    }

    /// From a big-endian encoding below p (a `p256` coordinate).
    fn from_be(bytes: &FieldBytes) -> Self {
        let mut le = [0u8; 32];
        for (o, b) in le.iter_mut().zip(bytes.iter().rev()) {
            *o = *b;
        }
        let mut plain = [0u64; 4];
        fiat::fiat_p256_from_bytes(&mut plain, &le);
        let mut out = fiat::fiat_p256_montgomery_domain_field_element([0; 4]);
        fiat::fiat_p256_to_montgomery(
            &mut out,
            &fiat::fiat_p256_non_montgomery_domain_field_element(plain),
        );
        Self(out.0)
    }

    /// From a big-endian encoding; `None` unless it is below p (public data: the check
    /// branches).
    pub(super) fn from_be_checked(bytes: &FieldBytes) -> Option<Self> {
        /// p, big-endian.
        const P_BE: [u8; 32] = [
            0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff,
        ];
        (bytes.as_slice() < &P_BE[..]).then(|| Self::from_be(bytes))
    }

    /// The big-endian encoding.
    pub(super) fn to_be(self) -> FieldBytes {
        let mut plain = fiat::fiat_p256_non_montgomery_domain_field_element([0; 4]);
        fiat::fiat_p256_from_montgomery(&mut plain, &self.m());
        let mut le = [0u8; 32];
        fiat::fiat_p256_to_bytes(&mut le, &plain.0);
        let mut out = FieldBytes::default();
        for (o, b) in out.iter_mut().zip(le.iter().rev()) {
            *o = *b;
        }
        le.zeroize();
        plain.0.zeroize();
        out
    }
}

impl core::ops::Add for Fe {
    type Output = Self;
    fn add(self, rhs: Self) -> Self {
        Fe::add(&self, &rhs)
    }
}

impl core::ops::Sub for Fe {
    type Output = Self;
    fn sub(self, rhs: Self) -> Self {
        Fe::sub(&self, &rhs)
    }
}

impl core::ops::Mul for Fe {
    type Output = Self;
    fn mul(self, rhs: Self) -> Self {
        Fe::mul(&self, &rhs)
    }
}

impl core::ops::MulAssign for Fe {
    fn mul_assign(&mut self, rhs: Self) {
        *self = Fe::mul(self, &rhs);
    }
}

impl core::ops::Neg for Fe {
    type Output = Self;
    fn neg(self) -> Self {
        Fe::neg(&self)
    }
}

/// A point in Jacobian coordinates (x = X/Z^2, y = Y/Z^3); Z = 0 is the identity.
#[derive(Clone, Copy, Zeroize)]
struct Jac {
    x: Fe,
    y: Fe,
    z: Fe,
}

impl Jac {
    fn select(a: &Self, b: &Self, choice: Choice) -> Self {
        Self {
            x: Fe::select(&a.x, &b.x, choice),
            y: Fe::select(&a.y, &b.y, choice),
            z: Fe::select(&a.z, &b.z, choice),
        }
    }

    /// madd-2007-bl, `self + (x2, y2)`, 7M + 4S, without the exceptional cases: correct when
    /// `self` is not the identity and not +-(x2, y2) (see the module documentation).
    fn add_affine_unchecked(&self, x2: &Fe, y2: &Fe) -> Self {
        let z1z1 = self.z.square();
        let u2 = x2.mul(&z1z1);
        let s2 = y2.mul(&self.z).mul(&z1z1);
        let h = u2.sub(&self.x);
        let hh = h.square();
        let i = hh.double().double();
        let j = h.mul(&i);
        let r = s2.sub(&self.y).double();
        let v = self.x.mul(&i);
        let x = r.square().sub(&j).sub(&v.double());
        let y = r.mul(&v.sub(&x)).sub(&self.y.mul(&j).double());
        let z = self.z.add(&h).square().sub(&z1z1).sub(&hh);
        Self { x, y, z }
    }
}

/// The table: for each window, 32 entries `x || y` (Montgomery limbs), the layout of the
/// constant-time lookup.
type Table = Vec<[[u64; 8]; ENTRIES]>;

static TABLE: LazyLock<Table> = LazyLock::new(build_table);

/// Builds the table with `p256`'s arithmetic (public points, built once; one batched
/// inversion for the 1 376 affine conversions).
fn build_table() -> Table {
    let mut points = Vec::with_capacity(WINDOWS * ENTRIES);
    let mut base = ProjectivePoint::GENERATOR;
    for _ in 0..WINDOWS {
        let mut acc = base;
        for _ in 0..ENTRIES {
            points.push(acc);
            acc += base;
        }
        for _ in 0..W {
            base = base.double();
        }
    }
    let affine = ProjectivePoint::batch_normalize(points.as_slice());
    affine
        .chunks_exact(ENTRIES)
        .map(|window| {
            let mut entries = [[0u64; 8]; ENTRIES];
            for (entry, a) in entries.iter_mut().zip(window) {
                entry[..4].copy_from_slice(&Fe::from_be(&a.x()).0);
                entry[4..].copy_from_slice(&Fe::from_be(&a.y()).0);
            }
            entries
        })
        .collect()
}

/// \[k\]G in constant time (the identity for k = 0).
#[inline(never)]
pub(crate) fn mul_base(k: &Scalar) -> AffinePoint {
    // k' = q - k when k >= 2^255, so that k' < 2^255 (q - k <= q - 2^255 < 2^255).
    let mut repr = k.to_repr();
    let high = Choice::from(repr[0] >> 7);
    let mut reduced = Scalar::conditional_select(k, &-k, high);
    let mut reduced_repr = reduced.to_repr();
    let mut limbs = [0u64; 4];
    for (l, chunk) in limbs.iter_mut().zip(reduced_repr.rchunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        *l = u64::from_be_bytes(b);
        b.zeroize();
    }
    let mut digits = signed_digits(&limbs, W, WINDOWS);

    let mut acc = Jac {
        x: Fe::one(),
        y: Fe::one(),
        z: Fe::ZERO,
    };
    let one = Fe::one();
    for (window, (abs, neg)) in TABLE.iter().zip(&digits) {
        let mut e = lookup(window, 1, *abs);
        let x = Fe([e[0], e[1], e[2], e[3]]);
        let y = Fe([e[4], e[5], e[6], e[7]]);
        let y = Fe::select(&y, &y.neg(), *neg);
        let sum = acc.add_affine_unchecked(&x, &y);
        let from_table = Jac { x, y, z: one };
        let next = Jac::select(&sum, &from_table, acc.z.is_zero());
        acc = Jac::select(&next, &acc, abs.ct_eq(&0));
        e.zeroize();
    }
    acc.y = Fe::select(&acc.y, &acc.y.neg(), high);

    let zi = acc.z.invert();
    let zi2 = zi.square();
    let x = acc.x.mul(&zi2).to_be();
    let y = acc.y.mul(&zi2).mul(&zi).to_be();
    // The identity has Z = 0, hence x = y = 0, which is not on the curve.
    // (`CtOption::unwrap_or` selects; converting to `Option` would branch.)
    let point = AffinePoint::from_coordinates(&x, &y).unwrap_or(AffinePoint::IDENTITY);

    repr.zeroize();
    reduced.zeroize();
    reduced_repr.zeroize();
    limbs.zeroize();
    for d in &mut digits {
        d.0.zeroize();
    }
    acc.zeroize();
    point
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::elliptic_curve::hazmat::FieldArithmetic;
    use p256::elliptic_curve::ops::Reduce;
    use proptest::prelude::*;

    type P256Fe = <p256::NistP256 as FieldArithmetic>::FieldElement;

    fn scalar_from_be(bytes: [u8; 32]) -> Scalar {
        Scalar::reduce(&FieldBytes::from(bytes))
    }

    fn check(k: &Scalar) {
        let ours = mul_base(k);
        let theirs = ProjectivePoint::mul_by_generator(k).to_affine();
        assert_eq!(ours, theirs, "k = {k:?}");
    }

    #[test]
    fn edge_scalars() {
        let q_minus = |n: u64| -Scalar::from(n);
        let pow2 = |e: u32| {
            let mut b = [0u8; 32];
            b[31 - (e / 8) as usize] = 1 << (e % 8);
            scalar_from_be(b)
        };
        let mut cases = vec![
            Scalar::ZERO,
            Scalar::ONE,
            Scalar::from(2u64),
            Scalar::from(31u64),
            Scalar::from(32u64),
            Scalar::from(33u64),
            Scalar::from(64u64),
            q_minus(1),
            q_minus(2),
            q_minus(32),
            pow2(255),
            pow2(255) - Scalar::ONE,
            pow2(254),
            pow2(252),
            pow2(200),
            // Every digit -32 or 31 before the sign flip or after it.
            scalar_from_be([0x7f; 32]),
            scalar_from_be([0x80; 32]),
            scalar_from_be([0xff; 32]),
            scalar_from_be([0x82; 32]),
            scalar_from_be([0x08; 32]),
        ];
        // (2^256 - q) * 2: an exceptional scalar of a 65-window 4-bit recoding.
        cases.push(pow2(255) + pow2(255) + pow2(255) + pow2(255));
        for e in 0..256 {
            cases.push(pow2(e));
            cases.push(-pow2(e));
        }
        for k in &cases {
            check(k);
        }
        assert_eq!(mul_base(&Scalar::ZERO), AffinePoint::IDENTITY);
    }

    #[test]
    fn inversion_matches_p256() {
        for seed in 1u64..200 {
            let v = P256Fe::from_u64(seed).square() * P256Fe::from_u64(seed + 7) + P256Fe::ONE;
            let ours = Fe::from_be(&v.to_repr()).invert();
            let theirs = v.invert().unwrap();
            assert_eq!(ours.to_be(), theirs.to_repr());
            assert_eq!(
                ours.mul(&Fe::from_be(&v.to_repr())).to_be(),
                P256Fe::ONE.to_repr()
            );
        }
        assert_eq!(Fe::ZERO.invert().to_be(), P256Fe::ZERO.to_repr());
        for v in [P256Fe::ONE, -P256Fe::ONE, -P256Fe::from_u64(2)] {
            let ours = Fe::from_be(&v.to_repr()).invert();
            assert_eq!(ours.to_be(), v.invert().unwrap().to_repr());
        }
    }

    proptest! {
        #[test]
        fn matches_p256(bytes in any::<[u8; 32]>()) {
            let k = scalar_from_be(bytes);
            prop_assert_eq!(mul_base(&k), ProjectivePoint::mul_by_generator(&k).to_affine());
        }
    }

    #[test]
    fn identity_accumulator_and_zero_digits() {
        // Scalars whose low windows are all zero (the accumulator stays the identity for a
        // while) and with zero digits in the middle.
        let mut k = Scalar::ONE;
        for _ in 0..40 {
            k = k.double().double().double().double().double().double();
            check(&k);
            check(&(k + Scalar::from(5u64)));
            check(&(k * Scalar::from(3u64) + k));
        }
    }
}
