//! Interoperability with deployed peers beyond the RFC text (spec notes s6): SAKKE data with a
//! minimal-length H (272 octets), senders that hash g^r in minimal length (both directions),
//! and signatures that exclude the two SIGN header octets. Every such message is built here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mikey_sakke::eccsi::{KmsKeyPair, SigningKey};
use mikey_sakke::mcx::imessage::{
    self, Initiator, KeyKind, MessageSpec, ReceiveError, Receiver, Responder, TimeCheck,
};
use mikey_sakke::mcx::key_id::{KeyId, PurposeTag};
use mikey_sakke::mikey::sakke_steps::StepError;
use mikey_sakke::mikey::{self, Payload, Sakke};
use mikey_sakke::sakke::{
    self, KmsPublicKey, MasterSecret, PreparedReceiver, PreparedRecipient, Ssv, hazmat,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

struct World {
    rng: ChaCha20Rng,
    zpub: KmsPublicKey,
    signer: SigningKey,
    eccsi: KmsKeyPair,
    receiver: PreparedReceiver,
    recipient: PreparedRecipient,
    uid: [u8; 32],
}

fn world() -> World {
    let mut rng = ChaCha20Rng::seed_from_u64(272);
    let z = MasterSecret::random(&mut rng);
    let zpub = z.public_key();
    let eccsi = KmsKeyPair::generate(&mut rng).unwrap();
    let sender_uid = [0x11u8; 32];
    let (ssk, pvt) = eccsi.issue(&sender_uid, &mut rng).unwrap();
    let signer = SigningKey::new(eccsi.kpak(), &sender_uid, ssk, &pvt).unwrap();
    let uid = [0xa2u8; 32];
    let rsk = z.issue_rsk(&uid).unwrap();
    let receiver = PreparedReceiver::new(&zpub, &uid, &rsk).unwrap();
    let recipient = PreparedRecipient::new(&zpub, &uid);
    World {
        rng,
        zpub,
        signer,
        eccsi,
        receiver,
        recipient,
        uid,
    }
}

fn build(w: &mut World, key: &Ssv) -> Vec<u8> {
    let spec = MessageSpec {
        key,
        kind: KeyKind::Other {
            key_id: KeyId::new(PurposeTag::Pck, 0x123),
        },
        cs_id: Some(0),
        ntp_time: 1 << 40,
        rand: [5; 16],
        key_params: None,
        sakke_to_self: None,
    };
    imessage::build(
        &mut w.rng,
        &Initiator {
            signer: &w.signer,
            kms_uri: b"kms",
        },
        &Responder {
            uid: &w.uid,
            kms_uri: b"kms",
            kms_public_key: &w.zpub,
            prepared_kms: None,
        },
        &spec,
    )
    .unwrap()
}

/// Replaces the SAKKE data of a built message and signs it again (RFC 3830 coverage, or
/// without the SIGN header when `no_header`).
fn resign_with_sakke_data(w: &mut World, octets: &[u8], data: &[u8], no_header: bool) -> Vec<u8> {
    let msg = mikey::parse(octets).unwrap();
    let (hdr, mut payloads) = msg.into_parts();
    for p in payloads.iter_mut() {
        if let Payload::Sakke(s) = p {
            *p = Payload::Sakke(Sakke {
                params: s.params,
                id_scheme: s.id_scheme,
                data,
            });
        }
    }
    let mut out = mikey::Message::new(hdr, payloads).unwrap().encode();
    let end = out.len() - 129 - if no_header { 2 } else { 0 };
    let sig = w.signer.try_sign_with_rng(&mut w.rng, &out[..end]).unwrap();
    let n = out.len();
    out[n - 129..].copy_from_slice(&sig.to_bytes());
    out
}

fn receiver<'a>(w: &'a World, compat_sig: bool, compat_w: bool) -> Receiver<'a> {
    Receiver {
        uid: &w.uid,
        user_uri: None,
        kms_public_key: &w.zpub,
        rsk: &w.receiver,
        kpak: w.eccsi.kpak(),
        key_period: None,
        expected_initiator: None,
        compat_signature: compat_sig,
        compat_minimal_w: compat_w,
        compat_legacy_key_params: false,
    }
}

#[test]
fn sakke_data_of_272_octets_is_accepted() {
    let mut w = world();
    // find an SSV whose H starts with a zero octet (1 in 256)
    let (ssv, ed) = loop {
        let (ssv, ed) = w.recipient.encapsulate(&mut w.rng);
        if ed.h()[0] == 0 {
            break (ssv, ed);
        }
    };
    let octets = build(&mut w, &ssv);
    let full = ed.to_bytes();
    let short: Vec<u8> = [&full[..257], &full[258..]].concat();
    assert_eq!(short.len(), 272);
    let msg = resign_with_sakke_data(&mut w, &octets, &short, false);
    let got =
        imessage::receive(&receiver(&w, false, false), TimeCheck::Disabled, None, &msg).unwrap();
    assert_eq!(got.key, ssv);
    // 271 octets is not
    let shorter = resign_with_sakke_data(&mut w, &octets, &short[..271], false);
    let r = imessage::receive(
        &receiver(&w, false, false),
        TimeCheck::Disabled,
        None,
        &shorter,
    );
    assert!(matches!(
        r,
        Err(ReceiveError::Step(StepError::BadEncapsulatedData(
            mikey_sakke::PointError::WrongLength {
                expected: 273,
                got: 271
            }
        )))
    ));
}

#[test]
fn minimal_length_gr_senders_are_understood_only_in_compat_mode() {
    let mut w = world();
    let ssv = loop {
        let s = Ssv::random(&mut w.rng);
        if hazmat::gr_has_leading_zero_octet(&s, &w.uid) {
            break s;
        }
    };
    // at the SAKKE layer
    let buggy = hazmat::encapsulate_minimal_gr(&ssv, &w.zpub, &w.uid);
    assert!(w.receiver.decapsulate(&buggy).is_err());
    assert_eq!(w.receiver.decapsulate_minimal_w(&buggy).unwrap(), ssv);
    // the retry never accepts a correct-but-different message as something else
    let good = hazmat::encapsulate_with_ssv(&ssv, &w.zpub, &w.uid);
    assert!(w.receiver.decapsulate_minimal_w(&good).is_err());
    assert_eq!(w.receiver.decapsulate(&good).unwrap(), ssv);
    // at the message layer
    let octets = build(&mut w, &ssv);
    let msg = resign_with_sakke_data(&mut w, &octets, &buggy.to_bytes(), false);
    let r = imessage::receive(&receiver(&w, false, false), TimeCheck::Disabled, None, &msg);
    assert!(matches!(
        r,
        Err(ReceiveError::Step(StepError::DecapsulationFailed))
    ));
    let got =
        imessage::receive(&receiver(&w, false, true), TimeCheck::Disabled, None, &msg).unwrap();
    assert_eq!(got.key, ssv);
}

#[test]
fn interop_safe_senders_are_understood_by_both_conventions() {
    let mut w = world();
    for _ in 0..4 {
        let (ssv, ed) = sakke::encapsulate_interop_safe(&mut w.rng, &w.zpub, &w.uid);
        assert!(!hazmat::gr_has_leading_zero_octet(&ssv, &w.uid));
        assert_eq!(w.receiver.decapsulate(&ed).unwrap(), ssv);
        // a peer with the minimal-length bug computes the same mask
        assert_eq!(hazmat::encapsulate_minimal_gr(&ssv, &w.zpub, &w.uid), ed);
    }
}

#[test]
fn signatures_without_the_sign_header_need_the_compat_mode() {
    let mut w = world();
    let ssv = Ssv::random(&mut w.rng);
    let octets = build(&mut w, &ssv);
    let ed = mikey::parse(&octets)
        .unwrap()
        .sakke()
        .unwrap()
        .data
        .to_vec();
    let alt = resign_with_sakke_data(&mut w, &octets, &ed, true);
    let r = imessage::receive(&receiver(&w, false, false), TimeCheck::Disabled, None, &alt);
    assert!(matches!(
        r,
        Err(ReceiveError::Step(StepError::BadSignature))
    ));
    let got =
        imessage::receive(&receiver(&w, true, false), TimeCheck::Disabled, None, &alt).unwrap();
    assert_eq!(got.key, ssv);
    assert!(got.signature_compat_used);
    // the RFC coverage needs no compat mode
    let got = imessage::receive(
        &receiver(&w, false, false),
        TimeCheck::Disabled,
        None,
        &octets,
    )
    .unwrap();
    assert!(!got.signature_compat_used);
}

/// Rebuilds a message with its payload list edited, and signs it again.
fn resign_edited(
    w: &mut World,
    octets: &[u8],
    edit: impl FnOnce(&mut Vec<Payload<'_>>),
) -> Vec<u8> {
    let msg = mikey::parse(octets).unwrap();
    let (hdr, mut payloads) = msg.into_parts();
    edit(&mut payloads);
    let mut out = mikey::Message::new(hdr, payloads).unwrap().encode();
    let end = out.len() - 129;
    let sig = w.signer.try_sign_with_rng(&mut w.rng, &out[..end]).unwrap();
    out[end..].copy_from_slice(&sig.to_bytes());
    out
}

#[test]
fn duplicate_or_missing_mandatory_payloads_are_rejected() {
    let mut w = world();
    let ssv = Ssv::random(&mut w.rng);
    let octets = build(&mut w, &ssv);
    let rx = |w: &World, m: &[u8]| {
        imessage::receive(&receiver(w, false, false), TimeCheck::Disabled, None, m)
    };
    assert!(rx(&w, &octets).is_ok());
    let pos = |ps: &Vec<Payload<'_>>, f: fn(&Payload<'_>) -> bool| ps.iter().position(f).unwrap();
    // duplicates
    for (name, f) in [
        (
            "RAND",
            (|p: &Payload<'_>| matches!(p, Payload::Rand(_))) as fn(&Payload<'_>) -> bool,
        ),
        ("T", |p| matches!(p, Payload::T(_))),
        ("SAKKE", |p| matches!(p, Payload::Sakke(_))),
    ] {
        let m = resign_edited(&mut w, &octets, |ps| {
            let i = pos(ps, f);
            let dup = ps[i].clone();
            ps.insert(i, dup);
        });
        assert!(
            matches!(rx(&w, &m), Err(ReceiveError::Step(StepError::DuplicatePayload(n))) if n == name),
            "{name}: {:?}",
            rx(&w, &m)
        );
        // missing
        let m = resign_edited(&mut w, &octets, |ps| {
            let i = pos(ps, f);
            ps.remove(i);
        });
        assert!(
            matches!(rx(&w, &m), Err(ReceiveError::Step(StepError::MissingPayload(n))) if n == name),
            "{name}: {:?}",
            rx(&w, &m)
        );
    }
    // missing responder / initiator identities
    let m = resign_edited(&mut w, &octets, |ps| {
        ps.retain(|p| !matches!(p, Payload::Idr(i) if i.role == mikey::IdRole::HASHED_RESPONDER))
    });
    assert!(matches!(
        rx(&w, &m),
        Err(ReceiveError::Step(StepError::MissingPayload("IDRuidr")))
    ));
    // a message without SIGN
    let msg = mikey::parse(&octets).unwrap();
    let (hdr, mut payloads) = msg.into_parts();
    payloads.pop();
    let unsigned = mikey::Message::new(hdr, payloads).unwrap().encode();
    assert!(matches!(
        rx(&w, &unsigned),
        Err(ReceiveError::Step(StepError::MissingPayload("SIGN")))
    ));
}

#[test]
fn csk_musik_and_pck_messages_round_trip() {
    let mut w = world();
    for (tag, cs) in [
        (PurposeTag::Csk, Some(6u8)),
        (PurposeTag::Musik, Some(7)),
        (PurposeTag::Pck, None),
    ] {
        let key = Ssv::random(&mut w.rng);
        let key_id = KeyId::random(tag, &mut w.rng);
        let spec = MessageSpec {
            key: &key,
            kind: KeyKind::Other { key_id },
            cs_id: cs,
            ntp_time: 1 << 40,
            rand: [9; 16],
            key_params: None,
            sakke_to_self: None,
        };
        let msg = imessage::build(
            &mut w.rng,
            &Initiator {
                signer: &w.signer,
                kms_uri: b"kms",
            },
            &Responder {
                uid: &w.uid,
                kms_uri: b"kms",
                kms_public_key: &w.zpub,
                prepared_kms: None,
            },
            &spec,
        )
        .unwrap();
        let got = imessage::receive(&receiver(&w, false, false), TimeCheck::Disabled, None, &msg)
            .unwrap();
        assert_eq!(got.key, key);
        assert_eq!(got.key_id, key_id);
        assert_eq!(got.purpose, Some(tag));
        assert_eq!(got.cs_id, cs);
        assert_eq!(got.srtp.is_some(), cs.is_some());
    }
}
