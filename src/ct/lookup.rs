//! Constant-time table lookups: `table[i]` for a secret index, reading every entry.
//!
//! A lookup masks each entry with `0` or `!0` (the mask from a constant-time comparison) and ORs
//! the results, so the memory addresses touched and the instructions executed do not depend on
//! the index. The entries are plain limb arrays (two field elements for an affine point or an
//! F_p^2 element, three for a projective point). Two builds, chosen at run time:
//!
//! * the baseline: `subtle`'s `ct_eq` per entry (its result passes an optimisation barrier, a
//!   function call) and a masked OR per limb;
//! * AVX-512F intrinsics: per 8-limb chunk, a vector compare of the entry number with the index
//!   sets a lane mask and a masked OR (`vporq {k}`) accumulates; the barrier is applied once
//!   per call, to the index vector. Measured against the previous AVX-512 build (the baseline
//!   loop auto-vectorised, with a `ct_eq` call per entry): 188 -> 24 ns for 32 entries of 8
//!   limbs (a P-256 window), 231 -> 76 ns for 32 entries of 32 limbs (a SAKKE window),
//!   964 -> 332 ns for 128 such entries (a wide window), and 4.5 -> 1.4 us for 8 indices at
//!   once in that wide window (one-off comparison in a release test binary, 200 000
//!   lookups each, on dfddc2c with this change, the project's 2-core EPYC).

// With `ct-taint` the intrinsics are the safe functions of the stand-in (`crate::ct::avx512`)
// and nothing enables a target feature: the `unsafe` blocks around the calls are then unneeded.
#![cfg_attr(feature = "ct-taint", allow(unused_unsafe))]

use subtle::ConstantTimeEq;

/// The entry of `table` whose number is `idx`, entries being numbered `first, first + 1, ...`;
/// all zero limbs if no entry has that number. Constant time in `idx`: every entry is read.
#[inline]
pub(crate) fn lookup<const N: usize>(table: &[[u64; N]], first: u64, idx: u64) -> [u64; N] {
    #[cfg(target_arch = "x86_64")]
    if crate::ct::avx512::avx512f() {
        // SAFETY: the CPU supports AVX-512F, the only feature the function enables.
        return unsafe { lookup_avx512(table, first, idx) };
    }
    lookup_body(table, first, idx)
}

/// [`lookup`] on the baseline target (also the reference for the AVX-512 build in the tests).
#[inline(always)]
fn lookup_body<const N: usize>(table: &[[u64; N]], first: u64, idx: u64) -> [u64; N] {
    let mut out = [0u64; N];
    for (j, entry) in (first..).zip(table) {
        // `ct_eq` hides the comparison behind an optimisation barrier: the mask is data.
        let mask = 0u64.wrapping_sub(u64::from(j.ct_eq(&idx).unwrap_u8()));
        for (o, e) in out.iter_mut().zip(entry) {
            *o |= e & mask;
        }
    }
    out
}

/// [`lookup_body`] with AVX-512F intrinsics: for each 8-limb chunk of the entries, one vector
/// compare of the entry number with the index gives a lane mask, and a masked OR accumulates
/// the chunk. No per-entry call to an optimisation barrier (`subtle`'s `ct_eq` costs one
/// function call per entry); the index vector passes `black_box` once, so that the compiler
/// cannot see that it is a splat and turn the vector compare into a scalar one (whose vector
/// select LLVM may lower to a branch). Entries whose length is not a multiple of 8 limbs use
/// [`lookup_body`].
#[cfg(target_arch = "x86_64")]
#[cfg_attr(not(feature = "ct-taint"), target_feature(enable = "avx512f"))]
fn lookup_avx512<const N: usize>(table: &[[u64; N]], first: u64, idx: u64) -> [u64; N] {
    #[cfg(feature = "ct-taint")]
    crate::ct::paths::hit(crate::ct::paths::Path::Avx512Lookup);
    use crate::ct::avx512::{
        _mm512_cmpeq_epi64_mask, _mm512_loadu_si512, _mm512_mask_or_epi64, _mm512_set1_epi64,
        _mm512_setzero_si512, _mm512_storeu_si512,
    };
    if !N.is_multiple_of(8) {
        return lookup_body(table, first, idx);
    }
    let mut out = [0u64; N];
    #[allow(clippy::cast_possible_wrap)]
    let vidx = core::hint::black_box(_mm512_set1_epi64(idx as i64));
    for (c, o) in out.chunks_exact_mut(8).enumerate() {
        let mut acc = _mm512_setzero_si512();
        for (j, entry) in (first..).zip(table) {
            #[allow(clippy::cast_possible_wrap)]
            let k = _mm512_cmpeq_epi64_mask(_mm512_set1_epi64(j as i64), vidx);
            // SAFETY: `8 * c + 8 <= N`: the 64 octets read are inside the entry.
            let e = unsafe { _mm512_loadu_si512(entry.as_ptr().add(8 * c).cast()) };
            acc = _mm512_mask_or_epi64(acc, k, acc, e);
        }
        // SAFETY: `o` is 8 limbs, 64 octets.
        unsafe { _mm512_storeu_si512(o.as_mut_ptr().cast(), acc) };
    }
    out
}

/// [`lookup`] for several indices at once: `out[m]` becomes the entry numbered `idxs[m]` (all
/// zero limbs if none). Each entry is loaded once for all the indices, so a batch of lookups
/// in a table too large for the cache costs one pass over it instead of one per index (a
/// sender's fan-out to many recipients). Constant time in the indices.
#[inline]
pub(crate) fn lookup_many<const N: usize>(
    table: &[[u64; N]],
    first: u64,
    idxs: &[u64],
    out: &mut [[u64; N]],
) {
    #[cfg(target_arch = "x86_64")]
    if crate::ct::avx512::avx512f() {
        // SAFETY: the CPU supports AVX-512F, the only feature the function enables.
        return unsafe { lookup_many_avx512(table, first, idxs, out) };
    }
    lookup_many_body(table, first, idxs, out);
}

#[inline(always)]
fn lookup_many_body<const N: usize>(
    table: &[[u64; N]],
    first: u64,
    idxs: &[u64],
    out: &mut [[u64; N]],
) {
    for o in out.iter_mut() {
        *o = [0; N];
    }
    for (j, entry) in (first..).zip(table) {
        for (o, idx) in out.iter_mut().zip(idxs) {
            let mask = 0u64.wrapping_sub(u64::from(j.ct_eq(idx).unwrap_u8()));
            for (o, e) in o.iter_mut().zip(entry) {
                *o |= e & mask;
            }
        }
    }
}

/// [`lookup_many_body`] with AVX-512F intrinsics, as [`lookup_avx512`]: each entry's chunks
/// are loaded once for several indices, each index vector passes `black_box` once per call.
/// For entries of 32 and 16 limbs (curve points, PF_p representatives) the indices go in
/// register tiles ([`lookup_tile`]: 4 or 8 indices, 16 accumulator registers, no memory
/// traffic but the entry loads); other widths accumulate in memory, 8 indices at a time.
#[cfg(target_arch = "x86_64")]
#[cfg_attr(not(feature = "ct-taint"), target_feature(enable = "avx512f"))]
fn lookup_many_avx512<const N: usize>(
    table: &[[u64; N]],
    first: u64,
    idxs: &[u64],
    out: &mut [[u64; N]],
) {
    #[cfg(feature = "ct-taint")]
    crate::ct::paths::hit(crate::ct::paths::Path::Avx512LookupMany);
    use crate::ct::avx512::{
        __m512i, _mm512_cmpeq_epi64_mask, _mm512_loadu_si512, _mm512_mask_or_epi64,
        _mm512_set1_epi64, _mm512_setzero_si512, _mm512_storeu_si512,
    };
    if !N.is_multiple_of(8) {
        return lookup_many_body(table, first, idxs, out);
    }
    // Register tiles: the accumulators of a few indices stay in 16 vector registers while
    // the window streams past once per tile.
    if N == 32 {
        for (idxs, out) in idxs.chunks(4).zip(out.chunks_mut(4)) {
            lookup_tile::<N, 4, 4>(table, first, idxs, out);
        }
        return;
    }
    if N == 16 {
        for (idxs, out) in idxs.chunks(8).zip(out.chunks_mut(8)) {
            lookup_tile::<N, 2, 8>(table, first, idxs, out);
        }
        return;
    }
    for (idxs, out) in idxs.chunks(8).zip(out.chunks_mut(8)) {
        let mut vidx = [_mm512_setzero_si512(); 8];
        for (v, &idx) in vidx.iter_mut().zip(idxs) {
            #[allow(clippy::cast_possible_wrap)]
            let splat = _mm512_set1_epi64(idx as i64);
            *v = core::hint::black_box(splat);
        }
        for o in out.iter_mut() {
            *o = [0; N];
        }
        for (j, entry) in (first..).zip(table) {
            #[allow(clippy::cast_possible_wrap)]
            let vj = _mm512_set1_epi64(j as i64);
            for (o, v) in out.iter_mut().zip(&vidx) {
                let k = _mm512_cmpeq_epi64_mask(vj, *v);
                for (oc, ec) in o.chunks_exact_mut(8).zip(entry.chunks_exact(8)) {
                    // SAFETY: both chunks are 8 limbs, 64 octets.
                    unsafe {
                        let e: __m512i = _mm512_loadu_si512(ec.as_ptr().cast());
                        let acc: __m512i = _mm512_loadu_si512(oc.as_ptr().cast());
                        _mm512_storeu_si512(
                            oc.as_mut_ptr().cast(),
                            _mm512_mask_or_epi64(acc, k, acc, e),
                        );
                    }
                }
            }
        }
    }
}

/// One register tile of [`lookup_many_avx512`]: up to `L` indices, entries of `C` 8-limb
/// chunks (`N = 8 C`), `L * C` accumulator registers.
#[cfg(target_arch = "x86_64")]
#[cfg_attr(not(feature = "ct-taint"), target_feature(enable = "avx512f"))]
#[inline]
fn lookup_tile<const N: usize, const C: usize, const L: usize>(
    table: &[[u64; N]],
    first: u64,
    idxs: &[u64],
    out: &mut [[u64; N]],
) {
    use crate::ct::avx512::{
        _mm512_cmpeq_epi64_mask, _mm512_loadu_si512, _mm512_mask_or_epi64, _mm512_set1_epi64,
        _mm512_setzero_si512, _mm512_storeu_si512,
    };
    let zero = _mm512_setzero_si512();
    // Unused lanes look for an entry number no table has.
    let mut vidx = [_mm512_set1_epi64(-1); L];
    for (v, &idx) in vidx.iter_mut().zip(idxs) {
        #[allow(clippy::cast_possible_wrap)]
        let splat = _mm512_set1_epi64(idx as i64);
        *v = splat;
    }
    let vidx = core::hint::black_box(vidx);
    let mut acc = [[zero; C]; L];
    for (j, entry) in (first..).zip(table) {
        #[allow(clippy::cast_possible_wrap)]
        let vj = _mm512_set1_epi64(j as i64);
        let mut e = [zero; C];
        for (c, ec) in e.iter_mut().zip(entry.chunks_exact(8)) {
            // SAFETY: the chunk is 8 limbs, 64 octets.
            *c = unsafe { _mm512_loadu_si512(ec.as_ptr().cast()) };
        }
        for (a, v) in acc.iter_mut().zip(&vidx) {
            let k = _mm512_cmpeq_epi64_mask(vj, *v);
            for (ac, ec) in a.iter_mut().zip(&e) {
                *ac = _mm512_mask_or_epi64(*ac, k, *ac, *ec);
            }
        }
    }
    for (o, a) in out.iter_mut().zip(&acc) {
        for (oc, ac) in o.chunks_exact_mut(8).zip(a) {
            // SAFETY: the chunk is 8 limbs, 64 octets.
            unsafe { _mm512_storeu_si512(oc.as_mut_ptr().cast(), *ac) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a lookup of `idx` in `table` (entries numbered from `first`) must give: the entry,
    /// or zero for an index no entry has.
    fn expected<const N: usize>(table: &[[u64; N]], first: u64, idx: u64) -> [u64; N] {
        idx.checked_sub(first)
            .and_then(|i| table.get(usize::try_from(i).ok()?))
            .copied()
            .unwrap_or([0; N])
    }

    #[test]
    fn every_index_of_both_builds() {
        let table: Vec<[u64; 48]> = (0..16u64)
            .map(|i| core::array::from_fn(|k| (i << 32) ^ (k as u64).wrapping_mul(0x9e37_79b9)))
            .collect();
        for first in [0u64, 1] {
            for idx in 0..20u64 {
                let want = expected(&table, first, idx);
                assert_eq!(lookup(&table, first, idx), want, "{first} {idx}");
                assert_eq!(lookup_body(&table, first, idx), want, "{first} {idx}");
            }
            let idxs: Vec<u64> = (0..20u64).rev().collect();
            let mut many = vec![[1u64; 48]; idxs.len()];
            lookup_many(&table, first, &idxs, &mut many);
            let mut body = vec![[1u64; 48]; idxs.len()];
            lookup_many_body(&table, first, &idxs, &mut body);
            for ((m, b), &idx) in many.iter().zip(&body).zip(&idxs) {
                assert_eq!(*m, lookup(&table, first, idx), "{first} {idx}");
                assert_eq!(*b, *m);
            }
        }
    }

    /// The register-tiled builds (4 entries of 32 limbs, 8 of 16 limbs per tile) against the
    /// single lookup, with full and partial tiles and indices no entry has.
    fn tiles_agree<const N: usize>() {
        let table: Vec<[u64; N]> = (0..40u64)
            .map(|i| core::array::from_fn(|k| (i << 40) ^ (k as u64).wrapping_mul(0x9e37_79b9)))
            .collect();
        for count in [0usize, 1, 3, 4, 5, 8, 9, 19] {
            let mut idxs: Vec<u64> = (0..count as u64).map(|i| (i * 11) % 43).collect();
            if let Some(last) = idxs.last_mut() {
                *last = u64::MAX;
            }
            let mut many = vec![[7u64; N]; count];
            lookup_many(&table, 1, &idxs, &mut many);
            for (m, &idx) in many.iter().zip(&idxs) {
                let want = expected(&table, 1, idx);
                assert_eq!(*m, want, "N = {N}, {count} indices, {idx}");
            }
        }
    }

    #[test]
    fn register_tiles_of_both_widths() {
        tiles_agree::<32>();
        tiles_agree::<16>();
    }

    #[test]
    fn one_vector_entries_and_long_batches() {
        // 8-limb entries (a P-256 point) and 32 entries; 19 indices (three batches of <= 8).
        let table: Vec<[u64; 8]> = (0..32u64)
            .map(|i| core::array::from_fn(|k| i * 8 + k as u64))
            .collect();
        let idxs: Vec<u64> = (0..19u64).map(|i| (i * 7) % 35).collect();
        let mut many = vec![[5u64; 8]; idxs.len()];
        lookup_many(&table, 1, &idxs, &mut many);
        for (m, &idx) in many.iter().zip(&idxs) {
            let want = expected(&table, 1, idx);
            assert_eq!(lookup(&table, 1, idx), want, "{idx}");
            assert_eq!(lookup_body(&table, 1, idx), want, "{idx}");
            assert_eq!(*m, want, "{idx}");
        }
    }
}
