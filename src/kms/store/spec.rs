//! Opening a store from a specification string, as given to `--store`: a `postgres://` or
//! `postgresql://` URL opens a [`super::PgStore`] (feature `postgres`), anything else is the
//! path of a SQLite file ([`super::SqliteStore`]).
//!
//! A URL may carry a password (`postgres://kms:PASSWORD@db.example.org/kms`); it is never
//! shown: [`StoreSpec`]'s `Display` and `Debug` print `***` in its place. A password in a
//! command line is visible in the process table: leave it out of the URL and set
//! `PGPASSWORD`, or give the whole URL in `MIKEY_SAKKE_STORE` ([`STORE_ENV`]).

use std::path::{Path, PathBuf};

use rand_core::CryptoRng;

use super::jobs::JobStore;
use super::lifecycle::LifecycleStore;
use super::{KdfParams, KmsConfig, KmsStore, SqliteStore, StoreError};

/// The environment variable giving the store when `--store` is absent.
pub const STORE_ENV: &str = "MIKEY_SAKKE_STORE";

/// A store as named on the command line.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreSpec {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL (`postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?...]`).
    Postgres(String),
}

/// A store backend with its job queue and lifecycle operations: what [`open_store`] returns.
pub trait AnyStore: KmsStore + JobStore + LifecycleStore {}

impl<T: KmsStore + JobStore + LifecycleStore> AnyStore for T {}

impl StoreSpec {
    /// Reads a specification: `postgres://...` / `postgresql://...` is PostgreSQL, anything
    /// else a file path.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for an empty string.
    pub fn parse(spec: &str) -> Result<Self, StoreError> {
        if spec.trim().is_empty() {
            return Err(StoreError::Invalid("empty store name".into()));
        }
        let lower = spec.get(..13).unwrap_or(spec).to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            Ok(Self::Postgres(spec.to_string()))
        } else {
            Ok(Self::Sqlite(PathBuf::from(spec)))
        }
    }

    /// The file of a SQLite store.
    pub fn sqlite(path: &Path) -> Self {
        Self::Sqlite(path.to_path_buf())
    }

    /// Whether this is a PostgreSQL store.
    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }
}

impl core::fmt::Display for StoreSpec {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Sqlite(p) => write!(f, "{}", p.display()),
            Self::Postgres(url) => f.write_str(&redact_url(url)),
        }
    }
}

impl core::fmt::Debug for StoreSpec {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Sqlite(p) => f.debug_tuple("Sqlite").field(p).finish(),
            Self::Postgres(url) => f.debug_tuple("Postgres").field(&redact_url(url)).finish(),
        }
    }
}

/// `url` with the password of its user part and any `password=` parameter replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[start..];
    let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (auth, tail) = rest.split_at(auth_end);
    let auth = match auth.rfind('@') {
        Some(at) => {
            let (user, host) = auth.split_at(at);
            match user.find(':') {
                Some(c) => format!("{}:***{host}", &user[..c]),
                None => auth.to_string(),
            }
        }
        None => auth.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_string(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{}{auth}{tail}", &url[..start])
}

#[cfg(not(feature = "postgres"))]
fn no_postgres() -> StoreError {
    StoreError::Invalid(
        "this build has no PostgreSQL support (build with the cargo feature `postgres`)".into(),
    )
}

/// Opens the store `spec` with `passphrase`, migrating an older schema in place.
///
/// # Errors
/// As [`SqliteStore::open`] / [`super::PgStore::open`].
pub fn open_store(spec: &StoreSpec, passphrase: &[u8]) -> Result<Box<dyn AnyStore>, StoreError> {
    match spec {
        StoreSpec::Sqlite(p) => Ok(Box::new(SqliteStore::open(p, passphrase)?)),
        #[cfg(feature = "postgres")]
        StoreSpec::Postgres(url) => Ok(Box::new(super::PgStore::open(url, passphrase)?)),
        #[cfg(not(feature = "postgres"))]
        StoreSpec::Postgres(_) => Err(no_postgres()),
    }
}

/// Creates the store `spec` (every schema migration in turn, then fresh master secrets sealed
/// under `passphrase`).
///
/// # Errors
/// As [`SqliteStore::create`] / [`super::PgStore::create`].
pub fn create_store<R: CryptoRng + ?Sized>(
    spec: &StoreSpec,
    passphrase: &[u8],
    config: &KmsConfig,
    kdf: KdfParams,
    rng: &mut R,
) -> Result<Box<dyn AnyStore>, StoreError> {
    match spec {
        StoreSpec::Sqlite(p) => Ok(Box::new(SqliteStore::create(
            p, passphrase, config, kdf, rng,
        )?)),
        #[cfg(feature = "postgres")]
        StoreSpec::Postgres(url) => Ok(Box::new(super::PgStore::create(
            url, passphrase, config, kdf, rng,
        )?)),
        #[cfg(not(feature = "postgres"))]
        StoreSpec::Postgres(_) => Err(no_postgres()),
    }
}

/// Migrates the store `spec` to the schema of this program without opening its secrets.
/// Returns the schema versions before and after.
///
/// # Errors
/// [`StoreError::NotAStore`], [`StoreError::NewerSchema`], backend errors.
pub fn migrate_store(spec: &StoreSpec) -> Result<(u64, u64), StoreError> {
    match spec {
        StoreSpec::Sqlite(p) => SqliteStore::migrate(p),
        #[cfg(feature = "postgres")]
        StoreSpec::Postgres(url) => super::PgStore::migrate(url),
        #[cfg(not(feature = "postgres"))]
        StoreSpec::Postgres(_) => Err(no_postgres()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_and_redaction() {
        assert!(matches!(
            StoreSpec::parse("kms.db").unwrap(),
            StoreSpec::Sqlite(_)
        ));
        assert!(
            StoreSpec::parse("postgres://kms@db/kms")
                .unwrap()
                .is_postgres()
        );
        assert!(
            StoreSpec::parse("PostgreSQL://kms@db/kms")
                .unwrap()
                .is_postgres()
        );
        assert!(StoreSpec::parse(" ").is_err());
        let s = StoreSpec::parse("postgres://kms:s3cret@db:5432/kms?password=x2&sslmode=disable")
            .unwrap();
        let shown = format!("{s} {s:?}");
        assert!(
            !shown.contains("s3cret") && !shown.contains("x2"),
            "{shown}"
        );
        assert!(shown.contains("postgres://kms:***@db:5432/kms?password=***&sslmode=disable"));
        assert_eq!(redact_url("postgres://db/kms"), "postgres://db/kms");
        assert_eq!(redact_url("postgres://u@db/kms"), "postgres://u@db/kms");
    }
}
