//! The Tate pairing `<R, Q>` of RFC 6508 s3.2 and the group `PF_p[q]` it maps into.
//!
//! `<R, Q> = f_R([i]Q)^c` in PF_p = (F_p^2)* / (F_p)*, with `[i](x, y) = (-x, i y)` the
//! distortion map, `f_R` the Miller function of divisor `q(R) - q(O)` with vertical lines dropped,
//! and `c = (p + 1) / q = 4`. The result is represented by the F_p value `x_2 / x_1`.
//!
//! Implementation: the Miller loop of RFC 6508 s3.2 with the running point `C` in Jacobian
//! coordinates, so no inversion is needed inside the loop. Each line value is the RFC's line
//! multiplied by a non-zero F_p factor (a power of `Z` and `2 C_y` or `C_x - R_x`); such factors
//! are exactly what PF_p identifies, so the representative equals the RFC's bit for bit (the
//! tests check `g = <P, P>` and the RFC 6508 Appendix A values).
//!
//! Cost of one pairing: 1021 doubling steps (F_p^2 squaring 2M, line 4M, point doubling 3M+5S,
//! F_p^2 multiplication 3M) and 352 addition steps, one per non-zero digit of the NAF of `q - 1`
//! below the top (point addition 8M+3S, line 3M, F_p^2 multiplication 3M), then two F_p^2
//! squarings: 23 345 F_p multiplications and squarings (counted by the `op-count` feature's
//! test), plus the inversion of the PF_p representative.
//!
//! Constant time: the loop structure depends only on the public q; nothing branches on either
//! argument. In SAKKE the second argument is the secret RSK.

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroize;

use crate::ct::{lookup, lookup_many};
use crate::curve::AffinePoint;
use crate::field::backend::{Backend, Job, TableForm, dispatch};
use crate::field::kernel::LIMBS;
use crate::field::{Fp, Fp2, Fq, LoopField};
use crate::params::{FP_LEN, G_HEX};

/// An element of PF_p (of order dividing q when it comes from a pairing), held as any lift to
/// F_p^2; two lifts are equal when they differ by an F_p factor.
#[derive(Clone, Copy)]
pub struct Gt(pub(crate) Fp2);

impl Gt {
    /// The identity (`1` in F_p^2, representative 0).
    pub fn identity() -> Self {
        Gt(Fp2::ONE)
    }

    /// `g = <P, P>` of parameter set 1 (RFC 6509 Appendix A).
    pub fn g() -> Self {
        let g =
            Fp::from_canonical_limbs(&crate::field::kernel::from_hex(G_HEX)).unwrap_or(Fp::ZERO);
        Self::from_representative(&g)
    }

    /// The element represented by the F_p value `a` (lifted to `1 + a i`).
    pub fn from_representative(a: &Fp) -> Self {
        Gt(Fp2::new(Fp::ONE, *a))
    }

    /// The representative `x_2 / x_1` (RFC 6508 s2.1), one constant-time inversion. (The one
    /// element of PF_p without a representative, of order 2, is not a pairing value.)
    pub fn representative(&self) -> Fp {
        self.0.c1.mul(&self.0.c0.invert().unwrap_or(Fp::ZERO))
    }

    /// The representative as 128 big-endian octets: the encoding RFC 6508 hashes for g^r and w.
    pub fn to_bytes(&self) -> [u8; FP_LEN] {
        self.representative().to_bytes()
    }

    /// The group operation.
    pub fn mul(&self, rhs: &Self) -> Self {
        Gt(self.0.mul(&rhs.0))
    }

    /// `g^k` for a secret exponent, in constant time, with the process-wide precomputed table
    /// of `g` ([`GtTable`]: 410 F_p multiplications instead of about 3 900).
    pub fn g_pow(k: &Fq) -> Self {
        GtTable::g().pow(k)
    }

    /// `self^k` for a secret exponent in constant time (fixed 4-bit windows over all 1024 bit
    /// positions, full table scans). Used for `g^r` (RFC 6508 s6.2.1 step 4).
    pub fn pow(&self, k: &Fq) -> Self {
        let mut limbs = k.to_canonical_limbs();
        let mut powers = [Fp2::ONE; 16];
        powers[1] = self.0;
        for j in 2..16 {
            powers[j] = if j % 2 == 0 {
                powers[j / 2].square()
            } else {
                powers[j - 1].mul(&self.0)
            };
        }
        let mut table = powers.map(Fp2::to_limbs);
        powers.zeroize();
        let mut acc = Fp2::ONE;
        for w in (0..LIMBS * 16).rev() {
            for _ in 0..4 {
                acc = acc.square();
            }
            let digit = (limbs[w / 16] >> (4 * (w % 16))) & 0xf;
            let mut raw = lookup(&table, 0, digit);
            acc = acc.mul(&Fp2::from_limbs(&raw));
            raw.zeroize();
        }
        limbs.zeroize();
        table.zeroize();
        Gt(acc)
    }
}

impl Gt {
    /// `self^k` for a *public* exponent (an identifier b) and a possibly secret base: 4-bit
    /// windows from the exponent's top non-zero bit, table indexed by the public digits.
    /// Variable time in `k` only; every operation on the base is arithmetic.
    pub fn pow_public_exponent_vartime(&self, k: &Fq) -> Self {
        let limbs = k.to_canonical_limbs();
        let mut table = [Fp2::ONE; 16];
        table[1] = self.0;
        for j in 2..16 {
            table[j] = table[j - 1].mul(&self.0);
        }
        let digit = |w: usize| (limbs[w / 16] >> (4 * (w % 16))) & 0xf;
        let top = (0..LIMBS * 16).rev().find(|&w| digit(w) != 0);
        let mut acc = Fp2::ONE;
        if let Some(top) = top {
            for w in (0..=top).rev() {
                if w != top {
                    for _ in 0..4 {
                        acc = acc.square();
                    }
                }
                let d = usize::try_from(digit(w)).unwrap_or(0);
                if d != 0 {
                    acc = acc.mul(&table[d]);
                }
            }
        }
        table.zeroize();
        Gt(acc)
    }
}

impl ConstantTimeEq for Gt {
    /// Equality in PF_p: `a0 b1 = a1 b0` (no inversion).
    fn ct_eq(&self, other: &Self) -> Choice {
        let l = self.0.c0.mul(&other.0.c1);
        let r = self.0.c1.mul(&other.0.c0);
        // Exclude the zero lift, which represents nothing.
        l.ct_eq(&r) & !self.0.is_zero() & !other.0.is_zero()
    }
}

impl PartialEq for Gt {
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.ct_eq(other))
    }
}

impl core::fmt::Debug for Gt {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Gt(0x{})", hex::encode_upper(self.to_bytes()))
    }
}

impl ConditionallySelectable for Gt {
    fn conditional_select(a: &Self, b: &Self, choice: Choice) -> Self {
        Gt(Fp2::conditional_select(&a.0, &b.0, choice))
    }
}

/// A fixed-base table for exponentiation in PF_p, of an element x of the order-q subgroup:
/// for every w-bit window i and digit j = 1..=2^(w-1), the *representative* `a` of
/// `x^(j * 2^(w i))` (the element is `1 + a i` up to an F_p factor).
///
/// Two facts of PF_p make this cheaper than a table of F_p^2 elements:
/// * multiplying by `1 + a i` costs two F_p multiplications instead of three,
///   `(c0 + c1 i)(1 + a i) = (c0 - a c1) + (c1 + a c0) i`, and an entry is one F_p element
///   (half the memory and half the scan);
/// * the inverse of `1 + a i` is `1 - a i` (their product `1 + a^2` lies in F_p), so signed
///   digits in [-2^(w-1), 2^(w-1) - 1] cost one masked negation, and digit 0 reads as `a = 0`,
///   the identity, with no select.
///
/// The default table (5-bit windows, 205 windows of 16 entries, 420 kB) serves single
/// exponentiations: 205 multiplications of 2M, 410 F_p multiplications, against 256 of 3M
/// (768) with the previous 4-bit unsigned table of F_p^2 entries. The wide table (8-bit
/// windows, 128 windows of 128 entries, 2 MB) serves batches ([`Self::pow_many`]): 256 F_p
/// multiplications per exponent, its longer scans shared by the batch. Constant-time lookups
/// read every entry of a window.
pub struct GtTable {
    /// Window width in bits (public).
    w: usize,
    /// The windows one after the other, `2^(w-1)` entries each: Montgomery-form limbs of the
    /// representatives, the layout of the constant-time lookup.
    entries: Vec<[u64; LIMBS]>,
}

impl core::fmt::Debug for GtTable {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("GtTable").finish_non_exhaustive()
    }
}

impl Drop for GtTable {
    fn drop(&mut self) {
        self.entries.zeroize();
    }
}

/// Window width of the default [`GtTable`].
const GT_W: usize = 5;
/// Window width of the wide [`GtTable`] for batches.
const GT_W_WIDE: usize = 8;

/// Number of signed w-bit windows for an exponent below q: the top window must hold fewer
/// than w - 1 bits of it so that it absorbs the last carry (q has 1022 bits).
const fn gt_windows(w: usize) -> usize {
    (Fq::BITS as usize + 2).div_ceil(w)
}

/// `acc * (1 + a i)`: two F_p multiplications.
#[inline]
fn mul_by_representative(acc: &Fp2, a: &Fp) -> Fp2 {
    Fp2::new(acc.c0.sub(&a.mul(&acc.c1)), acc.c1.add(&a.mul(&acc.c0)))
}

impl GtTable {
    /// Builds the table of `x`, which must lie in the order-q subgroup of PF_p (a pairing
    /// value, such as g): its powers then all have a representative. Constant time in `x`.
    pub fn new(x: &Gt) -> Self {
        Self::with_width(x, GT_W)
    }

    /// The wide table (8-bit windows, 2 MB) of `x` for batches ([`Self::pow_many`]).
    pub(crate) fn new_wide(x: &Gt) -> Self {
        Self::with_width(x, GT_W_WIDE)
    }

    /// [`Self::new`] with w-bit windows (w in 2..=10, public).
    fn with_width(x: &Gt, w: usize) -> Self {
        let digits = 1usize << (w - 1);
        let n = gt_windows(w) * digits;
        let mut powers = Vec::with_capacity(n);
        let mut b = x.0;
        for _ in 0..gt_windows(w) {
            let mut acc = b;
            powers.push(acc);
            for _ in 1..digits {
                acc = acc.mul(&b);
                powers.push(acc);
            }
            // next window base: b^(2^w) = (b^(2^(w-1)))^2
            b = acc.square();
        }
        // a = c1 / c0 for every entry, with one inversion (Montgomery's trick).
        let mut c0s: Vec<Fp> = powers.iter().map(|p| p.c0).collect();
        Fp::batch_invert(&mut c0s);
        let entries = powers
            .iter()
            .zip(&c0s)
            .map(|(p, c0_inv)| p.c1.mul(c0_inv).0)
            .collect();
        powers.zeroize();
        c0s.zeroize();
        Self { w, entries }
    }

    /// The table of `g`, built on first use and shared by the whole process.
    pub fn g() -> &'static Self {
        static TABLE: std::sync::OnceLock<GtTable> = std::sync::OnceLock::new();
        TABLE.get_or_init(|| Self::new(&Gt::g()))
    }

    /// The wide table of `g` for batches, built on first use and shared by the whole process.
    pub fn g_wide() -> &'static Self {
        static TABLE: std::sync::OnceLock<GtTable> = std::sync::OnceLock::new();
        TABLE.get_or_init(|| Self::new_wide(&Gt::g()))
    }

    /// The windows of the table, `2^(w-1)` entries each.
    fn windows(&self) -> core::slice::Chunks<'_, [u64; LIMBS]> {
        self.entries.chunks(1 << (self.w - 1))
    }

    /// The signed digits of an exponent.
    fn digits(&self, k: &Fq) -> Vec<(u64, Choice)> {
        let mut limbs = k.to_canonical_limbs();
        let d = crate::ct::signed_digits(&limbs, self.w, gt_windows(self.w));
        limbs.zeroize();
        d
    }

    /// [`Self::pow`] for several secret exponents, in constant time, reading each window of
    /// the table once for the whole batch.
    pub fn pow_many(&self, ks: &[Fq]) -> Vec<Gt> {
        let mut digits: Vec<Vec<(u64, Choice)>> = ks.iter().map(|k| self.digits(k)).collect();
        let mut accs = vec![Fp2::ONE; ks.len()];
        let mut idxs = vec![0u64; ks.len()];
        let mut raw = vec![[0u64; LIMBS]; ks.len()];
        for (i, window) in self.windows().enumerate() {
            for (idx, d) in idxs.iter_mut().zip(&digits) {
                *idx = d[i].0;
            }
            lookup_many(window, 1, &idxs, &mut raw);
            for ((acc, r), d) in accs.iter_mut().zip(&raw).zip(&digits) {
                let a = Fp(*r);
                let a = Fp::conditional_select(&a, &a.neg(), d[i].1);
                *acc = mul_by_representative(acc, &a);
            }
        }
        idxs.zeroize();
        raw.zeroize();
        for d in digits.iter_mut().flatten() {
            d.0.zeroize();
            d.1 = Choice::from(0);
        }
        accs.into_iter().map(Gt).collect()
    }

    /// `x^k` for a secret exponent, in constant time.
    pub fn pow(&self, k: &Fq) -> Gt {
        let mut digits = self.digits(k);
        let mut acc = Fp2::ONE;
        for (window, &(abs, neg)) in self.windows().zip(digits.iter()) {
            // digit 0 matches no entry: a = 0, a multiplication by one
            let mut a = Fp(lookup(window, 1, abs));
            a = Fp::conditional_select(&a, &a.neg(), neg);
            acc = mul_by_representative(&acc, &a);
            a.zeroize();
        }
        for d in &mut digits {
            d.0.zeroize();
            d.1 = Choice::from(0);
        }
        Gt(acc)
    }
}

/// `c0 + c1 i` over a [`LoopField`]: the Miller function's value.
#[derive(Clone, Copy)]
struct Pair<F> {
    c0: F,
    c1: F,
}

impl<F: LoopField> Pair<F> {
    /// Karatsuba ([`LoopField::pair_mul`]), as [`Fp2::mul`].
    #[inline(always)]
    fn mul(&self, rhs: &Self) -> Self {
        let [c0, c1] = F::pair_mul([&self.c0, &self.c1], [&rhs.c0, &rhs.c1]);
        Pair { c0, c1 }
    }

    /// As [`Fp2::square`].
    #[inline(always)]
    fn square(&self) -> Self {
        let t = self.c0.mul(&self.c1);
        Pair {
            c0: self.c0.add(&self.c1).mul(&self.c0.sub_k::<16>(&self.c1)),
            c1: t.double(),
        }
    }
}

/// The running point C of the Miller loop in Jacobian coordinates, with the quantities its line
/// values are built from.
#[derive(Clone, Copy)]
struct Jac<F> {
    x: F,
    y: F,
    z: F,
}

/// What a doubling step leaves for its tangent line: `alpha = 3(X^2 - Z^4)`, `delta = Z^2`,
/// `gamma = Y^2` of the old C.
struct Tangent<F> {
    alpha: F,
    delta: F,
    gamma: F,
}

impl<F: LoopField> Jac<F> {
    /// `C := [2]C` (dbl-2001-b, a = -3); returns the old C's tangent quantities.
    #[inline(always)]
    fn double(&mut self) -> Tangent<F> {
        let (x, y, z) = (self.x, self.y, self.z);
        let delta = z.square();
        let gamma = y.square();
        let beta = x.mul(&gamma);
        let m = x.sub_k::<4>(&delta).mul(&x.add(&delta));
        let alpha = m.double().add(&m);
        let x3 = alpha.square().sub_k::<32>(&beta.double().double().double());
        let z3 = y.add(&z).square().sub_k::<4>(&gamma).sub_k::<4>(&delta);
        let y3 = alpha
            .mul(&beta.double().double().sub_k::<64>(&x3))
            .sub_k::<32>(&gamma.square().double().double().double());
        *self = Jac {
            x: x3,
            y: y3,
            z: z3,
        };
        Tangent {
            alpha,
            delta,
            gamma,
        }
    }

    /// `C := C + (sx, sy)` (mixed addition, C != +-S); returns `r = S2 - Y1` of the chord.
    #[inline(always)]
    fn add_affine(&mut self, sx: &F, sy: &F) -> F {
        let (x, y, z) = (self.x, self.y, self.z);
        let z1z1 = z.square();
        let u2 = sx.mul(&z1z1);
        let s2 = sy.mul(&z).mul(&z1z1);
        let h = u2.sub_k::<64>(&x);
        let rr = s2.sub_k::<64>(&y);
        let hh = h.square();
        let hhh = h.mul(&hh);
        let vv = x.mul(&hh);
        let x3 = rr.square().sub_k::<4>(&hhh).sub_k::<8>(&vv.double());
        let y3 = rr.mul(&vv.sub_k::<16>(&x3)).sub_k::<4>(&y.mul(&hhh));
        *self = Jac {
            x: x3,
            y: y3,
            z: z.mul(&h),
        };
        rr
    }
}

/// The Miller loop of RFC 6508 s3.2 without the final exponentiation: `f_R([i]Q)` up to an F_p
/// factor. Both points must be in the order-q subgroup and not the identity.
///
/// The loop runs over the non-adjacent form of `q - 1` (353 non-zero digits instead of 513 set
/// bits): a digit -1 adds `-R`. The extra factor this introduces into the Miller function is a
/// vertical line, whose value at `[i]Q` lies in F_p and vanishes in PF_p, so the result is the
/// RFC's.
///
/// On CPUs with AVX-512 IFMA the loop runs on radix-2^52 values; the result
/// is identical.
pub fn miller_loop(r: &AffinePoint, q: &AffinePoint) -> Fp2 {
    dispatch(MillerLoop { r, q })
}

/// [`miller_loop`] as a backend job.
struct MillerLoop<'a> {
    r: &'a AffinePoint,
    q: &'a AffinePoint,
}

impl Job for MillerLoop<'_> {
    type Output = Fp2;

    #[inline(always)]
    fn run<B: Backend>(self, b: B) -> Fp2 {
        let f = |x: &Fp| b.convert(x);
        let (r, q) = (self.r, self.q);
        let v = miller_loop_in(f(&r.x), f(&r.y), f(&q.x), f(&q.y), f(&Fp::ONE));
        Fp2::new(b.to_fp(&v.c0), b.to_fp(&v.c1))
    }
}

/// [`miller_loop`] over a [`LoopField`], `one` its multiplicative identity.
#[inline(always)]
fn miller_loop_in<F: LoopField>(rx: F, ry: F, qx: F, qy: F, one: F) -> Pair<F> {
    let qx_plus_rx = qx.add(&rx);
    let zero = one.sub_k::<4>(&one);
    let minus_ry = zero.sub_k::<4>(&ry);

    let mut v = Pair { c0: one, c1: zero };
    let mut c = Jac {
        x: rx,
        y: ry,
        z: one,
    };
    // The top digit (index 1021) is 1: C starts at R.
    for i in (0..NAF_LEN - 1).rev() {
        // Doubling step: tangent at C, evaluated at [i]Q, times 2 C_y Z^6:
        // alpha (Q_x delta + X) - 2 gamma  +  i Z3 delta Q_y.
        let x = c.x;
        let t = c.double();
        let line = Pair {
            c0: t
                .alpha
                .mul(&qx.mul(&t.delta).add(&x))
                .sub_k::<8>(&t.gamma.double()),
            c1: c.z.mul(&t.delta).mul(&qy),
        };
        v = v.square().mul(&line);

        let digit = NAF[i];
        if digit != 0 {
            // Addition step with S = R or -R (public digit): chord through C and S, evaluated
            // at [i]Q, times Z^3 (C_x - S_x): r (Q_x + R_x) - S_y Z3  +  i Z3 Q_y.
            let sy = if digit > 0 { ry } else { minus_ry };
            let rr = c.add_affine(&rx, &sy);
            let line = Pair {
                c0: rr.mul(&qx_plus_rx).sub_k::<4>(&sy.mul(&c.z)),
                c1: c.z.mul(&qy),
            };
            v = v.mul(&line);
        }
    }
    v
}

/// Digits of the non-adjacent form of `q - 1` (least significant first).
const NAF_LEN: usize = 1022;

/// The non-adjacent form of `q - 1`: digits in {-1, 0, 1}, no two adjacent non-zero. Computed
/// at compile time from the public constant q.
const NAF: [i8; NAF_LEN] = naf_of_q_minus_one();

const fn naf_of_q_minus_one() -> [i8; NAF_LEN] {
    let mut n = Fq::MODULUS;
    n[0] &= !1; // q - 1
    let mut out = [0i8; NAF_LEN];
    let mut k = 0;
    while k < NAF_LEN {
        if n[0] & 1 == 1 {
            if n[0] & 3 == 1 {
                out[k] = 1;
                n[0] &= !1; // n -= 1
            } else {
                out[k] = -1;
                // n += 1
                let mut i = 0;
                while i < LIMBS {
                    let (v, carry) = n[i].overflowing_add(1);
                    n[i] = v;
                    if !carry {
                        break;
                    }
                    i += 1;
                }
            }
        }
        // n >>= 1
        let mut i = 0;
        while i < LIMBS {
            let hi = if i + 1 < LIMBS { n[i + 1] << 63 } else { 0 };
            n[i] = (n[i] >> 1) | hi;
            i += 1;
        }
        k += 1;
    }
    out
}

/// The table-driven Miller loop over a [`LoopField`] (`lines` in loop order).
#[inline(always)]
fn prepared_loop_in<F: LoopField>(
    mut lines: impl Iterator<Item = [F; 2]>,
    qx: F,
    qy: F,
    one: F,
) -> Pair<F> {
    let zero = one.sub_k::<4>(&one);
    let mut v = Pair { c0: one, c1: zero };
    for i in (0..NAF_LEN - 1).rev() {
        let l = lines.next().unwrap_or([zero; 2]);
        v = v.square().mul(&Pair {
            c0: l[0].mul(&qx).add(&l[1]),
            c1: qy,
        });
        if NAF[i] != 0 {
            let l = lines.next().unwrap_or([zero; 2]);
            v = v.mul(&Pair {
                c0: l[0].mul(&qx).add(&l[1]),
                c1: qy,
            });
        }
    }
    v
}

/// [`PreparedPoint::miller_loop`] as a backend job: the lines are read in the backend's own
/// storage form without a multiplication, or converted when the table was built for another.
struct PreparedLoop<'a> {
    lines: &'a [[Fp; 2]],
    form: TableForm,
    q: &'a AffinePoint,
}

impl Job for PreparedLoop<'_> {
    type Output = Fp2;

    #[inline(always)]
    fn run<B: Backend>(self, b: B) -> Fp2 {
        let (qx, qy, one) = (
            b.convert(&self.q.x),
            b.convert(&self.q.y),
            b.convert(&Fp::ONE),
        );
        // One loop per (backend, table form): the lines' conversion is fixed per loop.
        let v = match self.form {
            form if form == B::FORM => {
                let lines = self
                    .lines
                    .iter()
                    .map(|l| [b.load(&l[0].0), b.load(&l[1].0)]);
                prepared_loop_in(lines, qx, qy, one)
            }
            TableForm::Montgomery => {
                let lines = self
                    .lines
                    .iter()
                    .map(|l| [b.convert(&l[0]), b.convert(&l[1])]);
                prepared_loop_in(lines, qx, qy, one)
            }
            TableForm::Radix52 => {
                let f = TableForm::Radix52;
                let lines = self
                    .lines
                    .iter()
                    .map(|l| [b.convert(&f.to_fp(&l[0].0)), b.convert(&f.to_fp(&l[1].0))]);
                prepared_loop_in(lines, qx, qy, one)
            }
        };
        Fp2::new(b.to_fp(&v.c0), b.to_fp(&v.c1))
    }
}

/// The final exponentiation `v^c` with `c = (p + 1) / q = 4` (the `p - 1` part of the Tate
/// exponent is absorbed by working in PF_p).
pub fn final_exponentiation(v: &Fp2) -> Gt {
    Gt(v.square().square())
}

/// The pairing `<R, Q>` of RFC 6508 s3.2. Both points must be in the order-q subgroup and not
/// the identity (every decoder of this crate guarantees that).
pub fn pairing(r: &AffinePoint, q: &AffinePoint) -> Gt {
    final_exponentiation(&miller_loop(r, q))
}

/// The Miller-loop line coefficients of a fixed point K, for pairings `<K, Q>` with many Q
/// (the RSK of a long-lived receiver: by symmetry `<R, K> = <K, R>`, since both arguments lie
/// in the cyclic group generated by P and the distortion map is a homomorphism).
///
/// Each line of the loop, evaluated at `[i]Q = (-Q_x, i Q_y)`, is normalised (divided by its
/// F_p coefficient of `i Q_y`) to `(a Q_x + b) + i Q_y`, so a pairing costs one F_p
/// multiplication per line plus the F_p^2 arithmetic: about 7 500 multiplications instead of
/// 23 300. The table holds 1 373 pairs of F_p values (about 350 kB); it is derived from K, so it
/// is as secret as K: built in constant time, read sequentially, zeroized on drop.
pub struct PreparedPoint {
    /// The normalised lines `(a, b)`: limbs of F_p values in `form`.
    lines: Vec<[Fp; 2]>,
    /// The form of the lines: the storage form of the backend that was fastest when the table
    /// was built (`a * 2^1040 mod p` on IFMA CPUs).
    form: TableForm,
}

impl core::fmt::Debug for PreparedPoint {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PreparedPoint").finish_non_exhaustive()
    }
}

impl Drop for PreparedPoint {
    fn drop(&mut self) {
        self.lines.zeroize();
    }
}

impl PreparedPoint {
    /// Precomputes the lines of `k`, a point of the order-q subgroup other than the identity.
    /// Constant time in `k` (one batched safegcd inversion).
    pub fn new(k: &AffinePoint) -> Self {
        let (rx, ry) = (k.x, k.y);
        let minus_ry = ry.neg();
        // Unnormalised (a, b, c): line = (a Q_x + b) + i c Q_y.
        let mut raw: Vec<[Fp; 3]> = Vec::with_capacity(NAF_LEN + 400);
        let mut c = Jac {
            x: rx,
            y: ry,
            z: Fp::ONE,
        };
        for i in (0..NAF_LEN - 1).rev() {
            let x = c.x;
            let t = c.double();
            raw.push([
                t.alpha.mul(&t.delta),
                t.alpha.mul(&x).sub(&t.gamma.double()),
                c.z.mul(&t.delta),
            ]);
            let digit = NAF[i];
            if digit != 0 {
                let sy = if digit > 0 { ry } else { minus_ry };
                let rr = c.add_affine(&rx, &sy);
                raw.push([rr, rr.mul(&rx).sub(&sy.mul(&c.z)), c.z]);
            }
        }
        // Normalise every line by 1/c with one inversion (Montgomery's trick).
        let mut prefix = Vec::with_capacity(raw.len());
        let mut acc = Fp::ONE;
        for l in &raw {
            prefix.push(acc);
            acc = acc.mul(&l[2]);
        }
        let mut inv = acc.invert().unwrap_or(Fp::ZERO);
        let mut lines = vec![[Fp::ZERO; 2]; raw.len()];
        for i in (0..raw.len()).rev() {
            let cinv = inv.mul(&prefix[i]);
            inv = inv.mul(&raw[i][2]);
            lines[i] = [raw[i][0].mul(&cinv), raw[i][1].mul(&cinv)];
        }
        raw.zeroize();
        prefix.zeroize();
        inv.zeroize();
        let form = TableForm::current();
        if form != TableForm::Montgomery {
            for l in &mut lines {
                *l = [Fp(form.store(&l[0])), Fp(form.store(&l[1]))];
            }
        }
        Self { lines, form }
    }

    /// The Miller loop `f_K([i]Q)` from the table (up to an F_p factor).
    pub fn miller_loop(&self, q: &AffinePoint) -> Fp2 {
        dispatch(PreparedLoop {
            lines: &self.lines,
            form: self.form,
            q,
        })
    }

    /// The pairing `<K, Q>` (= `<Q, K>`), exactly as [`pairing`] computes it.
    pub fn pairing(&self, q: &AffinePoint) -> Gt {
        final_exponentiation(&self.miller_loop(q))
    }

    /// The table of the generator P, built on first use and shared by the whole process.
    pub fn generator() -> &'static Self {
        static TABLE: std::sync::OnceLock<PreparedPoint> = std::sync::OnceLock::new();
        TABLE.get_or_init(|| Self::new(&AffinePoint::generator()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::Bound;

    /// The bound annotations of both Miller loops hold on every step: values enter below 2p
    /// (conversions and table loads), and the loops run over the public NAF of q - 1.
    #[test]
    fn miller_loops_keep_their_lazy_bounds() {
        let two = Bound(2);
        let v = miller_loop_in(two, two, two, two, two);
        assert!(v.c0.0 <= 6 && v.c1.0 <= 10, "{v:?}", v = (v.c0, v.c1));
        // Table entries are canonical (below p).
        let lines = core::iter::repeat([Bound(1), Bound(1)]);
        let v = prepared_loop_in(lines, two, two, two);
        assert!(v.c0.0 <= 6 && v.c1.0 <= 10);
    }
}
