//! AVX-512 IFMA backend of the 1024-bit Montgomery multiplication (x86_64 only).
//!
//! Same contract as the portable [`super::kernel`] multiplication: sixteen 64-bit limbs in, the
//! fully reduced `a * b * 2^-1024 mod m` out, bit for bit. Selected at run time by
//! [`Ifma::detect`]; the portable kernel stays the reference and the fallback, and the two are
//! compared on the same property suite (`tests/kernel.rs`).
//!
//! # Algorithm
//!
//! Operands are re-cut into twenty 52-bit digits (`vpmadd52luq`/`vpmadd52huq` multiply 52-bit
//! digits and add the low or high 52 bits of the 104-bit product to a 64-bit lane, so lanes can
//! absorb many products before a carry is needed). Montgomery reduction digit by digit divides
//! by `2^(52*20) = 2^1040`, not by `R = 2^1024`; this is made exact by converting `a` shifted up
//! by 16 bits: `(a * 2^16) * b * 2^-1040 = a * b * 2^-1024`, and `a * 2^16 < 2^1040` still fits
//! in twenty digits. The usual bound carries over: if `a * b < 2^1024 * m`, the unreduced result
//! is below `2m`, and one conditional subtraction finishes it.
//!
//! The digits live in "columns" of eight 64-bit lanes (five `zmm` registers per accumulator,
//! digits 0..39). Nothing is shifted between steps: each step multiplies a broadcast digit by a
//! copy of `a` (or `m`) pre-shifted to the step's lane offset. The reduction digit
//! `y_i = t_i * (-m^-1) mod 2^52` depends on the complete digit `t_i`, which is the one serial
//! dependency of Montgomery multiplication. It is kept short by computing it on the scalar side:
//! the vector accumulators are read ("snapshot") three digits ahead, and the scalar side adds the
//! two most recent reduction digits' share of the digit itself (`mulx`/`imul` on `m_0..m_2`)
//! together with the carry. Each step is then about one `imul` plus one `mulx` long, and the
//! vector work (about 250 `vpmadd52` per multiplication) runs alongside.
//!
//! # Performance
//!
//! On the development machine (AMD EPYC, Zen 4: one 512-bit `vpmadd52` per cycle, about
//! 3.6 GHz) a multiplication of 64-bit limbs takes about 150-165 ns, and the digit core alone
//! ([`Fe52`], no conversions) about 107-120 ns, some 400 cycles for about 1 070 instructions, of
//! which 254 are `vpmadd52`. The low and high halves of `a' * b_i` and `m * y_i` share one set
//! of ten column accumulators (two dependent multiply-adds per column and step), which keeps
//! them in registers; twenty separate accumulators spilled and were 15-20% slower.
//! Interleaving two independent products, and taking the reduction digit from a snapshot two
//! instead of three digits ahead, measured no faster.
//!
//! # Constant time
//!
//! Straight-line code: every loop is unrolled by macros over public indices, every lane index
//! and table offset is a compile-time constant, no branch depends on data. The carry and borrow
//! chains of the final normalisation and subtraction are resolved with mask arithmetic on
//! `k`-registers; the final choice between `t` and `t - m` goes through a `subtle::Choice`
//! turned into a lane mask for `vpblendmq`. `tools/ct-asm-review.sh` lists the conditional
//! jumps of the compiled kernel (there are none).

#![allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
// With `ct-taint` the intrinsics are the safe functions of the stand-in (`crate::ct::avx512`)
// and nothing enables a target feature: the `unsafe` blocks around the calls are then unneeded.
#![cfg_attr(feature = "ct-taint", allow(unused_unsafe))]
#![allow(clippy::needless_range_loop)] // digit loops mirror the algorithm
#![allow(clippy::identity_op, clippy::erasing_op)] // constant index arithmetic reads better in full

use crate::ct::avx512::{
    __m512i, _mm_cvtsi128_si64, _mm_extract_epi64, _mm512_add_epi64, _mm512_alignr_epi64,
    _mm512_and_si512, _mm512_castsi512_si128, _mm512_cmpeq_epu64_mask, _mm512_cmpgt_epu64_mask,
    _mm512_cmplt_epu64_mask, _mm512_extracti32x4_epi32, _mm512_madd52hi_epu64,
    _mm512_madd52lo_epu64, _mm512_mask_blend_epi64, _mm512_mask_sub_epi64,
    _mm512_maskz_permutex2var_epi64, _mm512_maskz_set1_epi64, _mm512_or_si512, _mm512_set_epi64,
    _mm512_set1_epi64, _mm512_setzero_si512, _mm512_sllv_epi64, _mm512_srli_epi64,
    _mm512_srlv_epi64, _mm512_sub_epi64,
};
use core::sync::atomic::{AtomicU8, Ordering};

use crate::field::kernel::Limbs;

/// Number of 52-bit digits of an operand.
const D: usize = 20;
/// The low 52 bits.
const MASK52: u64 = (1 << 52) - 1;

/// Per-modulus constants of the IFMA kernel (computed at compile time from the modulus).
#[repr(C, align(64))]
pub(crate) struct Consts {
    /// `ms[s]`: the 52-bit digits of `m` placed at lanes `s..s+20` of 32 lanes.
    ms: [[u64; 32]; 8],
    /// The 52-bit digits of `m` (lanes 20..24 zero).
    m52: [u64; 24],
    /// Digits 0, 1, 2 of `m`, used on the scalar side.
    m0: u64,
    m1: u64,
    m2: u64,
    /// `(-m^-1 mod 2^52) * 2^12 mod 2^64`: `t * k0s = y * 2^12` for `y = t * (-m^-1) mod 2^52`.
    k0s: u64,
}

impl Consts {
    /// Constants for the odd modulus `m < 2^1024` with `minv = -m^-1 mod 2^64`.
    pub(crate) const fn new(m: &Limbs, minv: u64) -> Self {
        let m52 = to_digits_const(m);
        let mut ms = [[0u64; 32]; 8];
        let mut s = 0;
        while s < 8 {
            let mut j = 0;
            while j < D {
                ms[s][s + j] = m52[j];
                j += 1;
            }
            s += 1;
        }
        Consts {
            ms,
            m52,
            m0: m52[0],
            m1: m52[1],
            m2: m52[2],
            // -m^-1 mod 2^52 is the low 52 bits of minv; shifting up by 12 drops the rest.
            k0s: minv << 12,
        }
    }
}

/// The 52-bit digits of `x` (compile-time version, for constants).
const fn to_digits_const(x: &Limbs) -> [u64; 24] {
    let mut out = [0u64; 24];
    let mut j = 0;
    while j < D {
        let bit = 52 * j;
        let (k, s) = (bit / 64, bit % 64);
        let lo = x[k] as u128;
        let hi = if k + 1 < 16 { x[k + 1] as u128 } else { 0 };
        out[j] = (((lo | (hi << 64)) >> s) as u64) & MASK52;
        j += 1;
    }
    out
}

// ---- run-time selection ---------------------------------------------------------------------

/// Cached CPU check: 0 not yet checked, 1 unavailable, 2 available, 3 available but disabled
/// by [`Ifma::force_disabled`].
static STATE: AtomicU8 = AtomicU8::new(0);

/// Proof that the CPU executes AVX-512F, AVX-512 IFMA and BMI2: only [`Ifma::detect`] and
/// [`Ifma::detect_cpu`] make one, so holding a value makes the kernel entry points safe to call.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ifma(());

impl Ifma {
    /// The backend if this CPU supports it and it is not disabled (one relaxed load once the
    /// CPU has been checked).
    #[inline]
    pub(crate) fn detect() -> Option<Self> {
        match STATE.load(Ordering::Relaxed) {
            2 => Some(Ifma(())),
            0 => Self::check_cpu(),
            _ => None,
        }
    }

    #[cfg(any(test, feature = "test-helpers"))]
    /// The backend if this CPU supports it, even while disabled (for the differential tests).
    pub(crate) fn detect_cpu() -> Option<Self> {
        match STATE.load(Ordering::Relaxed) {
            2 | 3 => Some(Ifma(())),
            0 => {
                Self::check_cpu();
                Self::detect_cpu()
            }
            _ => None,
        }
    }

    #[cold]
    fn check_cpu() -> Option<Self> {
        let ok = crate::ct::avx512::ifma();
        // Keep a "disabled" set by another thread in the meantime.
        let _ = STATE.compare_exchange(
            0,
            if ok { 2 } else { 1 },
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        Self::detect()
    }

    #[cfg(any(test, feature = "test-helpers"))]
    /// Disables (`true`) or re-enables (`false`) the backend for the whole process, for
    /// benchmarks and tests of the portable path. Both paths compute identical results.
    pub(crate) fn force_disabled(disabled: bool) {
        if Self::detect_cpu().is_some() {
            STATE.store(if disabled { 3 } else { 2 }, Ordering::Relaxed);
        }
    }

    /// `a * b * 2^-1024 mod m`, fully reduced; requires `a * b < 2^1024 * m`.
    #[inline]
    pub(crate) fn mont_mul(self, a: &Limbs, b: &Limbs, c: &Consts) -> Limbs {
        #[cfg(feature = "ct-taint")]
        crate::ct::paths::hit(crate::ct::paths::Path::IfmaProduct);
        // SAFETY: `self` exists only if the CPU supports avx512f, avx512ifma and bmi2.
        let [r] = unsafe { mont_mul_n::<1>([a], [b], c) };
        r
    }
}

// ---- radix conversion -----------------------------------------------------------------------

/// Lane-wise tables that cut 16 limbs into 20 digits of `x * 2^sh`: digit `j` is
/// `(x[k] >> s | x[k + 1] << (64 - s)) & MASK52` with `k, s` from bit `52 j - sh`.
#[repr(C, align(64))]
struct InTab {
    lo: [[u64; 8]; 3],
    hi: [[u64; 8]; 3],
    sr: [[u64; 8]; 3],
    sl: [[u64; 8]; 3],
    /// Lanes whose `lo` / `hi` limb exists (others read as zero).
    klo: [u8; 3],
    khi: [u8; 3],
}

const fn in_tab(sh: usize) -> InTab {
    let mut t = InTab {
        lo: [[0; 8]; 3],
        hi: [[0; 8]; 3],
        sr: [[0; 8]; 3],
        sl: [[0; 8]; 3],
        klo: [0; 3],
        khi: [0; 3],
    };
    let mut j = 0;
    while j < D {
        let (v, l) = (j / 8, j % 8);
        // bit 52 j - sh of x, with a virtual zero limb at index -1
        let bit = 52 * j + 64 - sh;
        let (k1, s) = (bit / 64, (bit % 64) as u64); // k1 = k + 1
        if k1 >= 1 && k1 <= 16 {
            t.lo[v][l] = (k1 - 1) as u64;
            t.klo[v] |= 1 << l;
        }
        if k1 < 16 {
            t.hi[v][l] = k1 as u64;
            t.khi[v] |= 1 << l;
        }
        t.sr[v][l] = s;
        t.sl[v][l] = 64 - s; // 64: vpsllvq gives zero
        j += 1;
    }
    t
}

/// Digits of `b`.
static IN_B: InTab = in_tab(0);
/// Digits of `a * 2^16` (the shift that turns 2^-1040 into 2^-1024).
static IN_A: InTab = in_tab(16);

/// Tables that pack 20 normalised digits into 16 limbs: limb `k` ORs up to three digits,
/// each shifted left (`cnt` = offset of the digit in the limb) or right.
#[repr(C, align(64))]
struct OutTab {
    idx: [[[u64; 8]; 3]; 2],
    cnt: [[[u64; 8]; 3]; 2],
    left: [[u8; 3]; 2],
    valid: [[u8; 3]; 2],
}

const fn out_tab() -> OutTab {
    let mut t = OutTab {
        idx: [[[0; 8]; 3]; 2],
        cnt: [[[0; 8]; 3]; 2],
        left: [[0; 3]; 2],
        valid: [[0; 3]; 2],
    };
    let mut k = 0;
    while k < 16 {
        let (w, l) = (k / 8, k % 8);
        let j0 = 64 * k / 52; // first digit overlapping limb k
        let mut p = 0;
        while p < 3 {
            let j = j0 + p;
            // digit j starts at bit 52 j; limb k at bit 64 k (source vectors w and w + 1)
            if j < D && 52 * j < 64 * k + 64 {
                t.idx[w][p][l] = (j - 8 * w) as u64;
                t.valid[w][p] |= 1 << l;
                if 52 * j >= 64 * k {
                    t.cnt[w][p][l] = (52 * j - 64 * k) as u64;
                    t.left[w][p] |= 1 << l;
                } else {
                    t.cnt[w][p][l] = (64 * k - 52 * j) as u64;
                }
            }
            p += 1;
        }
        k += 1;
    }
    t
}

static OUT: OutTab = out_tab();

/// Loads eight lanes.
#[inline]
#[cfg_attr(not(feature = "ct-taint"), target_feature(enable = "avx512f"))]
fn load(x: &[u64; 8]) -> __m512i {
    _mm512_set_epi64(
        x[7] as i64,
        x[6] as i64,
        x[5] as i64,
        x[4] as i64,
        x[3] as i64,
        x[2] as i64,
        x[1] as i64,
        x[0] as i64,
    )
}

/// Eight lanes of a 32-lane table.
#[inline]
#[cfg_attr(not(feature = "ct-taint"), target_feature(enable = "avx512f"))]
fn load_part(x: &[u64; 32], v: usize) -> __m512i {
    let mut part = [0u64; 8];
    part.copy_from_slice(&x[8 * v..8 * v + 8]);
    load(&part)
}

/// Stores eight lanes.
#[inline]
#[cfg_attr(not(feature = "ct-taint"), target_feature(enable = "avx512f"))]
fn store(v: __m512i) -> [u64; 8] {
    // SAFETY: both types are 64 bytes of plain integers; every bit pattern is valid for both.
    unsafe { core::mem::transmute::<__m512i, [u64; 8]>(v) }
}

/// The 20 digits of `x * 2^sh` (tables `t`) in three vectors, lanes 20..24 zero.
#[inline]
#[cfg_attr(not(feature = "ct-taint"), target_feature(enable = "avx512f"))]
fn to_digits(x: &Limbs, t: &InTab) -> [__m512i; 3] {
    let mut half = [0u64; 8];
    half.copy_from_slice(&x[..8]);
    let x0 = load(&half);
    half.copy_from_slice(&x[8..]);
    let x1 = load(&half);
    let mask = _mm512_set1_epi64(MASK52 as i64);
    let mut out = [_mm512_setzero_si512(); 3];
    for v in 0..3 {
        let lo = _mm512_maskz_permutex2var_epi64(t.klo[v], x0, load(&t.lo[v]), x1);
        let hi = _mm512_maskz_permutex2var_epi64(t.khi[v], x0, load(&t.hi[v]), x1);
        let d = _mm512_or_si512(
            _mm512_srlv_epi64(lo, load(&t.sr[v])),
            _mm512_sllv_epi64(hi, load(&t.sl[v])),
        );
        out[v] = _mm512_and_si512(d, mask);
    }
    out
}

/// Gathers the generate/propagate lane masks of three vectors into one 20-bit word.
#[inline]
fn lanes20(k: [u8; 3]) -> u32 {
    (u32::from(k[0]) | (u32::from(k[1]) << 8) | (u32::from(k[2]) << 16)) & 0xF_FFFF
}

/// Carries (or borrows) into each lane from generate and propagate lane masks: a carry enters
/// lane `j + 1` when lane `j` generates one or propagates an incoming one. One binary addition
/// resolves the whole chain. Bit 20 of the result is the carry out of the top digit.
#[inline]
fn ripple(generate: u32, propagate: u32) -> u32 {
    ((generate << 1).wrapping_add(propagate)) ^ propagate
}

/// Carry-normalises 20 digits (each below 2^62, lanes 20..24 zero) whose value is below
/// 2^1040 into exact 52-bit digits.
#[inline]
#[cfg_attr(not(feature = "ct-taint"), target_feature(enable = "avx512f"))]
fn normalize(r: [__m512i; 3]) -> [__m512i; 3] {
    let mask = _mm512_set1_epi64(MASK52 as i64);
    let zero = _mm512_setzero_si512();
    // Move every digit's bits above 52 one lane up: afterwards each digit is at most
    // MASK52 + 2^10, so at most a single carry ripples.
    let c = [
        _mm512_srli_epi64::<52>(r[0]),
        _mm512_srli_epi64::<52>(r[1]),
        _mm512_srli_epi64::<52>(r[2]),
    ];
    let up = [
        _mm512_alignr_epi64::<7>(c[0], zero),
        _mm512_alignr_epi64::<7>(c[1], c[0]),
        _mm512_alignr_epi64::<7>(c[2], c[1]),
    ];
    let d = [
        _mm512_add_epi64(_mm512_and_si512(r[0], mask), up[0]),
        _mm512_add_epi64(_mm512_and_si512(r[1], mask), up[1]),
        _mm512_add_epi64(_mm512_and_si512(r[2], mask), up[2]),
    ];
    let generate = lanes20([
        _mm512_cmpgt_epu64_mask(d[0], mask),
        _mm512_cmpgt_epu64_mask(d[1], mask),
        _mm512_cmpgt_epu64_mask(d[2], mask),
    ]);
    let propagate = lanes20([
        _mm512_cmpeq_epu64_mask(d[0], mask),
        _mm512_cmpeq_epu64_mask(d[1], mask),
        _mm512_cmpeq_epu64_mask(d[2], mask),
    ]);
    let carry = ripple(generate, propagate);
    let mut out = d;
    for v in 0..3 {
        // + 1 on carried lanes, then keep 52 bits: d - MASK52 = d + 1 - 2^52.
        let k = (carry >> (8 * v)) as u8;
        out[v] = _mm512_and_si512(_mm512_mask_sub_epi64(d[v], k, d[v], mask), mask);
    }
    out
}

/// For normalised digits `d < 2m`, returns `d - m` if `d >= m`, else `d`, without branching.
#[inline]
#[cfg_attr(not(feature = "ct-taint"), target_feature(enable = "avx512f"))]
fn subtract_if_ge(d: [__m512i; 3], m: &[__m512i; 3]) -> [__m512i; 3] {
    let mask = _mm512_set1_epi64(MASK52 as i64);
    let one = _mm512_set1_epi64(1);
    let generate = lanes20([
        _mm512_cmplt_epu64_mask(d[0], m[0]),
        _mm512_cmplt_epu64_mask(d[1], m[1]),
        _mm512_cmplt_epu64_mask(d[2], m[2]),
    ]);
    let propagate = lanes20([
        _mm512_cmpeq_epu64_mask(d[0], m[0]),
        _mm512_cmpeq_epu64_mask(d[1], m[1]),
        _mm512_cmpeq_epu64_mask(d[2], m[2]),
    ]);
    let borrow = ripple(generate, propagate);
    // A borrow out of the top digit means d < m: keep d.
    let keep = subtle::Choice::from(((borrow >> 20) & 1) as u8);
    let keep = u8::conditional_select(&0, &0xff, keep);
    let mut out = d;
    for v in 0..3 {
        let k = (borrow >> (8 * v)) as u8;
        let t = _mm512_sub_epi64(d[v], m[v]);
        let t = _mm512_and_si512(_mm512_mask_sub_epi64(t, k, t, one), mask);
        out[v] = _mm512_mask_blend_epi64(keep, t, d[v]);
    }
    out
}

use subtle::ConditionallySelectable;

/// Packs 20 normalised digits (value below 2^1024) into 16 limbs.
#[inline]
#[cfg_attr(not(feature = "ct-taint"), target_feature(enable = "avx512f"))]
fn from_digits(d: [__m512i; 3]) -> Limbs {
    let mut out = [0u64; 16];
    for w in 0..2 {
        let mut acc = _mm512_setzero_si512();
        for p in 0..3 {
            let g = _mm512_maskz_permutex2var_epi64(
                OUT.valid[w][p],
                d[w],
                load(&OUT.idx[w][p]),
                d[w + 1],
            );
            let cnt = load(&OUT.cnt[w][p]);
            let part = _mm512_mask_blend_epi64(
                OUT.left[w][p],
                _mm512_srlv_epi64(g, cnt),
                _mm512_sllv_epi64(g, cnt),
            );
            acc = _mm512_or_si512(acc, part);
        }
        out[8 * w..8 * w + 8].copy_from_slice(&store(acc));
    }
    out
}

/// Lane `L` of `v`.
#[inline]
#[cfg_attr(not(feature = "ct-taint"), target_feature(enable = "avx512f"))]
fn lane<const L: usize>(v: __m512i) -> u64 {
    let x = match L / 2 {
        0 => _mm512_castsi512_si128(v),
        1 => _mm512_extracti32x4_epi32::<1>(v),
        2 => _mm512_extracti32x4_epi32::<2>(v),
        _ => _mm512_extracti32x4_epi32::<3>(v),
    };
    if L.is_multiple_of(2) {
        _mm_cvtsi128_si64(x) as u64
    } else {
        _mm_extract_epi64::<1>(x) as u64
    }
}

/// The carry out of digit `t + lo(m_0 y)` for the reduction digit `y` of `t`: that sum is `0` or
/// `2^52` modulo `2^53`, so the carry is `t >> 52` plus one unless the low 52 bits of `t` are 0.
#[inline]
fn carry_out(t: u64) -> u64 {
    (t >> 52) + (((t & MASK52) + MASK52) >> 52)
}

/// High 64 bits of `x * y`.
#[inline]
fn mulhi(x: u64, y: u64) -> u64 {
    ((u128::from(x) * u128::from(y)) >> 64) as u64
}

// ---- the kernel -----------------------------------------------------------------------------

/// `N` independent Montgomery multiplications `a[n] * b[n] * 2^-1024 mod m`, interleaved.
///
/// Only `N = 1` is used: two or three interleaved products (for the independent products of an
/// F_p^2 multiplication) were measured slower than as many single calls on the development
/// machine (x2 264 ns, x3 536 ns, x1 118 ns: the port-0/5 vector work is already the bottleneck
/// of one product, and three of them spill registers).
///
/// Notation: `a' = a * 2^16`, digits `a'_j`, `b_i`, `m_j`; `T = a' * b + Y * m` with the
/// reduction digits `Y = sum y_i 2^(52 i)` chosen so that digits 0..19 of `T` vanish; the
/// result is digits 20..39 of `T` (carry-normalised), less `m` if needed.
#[cfg_attr(
    not(feature = "ct-taint"),
    target_feature(enable = "avx512f,avx512ifma,bmi2")
)]
fn mont_mul_n<const N: usize>(a: [&Limbs; N], b: [&Limbs; N], c: &Consts) -> [Limbs; N] {
    let zero = _mm512_setzero_si512();
    let mut ad = [[zero; 3]; N];
    let mut bd = [[zero; 3]; N];
    for n in 0..N {
        ad[n] = to_digits(a[n], &IN_A);
        bd[n] = to_digits(b[n], &IN_B);
    }
    let r = amm_core::<N>(ad, bd, c);
    let mut m52 = [0u64; 8];
    let mv = [0, 1, 2].map(|v| {
        m52.copy_from_slice(&c.m52[8 * v..8 * v + 8]);
        load(&m52)
    });
    let mut out = [[0u64; 16]; N];
    for n in 0..N {
        out[n] = from_digits(subtract_if_ge(r[n], &mv));
    }
    out
}

/// The digit-level core of [`mont_mul_n`]: for operands given as normalised 52-bit digits
/// (three vectors each, lanes 20..24 zero) with `a * b < 2^1040 * m`, the carry-normalised
/// digits of `(a * b + Y * m) / 2^1040`, which is `a * b * 2^-1040 mod m` plus at most `m`
/// (below `2m`; "almost Montgomery multiplication").
#[inline]
#[cfg_attr(
    not(feature = "ct-taint"),
    target_feature(enable = "avx512f,avx512ifma,bmi2")
)]
fn amm_core<const N: usize>(
    a: [[__m512i; 3]; N],
    b: [[__m512i; 3]; N],
    c: &Consts,
) -> [[__m512i; 3]; N] {
    let zero = _mm512_setzero_si512();
    // asx[n][s][v]: lanes 8v..8v+8 of a placed at lanes s..s+20 (32 lanes); bd: digits of b.
    let mut asx = [[[zero; 4]; 8]; N];
    let mut bd = [[0u64; 24]; N];
    for n in 0..N {
        let av = a[n];
        let bv = b[n];
        for v in 0..3 {
            bd[n][8 * v..8 * v + 8].copy_from_slice(&store(bv[v]));
        }
        let av = [av[0], av[1], av[2], zero];
        asx[n][0] = av;
        macro_rules! shifted {
            ($s:literal) => {
                asx[n][$s] = [
                    _mm512_alignr_epi64::<{ 8 - $s }>(av[0], zero),
                    _mm512_alignr_epi64::<{ 8 - $s }>(av[1], av[0]),
                    _mm512_alignr_epi64::<{ 8 - $s }>(av[2], av[1]),
                    _mm512_alignr_epi64::<{ 8 - $s }>(zero, av[2]),
                ];
            };
        }
        shifted!(1);
        shifted!(2);
        shifted!(3);
        shifted!(4);
        shifted!(5);
        shifted!(6);
        shifted!(7);
    }
    // Column accumulators (digits 8c..8c+8): the low and the high halves of the products
    // a' * b_i and m * y_i, kept apart so that each register's chain of dependent
    // multiply-adds stays short (two per step).
    let mut abl = [[zero; 5]; N];
    let mut abh = [[zero; 5]; N];
    // snap[d]: digit d of the accumulators once they hold all of a' * b and y_0..y_{d-3} * m.
    let mut snap = [[0u64; D + 3]; N];
    // Scalar side: carry out of the digit just reduced, and the shares of the two latest
    // reduction digits in the next digits (p1: digit i, p2: digit i + 1).
    let mut carry = [0u64; N];
    let mut p1 = [0u64; N];
    let mut p2 = [0u64; N];

    // Step i of a' * b: lo(a' * b_i) lands on digits i.., hi(a' * b_i) on digits i+1..
    macro_rules! ab {
        ($i:literal) => {{
            const I: usize = $i;
            const S: usize = I % 8;
            const C: usize = I / 8;
            const S1: usize = (I + 1) % 8;
            const C1: usize = (I + 1) / 8;
            for n in 0..N {
                let bv = _mm512_set1_epi64(bd[n][I] as i64);
                for v in 0..4 {
                    if C + v < 5 && 8 * v + 7 >= S && 8 * v < S + D {
                        abl[n][C + v] = _mm512_madd52lo_epu64(abl[n][C + v], asx[n][S][v], bv);
                    }
                    if C1 + v < 5 && 8 * v + 7 >= S1 && 8 * v < S1 + D {
                        abh[n][C1 + v] = _mm512_madd52hi_epu64(abh[n][C1 + v], asx[n][S1][v], bv);
                    }
                }
                // Digit I is final in a' * b after step I.
                if I < 3 {
                    snap[n][I] = lane::<S>(_mm512_add_epi64(abl[n][C], abh[n][C]));
                }
            }
        }};
    }
    // Step i of the reduction: complete digit i, derive y_i, add y_i * m to the accumulators.
    macro_rules! red {
        ($i:literal) => {{
            const I: usize = $i;
            const S: usize = I % 8;
            const C: usize = I / 8;
            const S1: usize = (I + 1) % 8;
            const C1: usize = (I + 1) / 8;
            const S3: usize = (I + 3) % 8;
            const C3: usize = (I + 3) / 8;
            for n in 0..N {
                // Digit i: the snapshot (with y_0..y_{i-3}) + carry + shares of y_{i-2}, y_{i-1}.
                let t = snap[n][I].wrapping_add(carry[n]).wrapping_add(p1[n]);
                let y12 = t.wrapping_mul(c.k0s); // y_i * 2^12
                let yv = _mm512_set1_epi64((y12 >> 12) as i64);
                for v in 0..4 {
                    if C + v < 5 && 8 * v + 7 >= S && 8 * v < S + D {
                        abl[n][C + v] =
                            _mm512_madd52lo_epu64(abl[n][C + v], load_part(&c.ms[S], v), yv);
                    }
                    if C1 + v < 5 && 8 * v + 7 >= S1 && 8 * v < S1 + D {
                        abh[n][C1 + v] =
                            _mm512_madd52hi_epu64(abh[n][C1 + v], load_part(&c.ms[S1], v), yv);
                    }
                }
                if I + 3 < D {
                    let sum = _mm512_add_epi64(abl[n][C3], abh[n][C3]);
                    snap[n][I + 3] = lane::<S3>(sum);
                }
                // t + lo(m_0 y) is 0 or 2^52 mod 2^53: the carry is t >> 52, plus one unless
                // the low digit of t is zero; hi(m_0 y) and lo(m_1 y) complete digit i + 1.
                let h0 = mulhi(c.m0, y12);
                let l1 = c.m1.wrapping_mul(y12) >> 12;
                let h1 = mulhi(c.m1, y12);
                let l2 = c.m2.wrapping_mul(y12) >> 12;
                carry[n] = carry_out(t);
                p1[n] = p2[n].wrapping_add(h0).wrapping_add(l1);
                p2[n] = h1.wrapping_add(l2);
            }
        }};
    }
    // a' * b runs three steps ahead of the reduction, which needs digit i from step i on.
    ab!(0);
    ab!(1);
    ab!(2);
    ab!(3);
    red!(0);
    ab!(4);
    red!(1);
    ab!(5);
    red!(2);
    ab!(6);
    red!(3);
    ab!(7);
    red!(4);
    ab!(8);
    red!(5);
    ab!(9);
    red!(6);
    ab!(10);
    red!(7);
    ab!(11);
    red!(8);
    ab!(12);
    red!(9);
    ab!(13);
    red!(10);
    ab!(14);
    red!(11);
    ab!(15);
    red!(12);
    ab!(16);
    red!(13);
    ab!(17);
    red!(14);
    ab!(18);
    red!(15);
    ab!(19);
    red!(16);
    red!(17);
    red!(18);
    red!(19);

    let mut out = [[zero; 3]; N];
    for n in 0..N {
        // Digits 20..40 (lanes 4.. of column 2), plus the carry out of digit 19.
        let col = [2, 3, 4].map(|k| _mm512_add_epi64(abl[n][k], abh[n][k]));
        let r = [
            _mm512_alignr_epi64::<4>(col[1], col[0]),
            _mm512_alignr_epi64::<4>(col[2], col[1]),
            _mm512_alignr_epi64::<4>(zero, col[2]),
        ];
        let r = [
            _mm512_add_epi64(r[0], _mm512_maskz_set1_epi64(1, carry[n] as i64)),
            r[1],
            r[2],
        ];
        out[n] = normalize(r);
    }
    out
}

// ---- F_p values kept in radix 2^52 between operations: `fe52.rs` ---------------------------

mod fe52;
pub(crate) use fe52::Fe52;

#[cfg(test)]
mod tests {
    use super::*;

    use crate::field::test_rng::Rng;

    impl Rng {
        fn fp(&mut self) -> crate::field::Fp {
            loop {
                let mut l = self.limbs();
                // Sparse and dense limbs alike: sometimes all-ones or zero runs.
                match self.next() % 4 {
                    0 => l[(self.next() % 16) as usize] = u64::MAX,
                    1 => l[(self.next() % 16) as usize] = 0,
                    _ => {}
                }
                if let Some(x) = crate::field::Fp::from_canonical_limbs(&l).into() {
                    return x;
                }
            }
        }
    }

    /// Edge values of F_p: 0, 1, 2, p - 1, p - 2, and values just below powers of two.
    fn edge_values() -> Vec<crate::field::Fp> {
        use crate::field::Fp;
        let mut out = vec![
            Fp::ZERO,
            Fp::ONE,
            Fp::from_u64(2),
            Fp::ONE.neg(),
            Fp::from_u64(2).neg(),
        ];
        for k in [1usize, 52, 511, 1000, 1023] {
            let mut l = [0u64; 16];
            l[k / 64] = 1 << (k % 64);
            let x = Fp::from_limbs_reduced(&l);
            out.push(x);
            out.push(x.sub(&Fp::ONE));
        }
        out
    }

    /// Both representations of `x` allowed by the invariant: `X` and `X + p` (below 2p), with
    /// `X = x * 2^1040 mod p`.
    fn representations(ifma: Ifma, x: &crate::field::Fp) -> [Fe52; 2] {
        let limbs = x.mul(&crate::field::Fp::from_u64(1 << 16)).0;
        let a = Fe52::from_limbs_r52(ifma, &limbs);
        let p = to_digits_const(&crate::field::Fp::MODULUS);
        let mut b = a;
        let mut carry = 0;
        for j in 0..D {
            let v = a.0[j] + p[j] + carry;
            b.0[j] = v & MASK52;
            carry = v >> 52;
        }
        assert_eq!(carry, 0);
        [a, b]
    }

    /// The integer value of the digits (for the bound checks).
    fn value(x: &Fe52) -> num_bigint::BigUint {
        x.0.iter()
            .rev()
            .fold(num_bigint::BigUint::default(), |acc, &d| (acc << 52u32) + d)
    }

    fn modulus() -> num_bigint::BigUint {
        crate::field::Fp::MODULUS
            .iter()
            .rev()
            .fold(num_bigint::BigUint::default(), |acc, &d| (acc << 64u32) + d)
    }

    /// Digits below 2^52, lanes 20..24 zero, value below `bound * p`.
    fn check_form(x: &Fe52, bound: u64, what: &str) {
        assert!(
            x.0[..D].iter().all(|&d| d <= MASK52),
            "{what}: digit not normalised"
        );
        assert!(
            x.0[D..].iter().all(|&d| d == 0),
            "{what}: lanes 20..24 not zero"
        );
        assert!(
            value(x) < modulus() * bound,
            "{what}: value not below {bound} p"
        );
    }

    #[test]
    fn fe52_operations_match_fp() {
        let Some(ifma) = Ifma::detect_cpu() else {
            eprintln!("no AVX-512 IFMA on this CPU: skipped");
            return;
        };
        let mut rng = Rng(0x5DEE_CE66_D1CE_4E5B);
        let mut values = edge_values();
        for _ in 0..200 {
            values.push(rng.fp());
        }
        let mut pairs = Vec::new();
        for x in &values[..15] {
            for y in &values[..15] {
                pairs.push((*x, *y));
            }
        }
        for w in values.windows(2) {
            pairs.push((w[0], w[1]));
        }
        for (x, y) in pairs {
            let fx = Fe52::from_fp(ifma, &x);
            check_form(&fx, 2, "from_fp");
            assert_eq!(fx.to_fp(), x);
            for xr in representations(ifma, &x) {
                assert_eq!(xr.to_fp(), x);
                let sq = xr.square();
                check_form(&sq, 2, "square");
                assert_eq!(sq.to_fp(), x.square());
                for yr in representations(ifma, &y) {
                    let (s, d, m) = (xr.add(&yr), xr.sub_k::<4>(&yr), xr.mul(&yr));
                    check_form(&s, 4, "add");
                    check_form(&d, 6, "sub");
                    check_form(&m, 2, "mul");
                    assert_eq!(s.to_fp(), x.add(&y), "{x:?} + {y:?}");
                    assert_eq!(d.to_fp(), x.sub(&y), "{x:?} - {y:?}");
                    assert_eq!(m.to_fp(), x.mul(&y), "{x:?} * {y:?}");
                }
            }
        }
    }

    /// `a.sub_k::<K>(b)` at the edge of its contract: `b` just below `(K - 1) p` and `a = 0`.
    #[test]
    fn fe52_sub_k_at_its_bound() {
        let Some(ifma) = Ifma::detect_cpu() else {
            eprintln!("no AVX-512 IFMA on this CPU: skipped");
            return;
        };
        let zero = Fe52::from_fp(ifma, &crate::field::Fp::ZERO);
        let one = Fe52::from_fp(ifma, &crate::field::Fp::ONE);
        // b = (K - 1) p - 1 as digits (the largest allowed subtrahend), for every K.
        fn big(ifma: Ifma, v: &num_bigint::BigUint) -> Fe52 {
            let mut d = [0u64; 24];
            let mut x = v.clone();
            for dj in d.iter_mut().take(D) {
                *dj = (&x & num_bigint::BigUint::from(MASK52)).try_into().unwrap();
                x >>= 52u32;
            }
            let _ = ifma;
            Fe52(d)
        }
        macro_rules! at {
            ($k:literal) => {{
                let b = big(ifma, &(modulus() * ($k - 1u64) - 1u64));
                let r = zero.sub_k::<$k>(&b);
                check_form(&r, $k as u64, "sub_k");
                assert_eq!(value(&r), modulus() * ($k as u64) - value(&b));
                // and the result multiplies correctly
                let expect = crate::field::Fp::ONE.neg();
                let minus_one = zero.sub_k::<$k>(&one);
                assert_eq!(minus_one.to_fp(), expect);
                assert_eq!(r.mul(&one).to_fp(), r.to_fp());
            }};
        }
        at!(4);
        at!(8);
        at!(16);
        at!(32);
        at!(64);
        at!(128);
    }

    /// Long random chains of lazy operations, each result feeding later ones, against F_p, with
    /// every value's bound (as a multiple of p) tracked as the Miller loop tracks it and
    /// checked exactly.
    #[test]
    fn fe52_chains_match_fp() {
        let Some(ifma) = Ifma::detect_cpu() else {
            eprintln!("no AVX-512 IFMA on this CPU: skipped");
            return;
        };
        let mut rng = Rng(0x0123_4567_89AB_CDEF);
        let mut fp: Vec<crate::field::Fp> = (0..6).map(|_| rng.fp()).collect();
        fp.extend(edge_values().into_iter().take(4));
        let mut fe: Vec<Fe52> = fp.iter().map(|x| Fe52::from_fp(ifma, x)).collect();
        let mut bound: Vec<u64> = vec![2; fp.len()];
        let n = fp.len() as u64;
        for step in 0..20_000 {
            let (i, j, k) = (
                (rng.next() % n) as usize,
                (rng.next() % n) as usize,
                (rng.next() % n) as usize,
            );
            match rng.next() % 4 {
                0 if bound[i] + bound[j] <= 250 => {
                    fp[k] = fp[i].add(&fp[j]);
                    fe[k] = fe[i].add(&fe[j]);
                    bound[k] = bound[i] + bound[j];
                }
                1 if bound[j] <= 126 => {
                    let kk = (bound[j] + 2).next_power_of_two().max(4);
                    if bound[i] + kk > 250 {
                        continue;
                    }
                    fp[k] = fp[i].sub(&fp[j]);
                    fe[k] = match kk {
                        4 => fe[i].sub_k::<4>(&fe[j]),
                        8 => fe[i].sub_k::<8>(&fe[j]),
                        16 => fe[i].sub_k::<16>(&fe[j]),
                        32 => fe[i].sub_k::<32>(&fe[j]),
                        64 => fe[i].sub_k::<64>(&fe[j]),
                        _ => fe[i].sub_k::<128>(&fe[j]),
                    };
                    bound[k] = bound[i] + kk;
                }
                2 => {
                    fp[k] = fp[i].mul(&fp[j]);
                    fe[k] = fe[i].mul(&fe[j]);
                    bound[k] = 2;
                }
                _ => {
                    fp[k] = fp[i].square();
                    fe[k] = fe[i].square();
                    bound[k] = 2;
                }
            }
            check_form(&fe[k], bound[k], "chain");
            if step % 97 == 0 {
                assert_eq!(fe[k].to_fp(), fp[k], "step {step}");
            }
        }
        for (a, b) in fe.iter().zip(&fp) {
            assert_eq!(a.to_fp(), *b);
        }
    }

    /// The scalar step against plain 128-bit arithmetic, including the low digits 0 and 1
    /// that random operands essentially never produce.
    #[test]
    fn scalar_step_identity() {
        let p = crate::field::Fp::MOD;
        let c = Consts::new(&p.m, p.minv);
        let k0 = p.minv & MASK52;
        for hi in [0u64, 1, 0x3ff, 0xfff] {
            for lo in [0u64, 1, 2, 3, MASK52 - 1, MASK52, 0x1234_5678_9abc] {
                let t = (hi << 52) | lo;
                let y12 = t.wrapping_mul(c.k0s);
                let y = t.wrapping_mul(k0) & MASK52;
                assert_eq!(y12 >> 12, y);
                let full = u128::from(t) + u128::from(c.m0) * u128::from(y);
                assert_eq!(full & u128::from(MASK52), 0, "y reduces the digit");
                let carry = full >> 52;
                assert_eq!(
                    u128::from(carry_out(t)) + u128::from(mulhi(c.m0, y12)),
                    carry
                );
                assert_eq!(c.m1.wrapping_mul(y12) >> 12, c.m1.wrapping_mul(y) & MASK52);
                assert_eq!(
                    mulhi(c.m1, y12),
                    ((u128::from(c.m1) * u128::from(y)) >> 52) as u64
                );
            }
        }
    }
}
