//! Differential property tests of F_p, F_q and F_p^2 against num-bigint (the variable-time oracle),
//! plus edge cases 0, 1 and m-1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mikey_sakke::field::{Fp, Fp2, Fq};
use mikey_sakke::params::{P_HEX, Q_HEX};
use num_bigint::BigUint;
use num_traits::{One, Zero};
use proptest::prelude::*;

fn big(hex: &str) -> BigUint {
    BigUint::parse_bytes(hex.as_bytes(), 16).unwrap()
}

fn to_128(v: &BigUint) -> [u8; 128] {
    let b = v.to_bytes_be();
    let mut out = [0u8; 128];
    out[128 - b.len()..].copy_from_slice(&b);
    out
}

macro_rules! field_suite {
    ($modname:ident, $F:ty, $hex:expr) => {
        mod $modname {
            use super::*;

            fn m() -> BigUint {
                big($hex)
            }
            fn el(v: &BigUint) -> $F {
                <$F>::from_bytes(&to_128(v)).unwrap()
            }
            fn val(x: &$F) -> BigUint {
                BigUint::from_bytes_be(&x.to_bytes())
            }
            /// Uniform-ish values below m, biased to include the edges.
            fn arb() -> impl Strategy<Value = BigUint> {
                prop_oneof![
                    1 => Just(BigUint::zero()),
                    1 => Just(BigUint::one()),
                    1 => Just(big($hex) - 1u32),
                    1 => Just(big($hex) - 2u32),
                    12 => proptest::collection::vec(any::<u8>(), 128)
                        .prop_map(|b| BigUint::from_bytes_be(&b) % big($hex)),
                ]
            }

            #[test]
            fn edges_round_trip() {
                let m = m();
                for v in [BigUint::zero(), BigUint::one(), &m - 1u32] {
                    assert_eq!(val(&el(&v)), v);
                }
                // m itself and anything above is rejected
                assert!(bool::from(<$F>::from_bytes(&to_128(&m)).is_none()));
                assert!(bool::from(<$F>::from_bytes(&[0xff; 128]).is_none()));
                assert_eq!(val(&<$F>::ONE), BigUint::one());
                assert_eq!(val(&<$F>::ZERO), BigUint::zero());
                assert!(bool::from(<$F>::ZERO.invert().is_none()));
                // (m-1)^2 = 1, (m-1) + 1 = 0
                let mm1 = el(&(&m - 1u32));
                assert_eq!(mm1.square(), <$F>::ONE);
                assert_eq!(mm1 + <$F>::ONE, <$F>::ZERO);
                assert_eq!(-<$F>::ONE, mm1);
                assert_eq!(-<$F>::ZERO, <$F>::ZERO);
            }

            proptest! {
                #![proptest_config(ProptestConfig::with_cases(200))]
                #[test]
                fn add_sub_neg(a in arb(), b in arb()) {
                    let m = m();
                    let (x, y) = (el(&a), el(&b));
                    prop_assert_eq!(val(&(x + y)), (&a + &b) % &m);
                    prop_assert_eq!(val(&(x - y)), (&a + &m - &b) % &m);
                    prop_assert_eq!(val(&(-x)), (&m - &a) % &m);
                    prop_assert_eq!(val(&x.double()), (&a * 2u32) % &m);
                }

                #[test]
                fn mul_square(a in arb(), b in arb()) {
                    let m = m();
                    let (x, y) = (el(&a), el(&b));
                    prop_assert_eq!(val(&(x * y)), (&a * &b) % &m);
                    prop_assert_eq!(val(&x.square()), (&a * &a) % &m);
                }

                #[test]
                fn invert(a in arb()) {
                    let m = m();
                    let x = el(&a);
                    let inv = x.invert();
                    if a.is_zero() {
                        prop_assert!(bool::from(inv.is_none()));
                    } else {
                        let i = inv.unwrap();
                        prop_assert_eq!(val(&i), a.modpow(&(&m - 2u32), &m));
                        prop_assert_eq!(x * i, <$F>::ONE);
                    }
                }

                #[test]
                fn reduce_any_width(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
                    let m = m();
                    let want = BigUint::from_bytes_be(&bytes) % &m;
                    let mut buf = [0u8; 128];
                    if bytes.len() <= 128 {
                        buf[128 - bytes.len()..].copy_from_slice(&bytes);
                        prop_assert_eq!(val(&<$F>::from_bytes_reduced(&buf)), want.clone());
                    }
                }

                #[test]
                fn pow_vartime(a in arb(), e in proptest::collection::vec(any::<u8>(), 1..40)) {
                    let m = m();
                    let ebig = BigUint::from_bytes_be(&e);
                    let mut limbs = [0u64; 16];
                    for (i, d) in ebig.to_u64_digits().iter().enumerate() { limbs[i] = *d; }
                    prop_assert_eq!(val(&el(&a).pow_vartime(&limbs)), a.modpow(&ebig, &m));
                }
            }
        }
    };
}

field_suite!(fp, Fp, P_HEX);
field_suite!(fq, Fq, Q_HEX);

#[test]
fn q_is_p_plus_one_over_four() {
    assert_eq!((big(P_HEX) + 1u32) / 4u32, big(Q_HEX));
    assert_eq!((big(P_HEX) + 1u32) % 4u32, BigUint::zero());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn fq_reduce_arbitrary_length(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let want = BigUint::from_bytes_be(&bytes) % big(Q_HEX);
        let got = BigUint::from_bytes_be(&Fq::from_be_bytes_reduced(&bytes).to_bytes());
        prop_assert_eq!(got, want);
    }

    #[test]
    fn fp_sqrt(bytes in proptest::collection::vec(any::<u8>(), 128)) {
        let p = big(P_HEX);
        let a = BigUint::from_bytes_be(&bytes) % &p;
        let x = Fp::from_bytes(&to_128(&a)).unwrap();
        let sq = x.square();
        let r = sq.sqrt().unwrap();
        prop_assert!(r == x || r == -x);
        // Euler's criterion decides the non-squares
        let is_qr = a.is_zero() || a.modpow(&((&p - 1u32) / 2u32), &p).is_one();
        prop_assert_eq!(bool::from(x.sqrt().is_some()), is_qr);
    }

    #[test]
    fn fp2_field_laws(a in proptest::collection::vec(any::<u8>(), 512)) {
        let p = big(P_HEX);
        let f = |s: &[u8]| Fp::from_bytes(&to_128(&(BigUint::from_bytes_be(s) % &p))).unwrap();
        let x = Fp2::new(f(&a[0..128]), f(&a[128..256]));
        let y = Fp2::new(f(&a[256..384]), f(&a[384..512]));
        // against the schoolbook formula
        let want = Fp2::new(x.c0 * y.c0 - x.c1 * y.c1, x.c0 * y.c1 + x.c1 * y.c0);
        prop_assert_eq!(x * y, want);
        prop_assert_eq!(x.square(), x * x);
        prop_assert_eq!((x + y) - y, x);
        if !bool::from(x.is_zero()) {
            prop_assert_eq!(x * x.invert().unwrap(), Fp2::ONE);
        }
        // i^2 = -1
        let i = Fp2::new(Fp::ZERO, Fp::ONE);
        prop_assert_eq!(i.square(), -Fp2::ONE);
        prop_assert_eq!(x.conjugate().conjugate(), x);
    }
}
