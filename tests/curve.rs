//! Curve E: decoder rejections (including the order-2 and order-4 points), group laws and
//! constant-time vs variable-time scalar multiplication.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mikey_sakke::PointError;
use mikey_sakke::curve::{AffinePoint, ProjectivePoint};
use mikey_sakke::field::{Fp, Fq};
use mikey_sakke::params::P_HEX;
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(6508)
}

/// A point of E(F_p) with a given x (if x^3 - 3x is a square), not necessarily in the subgroup.
fn lift_x(x: u64) -> Option<AffinePoint> {
    let x = Fp::from_u64(x);
    let rhs = x.square().sub(&Fp::from_u64(3)).mul(&x);
    let y: Option<Fp> = rhs.sqrt().into();
    y.and_then(|y| AffinePoint::from_coordinates_unchecked(x, y).into())
}

/// The point (0, 0) of order 2.
fn order2() -> AffinePoint {
    AffinePoint::from_coordinates_unchecked(Fp::ZERO, Fp::ZERO).unwrap()
}

/// A point of order exactly 4: [q]X for a curve point X whose torsion part has order 4.
fn order4() -> AffinePoint {
    let q = Fq::MODULUS;
    for x in 2u64.. {
        if let Some(p) = lift_x(x) {
            let t = ProjectivePoint::from(p).mul_vartime(&q).to_affine();
            if !bool::from(t.is_identity()) && t != order2() {
                // t has order 4 exactly: [2]t = (0, 0)
                assert_eq!(ProjectivePoint::from(t).double().to_affine(), order2());
                return t;
            }
        }
    }
    unreachable!()
}

fn enc(x: &[u8], y: &[u8]) -> Vec<u8> {
    let mut v = vec![0x04];
    v.extend_from_slice(x);
    v.extend_from_slice(y);
    v
}

#[test]
fn generator_has_order_q() {
    let p = ProjectivePoint::generator();
    assert!(bool::from(p.mul_vartime(&Fq::MODULUS).is_identity()));
    assert!(AffinePoint::generator().is_torsion_free_vartime());
    assert!(!bool::from(p.is_identity()));
}

#[test]
fn decoder_rejects_everything_invalid() {
    let g = AffinePoint::generator().to_bytes();
    assert!(AffinePoint::from_bytes(&g).is_ok());
    // lengths
    assert_eq!(
        AffinePoint::from_bytes(&g[..256]),
        Err(PointError::WrongLength {
            expected: 257,
            got: 256
        })
    );
    assert_eq!(
        AffinePoint::from_bytes(&[g.as_slice(), &[0]].concat()),
        Err(PointError::WrongLength {
            expected: 257,
            got: 258
        })
    );
    assert_eq!(
        AffinePoint::from_bytes(&[]),
        Err(PointError::WrongLength {
            expected: 257,
            got: 0
        })
    );
    // prefixes
    for prefix in [0x02u8, 0x03, 0x05, 0x06, 0x07, 0xff] {
        let mut b = g;
        b[0] = prefix;
        assert_eq!(
            AffinePoint::from_bytes(&b),
            Err(PointError::BadPrefix(prefix))
        );
    }
    let mut b = [0u8; 257];
    assert_eq!(AffinePoint::from_bytes(&b), Err(PointError::Identity));
    // coordinates >= p
    let p = hex::decode(P_HEX).unwrap();
    assert_eq!(
        AffinePoint::from_bytes(&enc(&p, &g[129..])),
        Err(PointError::CoordinateOutOfRange)
    );
    assert_eq!(
        AffinePoint::from_bytes(&enc(&g[1..129], &p)),
        Err(PointError::CoordinateOutOfRange)
    );
    assert_eq!(
        AffinePoint::from_bytes(&enc(&[0xff; 128], &[0xff; 128])),
        Err(PointError::CoordinateOutOfRange)
    );
    // off the curve
    b = g;
    b[256] ^= 1;
    assert_eq!(AffinePoint::from_bytes(&b), Err(PointError::NotOnCurve));
    // the order-2 point (0, 0), and the order-4 points
    assert_eq!(
        AffinePoint::from_bytes(&enc(&[0; 128], &[0; 128])),
        Err(PointError::NotInSubgroup)
    );
    let t4 = order4();
    assert_eq!(
        AffinePoint::from_bytes(&t4.to_bytes()),
        Err(PointError::NotInSubgroup)
    );
    assert_eq!(
        AffinePoint::from_bytes(&t4.neg().to_bytes()),
        Err(PointError::NotInSubgroup)
    );
    // P + T for torsion T: on the curve, wrong subgroup
    let pt2 = ProjectivePoint::generator()
        .add(&order2().into())
        .to_affine();
    assert!(bool::from(pt2.is_on_curve()));
    assert_eq!(
        AffinePoint::from_bytes(&pt2.to_bytes()),
        Err(PointError::NotInSubgroup)
    );
    let pt4 = ProjectivePoint::generator().add(&t4.into()).to_affine();
    assert_eq!(
        AffinePoint::from_bytes(&pt4.to_bytes()),
        Err(PointError::NotInSubgroup)
    );
    // random curve points: a quarter lie in the subgroup; the rest must be rejected
    let (mut inside, mut outside) = (0, 0);
    for x in 2u64..60 {
        if let Some(pt) = lift_x(x) {
            // independent check: binary double-and-add of [q]X
            let q = Fq::MODULUS;
            let mut acc = ProjectivePoint::IDENTITY;
            for i in (0..1024).rev() {
                acc = acc.double();
                if (q[i / 64] >> (i % 64)) & 1 == 1 {
                    acc = acc.add(&pt.into());
                }
            }
            let r = AffinePoint::from_bytes(&pt.to_bytes());
            if bool::from(acc.is_identity()) {
                assert_eq!(r, Ok(pt), "x = {x}");
                inside += 1;
            } else {
                assert_eq!(r, Err(PointError::NotInSubgroup), "x = {x}");
                outside += 1;
            }
        }
    }
    assert!(inside > 0 && outside > 3, "{inside} {outside}");
}

#[test]
fn identity_encoding_is_rejected() {
    let id = AffinePoint::identity();
    assert_eq!(
        AffinePoint::from_bytes(&id.to_bytes()),
        Err(PointError::Identity)
    );
    assert_eq!(ProjectivePoint::IDENTITY.to_affine(), id);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn scalar_mul_laws(seed in any::<u64>()) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let a = Fq::random(&mut rng);
        let b = Fq::random(&mut rng);
        let p = ProjectivePoint::generator();
        let pa = p.mul(&a);
        // constant-time and variable-time agree
        prop_assert_eq!(pa, p.mul_vartime(&limbs(&a)));
        // [a]P + [b]P = [a+b]P ; [b]([a]P) = [ab]P
        prop_assert_eq!(pa.add(&p.mul(&b)), p.mul(&a.add(&b)));
        prop_assert_eq!(pa.mul(&b), p.mul(&a.mul(&b)));
        // doubling = adding to itself; P - P = O; O is neutral
        prop_assert_eq!(pa.double(), pa.add(&pa));
        prop_assert!(bool::from(pa.add(&pa.neg()).is_identity()));
        prop_assert_eq!(pa.add(&ProjectivePoint::IDENTITY), pa);
        // the result is on the curve, in the subgroup, and round-trips through the encoding
        let aff = pa.to_affine();
        prop_assert!(bool::from(aff.is_on_curve()));
        prop_assert_eq!(AffinePoint::from_bytes(&aff.to_bytes()).unwrap(), aff);
    }
}

fn limbs(k: &Fq) -> [u64; 16] {
    let b = k.to_bytes();
    let mut l = [0u64; 16];
    for (i, c) in b.rchunks_exact(8).enumerate() {
        l[i] = u64::from_be_bytes(c.try_into().unwrap());
    }
    l
}

#[test]
fn scalar_edge_cases() {
    let p = ProjectivePoint::generator();
    assert!(bool::from(p.mul(&Fq::ZERO).is_identity()));
    assert_eq!(p.mul(&Fq::ONE), p);
    assert_eq!(p.mul(&-Fq::ONE), p.neg());
    // The Jacobian multiplication against the complete-formula public one on scalars whose
    // windows exercise its selects: small values, every 2^e and 2^e - 1 (identity accumulator
    // for the top windows, zero digits, all-15 digits), q - 2^e, and on another base.
    let b = p.mul(&Fq::from_u64(0xfeed)).to_affine();
    let mut two = Fq::ONE;
    let mut ks = vec![
        Fq::from_u64(2),
        Fq::from_u64(15),
        Fq::from_u64(16),
        Fq::from_u64(17),
    ];
    for e in 0..1022 {
        if e % 29 == 0 || !(9..=1014).contains(&e) {
            ks.extend([two, two - Fq::ONE, -two]);
        }
        two = two + two;
    }
    for base in [p, ProjectivePoint::from(b)] {
        for k in &ks {
            assert_eq!(base.mul(k), base.mul_vartime(&limbs(k)));
        }
    }
    // the identity as the base
    assert!(bool::from(
        ProjectivePoint::IDENTITY
            .mul(&Fq::from_u64(5))
            .is_identity()
    ));
    let _ = rng();
}

#[test]
fn fixed_base_tables_agree_with_generic_multiplication() {
    use mikey_sakke::curve::FixedBaseTable;
    let mut rng = rng();
    let gen_table = FixedBaseTable::generator();
    let b = ProjectivePoint::generator()
        .mul(&Fq::random(&mut rng))
        .to_affine();
    let table_b = FixedBaseTable::new(&b);
    for k in [
        Fq::ZERO,
        Fq::ONE,
        -Fq::ONE,
        Fq::from_u64(16),
        // Signed 6-bit digits at their edges: 31, 32 (-32 with a carry), 33, 63, 64, 2047.
        Fq::from_u64(31),
        Fq::from_u64(32),
        Fq::from_u64(33),
        Fq::from_u64(63),
        Fq::from_u64(64),
        Fq::from_u64(2047),
        -Fq::from_u64(32),
        Fq::random(&mut rng),
        Fq::random(&mut rng),
    ] {
        let want = ProjectivePoint::generator().mul(&k);
        assert_eq!(gen_table.mul(&k), want);
        assert_eq!(gen_table.mul_vartime(&limbs(&k)), want);
        let want_b = ProjectivePoint::from(b).mul(&k);
        assert_eq!(table_b.mul(&k), want_b);
        assert_eq!(table_b.mul_vartime(&limbs(&k)), want_b);
    }
}
