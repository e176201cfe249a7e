//! The operator's lifecycle of a store, on every backend ([`LifecycleStore`]): revoking and
//! reinstating users, listing what was registered and issued, the audit trail, online backups
//! and changing the passphrase.
//!
//! # Revocation
//! A revoked URI keeps its registration and its recorded key sets, but from the revocation on
//! none of them is served ([`refuse_revoked`], called by the KMS service: refusal `Revoked`)
//! and none is issued: [`super::KmsStore::record`] refuses a revoked URI with
//! [`StoreError::Revoked`] inside its transaction, so a revocation committed before a record
//! can never be raced past. Reinstating ([`LifecycleStore::unrevoke`]) serves them again.
//!
//! # Audit trail
//! [`LifecycleStore::audit`] streams, oldest first, every key set issued, every key set
//! delivered by the service and every lifecycle event (revoked, reinstated, passphrase
//! changed, backup). No secret is part of it.
//!
//! # Passphrase change
//! [`LifecycleStore::change_passphrase`] re-seals every sealed value (master secrets, issued
//! RSKs and SSKs, the passphrase check) under a key derived from the new passphrase and a new
//! salt, and writes the settings tag (`store/settings.rs`) under the new key, all in ONE
//! transaction: a failure or a crash at any point leaves the old passphrase
//! working, a commit the new one.

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::seal::Sealer;
use super::{KdfParams, KmsStore, PrincipalKind, StoreError};

/// A revocation of a URI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revocation {
    /// Unix time of the revocation.
    pub at: i64,
    /// The operator's reason, if given.
    pub reason: Option<String>,
}

/// A registered URI, as listed by [`LifecycleStore::principals`] (no secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrincipalInfo {
    /// The user or group URI.
    pub uri: String,
    /// User or group.
    pub kind: PrincipalKind,
    /// Unix time of registration.
    pub registered_at: i64,
    /// The revocation, if the URI is revoked.
    pub revoked: Option<Revocation>,
    /// Number of key sets recorded for it.
    pub key_sets: u64,
}

/// What happened, in an [`AuditEvent`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditKind {
    /// A key set was issued and recorded.
    Issued,
    /// A key set was delivered by the KMS service.
    Delivered,
    /// A URI was revoked.
    Revoked,
    /// A revocation was lifted.
    Unrevoked,
    /// The store passphrase was changed.
    PassphraseChanged,
    /// A backup was written.
    Backup,
}

impl AuditKind {
    /// The name used in the store and in exports (`issued`, `delivered`, `revoked`,
    /// `unrevoked`, `passphrase_changed`, `backup`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Issued => "issued",
            Self::Delivered => "delivered",
            Self::Revoked => "revoked",
            Self::Unrevoked => "unrevoked",
            Self::PassphraseChanged => "passphrase_changed",
            Self::Backup => "backup",
        }
    }

    /// The kind of a stored name.
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Self::Issued,
            Self::Delivered,
            Self::Revoked,
            Self::Unrevoked,
            Self::PassphraseChanged,
            Self::Backup,
        ]
        .into_iter()
        .find(|k| k.as_str() == name)
    }
}

/// One entry of the audit trail (no secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    /// Unix time.
    pub at: i64,
    /// What happened.
    pub kind: AuditKind,
    /// The URI concerned, if any.
    pub uri: Option<String>,
    /// The key period (issued, delivered).
    pub period_no: Option<u64>,
    /// The master-key generation (issued).
    pub generation: Option<i64>,
    /// The caller a key set was delivered to (delivered).
    pub principal: Option<String>,
    /// The caller's network address (delivered), if known.
    pub peer: Option<String>,
    /// Free text: a revocation reason, a backup's file name.
    pub detail: Option<String>,
}

/// A callback receiving audit events one by one.
pub type AuditSink<'a> = dyn FnMut(&AuditEvent) -> Result<(), StoreError> + 'a;

/// The lifecycle operations every store backend implements.
pub trait LifecycleStore {
    /// Revokes `uri` (with an optional reason): from now on its key sets are neither served
    /// nor issued. Returns `false` if it was revoked already (the first revocation stays).
    ///
    /// # Errors
    /// [`StoreError::UnknownPrincipal`] if `uri` is not registered; backend errors.
    fn revoke(&self, uri: &str, reason: Option<&str>) -> Result<bool, StoreError>;

    /// Lifts the revocation of `uri`; `false` if it was not revoked.
    ///
    /// # Errors
    /// [`StoreError::UnknownPrincipal`] if `uri` is not registered; backend errors.
    fn unrevoke(&self, uri: &str) -> Result<bool, StoreError>;

    /// The registered URIs, sorted (only `uri` when given).
    ///
    /// # Errors
    /// Backend errors.
    fn principals(&self, uri: Option<&str>) -> Result<Vec<PrincipalInfo>, StoreError>;

    /// The revoked URIs, sorted.
    ///
    /// # Errors
    /// Backend errors.
    fn revoked_uris(&self) -> Result<Vec<String>, StoreError>;

    /// Streams the audit trail from Unix time `since` on, oldest first, into `sink`; returns
    /// the number of events. An error of `sink` stops the stream and is returned.
    ///
    /// # Errors
    /// Backend errors, or the sink's.
    fn audit(&self, since: i64, sink: &mut AuditSink<'_>) -> Result<u64, StoreError>;

    /// Writes a consistent copy of the store to the new file `to` (created 0600), while the
    /// store stays in use; the copy opens with the same passphrase.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] if `to` exists or the backend has no online backup here
    /// (PostgreSQL: use `pg_dump`); backend errors.
    fn backup(&self, to: &std::path::Path) -> Result<(), StoreError>;

    /// Re-seals every sealed value under `new_passphrase` (a new salt, `kdf`) in one
    /// transaction; this handle then uses the new key.
    ///
    /// # Errors
    /// [`StoreError::Tampered`] if a sealed value does not open (nothing is changed then);
    /// [`StoreError::Invalid`] for bad KDF parameters; backend errors.
    fn change_passphrase(
        &mut self,
        new_passphrase: &[u8],
        kdf: KdfParams,
        rng: &mut dyn CryptoRng,
    ) -> Result<(), StoreError>;
}

/// The refusal of a new generation from period `first` on while `n` key sets of those
/// periods are recorded under the current one.
pub(crate) fn issued_ahead(first: i64, n: i64) -> StoreError {
    StoreError::Invalid(format!(
        "{n} key sets of key period {first} or later are recorded under the current master-key \
         generation already: start the new generation after the last period issued"
    ))
}

/// Refuses a revoked URI: the one check the KMS service makes before it serves or issues a key
/// set.
///
/// # Errors
/// [`StoreError::Revoked`] if `uri` is revoked; backend errors.
pub fn refuse_revoked(store: &dyn KmsStore, uri: &str) -> Result<(), StoreError> {
    match store.revocation(uri)? {
        Some(_) => Err(StoreError::Revoked(uri.to_string())),
        None => Ok(()),
    }
}

/// The new key of a passphrase change: a fresh salt, the derived sealer and its check value.
pub(crate) struct NewSeal {
    pub salt: [u8; 16],
    pub sealer: Sealer,
    pub check: Vec<u8>,
    pub kdf: KdfParams,
}

/// Derives the new sealer of a passphrase change.
pub(crate) fn new_seal(
    passphrase: &[u8],
    kdf: KdfParams,
    rng: &mut dyn CryptoRng,
) -> Result<NewSeal, StoreError> {
    let mut salt = [0u8; 16];
    rng.fill_bytes(&mut salt);
    // The salt is stored in clear: public by design.
    crate::ct::declassify_in_place(&mut salt);
    let sealer = Sealer::derive(passphrase, &salt, kdf)?;
    let check = sealer.check_value(rng)?;
    Ok(NewSeal {
        salt,
        sealer,
        check,
        kdf,
    })
}

/// Opens `sealed` (bound to `aad`) with `old` and seals it again with `new`.
pub(crate) fn reseal(
    old: &Sealer,
    new: &Sealer,
    aad: &str,
    sealed: &[u8],
) -> Result<Vec<u8>, StoreError> {
    let plain: Zeroizing<Vec<u8>> = old.unseal(aad, sealed)?;
    new.seal(aad, &plain)
}

/// A stored row holding two sealed values, as a passphrase change reads it: a master-key
/// generation (z and KSAK) or an issued key set (RSK and SSK).
pub(crate) struct SealedPair {
    /// The row's key (the generation, or the issued row's sequence number).
    pub id: i64,
    /// The additional data each value is bound to.
    pub aad: [String; 2],
    /// The two sealed values.
    pub sealed: [Vec<u8>; 2],
}

impl SealedPair {
    /// Both values opened with `old` and sealed again with `new`, bound as before.
    pub(crate) fn reseal(&self, old: &Sealer, new: &Sealer) -> Result<[Vec<u8>; 2], StoreError> {
        Ok([
            reseal(old, new, &self.aad[0], &self.sealed[0])?,
            reseal(old, new, &self.aad[1], &self.sealed[1])?,
        ])
    }
}

/// The master keys to re-seal ([`super::rows::sealed_master`]'s columns), for both backends.
pub(crate) const MASTERS_TO_RESEAL: &str = "SELECT generation, first_period, sakke_z_sealed, \
     eccsi_ksak_sealed FROM master_keys ORDER BY generation";

/// Writes the re-sealed master keys (`$1` z, `$2` KSAK) of generation `$3`, for both backends
/// (in a shared text `$1` comes first, see [`super::rows`]).
pub(crate) const UPDATE_MASTER_SEALS: &str =
    "UPDATE master_keys SET sakke_z_sealed = $1, eccsi_ksak_sealed = $2 WHERE generation = $3";

/// The meta rows a passphrase change rewrites (with [`super::settings::UPSERT_META`]), with
/// their new values: the KDF settings, the check value and the settings tag under the new key.
pub(crate) fn new_seal_meta(
    n: &NewSeal,
    config: &super::KmsConfig,
    schema_version: u64,
) -> Result<[(&'static str, Vec<u8>); 6], StoreError> {
    let tag = super::settings::Settings {
        config: config.clone(),
        kdf: n.kdf,
        salt: n.salt.to_vec(),
        schema_version,
    }
    .tag(&n.sealer)?;
    Ok([
        ("kdf_salt", n.salt.to_vec()),
        ("kdf_m_cost", n.kdf.m_cost.to_string().into_bytes()),
        ("kdf_t_cost", n.kdf.t_cost.to_string().into_bytes()),
        ("kdf_p_cost", n.kdf.p_cost.to_string().into_bytes()),
        ("check", n.check.clone()),
        ("settings_tag", tag),
    ])
}

/// Rows re-sealed per round trip of a passphrase change.
pub(crate) const RESEAL_BATCH: i64 = 500;

/// The audit query (placeholder 1: the first Unix time), for both backends.
pub(crate) const AUDIT_QUERY: &str =
    "SELECT at, kind, uri, period_no, generation, principal, peer, detail FROM (
     SELECT issued_at AS at, 0 AS src, 'issued' AS kind, uri, period_no, generation,
            NULL AS principal, NULL AS peer, NULL AS detail FROM issued
     UNION ALL
     SELECT delivered_at, 1, 'delivered', uri, period_no, NULL, principal, peer, NULL
            FROM deliveries
     UNION ALL
     SELECT at, 2, event, uri, NULL, NULL, NULL, NULL, detail FROM events) AS a
     WHERE at >= $1 ORDER BY at, src";
