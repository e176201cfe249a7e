//! The embedded backend: one SQLite database file.
//!
//! # Durability and concurrency
//! The database runs in WAL mode with `synchronous = FULL`; every change is one transaction, so
//! a process killed at any point leaves every committed key set in place and nothing half
//! written. Recording a key set for a (URI, key period) that is already recorded returns the
//! recorded one, so re-running an interrupted batch completes it without duplicates. Writers
//! take the write lock up front (`BEGIN IMMEDIATE`) and wait up to a minute for another process
//! holding it. Within one process the connection is shared behind a mutex.
//!
//! # Schema
//! Versioned migrations ([`MIGRATIONS`]): version 1 holds the configuration, master keys,
//! principals and issued key sets; version 2 adds the group managers, the delivery audit log
//! and the external certificates; version 3 the provisioning job queue ([`super::jobs`]);
//! version 4 the revocations and the lifecycle events ([`super::lifecycle`]). A new
//! store is created by running every migration in turn. An older store is migrated in place
//! when it is opened (in one transaction, after the passphrase has been checked) or by
//! [`SqliteStore::migrate`]. A store of a newer version is refused with
//! [`StoreError::NewerSchema`].
//!
//! # File modes
//! The store holds sealed secrets only, but its file, its `-wal` and `-shm` files and its
//! backups are created 0600 (SQLite gives the journal files the database file's mode) and set
//! to 0600 whenever a store is created or opened.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rand_core::CryptoRng;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::rows;
use super::settings;
use super::{
    BackendError, Delivery, ExternalCertificate, IssueLogEntry, IssuedKeySet, KdfParams, KmsConfig,
    KmsStore, MasterKeys, PrincipalKind, Recorded, SealedGeneration, StoreError, StoreKeys,
    new_generation, now_unix, open_generation, open_key_set_authenticated, open_recorded,
    pending_migrations, seal_key_sets, sql_to_u64, u64_to_sql,
};

mod jobs;
mod lifecycle;

/// Schema version written by this code: the number of [`MIGRATIONS`].
pub const SCHEMA_VERSION: u64 = 4;

/// The schema migrations: entry `k` takes a store from version `k` to `k + 1` (entry 0
/// creates version 1).
pub const MIGRATIONS: [&str; 4] = [
    SCHEMA_V1,
    SCHEMA_V2_ADDITIONS,
    jobs::SCHEMA_V3_ADDITIONS,
    lifecycle::SCHEMA_V4_ADDITIONS,
];
/// How long a writer waits for another process's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// The tables of schema version 1.
const SCHEMA_V1: &str = "CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
     CREATE TABLE master_keys (
         generation INTEGER PRIMARY KEY,
         first_period INTEGER NOT NULL,
         last_period INTEGER,
         sakke_z_sealed BLOB NOT NULL,
         eccsi_ksak_sealed BLOB NOT NULL,
         sakke_public BLOB NOT NULL,
         eccsi_kpak BLOB NOT NULL,
         created_at INTEGER NOT NULL);
     CREATE TABLE principals (
         uri TEXT PRIMARY KEY,
         kind TEXT NOT NULL CHECK (kind IN ('user', 'group')),
         created_at INTEGER NOT NULL);
     CREATE TABLE issued (
         uri TEXT NOT NULL REFERENCES principals(uri),
         period_no INTEGER NOT NULL,
         generation INTEGER NOT NULL REFERENCES master_keys(generation),
         user_id BLOB NOT NULL,
         rsk_sealed BLOB NOT NULL,
         ssk_sealed BLOB NOT NULL,
         pvt BLOB NOT NULL,
         issued_at INTEGER NOT NULL,
         PRIMARY KEY (uri, period_no));";

/// What version 2 adds to version 1.
const SCHEMA_V2_ADDITIONS: &str = "CREATE TABLE group_managers (
         group_uri TEXT NOT NULL REFERENCES principals(uri),
         manager TEXT NOT NULL,
         added_at INTEGER NOT NULL,
         PRIMARY KEY (group_uri, manager));
     CREATE TABLE deliveries (
         id INTEGER PRIMARY KEY,
         principal TEXT NOT NULL,
         uri TEXT NOT NULL,
         period_no INTEGER NOT NULL,
         delivered_at INTEGER NOT NULL,
         peer TEXT);
     CREATE TABLE external_certs (
         id INTEGER PRIMARY KEY,
         xml TEXT NOT NULL UNIQUE,
         added_at INTEGER NOT NULL);
     INSERT INTO meta (key, value) VALUES ('cache_num', CAST('0' AS BLOB));";

/// Maps a SQLite error into the crate's error (no rusqlite type leaves this module).
trait Db<T> {
    fn db(self) -> Result<T, StoreError>;
}

impl<T> Db<T> for Result<T, rusqlite::Error> {
    fn db(self) -> Result<T, StoreError> {
        self.map_err(|e| StoreError::Backend(BackendError::new(e.to_string(), e)))
    }
}

/// An open SQLite KMS store.
pub struct SqliteStore {
    path: std::path::PathBuf,
    conn: Mutex<Connection>,
    keys: StoreKeys,
}

impl core::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.keys.debug_store(f, "SqliteStore")
    }
}

/// The sealing key is wiped on drop (it is held in a `Zeroizing` buffer).
impl zeroize::ZeroizeOnDrop for SqliteStore {}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT).db()?;
    conn.pragma_update(None, "journal_mode", "WAL").db()?;
    conn.pragma_update(None, "synchronous", "FULL").db()?;
    conn.pragma_update(None, "foreign_keys", "ON").db()?;
    Ok(())
}

/// Whether the database holds the meta table of a store.
fn has_meta(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

/// Runs `f` in one transaction that takes the write lock up front (`BEGIN IMMEDIATE`),
/// committed if `f` succeeds and rolled back if it fails.
fn immediate<T>(
    conn: &mut Connection,
    f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .db()?;
    let v = f(&tx)?;
    tx.commit().db()?;
    Ok(v)
}

fn meta_num(conn: &Connection, key: &str) -> Result<u64, StoreError> {
    let v: Vec<u8> = conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()
        .db()?
        .ok_or_else(|| StoreError::Corrupt(format!("missing {key}")))?;
    std::str::from_utf8(&v)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| StoreError::Corrupt(key.to_string()))
}

fn set_meta_num(conn: &Connection, key: &str, v: u64) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE meta SET value = ?2 WHERE key = ?1",
        params![key, v.to_string().into_bytes()],
    )
    .db()?;
    Ok(())
}

fn bump_cache_num(conn: &Connection) -> Result<u64, StoreError> {
    let n = meta_num(conn, "cache_num")?.saturating_add(1);
    set_meta_num(conn, "cache_num", n)?;
    Ok(n)
}

/// Writes meta rows (insert or replace).
fn upsert_meta<'a>(
    conn: &Connection,
    rows: impl IntoIterator<Item = &'a (&'static str, Vec<u8>)>,
) -> Result<(), StoreError> {
    for (k, v) in rows {
        conn.execute(settings::UPSERT_META, params![k, v]).db()?;
    }
    Ok(())
}

fn not_found(path: &Path) -> StoreError {
    StoreError::NotAStore(format!("{} does not exist", path.display()))
}

impl SqliteStore {
    /// Creates a new store at `path` with fresh master secrets (one generation serving every key
    /// period from 0 on), sealed under `passphrase`.
    ///
    /// # Errors
    /// [`StoreError::AlreadyExists`] if the file holds a store; database or parameter errors.
    pub fn create<R: CryptoRng + ?Sized>(
        path: &Path,
        passphrase: &[u8],
        config: &KmsConfig,
        kdf: KdfParams,
        rng: &mut R,
    ) -> Result<Self, StoreError> {
        config.check()?;
        lifecycle::create_private(path)?;
        let mut conn = Connection::open(path).db()?;
        configure(&conn)?;
        let sealer = immediate(&mut conn, |tx| {
            if has_meta(tx).db()? {
                return Err(StoreError::AlreadyExists);
            }
            for step in MIGRATIONS {
                tx.execute_batch(step).db()?;
            }
            let (sealer, meta) = settings::new_store(passphrase, config, kdf, SCHEMA_VERSION, rng)?;
            upsert_meta(tx, &meta)?;
            Ok(sealer)
        })?;
        lifecycle::make_private(path)?;
        let keys = StoreKeys::new(sealer, config);
        let (first, sealed) = new_generation(&keys.sealer, 0, rng)?;
        let store = Self {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
            keys,
        };
        store.insert_generation(first, &sealed)?;
        Ok(store)
    }

    /// Opens an existing store, migrating an older schema to [`SCHEMA_VERSION`] in place once
    /// the passphrase is checked.
    ///
    /// # Errors
    /// [`StoreError::NotAStore`], [`StoreError::NewerSchema`], [`StoreError::WrongPassphrase`],
    /// database errors.
    pub fn open(path: &Path, passphrase: &[u8]) -> Result<Self, StoreError> {
        if !path.exists() {
            return Err(not_found(path));
        }
        let mut conn = Connection::open(path).db()?;
        configure(&conn)?;
        lifecycle::make_private(path)?;
        let opened = settings::open_stored(passphrase, SCHEMA_VERSION, |k| {
            conn.query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| {
                r.get::<_, Vec<u8>>(0)
            })
            .optional()
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(..) => StoreError::NotAStore(e.to_string()),
                other => StoreError::Backend(BackendError::new(other.to_string(), other)),
            })
        })?;
        if opened.version < SCHEMA_VERSION {
            migrate(&mut conn)?;
        }
        if let Some(rewrite) = &opened.rewrite {
            immediate(&mut conn, |tx| upsert_meta(tx, &rewrite.rows))?;
        }
        Ok(Self {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
            keys: StoreKeys::new(opened.sealer, &opened.config),
        })
    }

    /// Migrates the store at `path` to [`SCHEMA_VERSION`] without opening its secrets (no
    /// passphrase: a migration only adds tables). Returns the schema versions before and after
    /// (equal if there was nothing to do).
    ///
    /// # Errors
    /// [`StoreError::NotAStore`], [`StoreError::NewerSchema`], database errors.
    pub fn migrate(path: &Path) -> Result<(u64, u64), StoreError> {
        if !path.exists() {
            return Err(not_found(path));
        }
        let mut conn = Connection::open(path).db()?;
        configure(&conn)?;
        if !has_meta(&conn).map_err(|e| StoreError::NotAStore(e.to_string()))? {
            return Err(StoreError::NotAStore("no meta table".into()));
        }
        migrate(&mut conn)
    }

    fn conn(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.conn
            .lock()
            .map_err(|_| StoreError::Backend(BackendError::msg("store connection lock poisoned")))
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction on the store's connection ([`immediate`]).
    fn in_tx<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn()?;
        immediate(&mut conn, f)
    }

    fn insert_generation(&self, first: i64, sealed: &SealedGeneration) -> Result<i64, StoreError> {
        self.in_tx(|tx| {
            let latest: Option<i64> = tx
                .query_row(
                    "SELECT first_period FROM master_keys WHERE last_period IS NULL",
                    [],
                    |r| r.get(0),
                )
                .optional()
                .db()?;
            if let Some(start) = latest {
                let issued: i64 = tx
                    .query_row(
                        "SELECT count(*) FROM issued WHERE period_no >= ?1",
                        [first],
                        |r| r.get(0),
                    )
                    .db()?;
                super::check_new_generation(start, first, issued)?;
                tx.execute(
                    "UPDATE master_keys SET last_period = ?1 WHERE last_period IS NULL",
                    [first - 1],
                )
                .db()?;
            }
            tx.execute(
                "INSERT INTO master_keys (first_period, last_period, sakke_z_sealed,
                     eccsi_ksak_sealed, sakke_public, eccsi_kpak, created_at)
                 VALUES (?1, NULL, ?2, ?3, ?4, ?5, ?6)",
                params![
                    first,
                    sealed.z_sealed,
                    sealed.ksak_sealed,
                    sealed.z_public,
                    sealed.kpak,
                    now_unix()
                ],
            )
            .db()?;
            Ok(tx.last_insert_rowid())
        })
    }
}

/// Migrates an older store to [`SCHEMA_VERSION`] in one transaction; returns the versions
/// before and after.
fn migrate(conn: &mut Connection) -> Result<(u64, u64), StoreError> {
    immediate(conn, |tx| {
        // Another process may have migrated it meanwhile.
        let version = meta_num(tx, "schema_version")?;
        for step in pending_migrations(&MIGRATIONS, version, SCHEMA_VERSION)? {
            tx.execute_batch(step).db()?;
        }
        if version < SCHEMA_VERSION {
            set_meta_num(tx, "schema_version", SCHEMA_VERSION)?;
        }
        Ok((version, SCHEMA_VERSION))
    })
}

impl rows::Row for rusqlite::Row<'_> {
    fn int(&self, i: usize) -> Result<i64, StoreError> {
        self.get(i).map_err(|e| column_error(i, &e))
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        self.get(i).map_err(|e| column_error(i, &e))
    }
    fn bytes(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        self.get(i).map_err(|e| column_error(i, &e))
    }
    fn text(&self, i: usize) -> Result<String, StoreError> {
        self.get(i).map_err(|e| column_error(i, &e))
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        self.get(i).map_err(|e| column_error(i, &e))
    }
    fn flag(&self, i: usize) -> Result<bool, StoreError> {
        self.get(i).map_err(|e| column_error(i, &e))
    }
}

fn column_error(i: usize, e: &rusqlite::Error) -> StoreError {
    StoreError::Corrupt(format!("column {i}: {e}"))
}

/// Every row of `sql` with `params`, read by `map` ([`rows`]).
pub(super) fn query_all<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    map: fn(&dyn rows::Row) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn.prepare(sql).db()?;
    let mut rs = stmt.query(params).db()?;
    let mut out = Vec::new();
    while let Some(r) = rs.next().db()? {
        out.push(map(r)?);
    }
    Ok(out)
}

/// The first row of a statement's result, read by `map` ([`rows`]); `None` if there is none.
pub(super) fn first_row<T>(
    rows: rusqlite::Result<Option<Result<T, StoreError>>>,
) -> Result<Option<T>, StoreError> {
    rows.db()?.transpose()
}

impl KmsStore for SqliteStore {
    fn config(&self) -> &KmsConfig {
        &self.keys.config
    }

    fn add_generation(
        &self,
        first_period: u64,
        rng: &mut dyn CryptoRng,
    ) -> Result<i64, StoreError> {
        let (first, sealed) = new_generation(&self.keys.sealer, first_period, rng)?;
        self.insert_generation(first, &sealed)
    }

    fn master_keys(&self, period_no: u64) -> Result<MasterKeys, StoreError> {
        let p = u64_to_sql(period_no)?;
        let conn = self.conn()?;
        let row = conn.query_row(rows::MASTER_KEYS_QUERY, [p], |r| Ok(rows::generation(r)));
        let row = first_row(row.optional())?.ok_or(StoreError::NoMasterKeyForPeriod(period_no))?;
        open_generation(&self.keys.sealer, &row)
    }

    fn register(&self, uri: &str, kind: PrincipalKind) -> Result<(), StoreError> {
        self.register_all(std::slice::from_ref(&uri.to_string()), kind)
    }

    fn register_all(&self, uris: &[String], kind: PrincipalKind) -> Result<(), StoreError> {
        if uris.iter().any(String::is_empty) {
            return Err(StoreError::Invalid("empty URI".into()));
        }
        self.in_tx(|tx| {
            let mut reg = tx.prepare(rows::REGISTER).db()?;
            let now = now_unix();
            for u in uris {
                reg.execute(params![u, kind.as_str(), now]).db()?;
            }
            Ok(())
        })
    }

    fn kind(&self, uri: &str) -> Result<Option<PrincipalKind>, StoreError> {
        // The hot path of the KMS service: cached prepared statements.
        let kind: Option<String> = self
            .conn()?
            .prepare_cached("SELECT kind FROM principals WHERE uri = ?1")
            .db()?
            .query_row([uri], |r| r.get(0))
            .optional()
            .db()?;
        kind.map(|k| rows::kind(&k, "principal kind")).transpose()
    }

    fn revocation(&self, uri: &str) -> Result<Option<super::Revocation>, StoreError> {
        lifecycle::revocation(&*self.conn()?, uri)
    }

    fn issued(&self, uri: &str, period_no: u64) -> Result<Option<IssuedKeySet>, StoreError> {
        let p = u64_to_sql(period_no)?;
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(rows::KEY_SET_QUERY).db()?;
        let row = first_row(
            stmt.query_row(params![uri, p], |r| Ok(rows::key_set(r)))
                .optional(),
        )?;
        row.map(|row| open_key_set_authenticated(&self.keys.sealer, uri, period_no, &row))
            .transpose()
    }

    fn record(&self, sets: Vec<IssuedKeySet>) -> Result<Vec<Recorded>, StoreError> {
        // Seal before taking the write lock.
        let sealed = seal_key_sets(&self.keys.sealer, &sets)?;
        let earlier = self.in_tx(|tx| {
            let mut earlier = Vec::with_capacity(sets.len());
            for (s, sealed) in sets.iter().zip(sealed) {
                let revoked: Option<bool> = tx
                    .query_row(
                        "SELECT EXISTS (SELECT 1 FROM revocations WHERE uri = ?1)
                         FROM principals WHERE uri = ?1",
                        [&s.uri],
                        |r| r.get(0),
                    )
                    .optional()
                    .db()?;
                match revoked {
                    None => return Err(StoreError::UnknownPrincipal(s.uri.clone())),
                    Some(true) => return Err(StoreError::Revoked(s.uri.clone())),
                    Some(false) => {}
                }
                let period = u64_to_sql(s.period_no)?;
                let n = tx
                    .execute(
                        "INSERT OR IGNORE INTO issued (uri, period_no, generation, user_id,
                             rsk_sealed, ssk_sealed, pvt, issued_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                        params![
                            s.uri,
                            period,
                            s.generation,
                            s.user_id.to_vec(),
                            sealed.rsk_sealed,
                            sealed.ssk_sealed,
                            s.pvt.to_bytes().to_vec(),
                            s.issued_at
                        ],
                    )
                    .db()?;
                earlier.push(if n == 1 {
                    None
                } else {
                    let row = tx.query_row(rows::KEY_SET_QUERY, params![s.uri, period], |r| {
                        Ok(rows::key_set(r))
                    });
                    Some(row.db()??)
                });
            }
            Ok(earlier)
        })?;
        // Open the earlier records outside the lock.
        open_recorded(&self.keys.sealer, sets, earlier)
    }

    fn issued_count(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn()?
            .query_row("SELECT count(*) FROM issued", [], |r| r.get(0))
            .db()?;
        sql_to_u64(n)
    }

    fn issue_log(&self, uri: Option<&str>) -> Result<Vec<IssueLogEntry>, StoreError> {
        query_all(
            &*self.conn()?,
            "SELECT uri, period_no, generation, user_id, issued_at FROM issued
             WHERE ?1 IS NULL OR uri = ?1 ORDER BY issued_at, rowid",
            [uri],
            rows::issue_log_entry,
        )
    }

    fn add_group_manager(&self, group: &str, manager: &str) -> Result<(), StoreError> {
        super::check_uris(&[group, manager])?;
        self.in_tx(|tx| {
            let now = now_unix();
            let kind = PrincipalKind::Group.as_str();
            tx.execute(rows::REGISTER, params![group, kind, now]).db()?;
            let kind: String = tx
                .query_row("SELECT kind FROM principals WHERE uri = ?1", [group], |r| {
                    r.get(0)
                })
                .db()?;
            super::check_group(group, &kind)?;
            tx.execute(
                "INSERT OR IGNORE INTO group_managers (group_uri, manager, added_at)
                 VALUES (?1, ?2, ?3)",
                params![group, manager, now],
            )
            .db()?;
            Ok(())
        })
    }

    fn remove_group_manager(&self, group: &str, manager: &str) -> Result<bool, StoreError> {
        let n = self
            .conn()?
            .execute(
                "DELETE FROM group_managers WHERE group_uri = ?1 AND manager = ?2",
                params![group, manager],
            )
            .db()?;
        Ok(n > 0)
    }

    fn is_group_manager(&self, group: &str, manager: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn()?
            .prepare_cached("SELECT 1 FROM group_managers WHERE group_uri = ?1 AND manager = ?2")
            .db()?
            .query_row(params![group, manager], |_| Ok(()))
            .optional()
            .db()?
            .is_some())
    }

    fn group_managers(&self, group: &str) -> Result<Vec<String>, StoreError> {
        query_all(
            &*self.conn()?,
            rows::GROUP_MANAGERS_QUERY,
            [group],
            rows::text,
        )
    }

    fn log_delivery(
        &self,
        principal: &str,
        uri: &str,
        period_no: u64,
        at: u64,
        peer: Option<&str>,
    ) -> Result<(), StoreError> {
        let (period_no, at) = (u64_to_sql(period_no)?, u64_to_sql(at)?);
        // One statement, prepared once per connection, in its own (WAL) transaction.
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(rows::LOG_DELIVERY).db()?;
        stmt.execute(params![principal, uri, period_no, at, peer])
            .db()?;
        Ok(())
    }

    fn deliveries(&self) -> Result<Vec<Delivery>, StoreError> {
        query_all(&*self.conn()?, rows::DELIVERIES_QUERY, [], rows::delivery)
    }

    fn add_external_certificate(&self, xml: &str) -> Result<u64, StoreError> {
        super::check_certificate(xml)?;
        self.in_tx(|tx| {
            let n = tx
                .execute(
                    "INSERT OR IGNORE INTO external_certs (xml, added_at) VALUES (?1, ?2)",
                    params![xml, now_unix()],
                )
                .db()?;
            match n {
                1 => bump_cache_num(tx),
                _ => meta_num(tx, "cache_num"),
            }
        })
    }

    fn remove_external_certificate(&self, id: i64) -> Result<bool, StoreError> {
        self.in_tx(|tx| {
            let n = tx
                .execute("DELETE FROM external_certs WHERE id = ?1", [id])
                .db()?;
            if n > 0 {
                bump_cache_num(tx)?;
            }
            Ok(n > 0)
        })
    }

    fn external_certificates(&self) -> Result<Vec<ExternalCertificate>, StoreError> {
        let conn = self.conn()?;
        query_all(
            &conn,
            rows::EXTERNAL_CERTS_QUERY,
            [],
            rows::external_certificate,
        )
    }

    fn cache_num(&self) -> Result<u64, StoreError> {
        meta_num(&*self.conn()?, "cache_num")
    }
}
