//! The store's settings, authenticated under the passphrase-derived key.
//!
//! The settings (KMS URI, key period length and offset, parameter set, the key-derivation
//! parameters and salt, the schema version) are kept in clear, because the KDF parameters are
//! needed before any key exists. After the key is derived (from parameters bounded first, see
//! [`super::seal`]) and the passphrase check opens, the `settings_tag` row (an AES-256-GCM
//! sealing of a canonical encoding of every setting, bound to `settings`) is opened and compared
//! with the rows: a row changed in the database is [`StoreError::Tampered`] naming it, never a
//! silent change. A changed KDF parameter or salt derives another key, so the check fails and the
//! error says the passphrase is wrong or the key-derivation settings were modified.
//!
//! The schema version in the tag is the one it was written at: a store migrated since (by
//! `migrate` without a passphrase) has a higher one, and the tag is written again at the next
//! open; a lower one than tagged is refused.
//!
//! A store written before settings were authenticated has a check value bound to `check` and no
//! tag; the first open with the passphrase adds the tag and seals the check value again bound to
//! `check/settings`, in one transaction. From then on the tag is required: deleting it is
//! tampering, and a legacy check value cannot be forged without the key.

use rand_core::CryptoRng;

use super::seal::Sealer;
use super::{KdfParams, KmsConfig, StoreError};

/// The additional data of the settings tag.
const SETTINGS_AAD: &str = "settings";

/// The store's settings as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Settings {
    pub config: KmsConfig,
    pub kdf: KdfParams,
    pub salt: Vec<u8>,
    pub schema_version: u64,
}

impl Settings {
    /// The canonical encoding: one `name=value` line per setting, in a fixed order.
    fn encode(&self) -> Vec<u8> {
        self.fields()
            .iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect::<String>()
            .into_bytes()
    }

    fn fields(&self) -> [(&'static str, String); 9] {
        [
            ("kms_uri", hex::encode(self.config.kms_uri.as_bytes())),
            ("key_period", self.config.periods.length.to_string()),
            ("key_offset", self.config.periods.offset.to_string()),
            ("parameter_set", self.config.parameter_set.to_string()),
            ("kdf_m_cost", self.kdf.m_cost.to_string()),
            ("kdf_t_cost", self.kdf.t_cost.to_string()),
            ("kdf_p_cost", self.kdf.p_cost.to_string()),
            ("kdf_salt", hex::encode(&self.salt)),
            ("schema_version", self.schema_version.to_string()),
        ]
    }

    /// The tag of these settings under `sealer` (its nonce from the OS generator).
    pub(crate) fn tag(&self, sealer: &Sealer) -> Result<Vec<u8>, StoreError> {
        sealer.seal(SETTINGS_AAD, &self.encode())
    }

    /// Checks `tag` against these settings. Returns `true` if the tag must be written again
    /// (the schema version was raised by a migration since it was written).
    ///
    /// # Errors
    /// [`StoreError::Tampered`] naming the first setting that differs (or the tag itself).
    pub(crate) fn verify(&self, sealer: &Sealer, tag: &[u8]) -> Result<bool, StoreError> {
        let mut plain = sealer
            .try_unseal(SETTINGS_AAD, tag)
            .ok_or_else(|| StoreError::Tampered("settings_tag".into()))?;
        // The tagged text is the encoding of settings kept in clear in the store (URI, key
        // periods, KDF parameters, salt, schema version): public, although it was decrypted
        // under the secret store key.
        crate::ct::declassify_in_place(plain.as_mut_slice());
        let text =
            std::str::from_utf8(&plain).map_err(|_| StoreError::Tampered("settings_tag".into()))?;
        let tagged: Vec<(&str, &str)> = text.lines().filter_map(|l| l.split_once('=')).collect();
        let mut retag = false;
        for (name, value) in self.fields() {
            let t = tagged
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| *v)
                .ok_or_else(|| StoreError::Tampered(format!("setting {name}")))?;
            if t == value {
                continue;
            }
            let raised = name == "schema_version"
                && t.parse::<u64>().is_ok_and(|old| old < self.schema_version);
            if !raised {
                return Err(StoreError::Tampered(format!("setting {name}")));
            }
            retag = true;
        }
        Ok(retag)
    }
}

/// What the check value of an opened store says about its settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CheckKind {
    /// Written before settings were authenticated: no tag yet.
    Legacy,
    /// The settings tag is required.
    Authenticated,
}

/// What an open writes back: the settings tag (at the current schema version) and, for a
/// store written before settings were authenticated, a check value bound to `check/settings`.
pub(crate) struct Rewrite {
    pub rows: Vec<(&'static str, Vec<u8>)>,
}

/// The settings check of an open, after the check value opened as `kind`: verifies `tag`
/// against `stored` (the rows as read, at their schema version) before anything is migrated,
/// and says what to write once the store is at `current_version`.
///
/// # Errors
/// [`StoreError::Tampered`] for a modified setting, a modified tag, or a missing tag where one
/// is required.
pub(crate) fn on_open(
    sealer: &Sealer,
    kind: CheckKind,
    stored: &Settings,
    tag: Option<&[u8]>,
    current_version: u64,
) -> Result<Option<Rewrite>, StoreError> {
    let retag = match (kind, tag) {
        (CheckKind::Authenticated, None) => {
            return Err(StoreError::Tampered("settings_tag (missing)".into()));
        }
        (_, Some(t)) => stored.verify(sealer, t)?,
        (CheckKind::Legacy, None) => true,
    };
    if !retag && kind == CheckKind::Authenticated && stored.schema_version == current_version {
        return Ok(None);
    }
    let now = Settings {
        schema_version: current_version,
        ..stored.clone()
    };
    let mut rows = vec![("settings_tag", now.tag(sealer)?)];
    if kind == CheckKind::Legacy {
        let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
        rows.push(("check", sealer.check_value(&mut rng)?));
    }
    Ok(Some(Rewrite { rows }))
}

/// A store being opened, its settings read and checked by [`open_stored`].
pub(crate) struct Opened {
    /// The sealing key derived from the passphrase.
    pub sealer: Sealer,
    /// The configuration.
    pub config: KmsConfig,
    /// The schema version as stored (the store still needs migrating if it is older).
    pub version: u64,
    /// What to write (with [`UPSERT_META`]) once the store is migrated.
    pub rewrite: Option<Rewrite>,
}

/// A meta row that must be there.
fn required(
    get: &mut impl FnMut(&str) -> Result<Option<Vec<u8>>, StoreError>,
    key: &str,
) -> Result<Vec<u8>, StoreError> {
    get(key)?.ok_or_else(|| StoreError::NotAStore(format!("missing {key}")))
}

/// A meta row holding UTF-8 text.
fn text(
    get: &mut impl FnMut(&str) -> Result<Option<Vec<u8>>, StoreError>,
    key: &str,
) -> Result<String, StoreError> {
    String::from_utf8(required(get, key)?).map_err(|_| StoreError::Corrupt(key.to_string()))
}

/// A meta row holding a decimal number that fits `T`.
fn num<T: TryFrom<u64>>(
    get: &mut impl FnMut(&str) -> Result<Option<Vec<u8>>, StoreError>,
    key: &str,
) -> Result<T, StoreError> {
    text(get, key)?
        .parse::<u64>()
        .ok()
        .and_then(|v| T::try_from(v).ok())
        .ok_or_else(|| StoreError::Corrupt(key.to_string()))
}

/// Reads and checks the settings of a store being opened with `passphrase`, the same way for
/// every backend; `get` reads one meta row (`None` if there is none).
///
/// Every setting is read first (the schema version first: a newer one than
/// `current_version` is [`StoreError::NewerSchema`], 0 is [`StoreError::NotAStore`]), then
/// the key is derived, the passphrase check opened and the settings tag verified
/// ([`on_open`]), all before anything is migrated or written.
///
/// # Errors
/// [`StoreError::NotAStore`] for a missing row, [`StoreError::Corrupt`] for a row that does
/// not decode, [`StoreError::NewerSchema`], [`StoreError::WrongPassphrase`],
/// [`StoreError::Tampered`]; the errors of `get`.
pub(crate) fn open_stored(
    passphrase: &[u8],
    current_version: u64,
    mut get: impl FnMut(&str) -> Result<Option<Vec<u8>>, StoreError>,
) -> Result<Opened, StoreError> {
    let get = &mut get;
    let version: u64 = num(get, "schema_version")?;
    super::check_version(version, current_version)?;
    let kdf = KdfParams {
        m_cost: num(get, "kdf_m_cost")?,
        t_cost: num(get, "kdf_t_cost")?,
        p_cost: num(get, "kdf_p_cost")?,
    };
    let config = KmsConfig {
        kms_uri: text(get, "kms_uri")?,
        periods: crate::mcx::uid::KeyPeriods {
            length: num(get, "key_period")?,
            offset: num(get, "key_offset")?,
        },
        parameter_set: num(get, "parameter_set")?,
    };
    let salt = required(get, "kdf_salt")?;
    let check = required(get, "check")?;
    let tag = get("settings_tag")?;
    let sealer = Sealer::derive(passphrase, &salt, kdf)?;
    let kind = sealer.verify_check_kind(&check)?;
    let stored = Settings {
        config,
        kdf,
        salt,
        schema_version: version,
    };
    let rewrite = on_open(&sealer, kind, &stored, tag.as_deref(), current_version)?;
    Ok(Opened {
        sealer,
        config: stored.config,
        version,
        rewrite,
    })
}

/// The statement writing one meta row (insert or replace), for both backends (`$1` is the key,
/// `$2` the value).
pub(crate) const UPSERT_META: &str = "INSERT INTO meta (key, value) VALUES ($1, $2) \
     ON CONFLICT (key) DO UPDATE SET value = excluded.value";

/// The settings rows of a new store, in the order written.
pub(crate) type NewStoreRows = [(&'static str, Vec<u8>); 11];

/// A new store's sealing key (from `passphrase` and a fresh salt from `rng`) and its settings
/// rows: the configuration, the KDF parameters and salt, the passphrase check value and the
/// settings tag, at `schema_version`. The same for every backend.
///
/// # Errors
/// [`StoreError::Invalid`] for KDF parameters outside the bounds.
pub(crate) fn new_store<R: CryptoRng + ?Sized>(
    passphrase: &[u8],
    config: &KmsConfig,
    kdf: KdfParams,
    schema_version: u64,
    rng: &mut R,
) -> Result<(Sealer, NewStoreRows), StoreError> {
    // The salt is stored in clear: public by design.
    let mut salt = [0u8; 16];
    rng.fill_bytes(&mut salt);
    crate::ct::declassify_in_place(&mut salt);
    let sealer = Sealer::derive(passphrase, &salt, kdf)?;
    let check = sealer.check_value(rng)?;
    let tag = Settings {
        config: config.clone(),
        kdf,
        salt: salt.to_vec(),
        schema_version,
    }
    .tag(&sealer)?;
    let rows = [
        ("schema_version", schema_version.to_string().into_bytes()),
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
        ("settings_tag", tag),
    ];
    Ok((sealer, rows))
}
