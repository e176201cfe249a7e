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
