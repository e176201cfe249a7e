//! Backend-neutral row mapping: each backend implements [`Row`] for its row type once, and the
//! rows of the master keys, the issue log, the delivery log, the external certificates, the
//! principals and the audit trail are read here, the same way for every backend. The queries
//! select their columns in the order these functions read them.

use super::lifecycle::{AuditEvent, AuditKind, PrincipalInfo, Revocation};
use super::{
    Delivery, ExternalCertificate, GenerationRow, IssueLogEntry, PrincipalKind, StoreError,
    sql_to_u64,
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
    let kind = r.text(1)?;
    let reason = r.opt_text(4)?;
    Ok(PrincipalInfo {
        uri: r.text(0)?,
        kind: PrincipalKind::from_name(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("principal kind {kind}")))?,
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
