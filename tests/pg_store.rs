//! The KMS store on PostgreSQL: the conformance suite of `KmsStore`, unchanged, on a fresh
//! database of one throw-away server per test binary; then what is particular to PostgreSQL:
//! migrations from older schema versions, the refusal of a newer schema, a missing database,
//! passwords kept out of messages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/pg.rs"]
mod pg;
#[path = "common/store_conformance.rs"]
mod store_conformance;

use std::path::Path;

use mikey_sakke::kms::provision::provision;
use mikey_sakke::kms::store::postgres::SCHEMA_VERSION;
use mikey_sakke::kms::store::{
    JobStore, KdfParams, KmsStore, PgStore, PrincipalKind, StoreError, StoreSpec, migrate_store,
    open_store,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use store_conformance::{Harness, PASS, config, users};

/// One fresh database of the shared server, dropped on drop.
struct PgHarness {
    db: String,
    url: String,
}

impl PgHarness {
    fn sql(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).unwrap()
    }
}

impl Drop for PgHarness {
    fn drop(&mut self) {
        pg::shared().drop_database(&self.db);
    }
}

fn read_tree(dir: &Path, out: &mut Vec<u8>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            read_tree(&p, out);
        } else if let Ok(bytes) = std::fs::read(&p) {
            out.extend_from_slice(&bytes);
        }
    }
}

impl Harness for PgHarness {
    type Store = PgStore;

    fn new(name: &str) -> Self {
        let db = pg::unique_db_name(name);
        let url = pg::shared().create_database(&db);
        Self { db, url }
    }

    fn create(&self, seed: u64) -> Result<PgStore, StoreError> {
        PgStore::create(
            &self.url,
            PASS,
            &config(),
            KdfParams::TEST_ONLY,
            &mut ChaCha20Rng::seed_from_u64(seed),
        )
    }

    fn open(&self, passphrase: &[u8]) -> Result<PgStore, StoreError> {
        PgStore::open(&self.url, passphrase)
    }

    fn open_missing(&self) -> Result<PgStore, StoreError> {
        PgStore::open(&pg::shared().url(&format!("{}_missing", self.db)), PASS)
    }

    fn damage(&self) {
        self.sql()
            .batch_execute("DROP TABLE meta; DROP TABLE issued; DROP TABLE master_keys;")
            .unwrap();
    }

    fn flip_sealed_master_bit(&self) {
        self.sql()
            .batch_execute(
                "UPDATE master_keys SET sakke_z_sealed =
                     set_byte(sakke_z_sealed, 20, get_byte(sakke_z_sealed, 20) # 1)",
            )
            .unwrap();
    }

    fn move_sealed_rsk(&self, from: &str, to: &str, period: u64) {
        let p = i64::try_from(period).unwrap();
        self.sql()
            .execute(
                "UPDATE issued SET rsk_sealed =
                     (SELECT rsk_sealed FROM issued WHERE uri = $1 AND period_no = $3)
                 WHERE uri = $2 AND period_no = $3",
                &[&from, &to, &p],
            )
            .unwrap();
    }

    fn meta(&self, key: &str) -> Vec<u8> {
        self.sql()
            .query_one("SELECT value FROM meta WHERE key = $1", &[&key])
            .unwrap()
            .get(0)
    }

    fn set_meta(&self, key: &str, value: Option<&[u8]>) {
        let mut c = self.sql();
        match value {
            Some(v) => c.execute(
                "INSERT INTO meta (key, value) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&key, &v],
            ),
            None => c.execute("DELETE FROM meta WHERE key = $1", &[&key]),
        }
        .unwrap();
    }

    /// The database's files and the write-ahead log as the server keeps them on disk, after a
    /// checkpoint.
    fn raw_contents(&self) -> Vec<u8> {
        let mut c = self.sql();
        c.batch_execute("CHECKPOINT").unwrap();
        let oid: postgres::types::Oid = c
            .query_one(
                "SELECT oid FROM pg_database WHERE datname = current_database()",
                &[],
            )
            .unwrap()
            .get(0);
        let data = pg::shared().data_directory();
        let mut all = Vec::new();
        read_tree(&data.join("base").join(oid.to_string()), &mut all);
        read_tree(&data.join("pg_wal"), &mut all);
        all
    }

    fn skip() -> bool {
        pg::skip_requested()
    }
}

store_conformance_tests!(PgHarness);

fn schema_version(h: &PgHarness) -> String {
    let v: Vec<u8> = h
        .sql()
        .query_one("SELECT value FROM meta WHERE key = 'schema_version'", &[])
        .unwrap()
        .get(0);
    String::from_utf8(v).unwrap()
}

/// Turns the store back into what schema version 2 was: no job tables (version 3), no
/// revocations or events (version 4), no settings tag and a check value of before.
fn downgrade_to_v2(h: &PgHarness) {
    let legacy = store_conformance::legacy_check(&h.meta("kdf_salt"));
    h.set_meta("check", Some(&legacy));
    h.set_meta("settings_tag", None);
    h.sql()
        .batch_execute(
            "DROP TABLE revocations; DROP TABLE events; DROP TABLE job_rows; DROP TABLE jobs;
             UPDATE meta SET value = convert_to('2', 'UTF8') WHERE key = 'schema_version';",
        )
        .unwrap();
}

#[test]
fn a_version_2_store_is_migrated_by_migrate_and_keeps_its_keys() {
    if pg::skip_requested() {
        return;
    }
    let h = PgHarness::new("migrate2");
    let store = h.create(1).unwrap();
    let res = provision(&store, &users(3), PrincipalKind::User, &[5], &|_| {}).unwrap();
    drop(store);
    downgrade_to_v2(&h);
    let spec = StoreSpec::parse(&h.url).unwrap();
    assert_eq!(migrate_store(&spec).unwrap(), (2, SCHEMA_VERSION));
    assert_eq!(schema_version(&h), SCHEMA_VERSION.to_string());
    // nothing to do the second time
    assert_eq!(
        migrate_store(&spec).unwrap(),
        (SCHEMA_VERSION, SCHEMA_VERSION)
    );
    let store = open_store(&spec, PASS).unwrap();
    for p in &res {
        let again = store.issued(&p.set.uri, 5).unwrap().unwrap();
        assert_eq!(again.rsk.to_bytes(), p.set.rsk.to_bytes());
    }
    // the new tables work
    let job = store
        .create_job(PrincipalKind::User, &users(4), &[5])
        .unwrap();
    let s = store.job(job).unwrap().unwrap();
    assert_eq!((s.total, s.done, s.pending), (4, 3, 1));
}

#[test]
fn a_version_1_store_is_migrated_when_opened() {
    if pg::skip_requested() {
        return;
    }
    let h = PgHarness::new("migrate1");
    let store = h.create(1).unwrap();
    let res = provision(&store, &users(2), PrincipalKind::User, &[3], &|_| {}).unwrap();
    drop(store);
    downgrade_to_v2(&h);
    h.sql()
        .batch_execute(
            "DROP TABLE group_managers; DROP TABLE deliveries; DROP TABLE external_certs;
             DELETE FROM meta WHERE key = 'cache_num';
             UPDATE meta SET value = convert_to('1', 'UTF8') WHERE key = 'schema_version';",
        )
        .unwrap();
    // a wrong passphrase leaves it as it is
    assert!(matches!(h.open(b"wrong"), Err(StoreError::WrongPassphrase)));
    assert_eq!(schema_version(&h), "1");
    let store = h.open(PASS).unwrap();
    assert_eq!(schema_version(&h), SCHEMA_VERSION.to_string());
    for p in &res {
        let again = store.issued(&p.set.uri, 3).unwrap().unwrap();
        assert_eq!(again.pvt, p.set.pvt);
    }
    assert_eq!(store.cache_num().unwrap(), 0);
    assert_eq!(store.add_external_certificate("<c/>").unwrap(), 1);
    store
        .add_group_manager("sip:g@example.org", "sip:gms@example.org")
        .unwrap();
    assert!(store.jobs().unwrap().is_empty());
}

#[test]
fn a_newer_schema_is_a_clear_error() {
    if pg::skip_requested() {
        return;
    }
    let h = PgHarness::new("newer");
    drop(h.create(1).unwrap());
    h.sql()
        .batch_execute(
            "UPDATE meta SET value = convert_to('5', 'UTF8') WHERE key = 'schema_version'",
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
    let err = migrate_store(&StoreSpec::parse(&h.url).unwrap()).unwrap_err();
    assert!(matches!(err, StoreError::NewerSchema { .. }), "{err}");
}

#[test]
fn missing_databases_empty_databases_and_passwords() {
    if pg::skip_requested() {
        return;
    }
    let h = PgHarness::new("empty");
    // an empty database is no store, and migrate says so too
    assert!(matches!(h.open(PASS), Err(StoreError::NotAStore(_))));
    let spec = StoreSpec::parse(&h.url).unwrap();
    assert!(matches!(
        migrate_store(&spec),
        Err(StoreError::NotAStore(_))
    ));
    // a password never appears in a message
    let with_password = h
        .url
        .replace("postgres@", "postgres:Sekr1tPassw0rd@")
        .replace(&h.db, "no_such_database");
    let err = PgStore::open(&with_password, PASS).unwrap_err();
    let spec = StoreSpec::parse(&with_password).unwrap();
    let shown = format!("{err} {err:?} {spec} {spec:?}");
    assert!(!shown.contains("Sekr1tPassw0rd"), "{shown}");
    assert!(matches!(err, StoreError::NotAStore(_)), "{err}");
    // a server that does not answer is a backend error, not a panic
    let err = PgStore::open("postgres://postgres@127.0.0.1:1/x", PASS).unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err}");
    // a URL that is no URL
    let err = PgStore::open("postgres://postgres@127.0.0.1:notaport/x", PASS).unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
}

#[test]
fn the_store_is_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PgStore>();
    if pg::skip_requested() {
        return;
    }
    let h = PgHarness::new("dyn");
    let store: std::sync::Arc<dyn KmsStore> = std::sync::Arc::new(h.create(1).unwrap());
    assert_eq!(store.config().kms_uri, "kms.example.org");
    let dbg = format!("{store:?}");
    assert!(dbg.contains("PgStore") && !dbg.contains("key"), "{dbg}");
}
