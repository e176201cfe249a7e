//! Non-inlined wrappers around the field kernels, so that their machine code can be inspected
//! for secret-dependent branches: `bash tools/ct-asm-review.sh` disassembles these functions (and
//! the AVX-512 IFMA kernel bodies they call on x86_64) and lists every conditional jump and
//! conditional move with the instructions that set its flags, for review (all of them must test
//! loop counters or the cached CPU-feature flag that selects the backend, never data), and
//! fails on any such instruction not in its expected list (`tools/ct-asm-expected.txt`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mikey_sakke::curve::{AffinePoint, FixedBaseTable, GeneratorTable52, ProjectivePoint};
use mikey_sakke::field::{Fp, Fp2, Fq};
use mikey_sakke::pairing::{PreparedPoint, miller_loop};
use mikey_sakke::sakke::MasterSecret;
use mikey_sakke::test_helpers::{self, Limbs, Modulus};
use std::hint::black_box;
use subtle::ConditionallySelectable;

#[inline(never)]
fn probe_fp_mul(a: &Fp, b: &Fp) -> Fp {
    a.mul(b)
}

#[inline(never)]
fn probe_fp_square(a: &Fp) -> Fp {
    a.square()
}

#[inline(never)]
fn probe_fp_add(a: &Fp, b: &Fp) -> Fp {
    a.add(b)
}

#[inline(never)]
fn probe_fp_sub(a: &Fp, b: &Fp) -> Fp {
    a.sub(b)
}

#[inline(never)]
fn probe_fp_select(a: &Fp, b: &Fp, c: u8) -> Fp {
    Fp::conditional_select(a, b, c.into())
}

#[inline(never)]
fn probe_fp2_mul(a: &Fp2, b: &Fp2) -> Fp2 {
    a.mul(b)
}

#[inline(never)]
fn probe_fp_invert(a: &Fp) -> Fp {
    a.invert().unwrap_or(Fp::ZERO)
}

#[inline(never)]
fn probe_fp2_square(a: &Fp2) -> Fp2 {
    a.square()
}

#[inline(never)]
fn probe_fq_mul(a: &Fq, b: &Fq) -> Fq {
    a.mul(b)
}

#[inline(never)]
fn probe_portable_mul(a: &Limbs, b: &Limbs) -> Limbs {
    test_helpers::portable_mul(a, b, Modulus::P)
}

#[inline(never)]
fn probe_portable_sqr(a: &Limbs) -> Limbs {
    test_helpers::portable_sqr(a, Modulus::P)
}

#[inline(never)]
fn probe_ifma_mul(a: &Limbs, b: &Limbs) -> Option<Limbs> {
    test_helpers::ifma_mul(a, b, Modulus::P)
}

#[inline(never)]
fn probe_fe52(a: &Fp, b: &Fp) -> Option<Fp> {
    test_helpers::fe52_probe(a, b)
}

#[inline(never)]
fn probe_lookup(table: &[[u64; 32]; 32], idx: u64) -> [u64; 32] {
    test_helpers::lookup_window(table, idx)
}

#[inline(never)]
fn probe_lookup_many(table: &[[u64; 32]; 32], idxs: &[u64], out: &mut [[u64; 32]]) {
    test_helpers::lookup_window_many(table, idxs, out);
}

#[inline(never)]
fn probe_p256_mul_base(k: &[u8; 32]) -> [u8; 32] {
    test_helpers::p256_mul_base(k)
}

/// The Miller loop (on radix-2^52 values on IFMA CPUs, inside `Ifma::with_features::run`).
#[inline(never)]
fn probe_miller_loop(r: &AffinePoint, q: &AffinePoint) -> Fp2 {
    miller_loop(r, q)
}

/// The table-driven Miller loop.
#[inline(never)]
fn probe_prepared_loop(t: &PreparedPoint, q: &AffinePoint) -> Fp2 {
    t.miller_loop(q)
}

/// The variable-base window loop.
#[inline(never)]
fn probe_scalar_mul(p: &ProjectivePoint, k: &Fq) -> ProjectivePoint {
    p.mul(k)
}

/// The fixed-base window loops, on the ordinary table and on P's radix-2^52 table.
#[inline(never)]
fn probe_fixed_base(k: &Fq) -> (ProjectivePoint, ProjectivePoint) {
    (
        FixedBaseTable::generator().mul(k),
        GeneratorTable52::get().mul(k),
    )
}

/// The KMS's batch RSK issue (shared inversions) and batch self-check (the constant-time
/// multi-scalar multiplication over the secret RSKs, by secret 128-bit weights).
#[inline(never)]
fn probe_rsk_batch(z: &MasterSecret, ids: &[&[u8]]) -> bool {
    let rsks: Vec<_> = z.issue_rsks(ids).into_iter().flatten().collect();
    let batch: Vec<_> = rsks.iter().zip(ids.iter().copied()).collect();
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    z.check_issued_rsks(&batch, &mut rng).is_ok()
}

fn main() {
    let a = Fp::from_u64(3);
    let b = Fp::from_u64(5);
    let x = Fp2::new(a, b);
    let r = probe_fp_mul(black_box(&a), black_box(&b));
    let r = probe_fp_square(&r);
    let r = probe_fp_add(&r, &b);
    let r = probe_fp_sub(&r, &a);
    let r = probe_fp_select(&r, &a, black_box(1));
    let y = probe_fp2_mul(&x, &Fp2::new(r, r));
    let inv = probe_fp_invert(&r);
    let y = probe_fp2_square(&y);
    let k = probe_fq_mul(&Fq::from_u64(7), &Fq::from_u64(9));
    let l = probe_portable_mul(black_box(&[3; 16]), &[5; 16]);
    let l = probe_portable_sqr(&l);
    let i = probe_ifma_mul(&l, &[5; 16]).unwrap_or(l);
    let t = probe_lookup(black_box(&[[7; 32]; 32]), black_box(3));
    let mut many = [[0u64; 32]; 2];
    probe_lookup_many(black_box(&[[7; 32]; 32]), black_box(&[3, 0]), &mut many);
    let j = probe_p256_mul_base(black_box(&[9; 32]));
    let e = probe_fe52(&a, &b).unwrap_or(a);
    let g = AffinePoint::generator();
    let m = probe_miller_loop(black_box(&g), &g);
    let pp = PreparedPoint::new(&g);
    let m2 = probe_prepared_loop(black_box(&pp), &g);
    let q = probe_scalar_mul(black_box(&ProjectivePoint::generator()), &Fq::from_u64(5));
    let (f1, f2) = probe_fixed_base(black_box(&Fq::from_u64(5)));
    assert_eq!(q, f1);
    assert_eq!(f1, f2);
    let z = MasterSecret::from_bytes(black_box(&[0x5A; 64])).unwrap();
    assert!(probe_rsk_batch(
        &z,
        &[b"sip:alice@example.org", b"sip:bob@example.org"]
    ));
    println!(
        "{:?} {:?} {:x} {:?} {} {} {} {:?} {:?} {:?}",
        y.c0, k, i[0], inv, t[0], many[0][0], j[0], e, m.c0, m2.c0
    );
}
