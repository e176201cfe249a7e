//! Backend-neutral row mapping: each backend implements [`Row`] for its row type once, and the
//! rows of the master keys, the issue log, the delivery log, the external certificates, the
//! principals, the audit trail and the job queue are read here, the same way for every backend.
//! The queries select their columns in the order these functions read them.
//!
//! A query text shared by both backends uses `$N` placeholders, which SQLite takes as named
//! parameters numbered in the order they first appear: in a shared text `$1` must appear
//! before `$2`, and so on.

use super::jobs::{ClaimedRow, FailedRow, JobSummary, WorkerShare};
use super::lifecycle::{AuditEvent, AuditKind, PrincipalInfo, Revocation, SealedPair};
use super::{
    Delivery, ExternalCertificate, GenerationRow, IssueLogEntry, KeySetRow, PrincipalKind,
    StoreError, seal, sql_to_u64,
};

/// One result row of a backend, read by column index; a value of another type is
/// [`StoreError::Corrupt`].
pub(crate) trait Row {
    /// A 64-bit integer column.
    fn int(&self, i: usize) -> Result<i64, StoreError>;
    /// A nullable 64-bit integer column.
    fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError>;
    /// An octet-string column.
    fn bytes(&self, i: usize) -> Result<Vec<u8>, StoreError>;
    /// A text column.
    fn text(&self, i: usize) -> Result<String, StoreError>;
    /// A nullable text column.
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError>;
    /// A boolean column (SQLite: an integer 0 or 1).
    fn flag(&self, i: usize) -> Result<bool, StoreError>;
}

/// A stored principal kind (`what` names the column in the error).
pub(crate) fn kind(name: &str, what: &str) -> Result<PrincipalKind, StoreError> {
    PrincipalKind::from_name(name).ok_or_else(|| StoreError::Corrupt(format!("{what} {name}")))
}

/// A recorded key set ([`KEY_SET_QUERY`]'s columns).
pub(crate) fn key_set(r: &dyn Row) -> Result<KeySetRow, StoreError> {
    Ok(KeySetRow {
        generation: r.int(0)?,
        user_id: r.bytes(1)?,
        rsk_sealed: r.bytes(2)?,
        ssk_sealed: r.bytes(3)?,
        pvt: r.bytes(4)?,
        issued_at: r.int(5)?,
    })
}

/// A revocation: `revoked_at, reason`.
pub(crate) fn revocation(r: &dyn Row) -> Result<Revocation, StoreError> {
    Ok(Revocation {
        at: r.int(0)?,
        reason: r.opt_text(1)?,
    })
}

/// A job's progress: `id, kind, created_at, total, done, new, leased, failed`.
pub(crate) fn job_summary(r: &dyn Row) -> Result<JobSummary, StoreError> {
    let total = sql_to_u64(r.int(3)?)?;
    let done = sql_to_u64(r.int(4)?)?;
    let leased = sql_to_u64(r.int(6)?)?;
    let failed = sql_to_u64(r.int(7)?)?;
    Ok(JobSummary {
        id: r.int(0)?,
        kind: kind(&r.text(1)?, "job kind")?,
        created_at: r.int(2)?,
        total,
        done,
        new: sql_to_u64(r.int(5)?)?,
        leased,
        pending: total.saturating_sub(done + leased + failed),
        failed,
    })
}

/// A claimed job row: `id, job_id, uri, period_no, recorded`.
pub(crate) fn claimed_row(r: &dyn Row) -> Result<ClaimedRow, StoreError> {
    Ok(ClaimedRow {
        id: r.int(0)?,
        job: r.int(1)?,
        uri: r.text(2)?,
        period_no: sql_to_u64(r.int(3)?)?,
        recorded: r.flag(4)?,
    })
}

/// A worker's share of a job: `done_by, done, new`.
pub(crate) fn worker_share(r: &dyn Row) -> Result<WorkerShare, StoreError> {
    Ok(WorkerShare {
        worker: r.text(0)?,
        done: sql_to_u64(r.int(1)?)?,
        new: sql_to_u64(r.int(2)?)?,
    })
}

/// A failed job row: `uri, period_no, failed`.
pub(crate) fn failed_row(r: &dyn Row) -> Result<FailedRow, StoreError> {
    Ok(FailedRow {
        uri: r.text(0)?,
        period_no: sql_to_u64(r.int(1)?)?,
        reason: r.text(2)?,
    })
}

/// A master-key generation to re-seal: `generation, first_period, z sealed, KSAK sealed`.
pub(crate) fn sealed_master(r: &dyn Row) -> Result<SealedPair, StoreError> {
    let first = r.int(1)?;
    Ok(SealedPair {
        id: r.int(0)?,
        aad: [seal::master_z_aad(first), seal::master_ksak_aad(first)],
        sealed: [r.bytes(2)?, r.bytes(3)?],
    })
}

/// An issued key set to re-seal: `row number, uri, period_no, RSK sealed, SSK sealed`.
pub(crate) fn sealed_issued(r: &dyn Row) -> Result<SealedPair, StoreError> {
    let uri = r.text(1)?;
    let p = sql_to_u64(r.int(2)?)?;
    Ok(SealedPair {
        id: r.int(0)?,
        aad: [
            seal::issued_aad(&uri, p, "rsk"),
            seal::issued_aad(&uri, p, "ssk"),
        ],
        sealed: [r.bytes(3)?, r.bytes(4)?],
    })
}

/// A single text column (a URI, a manager, a kind).
pub(crate) fn text(r: &dyn Row) -> Result<String, StoreError> {
    r.text(0)
}

/// A master-key generation ([`MASTER_KEYS_QUERY`]'s columns).
pub(crate) fn generation(r: &dyn Row) -> Result<GenerationRow, StoreError> {
    Ok(GenerationRow {
        generation: r.int(0)?,
        first_period: r.int(1)?,
        last_period: r.opt_int(2)?,
        z_sealed: r.bytes(3)?,
        ksak_sealed: r.bytes(4)?,
        z_public: r.bytes(5)?,
        kpak: r.bytes(6)?,
    })
}

/// An issue-log entry: `uri, period_no, generation, user_id, issued_at`.
pub(crate) fn issue_log_entry(r: &dyn Row) -> Result<IssueLogEntry, StoreError> {
    Ok(IssueLogEntry {
        uri: r.text(0)?,
        period_no: sql_to_u64(r.int(1)?)?,
        generation: r.int(2)?,
        user_id: r
            .bytes(3)?
            .as_slice()
            .try_into()
            .map_err(|_| StoreError::Corrupt("user_id".into()))?,
        issued_at: r.int(4)?,
    })
}

/// A delivery: `principal, uri, period_no, delivered_at, peer`.
pub(crate) fn delivery(r: &dyn Row) -> Result<Delivery, StoreError> {
    Ok(Delivery {
        principal: r.text(0)?,
        uri: r.text(1)?,
        period_no: sql_to_u64(r.int(2)?)?,
        at: sql_to_u64(r.int(3)?)?,
        peer: r.opt_text(4)?,
    })
}

/// An external certificate: `id, xml, added_at`.
pub(crate) fn external_certificate(r: &dyn Row) -> Result<ExternalCertificate, StoreError> {
    Ok(ExternalCertificate {
        id: r.int(0)?,
        xml: r.text(1)?,
        added_at: r.int(2)?,
    })
}

/// A principal: `uri, kind, created_at, revoked_at, reason, key set count`.
pub(crate) fn principal(r: &dyn Row) -> Result<PrincipalInfo, StoreError> {
    let reason = r.opt_text(4)?;
    Ok(PrincipalInfo {
        uri: r.text(0)?,
        kind: kind(&r.text(1)?, "principal kind")?,
        registered_at: r.int(2)?,
        revoked: r.opt_int(3)?.map(|at| Revocation { at, reason }),
        key_sets: sql_to_u64(r.int(5)?)?,
    })
}

/// An audit event ([`super::lifecycle::AUDIT_QUERY`]'s columns).
pub(crate) fn audit_event(r: &dyn Row) -> Result<AuditEvent, StoreError> {
    let kind = r.text(1)?;
    Ok(AuditEvent {
        at: r.int(0)?,
        kind: AuditKind::from_name(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("audit event {kind}")))?,
        uri: r.opt_text(2)?,
        period_no: r.opt_int(3)?.map(sql_to_u64).transpose()?,
        generation: r.opt_int(4)?,
        principal: r.opt_text(5)?,
        peer: r.opt_text(6)?,
        detail: r.opt_text(7)?,
    })
}

/// The principals query (placeholder 1: one URI, or NULL for all), for both backends.
pub(crate) const PRINCIPALS_QUERY: &str = "SELECT p.uri, p.kind, p.created_at, r.revoked_at, \
     r.reason, (SELECT count(*) FROM issued i WHERE i.uri = p.uri)
     FROM principals p LEFT JOIN revocations r ON r.uri = p.uri
     WHERE CAST($1 AS TEXT) IS NULL OR p.uri = $1 ORDER BY p.uri";

/// The delivery log query, for both backends.
pub(crate) const DELIVERIES_QUERY: &str =
    "SELECT principal, uri, period_no, delivered_at, peer FROM deliveries ORDER BY id";

/// The external certificates query, for both backends.
pub(crate) const EXTERNAL_CERTS_QUERY: &str =
    "SELECT id, xml, added_at FROM external_certs ORDER BY id";

/// The generation serving key period `$1`, for both backends.
pub(crate) const MASTER_KEYS_QUERY: &str = "SELECT generation, first_period, last_period, \
     sakke_z_sealed, eccsi_ksak_sealed, sakke_public, eccsi_kpak FROM master_keys
     WHERE first_period <= $1 AND (last_period IS NULL OR last_period >= $1)";

/// The recorded key set of (URI `$1`, period `$2`), for both backends.
pub(crate) const KEY_SET_QUERY: &str = "SELECT generation, user_id, rsk_sealed, ssk_sealed, pvt, \
     issued_at FROM issued WHERE uri = $1 AND period_no = $2";

/// The revocation of URI `$1`, for both backends.
pub(crate) const REVOCATION_QUERY: &str =
    "SELECT revoked_at, reason FROM revocations WHERE uri = $1";

/// The managers of group `$1`, sorted, for both backends.
pub(crate) const GROUP_MANAGERS_QUERY: &str =
    "SELECT manager FROM group_managers WHERE group_uri = $1 ORDER BY manager";

/// One entry of the delivery log, for both backends.
pub(crate) const LOG_DELIVERY: &str = "INSERT INTO deliveries (principal, uri, period_no, \
     delivered_at, peer) VALUES ($1, $2, $3, $4, $5)";

/// The revoked URIs, sorted, for both backends.
pub(crate) const REVOKED_URIS_QUERY: &str = "SELECT uri FROM revocations ORDER BY uri";

/// The failed rows of job `$1`, at most `$2`, for both backends.
pub(crate) const FAILURES_QUERY: &str = "SELECT uri, period_no, failed FROM job_rows \
     WHERE job_id = $1 AND failed IS NOT NULL ORDER BY id LIMIT $2";

/// Registers URI `$1` as kind `$2` at Unix time `$3`, unless it is registered (then its kind
/// stays), for both backends.
pub(crate) const REGISTER: &str = "INSERT INTO principals (uri, kind, created_at) \
     VALUES ($1, $2, $3) ON CONFLICT (uri) DO NOTHING";
