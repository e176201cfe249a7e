//! SAKKE properties: bilinearity and non-degeneracy of the pairing, KMS/receiver round trips
//! with awkward identifiers and SSVs, and clean failure on tampering.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mikey_sakke::curve::{AffinePoint, ProjectivePoint};
use mikey_sakke::field::Fq;
use mikey_sakke::pairing::{Gt, pairing};
use mikey_sakke::sakke::{self, EncapsulatedData, MasterSecret, ReceiverSecretKey, Ssv, hazmat};
use mikey_sakke::{Error, IssueError, ScalarError};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

#[test]
fn pairing_is_bilinear_and_non_degenerate() {
    let mut rng = rng(1);
    let p = ProjectivePoint::generator();
    for _ in 0..2 {
        let a = Fq::random(&mut rng);
        let b = Fq::random(&mut rng);
        let pa = p.mul(&a).to_affine();
        let pb = p.mul(&b).to_affine();
        let e = pairing(&pa, &pb);
        // <[a]P, [b]P> = g^(ab)
        assert_eq!(e, Gt::g().pow(&a.mul(&b)));
        // <[a]P, Q> = <P, [a]Q>
        assert_eq!(
            pairing(&pa, &AffinePoint::generator()),
            pairing(&AffinePoint::generator(), &pa)
        );
        // non-degenerate
        assert_ne!(e, Gt::identity());
    }
    // g has order q: g^q = 1, g != 1
    let q_minus_1 = -Fq::ONE;
    assert_eq!(Gt::g().pow(&q_minus_1).mul(&Gt::g()), Gt::identity());
    assert_ne!(Gt::g(), Gt::identity());
}

/// Identifiers of every shape: RFC 6509 style with NULs, MCX-like 32-octet UIDs with the top bit
/// set, a leading zero octet, one octet, and longer than q.
fn identifiers(rng: &mut ChaCha20Rng) -> Vec<Vec<u8>> {
    let mut uid = [0u8; 32];
    rng.fill_bytes(&mut uid);
    uid[0] |= 0x80;
    let mut uid0 = uid;
    uid0[0] = 0;
    vec![
        b"2011-02\0tel:+447700900123\0".to_vec(),
        uid.to_vec(),
        uid0.to_vec(),
        vec![0x07],
        vec![0xff; 200],
    ]
}

#[test]
fn round_trips_with_awkward_identifiers_and_ssvs() {
    let mut rng = rng(2);
    let z = MasterSecret::random(&mut rng);
    let zpub = z.public_key();
    for (n, id) in identifiers(&mut rng).iter().enumerate() {
        let rsk = z.issue_rsk(id).unwrap();
        rsk.validate(&zpub, id).unwrap();
        // an SSV with leading zero octets, then a random one
        let ssv = if n % 2 == 0 {
            let mut s = [0u8; 16];
            s[3..].copy_from_slice(&[0xab; 13]);
            Ssv::from_bytes(s)
        } else {
            Ssv::random(&mut rng)
        };
        let ed = hazmat::encapsulate_with_ssv(&ssv, &zpub, id);
        let ed = EncapsulatedData::from_bytes(&ed.to_bytes()).unwrap();
        assert_eq!(sakke::decapsulate(&zpub, id, &rsk, &ed).unwrap(), ssv);
    }
    let id = b"sip:alice@example.org";
    let rsk = z.issue_rsk(id).unwrap();
    let (ssv, ed) = sakke::encapsulate(&mut rng, &zpub, id);
    assert_eq!(sakke::decapsulate(&zpub, id, &rsk, &ed).unwrap(), ssv);
}

#[test]
fn tampering_and_wrong_keys_fail_opaquely() {
    let mut rng = rng(3);
    let z = MasterSecret::random(&mut rng);
    let zpub = z.public_key();
    let id = b"sip:bob@example.org".as_slice();
    let rsk = z.issue_rsk(id).unwrap();
    let (_ssv, ed) = sakke::encapsulate(&mut rng, &zpub, id);
    let bytes = ed.to_bytes();

    // a bit flipped in H: decodes, but fails the TEST == R check
    let mut t = bytes;
    t[272] ^= 0x01;
    let ed_h = EncapsulatedData::from_bytes(&t).unwrap();
    assert_eq!(sakke::decapsulate(&zpub, id, &rsk, &ed_h), Err(Error));
    // a bit flipped in R: rejected when decoding (off the curve)
    let mut t = bytes;
    t[100] ^= 0x10;
    assert!(EncapsulatedData::from_bytes(&t).is_err());
    // R replaced by another valid subgroup point
    let other = ProjectivePoint::generator()
        .mul(&Fq::random(&mut rng))
        .to_affine();
    let mut t = bytes;
    t[..257].copy_from_slice(&other.to_bytes());
    let ed_r = EncapsulatedData::from_bytes(&t).unwrap();
    assert_eq!(sakke::decapsulate(&zpub, id, &rsk, &ed_r), Err(Error));
    // wrong RSK (another identity's), wrong identity, wrong KMS key
    let rsk_other = z.issue_rsk(b"sip:eve@example.org").unwrap();
    assert_eq!(sakke::decapsulate(&zpub, id, &rsk_other, &ed), Err(Error));
    assert_eq!(
        sakke::decapsulate(&zpub, b"sip:bob@example.orh", &rsk, &ed),
        Err(Error)
    );
    let zpub2 = MasterSecret::random(&mut rng).public_key();
    assert_eq!(sakke::decapsulate(&zpub2, id, &rsk, &ed), Err(Error));
    // RSK validation fails for the wrong identity or KMS key
    assert_eq!(rsk.validate(&zpub, b"sip:eve@example.org"), Err(Error));
    assert_eq!(rsk.validate(&zpub2, id), Err(Error));
    // The prepared receiver (step 5 checked as w == g^r) rejects the same tampering, and
    // R = -R_good, R = [2]R_good and R = [r]([b]P + Z) for another r (a valid R for another
    // SSV, with this H).
    let receiver = sakke::PreparedReceiver::new(&zpub, id, &rsk).unwrap();
    assert_eq!(receiver.decapsulate(&ed).unwrap(), _ssv);
    assert_eq!(receiver.decapsulate(&ed_h), Err(Error));
    assert_eq!(receiver.decapsulate(&ed_r), Err(Error));
    let good = ProjectivePoint::from(ed.r());
    let (_, ed_other) = sakke::encapsulate(&mut rng, &zpub, id);
    for r in [
        good.neg().to_affine(),
        good.double().to_affine(),
        ed_other.r(),
    ] {
        let mut t = bytes;
        t[..257].copy_from_slice(&r.to_bytes());
        let ed_t = EncapsulatedData::from_bytes(&t).unwrap();
        assert_eq!(receiver.decapsulate(&ed_t), Err(Error));
        assert_eq!(receiver.decapsulate_minimal_w(&ed_t), Err(Error));
        assert_eq!(sakke::decapsulate(&zpub, id, &rsk, &ed_t), Err(Error));
    }
    // a receiver cannot be prepared with another identity's RSK
    assert!(sakke::PreparedReceiver::new(&zpub, id, &rsk_other).is_err());
    // wrong lengths
    assert!(EncapsulatedData::from_bytes(&bytes[..272]).is_err());
    assert!(EncapsulatedData::from_bytes(&[bytes.as_slice(), &[0]].concat()).is_err());
}

#[test]
fn no_rsk_when_identifier_plus_z_is_zero() {
    // choose z = q - a for the identifier a = 0x1234
    let id = [0x12u8, 0x34];
    let z = (-Fq::from_u64(0x1234)).to_bytes();
    let ms = MasterSecret::from_bytes(&z).unwrap();
    assert_eq!(
        ms.issue_rsk(&id).unwrap_err(),
        IssueError::NoRskForIdentifier
    );
    assert!(ms.issue_rsk(&[0x12, 0x35]).is_ok());
}

#[test]
fn master_secret_decoding() {
    assert_eq!(
        MasterSecret::from_bytes(&[0]).unwrap_err(),
        ScalarError::OutOfRange
    );
    assert_eq!(
        MasterSecret::from_bytes(&[1]).unwrap_err(),
        ScalarError::OutOfRange
    );
    assert!(MasterSecret::from_bytes(&[2]).is_ok());
    assert_eq!(
        MasterSecret::from_bytes(&hex::decode(mikey_sakke::params::Q_HEX).unwrap()).unwrap_err(),
        ScalarError::OutOfRange
    );
    // leading zero octets beyond 128 are fine; 129 significant octets are not
    let mut long = vec![0u8; 140];
    long[139] = 5;
    assert!(MasterSecret::from_bytes(&long).is_ok());
    assert_eq!(
        MasterSecret::from_bytes(&[1u8; 129]).unwrap_err(),
        ScalarError::WrongLength {
            expected: 128,
            got: 129
        }
    );
}

#[test]
fn secrets_debug_prints_no_value() {
    let ms = MasterSecret::from_bytes(&[0x42; 20]).unwrap();
    let rsk = ms.issue_rsk(b"x").unwrap();
    let ssv = Ssv::from_bytes([0x5a; 16]);
    for s in [format!("{ms:?}"), format!("{rsk:?}"), format!("{ssv:?}")] {
        assert!(
            !s.contains("42") && !s.contains("5A") && !s.contains("5a"),
            "{s}"
        );
        assert!(s.contains(".."), "{s}");
    }
}

#[test]
fn secret_types_zeroize_on_drop_and_are_not_copy() {
    fn zod<T: zeroize::ZeroizeOnDrop + Clone>() {}
    zod::<MasterSecret>();
    zod::<ReceiverSecretKey>();
    zod::<Ssv>();
    zod::<hazmat::SecretScalar>();
}

#[test]
fn fixed_base_exponentiation_of_g_agrees() {
    let mut rng = rng(9);
    // 0, 1, q - 1, small powers of two and their negatives (every digit carries), random
    let mut ks = vec![Fq::ZERO, Fq::ONE, -Fq::ONE, Fq::random(&mut rng)];
    let mut two = Fq::ONE;
    for e in 0..1022 {
        if e % 97 == 0 || e > 1015 {
            ks.push(two);
            ks.push(-two);
            ks.push(two - Fq::ONE);
        }
        two = two + two;
    }
    for k in &ks {
        assert_eq!(Gt::g_pow(k), Gt::g().pow(k));
    }
    let many = mikey_sakke::pairing::GtTable::g_wide().pow_many(&ks);
    for (k, g) in ks.iter().zip(&many) {
        assert_eq!(*g, Gt::g().pow(k));
    }
    let x = Gt::g().pow(&Fq::random(&mut rng));
    let table = mikey_sakke::pairing::GtTable::new(&x);
    let k = Fq::random(&mut rng);
    assert_eq!(table.pow(&k), x.pow(&k));
}

#[test]
fn prepared_pairing_agrees() {
    let mut rng = rng(10);
    let p = ProjectivePoint::generator();
    let k = p.mul(&Fq::random(&mut rng)).to_affine();
    let prepared = mikey_sakke::pairing::PreparedPoint::new(&k);
    for _ in 0..2 {
        let r = p.mul(&Fq::random(&mut rng)).to_affine();
        let want = pairing(&r, &k);
        let got = prepared.pairing(&r);
        assert_eq!(got, want);
        assert_eq!(got.to_bytes(), want.to_bytes());
    }
}

#[test]
fn prepared_receiver_and_recipient_agree_with_plain_operations() {
    use mikey_sakke::sakke::{PreparedReceiver, PreparedRecipient};
    let mut rng = rng(11);
    let z = MasterSecret::random(&mut rng);
    let zpub = z.public_key();
    let id = [0xc3u8; 32];
    let rsk = z.issue_rsk(&id).unwrap();
    let receiver = PreparedReceiver::new(&zpub, &id, &rsk).unwrap();
    let recipient = PreparedRecipient::new(&zpub, &id);
    let ssv = Ssv::random(&mut rng);
    let ed_plain = hazmat::encapsulate_with_ssv(&ssv, &zpub, &id);
    let ed_prep = hazmat::encapsulate_with_ssv_prepared(&ssv, &recipient);
    assert_eq!(ed_plain, ed_prep);
    assert_eq!(receiver.decapsulate(&ed_plain).unwrap(), ssv);
    let (ssv2, ed2) = recipient.encapsulate(&mut rng);
    assert_eq!(receiver.decapsulate(&ed2).unwrap(), ssv2);
    // tampering still fails
    let mut t = ed2.to_bytes();
    t[272] ^= 0x80;
    assert_eq!(
        receiver.decapsulate(&EncapsulatedData::from_bytes(&t).unwrap()),
        Err(Error)
    );
    // an RSK for another identity does not prepare
    let other = z.issue_rsk(b"someone else").unwrap();
    assert_eq!(
        PreparedReceiver::new(&zpub, &id, &other).unwrap_err(),
        Error
    );
}

#[test]
fn prepared_kms_agrees_with_plain_encapsulation() {
    let mut rng = rng(12);
    let z = MasterSecret::random(&mut rng);
    let zpub = z.public_key();
    let prepared = sakke::PreparedKms::new(&zpub);
    for id in [b"sip:a@example.org".to_vec(), vec![0xff; 32], vec![0x01]] {
        let ssv = Ssv::random(&mut rng);
        assert_eq!(
            hazmat::encapsulate_with_ssv_kms(&ssv, &prepared, &id),
            hazmat::encapsulate_with_ssv(&ssv, &zpub, &id)
        );
        let (ssv2, ed) = prepared.encapsulate(&mut rng, &id);
        let rsk = z.issue_rsk(&id).unwrap();
        assert_eq!(sakke::decapsulate(&zpub, &id, &rsk, &ed).unwrap(), ssv2);
    }
}

#[test]
fn prepared_kms_validates_rsks_like_the_plain_check() {
    let mut rng = rng(13);
    let z = MasterSecret::random(&mut rng);
    let zpub = z.public_key();
    let prepared = sakke::PreparedKms::new(&zpub);
    let other = MasterSecret::random(&mut rng);
    for id in identifiers(&mut rng) {
        let rsk = z.issue_rsk(&id).unwrap();
        assert_eq!(rsk.validate(&zpub, &id), Ok(()));
        assert_eq!(prepared.validate_rsk(&rsk, &id), Ok(()));
        // Another identifier's RSK, another KMS's RSK, and a point that is no RSK at all.
        let mut wrong_id = id.clone();
        wrong_id.push(0);
        let rsk_wrong_id = z.issue_rsk(&wrong_id).unwrap();
        let rsk_other_kms = other.issue_rsk(&id).unwrap();
        let not_an_rsk = ReceiverSecretKey::from_bytes(
            &ProjectivePoint::generator()
                .mul(&Fq::random(&mut rng))
                .to_affine()
                .to_bytes(),
        )
        .unwrap();
        for bad in [&rsk_wrong_id, &rsk_other_kms, &not_an_rsk] {
            assert_eq!(bad.validate(&zpub, &id), Err(Error));
            assert_eq!(prepared.validate_rsk(bad, &id), Err(Error));
        }
    }
}

#[test]
fn batched_encapsulation_equals_one_call_per_recipient() {
    use mikey_sakke::curve::FixedBaseTable;
    use mikey_sakke::pairing::GtTable;
    use mikey_sakke::sakke::PreparedKms;
    let mut rng = rng(41);
    let z = MasterSecret::random(&mut rng);
    let kms = z.public_key();
    let prepared = PreparedKms::new(&kms);
    let mut ssv = [0u8; 16];
    rng.fill_bytes(&mut ssv);
    let ssv = Ssv::from_bytes(ssv);
    let ids: Vec<Vec<u8>> = (0..40u8)
        .map(|i| {
            let mut id = vec![0u8; 32];
            rng.fill_bytes(&mut id);
            id.truncate(1 + usize::from(i) % 32);
            id
        })
        .collect();
    // on the 6-bit tables, then on the wide ones
    for wide in [false, true] {
        if wide {
            prepared.prepare_batches();
        }
        // 40: past the size from which the batch uses affine additions
        for n in [0usize, 1, 3, 11, 40] {
            let batch: Vec<&[u8]> = ids[..n].iter().map(Vec::as_slice).collect();
            let many = hazmat::encapsulate_many_with_ssv_kms(&ssv, &prepared, &batch);
            assert_eq!(many.len(), n);
            for (ed, id) in many.iter().zip(&batch) {
                let one = hazmat::encapsulate_with_ssv(&ssv, &kms, id);
                assert_eq!(ed.to_bytes(), one.to_bytes(), "wide {wide}, {n}");
            }
        }
    }
    // the batched building blocks on their own, with the scalar 0 among them
    let ks: Vec<Fq> = (0..5)
        .map(|i| {
            if i == 2 {
                Fq::ZERO
            } else {
                Fq::random(&mut rng)
            }
        })
        .collect();
    let table = FixedBaseTable::generator();
    for batch_table in [table, FixedBaseTable::generator_wide()] {
        let points = batch_table.mul_many(&ks);
        let affine = ProjectivePoint::batch_to_affine(&points);
        for ((k, p), a) in ks.iter().zip(&points).zip(&affine) {
            assert_eq!(p.to_affine(), table.mul(k).to_affine());
            assert_eq!(*a, p.to_affine());
        }
        assert!(bool::from(affine[2].is_identity()));
    }
    let wide = FixedBaseTable::generator_wide();
    let k = Fq::random(&mut rng);
    assert_eq!(wide.mul(&k).to_affine(), table.mul(&k).to_affine());
    let limbs = [u64::MAX; 16];
    assert_eq!(
        wide.mul_vartime(&limbs).to_affine(),
        table.mul_vartime(&limbs).to_affine()
    );
    for table in [GtTable::g(), GtTable::g_wide()] {
        let gts = table.pow_many(&ks);
        for (k, g) in ks.iter().zip(&gts) {
            assert_eq!(*g, Gt::g().pow(k));
            assert_eq!(*g, table.pow(k));
        }
    }
}
