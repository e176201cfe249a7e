//! ECCSI (RFC 6507): Appendix A end to end with every intermediate value, the MCX (TS 33.180)
//! interop key sets, random round trips, tampering and malformed inputs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use mikey_sakke::eccsi::{
    DecodeError, KmsKeyPair, Kpak, Ksak, POINT_LEN, Pvt, SIGNATURE_LEN, Signature, SigningKey, Ssk,
    VerifyingKey, hash_he, hash_hs, hazmat,
};
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use signature::{Keypair, RandomizedSigner, SignatureEncoding, Verifier};
use subtle::ConstantTimeEq;
use zeroize::ZeroizeOnDrop;

const RFC6507: &str = include_str!("../vectors/rfc6507.txt");
const MCX: &str = include_str!("../vectors/mcx-interop.txt");

/// The group order q of P-256 (RFC 6507 s4.1).
const Q_HEX: &str = "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551";

/// `name = value` lines of a vector file, `#` comments skipped.
fn vectors(text: &'static str) -> HashMap<&'static str, &'static str> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once(" = "))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect()
}

/// The hex value `name` of a vector file, decoded.
fn hexv(map: &HashMap<&str, &str>, name: &str) -> Vec<u8> {
    let v = map
        .get(name)
        .unwrap_or_else(|| panic!("vector {name} missing"));
    hex::decode(v).unwrap_or_else(|e| panic!("vector {name}: {e}"))
}

fn arr<const L: usize>(v: &[u8]) -> [u8; L] {
    v.try_into().expect("length")
}

fn rng(seed: u8) -> ChaCha20Rng {
    ChaCha20Rng::from_seed([seed; 32])
}

/// The RFC 6507 Appendix A signing key, validated.
fn rfc_key() -> (HashMap<&'static str, &'static str>, SigningKey) {
    let t = vectors(RFC6507);
    let kpak = Kpak::from_bytes(&hexv(&t, "KPAK")).unwrap();
    let ssk = Ssk::from_bytes(&hexv(&t, "SSK")).unwrap();
    let pvt = Pvt::from_bytes(&hexv(&t, "PVT")).unwrap();
    let key = SigningKey::new(&kpak, &hexv(&t, "ID"), ssk, &pvt).unwrap();
    (t, key)
}

// ------------------------------------------------------------------------------------------
// RFC 6507 Appendix A
// ------------------------------------------------------------------------------------------

#[test]
fn rfc6507_appendix_a_end_to_end() {
    let t = vectors(RFC6507);
    let id = hexv(&t, "ID");
    let msg = hexv(&t, "M");

    // KMS: KSAK -> KPAK (s4.2).
    let ksak = Ksak::from_bytes(&hexv(&t, "KSAK")).unwrap();
    let kms = KmsKeyPair::from_ksak(ksak);
    assert_eq!(kms.kpak().as_bytes()[..], hexv(&t, "KPAK")[..]);
    assert_eq!(kms.ksak().kpak(), *kms.kpak());

    // KMS: (SSK, PVT) with v = 0x23456 (s5.1.1).
    let v = hazmat::Nonce::from_bytes(&hexv(&t, "v")).unwrap();
    let (ssk, pvt) = hazmat::issue_with_v(&kms, &id, v).unwrap();
    assert_eq!(pvt.as_bytes()[..], hexv(&t, "PVT")[..]);
    assert_eq!(ssk.to_bytes()[..], hexv(&t, "SSK")[..]);
    let hs = hash_hs(kms.kpak(), &id, &pvt);
    assert_eq!(hs[..], hexv(&t, "HS")[..]);

    // User: validation (s5.1.2) keeps HS.
    let key = SigningKey::new(kms.kpak(), &id, ssk, &pvt).unwrap();
    assert_eq!(key.hs()[..], hexv(&t, "HS")[..]);
    assert_eq!(key.id(), &id[..]);
    assert_eq!(key.pvt(), &pvt);
    assert_eq!(key.kpak(), kms.kpak());
    assert_eq!(key.ssk().to_bytes()[..], hexv(&t, "SSK")[..]);

    // Sign with j = 0x34567 (s5.2.1): J, r, HE, s', s, signature.
    let j = hazmat::Nonce::from_bytes(&hexv(&t, "j")).unwrap();
    let (sig, trace) = hazmat::sign_with_j_traced(&key, &msg, j).unwrap();
    assert_eq!(trace.j[..], hexv(&t, "J")[..]);
    assert_eq!(trace.r[..], hexv(&t, "r")[..]);
    assert_eq!(trace.he[..], hexv(&t, "HE")[..]);
    assert_eq!(trace.he, hash_he(&hs, &trace.r, &msg));
    assert_eq!(trace.s_prime[..], hexv(&t, "s_prime")[..]);
    assert_eq!(trace.s[..], hexv(&t, "s")[..]);
    assert_eq!(sig.r()[..], hexv(&t, "r")[..]);
    assert_eq!(sig.s()[..], hexv(&t, "s")[..]);
    assert_eq!(sig.pvt(), &pvt);
    assert_eq!(sig.to_bytes()[..], hexv(&t, "SIG")[..]);

    // The same through the non-traced entry point.
    let j = hazmat::Nonce::from_bytes(&hexv(&t, "j")).unwrap();
    assert_eq!(hazmat::sign_with_j(&key, &msg, j).unwrap(), sig);

    // Verify (s5.2.2): HS, HE, Y, J, Jx.
    let vk = VerifyingKey::new(kms.kpak(), &id);
    let decoded = Signature::from_bytes(&hexv(&t, "SIG")).unwrap();
    assert_eq!(decoded, sig);
    let vt = hazmat::verify_traced(&vk, &msg, &decoded);
    assert_eq!(vt.hs[..], hexv(&t, "HS")[..]);
    assert_eq!(vt.he[..], hexv(&t, "HE")[..]);
    assert_eq!(vt.y.unwrap()[..], hexv(&t, "Y")[..]);
    let j_verify = vt.j.unwrap();
    assert_eq!(j_verify[..], hexv(&t, "J_verify")[..]);
    assert_eq!(j_verify[1..33], hexv(&t, "Jx")[..]);
    assert!(vt.valid);
    assert!(vk.verify(&msg, &decoded).is_ok());

    // Y cached: by the verifier, and in the signer's own verifying key.
    let prepared = vk.prepare(&pvt);
    assert_eq!(prepared.y().unwrap()[..], hexv(&t, "Y")[..]);
    assert_eq!(prepared.hs()[..], hexv(&t, "HS")[..]);
    assert!(prepared.verify(&msg, &decoded).is_ok());
    let own = key.verifying_key();
    assert_eq!(own.y().unwrap()[..], hexv(&t, "Y")[..]);
    assert_eq!(own.verifying_key(), &vk);
    assert_eq!(own.pvt(), &pvt);
    assert!(own.verify(&msg, &decoded).is_ok());
}

#[test]
fn rfc6507_vectors_are_consistent_with_the_curve() {
    let t = vectors(RFC6507);
    // G, p, q as the RFC prints them; G must decode as a point.
    assert_eq!(t["q"], Q_HEX);
    let g = Pvt::from_bytes(&hexv(&t, "G")).unwrap();
    assert_eq!(g.as_bytes()[..], hexv(&t, "G")[..]);
    assert_eq!(hexv(&t, "SIG").len(), SIGNATURE_LEN);
    assert_eq!(hexv(&t, "KPAK").len(), POINT_LEN);
}

// ------------------------------------------------------------------------------------------
// MCX (TS 33.180) interop key sets
// ------------------------------------------------------------------------------------------

const MCX_USERS: [&str; 4] = ["gms", "alice", "bob", "iwf"];

fn mcx_key(m: &HashMap<&str, &str>, user: &str) -> (Kpak, Vec<u8>, Vec<u8>, Pvt) {
    let kpak = Kpak::from_bytes(&hexv(m, "kms_PubAuthKey")).unwrap();
    let id = hexv(m, &format!("{user}_UserID"));
    let ssk = hexv(m, &format!("{user}_UserSigningKeySSK"));
    let pvt = Pvt::from_bytes(&hexv(m, &format!("{user}_UserPubTokenPVT"))).unwrap();
    (kpak, id, ssk, pvt)
}

#[test]
fn mcx_key_sets_validate_and_sign() {
    let m = vectors(MCX);
    let mut rng = rng(1);
    for user in MCX_USERS {
        let (kpak, id, ssk, pvt) = mcx_key(&m, user);
        let key = SigningKey::new(&kpak, &id, Ssk::from_bytes(&ssk).unwrap(), &pvt)
            .unwrap_or_else(|_| panic!("{user}: key set does not validate"));
        let msg = format!("I_MESSAGE from {user}");
        let sig = key.sign_with_rng(&mut rng, msg.as_bytes());
        VerifyingKey::new(&kpak, &id)
            .verify(msg.as_bytes(), &sig)
            .unwrap();
        key.verifying_key().verify(msg.as_bytes(), &sig).unwrap();
    }
}

#[test]
fn mcx_ssk_with_leading_zero_octets_and_either_hex_case() {
    let m = vectors(MCX);
    for user in MCX_USERS {
        let (kpak, id, ssk, pvt) = mcx_key(&m, user);
        // As one deployed KMS sends it: 34 octets with two leading zero octets.
        let mut long = vec![0u8, 0u8];
        long.extend_from_slice(&ssk);
        let a = Ssk::from_bytes(&long).unwrap();
        assert_eq!(a, Ssk::from_bytes(&ssk).unwrap());
        assert!(SigningKey::new(&kpak, &id, a, &pvt).is_ok(), "{user}");
        // Upper- and lower-case hex decode to the same octets.
        let upper = hex::decode(hex::encode_upper(&long)).unwrap();
        let lower = hex::decode(hex::encode(&long)).unwrap();
        assert_eq!(upper, lower);
        assert!(SigningKey::new(&kpak, &id, Ssk::from_bytes(&upper).unwrap(), &pvt).is_ok());
    }
}

#[test]
fn mcx_key_sets_do_not_validate_crosswise() {
    let m = vectors(MCX);
    let (kpak, _, alice_ssk, alice_pvt) = mcx_key(&m, "alice");
    let (_, bob_id, bob_ssk, bob_pvt) = mcx_key(&m, "bob");
    // Alice's pair under Bob's identifier, and mixed pairs, are refused.
    let ssk = || Ssk::from_bytes(&alice_ssk).unwrap();
    assert!(SigningKey::new(&kpak, &bob_id, ssk(), &alice_pvt).is_err());
    assert!(SigningKey::new(&kpak, &bob_id, ssk(), &bob_pvt).is_err());
    assert!(
        SigningKey::new(
            &kpak,
            &bob_id,
            Ssk::from_bytes(&bob_ssk).unwrap(),
            &alice_pvt
        )
        .is_err()
    );
    // Under another KPAK.
    let t = vectors(RFC6507);
    let other = Kpak::from_bytes(&hexv(&t, "KPAK")).unwrap();
    assert!(
        SigningKey::new(
            &other,
            &bob_id,
            Ssk::from_bytes(&bob_ssk).unwrap(),
            &bob_pvt
        )
        .is_err()
    );
}

// ------------------------------------------------------------------------------------------
// Random round trips
// ------------------------------------------------------------------------------------------

#[test]
fn several_pairs_per_identity() {
    let mut rng = rng(2);
    let kms = KmsKeyPair::generate(&mut rng).unwrap();
    let id = b"sip:alice@example.org";
    let (ssk1, pvt1) = kms.issue(id, &mut rng).unwrap();
    let (ssk2, pvt2) = kms.issue(id, &mut rng).unwrap();
    assert_ne!(pvt1, pvt2);
    assert_ne!(ssk1, ssk2);
    let k1 = SigningKey::new(kms.kpak(), id, ssk1, &pvt1).unwrap();
    let k2 = SigningKey::new(kms.kpak(), id, ssk2, &pvt2).unwrap();
    let vk = VerifyingKey::new(kms.kpak(), id);
    let s1 = k1.sign_with_rng(&mut rng, b"one");
    let s2 = k2.sign_with_rng(&mut rng, b"two");
    vk.verify(b"one", &s1).unwrap();
    vk.verify(b"two", &s2).unwrap();
    // A key prepared for PVT1 still verifies a signature carrying PVT2 correctly.
    let p1 = vk.prepare(&pvt1);
    p1.verify(b"one", &s1).unwrap();
    p1.verify(b"two", &s2).unwrap();
    assert!(p1.verify(b"one", &s2).is_err());
}

#[test]
fn cached_y_verifies_many_messages() {
    let mut rng = rng(3);
    let kms = KmsKeyPair::generate(&mut rng).unwrap();
    let (ssk, pvt) = kms.issue(b"gms", &mut rng).unwrap();
    let key = SigningKey::new(kms.kpak(), b"gms", ssk, &pvt).unwrap();
    let prepared = VerifyingKey::new(kms.kpak(), b"gms").prepare(&pvt);
    assert_eq!(prepared.y(), key.verifying_key().y());
    for i in 0..8u8 {
        let msg = vec![i; usize::from(i) * 7];
        let sig = key.sign_with_rng(&mut rng, &msg);
        prepared.verify(&msg, &sig).unwrap();
        assert!(prepared.verify(&[i, 0xFF], &sig).is_err());
    }
}

#[test]
fn signatures_are_randomised() {
    let (_, key) = rfc_key();
    let mut rng = rng(4);
    let a = key.sign_with_rng(&mut rng, b"m");
    let b = key.sign_with_rng(&mut rng, b"m");
    assert_ne!(a.r(), b.r());
    assert_ne!(a, b);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_round_trip(seed in any::<[u8; 32]>(), id in proptest::collection::vec(any::<u8>(), 0..40),
                         msg in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut rng = ChaCha20Rng::from_seed(seed);
        let kms = KmsKeyPair::generate(&mut rng).unwrap();
        let (ssk, pvt) = kms.issue(&id, &mut rng).unwrap();
        // Wire round trips of everything the KMS sends.
        let ssk = Ssk::from_bytes(&ssk.to_bytes()[..]).unwrap();
        let pvt = Pvt::from_bytes(pvt.as_bytes()).unwrap();
        let kpak = Kpak::from_bytes(kms.kpak().as_bytes()).unwrap();
        let key = SigningKey::new(&kpak, &id, ssk, &pvt).unwrap();
        let sig = key.try_sign_with_rng(&mut rng, &msg).unwrap();
        let bytes = sig.to_bytes();
        prop_assert_eq!(bytes.len(), SIGNATURE_LEN);
        let decoded = Signature::try_from(&bytes[..]).unwrap();
        prop_assert_eq!(decoded, sig);
        prop_assert!(VerifyingKey::new(&kpak, &id).verify(&msg, &decoded).is_ok());
        prop_assert!(key.verifying_key().verify(&msg, &decoded).is_ok());
        let mut other = msg.clone();
        other.push(0);
        prop_assert!(VerifyingKey::new(&kpak, &id).verify(&other, &decoded).is_err());
    }
}

// ------------------------------------------------------------------------------------------
// Tampering: one flipped bit anywhere fails
// ------------------------------------------------------------------------------------------

/// True iff the signature bytes decode and verify for (kpak, id, msg).
fn accepts(kpak: &[u8], id: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    let Ok(kpak) = Kpak::from_bytes(kpak) else {
        return false;
    };
    let Ok(sig) = Signature::from_bytes(sig) else {
        return false;
    };
    VerifyingKey::new(&kpak, id).verify(msg, &sig).is_ok()
}

fn flips(bytes: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    (0..bytes.len() * 8).map(move |bit| {
        let mut b = bytes.to_vec();
        b[bit / 8] ^= 1 << (bit % 8);
        b
    })
}

#[test]
fn any_flipped_bit_fails() {
    let t = vectors(RFC6507);
    let (kpak, id, msg, sig) = (
        hexv(&t, "KPAK"),
        hexv(&t, "ID"),
        hexv(&t, "M"),
        hexv(&t, "SIG"),
    );
    assert!(accepts(&kpak, &id, &msg, &sig));
    for s in flips(&sig) {
        assert!(!accepts(&kpak, &id, &msg, &s), "signature flip accepted");
    }
    for m in flips(&msg) {
        assert!(!accepts(&kpak, &id, &m, &sig), "message flip accepted");
    }
    for i in flips(&id) {
        assert!(!accepts(&kpak, &i, &msg, &sig), "ID flip accepted");
    }
    for k in flips(&kpak) {
        assert!(!accepts(&k, &id, &msg, &sig), "KPAK flip accepted");
    }
    // Truncated or extended message and ID.
    assert!(!accepts(&kpak, &id, &msg[..msg.len() - 1], &sig));
    assert!(!accepts(&kpak, &id[..id.len() - 1], &msg, &sig));
    assert!(!accepts(&kpak, &id, &[&msg[..], &[0]].concat(), &sig));
}

#[test]
fn flipped_bits_in_a_pair_fail_validation() {
    let t = vectors(RFC6507);
    let kpak = Kpak::from_bytes(&hexv(&t, "KPAK")).unwrap();
    let id = hexv(&t, "ID");
    let ssk = hexv(&t, "SSK");
    let pvt = hexv(&t, "PVT");
    let valid =
        |ssk: &[u8], pvt: &[u8], id: &[u8]| match (Ssk::from_bytes(ssk), Pvt::from_bytes(pvt)) {
            (Ok(s), Ok(p)) => SigningKey::new(&kpak, id, s, &p).is_ok(),
            _ => false,
        };
    assert!(valid(&ssk, &pvt, &id));
    for s in flips(&ssk) {
        assert!(!valid(&s, &pvt, &id));
    }
    for p in flips(&pvt) {
        assert!(!valid(&ssk, &p, &id));
    }
    for i in flips(&id) {
        assert!(!valid(&ssk, &pvt, &i));
    }
}

// ------------------------------------------------------------------------------------------
// Malformed signatures and encodings
// ------------------------------------------------------------------------------------------

fn with_part(sig: &[u8], offset: usize, part: &[u8]) -> Vec<u8> {
    let mut s = sig.to_vec();
    s[offset..offset + part.len()].copy_from_slice(part);
    s
}

#[test]
fn bad_signatures_are_rejected() {
    let t = vectors(RFC6507);
    let sig = hexv(&t, "SIG");
    let q = hex::decode(Q_HEX).unwrap();
    let dec = |s: &[u8]| Signature::from_bytes(s);

    // r = 0.
    assert_eq!(
        dec(&with_part(&sig, 0, &[0; 32])),
        Err(DecodeError::Zero { what: "r" })
    );
    // s = 0, s = q, s = q + 1, s = 2^256 - 1.
    assert_eq!(
        dec(&with_part(&sig, 32, &[0; 32])),
        Err(DecodeError::Zero { what: "s" })
    );
    assert_eq!(
        dec(&with_part(&sig, 32, &q)),
        Err(DecodeError::OutOfRange { what: "s" })
    );
    let mut q1 = q.clone();
    q1[31] += 1;
    assert_eq!(
        dec(&with_part(&sig, 32, &q1)),
        Err(DecodeError::OutOfRange { what: "s" })
    );
    assert_eq!(
        dec(&with_part(&sig, 32, &[0xFF; 32])),
        Err(DecodeError::OutOfRange { what: "s" })
    );
    // s = q - 1 decodes (and does not verify).
    let mut qm1 = q.clone();
    qm1[31] -= 1;
    let s = dec(&with_part(&sig, 32, &qm1)).unwrap();
    assert!(!accepts(
        &hexv(&t, "KPAK"),
        &hexv(&t, "ID"),
        &hexv(&t, "M"),
        &s.to_bytes()
    ));

    // PVT = identity: the 65-octet all-zero string, 0x04 with zero coordinates, and the
    // 1-octet SEC1 identity (wrong length of the whole signature).
    assert_eq!(
        dec(&with_part(&sig, 64, &[0; 65])),
        Err(DecodeError::InvalidPointTag {
            what: "PVT",
            tag: 0
        })
    );
    let mut zero_point = [0u8; 65];
    zero_point[0] = 4;
    assert_eq!(
        dec(&with_part(&sig, 64, &zero_point)),
        Err(DecodeError::NotOnCurve { what: "PVT" })
    );
    assert_eq!(
        dec(&[&sig[..64], &[0u8][..]].concat()),
        Err(DecodeError::InvalidLength {
            what: "signature",
            expected: 129,
            actual: 65
        })
    );
    // PVT off the curve (y + 1), and with a coordinate >= p.
    let mut off = sig.clone();
    off[128] ^= 1;
    assert_eq!(dec(&off), Err(DecodeError::NotOnCurve { what: "PVT" }));
    assert_eq!(
        dec(&with_part(&sig, 65, &[0xFF; 32])),
        Err(DecodeError::CoordinateOutOfRange { what: "PVT" })
    );
    // Compressed PVT tag.
    assert_eq!(
        dec(&with_part(&sig, 64, &[2])),
        Err(DecodeError::InvalidPointTag {
            what: "PVT",
            tag: 2
        })
    );
    // Wrong lengths.
    for len in [0, 1, 128, 130, 64 + 33] {
        let mut s = sig.clone();
        s.resize(len, 0);
        assert!(
            matches!(dec(&s), Err(DecodeError::InvalidLength { .. })),
            "len {len}"
        );
    }
}

#[test]
fn malleated_signature_behaves_as_in_the_rfc() {
    // s -> q - s negates J, which keeps Jx: RFC 6507 verification accepts it, as ECDSA does.
    // Recorded here so that a change of policy is a conscious one.
    let t = vectors(RFC6507);
    let sig = hexv(&t, "SIG");
    let q = num_bigint::BigUint::parse_bytes(Q_HEX.as_bytes(), 16).unwrap();
    let s = num_bigint::BigUint::from_bytes_be(&sig[32..64]);
    let twin_s = (&q - &s).to_bytes_be();
    let mut padded = vec![0u8; 32 - twin_s.len()];
    padded.extend_from_slice(&twin_s);
    let twin = with_part(&sig, 32, &padded);
    assert!(accepts(
        &hexv(&t, "KPAK"),
        &hexv(&t, "ID"),
        &hexv(&t, "M"),
        &twin
    ));
}

#[test]
fn points_are_decoded_strictly() {
    let t = vectors(RFC6507);
    let kpak = hexv(&t, "KPAK");
    assert!(Kpak::from_bytes(&kpak).is_ok());
    assert_eq!(
        Kpak::from_bytes(&kpak[..64]),
        Err(DecodeError::InvalidLength {
            what: "KPAK",
            expected: 65,
            actual: 64
        })
    );
    assert_eq!(
        Kpak::from_bytes(&[&kpak[..], &[0]].concat()),
        Err(DecodeError::InvalidLength {
            what: "KPAK",
            expected: 65,
            actual: 66
        })
    );
    assert_eq!(
        Kpak::from_bytes(&[]),
        Err(DecodeError::InvalidLength {
            what: "KPAK",
            expected: 65,
            actual: 0
        })
    );
    assert_eq!(
        Pvt::from_bytes(&[0]),
        Err(DecodeError::InvalidLength {
            what: "PVT",
            expected: 65,
            actual: 1
        })
    );
    // Compressed form (33 octets) is not accepted.
    let mut compressed = vec![0x02 | (kpak[64] & 1)];
    compressed.extend_from_slice(&kpak[1..33]);
    assert!(matches!(
        Kpak::from_bytes(&compressed),
        Err(DecodeError::InvalidLength { .. })
    ));
    // x = p is out of range; (x, y) off the curve.
    let p = hexv(&t, "p");
    let mut at_p = kpak.clone();
    at_p[1..33].copy_from_slice(&p);
    assert_eq!(
        Kpak::from_bytes(&at_p),
        Err(DecodeError::CoordinateOutOfRange { what: "KPAK" })
    );
    let mut off = kpak.clone();
    off[40] ^= 0x10;
    assert_eq!(
        Kpak::from_bytes(&off),
        Err(DecodeError::NotOnCurve { what: "KPAK" })
    );
    // The error texts are one line and name the value.
    let e = Kpak::from_bytes(&off).unwrap_err().to_string();
    assert!(e.starts_with("KPAK") && !e.contains('\n'), "{e}");
}

#[test]
fn scalars_are_decoded_leniently_but_in_range() {
    let t = vectors(RFC6507);
    let q = hex::decode(Q_HEX).unwrap();
    // Minimal encodings (Appendix A writes KSAK = 0x12345).
    let short = Ksak::from_bytes(&[0x01, 0x23, 0x45]).unwrap();
    let mut padded = [0u8; 32];
    padded[29..].copy_from_slice(&[0x01, 0x23, 0x45]);
    assert_eq!(short, Ksak::from_bytes(&padded).unwrap());
    assert_eq!(short.to_bytes()[..], padded[..]);
    assert_eq!(short.kpak().as_bytes()[..], hexv(&t, "KPAK")[..]);
    // Leading zero octets, many of them.
    let ssk = hexv(&t, "SSK");
    let long = [&[0u8; 10][..], &ssk].concat();
    assert_eq!(
        Ssk::from_bytes(&long).unwrap(),
        Ssk::from_bytes(&ssk).unwrap()
    );
    // A non-zero extra octet makes it >= 2^256 > q.
    let over = [&[1u8][..], &ssk].concat();
    assert_eq!(
        Ssk::from_bytes(&over),
        Err(DecodeError::OutOfRange { what: "SSK" })
    );
    let over = [&[1u8, 0u8][..], &ssk].concat();
    assert_eq!(
        Ssk::from_bytes(&over),
        Err(DecodeError::OutOfRange { what: "SSK" })
    );
    // q, q + 1, 2^256 - 1 are out of range; q - 1 and 1 are fine.
    assert_eq!(
        Ssk::from_bytes(&q),
        Err(DecodeError::OutOfRange { what: "SSK" })
    );
    assert_eq!(
        Ssk::from_bytes(&[&[0u8, 0u8][..], &q].concat()),
        Err(DecodeError::OutOfRange { what: "SSK" })
    );
    assert_eq!(
        Ksak::from_bytes(&[0xFF; 32]),
        Err(DecodeError::OutOfRange { what: "KSAK" })
    );
    let mut qm1 = q.clone();
    qm1[31] -= 1;
    assert!(Ssk::from_bytes(&qm1).is_ok());
    assert!(Ssk::from_bytes(&[1]).is_ok());
    // Zero, in any length, and nothing at all.
    assert_eq!(
        Ssk::from_bytes(&[0]),
        Err(DecodeError::Zero { what: "SSK" })
    );
    assert_eq!(
        Ssk::from_bytes(&[0; 34]),
        Err(DecodeError::Zero { what: "SSK" })
    );
    assert_eq!(
        Ksak::from_bytes(&[0; 32]),
        Err(DecodeError::Zero { what: "KSAK" })
    );
    assert_eq!(
        Ssk::from_bytes(&[]),
        Err(DecodeError::Empty { what: "SSK" })
    );
    assert!(matches!(
        hazmat::Nonce::from_bytes(&[0; 3]),
        Err(DecodeError::Zero { .. })
    ));
    assert!(matches!(
        hazmat::Nonce::from_bytes(&q),
        Err(DecodeError::OutOfRange { .. })
    ));
}

#[test]
fn unvalidated_pairs_are_refused() {
    let (t, _) = rfc_key();
    let kpak = Kpak::from_bytes(&hexv(&t, "KPAK")).unwrap();
    let id = hexv(&t, "ID");
    let pvt = Pvt::from_bytes(&hexv(&t, "PVT")).unwrap();
    // SSK + 1.
    let mut ssk = hexv(&t, "SSK");
    ssk[31] ^= 1;
    assert!(SigningKey::new(&kpak, &id, Ssk::from_bytes(&ssk).unwrap(), &pvt).is_err());
    // PVT = G (a valid point, the wrong one).
    let g = Pvt::from_bytes(&hexv(&t, "G")).unwrap();
    let ssk = Ssk::from_bytes(&hexv(&t, "SSK")).unwrap();
    assert!(SigningKey::new(&kpak, &id, ssk, &g).is_err());
    // KPAK = PVT.
    let ssk = Ssk::from_bytes(&hexv(&t, "SSK")).unwrap();
    let as_kpak = Kpak::from_bytes(&hexv(&t, "PVT")).unwrap();
    assert!(SigningKey::new(&as_kpak, &id, ssk, &pvt).is_err());
}

// ------------------------------------------------------------------------------------------
// Traits and secret hygiene
// ------------------------------------------------------------------------------------------

#[test]
fn signature_traits() {
    let (t, key) = rfc_key();
    let sig = Signature::from_bytes(&hexv(&t, "SIG")).unwrap();
    assert_eq!(SignatureEncoding::to_bytes(&sig)[..], hexv(&t, "SIG")[..]);
    assert_eq!(sig.encoded_len(), SIGNATURE_LEN);
    assert_eq!(
        <[u8; SIGNATURE_LEN]>::from(sig),
        arr::<SIGNATURE_LEN>(&hexv(&t, "SIG"))
    );
    let vk: mikey_sakke::eccsi::PreparedVerifyingKey = Keypair::verifying_key(&key);
    vk.verify(&hexv(&t, "M"), &sig).unwrap();
    let mut rng = rng(9);
    let s2 = RandomizedSigner::try_sign_with_rng(&key, &mut rng, b"x").unwrap();
    vk.verify(b"x", &s2).unwrap();
    // Debug of public values shows them.
    assert!(format!("{sig:?}").contains(&t["r"][..16]));
}

/// Fails to compile if `T: Copy` (ambiguous impl).
trait AmbiguousIfCopy<A> {
    fn check() {}
}
impl<T> AmbiguousIfCopy<()> for T {}
impl<T: Copy> AmbiguousIfCopy<u8> for T {}

fn zeroize_on_drop<T: ZeroizeOnDrop>() {}

#[test]
fn secrets_are_hygienic() {
    <Ksak as AmbiguousIfCopy<_>>::check();
    <Ssk as AmbiguousIfCopy<_>>::check();
    <SigningKey as AmbiguousIfCopy<_>>::check();
    <KmsKeyPair as AmbiguousIfCopy<_>>::check();
    <hazmat::Nonce as AmbiguousIfCopy<_>>::check();
    zeroize_on_drop::<Ksak>();
    zeroize_on_drop::<Ssk>();
    zeroize_on_drop::<SigningKey>();
    zeroize_on_drop::<KmsKeyPair>();
    zeroize_on_drop::<hazmat::Nonce>();

    let (t, key) = rfc_key();
    let ssk_hex = t["SSK"];
    let ksak = Ksak::from_bytes(&hexv(&t, "KSAK")).unwrap();
    let kms = KmsKeyPair::from_ksak(ksak.clone());
    let j = hazmat::Nonce::from_bytes(&hexv(&t, "j")).unwrap();
    for (name, dbg) in [
        ("ssk", format!("{:?}", key.ssk())),
        ("key", format!("{key:?}")),
        ("ksak", format!("{ksak:?}")),
        ("kms", format!("{kms:?}")),
        ("j", format!("{j:?}")),
    ] {
        for secret in [ssk_hex, "12345", "34567"] {
            assert!(
                !dbg.to_uppercase().contains(secret),
                "{name} Debug shows a secret: {dbg}"
            );
        }
        assert!(
            !dbg.contains("Scalar(") && !dbg.contains("0x"),
            "{name}: {dbg}"
        );
    }
    // Constant-time equality.
    let a = Ssk::from_bytes(&hexv(&t, "SSK")).unwrap();
    assert!(bool::from(a.ct_eq(key.ssk())));
    assert!(!bool::from(a.ct_eq(&Ssk::from_bytes(&[1]).unwrap())));
    assert!(bool::from(
        j.ct_eq(&hazmat::Nonce::from_bytes(&hexv(&t, "j")).unwrap())
    ));
}

#[test]
fn broken_rng_is_an_error_not_a_hang() {
    /// An RNG that only ever returns zero octets.
    struct Zeros;
    impl rand_core::TryRng for Zeros {
        type Error = core::convert::Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            Ok(0)
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            Ok(0)
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
            dst.fill(0);
            Ok(())
        }
    }
    impl rand_core::TryCryptoRng for Zeros {}
    assert!(KmsKeyPair::generate(&mut Zeros).is_err());
    let (_, key) = rfc_key();
    assert!(key.try_sign_with_rng(&mut Zeros, b"m").is_err());
    let kms = KmsKeyPair::from_ksak(Ksak::from_bytes(&[7]).unwrap());
    assert!(kms.issue(b"id", &mut Zeros).is_err());
}
