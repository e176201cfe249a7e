//! F_p values kept in radix 2^52 between operations ([`Fe52`]): the representation of the
//! long loops on IFMA CPUs (`crate::field::backend`), over the digit core of the kernel.

use super::{
    __m512i, _mm512_add_epi64, _mm512_sub_epi64, Consts, D, IN_B, Ifma, MASK52, amm_core,
    from_digits, load, normalize, store, subtract_if_ge, to_digits, to_digits_const,
};
use subtle::ConditionallySelectable;

use crate::field::kernel::Limbs;

// ---- F_p values kept in radix 2^52 between operations --------------------------------------

/// Constants of [`Fe52`] (modulus p).
#[repr(C, align(64))]
struct Fe52Consts {
    /// The digits of `2p`.
    p2: [u64; 24],
    /// The digits of `2^1056 mod p`: multiplying by it moves a value from Montgomery form with
    /// `R = 2^1024` (the limbs of [`crate::field::Fp`]) to the form with `R' = 2^1040`.
    to_r52: [u64; 24],
    /// The digits of `2^1024 mod p`: multiplying by it moves back.
    from_r52: [u64; 24],
}

const fn doubled_digits(d: &[u64; 24]) -> [u64; 24] {
    let mut out = [0u64; 24];
    let mut carry = 0;
    let mut j = 0;
    while j < D {
        let v = 2 * d[j] + carry;
        out[j] = v & MASK52;
        carry = v >> 52;
        j += 1;
    }
    out
}

/// The digits of `k p` written so that every digit can absorb a digit subtraction: digit 0
/// plus `2^52`, digits 1..18 plus `2^52 - 1`, digit 19 less 1 (the same value). For `k <= 128`
/// (`k p < 2^1031`).
const fn borrow_proof_multiple(k: u64) -> [u64; 24] {
    let d = to_digits_const(&crate::field::Fp::MODULUS);
    let mut kp = [0u64; 24];
    let mut carry = 0;
    let mut j = 0;
    while j < D {
        let v = k * d[j] + carry;
        kp[j] = v & MASK52;
        carry = v >> 52;
        j += 1;
    }
    let mut j = 0;
    while j < D {
        kp[j] += if j == 0 {
            1 << 52
        } else if j < D - 1 {
            MASK52
        } else {
            0
        };
        if j == D - 1 {
            kp[j] -= 1;
        }
        j += 1;
    }
    kp
}

/// [`borrow_proof_multiple`] for `k = 2^(i + 2)`, `i` in 0..6.
static KP: [[u64; 24]; 6] = [
    borrow_proof_multiple(4),
    borrow_proof_multiple(8),
    borrow_proof_multiple(16),
    borrow_proof_multiple(32),
    borrow_proof_multiple(64),
    borrow_proof_multiple(128),
];

static FE52: Fe52Consts = Fe52Consts {
    p2: doubled_digits(&to_digits_const(&crate::field::Fp::MODULUS)),
    to_r52: to_digits_const(&crate::field::kernel::pow2_mod(
        1056,
        &crate::field::Fp::MODULUS,
    )),
    from_r52: to_digits_const(&crate::field::kernel::pow2_mod(
        1024,
        &crate::field::Fp::MODULUS,
    )),
};

/// An element of F_p held as twenty 52-bit digits, for long runs of arithmetic on the IFMA
/// backend (the Miller loop) without converting to and from 64-bit limbs around every
/// multiplication.
///
/// The value `A` stands for `a = A * 2^-1040 mod p` (Montgomery form with `R' = 2^1040`, the
/// kernel's natural radix) and is *lazily reduced*: any `A < 2^1040` is allowed. The
/// almost-Montgomery product of `A` and `B` with `A B < 2^1040 p` is below `2p`
/// (`A B / 2^1040 + p`), so multiplication needs no final subtraction; addition adds the
/// digits and [`Fe52::sub_k`] adds a multiple `k p` of the modulus above the subtrahend, each
/// followed by one carry normalisation and no reduction. The callers keep the bounds: the
/// Miller loops and the scalar multiplication document, at every subtraction, the bound
/// (as a multiple of p) that the operands have, and every product's operands stay far below
/// the limit (`A B < 2^1040 p` holds for `A, B < 300 p`). Digits are always carry-normalised
/// (below `2^52`), lanes 20..24 zero. Only [`Fe52::from_fp`] and [`Fe52::from_limbs_r52`] make one, and both need an
/// [`Ifma`] proof, so holding a value proves that the CPU runs the kernel.
///
/// Constant time: every operation is straight-line vector code over public lane indices.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
pub(crate) struct Fe52(pub(super) [u64; 24]);

impl Fe52 {
    /// `x` (an F_p element in the crate's Montgomery form) in radix 2^52: one multiplication.
    #[inline]
    pub(crate) fn from_fp(_proof: Ifma, x: &crate::field::Fp) -> Self {
        // SAFETY: the proof shows that the CPU supports avx512f, avx512ifma and bmi2.
        unsafe { fe_from_limbs(&x.0, &FE52.to_r52) }
    }

    /// The element whose value `a * 2^1040 mod p` is given as canonical limbs (the storage
    /// form of precomputed tables: no multiplication, only a re-cut into digits).
    #[inline]
    pub(crate) fn from_limbs_r52(_proof: Ifma, x: &Limbs) -> Self {
        // SAFETY: as in `from_fp`.
        unsafe { fe_digits(x) }
    }

    /// Back to [`crate::field::Fp`] (fully reduced): one multiplication.
    #[inline]
    pub(crate) fn to_fp(self) -> crate::field::Fp {
        // SAFETY: a value exists only after an `Ifma` proof (see the type's docs).
        crate::field::Fp(unsafe { fe_to_limbs(&self) })
    }

    /// `self + rhs`, not reduced: the bound of the result is the sum of the operands' bounds.
    #[inline(always)]
    pub(crate) fn add(&self, rhs: &Self) -> Self {
        // SAFETY: a value exists only after an `Ifma` proof.
        unsafe { fe_add(self, rhs) }
    }

    /// `self - rhs` as `self + K p - rhs`, for `rhs` below `(K - 1) p` (`K` a power of two from
    /// 4 to 128): the result is below `self`'s bound plus `K p`.
    #[inline(always)]
    pub(crate) fn sub_k<const K: u64>(&self, rhs: &Self) -> Self {
        let kp = match K {
            4 => &KP[0],
            8 => &KP[1],
            16 => &KP[2],
            32 => &KP[3],
            64 => &KP[4],
            _ => &KP[5],
        };
        const { assert!(K.is_power_of_two() && K >= 4 && K <= 128) };
        // SAFETY: a value exists only after an `Ifma` proof.
        unsafe { fe_sub(self, rhs, kp) }
    }

    /// `self^2` (the same kernel; counted as a squaring by the `op-count` feature).
    #[inline(always)]
    pub(crate) fn square(&self) -> Self {
        #[cfg(feature = "op-count")]
        crate::field::kernel::op_count::bump_sqr();
        #[cfg(feature = "ct-taint")]
        crate::ct::paths::hit(crate::ct::paths::Path::Fe52Product);
        // SAFETY: a value exists only after an `Ifma` proof.
        unsafe { fe_mul(self, self, &crate::field::Fp::MOD.ifma) }
    }

    /// `self * rhs`.
    #[inline(always)]
    pub(crate) fn mul(&self, rhs: &Self) -> Self {
        #[cfg(feature = "op-count")]
        crate::field::kernel::op_count::bump_mul();
        #[cfg(feature = "ct-taint")]
        crate::ct::paths::hit(crate::ct::paths::Path::Fe52Product);
        // SAFETY: a value exists only after an `Ifma` proof.
        unsafe { fe_mul(self, rhs, &crate::field::Fp::MOD.ifma) }
    }
}

impl Fe52 {
    /// `b` where `choice` is set, else `a`, digit by digit without branching.
    #[inline(always)]
    pub(crate) fn select(a: &Self, b: &Self, choice: subtle::Choice) -> Self {
        #[cfg(feature = "ct-taint")]
        crate::ct::paths::hit(crate::ct::paths::Path::Fe52Select);
        let mut out = *a;
        for (o, (x, y)) in out.0.iter_mut().zip(a.0.iter().zip(&b.0)) {
            *o = u64::conditional_select(x, y, choice);
        }
        out
    }
}

impl zeroize::Zeroize for Fe52 {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

impl Ifma {
    /// Runs `f` in a function compiled for AVX-512 IFMA, so that the [`Fe52`] additions and
    /// subtractions it uses are inlined into it instead of called.
    #[inline]
    pub(crate) fn with_features<R>(self, f: impl FnOnce() -> R) -> R {
        #[cfg_attr(
            not(feature = "ct-taint"),
            target_feature(enable = "avx512f,avx512ifma,bmi2")
        )]
        fn run<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        // SAFETY: `self` exists only if the CPU supports avx512f, avx512ifma and bmi2.
        unsafe { run(f) }
    }
}

#[inline]
#[cfg_attr(not(feature = "ct-taint"), target_feature(enable = "avx512f"))]
fn fe_load(x: &Fe52) -> [__m512i; 3] {
    digits_const(&x.0)
}

#[inline]
#[cfg_attr(not(feature = "ct-taint"), target_feature(enable = "avx512f"))]
fn fe_store(v: [__m512i; 3]) -> Fe52 {
    let mut out = Fe52([0; 24]);
    for (k, x) in v.into_iter().enumerate() {
        out.0[8 * k..8 * k + 8].copy_from_slice(&store(x));
    }
    out
}

#[inline]
#[cfg_attr(not(feature = "ct-taint"), target_feature(enable = "avx512f"))]
fn digits_const(d: &[u64; 24]) -> [__m512i; 3] {
    let mut part = [0u64; 8];
    [0, 1, 2].map(|v| {
        part.copy_from_slice(&d[8 * v..8 * v + 8]);
        load(&part)
    })
}

/// The digits of canonical limbs (value below p, so below 2p as the invariant asks).
#[inline]
#[cfg_attr(not(feature = "ct-taint"), target_feature(enable = "avx512f"))]
fn fe_digits(x: &Limbs) -> Fe52 {
    fe_store(to_digits(x, &IN_B))
}

#[cfg_attr(
    not(feature = "ct-taint"),
    target_feature(enable = "avx512f,avx512ifma,bmi2")
)]
fn fe_from_limbs(x: &Limbs, k: &[u64; 24]) -> Fe52 {
    let [r] = amm_core::<1>(
        [to_digits(x, &IN_B)],
        [digits_const(k)],
        &crate::field::Fp::MOD.ifma,
    );
    fe_store(r)
}

#[cfg_attr(
    not(feature = "ct-taint"),
    target_feature(enable = "avx512f,avx512ifma,bmi2")
)]
fn fe_to_limbs(x: &Fe52) -> Limbs {
    let c = &crate::field::Fp::MOD.ifma;
    let [r] = amm_core::<1>([fe_load(x)], [digits_const(&FE52.from_r52)], c);
    from_digits(subtract_if_ge(r, &digits_const(&c.m52)))
}

/// The almost-Montgomery product, below 2p for inputs below 2p. Not inlined: the loop that
/// calls it stays small, and the call costs little next to the product.
#[inline(never)]
#[cfg_attr(
    not(feature = "ct-taint"),
    target_feature(enable = "avx512f,avx512ifma,bmi2")
)]
fn fe_mul(a: &Fe52, b: &Fe52, c: &Consts) -> Fe52 {
    let [r] = amm_core::<1>([fe_load(a)], [fe_load(b)], c);
    fe_store(r)
}

/// `a + b` (digits added, then carry-normalised; no reduction).
#[inline]
#[cfg_attr(not(feature = "ct-taint"), target_feature(enable = "avx512f"))]
fn fe_add(a: &Fe52, b: &Fe52) -> Fe52 {
    let (a, b) = (fe_load(a), fe_load(b));
    fe_store(normalize([0, 1, 2].map(|v| _mm512_add_epi64(a[v], b[v]))))
}

/// `a + k p - b` with `kp` the borrow-proof digits of `k p` ([`borrow_proof_multiple`]): no
/// digit goes negative when `b < (k - 1) p`; each is below `2^54`, and one carry
/// normalisation finishes.
#[inline]
#[cfg_attr(not(feature = "ct-taint"), target_feature(enable = "avx512f"))]
fn fe_sub(a: &Fe52, b: &Fe52, kp: &[u64; 24]) -> Fe52 {
    let (a, b, kp) = (fe_load(a), fe_load(b), digits_const(kp));
    fe_store(normalize(
        [0, 1, 2].map(|v| _mm512_sub_epi64(_mm512_add_epi64(a[v], kp[v]), b[v])),
    ))
}
