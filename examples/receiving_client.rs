//! A receiving client (an MC service UE): validates its key set and receives the GMK that the
//! group manager sent it, using the published MCX interop vectors (alice's key set and the GMK
//! I_MESSAGE from gms@streamwide.com).
//!
//! Run: `cargo run --example receiving_client`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use mikey_sakke::eccsi::Kpak;
use mikey_sakke::mcx::imessage::{self, Receiver, ReplayCache, TimeCheck};
use mikey_sakke::mcx::uid::KeyPeriods;
use mikey_sakke::sakke::{KmsPublicKey, PreparedReceiver, ReceiverSecretKey};

const VECTORS: &str = include_str!("../vectors/mcx-interop.txt");

fn value(name: &str) -> &'static str {
    VECTORS
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(" = "))
        .expect(name)
        .trim()
}

fn hex(name: &str) -> Vec<u8> {
    hex::decode(value(name)).expect(name)
}

fn main() {
    // What the KMS delivered (KMS certificate and alice's key set, Annex D).
    let z = KmsPublicKey::from_bytes(&hex("kms_PubEncKey")).unwrap();
    let kpak = Kpak::from_bytes(&hex("kms_PubAuthKey")).unwrap();
    let uid: [u8; 32] = hex("alice_UserID").try_into().unwrap();
    let rsk = ReceiverSecretKey::from_bytes(&hex("alice_UserDecryptKey")).unwrap();
    // Validate the RSK once, when the key set arrives, and keep it prepared for the key period.
    let rsk = PreparedReceiver::new(&z, &uid, &rsk).expect("the RSK validates");
    let gms_uid: [u8; 32] = hex("gms_UserID").try_into().unwrap();

    let receiver = Receiver {
        uid: &uid,
        user_uri: Some(b"sip:alice@streamwide.com"),
        kms_public_key: &z,
        rsk: &rsk,
        kpak: &kpak,
        key_period: Some((
            KeyPeriods {
                length: 16_777_215,
                offset: 0,
            },
            236,
        )),
        expected_initiator: Some(&gms_uid),
        compat_signature: false,
        compat_minimal_w: false,
        compat_legacy_key_params: false,
    };
    let message = base64::engine::general_purpose::STANDARD
        .decode(value("gmk_I_MESSAGE_b64"))
        .unwrap();
    // The message was sent at NTP time 0xEC898DA8; pretend our clock agrees.
    let mut replay = ReplayCache::new(1024);
    let got = imessage::receive(
        &receiver,
        TimeCheck::Window {
            now: 0xEC89_8DA8,
            max_skew: 300,
        },
        Some(&mut replay),
        &message,
    )
    .expect("the message verifies and decrypts");
    println!(
        "GMK-ID {} (GUK-ID {}) from {}",
        got.key_id,
        got.csb_id,
        hex::encode_upper(&got.initiator_uid)
    );
    let srtp = got.srtp.as_ref().expect("an SRTP crypto session");
    println!(
        "SRTP master key {} salt {}",
        hex::encode_upper(srtp.key),
        hex::encode_upper(srtp.salt)
    );
    assert_eq!(hex::encode(got.key.as_bytes()), value("gmk_GMK"));
    // A client keeps its replay cache across restarts (e.g. in its state directory).
    let stored = replay.to_bytes();
    let mut replay = ReplayCache::from_bytes(&stored).expect("a valid replay cache");
    // The same message again is a replay (also with its signature's s replaced by q - s: the
    // cache keys on the signed octets without the signature).
    assert!(
        imessage::receive(
            &receiver,
            TimeCheck::Window {
                now: 0xEC89_8DA8,
                max_skew: 300
            },
            Some(&mut replay),
            &message
        )
        .is_err()
    );
    println!("replayed copy rejected");
}
