//! The receive path end to end with a fixed key set: parse, checks, signature, replay cache,
//! decapsulation, key parameters; and the replay cache's stored form. Never panics on any
//! input.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mikey_sakke::eccsi::Kpak;
use mikey_sakke::mcx::imessage::{self, Receiver, ReplayCache, TimeCheck};
use mikey_sakke::sakke::{KmsPublicKey, PreparedReceiver, ReceiverSecretKey};

const MCX: &str = include_str!("../../vectors/mcx-interop.txt");

fn hex_of(name: &str) -> Vec<u8> {
    let v = MCX
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} = ")))
        .unwrap_or("");
    hex::decode(v.trim()).unwrap_or_default()
}

struct Keys {
    z: KmsPublicKey,
    kpak: Kpak,
    uid: [u8; 32],
    rsk: PreparedReceiver,
}

fn keys() -> &'static Keys {
    static K: OnceLock<Keys> = OnceLock::new();
    K.get_or_init(|| {
        // The published alice key set (vectors/mcx-interop.txt).
        let z = KmsPublicKey::from_bytes(&hex_of("kms_PubEncKey")).expect("Z");
        let kpak = Kpak::from_bytes(&hex_of("kms_PubAuthKey")).expect("KPAK");
        let uid: [u8; 32] = hex_of("alice_UserID").try_into().expect("UID");
        let rsk = ReceiverSecretKey::from_bytes(&hex_of("alice_UserDecryptKey")).expect("RSK");
        let rsk = PreparedReceiver::new(&z, &uid, &rsk).expect("valid RSK");
        Keys { z, kpak, uid, rsk }
    })
}

fuzz_target!(|data: &[u8]| {
    let k = keys();
    let receiver = Receiver {
        uid: &k.uid,
        user_uri: Some(b"sip:alice@streamwide.com"),
        kms_public_key: &k.z,
        rsk: &k.rsk,
        kpak: &k.kpak,
        key_period: None,
        expected_initiator: None,
        compat_signature: true,
        compat_minimal_w: true,
        compat_legacy_key_params: true,
    };
    let mut cache = ReplayCache::new(4);
    let _ = imessage::receive(&receiver, TimeCheck::Disabled, Some(&mut cache), data);
    // The replay cache a client keeps in its state directory is input too; what it accepts is
    // exactly its canonical encoding.
    if let Ok(c) = ReplayCache::from_bytes(data) {
        assert_eq!(c.to_bytes(), data);
    }
});
