//! Differential tests of the limb kernels: the portable Montgomery multiplication and squaring
//! against num-bigint, and the AVX-512 IFMA kernel against the portable
//! one, bit for bit, for both moduli (the 1024-bit p and the 1022-bit q). On a CPU without IFMA
//! the IFMA comparisons are skipped with a note.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mikey_sakke::test_helpers::{self, Limbs, Modulus};
use num_bigint::BigUint;
use proptest::prelude::*;

fn big(l: &Limbs) -> BigUint {
    BigUint::from_bytes_le(&l.iter().flat_map(|w| w.to_le_bytes()).collect::<Vec<_>>())
}

fn limbs(v: &BigUint) -> Limbs {
    let mut out = [0u64; 16];
    for (o, d) in out.iter_mut().zip(v.to_u64_digits()) {
        *o = d;
    }
    out
}

/// `a * b * 2^-1024 mod m`, the contract of every kernel.
fn oracle(a: &Limbs, b: &Limbs, m: Modulus) -> Limbs {
    let m = big(&test_helpers::modulus(m));
    let r_inv = (BigUint::from(1u32) << 1024u32).modinv(&m).unwrap();
    limbs(&(big(a) * big(b) % &m * r_inv % &m))
}

fn ifma_or_note(test: &str) -> bool {
    let ok = test_helpers::ifma_available();
    if !ok {
        println!("note: {test}: this CPU has no AVX-512 IFMA, IFMA comparison skipped");
    }
    ok
}

/// Edge operands below m: 0, 1, 2, m-1, m-2, (m-1)/2, values with runs of all-ones limbs (and
/// the largest such value below m), and single high bits.
fn edges(m: Modulus) -> Vec<Limbs> {
    let mm = test_helpers::modulus(m);
    let mb = big(&mm);
    let mut v = vec![[0u64; 16]];
    for k in [1u32, 2] {
        v.push(limbs(&BigUint::from(k)));
        v.push(limbs(&(&mb - k)));
    }
    v.push(limbs(&((&mb - 1u32) >> 1)));
    for k in 1..=16 {
        // the low k limbs all ones, the rest from m - 1
        let mut x = limbs(&(&mb - 1u32));
        x[..k].fill(u64::MAX);
        if big(&x) < mb {
            v.push(x);
        }
        // the low k limbs all ones, nothing above
        let mut y = [0u64; 16];
        y[..k].fill(u64::MAX);
        if big(&y) < mb {
            v.push(y);
        }
    }
    for bit in [63, 64, 511, 512, 1000, mb.bits() - 1] {
        v.push(limbs(&(BigUint::from(1u32) << bit)));
    }
    v
}

fn below(m: Modulus) -> impl Strategy<Value = Limbs> {
    let mb = big(&test_helpers::modulus(m));
    prop_oneof![
        3 => proptest::collection::vec(any::<u8>(), 128)
            .prop_map(move |b| limbs(&(BigUint::from_bytes_be(&b) % &mb))),
        1 => proptest::sample::select(edges(m)),
    ]
}

fn check_all(a: &Limbs, b: &Limbs, m: Modulus) {
    let want = oracle(a, b, m);
    assert_eq!(
        test_helpers::portable_mul(a, b, m),
        want,
        "portable mul {m:?}"
    );
    if a == b {
        assert_eq!(test_helpers::portable_sqr(a, m), want, "portable sqr {m:?}");
    }
    if let Some(got) = test_helpers::ifma_mul(a, b, m) {
        assert_eq!(got, want, "ifma mul {m:?} a={a:x?} b={b:x?}");
    }
}

macro_rules! kernel_suite {
    ($name:ident, $m:expr) => {
        mod $name {
            use super::*;

            #[test]
            fn edge_products() {
                let e = edges($m);
                for a in &e {
                    for b in &e {
                        check_all(a, b, $m);
                    }
                    check_all(a, a, $m);
                }
            }

            #[test]
            fn unreduced_first_operand() {
                // The contract allows any a < 2^1024 when b < m (used to reduce into Montgomery
                // form): all-ones limbs and m itself.
                let mm = test_helpers::modulus($m);
                for a in [[u64::MAX; 16], mm] {
                    for b in edges($m) {
                        check_all(&a, &b, $m);
                    }
                }
            }

            proptest! {
                #![proptest_config(ProptestConfig::with_cases(300))]

                #[test]
                fn mul_matches(a in below($m), b in below($m)) {
                    check_all(&a, &b, $m);
                }

                #[test]
                fn sqr_matches(a in below($m)) {
                    check_all(&a, &a, $m);
                }

                #[test]
                fn ifma_matches_portable(a in below($m), b in below($m)) {
                    if let Some(x) = test_helpers::ifma_mul(&a, &b, $m) {
                        prop_assert_eq!(x, test_helpers::portable_mul(&a, &b, $m));
                        prop_assert_eq!(test_helpers::ifma_mul(&a, &a, $m).unwrap(),
                            test_helpers::portable_sqr(&a, $m));
                    }
                }
            }
        }
    };
}

kernel_suite!(p, Modulus::P);
kernel_suite!(q, Modulus::Q);

#[test]
fn ifma_presence_is_reported() {
    // Documents in the test log which kernels were compared.
    if ifma_or_note("ifma_presence_is_reported") {
        println!("AVX-512 IFMA kernel present: compared against the portable kernel");
    }
}

#[test]
fn forcing_the_portable_kernel_gives_the_same_field_results() {
    use mikey_sakke::field::Fp;
    let x = Fp::from_u64(0x1234_5678_9abc_def0).square().square();
    let y = x.mul(&x.add(&Fp::ONE));
    test_helpers::force_portable(true);
    let (xp, yp) = {
        let x = Fp::from_u64(0x1234_5678_9abc_def0).square().square();
        (x, x.mul(&x.add(&Fp::ONE)))
    };
    test_helpers::force_portable(false);
    assert_eq!(x, xp);
    assert_eq!(y, yp);
}

/// `(a0 + a1 i)(b0 + b1 i) * 2^-1024` with `i^2 = -1`, component-wise mod p, from num-bigint.
fn fp2_oracle(a: [&Limbs; 2], b: [&Limbs; 2]) -> [Limbs; 2] {
    let m = big(&test_helpers::modulus(Modulus::P));
    let r_inv = (BigUint::from(1u32) << 1024u32).modinv(&m).unwrap();
    let (a0, a1, b0, b1) = (big(a[0]), big(a[1]), big(b[0]), big(b[1]));
    let c0 = (&a0 * &b0 + &m * &m - (&a1 * &b1) % (&m * &m)) % &m * &r_inv % &m;
    let c1 = (&a0 * &b1 + &a1 * &b0) % &m * &r_inv % &m;
    [limbs(&c0), limbs(&c1)]
}

/// The portable F_p^2 product with lazy reduction (two reductions for three products) on every
/// pair of edge values (the extremes of its offsets and of its two conditional subtractions)
/// and on random components.
#[test]
fn lazy_fp2_product_matches_the_oracle_on_edges() {
    let e = edges(Modulus::P);
    for a0 in &e {
        for a1 in e.iter().step_by(3) {
            for (b0, b1) in e.iter().zip(e.iter().rev()) {
                assert_eq!(
                    test_helpers::portable_fp2_mul([a0, a1], [b0, b1]),
                    fp2_oracle([a0, a1], [b0, b1])
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn lazy_fp2_product_matches_the_oracle(
        a0 in below(Modulus::P), a1 in below(Modulus::P),
        b0 in below(Modulus::P), b1 in below(Modulus::P),
    ) {
        prop_assert_eq!(
            test_helpers::portable_fp2_mul([&a0, &a1], [&b0, &b1]),
            fp2_oracle([&a0, &a1], [&b0, &b1])
        );
    }
}
