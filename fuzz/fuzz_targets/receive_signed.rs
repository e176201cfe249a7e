//! The receive path past the signature check: each mutated I_MESSAGE is re-signed before it
//! is received, with the ECCSI key (SSK, PVT) of the published MCX user whose UID it carries
//! (vectors/mcx-interop.txt: gms, alice, iwf, bob), so that mutations of the payloads reach
//! the replay cache, the decapsulation, the key-identifier checks and the key parameters.
//! The receiver is the other published user the message names (else alice). Never panics.
//!
//! The signature covers the message from the first octet through the two SIGN header octets
//! (RFC 6509 s2.1), that is everything but the last 129 octets, which are replaced. Every
//! 4096 inputs the target prints how many got past the signature check (an error after it,
//! or a delivered key) and the count of each outcome: the re-signing works when no input is
//! refused as `BadSignature` and the inputs refused earlier are parse and shape errors.
#![no_main]

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use libfuzzer_sys::fuzz_target;
use mikey_sakke::eccsi::{Kpak, Pvt, SIGNATURE_LEN, SigningKey, Ssk};
use mikey_sakke::mcx::imessage::{self, ReceiveError, Receiver, ReplayCache, TimeCheck};
use mikey_sakke::mikey::sakke_steps::StepError;
use mikey_sakke::sakke::{KmsPublicKey, PreparedReceiver, ReceiverSecretKey};
use rand_core::SeedableRng;

const MCX: &str = include_str!("../../vectors/mcx-interop.txt");
const USERS: [&str; 4] = ["gms", "alice", "iwf", "bob"];

fn value(name: &str) -> &'static str {
    MCX.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(" = ")))
        .map_or("", str::trim)
}

fn hex_of(name: &str) -> Vec<u8> {
    hex::decode(value(name)).unwrap_or_default()
}

struct User {
    uid: [u8; 32],
    uri: &'static str,
    signer: SigningKey,
    rsk: PreparedReceiver,
}

struct Keys {
    z: KmsPublicKey,
    kpak: Kpak,
    users: Vec<User>,
}

fn keys() -> &'static Keys {
    static K: OnceLock<Keys> = OnceLock::new();
    K.get_or_init(|| {
        let z = KmsPublicKey::from_bytes(&hex_of("kms_PubEncKey")).expect("Z");
        let kpak = Kpak::from_bytes(&hex_of("kms_PubAuthKey")).expect("KPAK");
        let users = USERS
            .iter()
            .map(|who| {
                let uid: [u8; 32] = hex_of(&format!("{who}_UserID")).try_into().expect("UID");
                let ssk = Ssk::from_bytes(&hex_of(&format!("{who}_UserSigningKeySSK"))).expect("SSK");
                let pvt = Pvt::from_bytes(&hex_of(&format!("{who}_UserPubTokenPVT"))).expect("PVT");
                let signer = SigningKey::new(&kpak, &uid, ssk, &pvt).expect("valid SSK");
                let rsk = ReceiverSecretKey::from_bytes(&hex_of(&format!("{who}_UserDecryptKey")))
                    .expect("RSK");
                let rsk = PreparedReceiver::new(&z, &uid, &rsk).expect("valid RSK");
                User {
                    uid,
                    uri: value(&format!("{who}_UserUri")),
                    signer,
                    rsk,
                }
            })
            .collect();
        Keys { z, kpak, users }
    })
}

/// Where the 32-octet `uid` first occurs in `data`.
fn position(data: &[u8], uid: &[u8; 32]) -> Option<usize> {
    data.windows(32).position(|w| w == uid)
}

static INPUTS: AtomicU64 = AtomicU64::new(0);
static PAST_SIGNATURE: AtomicU64 = AtomicU64::new(0);
/// Inputs by outcome (the error variant, or `Ok`).
static OUTCOMES: std::sync::Mutex<std::collections::BTreeMap<String, u64>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

fuzz_target!(|data: &[u8]| {
    if data.len() <= SIGNATURE_LEN {
        return;
    }
    let k = keys();
    // The signer: the user whose UID comes first (IDRuidi precedes IDRuidr); the receiver:
    // the next one named, else alice.
    let mut named: Vec<(usize, &User)> = k
        .users
        .iter()
        .filter_map(|u| position(data, &u.uid).map(|p| (p, u)))
        .collect();
    named.sort_by_key(|(p, _)| *p);
    let Some(&(_, signer)) = named.first() else {
        return;
    };
    let receiver = named.get(1).map_or(&k.users[1], |(_, u)| u);
    let covered = data.len() - SIGNATURE_LEN;
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(covered as u64);
    let Ok(signature) = signer.signer.try_sign_with_rng(&mut rng, &data[..covered]) else {
        return;
    };
    let mut message = data[..covered].to_vec();
    message.extend_from_slice(&signature.to_bytes());

    let r = Receiver {
        uid: &receiver.uid,
        user_uri: Some(receiver.uri.as_bytes()),
        kms_public_key: &k.z,
        rsk: &receiver.rsk,
        kpak: &k.kpak,
        key_period: None,
        expected_initiator: None,
        compat_signature: false,
        compat_minimal_w: true,
        compat_legacy_key_params: true,
    };
    let mut cache = ReplayCache::new(4);
    let result = imessage::receive(&r, TimeCheck::Disabled, Some(&mut cache), &message);
    // The errors of the steps after the signature check (replay cache, decapsulation, the
    // profile's finish).
    let past = match &result {
        Ok(_) => true,
        Err(e) => matches!(
            e,
            ReceiveError::Step(StepError::Replay)
                | ReceiveError::Step(StepError::BadSakkePayload(_))
                | ReceiveError::Step(StepError::BadEncapsulatedData(_))
                | ReceiveError::Step(StepError::DecapsulationFailed)
                | ReceiveError::InconsistentKeyIds
                | ReceiveError::KeyParameters(_)
        ),
    };
    // A message that got through once is a replay the second time (the cache keys on the
    // signed octets).
    if result.is_ok() {
        let again = imessage::receive(&r, TimeCheck::Disabled, Some(&mut cache), &message);
        assert!(matches!(again, Err(ReceiveError::Step(StepError::Replay))), "{again:?}");
    }
    let n = INPUTS.fetch_add(1, Ordering::Relaxed) + 1;
    let passed = PAST_SIGNATURE.fetch_add(u64::from(past), Ordering::Relaxed) + u64::from(past);
    let outcome = match &result {
        Ok(_) => "Ok".to_string(),
        Err(e) => format!("{e:?}").split(['(', ' ', '{']).next().unwrap_or("").to_string(),
    };
    let mut outcomes = OUTCOMES.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    *outcomes.entry(outcome).or_insert(0) += 1;
    if n % 4096 == 0 {
        eprintln!("receive_signed: {passed} of {n} inputs past the signature check; {outcomes:?}");
    }
});
