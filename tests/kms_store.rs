//! The KMS store on real SQLite files: the conformance suite of `KmsStore` (sealing, wrong
//! passphrase, tampering, idempotent provisioning, concurrency, secret hygiene of the file,
//! group managers, audit log, certificate cache), then what is particular to SQLite: the schema
//! migration from version 1 and the refusal of a newer schema.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/store_conformance.rs"]
mod store_conformance;

use std::path::{Path, PathBuf};

use mikey_sakke::kms::provision::provision;
use mikey_sakke::kms::store::sqlite::SCHEMA_VERSION;
use mikey_sakke::kms::store::{
    JobStore, KdfParams, KmsStore, LifecycleStore, PrincipalKind, SqliteStore, StoreError,
    StoreSpec, migrate_store,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use store_conformance::{Harness, PASS, config, users};

/// A temporary directory holding one store file, removed on drop.
struct SqliteHarness(PathBuf);

impl SqliteHarness {
    fn db(&self) -> PathBuf {
        self.0.join("kms.db")
    }
    fn sql(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.db()).unwrap()
    }
}

impl Drop for SqliteHarness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Harness for SqliteHarness {
    type Store = SqliteStore;

    fn new(name: &str) -> Self {
        let mut p = std::env::temp_dir();
        let nonce: u64 = rand_core::Rng::next_u64(&mut rand_core::UnwrapErr(getrandom::SysRng));
        p.push(format!("mikey-sakke-test-{name}-{nonce:016x}"));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }

    fn create(&self, seed: u64) -> Result<SqliteStore, StoreError> {
        SqliteStore::create(
            &self.db(),
            PASS,
            &config(),
            KdfParams::TEST_ONLY,
            &mut ChaCha20Rng::seed_from_u64(seed),
        )
    }

    fn open(&self, passphrase: &[u8]) -> Result<SqliteStore, StoreError> {
        SqliteStore::open(&self.db(), passphrase)
    }

    fn open_missing(&self) -> Result<SqliteStore, StoreError> {
        SqliteStore::open(&self.db().with_extension("missing"), PASS)
    }

    fn damage(&self) {
        let path = self.db();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len().min(100)]).unwrap();
        let _ = std::fs::remove_file(path.with_extension("db-wal"));
        let err = SqliteStore::open(&path, PASS).unwrap_err();
        assert!(
            matches!(err, StoreError::NotAStore(_) | StoreError::Backend(_)),
            "{err}"
        );
        std::fs::write(&path, b"not a database at all, just some text").unwrap();
    }

    fn flip_sealed_master_bit(&self) {
        let conn = self.sql();
        let mut z: Vec<u8> = conn
            .query_row("SELECT sakke_z_sealed FROM master_keys", [], |r| r.get(0))
            .unwrap();
        z[20] ^= 1;
        conn.execute("UPDATE master_keys SET sakke_z_sealed = ?1", [&z])
            .unwrap();
    }

    fn move_sealed_rsk(&self, from: &str, to: &str, period: u64) {
        let conn = self.sql();
        let p = i64::try_from(period).unwrap();
        let rsk: Vec<u8> = conn
            .query_row(
                "SELECT rsk_sealed FROM issued WHERE uri = ?1 AND period_no = ?2",
                rusqlite::params![from, p],
                |r| r.get(0),
            )
            .unwrap();
        conn.execute(
            "UPDATE issued SET rsk_sealed = ?1 WHERE uri = ?2 AND period_no = ?3",
            rusqlite::params![rsk, to, p],
        )
        .unwrap();
    }

    fn meta(&self, key: &str) -> Vec<u8> {
        self.sql()
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .unwrap()
    }

    fn set_meta(&self, key: &str, value: Option<&[u8]>) {
        let conn = self.sql();
        match value {
            Some(v) => conn.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                rusqlite::params![key, v],
            ),
            None => conn.execute("DELETE FROM meta WHERE key = ?1", [key]),
        }
        .unwrap();
    }

    fn raw_contents(&self) -> Vec<u8> {
        let path = self.db();
        let mut all = std::fs::read(&path).unwrap();
        if let Ok(wal) = std::fs::read(path.with_extension("db-wal")) {
            all.extend_from_slice(&wal);
        }
        all
    }
}

store_conformance_tests!(SqliteHarness);

/// Turns a current store back into what version 2 wrote: no job tables (version 3), no
/// revocations or events (version 4), no settings tag and a check value of before, version 2.
fn downgrade_to_v2(path: &Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let salt: Vec<u8> = conn
        .query_row("SELECT value FROM meta WHERE key = 'kdf_salt'", [], |r| {
            r.get(0)
        })
        .unwrap();
    conn.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'check'",
        [store_conformance::legacy_check(&salt)],
    )
    .unwrap();
    conn.execute_batch(
        "DROP TABLE revocations; DROP TABLE events; DROP TABLE job_rows; DROP TABLE jobs;
         DELETE FROM meta WHERE key = 'settings_tag';
         UPDATE meta SET value = CAST('2' AS BLOB) WHERE key = 'schema_version';",
    )
    .unwrap();
}

/// Turns a current store back into what version 1 wrote: no new tables, version 1.
fn downgrade_to_v1(path: &Path) {
    downgrade_to_v2(path);
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "DROP TABLE group_managers; DROP TABLE deliveries; DROP TABLE external_certs;
         DELETE FROM meta WHERE key = 'cache_num';
         UPDATE meta SET value = CAST('1' AS BLOB) WHERE key = 'schema_version';",
    )
    .unwrap();
}

fn schema_version(path: &Path) -> String {
    let conn = rusqlite::Connection::open(path).unwrap();
    let v: Vec<u8> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    String::from_utf8(v).unwrap()
}

#[test]
fn a_version_1_store_is_migrated_in_place() {
    let h = SqliteHarness::new("migrate");
    let store = h.create(1).unwrap();
    let res = provision(&store, &users(2), PrincipalKind::User, &[3], &|_| {}).unwrap();
    let z = store.master_keys(3).unwrap().sakke_public;
    drop(store);
    downgrade_to_v1(&h.db());
    assert_eq!(schema_version(&h.db()), "1");
    // a wrong passphrase leaves the file as it is
    assert!(matches!(h.open(b"wrong"), Err(StoreError::WrongPassphrase)));
    assert_eq!(schema_version(&h.db()), "1");
    let store = h.open(PASS).unwrap();
    assert_eq!(schema_version(&h.db()), SCHEMA_VERSION.to_string());
    // everything recorded before is still there and opens
    assert_eq!(store.master_keys(3).unwrap().sakke_public, z);
    for p in &res {
        let again = store.issued(&p.set.uri, 3).unwrap().unwrap();
        assert_eq!(again.rsk.to_bytes(), p.set.rsk.to_bytes());
    }
    // and the new tables work
    assert_eq!(store.cache_num().unwrap(), 0);
    assert_eq!(store.add_external_certificate("<c/>").unwrap(), 1);
    store
        .add_group_manager("sip:g@example.org", "sip:gms@example.org")
        .unwrap();
    store
        .log_delivery("sip:user0@example.org", "sip:user0@example.org", 3, 1, None)
        .unwrap();
    drop(store);
    let store = h.open(PASS).unwrap();
    assert!(
        store
            .is_group_manager("sip:g@example.org", "sip:gms@example.org")
            .unwrap()
    );
    assert_eq!(store.deliveries().unwrap().len(), 1);
}

#[test]
fn a_version_2_store_is_migrated_by_migrate_without_a_passphrase() {
    let h = SqliteHarness::new("migrate2");
    let store = h.create(1).unwrap();
    let res = provision(&store, &users(3), PrincipalKind::User, &[5], &|_| {}).unwrap();
    drop(store);
    downgrade_to_v2(&h.db());
    let spec = StoreSpec::sqlite(&h.db());
    assert_eq!(migrate_store(&spec).unwrap(), (2, SCHEMA_VERSION));
    assert_eq!(schema_version(&h.db()), SCHEMA_VERSION.to_string());
    assert_eq!(
        migrate_store(&spec).unwrap(),
        (SCHEMA_VERSION, SCHEMA_VERSION)
    );
    let store = h.open(PASS).unwrap();
    for p in &res {
        let again = store.issued(&p.set.uri, 5).unwrap().unwrap();
        assert_eq!(again.rsk.to_bytes(), p.set.rsk.to_bytes());
    }
    let job = store
        .create_job(PrincipalKind::User, &users(4), &[5])
        .unwrap();
    let s = store.job(job).unwrap().unwrap();
    assert_eq!((s.total, s.done, s.pending), (4, 3, 1));
    // a file that is no store, a missing file
    std::fs::write(h.0.join("other.db"), b"").unwrap();
    assert!(matches!(
        migrate_store(&StoreSpec::sqlite(&h.0.join("other.db"))),
        Err(StoreError::NotAStore(_))
    ));
    assert!(matches!(
        migrate_store(&StoreSpec::sqlite(&h.0.join("none.db"))),
        Err(StoreError::NotAStore(_))
    ));
}

#[test]
fn a_newer_schema_is_a_clear_error() {
    let h = SqliteHarness::new("newer");
    drop(h.create(1).unwrap());
    h.sql()
        .execute(
            "UPDATE meta SET value = CAST(?1 AS BLOB) WHERE key = 'schema_version'",
            [(SCHEMA_VERSION + 1).to_string()],
        )
        .unwrap();
    let err = h.open(PASS).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::NewerSchema { found, supported }
                if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION
        ),
        "{err}"
    );
    assert!(err.to_string().contains("newer"), "{err}");
}

#[test]
fn the_store_is_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SqliteStore>();
    let h = SqliteHarness::new("dyn");
    let store: std::sync::Arc<dyn KmsStore> = std::sync::Arc::new(h.create(1).unwrap());
    assert_eq!(store.config().kms_uri, "kms.example.org");
    // no secret in the Debug output
    let dbg = format!("{store:?}");
    assert!(dbg.contains("SqliteStore") && !dbg.contains("key"), "{dbg}");
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
#[test]
fn the_store_its_journal_files_and_backups_are_0600() {
    use std::os::unix::fs::PermissionsExt;
    let h = SqliteHarness::new("modes");
    let files =
        |db: &Path| ["", "-wal", "-shm"].map(|s| PathBuf::from(format!("{}{s}", db.display())));
    let store = h.create(1).unwrap();
    provision(&store, &users(1), PrincipalKind::User, &[3], &|_| {}).unwrap();
    // while the store is open, all three exist
    for f in files(&h.db()) {
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
    // files an older release left 0644 are set 0600 when the store is opened
    for f in files(&h.db()) {
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let again = h.open(PASS).unwrap();
    provision(&again, &users(2), PrincipalKind::User, &[3], &|_| {}).unwrap();
    for f in files(&h.db()) {
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
    // a backup: a new 0600 file, a consistent copy that opens with the passphrase
    let copy = h.0.join("copy.db");
    store.backup(&copy).unwrap();
    assert_eq!(mode(&copy), 0o600);
    assert!(matches!(store.backup(&copy), Err(StoreError::Invalid(_))));
    drop((store, again));
    let restored = SqliteStore::open(&copy, PASS).unwrap();
    let set = restored
        .issued("sip:user1@example.org", 3)
        .unwrap()
        .unwrap();
    let original = h.open(PASS).unwrap();
    let orig = original
        .issued("sip:user1@example.org", 3)
        .unwrap()
        .unwrap();
    assert_eq!(set.rsk.to_bytes(), orig.rsk.to_bytes());
    assert_eq!(restored.issued_count().unwrap(), 2);
}
