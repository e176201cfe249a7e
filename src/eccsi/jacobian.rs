//! Variable-time P-256 arithmetic for verification: Jacobian coordinates (a = -3 doubling,
//! mixed addition with affine table points), width-w NAF recoding, and interleaved
//! multi-scalar multiplications with a fixed table for G: two terms over split tables (a
//! known signer's Y), three full-length terms (G, a signature's PVT, the KMS's KPAK).
//!
//! `p256`'s own `lincomb_vartime` uses complete projective formulas (about 12 multiplications
//! per doubling and per addition); Jacobian doubling costs 3M + 5S and mixed addition 7M + 4S,
//! which makes RFC 6507 verification about four times faster. The field arithmetic is `p256`'s.
//!
//! # Security
//! Everything here branches on and indexes by its inputs: call it with public points and
//! scalars only (signatures, messages, PVTs, KPAK: RFC 6507 verification data).

use std::sync::LazyLock;

use p256::elliptic_curve::ff::PrimeField;
use p256::elliptic_curve::group::Group;
use p256::elliptic_curve::point::AffineCoordinates;
use p256::{AffinePoint, FieldBytes, ProjectivePoint, Scalar};

/// The P-256 base field: fiat-crypto's arithmetic, shared with the constant-time
/// [`super::base_mul`] (about twice as fast as `p256`'s own, a widening product and a separate
/// Montgomery reduction).
type Fe = super::base_mul::Fe;

/// NAF width for the fixed table of G (64 odd multiples, built once per process).
const G_WINDOW: u32 = 8;
/// NAF width for a per-call or per-signer table (8 odd multiples).
const VAR_WINDOW: u32 = 5;
/// NAF width of the full-length chains of G and of a KMS's KPAK in the three-term
/// multiplication (256 odd multiples, 16 KiB, built once per process or per KMS).
const WIDE_WINDOW: u32 = 10;

/// An affine point other than the identity.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Affine {
    x: Fe,
    y: Fe,
}

impl Affine {
    /// Converts a `p256` point; `None` for the identity.
    pub(crate) fn from_p256(p: &ProjectivePoint) -> Option<Self> {
        if bool::from(p.is_identity()) {
            return None;
        }
        let a = p.to_affine();
        Some(Self {
            x: fe(&a.x()),
            y: fe(&a.y()),
        })
    }

    /// Converts a `p256` affine point; `None` for the identity.
    pub(crate) fn from_affine_point(p: &AffinePoint) -> Option<Self> {
        if bool::from(p.is_identity()) {
            return None;
        }
        Some(Self {
            x: fe(&p.x()),
            y: fe(&p.y()),
        })
    }

    fn neg(&self) -> Self {
        Self {
            x: self.x,
            y: -self.y,
        }
    }
}

/// A coordinate of a valid `p256` point: always below p.
fn fe(bytes: &FieldBytes) -> Fe {
    Fe::from_be_checked(bytes).unwrap_or(Fe::ZERO)
}

/// A point in Jacobian coordinates (x = X/Z^2, y = Y/Z^3); Z = 0 is the identity.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Jac {
    x: Fe,
    y: Fe,
    z: Fe,
}

impl Jac {
    const IDENTITY: Self = Self {
        x: Fe::ONE,
        y: Fe::ONE,
        z: Fe::ZERO,
    };

    fn from_affine(a: &Affine) -> Self {
        Self {
            x: a.x,
            y: a.y,
            z: Fe::ONE,
        }
    }

    fn is_identity(&self) -> bool {
        bool::from(self.z.is_zero())
    }

    /// dbl-2001-b (a = -3): 3M + 5S. The identity doubles to Z = 0 (2 Y Z = 0).
    fn double(&self) -> Self {
        let delta = self.z.square();
        let gamma = self.y.square();
        let beta = self.x * gamma;
        let t = (self.x - delta) * (self.x + delta);
        let alpha = t.double() + t;
        let beta4 = beta.double().double();
        let x = alpha.square() - beta4.double();
        let z = (self.y + self.z).square() - gamma - delta;
        let y = alpha * (beta4 - x) - gamma.square().double().double().double();
        Self { x, y, z }
    }

    /// madd-2007-bl: self + q with q affine, 7M + 4S; the exceptional cases (self = identity,
    /// self = q, self = -q) are handled by branching.
    fn add_affine(&self, q: &Affine) -> Self {
        if self.is_identity() {
            return Self::from_affine(q);
        }
        let z1z1 = self.z.square();
        let u2 = q.x * z1z1;
        let s2 = q.y * self.z * z1z1;
        let h = u2 - self.x;
        let r = (s2 - self.y).double();
        if bool::from(h.is_zero()) {
            return if bool::from(r.is_zero()) {
                Self::from_affine(q).double()
            } else {
                Self::IDENTITY
            };
        }
        let hh = h.square();
        let i = hh.double().double();
        let j = h * i;
        let v = self.x * i;
        let x = r.square() - j - v.double();
        let y = r * (v - x) - (self.y * j).double();
        let z = (self.z + h).square() - z1z1 - hh;
        Self { x, y, z }
    }

    /// Whether this point's affine x equals `x` (an F_p element), and it is not the identity.
    /// No inversion: X = x Z^2.
    pub(crate) fn x_equals(&self, x: &Fe) -> bool {
        !self.is_identity() && bool::from((self.x - *x * self.z.square()).is_zero())
    }

    /// Whether this point's affine x is 0 (false for the identity).
    pub(crate) fn x_is_zero(&self) -> bool {
        !self.is_identity() && bool::from(self.x.is_zero())
    }

    /// The `p256` point.
    pub(crate) fn to_p256(self) -> ProjectivePoint {
        let Some(a) = normalize(&[self]).pop().flatten() else {
            return ProjectivePoint::IDENTITY;
        };
        let p = AffinePoint::from_coordinates(&a.x.to_be(), &a.y.to_be());
        Option::<AffinePoint>::from(p).map_or(ProjectivePoint::IDENTITY, ProjectivePoint::from)
    }
}

/// The inverse in F_p (0 for 0) by the crate's safegcd (about 1.5 us) rather than a Fermat
/// exponentiation (about 8 us). The safegcd is constant time; here that is not needed.
fn invert(x: &Fe) -> Fe {
    x.invert()
}

/// Affine forms of `points` with one field inversion (Montgomery's trick); `None` for the
/// identity.
fn normalize(points: &[Jac]) -> Vec<Option<Affine>> {
    // prefix[i] = product of the non-zero Z of points[..i].
    let mut prefix = Vec::with_capacity(points.len());
    let mut acc = Fe::ONE;
    for p in points {
        prefix.push(acc);
        if !p.is_identity() {
            acc *= p.z;
        }
    }
    let mut inv = invert(&acc);
    let mut out = vec![None; points.len()];
    for (i, p) in points.iter().enumerate().rev() {
        if p.is_identity() {
            continue;
        }
        let z_inv = inv * prefix[i];
        inv *= p.z;
        let z2 = z_inv.square();
        out[i] = Some(Affine {
            x: p.x * z2,
            y: p.y * z2 * z_inv,
        });
    }
    out
}

/// The odd multiples `[1]B, [3]B, ..., [2^(w-1) - 1]B` of `b` in affine form.
#[derive(Clone, Debug)]
pub(crate) struct OddMultiples(Vec<Affine>);

impl OddMultiples {
    fn new(b: &Affine, w: u32) -> Self {
        let n = 1usize << (w - 2);
        let two_b = normalize(&[Jac::from_affine(b).double()]).pop().flatten();
        let mut jac = Vec::with_capacity(n);
        let mut acc = Jac::from_affine(b);
        jac.push(acc);
        for _ in 1..n {
            // In a group of prime order n > 2^w no odd multiple below 2^w is the identity.
            if let Some(t) = &two_b {
                acc = acc.add_affine(t);
            }
            jac.push(acc);
        }
        Self(normalize(&jac).into_iter().flatten().collect())
    }

    /// The table used for a variable base (a signer's Y, a PVT).
    pub(crate) fn for_point(b: &Affine) -> Self {
        Self::new(b, VAR_WINDOW)
    }

    /// `[d]B` for an odd digit `d` with |d| < 2^(w-1).
    fn get(&self, d: i16) -> Option<Affine> {
        let i = usize::from(d.unsigned_abs() / 2);
        let p = self.0.get(i)?;
        Some(if d < 0 { p.neg() } else { *p })
    }
}

/// The little-endian 64-bit limbs of a 32-octet big-endian encoding (public data).
fn le_limbs(be: &FieldBytes) -> [u64; 4] {
    let mut le = [0u64; 4];
    for (i, chunk) in be.rchunks_exact(8).enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        le[i] = u64::from_be_bytes(b);
    }
    le
}

/// Little-endian 64-bit limbs of a scalar with two zero limbs of headroom for window reads.
fn limbs_of(k: &Scalar) -> [u64; 6] {
    let [l0, l1, l2, l3] = le_limbs(&k.to_repr());
    [l0, l1, l2, l3, 0, 0]
}

/// Width-w NAF of a scalar (< 2^256), least significant digit first: every non-zero digit is
/// odd with |d| < 2^(w-1), and any w consecutive digits hold at most one non-zero.
fn wnaf(k: &Scalar, w: u32) -> [i16; 257] {
    wnaf_limbs(&limbs_of(k), w)
}

/// The two 128-bit halves of a scalar, `k = lo + 2^128 hi`, as limbs with headroom.
fn halves(k: &Scalar) -> ([u64; 6], [u64; 6]) {
    let l = limbs_of(k);
    ([l[0], l[1], 0, 0, 0, 0], [l[2], l[3], 0, 0, 0, 0])
}

/// [`wnaf`] of an integer below 2^256 given as limbs (the top two limbs zero).
fn wnaf_limbs(limbs: &[u64; 6], w: u32) -> [i16; 257] {
    debug_assert!((2..=WIDE_WINDOW).contains(&w));
    let width = 1u64 << w;
    let mask = width - 1;
    let mut naf = [0i16; 257];
    let mut carry = 0u64;
    let mut pos = 0usize;
    while pos < naf.len() {
        let (idx, bit) = (pos / 64, pos % 64);
        let buf = if bit + (w as usize) <= 64 {
            limbs[idx] >> bit
        } else {
            (limbs[idx] >> bit) | (limbs[idx + 1] << (64 - bit))
        };
        let window = carry + (buf & mask);
        if window & 1 == 0 {
            pos += 1;
            continue;
        }
        // window <= 2^w and w <= 10: both fit an i16.
        let value = i16::try_from(window).unwrap_or(0);
        if window < width / 2 {
            carry = 0;
            naf[pos] = value;
        } else {
            carry = 1;
            naf[pos] = value - i16::try_from(width).unwrap_or(0);
        }
        pos += w as usize;
    }
    naf
}

/// The odd multiples of a base B and of `[2^128]B`, so that a 256-bit scalar multiplication
/// splits into two interleaved 128-bit ones (half the doublings).
#[derive(Clone, Debug)]
pub(crate) struct SplitTable {
    lo: OddMultiples,
    hi: OddMultiples,
}

impl SplitTable {
    fn new(b: &Affine, w: u32) -> Self {
        let mut hi = Jac::from_affine(b);
        for _ in 0..128 {
            hi = hi.double();
        }
        // [2^128]B is not the identity in a group of prime order > 2^128.
        let hi = normalize(&[hi]).pop().flatten().unwrap_or(*b);
        Self {
            lo: OddMultiples::new(b, w),
            hi: OddMultiples::new(&hi, w),
        }
    }

    /// The tables of a variable base (a signer's Y), built once per signer.
    pub(crate) fn for_point(b: &Affine) -> Self {
        Self::new(b, VAR_WINDOW)
    }
}

/// G in affine form (the P-256 generator always converts; the identity stand-in is unreachable).
fn generator() -> Affine {
    Affine::from_p256(&ProjectivePoint::GENERATOR).unwrap_or(Affine {
        x: Fe::ZERO,
        y: Fe::ZERO,
    })
}

/// The odd multiples of G for the full-length chain of the three-term multiplication, built
/// on first use.
static G_WIDE: LazyLock<OddMultiples> =
    LazyLock::new(|| OddMultiples::new(&generator(), WIDE_WINDOW));

/// The split tables of G, built on first use.
static G_SPLIT: LazyLock<SplitTable> = LazyLock::new(|| SplitTable::new(&generator(), G_WINDOW));

/// `[a]G + [b]B` for public scalars and a public base given by its split tables (`None` for
/// B = identity): four interleaved 128-bit wNAF chains sharing 129 doublings.
pub(crate) fn mul_g_add_vartime(a: &Scalar, b: &Scalar, table: Option<&SplitTable>) -> Jac {
    let (a_lo, a_hi) = halves(a);
    let (b_lo, b_hi) = halves(b);
    let g = &*G_SPLIT;
    let mut chains: Vec<([i16; 257], &OddMultiples)> = vec![
        (wnaf_limbs(&a_lo, G_WINDOW), &g.lo),
        (wnaf_limbs(&a_hi, G_WINDOW), &g.hi),
    ];
    if let Some(t) = table {
        chains.push((wnaf_limbs(&b_lo, VAR_WINDOW), &t.lo));
        chains.push((wnaf_limbs(&b_hi, VAR_WINDOW), &t.hi));
    }
    // A 128-bit half has at most 129 NAF digits.
    interleaved_chains_vartime(&chains, 128)
}

/// The interleaved wNAF chains of a multi-scalar multiplication on public data: from digit
/// `top` down to digit 0, one doubling per digit, then, chain by chain in order, one addition
/// of the odd multiple that the chain's non-zero digit names. Inlined into each caller, so each
/// keeps its own loop (a constant `top` for the split-table path) as when it was written there.
#[inline(always)]
fn interleaved_chains_vartime(chains: &[([i16; 257], &OddMultiples)], top: usize) -> Jac {
    let mut acc = Jac::IDENTITY;
    for i in (0..=top).rev() {
        acc = acc.double();
        for (naf, t) in chains {
            if naf[i] != 0
                && let Some(p) = t.get(naf[i])
            {
                acc = acc.add_affine(&p);
            }
        }
    }
    acc
}

impl OddMultiples {
    /// The table of a fixed base kept for many calls (a KMS's KPAK), as wide as G's in the
    /// three-term multiplication.
    pub(crate) fn for_fixed_base(b: &Affine) -> Self {
        Self::new(b, WIDE_WINDOW)
    }
}

/// `[a]G + [b]P + [c]K` for public scalars and two public bases, P given by a per-call table
/// ([`OddMultiples::for_point`]) and K by a kept one ([`OddMultiples::for_fixed_base`]): three
/// interleaved full-length wNAF chains sharing at most 257 doublings, which start at the
/// highest non-zero digit.
pub(crate) fn mul3_vartime(
    a: &Scalar,
    b: &Scalar,
    p: &OddMultiples,
    c: &Scalar,
    k: &OddMultiples,
) -> Jac {
    let chains = [
        (wnaf(a, WIDE_WINDOW), &*G_WIDE),
        (wnaf(b, VAR_WINDOW), p),
        (wnaf(c, WIDE_WINDOW), k),
    ];
    chains_from_top_vartime(&chains)
}

/// [`interleaved_chains_vartime`] from the highest non-zero digit of any chain (the identity
/// when every digit is zero).
#[inline(always)]
fn chains_from_top_vartime(chains: &[([i16; 257], &OddMultiples)]) -> Jac {
    let top = chains
        .iter()
        .filter_map(|(naf, _)| naf.iter().rposition(|&d| d != 0))
        .max();
    let Some(top) = top else {
        return Jac::IDENTITY;
    };
    interleaved_chains_vartime(chains, top)
}

/// `[k]K + sum [c_i]P_i` for public scalars and public points, K given by a kept table
/// ([`OddMultiples::for_fixed_base`]): the tables of the `P_i` are built together (two
/// inversions for all), then one interleaved wNAF chain per term shares at most 257 doublings.
/// For the KMS's batch check of freshly issued (SSK, PVT) pairs.
pub(crate) fn mul_sum_vartime(k: &Scalar, kt: &OddMultiples, terms: &[(Scalar, Affine)]) -> Jac {
    let tables = OddMultiples::for_points(terms.iter().map(|(_, p)| p));
    let mut chains = Vec::with_capacity(terms.len() + 1);
    chains.push((wnaf(k, WIDE_WINDOW), kt));
    for ((c, _), t) in terms.iter().zip(&tables) {
        chains.push((wnaf(c, VAR_WINDOW), t));
    }
    chains_from_top_vartime(&chains)
}

impl OddMultiples {
    /// [`OddMultiples::for_point`] of several points with two shared inversions (one for
    /// the doubles, one for the tables) instead of two per point.
    fn for_points<'a>(points: impl Iterator<Item = &'a Affine>) -> Vec<Self> {
        let n = 1usize << (VAR_WINDOW - 2);
        let bases: Vec<Affine> = points.copied().collect();
        let doubles: Vec<Jac> = bases.iter().map(|b| Jac::from_affine(b).double()).collect();
        let doubles = normalize(&doubles);
        let mut jac = Vec::with_capacity(bases.len() * n);
        for (b, two_b) in bases.iter().zip(&doubles) {
            let mut acc = Jac::from_affine(b);
            jac.push(acc);
            for _ in 1..n {
                // In a group of prime order n > 2^w no odd multiple below 2^w is the identity.
                if let Some(t) = two_b {
                    acc = acc.add_affine(t);
                }
                jac.push(acc);
            }
        }
        // An odd multiple is never the identity; the stand-in keeps the chunks aligned.
        let affine: Vec<Affine> = normalize(&jac)
            .into_iter()
            .map(|a| {
                a.unwrap_or(Affine {
                    x: Fe::ZERO,
                    y: Fe::ZERO,
                })
            })
            .collect();
        affine.chunks(n).map(|c| Self(c.to_vec())).collect()
    }
}

/// `[k]B + C` for a public scalar and public points (C = `None` for the identity).
pub(crate) fn mul_add_vartime(k: &Scalar, table: &OddMultiples, c: Option<&Affine>) -> Jac {
    let n = wnaf(k, VAR_WINDOW);
    let mut acc = Jac::IDENTITY;
    for i in (0..n.len()).rev() {
        acc = acc.double();
        if n[i] != 0
            && let Some(p) = table.get(n[i])
        {
            acc = acc.add_affine(&p);
        }
    }
    match c {
        Some(c) => acc.add_affine(c),
        None => acc,
    }
}

/// A 32-octet integer below 2p (an RFC 6507 `r`) reduced into F_p: `None` if it is not below
/// 2p.
pub(crate) fn reduce_below_2p(bytes: &[u8; 32], p_bytes: &[u8; 32]) -> Option<Fe> {
    let direct = FieldBytes::from(*bytes);
    if let Some(x) = Fe::from_be_checked(&direct) {
        return Some(x);
    }
    // bytes >= p: subtract p (big-endian, with borrow).
    let mut diff = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let d = i16::from(bytes[i]) - i16::from(p_bytes[i]) - borrow;
        borrow = i16::from(d < 0);
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        {
            diff[i] = (d + 256 * borrow) as u8;
        }
    }
    Fe::from_be_checked(&FieldBytes::from(diff))
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::NistP256;
    use p256::elliptic_curve::hazmat::FieldArithmetic;
    use rand_core::SeedableRng;

    /// `p256`'s own field, the reference for [`Fe`].
    type Reference = <NistP256 as FieldArithmetic>::FieldElement;
    use p256::elliptic_curve::ops::LinearCombination;

    fn scalar(seed: u64) -> Scalar {
        let mut s = Scalar::from(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        for _ in 0..5 {
            s = s.square() + Scalar::from(seed);
        }
        s
    }

    fn naf_value(naf: &[i16; 257]) -> Scalar {
        let mut acc = Scalar::ZERO;
        for &d in naf.iter().rev() {
            acc = acc.double();
            let m = Scalar::from(u64::from(d.unsigned_abs()));
            acc += if d < 0 { -m } else { m };
        }
        acc
    }

    #[test]
    fn wnaf_recodes_the_scalar() {
        for seed in 0..200 {
            let k = scalar(seed);
            for w in [2, 4, 5, 8, 10] {
                let naf = wnaf(&k, w);
                assert_eq!(naf_value(&naf), k, "w = {w}");
                for (i, &d) in naf.iter().enumerate() {
                    if d != 0 {
                        assert!(d % 2 != 0 && d.unsigned_abs() < 1 << (w - 1));
                        let next = &naf[i + 1..naf.len().min(i + w as usize)];
                        assert!(next.iter().all(|&e| e == 0), "adjacent non-zero digits");
                    }
                }
            }
        }
        // The largest scalar, q - 1, needs the 257th digit slot.
        let k = -Scalar::ONE;
        assert_eq!(naf_value(&wnaf(&k, 5)), k);
    }

    #[test]
    fn double_scalar_matches_p256() {
        for seed in 0..60 {
            let a = scalar(seed);
            let b = scalar(seed + 1000);
            let base = ProjectivePoint::GENERATOR * scalar(seed + 5000);
            let table = OddMultiples::for_point(&Affine::from_p256(&base).unwrap());
            let split = SplitTable::for_point(&Affine::from_p256(&base).unwrap());
            let ours = mul_g_add_vartime(&a, &b, Some(&split)).to_p256();
            let theirs =
                ProjectivePoint::lincomb_vartime(&[(ProjectivePoint::GENERATOR, a), (base, b)]);
            assert_eq!(ours, theirs);
            let c = Affine::from_p256(&ProjectivePoint::GENERATOR).unwrap();
            let ours = mul_add_vartime(&a, &table, Some(&c)).to_p256();
            assert_eq!(ours, base * a + ProjectivePoint::GENERATOR);
        }
    }

    #[test]
    fn exceptional_cases() {
        let g = ProjectivePoint::GENERATOR;
        let table = OddMultiples::for_point(&Affine::from_p256(&g).unwrap());
        let split = SplitTable::for_point(&Affine::from_p256(&g).unwrap());
        // [a]G + [-a]G = identity; [a]G + [a]G = [2a]G (the doubling branch of the addition).
        let a = scalar(7);
        assert!(mul_g_add_vartime(&a, &-a, Some(&split)).is_identity());
        assert_eq!(
            mul_g_add_vartime(&a, &a, Some(&split)).to_p256(),
            g * a.double()
        );
        // Scalars whose halves are all ones, zero, or the largest (q - 1).
        for k in [
            -Scalar::ONE,
            Scalar::from(u64::MAX),
            -Scalar::from(u64::MAX),
        ] {
            assert_eq!(mul_g_add_vartime(&k, &Scalar::ZERO, None).to_p256(), g * k);
            assert_eq!(
                mul_g_add_vartime(&Scalar::ONE, &k, Some(&split)).to_p256(),
                g * (k + Scalar::ONE)
            );
        }
        assert!(mul_g_add_vartime(&Scalar::ZERO, &Scalar::ZERO, None).is_identity());
        assert_eq!(
            mul_g_add_vartime(&Scalar::ONE, &Scalar::ZERO, None).to_p256(),
            g
        );
        // [1]G + (-G) = identity.
        let neg_g = Affine::from_p256(&-g).unwrap();
        assert!(mul_add_vartime(&Scalar::ONE, &table, Some(&neg_g)).is_identity());
        assert_eq!(Jac::IDENTITY.to_p256(), ProjectivePoint::IDENTITY);
    }

    /// `[a]G + [b]P + [c]K` by `p256`, for comparison.
    fn mul3_reference(
        a: &Scalar,
        b: &Scalar,
        p: &ProjectivePoint,
        c: &Scalar,
        k: &ProjectivePoint,
    ) -> ProjectivePoint {
        ProjectivePoint::lincomb_vartime(&[(ProjectivePoint::GENERATOR, *a), (*p, *b), (*k, *c)])
    }

    fn mul3(
        a: &Scalar,
        b: &Scalar,
        p: &ProjectivePoint,
        c: &Scalar,
        k: &ProjectivePoint,
    ) -> ProjectivePoint {
        let pt = OddMultiples::for_point(&Affine::from_p256(p).unwrap());
        let kt = OddMultiples::for_fixed_base(&Affine::from_p256(k).unwrap());
        mul3_vartime(a, b, &pt, c, &kt).to_p256()
    }

    #[test]
    fn three_scalar_matches_p256() {
        for seed in 0..40 {
            let (a, b, c) = (scalar(seed), scalar(seed + 100), scalar(seed + 200));
            let p = ProjectivePoint::GENERATOR * scalar(seed + 300);
            let k = ProjectivePoint::GENERATOR * scalar(seed + 400);
            assert_eq!(mul3(&a, &b, &p, &c, &k), mul3_reference(&a, &b, &p, &c, &k));
        }
    }

    #[test]
    fn three_scalar_exceptional_cases() {
        let g = ProjectivePoint::GENERATOR;
        let a = scalar(11);
        let c = scalar(12);
        let k = g * scalar(13);
        // P = K = G: every digit position where two chains are non-zero adds a point to
        // itself or to its opposite somewhere along the chain.
        for (a, b, c) in [
            (Scalar::ONE, Scalar::ONE, Scalar::ZERO),
            (Scalar::ONE, -Scalar::ONE, Scalar::ZERO),
            (Scalar::ONE, -Scalar::ONE, Scalar::ONE),
            (Scalar::ONE, Scalar::ONE, Scalar::ONE),
            (a, a, a),
            (a, -a, a),
            (a, a, -a.double()),
            (a, -a, Scalar::ZERO),
            (-Scalar::ONE, -Scalar::ONE, -Scalar::ONE),
        ] {
            let ours = mul3(&a, &b, &g, &c, &g);
            assert_eq!(ours, g * (a + b + c), "P = K = G");
            assert_eq!(mul3(&a, &b, &-g, &c, &g), g * (a - b + c), "P = -G");
        }
        // The result (and an intermediate accumulator) is the identity: [a]G + [-a]G + [0]K,
        // and [a]G + [c]P - [c]P with P = K.
        assert!(bool::from(
            mul3(&a, &-a, &g, &Scalar::ZERO, &k).is_identity()
        ));
        assert!(bool::from(
            mul3(&Scalar::ZERO, &c, &k, &-c, &k).is_identity()
        ));
        assert_eq!(mul3(&a, &c, &k, &-c, &k), g * a);
        // All scalars zero; one scalar only; the largest scalars (the 257th NAF digit).
        assert!(bool::from(
            mul3(&Scalar::ZERO, &Scalar::ZERO, &k, &Scalar::ZERO, &k).is_identity()
        ));
        assert_eq!(mul3(&Scalar::ZERO, &Scalar::ZERO, &k, &c, &k), k * c);
        assert_eq!(mul3(&Scalar::ZERO, &a, &k, &Scalar::ZERO, &g), k * a);
        let m = -Scalar::ONE;
        assert_eq!(mul3(&m, &m, &k, &m, &k), mul3_reference(&m, &m, &k, &m, &k));
    }

    /// A small integer as a field element.
    fn small(n: u64) -> Fe {
        let mut b = FieldBytes::default();
        b[24..].copy_from_slice(&n.to_be_bytes());
        fe(&b)
    }

    #[test]
    fn safegcd_inverse_in_fp() {
        assert!(bool::from(invert(&Fe::ZERO).is_zero()));
        assert_eq!(invert(&Fe::ONE), Fe::ONE);
        let mut x = small(3);
        for _ in 0..50 {
            assert_eq!(invert(&x) * x, Fe::ONE);
            let reference = Option::<Reference>::from(Reference::from_repr(x.to_be()))
                .and_then(|r| Option::<Reference>::from(r.invert()))
                .unwrap();
            assert_eq!(invert(&x).to_be(), reference.to_repr());
            x = x.square() + small(7);
        }
        assert_eq!(invert(&-Fe::ONE), -Fe::ONE);
    }

    /// The operators and the checked decoding agree with `p256`'s field on random values.
    #[test]
    fn field_matches_p256() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(11);
        for _ in 0..200 {
            let mut a = FieldBytes::default();
            let mut b = FieldBytes::default();
            rand_core::Rng::fill_bytes(&mut rng, &mut a);
            rand_core::Rng::fill_bytes(&mut rng, &mut b);
            let (Some(ra), Some(rb)) = (
                Option::<Reference>::from(Reference::from_repr(a)),
                Option::<Reference>::from(Reference::from_repr(b)),
            ) else {
                assert!(Fe::from_be_checked(&a).is_none() || Fe::from_be_checked(&b).is_none());
                continue;
            };
            let (x, y) = (fe(&a), fe(&b));
            assert_eq!((x * y).to_be(), (ra * rb).to_repr());
            assert_eq!((x + y).to_be(), (ra + rb).to_repr());
            assert_eq!((x - y).to_be(), (ra - rb).to_repr());
            assert_eq!((-x).to_be(), (-ra).to_repr());
            assert_eq!(x.square().to_be(), ra.square().to_repr());
        }
        let p = FieldBytes::from(crate::eccsi::P_BYTES);
        assert!(Fe::from_be_checked(&p).is_none());
        assert_eq!(Fe::ONE, small(1));
    }

    #[test]
    fn r_reduces_below_2p() {
        let p_bytes = crate::eccsi::P_BYTES;
        let mut five = [0u8; 32];
        five[31] = 5;
        let five_fe = small(5);
        assert_eq!(reduce_below_2p(&five, &p_bytes), Some(five_fe));
        // p + 5 = 2^256 - 2^224 + 2^192 + 2^96 + 4.
        let mut p_plus_5 = p_bytes;
        p_plus_5[31] = 4;
        for i in (0..31).rev() {
            let (v, carry) = p_plus_5[i].overflowing_add(1);
            p_plus_5[i] = v;
            if !carry {
                break;
            }
        }
        assert_eq!(reduce_below_2p(&p_plus_5, &p_bytes), Some(five_fe));
        assert_eq!(reduce_below_2p(&p_bytes, &p_bytes), Some(Fe::ZERO));
    }

    #[test]
    fn x_comparison_without_inversion() {
        let p = ProjectivePoint::GENERATOR * scalar(3);
        let j = mul_g_add_vartime(&scalar(3), &Scalar::ZERO, None);
        let x = fe(&p.to_affine().x());
        assert!(j.x_equals(&x));
        assert!(!j.x_equals(&(x + Fe::ONE)));
        assert!(!j.x_is_zero());
        assert!(!Jac::IDENTITY.x_equals(&Fe::ZERO));
    }
}
