//! Field-operation counts of the pairing and the SAKKE operations (run with
//! `cargo test --features op-count --test op_count -- --nocapture`). Counts are deterministic,
//! unlike timings, so they can be asserted.
#![cfg(feature = "op-count")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mikey_sakke::curve::{AffinePoint, ProjectivePoint};
use mikey_sakke::field::{Fq, op_count};
use mikey_sakke::pairing::{miller_loop, pairing};

fn count<T>(f: impl FnOnce() -> T) -> (u64, u64) {
    op_count::reset();
    let _ = std::hint::black_box(f());
    op_count::get()
}

#[test]
fn pairing_costs_at_most_25000_multiplications() {
    let p = AffinePoint::generator();
    let q = ProjectivePoint::generator()
        .mul(&Fq::from_u64(12345))
        .to_affine();
    let (m, s) = count(|| miller_loop(&p, &q));
    println!(
        "miller loop: {m} multiplications + {s} squarings = {}",
        m + s
    );
    // 1021 doubling steps x (12M + 5S), 352 addition steps x (14M + 3S)
    assert_eq!((m, s), (1021 * 12 + 352 * 14, 1021 * 5 + 352 * 3));
    let (m, s) = count(|| pairing(&p, &q));
    println!(
        "pairing (incl. final exponentiation, excl. inversion): {} operations",
        m + s
    );
    assert!(m + s <= 25_000, "{}", m + s);
}
