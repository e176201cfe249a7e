//! GMK fan-out: every member of a group recovers the same GMK, its GMK-ID and the group ID,
//! with either signer (the GMS identity or the group identity).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};

use mikey_sakke::eccsi::{KmsKeyPair, SigningKey};
use mikey_sakke::gms::{self, Distribution, GroupKey, GroupManager};
use mikey_sakke::mcx::imessage::{self, Receiver, TimeCheck};
use mikey_sakke::mcx::uid::{KeyPeriods, uid};
use mikey_sakke::sakke::{MasterSecret, PreparedReceiver};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

#[test]
fn every_member_recovers_the_gmk_with_either_signer() {
    let mut rng = ChaCha20Rng::seed_from_u64(2000);
    let z = MasterSecret::random(&mut rng);
    let zpub = z.public_key();
    let eccsi = KmsKeyPair::generate(&mut rng).unwrap();
    let kms_uri = "kms.example.org";
    let periods = KeyPeriods {
        length: 2_592_000,
        offset: 0,
    };
    let now = 3_950_000_000u64;
    let period = periods.period_number(now).unwrap();
    let members: Vec<String> = (0..12)
        .map(|i| format!("sip:member{i}@example.org"))
        .collect();
    for signer_uri in ["sip:gms@example.org", "sip:group7@example.org"] {
        let signer_uid = uid(signer_uri.as_bytes(), kms_uri.as_bytes(), periods, period).unwrap();
        let (ssk, pvt) = eccsi.issue(&signer_uid, &mut rng).unwrap();
        let signer = SigningKey::new(eccsi.kpak(), &signer_uid, ssk, &pvt).unwrap();
        let gm = GroupManager::new(signer, period, &zpub, kms_uri, periods);
        let key = GroupKey::generate(&mut rng);
        let dist = Distribution {
            group_id: "sip:group7@example.org",
            text: "group 7",
            ntp_time: now << 32,
            activation: [0; 5],
            expiry: [0; 5],
        };
        let count = AtomicUsize::new(0);
        let out = gms::distribute(&gm, &key, &dist, &members, &|| {
            count.fetch_add(1, Ordering::Relaxed);
        })
        .unwrap();
        assert_eq!(count.load(Ordering::Relaxed), members.len());
        assert_eq!(out.len(), members.len());
        for m in &out {
            let member_uid = uid(m.member.as_bytes(), kms_uri.as_bytes(), periods, period).unwrap();
            let rsk = z.issue_rsk(&member_uid).unwrap();
            let prepared_rsk = PreparedReceiver::new(&zpub, &member_uid, &rsk).unwrap();
            let receiver = Receiver {
                uid: &member_uid,
                user_uri: Some(m.member.as_bytes()),
                kms_public_key: &zpub,
                rsk: &prepared_rsk,
                kpak: eccsi.kpak(),
                key_period: Some((periods, period)),
                expected_initiator: Some(&signer_uid),
                compat_signature: false,
                compat_minimal_w: false,
                compat_legacy_key_params: false,
            };
            let got = imessage::receive(
                &receiver,
                TimeCheck::Window { now, max_skew: 60 },
                None,
                &m.message,
            )
            .unwrap();
            assert_eq!(got.key, key.gmk);
            assert_eq!(got.key_id, key.gmk_id);
            assert_eq!(got.csb_id, m.guk_id);
            let kp = got.key_params.unwrap();
            assert_eq!(kp.group_ids.unwrap()[0].value, b"sip:group7@example.org");
            assert_eq!(kp.text, b"group 7");
        }
        // distinct GUK-IDs per member
        let mut guks: Vec<u32> = out.iter().map(|m| m.guk_id.0).collect();
        guks.sort_unstable();
        guks.dedup();
        assert_eq!(guks.len(), members.len());
    }
}

/// 2000 members, every one recovers the same GMK. Slow in a debug build: run it with
/// `cargo test --release --test gms -- --ignored`.
#[test]
#[ignore = "about a minute; run with --release -- --ignored"]
fn two_thousand_members_recover_the_same_gmk() {
    use rayon::prelude::*;
    let mut rng = ChaCha20Rng::seed_from_u64(2001);
    let z = MasterSecret::random(&mut rng);
    let zpub = z.public_key();
    let eccsi = KmsKeyPair::generate(&mut rng).unwrap();
    let kms_uri = "kms.example.org";
    let periods = KeyPeriods {
        length: 2_592_000,
        offset: 0,
    };
    let now = 3_950_000_000u64;
    let period = periods.period_number(now).unwrap();
    let signer_uid = uid(b"sip:gms@example.org", kms_uri.as_bytes(), periods, period).unwrap();
    let (ssk, pvt) = eccsi.issue(&signer_uid, &mut rng).unwrap();
    let signer = SigningKey::new(eccsi.kpak(), &signer_uid, ssk, &pvt).unwrap();
    let gm = GroupManager::new(signer, period, &zpub, kms_uri, periods);
    let members: Vec<String> = (0..2000)
        .map(|i| format!("sip:member{i}@example.org"))
        .collect();
    let key = GroupKey::generate(&mut rng);
    let dist = Distribution {
        group_id: "sip:big@example.org",
        text: "",
        ntp_time: now << 32,
        activation: [0; 5],
        expiry: [0; 5],
    };
    let t = std::time::Instant::now();
    let out = gms::distribute(&gm, &key, &dist, &members, &|| {}).unwrap();
    eprintln!("2000 messages built in {:.2} s", t.elapsed().as_secs_f64());
    let recovered = out
        .par_iter()
        .filter(|m| {
            let member_uid = uid(m.member.as_bytes(), kms_uri.as_bytes(), periods, period).unwrap();
            let rsk = z.issue_rsk(&member_uid).unwrap();
            let prepared_rsk = PreparedReceiver::new(&zpub, &member_uid, &rsk).unwrap();
            let receiver = Receiver {
                uid: &member_uid,
                user_uri: Some(m.member.as_bytes()),
                kms_public_key: &zpub,
                rsk: &prepared_rsk,
                kpak: eccsi.kpak(),
                key_period: Some((periods, period)),
                expected_initiator: Some(&signer_uid),
                compat_signature: false,
                compat_minimal_w: false,
                compat_legacy_key_params: false,
            };
            let got = imessage::receive(&receiver, TimeCheck::Disabled, None, &m.message).unwrap();
            got.key == key.gmk && got.key_id == key.gmk_id
        })
        .count();
    assert_eq!(recovered, 2000);
}

/// The group manager loads the certificate and its key sets (Annex D), validates each once,
/// and signs with the key set of the message time's key period.
#[test]
fn group_manager_loads_its_key_sets_and_signs_with_the_messages_period() {
    use mikey_sakke::annex_d::KeySetError;
    use mikey_sakke::annex_d::{KmsCertificate, KmsKeySet};
    use mikey_sakke::gms::GmsError;
    use mikey_sakke::mcx::key_id::{KeyId, PurposeTag};
    use mikey_sakke::sakke::Ssv;
    let mut rng = ChaCha20Rng::seed_from_u64(2002);
    let z = MasterSecret::random(&mut rng);
    let zpub = z.public_key();
    let eccsi = KmsKeyPair::generate(&mut rng).unwrap();
    let kms_uri = "kms.example.org";
    let periods = KeyPeriods {
        length: 2_592_000,
        offset: 0,
    };
    let cert = KmsCertificate::new(kms_uri, &zpub, eccsi.kpak(), periods);
    let now = 3_950_000_000u64;
    let p0 = periods.period_number(now).unwrap();
    let gms_uri = "sip:gms@example.org";
    let mut key_set = |user: &str, p: u64| {
        let id = uid(user.as_bytes(), kms_uri.as_bytes(), periods, p).unwrap();
        let (ssk, pvt) = eccsi.issue(&id, &mut rng).unwrap();
        let rsk = z.issue_rsk(&id).unwrap();
        (KmsKeySet::new(kms_uri, user, id, p, &rsk, &ssk, &pvt), id)
    };
    let (ks0, uid0) = key_set(gms_uri, p0);
    let (ks1, uid1) = key_set(gms_uri, p0 + 1);
    let (bob, _) = key_set("sip:bob@example.org", p0);
    let gm = GroupManager::load(&cert, &[ks0.clone(), ks1.clone()]).unwrap();
    assert_eq!(gm.key_periods(), vec![p0, p0 + 1]);
    let members = vec!["sip:member@example.org".to_string()];
    let key = GroupKey::generate(&mut rng);
    for (t, signer_uid, p) in [(now, uid0, p0), (now + periods.length, uid1, p0 + 1)] {
        let dist = Distribution {
            group_id: "sip:group7@example.org",
            text: "",
            ntp_time: t << 32,
            activation: [0; 5],
            expiry: [0; 5],
        };
        assert_eq!(gm.period_of(t << 32).unwrap(), p);
        let out = gms::distribute(&gm, &key, &dist, &members, &|| {}).unwrap();
        let member_uid = uid(members[0].as_bytes(), kms_uri.as_bytes(), periods, p).unwrap();
        let rsk = z.issue_rsk(&member_uid).unwrap();
        let prepared_rsk = PreparedReceiver::new(&zpub, &member_uid, &rsk).unwrap();
        let receiver = Receiver {
            uid: &member_uid,
            user_uri: Some(members[0].as_bytes()),
            kms_public_key: &zpub,
            rsk: &prepared_rsk,
            kpak: eccsi.kpak(),
            key_period: Some((periods, p)),
            expected_initiator: Some(&signer_uid),
            compat_signature: false,
            compat_minimal_w: false,
            compat_legacy_key_params: false,
        };
        let got = imessage::receive(&receiver, TimeCheck::Disabled, None, &out[0].message).unwrap();
        assert_eq!(got.key, key.gmk);
        assert_eq!(got.key_id, key.gmk_id);
    }
    // No key set for the period of the message time.
    let later = Distribution {
        group_id: "g",
        text: "",
        ntp_time: (now + 2 * periods.length) << 32,
        activation: [0; 5],
        expiry: [0; 5],
    };
    assert!(matches!(
        gms::distribute(&gm, &key, &later, &members, &|| {}),
        Err(GmsError::NoSignerForPeriod(p)) if p == p0 + 2
    ));
    // Refused on load: no key sets, another KMS, SSK/PVT of another identity, a UserID that is
    // not the UID of the user URI.
    assert!(matches!(
        GroupManager::load(&cert, &[]),
        Err(GmsError::KeySet(KeySetError::NoKeySets))
    ));
    let other_kms = KmsCertificate::new("kms.other.org", &zpub, eccsi.kpak(), periods);
    assert!(matches!(
        GroupManager::load(&other_kms, std::slice::from_ref(&ks0)),
        Err(GmsError::KeySet(KeySetError::WrongKms { .. }))
    ));
    let mut forged = bob.clone();
    forged.user_id = uid0;
    let e = GroupManager::load(&cert, &[forged]).unwrap_err();
    assert!(
        matches!(e, GmsError::KeySet(KeySetError::InvalidSigningKey(p)) if p == p0),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("the signer's SSK/PVT do not validate")
    );
    let mut relabelled = ks0.clone();
    relabelled.user_uri = "sip:someone-else@example.org".into();
    assert!(matches!(
        GroupManager::load(&cert, &[relabelled]),
        Err(GmsError::KeySet(KeySetError::WrongUserId(p))) if p == p0
    ));
    // A GMK-ID must carry the GMK purpose tag.
    let gmk = Ssv::random(&mut rng);
    assert!(matches!(
        GroupKey::new(gmk, KeyId::random(PurposeTag::Pck, &mut rng)),
        Err(GmsError::NotAGmkId(_))
    ));
    let id = KeyId::random(PurposeTag::Gmk, &mut rng);
    assert_eq!(GroupKey::new(Ssv::random(&mut rng), id).unwrap().gmk_id, id);
}
