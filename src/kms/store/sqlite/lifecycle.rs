//! The lifecycle operations ([`LifecycleStore`]) on SQLite, and the store's file modes.

use std::path::{Path, PathBuf};

use rand_core::CryptoRng;
use rusqlite::{Connection, OptionalExtension, params};

use super::{Db, SqliteStore, first_row, query_all, upsert_meta};
use crate::kms::store::lifecycle::{
    AUDIT_QUERY, AuditKind, AuditSink, LifecycleStore, MASTERS_TO_RESEAL, PrincipalInfo,
    RESEAL_BATCH, Revocation, UPDATE_MASTER_SEALS, new_seal, new_seal_meta,
};
use crate::kms::store::{KdfParams, StoreError, now_unix, rows};

/// What version 4 adds to version 3: revocations and the lifecycle events of the audit trail.
pub(super) const SCHEMA_V4_ADDITIONS: &str = "CREATE TABLE revocations (
         uri TEXT PRIMARY KEY REFERENCES principals(uri),
         reason TEXT,
         revoked_at INTEGER NOT NULL);
     CREATE TABLE events (
         id INTEGER PRIMARY KEY,
         at INTEGER NOT NULL,
         event TEXT NOT NULL,
         uri TEXT,
         detail TEXT);";

fn io_error(what: &Path, e: &std::io::Error) -> StoreError {
    StoreError::Invalid(format!("{}: {e}", what.display()))
}

/// The store file and its journal files (`-wal`, `-shm`).
fn store_files(path: &Path) -> [PathBuf; 3] {
    let with = |suffix: &str| {
        let mut s = path.as_os_str().to_os_string();
        s.push(suffix);
        PathBuf::from(s)
    };
    [path.to_path_buf(), with("-wal"), with("-shm")]
}

/// Creates `path` empty and 0600 if it does not exist (so SQLite, and the journal files it
/// gives the same mode, never make it readable by others), and sets it 0600 if it does.
pub(super) fn create_private(path: &Path) -> Result<(), StoreError> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path).map_err(|e| {
        StoreError::Backend(crate::kms::store::BackendError::new(
            format!("unable to open database file {}: {e}", path.display()),
            e,
        ))
    })?;
    make_private(path)
}

/// Sets the store file and its `-wal` and `-shm` files (those that exist) to 0600.
pub(super) fn make_private(path: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    for f in store_files(path) {
        use std::os::unix::fs::PermissionsExt;
        match std::fs::metadata(&f) {
            Ok(m) if m.permissions().mode() & 0o777 != 0o600 => {
                std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600))
                    .map_err(|e| io_error(&f, &e))?;
            }
            _ => {}
        }
    }
    #[cfg(not(unix))]
    let _ = store_files(path);
    Ok(())
}

/// The revocation of `uri`.
pub(super) fn revocation(conn: &Connection, uri: &str) -> Result<Option<Revocation>, StoreError> {
    let row = conn.query_row(rows::REVOCATION_QUERY, [uri], |r| Ok(rows::revocation(r)));
    first_row(row.optional())
}

fn event(
    conn: &Connection,
    kind: AuditKind,
    uri: Option<&str>,
    detail: Option<&str>,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO events (at, event, uri, detail) VALUES (?1, ?2, ?3, ?4)",
        params![now_unix(), kind.as_str(), uri, detail],
    )
    .db()?;
    Ok(())
}

fn require_registered(conn: &Connection, uri: &str) -> Result<(), StoreError> {
    conn.query_row("SELECT 1 FROM principals WHERE uri = ?1", [uri], |_| Ok(()))
        .optional()
        .db()?
        .ok_or_else(|| StoreError::UnknownPrincipal(uri.to_string()))
}

impl LifecycleStore for SqliteStore {
    fn revoke(&self, uri: &str, reason: Option<&str>) -> Result<bool, StoreError> {
        self.in_tx(|tx| {
            require_registered(tx, uri)?;
            let n = tx
                .execute(
                    "INSERT OR IGNORE INTO revocations (uri, reason, revoked_at) VALUES (?1, ?2, ?3)",
                    params![uri, reason, now_unix()],
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
                .execute("DELETE FROM revocations WHERE uri = ?1", [uri])
                .db()?;
            if n > 0 {
                event(tx, AuditKind::Unrevoked, Some(uri), None)?;
            }
            Ok(n > 0)
        })
    }

    fn principals(&self, uri: Option<&str>) -> Result<Vec<PrincipalInfo>, StoreError> {
        query_all(
            &*self.conn()?,
            rows::PRINCIPALS_QUERY,
            [uri],
            rows::principal,
        )
    }

    fn revoked_uris(&self) -> Result<Vec<String>, StoreError> {
        let conn = self.conn()?;
        query_all(&conn, rows::REVOKED_URIS_QUERY, [], rows::text)
    }

    fn audit(&self, since: i64, sink: &mut AuditSink<'_>) -> Result<u64, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(AUDIT_QUERY).db()?;
        let mut rs = stmt.query([since]).db()?;
        let mut n = 0u64;
        while let Some(r) = rs.next().db()? {
            sink(&rows::audit_event(r)?)?;
            n += 1;
        }
        Ok(n)
    }

    fn backup(&self, to: &Path) -> Result<(), StoreError> {
        let name = to.to_str().ok_or_else(|| {
            StoreError::Invalid(format!("{}: not a UTF-8 file name", to.display()))
        })?;
        // A new, empty 0600 file: VACUUM INTO fills it and keeps its mode.
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        o.open(to).map_err(|e| io_error(to, &e))?;
        let conn = self.conn()?;
        if let Err(e) = conn.execute("VACUUM INTO ?1", [name]).db() {
            let _ = std::fs::remove_file(to);
            return Err(e);
        }
        make_private(to)?;
        event(&conn, AuditKind::Backup, None, Some(name))
    }

    fn change_passphrase(
        &mut self,
        new_passphrase: &[u8],
        kdf: KdfParams,
        rng: &mut dyn CryptoRng,
    ) -> Result<(), StoreError> {
        let new = new_seal(new_passphrase, kdf, rng)?;
        let old = &self.keys.sealer;
        self.in_tx(|tx| {
            for m in query_all(tx, MASTERS_TO_RESEAL, [], rows::sealed_master)? {
                let [z, ksak] = m.reseal(old, &new.sealer)?;
                tx.execute(UPDATE_MASTER_SEALS, params![z, ksak, m.id])
                    .db()?;
            }
            let mut last = 0i64;
            loop {
                let batch = query_all(
                    tx,
                    "SELECT rowid, uri, period_no, rsk_sealed, ssk_sealed FROM issued
                     WHERE rowid > ?1 ORDER BY rowid LIMIT ?2",
                    params![last, RESEAL_BATCH],
                    rows::sealed_issued,
                )?;
                let Some(end) = batch.last().map(|b| b.id) else {
                    break;
                };
                let mut update = tx
                    .prepare_cached(
                        "UPDATE issued SET rsk_sealed = ?2, ssk_sealed = ?3 WHERE rowid = ?1",
                    )
                    .db()?;
                for row in batch {
                    let [rsk, ssk] = row.reseal(old, &new.sealer)?;
                    update.execute(params![row.id, rsk, ssk]).db()?;
                }
                last = end;
            }
            upsert_meta(
                tx,
                &new_seal_meta(&new, &self.keys.config, super::SCHEMA_VERSION)?,
            )?;
            event(tx, AuditKind::PassphraseChanged, None, None)
        })?;
        self.keys.sealer = new.sealer;
        Ok(())
    }
}

impl SqliteStore {
    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
