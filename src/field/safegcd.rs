//! Constant-time modular inversion for odd moduli of up to 1024 bits: Bernstein-Yang "safegcd"
//! with 62 divsteps per batch on signed 62-bit limbs.
//!
//! The structure follows libsecp256k1's `modinv64` (constant-time `secp256k1_modinv64`, see its
//! `doc/safegcd_implementation.md`), widened from 5 to 17 limbs and using the original divstep
//! (delta starting at 1, whose iteration bound is a theorem of the Bernstein-Yang paper) rather
//! than libsecp's "half-delta" variant:
//!
//! * numbers are 17 signed 62-bit limbs (`[i64; 17]`, 1054 bits): all limbs but the top one are
//!   in `[0, 2^62)`, the top one carries the sign;
//! * each batch runs 62 branch-free divsteps on the low 64 bits of `f` and `g` only, giving a
//!   2x2 transition matrix `(u, v; q, r)` scaled by `2^62` with `|u| + |v|, |q| + |r| <= 2^62`;
//! * the matrix is applied to `(f, g)` (an exact division by `2^62`) and to `(d, e)` modulo `m`
//!   (adding the multiple of `m` that clears the low 62 bits), which keeps `d` and `e` in
//!   `(-2m, m)`;
//! * a fixed number of batches covers the proven worst case ([`BATCHES`]); finally `d` is
//!   multiplied by the sign of `f` (which is then `+-1`) and reduced into `[0, m)`.
//!
//! Everything runs in time independent of the values: every conditional is a mask built with
//! shifts and negations, every memory index and loop count is a public constant.

/// Limbs of the signed-62 representation of 1024-bit moduli: `17 * 62 = 1054` bits, room for a
/// 1024-bit value, the `(-2m, m)` range of `d` and `e` and a sign. (The code is generic over
/// the number `L` of limbs and `W` of 64-bit words: `L = 5`, `W = 4` serve P-256's 256-bit
/// moduli, which need `5 * 62 = 310 >= 258` bits.)
const LIMBS62: usize = 17;

/// Low 62 bits.
const M62: u64 = u64::MAX >> 2;

/// Divsteps per batch (the scale `2^62` of the transition matrices).
const BATCH: usize = 62;

/// Worst-case number of divsteps for 1024-bit inputs.
///
/// Bernstein and Yang, "Fast constant-time gcd computation and modular inversion" (2019),
/// Theorem 11.2: for odd `f`, any `g` and real `d >= 46` with `f^2 + 4 g^2 <= 5 * 2^(2d)`, the
/// divstep iteration started at `delta = 1` reaches `g = 0` within `floor((49 d + 57) / 17)`
/// steps. Here `f = m < 2^1024` and `0 <= g < 2^1024`, so `d = 1024` holds and the bound is
/// `floor(50233 / 17) = 2954`. Once `g = 0` further divsteps leave `f` (and `d`) unchanged, so
/// running more steps than that is harmless.
const DIVSTEPS: usize = divsteps(16);

/// Batches of [`BATCH`] divsteps covering [`DIVSTEPS`]: 48 (2976 divsteps).
const BATCHES: usize = batches(16);

/// The bound of [`DIVSTEPS`] for moduli of `words` 64-bit words (`d = 64 words >= 46`): 741
/// divsteps for 256 bits, 2954 for 1024.
const fn divsteps(words: usize) -> usize {
    (49 * 64 * words + 57) / 17
}

/// Batches of [`BATCH`] divsteps covering [`divsteps`]`(words)`: 12 for 256 bits, 48 for 1024.
const fn batches(words: usize) -> usize {
    divsteps(words).div_ceil(BATCH)
}

const _: () = assert!(DIVSTEPS == 2954 && BATCHES == 48 && BATCHES * BATCH >= DIVSTEPS);
const _: () = assert!(divsteps(4) == 741 && batches(4) == 12);

/// An integer in signed-62 form: `sum(v[i] * 2^(62 i))`.
#[cfg(test)]
type Signed62 = [i64; LIMBS62];

/// Precomputed data of one odd modulus for [`invert`], in `L` signed-62 limbs.
pub(crate) struct Modulus62<const L: usize = LIMBS62> {
    /// The modulus in signed-62 limbs (all in `[0, 2^62)`).
    m: [i64; L],
    /// `m^-1 mod 2^62`.
    m_inv62: u64,
}

impl<const L: usize> Modulus62<L> {
    /// Precomputes the data of the modulus `m` (little-endian 64-bit limbs), which must be odd
    /// and greater than 1 (nothing else is usable; an even `m` gives meaningless results).
    pub(crate) const fn new<const W: usize>(m: &[u64; W]) -> Self {
        // Newton's iteration for m^-1 mod 2^64: m * m = 1 (mod 8) for odd m (3 correct bits),
        // and each step doubles the correct bits: 3, 6, 12, 24, 48, 96.
        let mut inv = m[0];
        let mut i = 0;
        while i < 5 {
            inv = inv.wrapping_mul(2u64.wrapping_sub(m[0].wrapping_mul(inv)));
            i += 1;
        }
        Self {
            m: to_signed62(m),
            m_inv62: inv & M62,
        }
    }
}

/// Little-endian 64-bit limbs (any value below `2^1024`) to signed-62 form: limb `i` is bits
/// `[62 i, 62 i + 62)`.
const fn to_signed62<const W: usize, const L: usize>(x: &[u64; W]) -> [i64; L] {
    let mut out = [0i64; L];
    let mut i = 0;
    while i < L {
        let (w, off) = (62 * i / 64, 62 * i % 64);
        let mut v = if w < W { x[w] >> off } else { 0 };
        // Word w holds only 64 - off of the 62 bits when off > 2.
        if off > 2 && w + 1 < W {
            v |= x[w + 1] << (64 - off);
        }
        out[i] = (v & M62) as i64;
        i += 1;
    }
    out
}

/// Signed-62 form with every limb in `[0, 2^62)` (a value in `[0, 2^1024)`) to little-endian
/// 64-bit limbs.
fn from_signed62<const W: usize, const L: usize>(x: &[i64; L]) -> [u64; W] {
    let mut out = [0u64; W];
    for (j, word) in out.iter_mut().enumerate() {
        // Bits [64 j, 64 j + 64): the top 62 - off bits of limb i and the low bits of limb
        // i + 1 (off is even, so at most 60, and two limbs always suffice).
        let (i, off) = (64 * j / 62, 64 * j % 62);
        *word = (x[i] as u64 >> off) | ((x[i + 1] as u64) << (62 - off));
    }
    out
}

/// A transition matrix `[u v; q r]` of [`BATCH`] divsteps, scaled by `2^62`.
#[derive(Clone, Copy)]
struct Trans {
    /// Top left.
    u: i64,
    /// Top right.
    v: i64,
    /// Bottom left.
    q: i64,
    /// Bottom right.
    r: i64,
}

/// 62 divsteps on the low 64 bits `f0` (odd) and `g0` of `f` and `g`, in constant time.
///
/// `eta` is `-delta`. Returns the new `eta` and the matrix `t` with
/// `t * [f; g] = 2^62 * [f'; g']` for the divstep results `f'`, `g'`: 62 divsteps depend only
/// on the low 62 bits, and the invariant `u f0 + v g0 = f 2^i (mod 2^64)` is kept after `i`
/// steps. Every step multiplies one row by 2 and replaces the other by the sum or difference of
/// both, so `|u| + |v|` and `|q| + |r|` stay at most `2^62`.
#[inline(always)]
fn divsteps_62(mut eta: i64, f0: u64, g0: u64) -> (i64, Trans) {
    // The matrix as wrapping u64 (two's complement), starting at the identity.
    let (mut u, mut v, mut q, mut r) = (1u64, 0u64, 0u64, 1u64);
    let (mut f, mut g) = (f0, g0);
    for _ in 0..BATCH {
        // c1: all ones when delta > 0 (eta < 0); c2: all ones when g is odd.
        let c1 = (eta >> 63) as u64;
        let c2 = (g & 1).wrapping_neg();
        // g += (+-f) when g is odd: -f (i.e. g - f) when delta > 0, +f otherwise.
        let x = (f ^ c1).wrapping_sub(c1);
        let y = (u ^ c1).wrapping_sub(c1);
        let z = (v ^ c1).wrapping_sub(c1);
        g = g.wrapping_add(x & c2);
        q = q.wrapping_add(y & c2);
        r = r.wrapping_add(z & c2);
        // The swap case (delta > 0 and g odd): f becomes the old g (f + (g - f)) and delta
        // becomes 1 - delta (eta' = -eta - 1 = !eta); otherwise delta becomes 1 + delta
        // (eta' = eta - 1). `!c1` is -1 or 0.
        let c1 = c1 & c2;
        eta = (eta ^ c1 as i64).wrapping_add(!c1 as i64);
        f = f.wrapping_add(g & c1);
        u = u.wrapping_add(q & c1);
        v = v.wrapping_add(r & c1);
        // g / 2 (exact: g is even now); equivalently the f row doubles.
        g >>= 1;
        u <<= 1;
        v <<= 1;
    }
    let t = Trans {
        u: u as i64,
        v: v as i64,
        q: q as i64,
        r: r as i64,
    };
    (eta, t)
}

/// `[f; g] = t * [f; g] / 2^62` (exact). Inputs and outputs have every limb but the top one in
/// `[0, 2^62)`, and `|f|, |g| < 2^1024`.
#[inline(always)]
#[allow(clippy::cast_possible_truncation)] // i128 carries are shifted down 62 bits at a time
fn update_fg<const L: usize>(f: &mut [i64; L], g: &mut [i64; L], t: &Trans) {
    let (u, v, q, r) = (
        i128::from(t.u),
        i128::from(t.v),
        i128::from(t.q),
        i128::from(t.r),
    );
    let (f0, g0) = (i128::from(f[0]), i128::from(g[0]));
    // The low 62 bits of both sums are zero (that is what the divsteps did).
    let mut cf = (u * f0 + v * g0) >> 62;
    let mut cg = (q * f0 + r * g0) >> 62;
    for i in 1..L {
        let (fi, gi) = (i128::from(f[i]), i128::from(g[i]));
        cf += u * fi + v * gi;
        cg += q * fi + r * gi;
        f[i - 1] = (cf as u64 & M62) as i64;
        g[i - 1] = (cg as u64 & M62) as i64;
        cf >>= 62;
        cg >>= 62;
    }
    f[L - 1] = cf as i64;
    g[L - 1] = cg as i64;
}

/// `[d; e] = t * [d; e] / 2^62 (mod m)`: adds the multiples `md`, `me` of `m` that clear the
/// low 62 bits, then divides exactly. On input and output `d, e` are in `(-2m, m)` with every
/// limb but the top one in `[0, 2^62)` (libsecp256k1's `update_de_62`; the range argument
/// needs `|u| + |v|, |q| + |r| <= 2^62`).
#[inline(always)]
#[allow(clippy::cast_possible_truncation)] // i128 carries are shifted down 62 bits at a time
fn update_de<const L: usize>(d: &mut [i64; L], e: &mut [i64; L], t: &Trans, m: &Modulus62<L>) {
    let (u, v, q, r) = (t.u, t.v, t.q, t.r);
    // md, me start at [u, q] if d < 0 plus [v, r] if e < 0 (keeps the output above -2m).
    let sd = d[L - 1] >> 63;
    let se = e[L - 1] >> 63;
    let mut md = (u & sd) + (v & se);
    let mut me = (q & sd) + (r & se);
    let (d0, e0) = (i128::from(d[0]), i128::from(e[0]));
    let (u, v, q, r) = (i128::from(u), i128::from(v), i128::from(q), i128::from(r));
    let mut cd = u * d0 + v * e0;
    let mut ce = q * d0 + r * e0;
    // Subtract from md, me the amount in [0, 2^62) that makes cd + m md = 0 (mod 2^62).
    md -= (m.m_inv62.wrapping_mul(cd as u64).wrapping_add(md as u64) & M62) as i64;
    me -= (m.m_inv62.wrapping_mul(ce as u64).wrapping_add(me as u64) & M62) as i64;
    let (md, me) = (i128::from(md), i128::from(me));
    let m0 = i128::from(m.m[0]);
    cd += m0 * md;
    ce += m0 * me;
    cd >>= 62;
    ce >>= 62;
    for i in 1..L {
        let (di, ei, mi) = (i128::from(d[i]), i128::from(e[i]), i128::from(m.m[i]));
        cd += u * di + v * ei + mi * md;
        ce += q * di + r * ei + mi * me;
        d[i - 1] = (cd as u64 & M62) as i64;
        e[i - 1] = (ce as u64 & M62) as i64;
        cd >>= 62;
        ce >>= 62;
    }
    d[L - 1] = cd as i64;
    e[L - 1] = ce as i64;
}

/// Carries every limb but the top one into `[0, 2^62)` (limbs in `(-2^62, 2^62)` on input).
#[inline(always)]
fn propagate<const L: usize>(r: &mut [i64; L]) {
    for i in 0..L - 1 {
        r[i + 1] += r[i] >> 62;
        r[i] = (r[i] as u64 & M62) as i64;
    }
}

/// Hides a mask (0 or all ones) from the optimiser, so that code using it stays arithmetic:
/// without this LLVM turns the sign-derived masks of [`normalize`] and the final zeroing of
/// [`invert`] into conditional jumps (checked in the machine code). Used four times per
/// inversion, outside the loops; the masks of the divstep and update loops compile to plain
/// arithmetic without it.
#[inline(always)]
fn opaque(mask: i64) -> i64 {
    core::hint::black_box(mask)
}

/// Reduces `r` in `(-2m, m)` (normalised limbs) to `[0, m)`, negated first when `sign_mask`
/// is all ones (libsecp256k1's `normalize_62`).
#[inline(always)]
fn normalize<const L: usize>(r: &mut [i64; L], sign_mask: i64, m: &Modulus62<L>) {
    let sign_mask = opaque(sign_mask);
    // (-2m, m) -> (-m, m): add m when negative; then negate if asked.
    let add = opaque(r[L - 1] >> 63);
    for (ri, &mi) in r.iter_mut().zip(&m.m) {
        *ri = ((*ri + (mi & add)) ^ sign_mask) - sign_mask;
    }
    propagate(r);
    // (-m, m) -> [0, m): add m when still negative.
    let add = opaque(r[L - 1] >> 63);
    for (ri, &mi) in r.iter_mut().zip(&m.m) {
        *ri += mi & add;
    }
    propagate(r);
}

/// All ones when `z == 0`, else zero, without a comparison.
#[inline(always)]
fn zero_mask(z: u64) -> u64 {
    ((z | z.wrapping_neg()) >> 63).wrapping_sub(1)
}

/// Constant-time inverse of `x` modulo the odd modulus described by `m`: returns `x^-1 mod m`
/// as 16 little-endian limbs (canonical, `< m`), or 0 when `x = 0 (mod m)`.
///
/// `x` may be any value below `2^1024` (it need not be reduced); the result is 0 exactly when
/// `x` has no inverse (`gcd(x, m) != 1`). Run time is independent of `x` (and of `m`'s value).
#[inline(never)]
pub(crate) fn invert<const W: usize, const L: usize>(x: &[u64; W], m: &Modulus62<L>) -> [u64; W] {
    const {
        // room for W words, the (-2m, m) range and the sign; the last word's limbs exist
        assert!(62 * L >= 64 * W + 2 && (64 * (W - 1)) / 62 + 1 < L);
    }
    let mut f = m.m;
    let mut g = to_signed62::<W, L>(x);
    // Invariants: f = d x, g = e x (mod m).
    let mut d = [0i64; L];
    let mut e = [0i64; L];
    e[0] = 1;
    // eta = -delta, delta starting at 1.
    let mut eta = -1i64;
    for _ in 0..batches(W) {
        let (eta2, t) = divsteps_62(eta, f[0] as u64, g[0] as u64);
        eta = eta2;
        update_fg(&mut f, &mut g, &t);
        update_de(&mut d, &mut e, &t, m);
    }
    // Now g = 0 and f = +-gcd(x, m): the inverse is sign(f) d when f = +-1.
    let sign = f[L - 1] >> 63;
    normalize(&mut d, sign, m);
    // f = 1 is [1, 0, ..., 0]; f = -1 is [2^62 - 1, ..., 2^62 - 1, -1] (unique forms).
    let mut plus_one = f[0] as u64 ^ 1;
    let mut minus_one = f[0] as u64 ^ M62;
    for &limb in &f[1..L - 1] {
        plus_one |= limb as u64;
        minus_one |= limb as u64 ^ M62;
    }
    plus_one |= f[L - 1] as u64;
    minus_one |= !(f[L - 1] as u64);
    let ok = opaque((zero_mask(plus_one) | zero_mask(minus_one)) as i64) as u64;
    let mut out = from_signed62(&d);
    for limb in out.iter_mut() {
        *limb &= ok;
    }
    // d (the inverse) and e, g (derived from x) are secret when x is; f ends as +-1.
    zeroize::Zeroize::zeroize(&mut d);
    zeroize::Zeroize::zeroize(&mut e);
    zeroize::Zeroize::zeroize(&mut g);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::{Fp, Fq};
    use num_bigint::BigInt;

    const P62: Modulus62 = Modulus62::new(&Fp::MODULUS);
    const Q62: Modulus62 = Modulus62::new(&Fq::MODULUS);

    fn to_big(k: &[u64; 16]) -> BigInt {
        k.iter()
            .rev()
            .fold(BigInt::from(0), |acc, &l| (acc << 64) + BigInt::from(l))
    }

    fn s62_to_big(k: &Signed62) -> BigInt {
        k.iter()
            .rev()
            .fold(BigInt::from(0), |acc, &l| (acc << 62) + BigInt::from(l))
    }

    fn from_big(v: &BigInt) -> [u64; 16] {
        let (sign, digits) = v.to_u64_digits();
        assert_ne!(sign, num_bigint::Sign::Minus);
        assert!(digits.len() <= 16);
        let mut out = [0u64; 16];
        out[..digits.len()].copy_from_slice(&digits);
        out
    }

    use crate::field::test_rng::Rng;

    impl Rng {
        /// A value below `bound` (by masking to its bit length and rejecting).
        fn below(&mut self, bound: &BigInt) -> BigInt {
            let bits = bound.bits();
            loop {
                let l = self.limbs();
                let v = to_big(&l) & ((BigInt::from(1) << bits) - 1);
                if &v < bound {
                    return v;
                }
            }
        }

        /// A value with long runs of zeros and ones below `2^bits`.
        fn runs(&mut self, bits: u64) -> BigInt {
            let mut v = BigInt::from(0);
            let mut pos = 0;
            let mut bit = self.next() & 1;
            while pos < bits {
                let len = (1 + self.next() % 200).min(bits - pos);
                if bit == 1 {
                    v += ((BigInt::from(1) << len) - 1) << pos;
                }
                pos += len;
                bit ^= 1;
            }
            v
        }
    }

    fn moduli() -> [(&'static Modulus62, BigInt, [u64; 16]); 2] {
        [
            (&P62, to_big(&Fp::MODULUS), Fp::MODULUS),
            (&Q62, to_big(&Fq::MODULUS), Fq::MODULUS),
        ]
    }

    fn check(x: &BigInt, md: &Modulus62, m: &BigInt) {
        let inv = invert(&from_big(x), md);
        let inv_big = to_big(&inv);
        assert!(&inv_big < m, "not canonical for x = {x:#x}");
        if (x % m) == BigInt::from(0) {
            assert_eq!(inv_big, BigInt::from(0), "x = {x:#x}");
        } else {
            assert_eq!((x * &inv_big) % m, BigInt::from(1), "x = {x:#x}");
        }
    }

    #[test]
    fn p256_moduli() {
        // P-256's field prime and group order, in 5 limbs: edge values and pseudorandom ones.
        let hex = [
            "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
            "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
        ];
        let mut rng = Rng(0x5eed_0256);
        for h in hex {
            let m = BigInt::parse_bytes(h.as_bytes(), 16).unwrap();
            let limbs = |v: &BigInt| -> [u64; 4] {
                let (_, digits) = v.to_u64_digits();
                let mut out = [0u64; 4];
                out[..digits.len()].copy_from_slice(&digits);
                out
            };
            let md = Modulus62::<5>::new(&limbs(&m));
            let mut xs: Vec<BigInt> = vec![
                BigInt::from(1),
                BigInt::from(2),
                &m - 1,
                &m - 2,
                (&m - 1) / 2,
                (&m + 1) / 2,
            ];
            for k in 0..256 {
                xs.push(BigInt::from(1) << k);
                xs.push((BigInt::from(1) << k) - 1);
            }
            for _ in 0..2000 {
                xs.push(BigInt::from(rng.next()) * BigInt::from(rng.next()) % &m);
            }
            for x in xs {
                let x = x % &m;
                let inv = invert(&limbs(&x), &md);
                let (_, digits) = (&x * to_big_words(&inv) % &m).to_u64_digits();
                if x == BigInt::from(0) {
                    assert_eq!(inv, [0; 4]);
                } else {
                    assert_eq!(digits, vec![1], "{x}");
                }
            }
            assert_eq!(invert(&[0; 4], &md), [0; 4]);
            assert_eq!(invert(&limbs(&m), &md), [0; 4]);
        }
    }

    fn to_big_words(k: &[u64]) -> BigInt {
        k.iter()
            .rev()
            .fold(BigInt::from(0), |acc, &l| (acc << 64) + BigInt::from(l))
    }

    #[test]
    fn modulus_data() {
        for (md, m, limbs) in moduli() {
            assert_eq!(s62_to_big(&md.m), m);
            assert!(md.m.iter().all(|&l| (0..1 << 62).contains(&l)));
            assert_eq!(limbs[0].wrapping_mul(md.m_inv62) & M62, 1);
        }
        assert_eq!(to_big(&Fq::MODULUS) * 4 - 1, to_big(&Fp::MODULUS));
    }

    #[test]
    fn limb_conversions_round_trip() {
        let mut rng = Rng(0x1234_5678_9ABC_DEF1);
        for _ in 0..200 {
            let x = rng.limbs();
            let s = to_signed62(&x);
            assert!(s.iter().all(|&l| (0..1 << 62).contains(&l)));
            assert_eq!(s62_to_big(&s), to_big(&x));
            assert_eq!(from_signed62(&s), x);
        }
    }

    #[test]
    fn zero_has_no_inverse() {
        for (md, _, limbs) in moduli() {
            assert_eq!(invert(&[0; 16], md), [0; 16]);
            // A non-zero multiple of m (x need not be reduced) gives 0 as well.
            assert_eq!(invert(&limbs, md), [0; 16]);
        }
        let q2 = to_big(&Fq::MODULUS) * 2;
        assert_eq!(invert(&from_big(&q2), &Q62), [0; 16]);
    }

    #[test]
    fn special_values() {
        for (md, m, _) in moduli() {
            let one = BigInt::from(1);
            let mut xs: Vec<BigInt> = vec![
                one.clone(),
                BigInt::from(2),
                BigInt::from(3),
                &m - 1u32,
                &m - 2u32,
                (&m - 1u32) >> 1,
                (&m + 1u32) >> 1,
                (&m + 1u32) >> 2,
            ];
            for k in 0..m.bits() {
                xs.push(&one << k);
                xs.push((&one << k) - 1u32);
                xs.push(&m - (&one << k));
                xs.push((&one << k) + 1u32);
            }
            for x in xs {
                if x > BigInt::from(0) && x < m {
                    check(&x, md, &m);
                }
            }
        }
    }

    #[test]
    fn unreduced_inputs() {
        // Any x < 2^1024 works (the divstep bound only needs |g| < 2^1024).
        let top: BigInt = (BigInt::from(1) << 1024) - 1;
        for (md, m, _) in moduli() {
            for x in [
                top.clone(),
                &top - 1u32,
                &m + 1u32,
                &m + 2u32,
                &m * 2 + 1u32,
                (BigInt::from(1) << 1023) + 5u32,
            ] {
                if x <= top {
                    check(&x, md, &m);
                }
            }
        }
        let mut rng = Rng(0xDEAD_BEEF_0000_0001);
        let bound = BigInt::from(1) << 1024;
        for _ in 0..200 {
            let x = rng.below(&bound);
            check(&x, &Q62, &to_big(&Fq::MODULUS));
        }
    }

    #[test]
    fn runs_of_zeros_and_ones() {
        let mut rng = Rng(0x0F0F_F0F0_1234_4321);
        for (md, m, _) in moduli() {
            for _ in 0..500 {
                let x = rng.runs(m.bits()) % &m;
                check(&x, md, &m);
            }
        }
    }

    #[test]
    fn random_against_num_bigint_and_crypto_bigint() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for (md, m, _) in moduli() {
            let odd = crypto_bigint::Odd::new(crypto_bigint::U1024::from_words(from_big(&m)))
                .into_option()
                .unwrap();
            for _ in 0..2500 {
                let x = rng.below(&m);
                check(&x, md, &m);
                if x != BigInt::from(0) {
                    let xl = from_big(&x);
                    let theirs = crypto_bigint::U1024::from_words(xl)
                        .invert_odd_mod(&odd)
                        .into_option()
                        .unwrap();
                    assert_eq!(invert(&xl, md), theirs.to_words(), "x = {x:#x}");
                }
            }
        }
    }

    /// Runs the algorithm step by step, checking the invariants and ranges the implementation
    /// relies on, and that g reaches 0 well within the batches run.
    #[test]
    fn invariants_and_ranges() {
        let mut rng = Rng(0x5555_AAAA_1357_9BDF);
        let mut worst_batch = 0;
        // How often the final f is +1 and -1 (both signs must be exercised).
        let mut signs = [0u32; 2];
        for (md, m, _) in moduli() {
            let two62 = BigInt::from(1) << 62;
            for n in 0..300 {
                let x = if n % 2 == 0 {
                    rng.below(&m)
                } else {
                    rng.runs(m.bits()) % &m
                };
                if x == BigInt::from(0) {
                    continue;
                }
                let mut f = md.m;
                let mut g = to_signed62(&from_big(&x));
                let mut d = [0i64; LIMBS62];
                let mut e = [0i64; LIMBS62];
                e[0] = 1;
                let mut eta = -1i64;
                let mut zero_at = None;
                for batch in 0..BATCHES {
                    let (f_old, g_old) = (s62_to_big(&f), s62_to_big(&g));
                    let (eta2, t) = divsteps_62(eta, f[0] as u64, g[0] as u64);
                    eta = eta2;
                    assert!(t.u.unsigned_abs() + t.v.unsigned_abs() <= 1 << 62);
                    assert!(t.q.unsigned_abs() + t.r.unsigned_abs() <= 1 << 62);
                    let det = i128::from(t.u) * i128::from(t.r) - i128::from(t.v) * i128::from(t.q);
                    assert_eq!(det, 1i128 << 62);
                    update_fg(&mut f, &mut g, &t);
                    update_de(&mut d, &mut e, &t, md);
                    let (fb, gb) = (s62_to_big(&f), s62_to_big(&g));
                    assert_eq!(
                        &fb * &two62,
                        BigInt::from(t.u) * &f_old + BigInt::from(t.v) * &g_old
                    );
                    assert_eq!(
                        &gb * &two62,
                        BigInt::from(t.q) * &f_old + BigInt::from(t.r) * &g_old
                    );
                    assert!(fb.bits() <= 1024 && gb.bits() <= 1024);
                    assert!(&fb % 2u32 != BigInt::from(0));
                    for v in [&d, &e, &f, &g] {
                        assert!(v[..LIMBS62 - 1].iter().all(|&l| (0..1 << 62).contains(&l)));
                    }
                    let (db, eb) = (s62_to_big(&d), s62_to_big(&e));
                    for v in [&db, &eb] {
                        let lo: BigInt = -(&m * 2u32);
                        assert!(v > &lo && v < &m);
                    }
                    let modm = |v: BigInt| ((v % &m) + &m) % &m;
                    assert_eq!(modm(&db * &x), modm(fb.clone()));
                    assert_eq!(modm(&eb * &x), modm(gb.clone()));
                    if zero_at.is_none() && gb == BigInt::from(0) {
                        zero_at = Some(batch + 1);
                    }
                }
                let z = zero_at.unwrap();
                worst_batch = worst_batch.max(z);
                let fb = s62_to_big(&f);
                assert!(fb == BigInt::from(1) || fb == BigInt::from(-1));
                signs[usize::from(fb == BigInt::from(-1))] += 1;
            }
        }
        println!("g = 0 reached after at most {worst_batch} of {BATCHES} batches");
        assert!(worst_batch < BATCHES);
        assert!(signs[0] > 0 && signs[1] > 0, "final f signs {signs:?}");
    }

    /// Times 2000 inversions with this code and with crypto-bigint's `invert_odd_mod` (five
    /// rounds each, interleaved; prints every round's average and the best).
    /// `cargo test --release --lib safegcd -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn timing() {
        use std::hint::black_box;
        use std::time::{Duration, Instant};
        const N: u32 = 2000;
        const ROUNDS: usize = 5;
        let mut rng = Rng(0xC0FF_EE00_D15E_A5E5);
        for (name, md, m) in [
            ("p", &P62, to_big(&Fp::MODULUS)),
            ("q", &Q62, to_big(&Fq::MODULUS)),
        ] {
            let odd = crypto_bigint::Odd::new(crypto_bigint::U1024::from_words(from_big(&m)))
                .into_option()
                .unwrap();
            let xs: Vec<[u64; 16]> = (0..N).map(|_| from_big(&rng.below(&m))).collect();
            let mut acc = 0u64;
            for x in xs.iter().take(100) {
                acc ^= invert(black_box(x), md)[0];
            }
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            for _ in 0..ROUNDS {
                let t = Instant::now();
                for x in &xs {
                    acc ^= invert(black_box(x), md)[0];
                }
                ours.push(t.elapsed() / N);
                let t = Instant::now();
                for x in &xs {
                    let r = crypto_bigint::U1024::from_words(*black_box(x)).invert_odd_mod(&odd);
                    acc ^= r.to_inner_unchecked().to_words()[0];
                }
                theirs.push(t.elapsed() / N);
            }
            black_box(acc);
            let best = |v: &[Duration]| v.iter().min().copied().unwrap_or_default();
            println!(
                "mod {name}: safegcd62 per inversion {ours:?} (best {:?})",
                best(&ours)
            );
            println!(
                "mod {name}: crypto-bigint per inversion {theirs:?} (best {:?})",
                best(&theirs)
            );
        }
    }
}
