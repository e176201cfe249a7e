//! Constant-time table lookups: `table[i]` for a secret index, reading every entry.
//!
//! A lookup masks each entry with `0` or `!0` (the mask from a constant-time comparison) and ORs
//! the results, so the memory addresses touched and the instructions executed do not depend on
//! the index. The entries are plain limb arrays (two field elements for an affine point or an
//! F_p^2 element, three for a projective point). The same loop is compiled twice: for the
//! baseline target, and with AVX-512F enabled, selected at run time, where each 256-octet entry
//! is four 512-bit loads, ANDs and ORs instead of 32 scalar selects (measured: the scan took a
//! sixth of a fixed-base multiplication with scalar selects).

use subtle::ConstantTimeEq;

/// The entry of `table` whose number is `idx`, entries being numbered `first, first + 1, ...`;
/// all zero limbs if no entry has that number. Constant time in `idx`: every entry is read.
#[inline]
pub(crate) fn lookup<const N: usize>(table: &[[u64; N]], first: u64, idx: u64) -> [u64; N] {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
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

/// [`lookup_body`] compiled with AVX-512F (the compiler vectorises the masking loop).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn lookup_avx512<const N: usize>(table: &[[u64; N]], first: u64, idx: u64) -> [u64; N] {
    lookup_body(table, first, idx)
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
    if std::arch::is_x86_feature_detected!("avx512f") {
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

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn lookup_many_avx512<const N: usize>(
    table: &[[u64; N]],
    first: u64,
    idxs: &[u64],
    out: &mut [[u64; N]],
) {
    lookup_many_body(table, first, idxs, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_index_of_both_builds() {
        let table: Vec<[u64; 48]> = (0..16u64)
            .map(|i| core::array::from_fn(|k| (i << 32) ^ (k as u64).wrapping_mul(0x9e37_79b9)))
            .collect();
        for first in [0u64, 1] {
            for idx in 0..20u64 {
                let want = idx
                    .checked_sub(first)
                    .and_then(|i| table.get(usize::try_from(i).ok()?))
                    .copied()
                    .unwrap_or([0; 48]);
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
}
