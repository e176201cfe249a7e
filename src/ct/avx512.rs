//! The AVX-512 intrinsics of the crate's vector code (the IFMA kernel and its radix-2^52
//! values in `field::ifma`, the AVX-512F build of the table lookups in `ct::lookup`), and the
//! CPU check that selects that code.
//!
//! In a normal build these are `core::arch`'s intrinsics and the CPU's feature flags. With the
//! `ct-taint` feature they are a software stand-in: a vector type of eight 64-bit lanes and
//! every intrinsic as a plain function with the instruction's data flow (lane-wise arithmetic,
//! mask bits turned into all-ones or all-zero lane masks, lane permutations by a masked scan
//! over every source lane), without branches or memory indices on lane values or mask bits,
//! as the hardware has none. The same Rust code of the vector paths then compiles without
//! AVX-512 and runs under valgrind (which has no AVX-512), so the taint test follows secrets
//! through every function that runs on an IFMA CPU. The stand-in is reported as available
//! on every x86_64 CPU; [`set_stand_in`] switches it off to test the portable paths.
//!
//! The stand-in is slow and exists for that test only: never ship a `ct-taint` build.

#[cfg(not(feature = "ct-taint"))]
pub(crate) use core::arch::x86_64::{
    __m512i, _mm_cvtsi128_si64, _mm_extract_epi64, _mm512_add_epi64, _mm512_alignr_epi64,
    _mm512_and_si512, _mm512_castsi512_si128, _mm512_cmpeq_epi64_mask, _mm512_cmpeq_epu64_mask,
    _mm512_cmpgt_epu64_mask, _mm512_cmplt_epu64_mask, _mm512_extracti32x4_epi32,
    _mm512_loadu_si512, _mm512_madd52hi_epu64, _mm512_madd52lo_epu64, _mm512_mask_blend_epi64,
    _mm512_mask_or_epi64, _mm512_mask_sub_epi64, _mm512_maskz_permutex2var_epi64,
    _mm512_maskz_set1_epi64, _mm512_or_si512, _mm512_set_epi64, _mm512_set1_epi64,
    _mm512_setzero_si512, _mm512_sllv_epi64, _mm512_srli_epi64, _mm512_srlv_epi64,
    _mm512_storeu_si512, _mm512_sub_epi64,
};

#[cfg(feature = "ct-taint")]
pub(crate) use soft::*;

/// Whether the CPU runs the AVX-512F code (the lookups' vector build). Always with the
/// stand-in, unless switched off by [`set_stand_in`].
#[inline]
pub(crate) fn avx512f() -> bool {
    #[cfg(not(feature = "ct-taint"))]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(feature = "ct-taint")]
    {
        ENABLED.load(core::sync::atomic::Ordering::Relaxed)
    }
}

/// Whether the CPU runs the IFMA kernel (AVX-512F, AVX-512 IFMA and BMI2). Always with the
/// stand-in, unless switched off by [`set_stand_in`] before the first field operation.
#[inline]
pub(crate) fn ifma() -> bool {
    #[cfg(not(feature = "ct-taint"))]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512ifma")
            && std::arch::is_x86_feature_detected!("bmi2")
    }
    #[cfg(feature = "ct-taint")]
    {
        ENABLED.load(core::sync::atomic::Ordering::Relaxed)
    }
}

/// Switches the software stand-in of the AVX-512 code on (`true`, the default) or off, for
/// the whole process: off, the lookups take their baseline build (the IFMA kernel is switched
/// by the field's own `force_portable`, as on real hardware). For the taint test only.
#[cfg(feature = "ct-taint")]
pub fn set_stand_in(enabled: bool) {
    ENABLED.store(enabled, core::sync::atomic::Ordering::Relaxed);
}

#[cfg(feature = "ct-taint")]
#[allow(
    non_camel_case_types,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
#[allow(clippy::cast_possible_wrap, clippy::missing_safety_doc)]
mod soft {
    //! The stand-in: same names and signatures as `core::arch::x86_64`'s intrinsics.

    use core::sync::atomic::AtomicBool;

    /// Whether the stand-in is reported as available.
    pub(super) static ENABLED: AtomicBool = AtomicBool::new(true);

    /// Eight 64-bit lanes (`zmm`), lane 0 first.
    #[derive(Clone, Copy, Debug)]
    #[repr(C, align(64))]
    pub(crate) struct __m512i(pub(crate) [u64; 8]);

    /// Two 64-bit lanes (`xmm`).
    #[derive(Clone, Copy, Debug)]
    #[repr(C, align(16))]
    pub(crate) struct __m128i([u64; 2]);

    /// All ones where bit `i` of `k` is set, lane by lane: the mask arithmetic of a
    /// `k`-register. The mask passes an optimisation barrier: without it LLVM turns the masked
    /// selects below into a compare and a conditional move or jump on the bit (seen in the
    /// taint test), which the hardware's masked instructions do not have.
    #[inline(always)]
    fn lane_mask(k: u8, i: usize) -> u64 {
        core::hint::black_box(0u64.wrapping_sub(u64::from((k >> i) & 1)))
    }

    /// All ones where `a == b` (a comparison into a flag, no branch; the mask passes a barrier
    /// as in [`lane_mask`]).
    #[inline(always)]
    fn eq_mask(a: u64, b: u64) -> u64 {
        core::hint::black_box(0u64.wrapping_sub(u64::from(a == b)))
    }

    #[inline(always)]
    fn map(f: impl Fn(usize) -> u64) -> __m512i {
        __m512i(core::array::from_fn(f))
    }

    #[inline(always)]
    fn bits(f: impl Fn(usize) -> bool) -> u8 {
        (0..8).fold(0u8, |k, i| k | (u8::from(f(i)) << i))
    }

    #[inline(always)]
    pub(crate) fn _mm512_setzero_si512() -> __m512i {
        __m512i([0; 8])
    }

    #[inline(always)]
    pub(crate) fn _mm512_set1_epi64(a: i64) -> __m512i {
        __m512i([a as u64; 8])
    }

    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn _mm512_set_epi64(
        e7: i64,
        e6: i64,
        e5: i64,
        e4: i64,
        e3: i64,
        e2: i64,
        e1: i64,
        e0: i64,
    ) -> __m512i {
        __m512i([e0, e1, e2, e3, e4, e5, e6, e7].map(|e| e as u64))
    }

    #[inline(always)]
    pub(crate) fn _mm512_maskz_set1_epi64(k: u8, a: i64) -> __m512i {
        map(|i| (a as u64) & lane_mask(k, i))
    }

    #[inline(always)]
    pub(crate) fn _mm512_add_epi64(a: __m512i, b: __m512i) -> __m512i {
        map(|i| a.0[i].wrapping_add(b.0[i]))
    }

    #[inline(always)]
    pub(crate) fn _mm512_sub_epi64(a: __m512i, b: __m512i) -> __m512i {
        map(|i| a.0[i].wrapping_sub(b.0[i]))
    }

    #[inline(always)]
    pub(crate) fn _mm512_mask_sub_epi64(src: __m512i, k: u8, a: __m512i, b: __m512i) -> __m512i {
        map(|i| {
            let m = lane_mask(k, i);
            (a.0[i].wrapping_sub(b.0[i]) & m) | (src.0[i] & !m)
        })
    }

    #[inline(always)]
    pub(crate) fn _mm512_and_si512(a: __m512i, b: __m512i) -> __m512i {
        map(|i| a.0[i] & b.0[i])
    }

    #[inline(always)]
    pub(crate) fn _mm512_or_si512(a: __m512i, b: __m512i) -> __m512i {
        map(|i| a.0[i] | b.0[i])
    }

    #[inline(always)]
    pub(crate) fn _mm512_mask_or_epi64(src: __m512i, k: u8, a: __m512i, b: __m512i) -> __m512i {
        map(|i| {
            let m = lane_mask(k, i);
            ((a.0[i] | b.0[i]) & m) | (src.0[i] & !m)
        })
    }

    #[inline(always)]
    pub(crate) fn _mm512_mask_blend_epi64(k: u8, a: __m512i, b: __m512i) -> __m512i {
        map(|i| {
            let m = lane_mask(k, i);
            (b.0[i] & m) | (a.0[i] & !m)
        })
    }

    #[inline(always)]
    pub(crate) fn _mm512_srli_epi64<const IMM8: u32>(a: __m512i) -> __m512i {
        map(|i| if IMM8 < 64 { a.0[i] >> IMM8 } else { 0 })
    }

    /// `a >> count` (`a << count`), zero for counts of 64 or more: the shift amount is taken
    /// modulo 64 and the result masked by a comparison, as `vpsrlvq` has no branch.
    #[inline(always)]
    fn shift(a: u64, count: u64, left: bool) -> u64 {
        let s = (count & 63) as u32;
        let v = if left { a << s } else { a >> s };
        v & core::hint::black_box(0u64.wrapping_sub(u64::from(count < 64)))
    }

    #[inline(always)]
    pub(crate) fn _mm512_srlv_epi64(a: __m512i, count: __m512i) -> __m512i {
        map(|i| shift(a.0[i], count.0[i], false))
    }

    #[inline(always)]
    pub(crate) fn _mm512_sllv_epi64(a: __m512i, count: __m512i) -> __m512i {
        map(|i| shift(a.0[i], count.0[i], true))
    }

    /// Lanes `IMM8 .. IMM8 + 8` of the 16 lanes `b, a` (lane 0 of `b` first).
    #[inline(always)]
    pub(crate) fn _mm512_alignr_epi64<const IMM8: i32>(a: __m512i, b: __m512i) -> __m512i {
        let s = (IMM8 & 7) as usize;
        map(|i| {
            if i + s < 8 {
                b.0[i + s]
            } else {
                a.0[i + s - 8]
            }
        })
    }

    /// Lane `i`: lane `idx_i mod 16` of the 16 lanes `a, b` where bit `i` of `k` is set, else 0.
    /// The source lane is chosen by a masked scan over all 16, not by an address.
    #[inline(always)]
    pub(crate) fn _mm512_maskz_permutex2var_epi64(
        k: u8,
        a: __m512i,
        idx: __m512i,
        b: __m512i,
    ) -> __m512i {
        map(|i| {
            let j = idx.0[i] & 15;
            let mut v = 0u64;
            for (s, &x) in a.0.iter().chain(&b.0).enumerate() {
                v |= x & eq_mask(j, s as u64);
            }
            v & lane_mask(k, i)
        })
    }

    /// `a + lo52(b[51:0] c[51:0])` lane by lane.
    #[inline(always)]
    pub(crate) fn _mm512_madd52lo_epu64(a: __m512i, b: __m512i, c: __m512i) -> __m512i {
        const M: u64 = (1 << 52) - 1;
        map(|i| {
            let p = u128::from(b.0[i] & M) * u128::from(c.0[i] & M);
            a.0[i].wrapping_add((p as u64) & M)
        })
    }

    /// `a + hi52(b[51:0] c[51:0])` lane by lane.
    #[inline(always)]
    pub(crate) fn _mm512_madd52hi_epu64(a: __m512i, b: __m512i, c: __m512i) -> __m512i {
        const M: u64 = (1 << 52) - 1;
        map(|i| {
            let p = u128::from(b.0[i] & M) * u128::from(c.0[i] & M);
            a.0[i].wrapping_add((p >> 52) as u64)
        })
    }

    #[inline(always)]
    pub(crate) fn _mm512_cmpeq_epu64_mask(a: __m512i, b: __m512i) -> u8 {
        bits(|i| a.0[i] == b.0[i])
    }

    #[inline(always)]
    pub(crate) fn _mm512_cmpeq_epi64_mask(a: __m512i, b: __m512i) -> u8 {
        bits(|i| a.0[i] == b.0[i])
    }

    #[inline(always)]
    pub(crate) fn _mm512_cmpgt_epu64_mask(a: __m512i, b: __m512i) -> u8 {
        bits(|i| a.0[i] > b.0[i])
    }

    #[inline(always)]
    pub(crate) fn _mm512_cmplt_epu64_mask(a: __m512i, b: __m512i) -> u8 {
        bits(|i| a.0[i] < b.0[i])
    }

    #[inline(always)]
    pub(crate) fn _mm512_castsi512_si128(a: __m512i) -> __m128i {
        __m128i([a.0[0], a.0[1]])
    }

    #[inline(always)]
    pub(crate) fn _mm512_extracti32x4_epi32<const IMM8: i32>(a: __m512i) -> __m128i {
        let k = 2 * (IMM8 & 3) as usize;
        __m128i([a.0[k], a.0[k + 1]])
    }

    #[inline(always)]
    pub(crate) fn _mm_cvtsi128_si64(a: __m128i) -> i64 {
        a.0[0] as i64
    }

    #[inline(always)]
    pub(crate) fn _mm_extract_epi64<const IMM1: i32>(a: __m128i) -> i64 {
        a.0[(IMM1 & 1) as usize] as i64
    }

    /// Reads 64 octets (any alignment).
    #[inline(always)]
    pub(crate) unsafe fn _mm512_loadu_si512(mem_addr: *const __m512i) -> __m512i {
        // SAFETY: the caller guarantees 64 readable octets at `mem_addr`.
        __m512i(unsafe { core::ptr::read_unaligned(mem_addr.cast::<[u64; 8]>()) })
    }

    /// Writes 64 octets (any alignment).
    #[inline(always)]
    pub(crate) unsafe fn _mm512_storeu_si512(mem_addr: *mut __m512i, a: __m512i) {
        // SAFETY: the caller guarantees 64 writable octets at `mem_addr`.
        unsafe { core::ptr::write_unaligned(mem_addr.cast::<[u64; 8]>(), a.0) }
    }
}

#[cfg(all(test, feature = "ct-taint"))]
mod tests {
    use super::*;

    #[test]
    fn stand_in_lane_operations() {
        let a = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
        let b = _mm512_set1_epi64(10);
        assert_eq!(
            _mm512_alignr_epi64::<3>(b, a).0,
            [3, 4, 5, 6, 7, 10, 10, 10]
        );
        let idx = _mm512_set_epi64(0, 15, 8, 9, 1, 2, 3, 4);
        let p = _mm512_maskz_permutex2var_epi64(0b0111_1111, a, idx, b);
        assert_eq!(p.0, [4, 3, 2, 1, 10, 10, 10, 0]);
        assert_eq!(
            _mm512_cmpgt_epu64_mask(a, _mm512_set1_epi64(4)),
            0b1110_0000
        );
        let sh = _mm512_set_epi64(64, 63, 1, 0, 64, 63, 1, 0);
        let ones = _mm512_set1_epi64(-1);
        assert_eq!(
            _mm512_srlv_epi64(ones, sh).0,
            [u64::MAX, u64::MAX >> 1, 1, 0, u64::MAX, u64::MAX >> 1, 1, 0]
        );
        assert_eq!(_mm512_sllv_epi64(ones, sh).0[2], 1 << 63);
        let m = _mm512_madd52hi_epu64(b, ones, ones);
        let hi = u64::try_from(((1u128 << 52) - 1).pow(2) >> 52).unwrap_or(0);
        assert_eq!(m.0[0], 10 + hi);
        assert_eq!(_mm512_mask_blend_epi64(0b10, a, b).0[..3], [0, 10, 2]);
        assert_eq!(_mm_extract_epi64::<1>(_mm512_extracti32x4_epi32::<2>(a)), 5);
    }
}
