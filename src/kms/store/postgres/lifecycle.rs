//! The lifecycle operations ([`LifecycleStore`]) on PostgreSQL.

use std::path::Path;

use postgres::fallible_iterator::FallibleIterator as _;
use rand_core::CryptoRng;

use super::{Db, PgStore, query_all, upsert_meta};
use crate::kms::store::lifecycle::{
    AUDIT_QUERY, AuditKind, AuditSink, LifecycleStore, MASTERS_TO_RESEAL, PrincipalInfo,
    RESEAL_BATCH, Revocation, UPDATE_MASTER_SEALS, new_seal, new_seal_meta,
};
use crate::kms::store::{KdfParams, StoreError, now_unix, rows};

/// What version 4 adds to version 3: revocations and the lifecycle events of the audit trail.
pub(super) const SCHEMA_V4_ADDITIONS: &str = "CREATE TABLE revocations (
         uri TEXT PRIMARY KEY REFERENCES principals(uri),
         reason TEXT,
         revoked_at BIGINT NOT NULL);
     CREATE TABLE events (
         id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         at BIGINT NOT NULL,
         event TEXT NOT NULL,
         uri TEXT,
         detail TEXT);";

/// The revocation of `uri`.
pub(super) fn revocation(
    client: &mut impl postgres::GenericClient,
    uri: &str,
) -> Result<Option<Revocation>, StoreError> {
    client
        .query_opt(rows::REVOCATION_QUERY, &[&uri])
        .db()?
        .map(|r| rows::revocation(&r))
        .transpose()
}

fn event(
    tx: &mut postgres::Transaction<'_>,
    kind: AuditKind,
    uri: Option<&str>,
    detail: Option<&str>,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO events (at, event, uri, detail) VALUES ($1, $2, $3, $4)",
        &[&now_unix(), &kind.as_str(), &uri, &detail],
    )
    .db()?;
    Ok(())
}

fn require_registered(tx: &mut postgres::Transaction<'_>, uri: &str) -> Result<(), StoreError> {
    // The row lock orders a revocation against a concurrent record of the same URI.
    tx.query_opt(
        "SELECT 1 FROM principals WHERE uri = $1 FOR UPDATE",
        &[&uri],
    )
    .db()?
    .map(|_| ())
    .ok_or_else(|| StoreError::UnknownPrincipal(uri.to_string()))
}

impl LifecycleStore for PgStore {
    fn revoke(&self, uri: &str, reason: Option<&str>) -> Result<bool, StoreError> {
        self.in_tx(|tx| {
            require_registered(tx, uri)?;
            let n = tx
                .execute(
                    "INSERT INTO revocations (uri, reason, revoked_at) VALUES ($1, $2, $3)
                     ON CONFLICT (uri) DO NOTHING",
                    &[&uri, &reason, &now_unix()],
                )
                .db()?;
            if n == 1 {
                event(tx, AuditKind::Revoked, Some(uri), reason)?;
            }
            Ok(n == 1)
        })
    }

    fn unrevoke(&self, uri: &str) -> Result<bool, StoreError> {
        self.in_tx(|tx| {
            require_registered(tx, uri)?;
            let n = tx
                .execute("DELETE FROM revocations WHERE uri = $1", &[&uri])
                .db()?;
            if n > 0 {
                event(tx, AuditKind::Unrevoked, Some(uri), None)?;
            }
            Ok(n > 0)
        })
    }

    fn principals(&self, uri: Option<&str>) -> Result<Vec<PrincipalInfo>, StoreError> {
        self.all(rows::PRINCIPALS_QUERY, &[&uri], rows::principal)
    }

    fn revoked_uris(&self) -> Result<Vec<String>, StoreError> {
        self.all(rows::REVOKED_URIS_QUERY, &[], rows::text)
    }

    fn audit(&self, since: i64, sink: &mut AuditSink<'_>) -> Result<u64, StoreError> {
        let mut client = self.client()?;
        let params: [&(dyn postgres::types::ToSql + Sync); 1] = [&since];
        let mut rs = client.query_raw(AUDIT_QUERY, params).db()?;
        let mut n = 0u64;
        while let Some(r) = rs.next().db()? {
            sink(&rows::audit_event(&r)?)?;
            n += 1;
        }
        Ok(n)
    }

    fn backup(&self, _to: &Path) -> Result<(), StoreError> {
        Err(StoreError::Invalid(
            "a PostgreSQL store is backed up with pg_dump (pg_dump -Fc -f FILE DATABASE-URL, \
             see docs/operations.md); kms backup copies SQLite stores"
                .into(),
        ))
    }

    fn change_passphrase(
        &mut self,
        new_passphrase: &[u8],
        kdf: KdfParams,
        rng: &mut dyn CryptoRng,
    ) -> Result<(), StoreError> {
        let new = new_seal(new_passphrase, kdf, rng)?;
        let old = &self.keys.sealer;
        let config = &self.keys.config;
        self.in_tx(|tx| {
            // No other process may record or add a generation under the old key meanwhile.
            tx.batch_execute("LOCK TABLE master_keys, issued, meta IN EXCLUSIVE MODE")
                .db()?;
            for m in query_all(tx, MASTERS_TO_RESEAL, &[], rows::sealed_master)? {
                let [z, ksak] = m.reseal(old, &new.sealer)?;
                tx.execute(UPDATE_MASTER_SEALS, &[&z, &ksak, &m.id]).db()?;
            }
            let update = tx
                .prepare("UPDATE issued SET rsk_sealed = $2, ssk_sealed = $3 WHERE seq = $1")
                .db()?;
            let mut last = 0i64;
            loop {
                let batch = query_all(
                    tx,
                    "SELECT seq, uri, period_no, rsk_sealed, ssk_sealed FROM issued
                     WHERE seq > $1 ORDER BY seq LIMIT $2",
                    &[&last, &RESEAL_BATCH],
                    rows::sealed_issued,
                )?;
                let Some(end) = batch.last().map(|b| b.id) else {
                    break;
                };
                for row in batch {
                    let [rsk, ssk] = row.reseal(old, &new.sealer)?;
                    tx.execute(&update, &[&row.id, &rsk, &ssk]).db()?;
                }
                last = end;
            }
            upsert_meta(tx, &new_seal_meta(&new, config, super::SCHEMA_VERSION)?)?;
            event(tx, AuditKind::PassphraseChanged, None, None)
        })?;
        self.keys.sealer = new.sealer;
        Ok(())
    }
}
