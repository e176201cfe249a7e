//! MIKEY-SAKKE I_MESSAGEs in the TS 33.180 profile: the four published interop messages are
//! verified and decapsulated with the published key sets; messages built here round-trip; every
//! receiver check rejects what it must.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine;
use common::{MCX, get, parse, with_negated_s};
use mikey_sakke::eccsi::{KmsKeyPair, Kpak, Pvt, SigningKey, Ssk};
use mikey_sakke::mcx::imessage::{
    self, Initiator, KeyKind, KeyParamsSpec, MessageSpec, ReceiveError, Receiver, ReplayCache,
    Responder, TimeCheck,
};
use mikey_sakke::mcx::key_id::{KeyId, PurposeTag, guk_id};
use mikey_sakke::mcx::key_params::{KeyParameters, STATUS_NOT_REVOKED};
use mikey_sakke::mcx::uid::{KeyPeriods, Uid, uid};
use mikey_sakke::mikey::sakke_steps::StepError;
use mikey_sakke::sakke::{KmsPublicKey, MasterSecret, PreparedReceiver, ReceiverSecretKey, Ssv};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::collections::HashMap;

fn text(name: &str) -> String {
    MCX.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} = ")))
        .unwrap()
        .trim()
        .to_string()
}

fn b64(name: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text(name))
        .unwrap()
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes(b.try_into().unwrap())
}

const T_SECONDS: u64 = 0xEC89_8DA8;

struct Published {
    v: HashMap<String, Vec<u8>>,
    z: KmsPublicKey,
    kpak: Kpak,
    periods: KeyPeriods,
}

fn published() -> Published {
    let v = parse(MCX);
    let z = KmsPublicKey::from_bytes(get(&v, "kms_PubEncKey")).unwrap();
    let kpak = Kpak::from_bytes(get(&v, "kms_PubAuthKey")).unwrap();
    let periods = KeyPeriods {
        length: 16_777_215,
        offset: 0,
    };
    Published {
        v,
        z,
        kpak,
        periods,
    }
}

/// Receives a published message as `who`, sent by `from`.
fn receive_published(
    p: &Published,
    msg: &str,
    who: &str,
    from: &str,
    legacy: bool,
) -> Result<imessage::ReceivedKey, ReceiveError> {
    let uid: Uid = get(&p.v, &format!("{who}_UserID")).try_into().unwrap();
    let from_uid: Uid = get(&p.v, &format!("{from}_UserID")).try_into().unwrap();
    let rsk = ReceiverSecretKey::from_bytes(get(&p.v, &format!("{who}_UserDecryptKey"))).unwrap();
    let prepared = PreparedReceiver::new(&p.z, &uid, &rsk).unwrap();
    let uri = text(&format!("{who}_UserUri"));
    let receiver = Receiver {
        uid: &uid,
        user_uri: Some(uri.as_bytes()),
        kms_public_key: &p.z,
        rsk: &prepared,
        kpak: &p.kpak,
        key_period: Some((p.periods, 236)),
        expected_initiator: Some(&from_uid),
        compat_signature: false,
        compat_minimal_w: false,
        compat_legacy_key_params: legacy,
    };
    imessage::receive(
        &receiver,
        TimeCheck::Window {
            now: T_SECONDS + 30,
            max_skew: 300,
        },
        Some(&mut ReplayCache::new(16)),
        &b64(msg),
    )
}

#[test]
fn published_gmk_message() {
    let p = published();
    let got = receive_published(&p, "gmk_I_MESSAGE_b64", "alice", "gms", false).unwrap();
    assert_eq!(got.key.as_bytes().to_vec(), get(&p.v, "gmk_GMK"));
    assert_eq!(got.key_id, KeyId(be32(get(&p.v, "gmk_GMK_ID"))));
    assert_eq!(got.csb_id, KeyId(be32(get(&p.v, "gmk_GUK_ID"))));
    assert_eq!(got.purpose, Some(PurposeTag::Gmk));
    assert_eq!(got.rand, get(&p.v, "gmk_GMK_RAND"));
    assert_eq!(got.initiator_uid, get(&p.v, "gms_UserID"));
    assert_eq!(got.cs_id, Some(4));
    let srtp = got.srtp.as_ref().unwrap();
    assert_eq!(
        srtp.key.to_vec(),
        get(&p.v, "gmk_srtp_master_key_derived_here")
    );
    assert_eq!(
        srtp.salt.to_vec(),
        get(&p.v, "gmk_srtp_master_salt_derived_here")
    );
    assert_eq!(
        got.key_params.as_ref().unwrap().encode().unwrap(),
        get(&p.v, "gmk_key_parameters_plaintext")
    );
    assert!(!got.signature_compat_used);
}

#[test]
fn published_csk_and_pck_messages() {
    let p = published();
    let csk = receive_published(&p, "csk_I_MESSAGE_b64", "gms", "alice", false).unwrap();
    assert_eq!(csk.key.as_bytes().to_vec(), get(&p.v, "csk_CSK"));
    assert_eq!(csk.key_id, KeyId(be32(get(&p.v, "csk_CSK_ID"))));
    assert_eq!(csk.purpose, Some(PurposeTag::Csk));
    assert_eq!(csk.rand, get(&p.v, "csk_CSK_RAND"));
    let pck = receive_published(&p, "pck_I_MESSAGE_b64", "bob", "alice", false).unwrap();
    assert_eq!(pck.key.as_bytes().to_vec(), get(&p.v, "pck_PCK"));
    assert_eq!(pck.key_id, KeyId(be32(get(&p.v, "pck_PCK_ID"))));
    assert_eq!(pck.purpose, Some(PurposeTag::Pck));
}

#[test]
fn published_legacy_gmk_message_needs_the_compat_mode() {
    let p = published();
    let err =
        receive_published(&p, "gmk_legacy_iwf_I_MESSAGE_b64", "iwf", "gms", false).unwrap_err();
    assert!(matches!(err, ReceiveError::KeyParameters(_)), "{err}");
    let got = receive_published(&p, "gmk_legacy_iwf_I_MESSAGE_b64", "iwf", "gms", true).unwrap();
    assert_eq!(got.key.as_bytes().to_vec(), get(&p.v, "gmk_legacy_iwf_GMK"));
    assert_eq!(got.rand, get(&p.v, "gmk_legacy_iwf_GMK_RAND"));
    assert!(got.key_params_legacy);
    assert_eq!(got.key_params.unwrap().key_type, 0);
}

#[test]
fn receiver_checks_reject_with_the_right_error() {
    let p = published();
    let msg = b64("gmk_I_MESSAGE_b64");
    let uid: Uid = get(&p.v, "alice_UserID").try_into().unwrap();
    let rsk = ReceiverSecretKey::from_bytes(get(&p.v, "alice_UserDecryptKey")).unwrap();
    let prepared = PreparedReceiver::new(&p.z, &uid, &rsk).unwrap();
    let mut receiver = Receiver {
        uid: &uid,
        user_uri: None,
        kms_public_key: &p.z,
        rsk: &prepared,
        kpak: &p.kpak,
        key_period: Some((p.periods, 236)),
        expected_initiator: None,
        compat_signature: false,
        compat_minimal_w: false,
        compat_legacy_key_params: false,
    };
    let window = TimeCheck::Window {
        now: T_SECONDS,
        max_skew: 60,
    };
    // replay
    let mut cache = ReplayCache::new(8);
    imessage::receive(&receiver, window, Some(&mut cache), &msg).unwrap();
    assert!(matches!(
        imessage::receive(&receiver, window, Some(&mut cache), &msg),
        Err(ReceiveError::Step(StepError::Replay))
    ));
    // expired and future timestamps
    for now in [T_SECONDS + 61, T_SECONDS - 61, T_SECONDS + 86_400 * 365] {
        let r = imessage::receive(
            &receiver,
            TimeCheck::Window { now, max_skew: 60 },
            None,
            &msg,
        );
        assert!(
            matches!(
                r,
                Err(ReceiveError::Step(StepError::TimestampOutOfWindow { .. }))
            ),
            "{r:?}"
        );
    }
    // a flipped bit in the signature, and anywhere in the signed part
    for i in [msg.len() - 1, msg.len() - 100, 0x30, 300, 550] {
        let mut t = msg.clone();
        t[i] ^= 0x04;
        let r = imessage::receive(&receiver, TimeCheck::Disabled, None, &t);
        assert!(r.is_err(), "flip at {i}");
        if i >= msg.len() - 129 || i == 300 {
            assert!(
                matches!(r, Err(ReceiveError::Step(StepError::BadSignature))),
                "flip at {i}: {r:?}"
            );
        }
    }
    // wrong key period of the keys
    receiver.key_period = Some((p.periods, 237));
    assert!(matches!(
        imessage::receive(&receiver, TimeCheck::Disabled, None, &msg),
        Err(ReceiveError::WrongKeyPeriod {
            message: 236,
            keys: 237
        })
    ));
    receiver.key_period = None;
    // unexpected initiator
    let bob: Uid = get(&p.v, "bob_UserID").try_into().unwrap();
    receiver.expected_initiator = Some(&bob);
    assert!(matches!(
        imessage::receive(&receiver, TimeCheck::Disabled, None, &msg),
        Err(ReceiveError::UnexpectedInitiator)
    ));
    receiver.expected_initiator = None;
    // a message for another member
    let other = b64("pck_I_MESSAGE_b64");
    assert!(matches!(
        imessage::receive(&receiver, TimeCheck::Disabled, None, &other),
        Err(ReceiveError::NotForThisReceiver)
    ));
    // truncation at every length: a clean error
    for n in 0..msg.len() {
        assert!(imessage::receive(&receiver, TimeCheck::Disabled, None, &msg[..n]).is_err());
    }
    // every length field set too large (HDR + payload headers): never accepted, never a panic
    for i in 0..msg.len() {
        let mut t = msg.clone();
        t[i] = 0xff;
        let _ = imessage::receive(&receiver, TimeCheck::Disabled, None, &t);
    }
}

fn kms_and_user(
    rng: &mut ChaCha20Rng,
    z: &MasterSecret,
    eccsi: &KmsKeyPair,
    uid: &Uid,
) -> (ReceiverSecretKey, SigningKey) {
    let rsk = z.issue_rsk(uid).unwrap();
    let (ssk, pvt) = eccsi.issue(uid, rng).unwrap();
    let signer = SigningKey::new(eccsi.kpak(), uid, ssk, &pvt).unwrap();
    (rsk, signer)
}

#[test]
fn built_messages_round_trip() {
    let mut rng = ChaCha20Rng::seed_from_u64(33);
    let z = MasterSecret::random(&mut rng);
    let zpub = z.public_key();
    let eccsi = KmsKeyPair::generate(&mut rng).unwrap();
    let periods = KeyPeriods {
        length: 2_592_000,
        offset: 0,
    };
    let now = 3_900_000_000u64;
    let period = periods.period_number(now).unwrap();
    let kms_uri = b"kms.example.org";
    let gms_uid = uid(b"sip:gms@example.org", kms_uri, periods, period).unwrap();
    let member_uri = b"sip:member@example.org";
    let member_uid = uid(member_uri, kms_uri, periods, period).unwrap();
    let (_, gms_signer) = kms_and_user(&mut rng, &z, &eccsi, &gms_uid);
    let (member_rsk, _) = kms_and_user(&mut rng, &z, &eccsi, &member_uid);
    let gmk = Ssv::random(&mut rng);
    let gmk_id = KeyId::random(PurposeTag::Gmk, &mut rng);
    let guk = guk_id(gmk.as_bytes(), gmk_id, member_uri).unwrap();
    let params = KeyParameters {
        key_type: 0,
        status: STATUS_NOT_REVOKED,
        activation_time: [0; 5],
        expiry_time: [0; 5],
        text: b"group 7".to_vec(),
        group_ids: Some(vec![]),
    };
    let to_self_ed = mikey_sakke::sakke::hazmat::encapsulate_with_ssv(&gmk, &zpub, &gms_uid);
    let spec = MessageSpec {
        key: &gmk,
        kind: KeyKind::Gmk {
            gmk_id,
            guk_id: guk,
        },
        cs_id: Some(4),
        ntp_time: now << 32,
        rand: [7; 16],
        key_params: Some(KeyParamsSpec {
            params: params.clone(),
            date_time: [0; 5],
            iv: [3; 16],
        }),
        sakke_to_self: Some(&to_self_ed),
    };
    let octets = imessage::build(
        &mut rng,
        &Initiator {
            signer: &gms_signer,
            kms_uri,
        },
        &Responder {
            uid: &member_uid,
            kms_uri,
            kms_public_key: &zpub,
            prepared_kms: None,
        },
        &spec,
    )
    .unwrap();
    // it parses and re-encodes identically
    assert_eq!(mikey_sakke::mikey::parse(&octets).unwrap().encode(), octets);
    let prepared = PreparedReceiver::new(&zpub, &member_uid, &member_rsk).unwrap();
    let receiver = Receiver {
        uid: &member_uid,
        user_uri: Some(member_uri),
        kms_public_key: &zpub,
        rsk: &prepared,
        kpak: eccsi.kpak(),
        key_period: Some((periods, period)),
        expected_initiator: Some(&gms_uid),
        compat_signature: false,
        compat_minimal_w: false,
        compat_legacy_key_params: false,
    };
    let got = imessage::receive(
        &receiver,
        TimeCheck::Window { now, max_skew: 5 },
        None,
        &octets,
    )
    .unwrap();
    assert_eq!(got.key, gmk);
    assert_eq!(got.key_id, gmk_id);
    assert_eq!(got.csb_id, guk);
    assert_eq!(got.key_params, Some(params));
    // the SAKKE-to-self extension decapsulates for the GMS itself
    let msg = mikey_sakke::mikey::parse(&octets).unwrap();
    let to_self = msg
        .general_extensions()
        .find_map(|g| g.sakke_to_self())
        .unwrap()
        .unwrap();
    let ed = mikey_sakke::sakke::EncapsulatedData::from_bytes(to_self.data).unwrap();
    let gms_rsk = z.issue_rsk(&gms_uid).unwrap();
    assert_eq!(
        mikey_sakke::sakke::decapsulate(&zpub, &gms_uid, &gms_rsk, &ed).unwrap(),
        gmk
    );
    let _ = (Ssk::from_bytes(&[1]), Pvt::from_bytes(&[0]));
}

#[test]
fn the_q_minus_s_copy_verifies_but_is_a_replay() {
    let p = published();
    let msg = b64("gmk_I_MESSAGE_b64");
    let altered = with_negated_s(&msg);
    let uid: Uid = get(&p.v, "alice_UserID").try_into().unwrap();
    let rsk = ReceiverSecretKey::from_bytes(get(&p.v, "alice_UserDecryptKey")).unwrap();
    let prepared = PreparedReceiver::new(&p.z, &uid, &rsk).unwrap();
    let uri = text("alice_UserUri");
    let receiver = Receiver {
        uid: &uid,
        user_uri: Some(uri.as_bytes()),
        kms_public_key: &p.z,
        rsk: &prepared,
        kpak: &p.kpak,
        key_period: Some((p.periods, 236)),
        expected_initiator: None,
        compat_signature: false,
        compat_minimal_w: false,
        compat_legacy_key_params: false,
    };
    let window = TimeCheck::Window {
        now: T_SECONDS,
        max_skew: 60,
    };
    // High s is accepted: without a replay cache both copies deliver the same key.
    let a = imessage::receive(&receiver, window, None, &msg).unwrap();
    let b = imessage::receive(&receiver, window, None, &altered).unwrap();
    assert_eq!(a.key, b.key);
    // With a cache, whichever copy comes second is a replay.
    for (first, second) in [(&msg, &altered), (&altered, &msg)] {
        let mut cache = ReplayCache::new(8);
        imessage::receive(&receiver, window, Some(&mut cache), first).unwrap();
        assert!(matches!(
            imessage::receive(&receiver, window, Some(&mut cache), second),
            Err(ReceiveError::Step(StepError::Replay))
        ));
        assert_eq!(cache.len(), 1);
    }
    // receive_parsed on the same parse says the same.
    let mut cache = ReplayCache::new(8);
    let parsed = mikey_sakke::mikey::parse(&altered).unwrap();
    let c = imessage::receive_parsed(&receiver, window, Some(&mut cache), &parsed).unwrap();
    assert_eq!(c.key, a.key);
    assert!(matches!(
        imessage::receive(&receiver, window, Some(&mut cache), &msg),
        Err(ReceiveError::Step(StepError::Replay))
    ));
}

#[test]
fn the_generic_replay_step_keys_on_the_signed_octets_without_the_signature() {
    use mikey_sakke::mikey::sakke_steps::{self, IMessage};
    let p = published();
    let msg = b64("gmk_I_MESSAGE_b64");
    let altered = with_negated_s(&msg);
    let other = b64("pck_I_MESSAGE_b64");
    let (m1, m2, m3) = (
        mikey_sakke::mikey::parse(&msg).unwrap(),
        mikey_sakke::mikey::parse(&altered).unwrap(),
        mikey_sakke::mikey::parse(&other).unwrap(),
    );
    let verify = |m| {
        let shaped = IMessage::new(m, imessage::ROLES).unwrap();
        sakke_steps::verify_signature(shaped, &p.kpak, false).unwrap()
    };
    let (v1, v2, v3) = (verify(&m1), verify(&m2), verify(&m3));
    assert_eq!(v1.replay_key(), v2.replay_key());
    assert_ne!(v1.replay_key(), v3.replay_key());
    let time = TimeCheck::Disabled;
    let mut cache = ReplayCache::new(2);
    cache.check_and_record(&v1, time).unwrap();
    assert!(matches!(
        cache.check_and_record(&v2, time),
        Err(StepError::Replay)
    ));
    // A different message is accepted.
    cache.check_and_record(&v3, time).unwrap();
    assert_eq!(cache.len(), 2);
    // The cache survives its encoding.
    let mut restored = ReplayCache::from_bytes(&cache.to_bytes()).unwrap();
    assert!(restored.contains(v2.replay_key()));
    assert!(matches!(
        restored.check_and_record(&v2, time),
        Err(StepError::Replay)
    ));
    // A tampered signature is refused before any replay or SAKKE step.
    let mut t = msg.clone();
    let last = t.len() - 1;
    t[last] ^= 1;
    let m4 = mikey_sakke::mikey::parse(&t).unwrap();
    let shaped = IMessage::new(&m4, imessage::ROLES).unwrap();
    assert!(matches!(
        sakke_steps::verify_signature(shaped, &p.kpak, true),
        Err(StepError::BadSignature)
    ));
}

#[test]
fn build_many_gives_what_build_gives_to_each_member() {
    use mikey_sakke::mcx::imessage::{BatchKeyParams, BatchKind, BatchSpec, Members};
    use mikey_sakke::mikey::SignCoverage;
    use mikey_sakke::sakke::{EncapsulatedData, PreparedKms};
    let mut rng = ChaCha20Rng::seed_from_u64(34);
    let z = MasterSecret::random(&mut rng);
    let zpub = z.public_key();
    let eccsi = KmsKeyPair::generate(&mut rng).unwrap();
    let periods = KeyPeriods {
        length: 2_592_000,
        offset: 0,
    };
    let now = 3_900_000_000u64;
    let period = periods.period_number(now).unwrap();
    let kms_uri = b"kms.example.org";
    let gms_uid = uid(b"sip:gms@example.org", kms_uri, periods, period).unwrap();
    let (_, signer) = kms_and_user(&mut rng, &z, &eccsi, &gms_uid);
    let uris: Vec<String> = (0..3).map(|i| format!("sip:m{i}@example.org")).collect();
    let prepared_kms = PreparedKms::new(&zpub);
    let key = Ssv::random(&mut rng);
    let params = KeyParameters {
        key_type: 0,
        status: STATUS_NOT_REVOKED,
        activation_time: [1; 5],
        expiry_time: [2; 5],
        text: b"batch".to_vec(),
        group_ids: None,
    };
    let initiator = Initiator {
        signer: &signer,
        kms_uri,
    };
    let members = Members {
        uris: &uris,
        kms_uri,
        kms: &prepared_kms,
        periods,
    };
    let gmk_id = KeyId::random(PurposeTag::Gmk, &mut rng);
    let musik_id = KeyId::random(PurposeTag::Pck, &mut rng);
    for (kind, with_extras) in [
        (BatchKind::Gmk { gmk_id }, true),
        (BatchKind::Other { key_id: musik_id }, false),
    ] {
        let spec = BatchSpec {
            key: &key,
            kind,
            cs_id: with_extras.then_some(imessage::CS_ID_MCPTT_GROUP_CALL),
            ntp_time: now << 32,
            key_params: with_extras.then_some(BatchKeyParams {
                params: &params,
                date_time: [0; 5],
            }),
            sakke_to_self: with_extras.then_some(&zpub),
        };
        let count = std::sync::atomic::AtomicUsize::new(0);
        let built = imessage::build_many(&initiator, &members, &spec, &|| {
            count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        })
        .unwrap();
        assert_eq!(count.into_inner(), uris.len());
        assert_eq!(built.len(), uris.len());
        let to_self = mikey_sakke::mikey::sakke_steps::encapsulate(
            &key,
            mikey_sakke::mikey::sakke_steps::SakkeKms::Plain(&zpub),
            &gms_uid,
        );
        for (b, member) in built.iter().zip(&uris) {
            assert_eq!(&b.member, member);
            let member_uid = uid(member.as_bytes(), kms_uri, periods, period).unwrap();
            let rsk = z.issue_rsk(&member_uid).unwrap();
            let prepared = PreparedReceiver::new(&zpub, &member_uid, &rsk).unwrap();
            let receiver = Receiver {
                uid: &member_uid,
                user_uri: Some(member.as_bytes()),
                kms_public_key: &zpub,
                rsk: &prepared,
                kpak: eccsi.kpak(),
                key_period: Some((periods, period)),
                expected_initiator: Some(&gms_uid),
                compat_signature: false,
                compat_minimal_w: false,
                compat_legacy_key_params: false,
            };
            let got = imessage::receive(&receiver, TimeCheck::Disabled, None, &b.message).unwrap();
            assert_eq!(got.key, key);
            assert_eq!(got.csb_id, b.csb_id);
            let kind = match kind {
                BatchKind::Gmk { gmk_id } => {
                    let guk = guk_id(key.as_bytes(), gmk_id, member.as_bytes()).unwrap();
                    assert_eq!((got.key_id, got.csb_id), (gmk_id, guk));
                    KeyKind::Gmk {
                        gmk_id,
                        guk_id: guk,
                    }
                }
                BatchKind::Other { key_id } => {
                    assert_eq!(got.key_id, key_id);
                    KeyKind::Other { key_id }
                }
            };
            assert_eq!(got.key_params.as_ref(), with_extras.then_some(&params));
            // The same message from `build_with_encapsulation` with the same RAND, IV and
            // Encapsulated Data: identical signed octets.
            let parsed = mikey_sakke::mikey::parse(&b.message).unwrap();
            let ed = EncapsulatedData::from_bytes(parsed.sakke().unwrap().data).unwrap();
            let iv = parsed
                .general_extensions()
                .find_map(|g| g.key_parameters())
                .map(|d| {
                    mikey_sakke::mcx::key_params::open(key.as_bytes(), d)
                        .unwrap()
                        .0
                        .iv
                });
            let rand: [u8; 16] = got.rand.as_slice().try_into().unwrap();
            let one = imessage::build_with_encapsulation(
                &mut rng,
                &initiator,
                &Responder {
                    uid: &member_uid,
                    kms_uri,
                    kms_public_key: &zpub,
                    prepared_kms: None,
                },
                &MessageSpec {
                    key: &key,
                    kind,
                    cs_id: spec.cs_id,
                    ntp_time: now << 32,
                    rand,
                    key_params: iv.map(|iv| KeyParamsSpec {
                        params: params.clone(),
                        date_time: [0; 5],
                        iv,
                    }),
                    sakke_to_self: with_extras.then_some(&to_self),
                },
                &ed,
            )
            .unwrap();
            let one = mikey_sakke::mikey::parse(&one).unwrap();
            assert_eq!(
                one.signed_portion(SignCoverage::Rfc3830),
                parsed.signed_portion(SignCoverage::Rfc3830)
            );
            // and the batch's Encapsulated Data is what `build` computes for one member.
            assert_eq!(
                mikey_sakke::mikey::sakke_steps::encapsulate(
                    &key,
                    mikey_sakke::mikey::sakke_steps::SakkeKms::Plain(&zpub),
                    &member_uid
                ),
                ed
            );
        }
    }
}
