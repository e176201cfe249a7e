//! Entry points for the differential tests, the machine-code review
//! (`tools/ct-asm-review.sh` over `examples/kernel_probe.rs`), the timing tests
//! (`examples/dudect.rs`) and the benches: the field kernels on raw limbs
//! (`crate::field::kernel_test`, re-exported here), the masked lookups on a fixed-base
//! window, the batched affine fixed-base multiplication and ECCSI's P-256 comb.
//!
//! Compiled only with the `test-helpers` feature (the crate's own tests, examples and benches
//! enable it through a dev-dependency on the crate itself); hidden from the documentation and
//! not a stable API. It sits above every layer it reaches into, so no layer imports upwards
//! for it.

pub use crate::field::kernel_test::*;

/// The constant-time lookup of a fixed-base table window (32 entries of two field
/// elements): the entry numbered `idx`, entries numbered from 1.
pub fn lookup_window(table: &[[u64; 32]; 32], idx: u64) -> [u64; 32] {
    crate::ct::lookup(table, 1, idx)
}

/// The batched lookup of [`lookup_window`] for several indices.
pub fn lookup_window_many(table: &[[u64; 32]; 32], idxs: &[u64], out: &mut [[u64; 32]]) {
    crate::ct::lookup_many(table, 1, idxs, out);
}

/// `[k]P` for each scalar by the batched affine additions of a large fan-out
/// (`FixedBaseTable::mul_many_affine` on the wide table of P). For the timing test.
pub fn p_mul_many_affine(ks: &[crate::field::Fq]) -> Vec<crate::curve::AffinePoint> {
    let table = crate::curve::FixedBaseTable::generator_wide();
    crate::curve::FixedBaseTable::mul_many_affine(&[(table, ks)])
        .pop()
        .unwrap_or_default()
}

/// ECCSI's constant-time \[k\]G on P-256 (`k` big-endian, reduced mod q): the affine x
/// coordinate, zero for the identity. For the machine-code review and the timing test.
pub fn p256_mul_base(k: &[u8; 32]) -> [u8; 32] {
    use p256::elliptic_curve::ops::Reduce;
    use p256::elliptic_curve::point::AffineCoordinates;
    let k = p256::Scalar::reduce(&p256::FieldBytes::from(*k));
    crate::eccsi::base_mul::mul_base(&k).x().into()
}
