//! The KMS store: the KMS configuration, the master secrets (sealed at rest), the registry of
//! users and groups, the key sets issued (sealed), the group managers, the delivery audit log
//! and the certificates of other KMSs served in the certificate cache.
//!
//! * [`KmsStore`] is the interface every backend implements (`Send + Sync`, methods on
//!   `&self`, each change one transaction inside the backend); the KMS logic
//!   ([`crate::kms::provision`], [`crate::kms::service`]) only uses this trait.
//! * [`seal`] is the Argon2id / AES-256-GCM sealing of secrets, independent of any database:
//!   a backend stores sealed octets and never sees a secret in clear.
//! * [`sqlite`] is the embedded backend ([`SqliteStore`], also known as [`Store`]).
//! * [`postgres`] (feature `postgres`) is the shared backend ([`PgStore`]): any number of KMS
//!   processes on one PostgreSQL database.
//! * [`jobs`] is the provisioning job queue every backend also keeps ([`JobStore`]).
//! * [`lifecycle`] is the operator's lifecycle every backend also offers ([`LifecycleStore`]):
//!   revocation, listings, the audit trail, backups, passphrase change.
//! * [`spec`] opens a store from a `--store` string: a `postgres://` URL or a SQLite file path
//!   ([`open_store`], [`create_store`], [`migrate_store`]).
//!
//! # Sealing
//! Secrets (the SAKKE master secret z, the ECCSI KSAK, issued RSKs and SSKs) are sealed with
//! AES-256-GCM under a key derived with Argon2id from the operator's passphrase and a random
//! salt kept in the store. Each sealed value binds its place in the store as additional data,
//! so a value copied to another row does not open. A known value sealed at creation tells a
//! wrong passphrase apart from a tampered row. No error carries a secret.

pub mod jobs;
pub mod lifecycle;
#[cfg(feature = "postgres")]
pub mod postgres;
mod rows;
pub mod seal;
mod settings;
pub mod spec;
pub mod sqlite;

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::eccsi::{KmsKeyPair, Kpak, Ksak, Pvt, Ssk};
use crate::mcx::uid::KeyPeriods;
use crate::sakke::{KmsPublicKey, MasterSecret, ReceiverSecretKey};

pub use jobs::JobStore;
pub use lifecycle::{LifecycleStore, Revocation, refuse_revoked};
#[cfg(feature = "postgres")]
pub use postgres::PgStore;
pub use spec::{AnyStore, StoreSpec, create_store, migrate_store, open_store};
pub use sqlite::SqliteStore;

/// The embedded SQLite store (the name this type had before the store became a trait).
pub type Store = SqliteStore;

/// An error of the storage backend (I/O, a locked database after the timeout, a corrupt
/// file, a lost connection). Opaque: the backend's own error type is not part of this API.
#[derive(Debug)]
pub struct BackendError {
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl BackendError {
    /// A backend error with a message and the backend's error as its source.
    pub fn new<E: std::error::Error + Send + Sync + 'static>(
        message: impl Into<String>,
        source: E,
    ) -> Self {
        Self {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    /// A backend error with a message only.
    pub fn msg(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }
}

impl core::fmt::Display for BackendError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for BackendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Why a store operation failed. No variant carries a secret.
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend failed (I/O, a locked database after the timeout, a corrupt file).
    Backend(BackendError),
    /// The file is not a KMS store of this program.
    NotAStore(String),
    /// The store was written by a newer version of this program (a newer schema).
    NewerSchema {
        /// The schema version found.
        found: u64,
        /// The newest schema version this code reads.
        supported: u64,
    },
    /// The store already exists.
    AlreadyExists,
    /// The passphrase does not open the store.
    WrongPassphrase,
    /// A sealed value does not authenticate: the row was modified.
    Tampered(String),
    /// A stored value does not decode.
    Corrupt(String),
    /// No master key covers this key period.
    NoMasterKeyForPeriod(u64),
    /// The URI is not registered in the store.
    UnknownPrincipal(String),
    /// Invalid argument (empty URI, bad key-derivation parameters, ...).
    Invalid(String),
    /// The URI is revoked: its key sets are neither served nor issued.
    Revoked(String),
}

impl core::fmt::Display for StoreError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Backend(e) => write!(f, "store database error: {e}"),
            Self::NotAStore(why) => write!(f, "not a mikey-sakke KMS store: {why}"),
            Self::NewerSchema { found, supported } => write!(
                f,
                "the store has schema version {found}, newer than the {supported} this program \
                 reads: use a newer mikey-sakke"
            ),
            Self::AlreadyExists => f.write_str("the store already exists"),
            Self::WrongPassphrase => f.write_str(
                "wrong passphrase for this store (or its key-derivation settings were modified)",
            ),
            Self::Tampered(what) => write!(
                f,
                "sealed value {what} failed authentication: the store was modified"
            ),
            Self::Corrupt(what) => write!(f, "corrupt store value: {what}"),
            Self::NoMasterKeyForPeriod(n) => write!(f, "no master key covers key period {n}"),
            Self::UnknownPrincipal(u) => write!(f, "{u} is not registered in the store"),
            Self::Invalid(why) => write!(f, "{why}"),
            Self::Revoked(u) => write!(f, "{u} is revoked: its key sets are not served or issued"),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Backend(e) => Some(e),
            _ => None,
        }
    }
}

impl From<BackendError> for StoreError {
    fn from(e: BackendError) -> Self {
        Self::Backend(e)
    }
}

/// Argon2id cost parameters of the passphrase key derivation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_cost: u32,
    /// Iterations.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl KdfParams {
    /// The defaults: 64 MiB, 3 iterations, 1 lane.
    pub const DEFAULT: Self = Self {
        m_cost: 64 * 1024,
        t_cost: 3,
        p_cost: 1,
    };
    /// Cheap parameters for tests only (8 MiB, 1 iteration).
    pub const TEST_ONLY: Self = Self {
        m_cost: 8 * 1024,
        t_cost: 1,
        p_cost: 1,
    };
}

/// The KMS configuration kept in the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KmsConfig {
    /// The KMS URI (e.g. `kms.example.org`), part of every UID.
    pub kms_uri: String,
    /// Key period length and offset in seconds.
    pub periods: KeyPeriods,
    /// SAKKE parameter set (1).
    pub parameter_set: u8,
}

impl KmsConfig {
    /// Checks what a store needs: a KMS URI (without whitespace or control characters, at
    /// most [`crate::input::caps::URI`] octets) and a key period of at least one second.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] naming the problem.
    pub fn check(&self) -> Result<(), StoreError> {
        if self.kms_uri.is_empty() {
            return Err(StoreError::Invalid("the KMS URI is empty".into()));
        }
        if let Some(c) = self
            .kms_uri
            .chars()
            .find(|c| c.is_whitespace() || c.is_control())
        {
            return Err(StoreError::Invalid(format!(
                "the KMS URI {:?} holds the character {c:?} (no whitespace or control characters)",
                crate::input::excerpt(&self.kms_uri)
            )));
        }
        if self.kms_uri.len() > crate::input::caps::URI {
            return Err(StoreError::Invalid(format!(
                "the KMS URI is {} octets long, over the {}-octet limit",
                self.kms_uri.len(),
                crate::input::caps::URI
            )));
        }
        if self.periods.length == 0 {
            return Err(StoreError::Invalid(
                "the key period length must be at least one second".into(),
            ));
        }
        Ok(())
    }
}

/// A user or a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrincipalKind {
    /// An MC service user.
    User,
    /// A group (whose identity keys a group manager may hold).
    Group,
}

impl PrincipalKind {
    /// The stored name, `"user"` or `"group"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Group => "group",
        }
    }

    /// The kind of a stored name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "user" => Some(Self::User),
            "group" => Some(Self::Group),
            _ => None,
        }
    }
}

/// The master secrets of one generation and the periods they serve.
pub struct MasterKeys {
    /// Generation number.
    pub generation: i64,
    /// First key period served.
    pub first_period: u64,
    /// Last key period served (`None`: open-ended).
    pub last_period: Option<u64>,
    /// SAKKE master secret z.
    pub sakke: MasterSecret,
    /// The ECCSI KMS key pair (KSAK, KPAK).
    pub eccsi: KmsKeyPair,
    /// `Z = [z]P`.
    pub sakke_public: KmsPublicKey,
    /// `KPAK = [KSAK]G`.
    pub kpak: Kpak,
}

impl core::fmt::Debug for MasterKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MasterKeys")
            .field("generation", &self.generation)
            .field("first_period", &self.first_period)
            .field("last_period", &self.last_period)
            .finish_non_exhaustive()
    }
}

/// A key set as recorded in the issue log.
pub struct IssuedKeySet {
    /// The user or group URI.
    pub uri: String,
    /// The key period number.
    pub period_no: u64,
    /// The master-key generation that issued it.
    pub generation: i64,
    /// The UID.
    pub user_id: [u8; 32],
    /// The SAKKE RSK.
    pub rsk: ReceiverSecretKey,
    /// The ECCSI SSK.
    pub ssk: Ssk,
    /// The ECCSI PVT.
    pub pvt: Pvt,
    /// Unix time of issue.
    pub issued_at: i64,
}

impl core::fmt::Debug for IssuedKeySet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IssuedKeySet")
            .field("uri", &self.uri)
            .field("period_no", &self.period_no)
            .field("user_id", &hex::encode_upper(self.user_id))
            .finish_non_exhaustive()
    }
}

/// One result of [`KmsStore::record`]: the key set as recorded, and whether this call
/// recorded it.
#[derive(Debug)]
pub struct Recorded {
    /// The key set as recorded (the one handed out).
    pub set: IssuedKeySet,
    /// `true` if recorded by this call, `false` if it was recorded already (then `set` is the
    /// earlier record, not the one passed in).
    pub new: bool,
}

/// One entry of the issue log (no secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssueLogEntry {
    /// The user or group URI.
    pub uri: String,
    /// The key period number.
    pub period_no: u64,
    /// The master-key generation that issued it.
    pub generation: i64,
    /// The UID.
    pub user_id: [u8; 32],
    /// Unix time of issue.
    pub issued_at: i64,
}

/// One entry of the delivery audit log: a key set handed to a caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The authenticated caller.
    pub principal: String,
    /// The URI whose key set was delivered.
    pub uri: String,
    /// The key period number.
    pub period_no: u64,
    /// Unix time of the delivery.
    pub at: u64,
    /// The caller's network address, if the transport knows it.
    pub peer: Option<String>,
}

/// A certificate of another KMS, published in the certificate cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalCertificate {
    /// Its number in the store (to remove it).
    pub id: i64,
    /// The certificate as XML (a `KmsCertificate` element, as given to
    /// [`KmsStore::add_external_certificate`]).
    pub xml: String,
    /// Unix time it was added.
    pub added_at: i64,
}

/// The interface of a KMS store backend.
///
/// Every method takes `&self` and is safe to call from several threads; every change is one
/// transaction inside the backend, so a process killed at any point leaves every committed
/// change in place and nothing half written. Secrets cross this interface only as the typed
/// key values of [`MasterKeys`] and [`IssuedKeySet`]; a backend keeps them sealed at rest
/// ([`seal`]).
pub trait KmsStore: Send + Sync + core::fmt::Debug {
    /// The KMS configuration.
    fn config(&self) -> &KmsConfig;

    /// Adds a master-key generation (fresh SAKKE z and ECCSI KSAK from `rng`) serving key
    /// periods from `first_period` on; the previous open-ended generation then ends at
    /// `first_period - 1`. (RFC 6509 s3.2: master keys change only at a period boundary.)
    /// Returns the generation number.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] if `first_period` does not lie after the current generation's
    /// start, or key sets of `first_period` or later are recorded already (they would not
    /// match the new generation's certificate); backend errors.
    fn add_generation(&self, first_period: u64, rng: &mut dyn CryptoRng)
    -> Result<i64, StoreError>;

    /// The master keys serving key period `period_no`.
    ///
    /// # Errors
    /// [`StoreError::NoMasterKeyForPeriod`], [`StoreError::Tampered`], backend errors.
    fn master_keys(&self, period_no: u64) -> Result<MasterKeys, StoreError>;

    /// Registers a user or group URI (no effect if it is registered already).
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for an empty URI; backend errors.
    fn register(&self, uri: &str, kind: PrincipalKind) -> Result<(), StoreError>;

    /// Registers several URIs of one kind as [`Self::register`] does each; a backend may do
    /// it in one transaction (SQLite does: one commit, one fsync, for a whole batch).
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for an empty URI (then none of them is registered by SQLite);
    /// backend errors.
    fn register_all(&self, uris: &[String], kind: PrincipalKind) -> Result<(), StoreError> {
        for u in uris {
            self.register(u, kind)?;
        }
        Ok(())
    }

    /// Whether `uri` is registered.
    ///
    /// # Errors
    /// Backend errors.
    fn is_registered(&self, uri: &str) -> Result<bool, StoreError> {
        Ok(self.kind(uri)?.is_some())
    }

    /// The kind `uri` is registered as, `None` if it is not registered.
    ///
    /// # Errors
    /// Backend errors.
    fn kind(&self, uri: &str) -> Result<Option<PrincipalKind>, StoreError>;

    /// The revocation of `uri`, `None` if it is not revoked (or not registered). See
    /// [`lifecycle`].
    ///
    /// # Errors
    /// Backend errors.
    fn revocation(&self, uri: &str) -> Result<Option<Revocation>, StoreError>;

    /// The recorded key set of `uri` for `period_no`, if any.
    ///
    /// # Errors
    /// [`StoreError::Tampered`] / [`StoreError::Corrupt`] for a modified row; backend errors.
    fn issued(&self, uri: &str, period_no: u64) -> Result<Option<IssuedKeySet>, StoreError>;

    /// Records issued key sets in one transaction, insert-or-return: a set whose (URI, period)
    /// is recorded already is left as it is (the first record wins) and the recorded one is
    /// returned in its place. So two concurrent first issues of the same (URI, period) hand
    /// out the same key set. The URIs must be registered and not revoked.
    ///
    /// # Errors
    /// [`StoreError::UnknownPrincipal`] for an unregistered URI, [`StoreError::Revoked`] for a
    /// revoked one (nothing is recorded then); backend errors.
    fn record(&self, sets: Vec<IssuedKeySet>) -> Result<Vec<Recorded>, StoreError>;

    /// Number of key sets in the issue log.
    ///
    /// # Errors
    /// Backend errors.
    fn issued_count(&self) -> Result<u64, StoreError>;

    /// The issue log (no secrets), oldest first; `uri` restricts it to one URI.
    ///
    /// # Errors
    /// Backend errors.
    fn issue_log(&self, uri: Option<&str>) -> Result<Vec<IssueLogEntry>, StoreError>;

    /// Makes `manager` a manager of the group `group`, which may then fetch the group's key
    /// sets. Registers `group` as a group if it is not registered.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for an empty URI or a `group` registered as a user; backend
    /// errors.
    fn add_group_manager(&self, group: &str, manager: &str) -> Result<(), StoreError>;

    /// Removes `manager` from the managers of `group`; `false` if it was not one.
    ///
    /// # Errors
    /// Backend errors.
    fn remove_group_manager(&self, group: &str, manager: &str) -> Result<bool, StoreError>;

    /// Whether `manager` manages the group `group`.
    ///
    /// # Errors
    /// Backend errors.
    fn is_group_manager(&self, group: &str, manager: &str) -> Result<bool, StoreError>;

    /// The managers of `group`, sorted.
    ///
    /// # Errors
    /// Backend errors.
    fn group_managers(&self, group: &str) -> Result<Vec<String>, StoreError>;

    /// Writes one entry of the delivery audit log: `principal` was handed the key set of `uri`
    /// for `period_no` at Unix time `at`, from the network address `peer`.
    ///
    /// # Errors
    /// Backend errors.
    fn log_delivery(
        &self,
        principal: &str,
        uri: &str,
        period_no: u64,
        at: u64,
        peer: Option<&str>,
    ) -> Result<(), StoreError>;

    /// The delivery audit log, oldest first.
    ///
    /// # Errors
    /// Backend errors.
    fn deliveries(&self) -> Result<Vec<Delivery>, StoreError>;

    /// Publishes a certificate of another KMS in the certificate cache (the XML of a
    /// `KmsCertificate` element; the caller validates it, see
    /// [`crate::kms::documents::import_external_certificate`]). Adding a certificate already
    /// present changes nothing. Returns the cache number after the change.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for an empty text; backend errors.
    fn add_external_certificate(&self, xml: &str) -> Result<u64, StoreError>;

    /// Removes the external certificate `id`; `false` if there is none. Returns whether it
    /// was removed (the cache number grows if so).
    ///
    /// # Errors
    /// Backend errors.
    fn remove_external_certificate(&self, id: i64) -> Result<bool, StoreError>;

    /// The external certificates, in the order they were added.
    ///
    /// # Errors
    /// Backend errors.
    fn external_certificates(&self) -> Result<Vec<ExternalCertificate>, StoreError>;

    /// The number of the current certificate cache: 0 for a store that never had an external
    /// certificate, then one more on every change.
    ///
    /// # Errors
    /// Backend errors.
    fn cache_num(&self) -> Result<u64, StoreError>;
}

// ----------------------------------------------------------------------------------------------
// What every backend holds and checks, the same way.

/// What an open store of any backend holds besides its connection: the sealing key and the
/// configuration.
pub(crate) struct StoreKeys {
    /// The key derived from the passphrase (wiped on drop).
    pub sealer: seal::Sealer,
    /// The configuration.
    pub config: KmsConfig,
}

impl StoreKeys {
    /// The keys of a store opened or created with `config`.
    pub(crate) fn new(sealer: seal::Sealer, config: &KmsConfig) -> Self {
        Self {
            sealer,
            config: config.clone(),
        }
    }

    /// The `Debug` text of a store named `name`: its configuration, nothing of the key.
    pub(crate) fn debug_store(
        &self,
        f: &mut core::fmt::Formatter<'_>,
        name: &str,
    ) -> core::fmt::Result {
        f.debug_struct(name)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The checks before a new generation from period `first` on, when the current one starts at
/// `start` and `issued` key sets of period `first` or later are recorded.
pub(crate) fn check_new_generation(start: i64, first: i64, issued: i64) -> Result<(), StoreError> {
    if start >= first {
        return Err(StoreError::Invalid(format!(
            "a new generation must start after period {start}"
        )));
    }
    if issued > 0 {
        return Err(lifecycle::issued_ahead(first, issued));
    }
    Ok(())
}

/// The check of URI arguments: none may be empty.
pub(crate) fn check_uris(uris: &[&str]) -> Result<(), StoreError> {
    if uris.iter().any(|u| u.is_empty()) {
        return Err(StoreError::Invalid("empty URI".into()));
    }
    Ok(())
}

/// The check of [`KmsStore::add_group_manager`] once `group` is registered as `kind`.
pub(crate) fn check_group(group: &str, kind: &str) -> Result<(), StoreError> {
    if kind != PrincipalKind::Group.as_str() {
        return Err(StoreError::Invalid(format!(
            "{group} is registered as a {kind}, not a group"
        )));
    }
    Ok(())
}

/// The check of [`KmsStore::add_external_certificate`]'s argument.
pub(crate) fn check_certificate(xml: &str) -> Result<(), StoreError> {
    if xml.trim().is_empty() {
        return Err(StoreError::Invalid("empty certificate".into()));
    }
    Ok(())
}

// ----------------------------------------------------------------------------------------------
// Backend-independent rows: what a backend stores for a generation and a key set, sealed.

/// A new master-key generation, its secrets sealed, ready to store.
pub(crate) struct SealedGeneration {
    /// The sealed SAKKE master secret z.
    pub z_sealed: Vec<u8>,
    /// The sealed ECCSI KSAK.
    pub ksak_sealed: Vec<u8>,
    /// `Z`, in clear.
    pub z_public: Vec<u8>,
    /// `KPAK`, in clear.
    pub kpak: Vec<u8>,
}

/// Generates the secrets of a generation starting at key period `first_period` and seals
/// them; returns the first period as a database integer with them.
pub(crate) fn new_generation<R: CryptoRng + ?Sized>(
    sealer: &seal::Sealer,
    first_period: u64,
    rng: &mut R,
) -> Result<(i64, SealedGeneration), StoreError> {
    let first = u64_to_sql(first_period)?;
    let z = MasterSecret::random(rng);
    let ksak = Ksak::generate(rng).map_err(|_| StoreError::Invalid("RNG failure".into()))?;
    let z_public = z.public_key().to_bytes().to_vec();
    let kpak = ksak.kpak().to_bytes().to_vec();
    let z_bytes = Zeroizing::new(z.to_bytes());
    let ksak_bytes = ksak.to_bytes();
    let sealed = SealedGeneration {
        z_sealed: sealer.seal(&seal::master_z_aad(first), z_bytes.as_slice())?,
        ksak_sealed: sealer.seal(&seal::master_ksak_aad(first), ksak_bytes.as_slice())?,
        z_public,
        kpak,
    };
    Ok((first, sealed))
}

/// A stored generation row.
pub(crate) struct GenerationRow {
    pub generation: i64,
    pub first_period: i64,
    pub last_period: Option<i64>,
    pub z_sealed: Vec<u8>,
    pub ksak_sealed: Vec<u8>,
    pub z_public: Vec<u8>,
    pub kpak: Vec<u8>,
}

/// Opens a stored generation.
pub(crate) fn open_generation(
    sealer: &seal::Sealer,
    row: &GenerationRow,
) -> Result<MasterKeys, StoreError> {
    let first = row.first_period;
    let z = sealer.unseal(&seal::master_z_aad(first), &row.z_sealed)?;
    let k = sealer.unseal(&seal::master_ksak_aad(first), &row.ksak_sealed)?;
    let sakke = MasterSecret::from_bytes(&z).map_err(|e| StoreError::Corrupt(format!("z: {e}")))?;
    let ksak = Ksak::from_bytes(&k).map_err(|e| StoreError::Corrupt(format!("KSAK: {e}")))?;
    let sakke_public = KmsPublicKey::from_bytes(&row.z_public)
        .map_err(|e| StoreError::Corrupt(format!("Z: {e}")))?;
    let kpak =
        Kpak::from_bytes(&row.kpak).map_err(|e| StoreError::Corrupt(format!("KPAK: {e}")))?;
    // The public keys are stored in clear for the certificate: they must match the secrets.
    if sakke.public_key() != sakke_public || ksak.kpak() != kpak {
        return Err(StoreError::Tampered(format!("master/{first}/public keys")));
    }
    Ok(MasterKeys {
        generation: row.generation,
        first_period: sql_to_u64(first)?,
        last_period: row.last_period.map(sql_to_u64).transpose()?,
        sakke,
        eccsi: KmsKeyPair::from_ksak(ksak),
        sakke_public,
        kpak,
    })
}

/// The sealed secrets of a key set.
pub(crate) struct SealedKeySet {
    pub rsk_sealed: Vec<u8>,
    pub ssk_sealed: Vec<u8>,
}

/// Seals the RSK and SSK of `set`, bound to its (URI, period).
pub(crate) fn seal_key_set(
    sealer: &seal::Sealer,
    set: &IssuedKeySet,
) -> Result<SealedKeySet, StoreError> {
    let rsk = Zeroizing::new(set.rsk.to_bytes());
    let ssk = set.ssk.to_bytes();
    Ok(SealedKeySet {
        rsk_sealed: sealer.seal(
            &seal::issued_aad(&set.uri, set.period_no, "rsk"),
            rsk.as_slice(),
        )?,
        ssk_sealed: sealer.seal(
            &seal::issued_aad(&set.uri, set.period_no, "ssk"),
            ssk.as_slice(),
        )?,
    })
}

/// Seals every set of a [`KmsStore::record`] call (before any lock or transaction is taken).
pub(crate) fn seal_key_sets(
    sealer: &seal::Sealer,
    sets: &[IssuedKeySet],
) -> Result<Vec<SealedKeySet>, StoreError> {
    sets.iter().map(|s| seal_key_set(sealer, s)).collect()
}

/// The result of a [`KmsStore::record`] call: each set as passed in where this call recorded
/// it (`earlier` is `None`), else the earlier record, opened (outside any lock or
/// transaction).
pub(crate) fn open_recorded(
    sealer: &seal::Sealer,
    sets: Vec<IssuedKeySet>,
    earlier: Vec<Option<KeySetRow>>,
) -> Result<Vec<Recorded>, StoreError> {
    sets.into_iter()
        .zip(earlier)
        .map(|(set, row)| match row {
            None => Ok(Recorded { set, new: true }),
            Some(row) => Ok(Recorded {
                set: open_key_set_authenticated(sealer, &set.uri, set.period_no, &row)?,
                new: false,
            }),
        })
        .collect()
}

/// A stored key-set row.
pub(crate) struct KeySetRow {
    pub generation: i64,
    pub user_id: Vec<u8>,
    pub rsk_sealed: Vec<u8>,
    pub ssk_sealed: Vec<u8>,
    pub pvt: Vec<u8>,
    pub issued_at: i64,
}

/// Opens a stored key set of `uri` for `period_no`: a row this KMS wrote, read back.
///
/// The RSK and the SSK open only if their AES-GCM seals, under the store key and bound to
/// (`uri`, `period_no`, field), authenticate, so the octets are the ones
/// [`seal_key_set`] sealed, from a key set that [`crate::kms::provision::issue_key_set`]
/// validated (RSK against the UID, SSK/PVT against the KPAK) before it was recorded. The RSK is
/// therefore decoded without the order-q subgroup check (a 1024-bit scalar multiplication that
/// was 80% of the CPU time of serving a stored key set): see
/// `ReceiverSecretKey::from_store_authenticated_bytes_unchecked`. The cheap checks (lengths,
/// ranges, curve equations) stay. Key sets from anywhere else (files, the network) are decoded
/// with the full validation of the public `from_bytes` decoders.
///
/// The PVT is stored in clear (it is public) and not covered by a seal: it is decoded and
/// checked on the curve as any untrusted point would be.
pub(crate) fn open_key_set_authenticated(
    sealer: &seal::Sealer,
    uri: &str,
    period_no: u64,
    row: &KeySetRow,
) -> Result<IssuedKeySet, StoreError> {
    let rsk = sealer.unseal(&seal::issued_aad(uri, period_no, "rsk"), &row.rsk_sealed)?;
    let ssk = sealer.unseal(&seal::issued_aad(uri, period_no, "ssk"), &row.ssk_sealed)?;
    Ok(IssuedKeySet {
        uri: uri.to_string(),
        period_no,
        generation: row.generation,
        user_id: row
            .user_id
            .as_slice()
            .try_into()
            .map_err(|_| StoreError::Corrupt("user_id".into()))?,
        // Authentic octets (the seal opened): see the function docs.
        rsk: ReceiverSecretKey::from_store_authenticated_bytes_unchecked(&rsk)
            .map_err(|e| StoreError::Corrupt(format!("RSK: {e}")))?,
        ssk: Ssk::from_bytes(&ssk).map_err(|e| StoreError::Corrupt(format!("SSK: {e}")))?,
        pvt: Pvt::from_bytes(&row.pvt).map_err(|e| StoreError::Corrupt(format!("PVT: {e}")))?,
        issued_at: row.issued_at,
    })
}

/// A `u64` as a signed 64-bit database integer.
pub(crate) fn u64_to_sql(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Invalid(format!("{v} is too large for the store")))
}

/// A signed 64-bit database integer as a `u64`.
pub(crate) fn sql_to_u64(v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("negative value {v}")))
}

/// The migration steps a store of schema `version` still needs to reach `supported`, the
/// last of `migrations` (step `i` migrates version `i` to `i + 1`), after the checks every
/// backend makes: a newer schema is [`StoreError::NewerSchema`], version 0 is
/// [`StoreError::NotAStore`].
pub(crate) fn pending_migrations<'a>(
    migrations: &'a [&'a str],
    version: u64,
    supported: u64,
) -> Result<&'a [&'a str], StoreError> {
    check_version(version, supported)?;
    let done = usize::try_from(version).unwrap_or(usize::MAX);
    Ok(migrations.get(done..).unwrap_or(&[]))
}

/// The schema version check every backend makes: a newer schema than `supported` is
/// [`StoreError::NewerSchema`], version 0 is [`StoreError::NotAStore`].
pub(crate) fn check_version(version: u64, supported: u64) -> Result<(), StoreError> {
    if version > supported {
        return Err(StoreError::NewerSchema {
            found: version,
            supported,
        });
    }
    if version == 0 {
        return Err(StoreError::NotAStore("schema version 0".into()));
    }
    Ok(())
}

/// The current Unix time in seconds.
pub(crate) fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// `MasterKeys` wipes its secrets on drop: `sakke` (a [`MasterSecret`]) and `eccsi` (a
/// [`KmsKeyPair`]) wipe themselves; the other fields are public.
impl zeroize::ZeroizeOnDrop for MasterKeys {}

/// `rsk` and `ssk` wipe themselves on drop; the other fields are public.
impl zeroize::ZeroizeOnDrop for IssuedKeySet {}
