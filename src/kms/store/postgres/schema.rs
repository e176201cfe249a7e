//! The PostgreSQL tables of schema versions 1 and 2 (version 3, the job queue, is in
//! `jobs.rs`; version 4 in `lifecycle.rs`), the settings rows and the migration.

use postgres::{Client, Transaction};

use super::{Db, MIGRATIONS, SCHEMA_LOCK, SCHEMA_VERSION, col};
use crate::kms::store::{StoreError, pending_migrations};

/// The tables of schema version 1.
pub(super) const SCHEMA_V1: &str = "CREATE TABLE meta (key TEXT PRIMARY KEY, value BYTEA NOT NULL);
     CREATE TABLE master_keys (
         generation BIGINT PRIMARY KEY,
         first_period BIGINT NOT NULL,
         last_period BIGINT,
         sakke_z_sealed BYTEA NOT NULL,
         eccsi_ksak_sealed BYTEA NOT NULL,
         sakke_public BYTEA NOT NULL,
         eccsi_kpak BYTEA NOT NULL,
         created_at BIGINT NOT NULL);
     CREATE TABLE principals (
         uri TEXT PRIMARY KEY,
         kind TEXT NOT NULL CHECK (kind IN ('user', 'group')),
         created_at BIGINT NOT NULL);
     CREATE TABLE issued (
         seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
         uri TEXT NOT NULL REFERENCES principals(uri),
         period_no BIGINT NOT NULL,
         generation BIGINT NOT NULL REFERENCES master_keys(generation),
         user_id BYTEA NOT NULL,
         rsk_sealed BYTEA NOT NULL,
         ssk_sealed BYTEA NOT NULL,
         pvt BYTEA NOT NULL,
         issued_at BIGINT NOT NULL,
         PRIMARY KEY (uri, period_no));";

/// What version 2 adds: group managers, the delivery audit log, external certificates.
pub(super) const SCHEMA_V2_ADDITIONS: &str = "CREATE TABLE group_managers (
         group_uri TEXT NOT NULL REFERENCES principals(uri),
         manager TEXT NOT NULL,
         added_at BIGINT NOT NULL,
         PRIMARY KEY (group_uri, manager));
     CREATE TABLE deliveries (
         id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         principal TEXT NOT NULL,
         uri TEXT NOT NULL,
         period_no BIGINT NOT NULL,
         delivered_at BIGINT NOT NULL,
         peer TEXT);
     CREATE TABLE external_certs (
         id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         xml TEXT NOT NULL,
         xml_sha256 BYTEA NOT NULL UNIQUE,
         added_at BIGINT NOT NULL);
     INSERT INTO meta (key, value) VALUES ('cache_num', convert_to('0', 'UTF8'));";

pub(super) fn has_meta(client: &mut impl postgres::GenericClient) -> Result<bool, StoreError> {
    let row = client
        .query_one("SELECT to_regclass('meta') IS NOT NULL", &[])
        .db()?;
    col(&row, 0)
}

pub(super) fn meta_value(
    client: &mut impl postgres::GenericClient,
    key: &str,
) -> Result<Option<Vec<u8>>, StoreError> {
    client
        .query_opt("SELECT value FROM meta WHERE key = $1", &[&key])
        .db()?
        .map(|r| col(&r, 0))
        .transpose()
}

pub(super) fn meta_num(
    client: &mut impl postgres::GenericClient,
    key: &str,
) -> Result<u64, StoreError> {
    let v =
        meta_value(client, key)?.ok_or_else(|| StoreError::Corrupt(format!("missing {key}")))?;
    std::str::from_utf8(&v)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| StoreError::Corrupt(key.to_string()))
}

pub(super) fn set_meta_num(tx: &mut Transaction<'_>, key: &str, v: u64) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE meta SET value = $2 WHERE key = $1",
        &[&key, &v.to_string().into_bytes()],
    )
    .db()?;
    Ok(())
}

/// Migrates to [`SCHEMA_VERSION`] in one transaction under the schema lock; returns the
/// versions before and after.
pub(super) fn migrate_client(client: &mut Client) -> Result<(u64, u64), StoreError> {
    let mut tx = client.transaction().db()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
        .db()?;
    if !has_meta(&mut tx)? {
        return Err(StoreError::NotAStore(
            "no KMS store in this database".into(),
        ));
    }
    // Another process may have migrated it meanwhile: read the version under the lock.
    let version = meta_num(&mut tx, "schema_version")?;
    for step in pending_migrations(&MIGRATIONS, version, SCHEMA_VERSION)? {
        tx.batch_execute(step).db()?;
    }
    if version < SCHEMA_VERSION {
        set_meta_num(&mut tx, "schema_version", SCHEMA_VERSION)?;
    }
    tx.commit().db()?;
    Ok((version, SCHEMA_VERSION))
}
