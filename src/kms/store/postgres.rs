//! The shared backend: one PostgreSQL database, any number of KMS processes and provisioning
//! workers on it (feature `postgres`).
//!
//! # Sealing
//! Exactly as in SQLite ([`super::seal`]): the passphrase-derived key never leaves the process,
//! every secret is sealed before it is sent and bound to its row (`issued/{uri}/{period}/rsk`,
//! ...), so the database, its replicas, its WAL and its dumps hold sealed octets only. Errors
//! carry PostgreSQL's message (table, constraint, SQLSTATE), never a value.
//!
//! # Concurrency
//! Every method is one transaction on a connection of a pool ([`POOL_SIZE`] connections, made
//! on demand and checked before use, so connections broken by a server restart are replaced).
//! [`KmsStore::record`] is insert-or-return: `INSERT ... ON CONFLICT (uri, period_no) DO
//! NOTHING`, then the recorded row is read back, all after the crypto (sets are sealed before
//! the transaction starts, no lock is held across issuing). Rows are inserted in (URI, period)
//! order so that concurrent batches cannot deadlock; a transaction PostgreSQL still aborts as a
//! deadlock or serialization failure is run again. Creation and migration take a transaction
//! advisory lock, so several processes starting at once migrate once.
//!
//! # Schema
//! The same versions as SQLite ([`super::sqlite::SCHEMA_VERSION`]), in [`MIGRATIONS`]: a new
//! store runs every migration in turn; an older one is migrated when opened or by
//! [`PgStore::migrate`]; a newer one is refused with [`StoreError::NewerSchema`]. The tables
//! live in the connection's current schema (normally `public`): use a database of its own.

mod jobs;
mod lifecycle;
mod schema;

use schema::{has_meta, meta_num, meta_value, migrate_client, set_meta_num};

use std::time::Duration;

use postgres::error::SqlState;
use postgres::types::Type;
use postgres::{Client, NoTls, Transaction};
use r2d2_postgres::PostgresConnectionManager;
use rand_core::CryptoRng;
use sha2::Digest as _;

use super::rows;
use super::settings;
use super::{
    BackendError, Delivery, ExternalCertificate, IssueLogEntry, IssuedKeySet, KdfParams, KeySetRow,
    KmsConfig, KmsStore, MasterKeys, PrincipalKind, Recorded, SealedGeneration, StoreError,
    StoreKeys, new_generation, now_unix, open_generation, open_key_set_authenticated,
    open_recorded, seal_key_sets, sql_to_u64, u64_to_sql,
};

/// Schema version written by this code: the number of [`MIGRATIONS`] (the same numbers as
/// the SQLite backend's).
pub const SCHEMA_VERSION: u64 = 4;

/// Connections per store handle (per process).
pub const POOL_SIZE: u32 = 16;

/// How long a connection attempt, and a wait for a free pooled connection, may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How often a transaction aborted as a deadlock or serialization failure is tried.
const TX_ATTEMPTS: usize = 5;

/// The advisory lock key serializing creation and migration (`"mikeysak"` as ASCII).
const SCHEMA_LOCK: i64 = 0x6d69_6b65_7973_616b;

/// The schema migrations: entry `k` takes a store from version `k` to `k + 1` (entry 0
/// creates version 1).
pub const MIGRATIONS: [&str; 4] = [
    schema::SCHEMA_V1,
    schema::SCHEMA_V2_ADDITIONS,
    jobs::SCHEMA_V3_ADDITIONS,
    lifecycle::SCHEMA_V4_ADDITIONS,
];

type Pool = r2d2::Pool<PostgresConnectionManager<NoTls>>;
type Pooled = r2d2::PooledConnection<PostgresConnectionManager<NoTls>>;

/// Maps a client error into the crate's error (no `postgres` type leaves this module).
trait Db<T> {
    fn db(self) -> Result<T, StoreError>;
}

impl<T> Db<T> for Result<T, postgres::Error> {
    fn db(self) -> Result<T, StoreError> {
        self.map_err(pg_error)
    }
}

fn pg_error(e: postgres::Error) -> StoreError {
    let message = match e.as_db_error() {
        // The server's message and SQLSTATE; its DETAIL (which may quote key values) is left out.
        Some(db) => format!(
            "PostgreSQL: {} (SQLSTATE {})",
            db.message(),
            db.code().code()
        ),
        None => format!("PostgreSQL: {e}"),
    };
    StoreError::Backend(BackendError::new(message, e))
}

/// Column `i` of `r`; a value of an unexpected type is [`StoreError::Corrupt`].
pub(super) fn col<'a, T: postgres::types::FromSql<'a>>(
    r: &'a postgres::Row,
    i: usize,
) -> Result<T, StoreError> {
    r.try_get(i)
        .map_err(|e| StoreError::Corrupt(format!("column {i}: {e}")))
}

impl rows::Row for postgres::Row {
    fn int(&self, i: usize) -> Result<i64, StoreError> {
        col(self, i)
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        col(self, i)
    }
    fn bytes(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        col(self, i)
    }
    fn text(&self, i: usize) -> Result<String, StoreError> {
        col(self, i)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        col(self, i)
    }
    fn flag(&self, i: usize) -> Result<bool, StoreError> {
        col(self, i)
    }
}

/// Every row of `sql` with `params`, read by `map` ([`rows`]).
pub(super) fn query_all<T>(
    client: &mut impl postgres::GenericClient,
    sql: &str,
    params: &[&(dyn postgres::types::ToSql + Sync)],
    map: fn(&dyn rows::Row) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    client
        .query(sql, params)
        .db()?
        .iter()
        .map(|r| map(r))
        .collect()
}

/// Whether `e` is an abort PostgreSQL asks the client to retry.
fn retryable(e: &StoreError) -> bool {
    let StoreError::Backend(b) = e else {
        return false;
    };
    std::error::Error::source(b)
        .and_then(|s| s.downcast_ref::<postgres::Error>())
        .and_then(postgres::Error::code)
        .is_some_and(|c| {
            *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
        })
}

/// The client configuration of `url`, with a connection timeout and `PGPASSWORD` as the
/// password when the URL has none.
fn client_config(url: &str) -> Result<postgres::Config, StoreError> {
    let mut config: postgres::Config = url.parse().map_err(|e: postgres::Error| {
        StoreError::Invalid(format!(
            "{}: not a PostgreSQL URL: {e}",
            super::spec::redact_url(url)
        ))
    })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if let (None, Some(p)) = (config.get_password(), std::env::var_os("PGPASSWORD")) {
        config.password(p.as_encoded_bytes());
    }
    if config.get_dbname().is_none() {
        return Err(StoreError::Invalid(format!(
            "{}: the URL names no database",
            super::spec::redact_url(url)
        )));
    }
    Ok(config)
}

/// Connects once, outside any pool; a missing database is [`StoreError::NotAStore`].
fn connect(config: &postgres::Config) -> Result<Client, StoreError> {
    config.connect(NoTls).map_err(|e| {
        if e.code() == Some(&SqlState::INVALID_CATALOG_NAME) {
            StoreError::NotAStore(format!(
                "database {} does not exist",
                config.get_dbname().unwrap_or("")
            ))
        } else {
            pg_error(e)
        }
    })
}

/// An open PostgreSQL KMS store: a connection pool, the sealing key and the configuration.
pub struct PgStore {
    pool: Pool,
    keys: StoreKeys,
}

impl core::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.keys.debug_store(f, "PgStore")
    }
}

/// The sealing key is wiped on drop (it is held in a `Zeroizing` buffer).
impl zeroize::ZeroizeOnDrop for PgStore {}

fn pool(config: postgres::Config) -> Result<Pool, StoreError> {
    r2d2::Pool::builder()
        .max_size(POOL_SIZE)
        .min_idle(Some(0))
        .connection_timeout(CONNECT_TIMEOUT)
        .test_on_check_out(true)
        .build(PostgresConnectionManager::new(config, NoTls))
        .map_err(|e| StoreError::Backend(BackendError::new(format!("PostgreSQL pool: {e}"), e)))
}

impl PgStore {
    /// Creates a new store in the (empty) database of `url` with fresh master secrets (one
    /// generation serving every key period from 0 on), sealed under `passphrase`: every
    /// migration in turn, in one transaction.
    ///
    /// # Errors
    /// [`StoreError::AlreadyExists`] if the database holds a store; [`StoreError::Invalid`] for
    /// a bad URL or configuration; [`StoreError::NotAStore`] for a missing database; backend
    /// errors.
    pub fn create<R: CryptoRng + ?Sized>(
        url: &str,
        passphrase: &[u8],
        config: &KmsConfig,
        kdf: KdfParams,
        rng: &mut R,
    ) -> Result<Self, StoreError> {
        config.check()?;
        let pg = client_config(url)?;
        let mut client = connect(&pg)?;
        let (sealer, meta) = settings::new_store(passphrase, config, kdf, SCHEMA_VERSION, rng)?;
        let mut tx = client.transaction().db()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
            .db()?;
        if has_meta(&mut tx)? {
            return Err(StoreError::AlreadyExists);
        }
        for step in MIGRATIONS {
            tx.batch_execute(step).db()?;
        }
        upsert_meta(&mut tx, &meta)?;
        tx.commit().db()?;
        drop(client);
        let keys = StoreKeys::new(sealer, config);
        let (first, sealed) = new_generation(&keys.sealer, 0, rng)?;
        let store = Self {
            pool: pool(pg)?,
            keys,
        };
        store.insert_generation(first, &sealed)?;
        Ok(store)
    }

    /// Opens the store in the database of `url`, migrating an older schema to
    /// [`SCHEMA_VERSION`] once the passphrase is checked.
    ///
    /// # Errors
    /// [`StoreError::NotAStore`] (no such database, or no store in it),
    /// [`StoreError::NewerSchema`], [`StoreError::WrongPassphrase`], backend errors.
    pub fn open(url: &str, passphrase: &[u8]) -> Result<Self, StoreError> {
        let pg = client_config(url)?;
        let mut client = connect(&pg)?;
        if !has_meta(&mut client)? {
            return Err(StoreError::NotAStore(
                "no KMS store in this database".into(),
            ));
        }
        let opened =
            settings::open_stored(passphrase, SCHEMA_VERSION, |k| meta_value(&mut client, k))?;
        if opened.version < SCHEMA_VERSION {
            migrate_client(&mut client)?;
        }
        if let Some(rewrite) = &opened.rewrite {
            let mut tx = client.transaction().db()?;
            upsert_meta(&mut tx, &rewrite.rows)?;
            tx.commit().db()?;
        }
        drop(client);
        Ok(Self {
            pool: pool(pg)?,
            keys: StoreKeys::new(opened.sealer, &opened.config),
        })
    }

    /// Migrates the store in the database of `url` to [`SCHEMA_VERSION`] without opening its
    /// secrets (no passphrase: a migration only adds tables). Returns the schema versions before
    /// and after (equal if there was nothing to do).
    ///
    /// # Errors
    /// [`StoreError::NotAStore`], [`StoreError::NewerSchema`], backend errors.
    pub fn migrate(url: &str) -> Result<(u64, u64), StoreError> {
        let pg = client_config(url)?;
        let mut client = connect(&pg)?;
        migrate_client(&mut client)
    }

    /// Every row of `sql` with `params` on a pooled connection, read by `map` ([`rows`]).
    pub(super) fn all<T>(
        &self,
        sql: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
        map: fn(&dyn rows::Row) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        query_all(&mut *self.client()?, sql, params, map)
    }

    fn client(&self) -> Result<Pooled, StoreError> {
        self.pool.get().map_err(|e| {
            StoreError::Backend(BackendError::new(
                format!("PostgreSQL: no connection: {e}"),
                e,
            ))
        })
    }

    /// Runs `f` in one transaction, again if PostgreSQL aborts it as a deadlock or a
    /// serialization failure.
    fn in_tx<T>(
        &self,
        mut f: impl FnMut(&mut Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut client = self.client()?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = client.transaction().db().and_then(|mut tx| {
                let v = f(&mut tx)?;
                tx.commit().db()?;
                Ok(v)
            });
            match result {
                Err(e) if attempt < TX_ATTEMPTS && retryable(&e) => {
                    std::thread::sleep(Duration::from_millis(10 << attempt));
                }
                other => return other,
            }
        }
    }

    fn insert_generation(&self, first: i64, sealed: &SealedGeneration) -> Result<i64, StoreError> {
        self.in_tx(|tx| {
            tx.batch_execute("LOCK TABLE master_keys IN SHARE ROW EXCLUSIVE MODE")
                .db()?;
            let latest: Option<i64> = tx
                .query_opt(
                    "SELECT first_period FROM master_keys WHERE last_period IS NULL",
                    &[],
                )
                .db()?
                .map(|r| col(&r, 0))
                .transpose()?;
            if let Some(start) = latest {
                let issued: i64 = col(
                    &tx.query_one(
                        "SELECT count(*) FROM issued WHERE period_no >= $1",
                        &[&first],
                    )
                    .db()?,
                    0,
                )?;
                super::check_new_generation(start, first, issued)?;
                tx.execute(
                    "UPDATE master_keys SET last_period = $1 WHERE last_period IS NULL",
                    &[&(first - 1)],
                )
                .db()?;
            }
            let row = tx
                .query_one(
                    "INSERT INTO master_keys (generation, first_period, last_period,
                         sakke_z_sealed, eccsi_ksak_sealed, sakke_public, eccsi_kpak, created_at)
                     SELECT coalesce(max(generation), 0) + 1, $1, NULL, $2, $3, $4, $5, $6
                     FROM master_keys
                     RETURNING generation",
                    &[
                        &first,
                        &sealed.z_sealed,
                        &sealed.ksak_sealed,
                        &sealed.z_public,
                        &sealed.kpak,
                        &now_unix(),
                    ],
                )
                .db()?;
            col(&row, 0)
        })
    }
}

/// Writes meta rows (insert or replace).
fn upsert_meta<'a>(
    tx: &mut Transaction<'_>,
    rows: impl IntoIterator<Item = &'a (&'static str, Vec<u8>)>,
) -> Result<(), StoreError> {
    for (k, v) in rows {
        tx.execute(settings::UPSERT_META, &[k, v]).db()?;
    }
    Ok(())
}

fn bump_cache_num(tx: &mut Transaction<'_>) -> Result<u64, StoreError> {
    // The row lock serializes concurrent changes of the cache.
    tx.execute("SELECT 1 FROM meta WHERE key = 'cache_num' FOR UPDATE", &[])
        .db()?;
    let n = meta_num(tx, "cache_num")?.saturating_add(1);
    set_meta_num(tx, "cache_num", n)?;
    Ok(n)
}

impl KmsStore for PgStore {
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
        let row = self
            .client()?
            .query_opt(rows::MASTER_KEYS_QUERY, &[&p])
            .db()?
            .ok_or(StoreError::NoMasterKeyForPeriod(period_no))?;
        open_generation(&self.keys.sealer, &rows::generation(&row)?)
    }

    fn register(&self, uri: &str, kind: PrincipalKind) -> Result<(), StoreError> {
        super::check_uris(&[uri])?;
        self.client()?
            .execute(rows::REGISTER, &[&uri, &kind.as_str(), &now_unix()])
            .db()?;
        Ok(())
    }

    fn kind(&self, uri: &str) -> Result<Option<PrincipalKind>, StoreError> {
        // The hot path of the KMS service: typed queries (one round trip, no separate
        // prepare).
        let kind: Option<String> = self
            .client()?
            .query_typed_opt(
                "SELECT kind FROM principals WHERE uri = $1",
                &[(&uri, Type::TEXT)],
            )
            .db()?
            .map(|r| col(&r, 0))
            .transpose()?;
        kind.map(|k| rows::kind(&k, "principal kind")).transpose()
    }

    fn revocation(&self, uri: &str) -> Result<Option<super::Revocation>, StoreError> {
        lifecycle::revocation(&mut *self.client()?, uri)
    }

    fn issued(&self, uri: &str, period_no: u64) -> Result<Option<IssuedKeySet>, StoreError> {
        let p = u64_to_sql(period_no)?;
        let row = self
            .client()?
            .query_typed_opt(rows::KEY_SET_QUERY, &[(&uri, Type::TEXT), (&p, Type::INT8)])
            .db()?
            .map(|r| rows::key_set(&r))
            .transpose()?;
        row.map(|row| open_key_set_authenticated(&self.keys.sealer, uri, period_no, &row))
            .transpose()
    }

    fn record(&self, sets: Vec<IssuedKeySet>) -> Result<Vec<Recorded>, StoreError> {
        // Seal before the transaction: no lock is held across the crypto.
        let sealed = seal_key_sets(&self.keys.sealer, &sets)?;
        let periods = sets
            .iter()
            .map(|s| u64_to_sql(s.period_no))
            .collect::<Result<Vec<_>, _>>()?;
        // One lock order for every transaction: (URI, period).
        let mut order: Vec<usize> = (0..sets.len()).collect();
        order.sort_by(|&a, &b| (&sets[a].uri, periods[a]).cmp(&(&sets[b].uri, periods[b])));
        let uris: Vec<&str> = sets.iter().map(|s| s.uri.as_str()).collect();
        let earlier: Vec<Option<KeySetRow>> = self.in_tx(|tx| {
            let mut known = std::collections::HashMap::<String, bool>::new();
            // FOR SHARE: a concurrent revocation (FOR UPDATE of the principal) is ordered
            // before or after this record, never past it.
            for r in tx
                .query(
                    "SELECT p.uri, r.uri IS NOT NULL FROM principals p
                     LEFT JOIN revocations r ON r.uri = p.uri
                     WHERE p.uri = ANY($1) FOR SHARE OF p",
                    &[&uris],
                )
                .db()?
            {
                known.insert(col(&r, 0)?, col(&r, 1)?);
            }
            for s in &sets {
                match known.get(&s.uri) {
                    None => return Err(StoreError::UnknownPrincipal(s.uri.clone())),
                    Some(true) => return Err(StoreError::Revoked(s.uri.clone())),
                    Some(false) => {}
                }
            }
            let insert = tx
                .prepare(
                    "INSERT INTO issued (uri, period_no, generation, user_id, rsk_sealed,
                         ssk_sealed, pvt, issued_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                     ON CONFLICT (uri, period_no) DO NOTHING",
                )
                .db()?;
            let mut earlier: Vec<Option<KeySetRow>> = (0..sets.len()).map(|_| None).collect();
            for &i in &order {
                let (s, seal) = (&sets[i], &sealed[i]);
                let n = tx
                    .execute(
                        &insert,
                        &[
                            &s.uri,
                            &periods[i],
                            &s.generation,
                            &s.user_id.as_slice(),
                            &seal.rsk_sealed,
                            &seal.ssk_sealed,
                            &s.pvt.to_bytes().as_slice(),
                            &s.issued_at,
                        ],
                    )
                    .db()?;
                if n == 0 {
                    // Recorded already (by a transaction that has committed: ON CONFLICT waits
                    // for a concurrent insert of the same key to end).
                    let row = tx.query_one(rows::KEY_SET_QUERY, &[&s.uri, &periods[i]]);
                    earlier[i] = Some(rows::key_set(&row.db()?)?);
                }
            }
            Ok(earlier)
        })?;
        // Open the earlier records outside the transaction.
        open_recorded(&self.keys.sealer, sets, earlier)
    }

    fn issued_count(&self) -> Result<u64, StoreError> {
        let row = self
            .client()?
            .query_one("SELECT count(*) FROM issued", &[])
            .db()?;
        sql_to_u64(col(&row, 0)?)
    }

    fn issue_log(&self, uri: Option<&str>) -> Result<Vec<IssueLogEntry>, StoreError> {
        query_all(
            &mut *self.client()?,
            "SELECT uri, period_no, generation, user_id, issued_at FROM issued
             WHERE $1::text IS NULL OR uri = $1 ORDER BY issued_at, seq",
            &[&uri],
            rows::issue_log_entry,
        )
    }

    fn add_group_manager(&self, group: &str, manager: &str) -> Result<(), StoreError> {
        super::check_uris(&[group, manager])?;
        self.in_tx(|tx| {
            let now = now_unix();
            let kind = PrincipalKind::Group.as_str();
            tx.execute(rows::REGISTER, &[&group, &kind, &now]).db()?;
            let kind: String = col(
                &tx.query_one("SELECT kind FROM principals WHERE uri = $1", &[&group])
                    .db()?,
                0,
            )?;
            super::check_group(group, &kind)?;
            tx.execute(
                "INSERT INTO group_managers (group_uri, manager, added_at) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
                &[&group, &manager, &now],
            )
            .db()?;
            Ok(())
        })
    }

    fn remove_group_manager(&self, group: &str, manager: &str) -> Result<bool, StoreError> {
        let n = self
            .client()?
            .execute(
                "DELETE FROM group_managers WHERE group_uri = $1 AND manager = $2",
                &[&group, &manager],
            )
            .db()?;
        Ok(n > 0)
    }

    fn is_group_manager(&self, group: &str, manager: &str) -> Result<bool, StoreError> {
        Ok(self
            .client()?
            .query_typed_opt(
                "SELECT 1 FROM group_managers WHERE group_uri = $1 AND manager = $2",
                &[(&group, Type::TEXT), (&manager, Type::TEXT)],
            )
            .db()?
            .is_some())
    }

    fn group_managers(&self, group: &str) -> Result<Vec<String>, StoreError> {
        self.all(rows::GROUP_MANAGERS_QUERY, &[&group], rows::text)
    }

    fn log_delivery(
        &self,
        principal: &str,
        uri: &str,
        period_no: u64,
        at: u64,
        peer: Option<&str>,
    ) -> Result<(), StoreError> {
        // One statement in one round trip (a typed query needs no separate prepare).
        self.client()?
            .query_typed(
                rows::LOG_DELIVERY,
                &[
                    (&principal, Type::TEXT),
                    (&uri, Type::TEXT),
                    (&u64_to_sql(period_no)?, Type::INT8),
                    (&u64_to_sql(at)?, Type::INT8),
                    (&peer, Type::TEXT),
                ],
            )
            .db()?;
        Ok(())
    }

    fn deliveries(&self) -> Result<Vec<Delivery>, StoreError> {
        self.all(rows::DELIVERIES_QUERY, &[], rows::delivery)
    }

    fn add_external_certificate(&self, xml: &str) -> Result<u64, StoreError> {
        super::check_certificate(xml)?;
        let hash = sha2::Sha256::digest(xml.as_bytes()).to_vec();
        self.in_tx(|tx| {
            let n = tx
                .execute(
                    "INSERT INTO external_certs (xml, xml_sha256, added_at) VALUES ($1, $2, $3)
                     ON CONFLICT (xml_sha256) DO NOTHING",
                    &[&xml, &hash, &now_unix()],
                )
                .db()?;
            if n == 1 {
                bump_cache_num(tx)
            } else {
                meta_num(tx, "cache_num")
            }
        })
    }

    fn remove_external_certificate(&self, id: i64) -> Result<bool, StoreError> {
        self.in_tx(|tx| {
            let n = tx
                .execute("DELETE FROM external_certs WHERE id = $1", &[&id])
                .db()?;
            if n > 0 {
                bump_cache_num(tx)?;
            }
            Ok(n > 0)
        })
    }

    fn external_certificates(&self) -> Result<Vec<ExternalCertificate>, StoreError> {
        self.all(rows::EXTERNAL_CERTS_QUERY, &[], rows::external_certificate)
    }

    fn cache_num(&self) -> Result<u64, StoreError> {
        meta_num(&mut *self.client()?, "cache_num")
    }
}
