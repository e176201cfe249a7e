//! The receiving client on Annex D documents: the published MCX certificate and key sets,
//! written as XML and read back, load, validate, and receive the published GMK message; bad key
//! sets are refused on load.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine;
use common::{MCX, get, parse, with_negated_s};
use mikey_sakke::annex_d::{
    KeySetError, KmsCertificate, KmsKeyProv, KmsKeySet, KmsMessage, KmsResponse,
};
use mikey_sakke::eccsi::{Kpak, Pvt, Ssk};
use mikey_sakke::mcx::imessage::TimeCheck;
use mikey_sakke::mcx::uid::KeyPeriods;
use mikey_sakke::mikey::sakke_steps::StepError;
use mikey_sakke::sakke::{KmsPublicKey, ReceiverSecretKey};
use mikey_sakke::ue::{Client, ClientError};

fn text(name: &str) -> String {
    MCX.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} = ")))
        .unwrap()
        .trim()
        .to_string()
}

fn documents(who: &str, period_no: u64) -> (String, String) {
    let v = parse(MCX);
    let z = KmsPublicKey::from_bytes(get(&v, "kms_PubEncKey")).unwrap();
    let kpak = Kpak::from_bytes(get(&v, "kms_PubAuthKey")).unwrap();
    let kms_uri = text("kms_KmsUri");
    let periods = KeyPeriods {
        length: 16_777_215,
        offset: 0,
    };
    let cert = KmsCertificate::new(kms_uri.clone(), &z, &kpak, periods);
    let cert_xml = KmsResponse::new(
        kms_uri.clone(),
        kms_uri.clone(),
        "2025-01-01T00:00:00Z",
        "https://kms/init",
        Some(KmsMessage::Init(Box::new(cert))),
    )
    .to_xml();
    let ks = KmsKeySet::new(
        kms_uri.clone(),
        text(&format!("{who}_UserUri")),
        get(&v, &format!("{who}_UserID")).try_into().unwrap(),
        period_no,
        &ReceiverSecretKey::from_bytes(get(&v, &format!("{who}_UserDecryptKey"))).unwrap(),
        &Ssk::from_bytes(get(&v, &format!("{who}_UserSigningKeySSK"))).unwrap(),
        &Pvt::from_bytes(get(&v, &format!("{who}_UserPubTokenPVT"))).unwrap(),
    );
    let keys_xml = KmsResponse::new(
        text(&format!("{who}_UserUri")),
        kms_uri,
        "2025-01-01T00:00:00Z",
        "https://kms/keyprov",
        Some(KmsMessage::KeyProv(KmsKeyProv { key_sets: vec![ks] })),
    )
    .to_xml();
    (cert_xml, keys_xml)
}

fn load(cert_xml: &str, keys_xml: &str) -> Result<Client, ClientError> {
    let cert = KmsResponse::from_xml(cert_xml).unwrap();
    let keys = KmsResponse::from_xml(keys_xml).unwrap();
    Client::load(cert.certificate().unwrap(), keys.key_sets())
}

#[test]
fn published_key_sets_receive_the_published_gmk_message() {
    let v = parse(MCX);
    let (cert, keys) = documents("alice", 236);
    let client = load(&cert, &keys).unwrap();
    assert_eq!(client.key_periods(), vec![236]);
    let msg = base64::engine::general_purpose::STANDARD
        .decode(text("gmk_I_MESSAGE_b64"))
        .unwrap();
    let got = client
        .receive(
            &msg,
            TimeCheck::Window {
                now: 0xEC89_8DA8,
                max_skew: 60,
            },
            None,
        )
        .unwrap();
    assert_eq!(got.key.as_bytes().to_vec(), get(&v, "gmk_GMK"));
    // bob's keys do not open alice's message
    let (cert, keys) = documents("bob", 236);
    let bob = load(&cert, &keys).unwrap();
    assert!(matches!(
        bob.receive(&msg, TimeCheck::Disabled, None),
        Err(ClientError::Receive(_))
    ));
}

#[test]
fn key_sets_for_the_wrong_period_or_user_are_refused() {
    // A key set labelled with another period: its UserID no longer matches.
    let (cert, keys) = documents("alice", 237);
    assert!(matches!(
        load(&cert, &keys),
        Err(ClientError::KeySet(KeySetError::WrongUserId(237)))
    ));
    // A key set whose RSK belongs to someone else.
    let (cert, keys) = documents("alice", 236);
    let (_, bob_keys) = documents("bob", 236);
    let bob_rsk = KmsResponse::from_xml(&bob_keys).unwrap().key_sets()[0]
        .user_decrypt_key()
        .to_vec();
    let alice_rsk = KmsResponse::from_xml(&keys).unwrap().key_sets()[0]
        .user_decrypt_key()
        .to_vec();
    let swapped = keys.replace(&hex::encode_upper(&alice_rsk), &hex::encode_upper(&bob_rsk));
    assert_ne!(swapped, keys);
    assert!(matches!(
        load(&cert, &swapped),
        Err(ClientError::KeySet(KeySetError::InvalidRsk(236)))
    ));
}

#[test]
fn the_client_refuses_the_q_minus_s_copy_as_a_replay() {
    use mikey_sakke::eccsi::SigningKey;
    use mikey_sakke::mcx::imessage::{
        self, Initiator, KeyKind, MessageSpec, ReceiveError, ReplayCache, Responder,
    };
    use mikey_sakke::mcx::key_id::{KeyId, PurposeTag};
    use mikey_sakke::sakke::Ssv;
    let v = parse(MCX);
    let (cert, keys) = documents("alice", 236);
    let client = load(&cert, &keys).unwrap();
    let msg = base64::engine::general_purpose::STANDARD
        .decode(text("gmk_I_MESSAGE_b64"))
        .unwrap();
    let altered = with_negated_s(&msg);
    let time = TimeCheck::Window {
        now: 0xEC89_8DA8,
        max_skew: 60,
    };
    // Accepted on its own (high s is not refused) ...
    let got = client.receive(&altered, time, None).unwrap();
    assert_eq!(got.key.as_bytes().to_vec(), get(&v, "gmk_GMK"));
    // ... but a replay of the original, in either order.
    for (first, second) in [(&msg, &altered), (&altered, &msg)] {
        let mut cache = ReplayCache::new(4);
        client.receive(first, time, Some(&mut cache)).unwrap();
        assert!(matches!(
            client.receive(second, time, Some(&mut cache)),
            Err(ClientError::Receive(ReceiveError::Step(StepError::Replay)))
        ));
    }
    // A different message to alice, signed by the GMS, is accepted by the same cache.
    let kpak = Kpak::from_bytes(get(&v, "kms_PubAuthKey")).unwrap();
    let z = KmsPublicKey::from_bytes(get(&v, "kms_PubEncKey")).unwrap();
    let gms_uid: [u8; 32] = get(&v, "gms_UserID").try_into().unwrap();
    let gms = SigningKey::new(
        &kpak,
        &gms_uid,
        Ssk::from_bytes(get(&v, "gms_UserSigningKeySSK")).unwrap(),
        &Pvt::from_bytes(get(&v, "gms_UserPubTokenPVT")).unwrap(),
    )
    .unwrap();
    let alice_uid: [u8; 32] = get(&v, "alice_UserID").try_into().unwrap();
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    let kms_uri = text("kms_KmsUri");
    let key = Ssv::random(&mut rng);
    let key_id = KeyId::random(PurposeTag::Pck, &mut rng);
    let fresh = imessage::build(
        &mut rng,
        &Initiator {
            signer: &gms,
            kms_uri: kms_uri.as_bytes(),
        },
        &Responder {
            uid: &alice_uid,
            kms_uri: kms_uri.as_bytes(),
            kms_public_key: &z,
            prepared_kms: None,
        },
        &MessageSpec {
            key: &key,
            kind: KeyKind::Other { key_id },
            cs_id: None,
            ntp_time: 0xEC89_8DA8u64 << 32,
            rand: [9; 16],
            key_params: None,
            sakke_to_self: None,
        },
    )
    .unwrap();
    let mut cache = ReplayCache::new(4);
    client.receive(&msg, time, Some(&mut cache)).unwrap();
    let got = client.receive(&fresh, time, Some(&mut cache)).unwrap();
    assert_eq!(got.key, key);
    assert_eq!(got.key_id, key_id);
    assert!(matches!(
        client.receive(&with_negated_s(&fresh), time, Some(&mut cache)),
        Err(ClientError::Receive(ReceiveError::Step(StepError::Replay)))
    ));
    assert_eq!(cache.len(), 2);
}
