//! The KMS store on real SQLite files: sealing, wrong passphrase, tampering, idempotent
//! provisioning, concurrency, secret hygiene of the file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use mikey_sakke::eccsi::SigningKey;
use mikey_sakke::kms::provision::{ProvisionError, issue_key_set, provision};
use mikey_sakke::kms::store::{KdfParams, KmsConfig, PrincipalKind, Store, StoreError};
use mikey_sakke::mcx::uid::{KeyPeriods, uid};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

const PASS: &[u8] = b"correct horse battery staple";

fn tmp(name: &str) -> (tempdir::Dir, PathBuf) {
    let d = tempdir::Dir::new(name);
    let p = d.path().join("kms.db");
    (d, p)
}

mod tempdir {
    /// A temporary directory removed on drop.
    pub struct Dir(std::path::PathBuf);
    impl Dir {
        pub fn new(name: &str) -> Self {
            let mut p = std::env::temp_dir();
            let nonce: u64 = rand_core::Rng::next_u64(&mut rand_core::UnwrapErr(getrandom::SysRng));
            p.push(format!("mikey-sakke-test-{name}-{nonce:016x}"));
            std::fs::create_dir_all(&p).unwrap();
            Self(p)
        }
        pub fn path(&self) -> &std::path::Path {
            &self.0
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn config() -> KmsConfig {
    KmsConfig {
        kms_uri: "kms.example.org".into(),
        periods: KeyPeriods {
            length: 2_592_000,
            offset: 0,
        },
        parameter_set: 1,
    }
}

fn create(path: &std::path::Path) -> Store {
    Store::create(
        path,
        PASS,
        &config(),
        KdfParams::TEST_ONLY,
        &mut ChaCha20Rng::seed_from_u64(1),
    )
    .unwrap()
}

fn users(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("sip:user{i}@example.org")).collect()
}

#[test]
fn create_open_and_wrong_passphrase() {
    let (_d, path) = tmp("open");
    let store = create(&path);
    let keys = store.master_keys(1500).unwrap();
    drop(store);
    assert!(matches!(
        Store::create(
            &path,
            PASS,
            &config(),
            KdfParams::TEST_ONLY,
            &mut ChaCha20Rng::seed_from_u64(2)
        ),
        Err(StoreError::AlreadyExists)
    ));
    let store = Store::open(&path, PASS).unwrap();
    assert_eq!(store.config(), &config());
    assert_eq!(
        store.master_keys(1500).unwrap().sakke_public,
        keys.sakke_public
    );
    assert!(matches!(
        Store::open(&path, b"wrong"),
        Err(StoreError::WrongPassphrase)
    ));
    assert!(matches!(
        Store::open(&path.with_extension("missing"), PASS),
        Err(StoreError::NotAStore(_))
    ));
}

#[test]
fn provisioning_is_valid_idempotent_and_recorded() {
    let (_d, path) = tmp("prov");
    let mut store = create(&path);
    let uris = users(6);
    let res = provision(
        &mut store,
        &uris,
        PrincipalKind::User,
        &[1500, 1501],
        &|_| {},
    )
    .unwrap();
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
    let again = provision(
        &mut store,
        &uris,
        PrincipalKind::User,
        &[1500, 1501],
        &|_| {},
    )
    .unwrap();
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
        store.record(&[stray]),
        Err(StoreError::UnknownPrincipal(_))
    ));
    assert_eq!(store.issued_count().unwrap(), 12);
}

#[test]
fn tampered_rows_and_moved_values_are_detected() {
    let (_d, path) = tmp("tamper");
    let mut store = create(&path);
    provision(&mut store, &users(2), PrincipalKind::User, &[7], &|_| {}).unwrap();
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    // flip a byte inside the sealed master secret
    let mut z: Vec<u8> = conn
        .query_row("SELECT sakke_z_sealed FROM master_keys", [], |r| r.get(0))
        .unwrap();
    z[20] ^= 1;
    conn.execute("UPDATE master_keys SET sakke_z_sealed = ?1", [&z])
        .unwrap();
    // move user0's sealed RSK into user1's row
    let rsk0: Vec<u8> = conn
        .query_row(
            "SELECT rsk_sealed FROM issued WHERE uri = 'sip:user0@example.org'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    conn.execute(
        "UPDATE issued SET rsk_sealed = ?1 WHERE uri = 'sip:user1@example.org'",
        [&rsk0],
    )
    .unwrap();
    drop(conn);
    let store = Store::open(&path, PASS).unwrap();
    assert!(matches!(store.master_keys(7), Err(StoreError::Tampered(_))));
    assert!(store.issued("sip:user0@example.org", 7).unwrap().is_some());
    assert!(matches!(
        store.issued("sip:user1@example.org", 7),
        Err(StoreError::Tampered(_))
    ));
}

#[test]
fn truncated_file_is_a_clear_error() {
    let (_d, path) = tmp("trunc");
    drop(create(&path));
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len().min(100)]).unwrap();
    let _ = std::fs::remove_file(path.with_extension("db-wal"));
    let err = Store::open(&path, PASS).unwrap_err();
    assert!(
        matches!(err, StoreError::NotAStore(_) | StoreError::Sqlite(_)),
        "{err}"
    );
    std::fs::write(&path, b"not a database at all, just some text").unwrap();
    assert!(Store::open(&path, PASS).is_err());
}

#[test]
fn the_file_holds_no_unsealed_secret() {
    let (_d, path) = tmp("hygiene");
    let mut store = create(&path);
    let res = provision(&mut store, &users(3), PrincipalKind::User, &[9], &|_| {}).unwrap();
    let keys = store.master_keys(9).unwrap();
    let secrets: Vec<Vec<u8>> = vec![
        keys.sakke.to_bytes()[100..].to_vec(),
        keys.eccsi.ksak().to_bytes().to_vec(),
        res[0].set.rsk.to_bytes()[1..40].to_vec(),
        res[0].set.ssk.to_bytes().to_vec(),
    ];
    drop(store);
    let mut all = std::fs::read(&path).unwrap();
    if let Ok(wal) = std::fs::read(path.with_extension("db-wal")) {
        all.extend_from_slice(&wal);
    }
    for s in secrets {
        assert!(
            !all.windows(s.len()).any(|w| w == s.as_slice()),
            "secret octets found in the store file"
        );
    }
}

#[test]
fn two_writers_wait_for_each_other() {
    let (_d, path) = tmp("conc");
    drop(create(&path));
    let uris = users(24);
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let path = path.clone();
            let uris = uris.clone();
            std::thread::spawn(move || {
                let mut store = Store::open(&path, PASS).unwrap();
                let mine: Vec<String> = if t == 0 {
                    uris.clone()
                } else {
                    uris.iter().rev().cloned().collect()
                };
                provision(&mut store, &mine, PrincipalKind::User, &[3], &|_| {}).unwrap()
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|h| h.join().unwrap()).collect();
    let store = Store::open(&path, PASS).unwrap();
    assert_eq!(store.issued_count().unwrap(), 24);
    // both writers hand out the same recorded set for every user
    for u in &uris {
        let a = results[0].iter().find(|p| &p.set.uri == u).unwrap();
        let b = results[1].iter().find(|p| &p.set.uri == u).unwrap();
        assert_eq!(a.set.pvt, b.set.pvt);
    }
    let _ = ProvisionError::BadTime;
}
