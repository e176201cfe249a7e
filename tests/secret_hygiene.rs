//! Secret hygiene (security issue #8, item 5): every secret type zeroizes on drop and prints
//! nothing of its value in `Debug`; errors of operations that involve secrets (wrong keys,
//! tampered messages, a wrong store passphrase, invalid key imports, provisioning failures)
//! carry none of them in `Display` or `Debug`; and the CLI workflows that handle secrets print
//! none, except where printing one is the command's documented purpose.
//!
//! Secrets are known values (the RFC 6508, RFC 6507 and MCX interop vectors, or keys read back
//! from a store created here), searched for in every form a careless `Debug` or `format!`
//! would give them: hex in either case, the decimal integer, and the 64-bit limbs in decimal
//! and hex (for points, each coordinate too).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine as _;
use num_bigint::BigUint;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use zeroize::ZeroizeOnDrop;

use common::{MCX, RFC6507, RFC6508, get, parse, text_value};
use mikey_sakke::annex_d::{KmsCertificate, KmsKeyProv, KmsKeySet, KmsMessage, KmsResponse};
use mikey_sakke::eccsi::{self, KmsKeyPair, Kpak, Ksak, Pvt, SigningKey, Ssk};
use mikey_sakke::gms::GroupKey;
use mikey_sakke::kms::provision::{issue_key_set, provision};
use mikey_sakke::kms::store::{
    IssuedKeySet, KdfParams, KmsConfig, KmsStore, MasterKeys, PrincipalKind, Store,
};
use mikey_sakke::mcx::imessage::{self, ReceivedKey, Receiver, TimeCheck};
use mikey_sakke::mcx::key_id::{KeyId, PurposeTag};
use mikey_sakke::mcx::key_params;
use mikey_sakke::mcx::srtp::SrtpMasterKeys;
use mikey_sakke::mcx::uid::{KeyPeriods, Uid};
use mikey_sakke::mikey::{self, PayloadType};
use mikey_sakke::sakke::{
    self, EncapsulatedData, KmsPublicKey, MasterSecret, PreparedReceiver, ReceiverSecretKey, Ssv,
};
use mikey_sakke::ue::Client;

// ----------------------------------------------------------------------------------------------
// Known secrets and the forms they could leak in

/// A named secret and every text form it must never appear in.
#[derive(Clone)]
struct Secret {
    name: String,
    forms: Vec<String>,
}

/// Decimal and hex (both cases) of an integer, and of its 64-bit limbs.
fn integer_forms(bytes: &[u8], out: &mut Vec<String>) {
    let n = BigUint::from_bytes_be(bytes);
    let hex = hex::encode(bytes);
    let minimal = hex.trim_start_matches('0');
    for h in [hex.as_str(), minimal] {
        out.push(h.to_string());
        out.push(h.to_uppercase());
    }
    out.push(n.to_string());
    if bytes.len() > 8 {
        for limb in bytes.rchunks(8) {
            let v = limb.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b));
            out.push(v.to_string());
            out.push(format!("{v:016x}"));
            out.push(format!("{v:016X}"));
            out.push(format!("{v:x}"));
        }
    }
}

fn secret(name: &str, bytes: &[u8]) -> Secret {
    let mut forms = Vec::new();
    integer_forms(bytes, &mut forms);
    // A point 0x04 || x || y: each coordinate on its own too.
    if matches!(bytes.len(), 257 | 65) && bytes[0] == 0x04 {
        let half = (bytes.len() - 1) / 2;
        integer_forms(&bytes[1..=half], &mut forms);
        integer_forms(&bytes[half + 1..], &mut forms);
    }
    // Short forms (a limb with leading zeros, tiny RFC scalars) would match by chance: every
    // secret here has at least 5 significant digits, so keep forms of 5 characters or more.
    forms.retain(|f| f.len() >= 5);
    forms.sort();
    forms.dedup();
    Secret {
        name: name.to_string(),
        forms,
    }
}

/// Fails if `text` contains any form of any secret.
#[track_caller]
fn assert_no_secret(what: &str, text: &str, secrets: &[Secret]) {
    for s in secrets {
        for f in &s.forms {
            assert!(
                !text.contains(f.as_str()),
                "{what} shows {} (as {f}): {text}",
                s.name
            );
        }
    }
}

/// `Display` and `Debug` of an error both free of secrets.
#[track_caller]
fn assert_error_clean<E: std::fmt::Display + std::fmt::Debug>(
    what: &str,
    e: &E,
    secrets: &[Secret],
) {
    assert_no_secret(&format!("{what} (Display)"), &e.to_string(), secrets);
    assert_no_secret(&format!("{what} (Debug)"), &format!("{e:?}"), secrets);
}

fn rfc6508_secrets() -> (std::collections::HashMap<String, Vec<u8>>, Vec<Secret>) {
    let v = parse(RFC6508);
    let s = vec![
        secret("RFC 6508 z", get(&v, "z")),
        secret("RFC 6508 RSK", get(&v, "RSK")),
        secret("RFC 6508 SSV", get(&v, "SSV")),
        secret("RFC 6508 r", get(&v, "r")),
    ];
    (v, s)
}

fn rfc6507_secrets() -> (std::collections::HashMap<String, Vec<u8>>, Vec<Secret>) {
    let v = parse(RFC6507);
    let s = vec![
        secret("RFC 6507 KSAK", get(&v, "KSAK")),
        secret("RFC 6507 SSK", get(&v, "SSK")),
        secret("RFC 6507 v", get(&v, "v")),
        secret("RFC 6507 j", get(&v, "j")),
    ];
    (v, s)
}

fn mcx_secrets() -> (std::collections::HashMap<String, Vec<u8>>, Vec<Secret>) {
    let v = parse(MCX);
    let mut s = Vec::new();
    for who in ["gms", "alice", "bob", "iwf"] {
        s.push(secret(
            &format!("{who} RSK"),
            get(&v, &format!("{who}_UserDecryptKey")),
        ));
        s.push(secret(
            &format!("{who} SSK"),
            get(&v, &format!("{who}_UserSigningKeySSK")),
        ));
    }
    for k in ["gmk_GMK", "csk_CSK", "pck_PCK"] {
        s.push(secret(k, get(&v, k)));
    }
    (v, s)
}

#[test]
fn the_leak_detector_finds_every_form() {
    // The scans below are only as good as `secret`'s forms: a value printed as hex of either
    // case, as a decimal integer, as one coordinate of a point, or as a 64-bit limb is found.
    let (v, _) = rfc6508_secrets();
    let rsk = get(&v, "RSK");
    let s = [secret("RSK", rsk)];
    let x = BigUint::from_bytes_be(&rsk[1..129]);
    let limb = u64::from_be_bytes(rsk[249..257].try_into().unwrap());
    for leak in [
        format!("K = {}", hex::encode(rsk)),
        format!("K = {}", hex::encode_upper(rsk)),
        format!("x: {x}"),
        format!("Fp({})", hex::encode_upper(&rsk[1..129])),
        format!("limbs: [{limb}, ...]"),
        format!("limbs: [0x{limb:016x}, ...]"),
    ] {
        let caught = std::panic::catch_unwind(|| assert_no_secret("probe", &leak, &s)).is_err();
        assert!(caught, "not detected: {leak}");
    }
    assert_no_secret("probe", "ReceiverSecretKey { .. }", &s);
    // Short values keep their significant digits only: the RFC 6507 KSAK 0x012345.
    let ksak = secret("KSAK", &[0x01, 0x23, 0x45]);
    assert!(ksak.forms.contains(&"12345".to_string()));
    assert!(ksak.forms.contains(&"74565".to_string()));
}

// ----------------------------------------------------------------------------------------------
// ZeroizeOnDrop and not Copy

fn assert_zod<T: ZeroizeOnDrop>() {}

/// For a value whose type cannot be named here (a private field type), or as a second check.
fn assert_zod_value<T: ZeroizeOnDrop>(_: &T) {}

/// Fails to compile if `T: Copy` (ambiguous impl).
trait AmbiguousIfCopy<A> {
    fn not_copy() {}
}
impl<T> AmbiguousIfCopy<()> for T {}
impl<T: Copy> AmbiguousIfCopy<u8> for T {}

#[test]
fn secret_types_zeroize_on_drop_and_are_not_copy() {
    macro_rules! secret_type {
        ($($t:ty),* $(,)?) => {$(
            assert_zod::<$t>();
            <$t as AmbiguousIfCopy<_>>::not_copy();
        )*};
    }
    secret_type!(
        // SAKKE
        MasterSecret,
        ReceiverSecretKey,
        Ssv,
        PreparedReceiver,
        sakke::hazmat::SecretScalar,
        // ECCSI
        Ksak,
        Ssk,
        SigningKey,
        KmsKeyPair,
        eccsi::hazmat::Nonce,
        // GMK and keys derived from distributed keys
        GroupKey,
        ReceivedKey,
        SrtpMasterKeys,
        zeroize::Zeroizing<[u8; 16]>,
        // KMS documents and the receiving client
        KmsKeySet,
        Client,
        // The KMS store and what it hands out
        Store,
        MasterKeys,
        IssuedKeySet,
    );
    // The DPCK comes back in a zeroizing buffer.
    let dpck = key_params::dpck(&[1; 16], KeyId(0x0123_4567)).unwrap();
    assert_zod_value(&dpck);
    // The store's key types are marked ZeroizeOnDrop because every secret they hold is a
    // zeroize-on-drop type: check those fields too.
    let dir = TmpDir::new("zod");
    let store = test_store(&dir.0.join("kms.db"), b"zod passphrase");
    let mk: MasterKeys = store.master_keys(1).unwrap();
    assert_zod_value(&mk.sakke);
    assert_zod_value(&mk.eccsi);
    let sets = provision(
        &store,
        &["sip:z@example.org".to_string()],
        PrincipalKind::User,
        &[1],
        &|_| {},
    )
    .unwrap();
    let set: &IssuedKeySet = &sets[0].set;
    assert_zod_value(&set.rsk);
    assert_zod_value(&set.ssk);
}

// ----------------------------------------------------------------------------------------------
// Debug of values built from known secrets

#[test]
fn debug_of_secret_values_shows_nothing_of_them() {
    let (v8, s8) = rfc6508_secrets();
    let (v7, s7) = rfc6507_secrets();
    let (vm, sm) = mcx_secrets();
    let all: Vec<Secret> = s8.into_iter().chain(s7).chain(sm).collect();

    // Types holding nothing but a secret print their name only.
    let z = MasterSecret::from_bytes(get(&v8, "z")).unwrap();
    let rsk = ReceiverSecretKey::from_bytes(get(&v8, "RSK")).unwrap();
    let ssv = Ssv::from_slice(get(&v8, "SSV")).unwrap();
    let zpub = KmsPublicKey::from_bytes(get(&v8, "Z")).unwrap();
    let b = get(&v8, "b");
    let prepared = PreparedReceiver::new(&zpub, b, &rsk).unwrap();
    let r = sakke::hazmat::derive_r(&ssv, b);
    assert_eq!(
        r.expose().to_bytes().to_vec(),
        get(&v8, "r"),
        "r is the RFC's"
    );
    let ksak = Ksak::from_bytes(get(&v7, "KSAK")).unwrap();
    let ssk = Ssk::from_bytes(get(&v7, "SSK")).unwrap();
    let v_nonce = eccsi::hazmat::Nonce::from_bytes(get(&v7, "v")).unwrap();
    let j_nonce = eccsi::hazmat::Nonce::from_bytes(get(&v7, "j")).unwrap();
    let srtp =
        mikey_sakke::mcx::srtp::srtp_master_keys(get(&vm, "gmk_GMK"), 4, 0x06A1_2AEA, &[7; 16])
            .unwrap();
    let gmk_srtp = secret("derived SRTP master key", &srtp.key);
    for (dbg, want) in [
        (format!("{z:?}"), "MasterSecret { .. }"),
        (format!("{rsk:?}"), "ReceiverSecretKey { .. }"),
        (format!("{ssv:?}"), "Ssv { .. }"),
        (format!("{prepared:?}"), "PreparedReceiver { .. }"),
        (format!("{r:?}"), "SecretScalar { .. }"),
        (format!("{ksak:?}"), "Ksak { .. }"),
        (format!("{ssk:?}"), "Ssk { .. }"),
        (format!("{v_nonce:?}"), "Nonce { .. }"),
        (format!("{j_nonce:?}"), "Nonce { .. }"),
        (format!("{srtp:?}"), "SrtpMasterKeys { .. }"),
    ] {
        assert_eq!(dbg, want);
        // Pretty-printed too.
        assert!(!dbg.contains('('), "{dbg}");
    }
    assert_eq!(format!("{z:#?}"), "MasterSecret { .. }");

    // Composite types: public parts may show, secrets never.
    let kms = KmsKeyPair::from_ksak(ksak.clone());
    let key = SigningKey::new(
        &Kpak::from_bytes(get(&v7, "KPAK")).unwrap(),
        get(&v7, "ID"),
        ssk.clone(),
        &Pvt::from_bytes(get(&v7, "PVT")).unwrap(),
    )
    .unwrap();
    let gk = GroupKey {
        gmk: Ssv::from_slice(get(&vm, "gmk_GMK")).unwrap(),
        gmk_id: KeyId::new(PurposeTag::Gmk, 0x0df9_bc39),
    };
    let (cert_xml, keys_xml) = mcx_documents("alice");
    let keys_doc = KmsResponse::from_xml(&keys_xml).unwrap();
    let cert_doc = KmsResponse::from_xml(&cert_xml).unwrap();
    let client = Client::load(cert_doc.certificate().unwrap(), keys_doc.key_sets()).unwrap();
    let got = client
        .receive(&b64("gmk_I_MESSAGE_b64"), TimeCheck::Disabled, None)
        .unwrap();
    assert_eq!(got.key.as_bytes().to_vec(), get(&vm, "gmk_GMK"));
    let got_srtp = secret("received SRTP master key", &got.srtp.as_ref().unwrap().key);
    let got_salt = secret(
        "received SRTP master salt",
        &got.srtp.as_ref().unwrap().salt,
    );
    for (what, dbg) in [
        ("KmsKeyPair", format!("{kms:?} {kms:#?}")),
        ("SigningKey", format!("{key:?} {key:#?}")),
        ("GroupKey", format!("{gk:?} {gk:#?}")),
        (
            "KmsKeySet",
            format!("{:?} {:#?}", keys_doc.key_sets()[0], keys_doc.key_sets()[0]),
        ),
        ("KmsResponse", format!("{keys_doc:?}")),
        ("Client", format!("{client:?} {client:#?}")),
        ("ReceivedKey", format!("{got:?} {got:#?}")),
    ] {
        assert_no_secret(what, &dbg, &all);
        assert_no_secret(
            what,
            &dbg,
            &[gmk_srtp.clone(), got_srtp.clone(), got_salt.clone()],
        );
    }
    // ... and they do show their public parts (the check above is not vacuous).
    assert!(format!("{kms:?}").contains(&hex::encode_upper(get(&v7, "KPAK"))));
    assert!(format!("{key:?}").contains(&hex::encode_upper(get(&v7, "PVT"))));
    assert!(format!("{:?}", keys_doc.key_sets()[0]).contains("sip:alice@streamwide.com"));

    // The store's types, on keys read back from a store created here.
    let dir = TmpDir::new("debug");
    let store = test_store(&dir.0.join("kms.db"), b"debug passphrase");
    let mk = store.master_keys(1).unwrap();
    let sets = provision(
        &store,
        &["sip:d@example.org".to_string()],
        PrincipalKind::User,
        &[1],
        &|_| {},
    )
    .unwrap();
    let store_secrets = vec![
        secret("store z", &mk.sakke.to_bytes()),
        secret("store KSAK", mk.eccsi.ksak().to_bytes().as_slice()),
        secret("store RSK", &sets[0].set.rsk.to_bytes()),
        secret("store SSK", sets[0].set.ssk.to_bytes().as_slice()),
    ];
    for (what, dbg) in [
        ("MasterKeys", format!("{mk:?} {mk:#?}")),
        ("IssuedKeySet", format!("{:?}", sets[0].set)),
        ("Provisioned", format!("{sets:?}")),
        ("Store", format!("{store:?} {store:#?}")),
    ] {
        assert_no_secret(what, &dbg, &store_secrets);
        assert!(!dbg.contains("debug passphrase"), "{what}: {dbg}");
    }
}

// ----------------------------------------------------------------------------------------------
// Errors of failing operations that involve secrets

#[test]
fn errors_of_secret_operations_carry_no_secret() {
    let (v8, s8) = rfc6508_secrets();
    let (v7, s7) = rfc6507_secrets();
    let zpub = KmsPublicKey::from_bytes(get(&v8, "Z")).unwrap();
    let z = MasterSecret::from_bytes(get(&v8, "z")).unwrap();
    let b = get(&v8, "b");
    let rsk = ReceiverSecretKey::from_bytes(get(&v8, "RSK")).unwrap();
    let ed = EncapsulatedData::from_bytes(get(&v8, "ED")).unwrap();
    // Another identifier's RSK, issued from the same z.
    let other = z.issue_rsk(b"someone else").unwrap();
    let mut secrets = s8;
    secrets.extend(s7);
    secrets.push(secret("other RSK", &other.to_bytes()));

    // SAKKE: a wrong RSK, a tampered H, a wrong RSK for the prepared receiver.
    assert_error_clean(
        "decapsulate with another RSK",
        &sakke::decapsulate(&zpub, b, &other, &ed).unwrap_err(),
        &secrets,
    );
    let mut tampered = get(&v8, "ED").to_vec();
    tampered[272] ^= 1;
    let tampered = EncapsulatedData::from_bytes(&tampered).unwrap();
    assert_error_clean(
        "decapsulate tampered H",
        &sakke::decapsulate(&zpub, b, &rsk, &tampered).unwrap_err(),
        &secrets,
    );
    assert_error_clean(
        "RSK validation",
        &other.validate(&zpub, b).unwrap_err(),
        &secrets,
    );
    assert_error_clean(
        "PreparedReceiver with another RSK",
        &PreparedReceiver::new(&zpub, b, &other).unwrap_err(),
        &secrets,
    );
    // Imports of invalid secrets: the error names the problem, never the value.
    let rsk_bytes = get(&v8, "RSK");
    let mut off_curve = rsk_bytes.to_vec();
    off_curve[256] ^= 1;
    assert_error_clean(
        "RSK import off the curve",
        &ReceiverSecretKey::from_bytes(&off_curve).unwrap_err(),
        &secrets,
    );
    assert_error_clean(
        "RSK import truncated",
        &ReceiverSecretKey::from_bytes(&rsk_bytes[..256]).unwrap_err(),
        &secrets,
    );
    let mut z_long = vec![1u8];
    z_long.extend_from_slice(&z.to_bytes());
    assert_error_clean(
        "master secret import with a non-zero extra octet",
        &MasterSecret::from_bytes(&z_long).unwrap_err(),
        &secrets,
    );
    let ssk = get(&v7, "SSK");
    assert_error_clean(
        "SSK import with a non-zero extra octet",
        &Ssk::from_bytes(&[&[1u8][..], ssk].concat()).unwrap_err(),
        &secrets,
    );
    assert_error_clean(
        "SSK/PVT validation with another SSK",
        &SigningKey::new(
            &Kpak::from_bytes(get(&v7, "KPAK")).unwrap(),
            get(&v7, "ID"),
            Ssk::from_bytes(&ssk[1..]).unwrap(),
            &Pvt::from_bytes(get(&v7, "PVT")).unwrap(),
        )
        .unwrap_err(),
        &secrets,
    );
    assert_error_clean(
        "KSAK import of q + KSAK",
        &Ksak::from_bytes(&[0xff; 32]).unwrap_err(),
        &secrets,
    );
}

#[test]
fn receive_errors_carry_no_secret() {
    let (vm, secrets) = mcx_secrets();
    let msg = b64("gmk_I_MESSAGE_b64");
    let kpak = Kpak::from_bytes(get(&vm, "kms_PubAuthKey")).unwrap();
    let zpub = KmsPublicKey::from_bytes(get(&vm, "kms_PubEncKey")).unwrap();
    let gms_uid: Uid = get(&vm, "gms_UserID").try_into().unwrap();
    let gms = SigningKey::new(
        &kpak,
        &gms_uid,
        Ssk::from_bytes(get(&vm, "gms_UserSigningKeySSK")).unwrap(),
        &Pvt::from_bytes(get(&vm, "gms_UserPubTokenPVT")).unwrap(),
    )
    .unwrap();
    let resign = |mut m: Vec<u8>| {
        let covered = m.len() - 129;
        let sig = gms
            .try_sign_with_rng(&mut ChaCha20Rng::seed_from_u64(5), &m[..covered])
            .unwrap();
        m[covered..].copy_from_slice(&sig.to_bytes());
        m
    };
    let parsed = mikey::parse(&msg).unwrap();
    let sakke_at = parsed
        .payloads_with_offsets()
        .find(|(_, p)| p.payload_type() == PayloadType::SAKKE)
        .unwrap()
        .0;
    let kp = parsed
        .general_extensions()
        .find_map(|g| g.key_parameters())
        .unwrap();
    let kp_at = kp.as_ptr() as usize - msg.as_ptr() as usize;
    let flip = |i: usize| {
        let mut m = msg.clone();
        m[i] ^= 1;
        m
    };
    let tampered = [
        ("flipped signature", flip(msg.len() - 60)),
        ("re-signed, H flipped", resign(flip(sakke_at + 5 + 270))),
        (
            "re-signed, key parameters flipped",
            resign(flip(kp_at + 40)),
        ),
        ("truncated", msg[..msg.len() - 1].to_vec()),
    ];
    let alice_uid: Uid = get(&vm, "alice_UserID").try_into().unwrap();
    let alice_rsk = ReceiverSecretKey::from_bytes(get(&vm, "alice_UserDecryptKey")).unwrap();
    let prepared = PreparedReceiver::new(&zpub, &alice_uid, &alice_rsk).unwrap();
    let receiver = Receiver {
        uid: &alice_uid,
        user_uri: Some(b"sip:alice@streamwide.com"),
        kms_public_key: &zpub,
        rsk: &prepared,
        kpak: &kpak,
        key_period: None,
        expected_initiator: None,
        compat_signature: false,
        compat_minimal_w: false,
        compat_legacy_key_params: false,
    };
    let (cert_xml, keys_xml) = mcx_documents("alice");
    let cert = KmsResponse::from_xml(&cert_xml).unwrap();
    let keys = KmsResponse::from_xml(&keys_xml).unwrap();
    let client = Client::load(cert.certificate().unwrap(), keys.key_sets()).unwrap();
    let mut kinds = Vec::new();
    for (what, m) in &tampered {
        let e = imessage::receive(&receiver, TimeCheck::Disabled, None, m).unwrap_err();
        kinds.push(e.to_string());
        assert_error_clean(what, &e, &secrets);
        let e = client.receive(m, TimeCheck::Disabled, None).unwrap_err();
        assert_error_clean(&format!("client: {what}"), &e, &secrets);
    }
    // The failures are the intended ones (signature, decapsulation, key parameters, parse).
    assert!(kinds[0].contains("signature"), "{kinds:?}");
    assert!(kinds[1].contains("decapsulation"), "{kinds:?}");
    assert!(kinds[2].contains("decryption failed"), "{kinds:?}");
    assert!(kinds[3].contains("malformed"), "{kinds:?}");
    // Bob's keys on alice's message; a key set whose RSK is bob's; the key parameters opened
    // with a wrong key.
    let (_, bob_xml) = mcx_documents("bob");
    let bob = KmsResponse::from_xml(&bob_xml).unwrap();
    let bob_client = Client::load(cert.certificate().unwrap(), bob.key_sets()).unwrap();
    assert_error_clean(
        "bob receives alice's message",
        &bob_client
            .receive(&msg, TimeCheck::Disabled, None)
            .unwrap_err(),
        &secrets,
    );
    let swapped = keys_xml.replace(
        &hex::encode_upper(get(&vm, "alice_UserDecryptKey")),
        &hex::encode_upper(get(&vm, "bob_UserDecryptKey")),
    );
    assert_ne!(swapped, keys_xml);
    let swapped = KmsResponse::from_xml(&swapped).unwrap();
    assert_error_clean(
        "client load with bob's RSK",
        &Client::load(cert.certificate().unwrap(), swapped.key_sets()).unwrap_err(),
        &secrets,
    );
    let swapped = keys_xml.replace(
        &hex::encode_upper(get(&vm, "alice_UserSigningKeySSK")),
        &hex::encode_upper(get(&vm, "bob_UserSigningKeySSK")),
    );
    let swapped = KmsResponse::from_xml(&swapped).unwrap();
    assert_error_clean(
        "client load with bob's SSK",
        &Client::load(cert.certificate().unwrap(), swapped.key_sets()).unwrap_err(),
        &secrets,
    );
    assert_error_clean(
        "key parameters under a wrong key",
        &key_params::open(get(&vm, "csk_CSK"), kp).unwrap_err(),
        &secrets,
    );
}

#[test]
fn key_set_document_errors_carry_no_secret() {
    // A key-provision document whose secret values are damaged: the reader's error names the
    // element and the reason, never the (rest of the) value. Any echo of 31 or more hex digits
    // of a key would contain one of its 64-bit limbs, which the scan looks for.
    let (vm, secrets) = mcx_secrets();
    let (_, keys_xml) = mcx_documents("alice");
    let rsk = hex::encode_upper(get(&vm, "alice_UserDecryptKey"));
    let ssk = hex::encode_upper(get(&vm, "alice_UserSigningKeySSK"));
    let with = |old: &str, new: String| {
        assert!(keys_xml.contains(old));
        keys_xml.replace(old, &new)
    };
    let damaged = [
        (
            "RSK with a '!' inside",
            with(&rsk, format!("{}!{}", &rsk[..200], &rsk[201..])),
        ),
        (
            "RSK with an entity inside",
            with(&rsk, format!("{}&x;{}", &rsk[..200], &rsk[200..])),
        ),
        (
            "RSK with '<' inside",
            with(&rsk, format!("{}<{}", &rsk[..200], &rsk[200..])),
        ),
        (
            "RSK with a control character",
            with(&rsk, format!("{}\u{7}{}", &rsk[..200], &rsk[201..])),
        ),
        ("RSK one octet short", with(&rsk, rsk[..512].to_string())),
        ("RSK one digit short", with(&rsk, rsk[..513].to_string())),
        (
            "RSK with a child element",
            with(&rsk, format!("{}<Extra/>{}", &rsk[..256], &rsk[256..])),
        ),
        ("SSK one digit short", with(&ssk, ssk[..63].to_string())),
        (
            "SSK as base64 with a bad character",
            with(&ssk, format!("{}*", &ssk[..40])),
        ),
    ];
    for (what, doc) in &damaged {
        let e = KmsResponse::from_xml(doc).unwrap_err();
        assert_error_clean(what, &e, &secrets);
    }
}

#[test]
fn store_and_provisioning_errors_carry_no_secret() {
    let dir = TmpDir::new("store");
    let path = dir.0.join("kms.db");
    let pass = b"the right passphrase";
    let store = test_store(&path, pass);
    let mk = store.master_keys(1).unwrap();
    let sets = provision(
        &store,
        &["sip:p@example.org".to_string()],
        PrincipalKind::User,
        &[1],
        &|_| {},
    )
    .unwrap();
    let secrets = vec![
        secret("store z", &mk.sakke.to_bytes()),
        secret("store KSAK", mk.eccsi.ksak().to_bytes().as_slice()),
        secret("store RSK", &sets[0].set.rsk.to_bytes()),
        secret("store SSK", sets[0].set.ssk.to_bytes().as_slice()),
    ];
    let passphrases = ["the right passphrase", "a wrong passphrase"];
    let check = |what: &str, e: &dyn ErrorText| {
        let (d, g) = e.texts();
        for t in [&d, &g] {
            assert_no_secret(what, t, &secrets);
            for p in passphrases {
                assert!(!t.contains(p), "{what} shows a passphrase: {t}");
            }
        }
    };
    drop(store);
    let e = Store::open(&path, b"a wrong passphrase").unwrap_err();
    assert!(e.to_string().contains("wrong passphrase"), "{e}");
    check("open with a wrong passphrase", &e);
    let e = test_store_result(&path, pass).unwrap_err();
    check("create over an existing store", &e);
    let store = Store::open(&path, pass).unwrap();
    let e = store.register("", PrincipalKind::User).unwrap_err();
    check("register an empty URI", &e);
    let long = "sip:".to_string() + &"x".repeat(70_000);
    let e = issue_key_set(&mk, "kms.example.org", periods(), &long, 1).unwrap_err();
    check("issue for a URI too long for a UID", &e);
    let e = provision(
        &store,
        std::slice::from_ref(&long),
        PrincipalKind::User,
        &[1],
        &|_| {},
    )
    .unwrap_err();
    check("provision a URI too long for a UID", &e);
}

trait ErrorText {
    fn texts(&self) -> (String, String);
}
impl<E: std::fmt::Display + std::fmt::Debug> ErrorText for E {
    fn texts(&self) -> (String, String) {
        (self.to_string(), format!("{self:?}"))
    }
}

// ----------------------------------------------------------------------------------------------
// The CLI workflows that handle secrets

const PASS: &str = "secret-hygiene-cli-passphrase";

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mikey-sakke"))
        .args(args)
        .env("MIKEY_SAKKE_PASSPHRASE", PASS)
        .env("XDG_DATA_HOME", common::fresh_state_home())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn texts(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn ok(args: &[&str]) -> (String, String) {
    let o = cli(args);
    assert_eq!(o.status.code(), Some(0), "{args:?}: {:?}", texts(&o));
    texts(&o)
}

/// Checks stdout and stderr of a run; `documented` lists the stdout line prefixes whose
/// purpose is to print a secret (skipped; each call says why).
#[track_caller]
fn assert_output_clean(
    what: &str,
    (out, err): &(String, String),
    secrets: &[Secret],
    documented: &[&str],
) {
    for line in out.lines() {
        let l = line.trim_start();
        if documented.iter().any(|d| l.starts_with(d)) {
            continue;
        }
        assert_no_secret(&format!("{what}: stdout"), line, secrets);
        assert!(!line.contains(PASS), "{what}: stdout shows the passphrase");
    }
    assert_no_secret(&format!("{what}: stderr"), err, secrets);
    assert!(!err.contains(PASS), "{what}: stderr shows the passphrase");
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Key sets of an Annex D file: (name, secret) for each RSK and SSK.
fn key_set_secrets(path: &Path) -> Vec<Secret> {
    let doc = KmsResponse::from_xml(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(!doc.key_sets().is_empty());
    doc.key_sets()
        .iter()
        .flat_map(|k| {
            [
                secret(&format!("{} RSK", k.user_uri), k.user_decrypt_key()),
                secret(&format!("{} SSK", k.user_uri), k.user_signing_key_ssk()),
            ]
        })
        .collect()
}

#[test]
fn cli_workflows_print_no_secret() {
    let dir = TmpDir::new("cli");
    let d = &dir.0;
    let db = d.join("kms.db");
    let init = ok(&[
        "kms",
        "init",
        "--store",
        p(&db),
        "--kms-uri",
        "kms.example.org",
    ]);
    // The store's master secrets, read back with the library.
    let store = Store::open(&db, PASS.as_bytes()).unwrap();
    let now_period = init
        .0
        .lines()
        .find_map(|l| l.strip_prefix("current_key_period = "))
        .unwrap()
        .parse::<u64>()
        .unwrap();
    let mk = store.master_keys(now_period).unwrap();
    drop(store);
    let mut secrets = vec![
        secret("KMS z", &mk.sakke.to_bytes()),
        secret("KMS KSAK", mk.eccsi.ksak().to_bytes().as_slice()),
    ];
    assert_output_clean("kms init", &init, &secrets, &[]);
    // The public keys are printed (so the scan is not vacuous).
    assert!(
        init.0
            .contains(&hex::encode_upper(mk.sakke_public.to_bytes()))
    );

    let cert = d.join("cert.xml");
    let cert_out = ok(&["kms", "certificate", "--store", p(&db)]);
    assert_output_clean("kms certificate", &cert_out, &secrets, &[]);
    std::fs::write(&cert, &cert_out.0).unwrap();

    let members = d.join("members.txt");
    std::fs::write(&members, "sip:a@example.org\nsip:b@example.org\n").unwrap();
    let keys = d.join("keys");
    std::fs::create_dir(&keys).unwrap();
    let gms = d.join("gms.xml");
    let prov_gms = ok(&[
        "kms",
        "provision",
        "--store",
        p(&db),
        "--user",
        "sip:gms@example.org",
        "--out",
        p(&gms),
    ]);
    let prov_members = ok(&[
        "kms",
        "provision",
        "--store",
        p(&db),
        "--users-file",
        p(&members),
        "--out",
        p(&keys),
    ]);
    secrets.extend(key_set_secrets(&gms));
    secrets.extend(key_set_secrets(&keys.join("sip%3Aa%40example.org.xml")));
    secrets.extend(key_set_secrets(&keys.join("sip%3Ab%40example.org.xml")));
    assert_output_clean("kms provision --out FILE", &prov_gms, &secrets, &[]);
    assert_output_clean("kms provision --out DIR", &prov_members, &secrets, &[]);
    // Re-running hands out the recorded key sets: still nothing printed.
    let again = ok(&[
        "kms",
        "provision",
        "--store",
        p(&db),
        "--users-file",
        p(&members),
        "--out",
        p(&keys),
    ]);
    assert_output_clean("kms provision re-run", &again, &secrets, &[]);
    // Without --out the key-provision document goes to stdout: printing the user's RSK and
    // SSK is that command's documented purpose, so only their two element lines are skipped;
    // every other line (and stderr) must hold no secret, the master secrets in particular.
    let to_stdout = ok(&[
        "kms",
        "provision",
        "--store",
        p(&db),
        "--user",
        "sip:a@example.org",
    ]);
    assert!(
        to_stdout
            .0
            .contains("<UserDecryptKey xsi:type=\"KeyContentType\">")
    );
    assert_output_clean(
        "kms provision to stdout",
        &to_stdout,
        &secrets,
        &[
            "<UserDecryptKey xsi:type=\"KeyContentType\">",
            "<UserSigningKeySSK xsi:type=\"KeyContentType\">",
        ],
    );

    // The group manager with a known GMK.
    let gmk = "8899AABBCCDDEEFF0011223344556677";
    secrets.push(secret("GMK", &hex::decode(gmk).unwrap()));
    let out = d.join("out");
    let dist = ok(&[
        "gms",
        "distribute",
        "--cert",
        p(&cert),
        "--keys",
        p(&gms),
        "--group-id",
        "sip:g@example.org",
        "--members",
        p(&members),
        "--out",
        p(&out),
        "--gmk",
        gmk,
        "--gmk-id",
        "0abcdef1",
    ]);
    assert_output_clean("gms distribute", &dist, &secrets, &[]);
    assert!(dist.0.contains("gmk_id = 0ABCDEF1"), "{dist:?}");

    // The receiving client: printing the received key (and the SRTP master key and salt
    // derived from it) is `ue receive`'s documented purpose; those lines only are skipped.
    let a_keys = keys.join("sip%3Aa%40example.org.xml");
    let a_msg = out.join("sip%3Aa%40example.org.mikey");
    let got = ok(&[
        "ue",
        "receive",
        "--cert",
        p(&cert),
        "--keys",
        p(&a_keys),
        "--message",
        p(&a_msg),
    ]);
    assert!(got.0.contains(&format!("key = {gmk}\n")), "{got:?}");
    assert_output_clean(
        "ue receive",
        &got,
        &secrets,
        &["key = ", "srtp_master_key = ", "srtp_master_salt = "],
    );
    // Failures: a tampered message, someone else's message, a wrong passphrase.
    let mut tampered = std::fs::read(&a_msg).unwrap();
    let n = tampered.len();
    tampered[n - 50] ^= 1;
    let tampered_path = d.join("tampered.mikey");
    std::fs::write(&tampered_path, &tampered).unwrap();
    for (what, message) in [
        ("ue receive, tampered", &tampered_path),
        (
            "ue receive, another member's message",
            &out.join("sip%3Ab%40example.org.mikey"),
        ),
    ] {
        let o = cli(&[
            "ue",
            "receive",
            "--cert",
            p(&cert),
            "--keys",
            p(&a_keys),
            "--message",
            p(message),
        ]);
        assert_eq!(o.status.code(), Some(1), "{what}");
        assert_output_clean(what, &texts(&o), &secrets, &[]);
    }
    let o = Command::new(env!("CARGO_BIN_EXE_mikey-sakke"))
        .args(["kms", "certificate", "--store", p(&db)])
        .env("MIKEY_SAKKE_PASSPHRASE", "a wrong passphrase")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let t = texts(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(t.1.contains("wrong passphrase"), "{t:?}");
    assert!(!t.1.contains("a wrong passphrase"), "{t:?}");
    assert_output_clean("kms certificate, wrong passphrase", &t, &secrets, &[]);
}

#[test]
fn cli_primitive_failures_print_no_secret() {
    let (v8, s8) = rfc6508_secrets();
    let (v7, s7) = rfc6507_secrets();
    let (vm, sm) = mcx_secrets();
    let mut secrets: Vec<Secret> = s8.into_iter().chain(s7).chain(sm).collect();
    let hx = |b: &[u8]| hex::encode_upper(b);
    let z = hx(get(&v8, "z"));
    let zz = hx(get(&v8, "Z"));
    let b = hx(get(&v8, "b"));
    let ed = hx(get(&v8, "ED"));
    let dir = TmpDir::new("primitives");
    let msg_file = dir.0.join("gmk.mikey");
    std::fs::write(&msg_file, b64("gmk_I_MESSAGE_b64")).unwrap();
    // An RSK for another identifier: issuing it is `issue-rsk`'s purpose (its RSK line is the
    // output); then decapsulating with it fails without printing it.
    let issued = ok(&["sakke", "issue-rsk", "--master-secret", &z, "--id", "00"]);
    assert_output_clean("sakke issue-rsk", &issued, &secrets, &["RSK = "]);
    let other = issued.0.trim().strip_prefix("RSK = ").unwrap().to_string();
    secrets.push(secret("RSK for id 00", &hex::decode(&other).unwrap()));
    let failures: Vec<(&str, Vec<String>)> = vec![
        (
            "sakke decapsulate with another RSK",
            vec![
                "sakke",
                "decapsulate",
                "--kms-public-key",
                &zz,
                "--id",
                &b,
                "--rsk",
                &other,
                "--ed",
                &ed,
            ]
            .into_iter()
            .map(String::from)
            .collect(),
        ),
        (
            "sakke validate-rsk with another RSK",
            [
                "sakke",
                "validate-rsk",
                "--kms-public-key",
                &zz,
                "--id",
                &b,
                "--rsk",
                &other,
            ]
            .map(String::from)
            .to_vec(),
        ),
        (
            "sakke public-key, master secret with a bad last digit",
            ["sakke", "public-key", "--master-secret", &format!("{z}G")]
                .map(String::from)
                .to_vec(),
        ),
        (
            "sakke public-key, master secret with an extra octet",
            // 1 + 108 + 20 = 129 significant octets, z at the end.
            [
                "sakke",
                "public-key",
                "--master-secret",
                &format!("01{}{z}", "00".repeat(108)),
            ]
            .map(String::from)
            .to_vec(),
        ),
        (
            "eccsi validate with another SSK",
            [
                "eccsi",
                "validate",
                "--kpak",
                &hx(get(&v7, "KPAK")),
                "--id",
                &hx(get(&v7, "ID")),
                "--ssk",
                &hx(get(&vm, "alice_UserSigningKeySSK")),
                "--pvt",
                &hx(get(&v7, "PVT")),
            ]
            .map(String::from)
            .to_vec(),
        ),
        (
            "eccsi sign with an SSK that does not match",
            [
                "eccsi",
                "sign",
                "--kpak",
                &hx(get(&v7, "KPAK")),
                "--id",
                &hx(get(&v7, "ID")),
                "--ssk",
                &hx(get(&vm, "bob_UserSigningKeySSK")),
                "--pvt",
                &hx(get(&v7, "PVT")),
                "--message",
                "00",
            ]
            .map(String::from)
            .to_vec(),
        ),
        (
            "mikey receive with bob's RSK",
            [
                "mikey",
                "receive",
                "--message",
                p(&msg_file),
                "--kms-public-key",
                &hx(get(&vm, "kms_PubEncKey")),
                "--kpak",
                &hx(get(&vm, "kms_PubAuthKey")),
                "--uid",
                &hx(get(&vm, "alice_UserID")),
                "--rsk",
                &hx(get(&vm, "bob_UserDecryptKey")),
            ]
            .map(String::from)
            .to_vec(),
        ),
    ];
    for (what, args) in &failures {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = cli(&args);
        assert_eq!(o.status.code(), Some(1), "{what}: {:?}", texts(&o));
        assert_output_clean(what, &texts(&o), &secrets, &[]);
    }
}

#[test]
fn cli_demo_prints_no_key_material() {
    // The demo's keys are random and never leave the process, so no known value can be looked
    // for; instead: no run of 32 or more hex digits (a GMK, the shortest secret it handles,
    // is 32 hex digits; it prints only the 8-digit GMK-ID).
    let (out, err) = ok(&["demo", "--members", "2"]);
    for text in [&out, &err] {
        let mut run = 0usize;
        for c in text.chars() {
            run = if c.is_ascii_hexdigit() { run + 1 } else { 0 };
            assert!(run < 32, "demo prints a long hex string: {text}");
        }
    }
    assert!(out.contains("result = OK"), "{out}");
}

// ----------------------------------------------------------------------------------------------
// Fixtures

struct TmpDir(PathBuf);

impl TmpDir {
    fn new(name: &str) -> Self {
        let nonce: u64 = rand_core::Rng::next_u64(&mut rand_core::UnwrapErr(getrandom::SysRng));
        let p = std::env::temp_dir().join(format!("mikey-sakke-hygiene-{name}-{nonce:016x}"));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}

impl Drop for TmpDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn periods() -> KeyPeriods {
    KeyPeriods {
        length: 2_592_000,
        offset: 0,
    }
}

fn test_store_result(
    path: &Path,
    pass: &[u8],
) -> Result<Store, mikey_sakke::kms::store::StoreError> {
    let config = KmsConfig {
        kms_uri: "kms.example.org".into(),
        periods: periods(),
        parameter_set: 1,
    };
    Store::create(
        path,
        pass,
        &config,
        KdfParams::TEST_ONLY,
        &mut ChaCha20Rng::seed_from_u64(8),
    )
}

fn test_store(path: &Path, pass: &[u8]) -> Store {
    test_store_result(path, pass).unwrap()
}

fn b64(name: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text_value(MCX, name))
        .unwrap()
}

/// The published certificate and `who`'s key set (key period 236) as Annex D documents.
fn mcx_documents(who: &str) -> (String, String) {
    let v = parse(MCX);
    let kms_uri = text_value(MCX, "kms_KmsUri");
    let cert = KmsCertificate::new(
        kms_uri,
        &KmsPublicKey::from_bytes(get(&v, "kms_PubEncKey")).unwrap(),
        &Kpak::from_bytes(get(&v, "kms_PubAuthKey")).unwrap(),
        KeyPeriods {
            length: 16_777_215,
            offset: 0,
        },
    );
    let cert_xml = KmsResponse::new(
        kms_uri,
        kms_uri,
        "2025-01-01T00:00:00Z",
        "https://kms/init",
        Some(KmsMessage::Init(Box::new(cert))),
    )
    .to_xml();
    let ks = KmsKeySet::new(
        kms_uri,
        text_value(MCX, &format!("{who}_UserUri")),
        get(&v, &format!("{who}_UserID")).try_into().unwrap(),
        236,
        &ReceiverSecretKey::from_bytes(get(&v, &format!("{who}_UserDecryptKey"))).unwrap(),
        &Ssk::from_bytes(get(&v, &format!("{who}_UserSigningKeySSK"))).unwrap(),
        &Pvt::from_bytes(get(&v, &format!("{who}_UserPubTokenPVT"))).unwrap(),
    );
    let keys_xml = KmsResponse::new(
        text_value(MCX, &format!("{who}_UserUri")),
        kms_uri,
        "2025-01-01T00:00:00Z",
        "https://kms/keyprov",
        Some(KmsMessage::KeyProv(KmsKeyProv { key_sets: vec![ks] })),
    )
    .to_xml();
    (cert_xml, keys_xml)
}
