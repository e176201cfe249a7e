//! The conformance suite of the `KmsStore` trait, written once for every backend.
//!
//! A backend's test file implements [`Harness`] (how to create, reopen and damage a store of
//! that backend) and adds one line: `store_conformance_tests!(MyHarness);`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use mikey_sakke::eccsi::SigningKey;
use mikey_sakke::kms::provision::{ProvisionError, issue_key_set, provision};
use mikey_sakke::kms::store::lifecycle::AuditKind;
use mikey_sakke::kms::store::{
    KdfParams, KmsConfig, KmsStore, LifecycleStore, PrincipalKind, StoreError, refuse_revoked,
};
use mikey_sakke::mcx::uid::{KeyPeriods, uid};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// The passphrase of every store of the suite.
pub const PASS: &[u8] = b"correct horse battery staple";

/// The configuration of every store of the suite.
pub fn config() -> KmsConfig {
    KmsConfig {
        kms_uri: "kms.example.org".into(),
        periods: KeyPeriods {
            length: 2_592_000,
            offset: 0,
        },
        parameter_set: 1,
    }
}

/// `n` user URIs.
pub fn users(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("sip:user{i}@example.org")).collect()
}

/// What the suite needs from a backend. One harness value is one place for one store (a file,
/// a database schema), removed when the harness is dropped.
pub trait Harness: Send + Sync + Sized {
    /// The backend.
    type Store: KmsStore + LifecycleStore + 'static;
    /// A fresh, empty place.
    fn new(name: &str) -> Self;
    /// Creates the store with [`config`], [`PASS`], cheap KDF parameters and a ChaCha20 RNG
    /// seeded with `seed`.
    fn create(&self, seed: u64) -> Result<Self::Store, StoreError>;
    /// Opens the store with `passphrase` (a new connection each time).
    fn open(&self, passphrase: &[u8]) -> Result<Self::Store, StoreError>;
    /// Opens a place where no store exists.
    fn open_missing(&self) -> Result<Self::Store, StoreError>;
    /// Damages the storage so that it is no store any more (a truncated file, dropped tables).
    fn damage(&self);
    /// Flips one bit inside the sealed SAKKE master secret (of every generation).
    fn flip_sealed_master_bit(&self);
    /// Copies the sealed RSK of `from` over that of `to` for `period`.
    fn move_sealed_rsk(&self, from: &str, to: &str, period: u64);
    /// The value of the settings row `key`.
    fn meta(&self, key: &str) -> Vec<u8>;
    /// Sets (or with `None` deletes) the settings row `key`, as an attacker with write access
    /// to the database would.
    fn set_meta(&self, key: &str, value: Option<&[u8]>);
    /// Everything the backend holds at rest, as octets (the file and its journal, a dump).
    fn raw_contents(&self) -> Vec<u8>;
    /// Whether this backend's tests are skipped (explicitly, e.g. no PostgreSQL locally).
    fn skip() -> bool {
        false
    }
}

fn create<H: Harness>(h: &H) -> H::Store {
    h.create(1).unwrap()
}

pub fn create_open_and_wrong_passphrase<H: Harness>() {
    let h = H::new("open");
    let store = create(&h);
    let keys = store.master_keys(1500).unwrap();
    drop(store);
    assert!(matches!(h.create(2), Err(StoreError::AlreadyExists)));
    let store = h.open(PASS).unwrap();
    assert_eq!(store.config(), &config());
    assert_eq!(
        store.master_keys(1500).unwrap().sakke_public,
        keys.sakke_public
    );
    assert!(matches!(h.open(b"wrong"), Err(StoreError::WrongPassphrase)));
    assert!(matches!(h.open_missing(), Err(StoreError::NotAStore(_))));
}

pub fn provisioning_is_valid_idempotent_and_recorded<H: Harness>() {
    let h = H::new("prov");
    let store = create(&h);
    let uris = users(6);
    let res = provision(&store, &uris, PrincipalKind::User, &[1500, 1501], &|_| {}).unwrap();
    assert_eq!(res.len(), 12);
    assert!(res.iter().all(|p| p.new));
    let keys = store.master_keys(1500).unwrap();
    for p in &res {
        let id = uid(
            p.set.uri.as_bytes(),
            b"kms.example.org",
            config().periods,
            p.set.period_no,
        )
        .unwrap();
        assert_eq!(p.set.user_id, id);
        p.set.rsk.validate(&keys.sakke_public, &id).unwrap();
        SigningKey::new(&keys.kpak, &id, p.set.ssk.clone(), &p.set.pvt).unwrap();
    }
    // running again returns the recorded sets, no duplicates
    let again = provision(&store, &uris, PrincipalKind::User, &[1500, 1501], &|_| {}).unwrap();
    assert!(again.iter().all(|p| !p.new));
    assert_eq!(store.issued_count().unwrap(), 12);
    for (a, b) in res.iter().zip(again.iter()) {
        assert_eq!(a.set.pvt, b.set.pvt);
        assert_eq!(a.set.rsk.to_bytes(), b.set.rsk.to_bytes());
    }
    // recording an unregistered URI fails and records nothing
    let keys = store.master_keys(1500).unwrap();
    let stray = issue_key_set(
        &keys,
        "kms.example.org",
        config().periods,
        "sip:stranger@example.org",
        1500,
    )
    .unwrap();
    assert!(matches!(
        store.record(vec![stray]),
        Err(StoreError::UnknownPrincipal(_))
    ));
    assert_eq!(store.issued_count().unwrap(), 12);
}

pub fn tampered_rows_and_moved_values_are_detected<H: Harness>() {
    let h = H::new("tamper");
    let store = create(&h);
    provision(&store, &users(2), PrincipalKind::User, &[7], &|_| {}).unwrap();
    drop(store);
    h.flip_sealed_master_bit();
    h.move_sealed_rsk("sip:user0@example.org", "sip:user1@example.org", 7);
    let store = h.open(PASS).unwrap();
    assert!(matches!(store.master_keys(7), Err(StoreError::Tampered(_))));
    assert!(store.issued("sip:user0@example.org", 7).unwrap().is_some());
    assert!(matches!(
        store.issued("sip:user1@example.org", 7),
        Err(StoreError::Tampered(_))
    ));
}

pub fn damaged_storage_is_a_clear_error<H: Harness>() {
    let h = H::new("trunc");
    drop(create(&h));
    h.damage();
    let err = h.open(PASS).unwrap_err();
    assert!(
        matches!(err, StoreError::NotAStore(_) | StoreError::Backend(_)),
        "{err}"
    );
}

pub fn the_storage_holds_no_unsealed_secret<H: Harness>() {
    let h = H::new("hygiene");
    let store = create(&h);
    let res = provision(&store, &users(3), PrincipalKind::User, &[9], &|_| {}).unwrap();
    let keys = store.master_keys(9).unwrap();
    let secrets: Vec<Vec<u8>> = vec![
        keys.sakke.to_bytes()[100..].to_vec(),
        keys.eccsi.ksak().to_bytes().to_vec(),
        res[0].set.rsk.to_bytes()[1..40].to_vec(),
        res[0].set.ssk.to_bytes().to_vec(),
    ];
    drop(store);
    let all = h.raw_contents();
    assert!(!all.is_empty());
    for s in secrets {
        assert!(
            !all.windows(s.len()).any(|w| w == s.as_slice()),
            "secret octets found in the store"
        );
    }
}

pub fn two_writers_wait_for_each_other<H: Harness>() {
    let h = H::new("conc");
    drop(create(&h));
    let uris = users(24);
    let results: Vec<_> = std::thread::scope(|sc| {
        let threads: Vec<_> = (0..2)
            .map(|t| {
                let h = &h;
                let uris = &uris;
                sc.spawn(move || {
                    let store = h.open(PASS).unwrap();
                    let mine: Vec<String> = if t == 0 {
                        uris.clone()
                    } else {
                        uris.iter().rev().cloned().collect()
                    };
                    provision(&store, &mine, PrincipalKind::User, &[3], &|_| {}).unwrap()
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let store = h.open(PASS).unwrap();
    assert_eq!(store.issued_count().unwrap(), 24);
    // both writers hand out the same recorded set for every user
    for u in &uris {
        let a = results[0].iter().find(|p| &p.set.uri == u).unwrap();
        let b = results[1].iter().find(|p| &p.set.uri == u).unwrap();
        assert_eq!(a.set.pvt, b.set.pvt);
    }
    let _ = ProvisionError::BadTime;
}

/// Two threads sharing one store record different key sets for the same (URI, period) at the
/// same time: both get the same (first) record back, exactly one as new.
pub fn concurrent_first_records_return_one_key_set<H: Harness>() {
    let h = H::new("race");
    let store = Arc::new(create(&h));
    let uri = "sip:race@example.org";
    store.register(uri, PrincipalKind::User).unwrap();
    for round in 0..4u64 {
        let period = 100 + round;
        let keys = store.master_keys(period).unwrap();
        let barrier = std::sync::Barrier::new(2);
        let out: Vec<_> = std::thread::scope(|sc| {
            let threads: Vec<_> = (0..2)
                .map(|_| {
                    let set =
                        issue_key_set(&keys, "kms.example.org", config().periods, uri, period)
                            .unwrap();
                    let store = Arc::clone(&store);
                    let barrier = &barrier;
                    sc.spawn(move || {
                        barrier.wait();
                        store.record(vec![set]).unwrap().pop().unwrap()
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        assert_eq!(out.iter().filter(|r| r.new).count(), 1);
        assert_eq!(out[0].set.pvt, out[1].set.pvt);
        assert_eq!(out[0].set.rsk.to_bytes(), out[1].set.rsk.to_bytes());
        assert_eq!(out[0].set.ssk.to_bytes(), out[1].set.ssk.to_bytes());
        let stored = store.issued(uri, period).unwrap().unwrap();
        assert_eq!(stored.pvt, out[0].set.pvt);
    }
    assert_eq!(store.issued_count().unwrap(), 4);
}

pub fn principals_and_kinds<H: Harness>() {
    let h = H::new("kinds");
    let store = create(&h);
    assert!(!store.is_registered("sip:a@example.org").unwrap());
    assert_eq!(store.kind("sip:a@example.org").unwrap(), None);
    store
        .register("sip:a@example.org", PrincipalKind::User)
        .unwrap();
    store
        .register("sip:g@example.org", PrincipalKind::Group)
        .unwrap();
    // registering again changes nothing, not even the kind
    store
        .register("sip:a@example.org", PrincipalKind::Group)
        .unwrap();
    assert!(store.is_registered("sip:a@example.org").unwrap());
    assert_eq!(
        store.kind("sip:a@example.org").unwrap(),
        Some(PrincipalKind::User)
    );
    assert_eq!(
        store.kind("sip:g@example.org").unwrap(),
        Some(PrincipalKind::Group)
    );
    assert!(matches!(
        store.register("", PrincipalKind::User),
        Err(StoreError::Invalid(_))
    ));
    // A batch: new URIs registered with the kind given, known ones keep theirs.
    let batch = vec![
        "sip:b@example.org".to_string(),
        "sip:g@example.org".to_string(),
        "sip:c@example.org".to_string(),
    ];
    store.register_all(&batch, PrincipalKind::User).unwrap();
    for (u, k) in [
        ("sip:b@example.org", PrincipalKind::User),
        ("sip:c@example.org", PrincipalKind::User),
        ("sip:g@example.org", PrincipalKind::Group),
    ] {
        assert_eq!(store.kind(u).unwrap(), Some(k), "{u}");
    }
    assert!(matches!(
        store.register_all(
            &["sip:d@example.org".into(), String::new()],
            PrincipalKind::User
        ),
        Err(StoreError::Invalid(_))
    ));
    drop(store);
    let store = h.open(PASS).unwrap();
    assert_eq!(
        store.kind("sip:g@example.org").unwrap(),
        Some(PrincipalKind::Group)
    );
}

pub fn generations_cover_their_periods<H: Harness>() {
    let h = H::new("gens");
    let store = create(&h);
    let first = store.master_keys(9).unwrap();
    assert_eq!((first.first_period, first.last_period), (0, None));
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let g2 = store.add_generation(10, &mut rng).unwrap();
    assert_ne!(g2, first.generation);
    let old = store.master_keys(9).unwrap();
    assert_eq!((old.first_period, old.last_period), (0, Some(9)));
    assert_eq!(old.sakke_public, first.sakke_public);
    let new = store.master_keys(10).unwrap();
    assert_eq!(new.generation, g2);
    assert_eq!((new.first_period, new.last_period), (10, None));
    assert_ne!(new.sakke_public, first.sakke_public);
    assert_eq!(store.master_keys(5000).unwrap().generation, g2);
    // a generation must start after the current one
    assert!(matches!(
        store.add_generation(10, &mut rng),
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.add_generation(3, &mut rng),
        Err(StoreError::Invalid(_))
    ));
    drop(store);
    let store = h.open(PASS).unwrap();
    assert_eq!(store.master_keys(10).unwrap().generation, g2);
    assert_eq!(store.master_keys(9).unwrap().generation, first.generation);
}

pub fn issue_log_lists_every_set_without_secrets<H: Harness>() {
    let h = H::new("log");
    let store = create(&h);
    assert!(store.issue_log(None).unwrap().is_empty());
    let res = provision(&store, &users(2), PrincipalKind::User, &[4, 5], &|_| {}).unwrap();
    let log = store.issue_log(None).unwrap();
    assert_eq!(log.len(), 4);
    for p in &res {
        let e = log
            .iter()
            .find(|e| e.uri == p.set.uri && e.period_no == p.set.period_no)
            .unwrap();
        assert_eq!(e.user_id, p.set.user_id);
        assert_eq!(e.generation, p.set.generation);
        assert_eq!(e.issued_at, p.set.issued_at);
    }
    let one = store.issue_log(Some("sip:user1@example.org")).unwrap();
    assert_eq!(one.len(), 2);
    assert!(one.iter().all(|e| e.uri == "sip:user1@example.org"));
    assert!(
        store
            .issue_log(Some("sip:nobody@example.org"))
            .unwrap()
            .is_empty()
    );
}

pub fn group_managers<H: Harness>() {
    let h = H::new("groups");
    let store = create(&h);
    let (g, m1, m2) = (
        "sip:group1@example.org",
        "sip:gms1@example.org",
        "sip:gms2@example.org",
    );
    assert!(!store.is_group_manager(g, m1).unwrap());
    store.add_group_manager(g, m1).unwrap();
    store.add_group_manager(g, m1).unwrap();
    store.add_group_manager(g, m2).unwrap();
    // the group got registered as a group
    assert_eq!(store.kind(g).unwrap(), Some(PrincipalKind::Group));
    assert!(store.is_group_manager(g, m1).unwrap());
    assert!(!store.is_group_manager(m1, g).unwrap());
    assert!(
        !store
            .is_group_manager("sip:group2@example.org", m1)
            .unwrap()
    );
    assert_eq!(store.group_managers(g).unwrap(), vec![m1, m2]);
    assert!(store.remove_group_manager(g, m1).unwrap());
    assert!(!store.remove_group_manager(g, m1).unwrap());
    assert!(!store.is_group_manager(g, m1).unwrap());
    assert!(store.is_group_manager(g, m2).unwrap());
    // a user is no group
    store
        .register("sip:alice@example.org", PrincipalKind::User)
        .unwrap();
    assert!(matches!(
        store.add_group_manager("sip:alice@example.org", m1),
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.add_group_manager("", m1),
        Err(StoreError::Invalid(_))
    ));
    drop(store);
    let store = h.open(PASS).unwrap();
    assert_eq!(store.group_managers(g).unwrap(), vec![m2]);
}

pub fn delivery_log<H: Harness>() {
    let h = H::new("audit");
    let store = create(&h);
    assert!(store.deliveries().unwrap().is_empty());
    store
        .log_delivery(
            "sip:gms@example.org",
            "sip:group@example.org",
            7,
            1_700_000_000,
            Some("192.0.2.1:4433"),
        )
        .unwrap();
    store
        .log_delivery(
            "sip:a@example.org",
            "sip:a@example.org",
            8,
            1_700_000_001,
            None,
        )
        .unwrap();
    drop(store);
    let store = h.open(PASS).unwrap();
    let log = store.deliveries().unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].principal, "sip:gms@example.org");
    assert_eq!(log[0].uri, "sip:group@example.org");
    assert_eq!(log[0].period_no, 7);
    assert_eq!(log[0].at, 1_700_000_000);
    assert_eq!(log[0].peer.as_deref(), Some("192.0.2.1:4433"));
    assert_eq!(log[1].peer, None);
}

pub fn external_certificates_and_cache_numbers<H: Harness>() {
    let h = H::new("certs");
    let store = create(&h);
    assert_eq!(store.cache_num().unwrap(), 0);
    assert!(store.external_certificates().unwrap().is_empty());
    assert_eq!(store.add_external_certificate("<a/>").unwrap(), 1);
    // the same certificate again changes nothing
    assert_eq!(store.add_external_certificate("<a/>").unwrap(), 1);
    assert_eq!(store.add_external_certificate("<b/>").unwrap(), 2);
    assert!(matches!(
        store.add_external_certificate("  "),
        Err(StoreError::Invalid(_))
    ));
    let certs = store.external_certificates().unwrap();
    assert_eq!(
        certs.iter().map(|c| c.xml.as_str()).collect::<Vec<_>>(),
        ["<a/>", "<b/>"]
    );
    assert!(store.remove_external_certificate(certs[0].id).unwrap());
    assert!(!store.remove_external_certificate(certs[0].id).unwrap());
    assert_eq!(store.cache_num().unwrap(), 3);
    drop(store);
    let store = h.open(PASS).unwrap();
    assert_eq!(store.cache_num().unwrap(), 3);
    let certs = store.external_certificates().unwrap();
    assert_eq!(certs.len(), 1);
    assert_eq!(certs[0].xml, "<b/>");
}

pub fn revocation_stops_serving_and_issuing<H: Harness>() {
    let h = H::new("revoke");
    let store = create(&h);
    let u = users(2);
    provision(&store, &u, PrincipalKind::User, &[7], &|_| {}).unwrap();
    assert!(matches!(
        store.revoke("sip:nobody@example.org", None),
        Err(StoreError::UnknownPrincipal(_))
    ));
    assert!(store.revoke(&u[0], Some("lost device")).unwrap());
    assert!(!store.revoke(&u[0], None).unwrap());
    drop(store);
    let store = h.open(PASS).unwrap();
    let r = store.revocation(&u[0]).unwrap().unwrap();
    assert_eq!(r.reason.as_deref(), Some("lost device"));
    assert!(store.revocation(&u[1]).unwrap().is_none());
    assert!(matches!(
        refuse_revoked(&store, &u[0]),
        Err(StoreError::Revoked(_))
    ));
    refuse_revoked(&store, &u[1]).unwrap();
    // never issued: provisioning refuses before anything, `record` inside its transaction
    assert!(matches!(
        provision(&store, &u, PrincipalKind::User, &[8], &|_| {}),
        Err(ProvisionError::Store(StoreError::Revoked(_)))
    ));
    assert!(store.issued(&u[1], 8).unwrap().is_none());
    let master = store.master_keys(8).unwrap();
    let set = issue_key_set(&master, "kms.example.org", config().periods, &u[0], 8).unwrap();
    assert!(matches!(
        store.record(vec![set]),
        Err(StoreError::Revoked(_))
    ));
    assert_eq!(store.revoked_uris().unwrap(), vec![u[0].clone()]);
    let list = store.principals(None).unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].uri, u[0]);
    assert!(list[0].revoked.is_some() && list[1].revoked.is_none());
    assert_eq!((list[0].key_sets, list[1].key_sets), (1, 1));
    assert_eq!(list[0].kind, PrincipalKind::User);
    // reinstated: served and issued again
    assert!(store.unrevoke(&u[0]).unwrap());
    assert!(!store.unrevoke(&u[0]).unwrap());
    refuse_revoked(&store, &u[0]).unwrap();
    provision(&store, &u, PrincipalKind::User, &[8], &|_| {}).unwrap();
    assert_eq!(store.principals(Some(&u[0])).unwrap()[0].key_sets, 2);
    assert!(
        store
            .principals(Some("sip:nobody@example.org"))
            .unwrap()
            .is_empty()
    );
}

pub fn audit_trail_streams_every_event_without_secrets<H: Harness>() {
    let h = H::new("trail");
    let store = create(&h);
    let u = users(1);
    let res = provision(&store, &u, PrincipalKind::User, &[7], &|_| {}).unwrap();
    store
        .log_delivery(&u[0], &u[0], 7, 4_000_000_000, Some("192.0.2.1:4433"))
        .unwrap();
    store.revoke(&u[0], Some("left, \"for good\"")).unwrap();
    let mut events = Vec::new();
    let n = store
        .audit(0, &mut |e| {
            events.push(e.clone());
            Ok(())
        })
        .unwrap();
    assert_eq!(n, 3);
    let kinds: Vec<AuditKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [AuditKind::Issued, AuditKind::Revoked, AuditKind::Delivered]
    );
    assert_eq!(events[0].uri.as_deref(), Some(u[0].as_str()));
    assert_eq!(
        (events[0].period_no, events[0].generation),
        (Some(7), Some(1))
    );
    assert_eq!(events[1].detail.as_deref(), Some("left, \"for good\""));
    assert_eq!(events[2].peer.as_deref(), Some("192.0.2.1:4433"));
    assert_eq!(events[2].at, 4_000_000_000);
    // from a time on
    let mut later = 0;
    store
        .audit(3_000_000_000, &mut |_| {
            later += 1;
            Ok(())
        })
        .unwrap();
    assert_eq!(later, 1);
    // the sink's error stops the stream
    let e = store
        .audit(0, &mut |_| Err(StoreError::Invalid("stop".into())))
        .unwrap_err();
    assert!(matches!(e, StoreError::Invalid(_)), "{e}");
    // no secret in any event
    let text = format!("{events:?}");
    let rsk = hex::encode_upper(res[0].set.rsk.to_bytes());
    assert!(!text.to_uppercase().contains(&rsk[..32]));
}

/// The new passphrase of the passphrase-change tests.
const NEW_PASS: &[u8] = b"a new passphrase, long enough";

pub fn passphrase_change_reseals_everything<H: Harness>() {
    let h = H::new("repass");
    let mut store = create(&h);
    let u = users(3);
    let res = provision(&store, &u, PrincipalKind::User, &[7], &|_| {}).unwrap();
    store
        .add_generation(9, &mut ChaCha20Rng::seed_from_u64(5))
        .unwrap();
    let z9 = store.master_keys(9).unwrap().sakke_public;
    store
        .change_passphrase(
            NEW_PASS,
            KdfParams::TEST_ONLY,
            &mut ChaCha20Rng::seed_from_u64(6),
        )
        .unwrap();
    // this handle goes on with the new key
    let more = users(4);
    provision(&store, &more, PrincipalKind::User, &[7, 9], &|_| {}).unwrap();
    drop(store);
    assert!(matches!(h.open(PASS), Err(StoreError::WrongPassphrase)));
    let store = h.open(NEW_PASS).unwrap();
    for p in &res {
        let again = store.issued(&p.set.uri, 7).unwrap().unwrap();
        assert_eq!(again.rsk.to_bytes(), p.set.rsk.to_bytes());
        assert_eq!(again.ssk.to_bytes(), p.set.ssk.to_bytes());
    }
    assert_eq!(store.master_keys(9).unwrap().sakke_public, z9);
    assert!(store.issued(&more[3], 9).unwrap().is_some());
    let mut changed = 0;
    store
        .audit(0, &mut |e| {
            changed += usize::from(e.kind == AuditKind::PassphraseChanged);
            Ok(())
        })
        .unwrap();
    assert_eq!(changed, 1);
}

pub fn a_failed_passphrase_change_leaves_the_old_one<H: Harness>() {
    let h = H::new("repassfail");
    let store = create(&h);
    let u = users(3);
    provision(&store, &u, PrincipalKind::User, &[7], &|_| {}).unwrap();
    drop(store);
    // The failure injected mid-way: the last key set re-sealed no longer opens, after the
    // master keys and the first key sets were re-sealed in the same transaction.
    h.move_sealed_rsk(&u[0], &u[2], 7);
    let mut store = h.open(PASS).unwrap();
    let e = store
        .change_passphrase(
            NEW_PASS,
            KdfParams::TEST_ONLY,
            &mut ChaCha20Rng::seed_from_u64(6),
        )
        .unwrap_err();
    assert!(matches!(e, StoreError::Tampered(_)), "{e}");
    // the handle keeps the old key, and so does the store
    assert!(store.issued(&u[1], 7).unwrap().is_some());
    drop(store);
    assert!(matches!(h.open(NEW_PASS), Err(StoreError::WrongPassphrase)));
    let store = h.open(PASS).unwrap();
    assert!(store.issued(&u[0], 7).unwrap().is_some());
    assert!(store.issued(&u[1], 7).unwrap().is_some());
    assert!(store.master_keys(7).is_ok());
}

pub fn rotation_starts_after_the_current_period_and_keeps_old_sets<H: Harness>() {
    use mikey_sakke::kms::documents::certificate;
    use mikey_sakke::kms::rotation::rotate;
    let h = H::new("rotate");
    let store = create(&h);
    let periods = config().periods;
    let start = |p: u64| periods.period_start(p).unwrap();
    let u = users(2);
    let old = provision(&store, &u, PrincipalKind::User, &[1600, 1601], &|_| {}).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    // not the current period, not a period with key sets recorded
    for (effective, now, needle) in [
        (start(1600), start(1600) + 5, "after the current key period"),
        (start(1601), start(1600) + 5, "recorded"),
    ] {
        let e = rotate(&store, effective, now, &mut rng).unwrap_err();
        assert!(
            matches!(e, StoreError::Invalid(_)) && e.to_string().contains(needle),
            "{e}"
        );
    }
    // mid-period: the next boundary
    let r = rotate(&store, start(1601) + 1, start(1600) + 5, &mut rng).unwrap();
    assert_eq!((r.first_period, r.starts_at), (1602, start(1602)));
    drop(store);
    let store = h.open(PASS).unwrap();
    let (g1, g2) = (
        store.master_keys(1601).unwrap(),
        store.master_keys(1602).unwrap(),
    );
    assert_eq!((g1.last_period, g2.generation), (Some(1601), r.generation));
    // the old periods are served from the old generation, the new ones issued from the new
    for p in &old {
        let again = store.issued(&p.set.uri, p.set.period_no).unwrap().unwrap();
        assert_eq!(again.generation, g1.generation);
        assert_eq!(again.rsk.to_bytes(), p.set.rsk.to_bytes());
    }
    let new = provision(&store, &u, PrincipalKind::User, &[1602], &|_| {}).unwrap();
    assert!(
        new.iter()
            .all(|p| p.new && p.set.generation == g2.generation)
    );
    let c1 = certificate(&config(), &g1);
    let c2 = certificate(&config(), &g2);
    assert_eq!(
        c1.valid_to,
        Some(mikey_sakke::input::rfc3339(start(1602) - 1))
    );
    assert_eq!(
        c2.valid_from,
        Some(mikey_sakke::input::rfc3339(start(1602)))
    );
    assert_eq!(c2.valid_to, None);
}

/// The passphrase check value a store written before its settings were authenticated holds
/// (bound to `check`), for [`PASS`], `salt` and the suite's KDF parameters.
pub fn legacy_check(salt: &[u8]) -> Vec<u8> {
    mikey_sakke::kms::store::seal::Sealer::derive(PASS, salt, KdfParams::TEST_ONLY)
        .unwrap()
        .seal("check", b"mikey-sakke KMS store passphrase check")
        .unwrap()
}

pub fn settings_are_authenticated<H: Harness>() {
    let h = H::new("settings");
    let store = create(&h);
    provision(&store, &users(1), PrincipalKind::User, &[7], &|_| {}).unwrap();
    drop(store);
    let named = |needle: &'static str| {
        move |e: &StoreError| matches!(e, StoreError::Tampered(_)) && e.to_string().contains(needle)
    };
    let wrong = |e: &StoreError| matches!(e, StoreError::WrongPassphrase);
    type Expect<'a> = &'a dyn Fn(&StoreError) -> bool;
    let cases: [(&str, &[u8], Expect<'_>); 10] = [
        ("kms_uri", b"evil.example.org", &named("kms_uri")),
        ("key_period", b"3600", &named("key_period")),
        ("key_offset", b"7", &named("key_offset")),
        ("parameter_set", b"2", &named("parameter_set")),
        ("schema_version", b"3", &named("schema_version")),
        (
            "settings_tag",
            b"not a tag, just some octets",
            &named("settings_tag"),
        ),
        // a changed KDF setting derives another key: the check fails, and says why it may
        ("kdf_m_cost", b"16384", &wrong),
        ("kdf_t_cost", b"2", &wrong),
        ("kdf_p_cost", b"2", &wrong),
        ("kdf_salt", &[0u8; 16], &wrong),
    ];
    for (key, value, expected) in cases {
        let original = h.meta(key);
        h.set_meta(key, Some(value));
        let e = h.open(PASS).unwrap_err();
        assert!(expected(&e), "{key}: {e}");
        h.set_meta(key, Some(&original));
        assert!(h.open(PASS).is_ok(), "{key} restored");
    }
    assert!(wrong(&h.open(b"wrong").unwrap_err()));
    assert!(
        StoreError::WrongPassphrase
            .to_string()
            .contains("key-derivation settings were modified")
    );
    // the tag is required once written: deleting it is tampering too
    let tag = h.meta("settings_tag");
    h.set_meta("settings_tag", None);
    assert!(named("settings_tag")(&h.open(PASS).unwrap_err()));
    h.set_meta("settings_tag", Some(&tag));
    // a store from before: a check value bound to `check` and no tag gets both on first open
    let legacy = legacy_check(&h.meta("kdf_salt"));
    h.set_meta("check", Some(&legacy));
    h.set_meta("settings_tag", None);
    let store = h.open(PASS).unwrap();
    assert!(store.issued("sip:user0@example.org", 7).unwrap().is_some());
    drop(store);
    assert_ne!(h.meta("check"), legacy);
    let _ = h.meta("settings_tag");
    h.set_meta("kms_uri", Some(b"evil.example.org"));
    assert!(named("kms_uri")(&h.open(PASS).unwrap_err()));
}

/// Every test of the suite for the harness type `$h`.
#[macro_export]
macro_rules! store_conformance_tests {
    ($h:ty) => {
        mod store_conformance_tests {
            use super::*;
            use $crate::store_conformance as suite;
            $crate::store_conformance_tests!(@each $h;
                create_open_and_wrong_passphrase,
                provisioning_is_valid_idempotent_and_recorded,
                tampered_rows_and_moved_values_are_detected,
                damaged_storage_is_a_clear_error,
                the_storage_holds_no_unsealed_secret,
                two_writers_wait_for_each_other,
                concurrent_first_records_return_one_key_set,
                principals_and_kinds,
                generations_cover_their_periods,
                issue_log_lists_every_set_without_secrets,
                group_managers,
                delivery_log,
                external_certificates_and_cache_numbers,
                revocation_stops_serving_and_issuing,
                audit_trail_streams_every_event_without_secrets,
                passphrase_change_reseals_everything,
                a_failed_passphrase_change_leaves_the_old_one,
                rotation_starts_after_the_current_period_and_keeps_old_sets,
                settings_are_authenticated,
            );
        }
    };
    (@each $h:ty; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                if <$h as suite::Harness>::skip() {
                    return;
                }
                suite::$name::<$h>();
            }
        )*
    };
}
