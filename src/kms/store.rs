//! The KMS store: an embedded SQLite database holding the KMS configuration, the master secrets
//! (sealed at rest), the registry of users and groups, and a log of every key set issued.
//!
//! # Sealing
//! Secrets (the SAKKE master secret z, the ECCSI KSAK, issued RSKs and SSKs) are sealed with
//! AES-256-GCM under a key derived with Argon2id from the operator's passphrase and a random
//! salt kept in the store. Each sealed value binds its place in the store as additional data,
//! so a value copied to another row does not open. A known value sealed at creation tells a
//! wrong passphrase apart from a tampered row.
//!
//! # Durability and concurrency
//! The database runs in WAL mode with `synchronous = FULL`; every change is one transaction, so
//! a process killed at any point leaves every committed key set in place and nothing half
//! written. Issuing a key set for a (URI, key period) that is already recorded returns the
//! recorded one, so re-running an interrupted batch completes it without duplicates. Writers
//! take the write lock up front (`BEGIN IMMEDIATE`) and wait up to a minute for another process
//! holding it.

use std::path::Path;
use std::time::Duration;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand_core::CryptoRng;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use zeroize::{Zeroize, Zeroizing};

use crate::eccsi::{KmsKeyPair, Kpak, Ksak, Pvt, Ssk};
use crate::mcx::uid::KeyPeriods;
use crate::sakke::{KmsPublicKey, MasterSecret, ReceiverSecretKey};

/// Schema version written by this code.
const SCHEMA_VERSION: i64 = 1;
/// The plaintext sealed at creation to check the passphrase.
const CHECK_PLAINTEXT: &[u8] = b"mikey-sakke KMS store passphrase check";
/// How long a writer waits for another process's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a store operation failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite reported an error (I/O, a locked database after the timeout, a corrupt file).
    Sqlite(rusqlite::Error),
    /// The file is not a KMS store of this program (or of a newer schema).
    NotAStore(String),
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
}

impl core::fmt::Display for StoreError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Sqlite(e) => write!(f, "store database error: {e}"),
            Self::NotAStore(why) => write!(f, "not a mikey-sakke KMS store: {why}"),
            Self::AlreadyExists => f.write_str("the store already exists"),
            Self::WrongPassphrase => f.write_str("wrong passphrase for this store"),
            Self::Tampered(what) => write!(
                f,
                "sealed value {what} failed authentication: the store was modified"
            ),
            Self::Corrupt(what) => write!(f, "corrupt store value: {what}"),
            Self::NoMasterKeyForPeriod(n) => write!(f, "no master key covers key period {n}"),
            Self::UnknownPrincipal(u) => write!(f, "{u} is not registered in the store"),
            Self::Invalid(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Sqlite(e)
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

/// A user or a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrincipalKind {
    /// An MC service user.
    User,
    /// A group (whose identity keys a group manager may hold).
    Group,
}

impl PrincipalKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Group => "group",
        }
    }
}

/// The master secrets of one generation and the periods they serve.
pub struct MasterKeys {
    /// Generation number (row id).
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

/// An open KMS store.
pub struct Store {
    conn: Connection,
    key: Zeroizing<[u8; 32]>,
    config: KmsConfig,
}

impl core::fmt::Debug for Store {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Store")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn derive_key(
    passphrase: &[u8],
    salt: &[u8],
    kdf: KdfParams,
) -> Result<Zeroizing<[u8; 32]>, StoreError> {
    let params = argon2::Params::new(kdf.m_cost, kdf.t_cost, kdf.p_cost, Some(32))
        .map_err(|e| StoreError::Invalid(format!("key derivation parameters: {e}")))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase, salt, out.as_mut_slice())
        .map_err(|e| StoreError::Invalid(format!("key derivation: {e}")))?;
    // From here on the key is a secret: everything that uses it (AES-GCM key schedule, sealing
    // and unsealing) must be constant time in it. Argon2id itself indexes memory by
    // passphrase-derived data by design (its second half is data-dependent), which is why the
    // taint test treats the passphrase as given and this output as the secret.
    crate::ct::classify_in_place(out.as_mut_slice());
    Ok(out)
}

fn seal_with(
    key: &[u8; 32],
    nonce: [u8; 12],
    aad: &str,
    plain: &[u8],
) -> Result<Vec<u8>, StoreError> {
    let cipher =
        Aes256Gcm::new_from_slice(key).map_err(|_| StoreError::Invalid("seal key".into()))?;
    let ct = cipher
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: plain,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| StoreError::Invalid("sealing failed".into()))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&ct);
    // The sealed value (nonce, ciphertext, tag) is public by design: it is what the file holds.
    crate::ct::declassify_in_place(out.as_mut_slice());
    Ok(out)
}

fn unseal_with(key: &[u8; 32], aad: &str, sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if sealed.len() < 12 + 16 {
        return None;
    }
    let (nonce, ct) = sealed.split_at(12);
    let mut n = [0u8; 12];
    n.copy_from_slice(nonce);
    let cipher = Aes256Gcm::new_from_slice(key).ok()?;
    cipher
        .decrypt(
            &Nonce::from(n),
            Payload {
                msg: ct,
                aad: aad.as_bytes(),
            },
        )
        .ok()
        .map(Zeroizing::new)
}

fn u64_to_sql(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Invalid(format!("{v} is too large for the store")))
}

fn sql_to_u64(v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("negative value {v}")))
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

impl Store {
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
        if config.kms_uri.is_empty() {
            return Err(StoreError::Invalid("the KMS URI is empty".into()));
        }
        if config.periods.length == 0 {
            return Err(StoreError::Invalid(
                "the key period length must be at least one second".into(),
            ));
        }
        let mut conn = Connection::open(path)?;
        configure(&conn)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let exists: bool = tx
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)?;
        if exists {
            return Err(StoreError::AlreadyExists);
        }
        tx.execute_batch(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
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
                 PRIMARY KEY (uri, period_no));",
        )?;
        // The salt and the nonce are stored in clear: public by design.
        let mut salt = [0u8; 16];
        rng.fill_bytes(&mut salt);
        crate::ct::declassify_in_place(&mut salt);
        let key = derive_key(passphrase, &salt, kdf)?;
        let mut nonce = [0u8; 12];
        rng.fill_bytes(&mut nonce);
        crate::ct::declassify_in_place(&mut nonce);
        let check = seal_with(&key, nonce, "check", CHECK_PLAINTEXT)?;
        let meta: [(&str, Vec<u8>); 10] = [
            ("schema_version", SCHEMA_VERSION.to_string().into_bytes()),
            ("kms_uri", config.kms_uri.clone().into_bytes()),
            ("key_period", config.periods.length.to_string().into_bytes()),
            ("key_offset", config.periods.offset.to_string().into_bytes()),
            (
                "parameter_set",
                config.parameter_set.to_string().into_bytes(),
            ),
            ("kdf_salt", salt.to_vec()),
            ("kdf_m_cost", kdf.m_cost.to_string().into_bytes()),
            ("kdf_t_cost", kdf.t_cost.to_string().into_bytes()),
            ("kdf_p_cost", kdf.p_cost.to_string().into_bytes()),
            ("check", check),
        ];
        for (k, v) in meta {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)",
                params![k, v],
            )?;
        }
        tx.commit()?;
        let mut store = Self {
            conn,
            key,
            config: config.clone(),
        };
        store.add_generation(0, rng)?;
        Ok(store)
    }

    /// Opens an existing store.
    ///
    /// # Errors
    /// [`StoreError::NotAStore`], [`StoreError::WrongPassphrase`], database errors.
    pub fn open(path: &Path, passphrase: &[u8]) -> Result<Self, StoreError> {
        if !path.exists() {
            return Err(StoreError::NotAStore(format!(
                "{} does not exist",
                path.display()
            )));
        }
        let conn = Connection::open(path)?;
        configure(&conn)?;
        let get = |k: &str| -> Result<Vec<u8>, StoreError> {
            conn.query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| {
                r.get::<_, Vec<u8>>(0)
            })
            .optional()
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(..) => StoreError::NotAStore(e.to_string()),
                other => StoreError::Sqlite(other),
            })?
            .ok_or_else(|| StoreError::NotAStore(format!("missing {k}")))
        };
        let text = |k: &str| -> Result<String, StoreError> {
            String::from_utf8(get(k)?).map_err(|_| StoreError::Corrupt(k.to_string()))
        };
        let num = |k: &str| -> Result<u64, StoreError> {
            text(k)?
                .parse()
                .map_err(|_| StoreError::Corrupt(k.to_string()))
        };
        let version = num("schema_version")?;
        if version != 1 {
            return Err(StoreError::NotAStore(format!("schema version {version}")));
        }
        let kdf = KdfParams {
            m_cost: u32::try_from(num("kdf_m_cost")?)
                .map_err(|_| StoreError::Corrupt("kdf_m_cost".into()))?,
            t_cost: u32::try_from(num("kdf_t_cost")?)
                .map_err(|_| StoreError::Corrupt("kdf_t_cost".into()))?,
            p_cost: u32::try_from(num("kdf_p_cost")?)
                .map_err(|_| StoreError::Corrupt("kdf_p_cost".into()))?,
        };
        let salt = get("kdf_salt")?;
        let key = derive_key(passphrase, &salt, kdf)?;
        let check = get("check")?;
        // An authentic check value decrypts to the public constant: public by design.
        let mut check = unseal_with(&key, "check", &check).ok_or(StoreError::WrongPassphrase)?;
        crate::ct::declassify_in_place(check.as_mut_slice());
        if check.as_slice() != CHECK_PLAINTEXT {
            return Err(StoreError::WrongPassphrase);
        }
        let config = KmsConfig {
            kms_uri: text("kms_uri")?,
            periods: KeyPeriods {
                length: num("key_period")?,
                offset: num("key_offset")?,
            },
            parameter_set: u8::try_from(num("parameter_set")?)
                .map_err(|_| StoreError::Corrupt("parameter_set".into()))?,
        };
        Ok(Self { conn, key, config })
    }

    /// The KMS configuration.
    pub fn config(&self) -> &KmsConfig {
        &self.config
    }

    fn seal(&self, aad: &str, plain: &[u8]) -> Result<Vec<u8>, StoreError> {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce)
            .map_err(|e| StoreError::Invalid(format!("OS random number generator: {e}")))?;
        seal_with(&self.key, nonce, aad, plain)
    }

    fn unseal(&self, aad: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        unseal_with(&self.key, aad, sealed).ok_or_else(|| StoreError::Tampered(aad.to_string()))
    }

    /// Adds a master-key generation serving key periods from `first_period` on; the previous
    /// open-ended generation then ends at `first_period - 1`. (RFC 6509 s3.2: master keys
    /// change only at a period boundary.)
    ///
    /// # Errors
    /// [`StoreError::Invalid`] if `first_period` does not lie after the current generation's
    /// start; database errors.
    pub fn add_generation<R: CryptoRng + ?Sized>(
        &mut self,
        first_period: u64,
        rng: &mut R,
    ) -> Result<i64, StoreError> {
        let z = MasterSecret::random(rng);
        let ksak = Ksak::generate(rng).map_err(|_| StoreError::Invalid("RNG failure".into()))?;
        let z_pub = z.public_key().to_bytes();
        let kpak = ksak.kpak().to_bytes();
        let first = u64_to_sql(first_period)?;
        let z_bytes = Zeroizing::new(z.to_bytes());
        let ksak_bytes = ksak.to_bytes();
        let aad_z = format!("master/{first}/z");
        let aad_k = format!("master/{first}/ksak");
        let z_sealed = self.seal(&aad_z, z_bytes.as_slice())?;
        let k_sealed = self.seal(&aad_k, ksak_bytes.as_slice())?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let latest: Option<i64> = tx
            .query_row(
                "SELECT first_period FROM master_keys WHERE last_period IS NULL",
                [],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(start) = latest {
            if start >= first {
                return Err(StoreError::Invalid(format!(
                    "a new generation must start after period {start}"
                )));
            }
            tx.execute(
                "UPDATE master_keys SET last_period = ?1 WHERE last_period IS NULL",
                [first - 1],
            )?;
        }
        tx.execute(
            "INSERT INTO master_keys (first_period, last_period, sakke_z_sealed, eccsi_ksak_sealed,
                 sakke_public, eccsi_kpak, created_at) VALUES (?1, NULL, ?2, ?3, ?4, ?5, ?6)",
            params![
                first,
                z_sealed,
                k_sealed,
                z_pub.to_vec(),
                kpak.to_vec(),
                now_unix()
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(id)
    }

    /// The master keys serving key period `period_no`.
    ///
    /// # Errors
    /// [`StoreError::NoMasterKeyForPeriod`], [`StoreError::Tampered`], database errors.
    pub fn master_keys(&self, period_no: u64) -> Result<MasterKeys, StoreError> {
        let p = u64_to_sql(period_no)?;
        let row = self
            .conn
            .query_row(
                "SELECT generation, first_period, last_period, sakke_z_sealed, eccsi_ksak_sealed, sakke_public, eccsi_kpak
                 FROM master_keys WHERE first_period <= ?1 AND (last_period IS NULL OR last_period >= ?1)",
                [p],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, Option<i64>>(2)?,
                        r.get::<_, Vec<u8>>(3)?,
                        r.get::<_, Vec<u8>>(4)?,
                        r.get::<_, Vec<u8>>(5)?,
                        r.get::<_, Vec<u8>>(6)?,
                    ))
                },
            )
            .optional()?
            .ok_or(StoreError::NoMasterKeyForPeriod(period_no))?;
        let (generation, first, last, z_sealed, k_sealed, z_pub, kpak) = row;
        let z = self.unseal(&format!("master/{first}/z"), &z_sealed)?;
        let k = self.unseal(&format!("master/{first}/ksak"), &k_sealed)?;
        let sakke =
            MasterSecret::from_bytes(&z).map_err(|e| StoreError::Corrupt(format!("z: {e}")))?;
        let ksak = Ksak::from_bytes(&k).map_err(|e| StoreError::Corrupt(format!("KSAK: {e}")))?;
        let sakke_public =
            KmsPublicKey::from_bytes(&z_pub).map_err(|e| StoreError::Corrupt(format!("Z: {e}")))?;
        let kpak =
            Kpak::from_bytes(&kpak).map_err(|e| StoreError::Corrupt(format!("KPAK: {e}")))?;
        // The public keys are stored in clear for the certificate: they must match the secrets.
        if sakke.public_key() != sakke_public || ksak.kpak() != kpak {
            return Err(StoreError::Tampered(format!("master/{first}/public keys")));
        }
        Ok(MasterKeys {
            generation,
            first_period: sql_to_u64(first)?,
            last_period: last.map(sql_to_u64).transpose()?,
            sakke,
            eccsi: KmsKeyPair::from_ksak(ksak),
            sakke_public,
            kpak,
        })
    }

    /// Registers a user or group URI (no effect if it is registered already).
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for an empty URI; database errors.
    pub fn register(&self, uri: &str, kind: PrincipalKind) -> Result<(), StoreError> {
        if uri.is_empty() {
            return Err(StoreError::Invalid("empty URI".into()));
        }
        self.conn.execute(
            "INSERT OR IGNORE INTO principals (uri, kind, created_at) VALUES (?1, ?2, ?3)",
            params![uri, kind.as_str(), now_unix()],
        )?;
        Ok(())
    }

    /// Whether `uri` is registered.
    ///
    /// # Errors
    /// Database errors.
    pub fn is_registered(&self, uri: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM principals WHERE uri = ?1", [uri], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Number of key sets in the issue log.
    ///
    /// # Errors
    /// Database errors.
    pub fn issued_count(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM issued", [], |r| r.get(0))?;
        sql_to_u64(n)
    }

    /// The recorded key set of `uri` for `period_no`, if any.
    ///
    /// # Errors
    /// [`StoreError::Tampered`] / [`StoreError::Corrupt`] for a modified row; database errors.
    pub fn issued(&self, uri: &str, period_no: u64) -> Result<Option<IssuedKeySet>, StoreError> {
        let p = u64_to_sql(period_no)?;
        let row = self
            .conn
            .query_row(
                "SELECT generation, user_id, rsk_sealed, ssk_sealed, pvt, issued_at FROM issued
                 WHERE uri = ?1 AND period_no = ?2",
                params![uri, p],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Vec<u8>>(1)?,
                        r.get::<_, Vec<u8>>(2)?,
                        r.get::<_, Vec<u8>>(3)?,
                        r.get::<_, Vec<u8>>(4)?,
                        r.get::<_, i64>(5)?,
                    ))
                },
            )
            .optional()?;
        let Some((generation, user_id, rsk_sealed, ssk_sealed, pvt, issued_at)) = row else {
            return Ok(None);
        };
        let aad = |what: &str| format!("issued/{uri}/{period_no}/{what}");
        let rsk = self.unseal(&aad("rsk"), &rsk_sealed)?;
        let ssk = self.unseal(&aad("ssk"), &ssk_sealed)?;
        Ok(Some(IssuedKeySet {
            uri: uri.to_string(),
            period_no,
            generation,
            user_id: user_id
                .as_slice()
                .try_into()
                .map_err(|_| StoreError::Corrupt("user_id".into()))?,
            rsk: ReceiverSecretKey::from_bytes(&rsk)
                .map_err(|e| StoreError::Corrupt(format!("RSK: {e}")))?,
            ssk: Ssk::from_bytes(&ssk).map_err(|e| StoreError::Corrupt(format!("SSK: {e}")))?,
            pvt: Pvt::from_bytes(&pvt).map_err(|e| StoreError::Corrupt(format!("PVT: {e}")))?,
            issued_at,
        }))
    }

    /// Records issued key sets in one transaction. Sets whose (URI, period) is already recorded
    /// are left as they are (the first record wins); the result says, per set, whether it was
    /// newly recorded. The URIs must be registered.
    ///
    /// # Errors
    /// [`StoreError::UnknownPrincipal`] for an unregistered URI (nothing is recorded then);
    /// database errors.
    pub fn record(&mut self, sets: &[IssuedKeySet]) -> Result<Vec<bool>, StoreError> {
        // Seal before taking the write lock.
        let mut sealed = Vec::with_capacity(sets.len());
        for s in sets {
            let aad = |what: &str| format!("issued/{}/{}/{what}", s.uri, s.period_no);
            let rsk = Zeroizing::new(s.rsk.to_bytes());
            let ssk = s.ssk.to_bytes();
            sealed.push((
                self.seal(&aad("rsk"), rsk.as_slice())?,
                self.seal(&aad("ssk"), ssk.as_slice())?,
            ));
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut out = Vec::with_capacity(sets.len());
        for (s, (rsk_sealed, ssk_sealed)) in sets.iter().zip(sealed) {
            let known = tx
                .query_row("SELECT 1 FROM principals WHERE uri = ?1", [&s.uri], |_| {
                    Ok(())
                })
                .optional()?;
            if known.is_none() {
                return Err(StoreError::UnknownPrincipal(s.uri.clone()));
            }
            let n = tx.execute(
                "INSERT OR IGNORE INTO issued (uri, period_no, generation, user_id, rsk_sealed, ssk_sealed, pvt, issued_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    s.uri,
                    u64_to_sql(s.period_no)?,
                    s.generation,
                    s.user_id.to_vec(),
                    rsk_sealed,
                    ssk_sealed,
                    s.pvt.to_bytes().to_vec(),
                    s.issued_at
                ],
            )?;
            out.push(n == 1);
        }
        tx.commit()?;
        Ok(out)
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

/// The store key is wiped by `Drop` (and held in a `Zeroizing` buffer).
impl zeroize::ZeroizeOnDrop for Store {}

/// `sakke` (a [`MasterSecret`]) and `eccsi` (a [`KmsKeyPair`]) wipe themselves on drop; the
/// other fields are public.
impl zeroize::ZeroizeOnDrop for MasterKeys {}

/// `rsk` and `ssk` wipe themselves on drop; the other fields are public.
impl zeroize::ZeroizeOnDrop for IssuedKeySet {}
