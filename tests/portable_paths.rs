//! The loops that run on radix-2^52 values on IFMA CPUs (the Miller loops, the variable-base
//! scalar multiplication) give the same results on the portable kernel: each is computed with
//! the fastest backend, then again with the portable one forced (process-wide, so this file
//! holds this one test). On CPUs without IFMA both runs take the portable path.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mikey_sakke::curve::{AffinePoint, ProjectivePoint};
use mikey_sakke::field::Fq;
use mikey_sakke::pairing::{PreparedPoint, miller_loop, pairing};
use mikey_sakke::test_helpers;

fn run() -> Vec<Vec<u8>> {
    let p = AffinePoint::generator();
    let mut out = Vec::new();
    for k in [1u64, 2, 0x1234_5678, u64::MAX] {
        let s = Fq::from_u64(k).mul(&Fq::from_u64(0x9E37_79B9_7F4A_7C15));
        let q = ProjectivePoint::generator().mul(&s);
        out.push(q.to_affine().to_bytes().to_vec());
        let qa = q.to_affine();
        out.push(pairing(&p, &qa).to_bytes().to_vec());
        let v = miller_loop(&qa, &p);
        out.push(v.c0.to_bytes().to_vec());
        out.push(v.c1.to_bytes().to_vec());
        let table = PreparedPoint::new(&qa);
        out.push(table.pairing(&p).to_bytes().to_vec());
        // [k]X for a point other than P, and the zero scalar (the identity).
        out.push(
            ProjectivePoint::from(qa)
                .mul(&s)
                .to_affine()
                .to_bytes()
                .to_vec(),
        );
    }
    out.push(
        ProjectivePoint::generator()
            .mul(&Fq::ZERO)
            .to_affine()
            .to_bytes()
            .to_vec(),
    );
    out
}

#[test]
fn radix_52_loops_match_the_portable_kernel() {
    let fast = run();
    test_helpers::force_portable(true);
    let portable = run();
    test_helpers::force_portable(false);
    assert_eq!(fast.len(), portable.len());
    for (i, (a, b)) in fast.iter().zip(&portable).enumerate() {
        assert_eq!(a, b, "value {i}");
    }
    println!(
        "IFMA kernel {}: {} values compared",
        if test_helpers::ifma_available() {
            "present"
        } else {
            "absent"
        },
        fast.len()
    );
}
