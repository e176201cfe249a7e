//! The Annex D documents a KMS serves, built from the store's values: the KMS certificate
//! (KmsInit), key sets (KmsKeyProv), the certificate cache (KmsCertCache), and the import of
//! another KMS's certificate into the cache. The service, the CLI and the examples all build
//! their documents here.

use super::store::{IssuedKeySet, KmsConfig, KmsStore, MasterKeys, StoreError};
use crate::annex_d::{
    AnnexDError, KmsCertCache, KmsCertificate, KmsKeyProv, KmsKeySet, KmsMessage, KmsResponse, Role,
};

/// The resource root of the KMS interface for a domain (TS 33.180 D.2.1).
pub const BASE_PATH: &str = "/keymanagement/identity/v1";
/// The KMS Initialize resource.
pub const INIT_PATH: &str = "/keymanagement/identity/v1/init";
/// The KMS KeyProvision resource.
pub const KEYPROV_PATH: &str = "/keymanagement/identity/v1/keyprov";
/// The KMS CertCache resource.
pub const CERTCACHE_PATH: &str = "/keymanagement/identity/v1/certcache";

/// The `ClientReqUrl` of a response to a request for `path` at the KMS `kms_uri`:
/// `https://{kms_uri}{path}`.
pub fn client_req_url(kms_uri: &str, path: &str) -> String {
    format!("https://{kms_uri}{path}")
}

/// The root KMS certificate of the master-key generation `keys` under `config`. `ValidFrom`
/// is the start of the generation's first key period (not before 1970), `ValidTo` the last
/// second of its last key period; an open-ended generation (the newest) has no `ValidTo`.
pub fn certificate(config: &KmsConfig, keys: &MasterKeys) -> KmsCertificate {
    let mut cert = KmsCertificate::new(
        config.kms_uri.clone(),
        &keys.sakke_public,
        &keys.kpak,
        config.periods,
    );
    cert.valid_from = config
        .periods
        .period_start(keys.first_period)
        .map(crate::input::rfc3339);
    cert.valid_to = keys
        .last_period
        .and_then(|l| l.checked_add(1))
        .and_then(|n| config.periods.period_start(n))
        .map(|t| crate::input::rfc3339(t.saturating_sub(1)));
    cert
}

/// The answer to KMS Initialize: a `KmsResponse` for `user_uri` at `time` (an `xs:dateTime`)
/// carrying `cert`, with the `ClientReqUrl` of [`INIT_PATH`].
pub fn init_response(
    config: &KmsConfig,
    user_uri: &str,
    time: &str,
    cert: KmsCertificate,
) -> KmsResponse {
    KmsResponse::new(
        user_uri,
        config.kms_uri.clone(),
        time,
        client_req_url(&config.kms_uri, INIT_PATH),
        Some(KmsMessage::Init(Box::new(cert))),
    )
}

/// The `KmsKeySet` of a recorded key set.
pub fn key_set(config: &KmsConfig, set: &IssuedKeySet) -> KmsKeySet {
    KmsKeySet::new(
        config.kms_uri.clone(),
        set.uri.clone(),
        set.user_id,
        set.period_no,
        &set.rsk,
        &set.ssk,
        &set.pvt,
    )
}

/// The answer to KMS KeyProvision: a `KmsResponse` for `user_uri` at `time` carrying `sets`,
/// with the `ClientReqUrl` of [`KEYPROV_PATH`].
///
/// # Security
/// The document holds the RSKs and SSKs (in zeroizing buffers); its XML text too: wipe it
/// after use.
pub fn key_prov_response<'a>(
    config: &KmsConfig,
    user_uri: &str,
    time: &str,
    sets: impl IntoIterator<Item = &'a IssuedKeySet>,
) -> KmsResponse {
    KmsResponse::new(
        user_uri,
        config.kms_uri.clone(),
        time,
        client_req_url(&config.kms_uri, KEYPROV_PATH),
        Some(KmsMessage::KeyProv(KmsKeyProv {
            key_sets: sets.into_iter().map(|s| key_set(config, s)).collect(),
        })),
    )
}

/// The certificate cache of `store`: the external certificates and the cache number, or an
/// empty cache (with the current number) when `client_cache_num` is the current number.
///
/// # Errors
/// [`CertCacheError::Store`] if the store fails; [`CertCacheError::Document`] if a stored
/// certificate no longer reads (it was validated when it was added).
pub fn cert_cache(
    store: &dyn KmsStore,
    client_cache_num: Option<u64>,
) -> Result<KmsCertCache, CertCacheError> {
    let current = store.cache_num()?;
    if client_cache_num == Some(current) {
        return Ok(KmsCertCache {
            cache_num: Some(current),
            certificates: Vec::new(),
        });
    }
    let certificates = store
        .external_certificates()?
        .iter()
        .map(|c| KmsCertificate::from_xml(&c.xml))
        .collect::<Result<_, _>>()?;
    Ok(KmsCertCache {
        cache_num: Some(current),
        certificates,
    })
}

/// Why a certificate could not be imported or the cache built.
#[derive(Debug)]
#[non_exhaustive]
pub enum CertCacheError {
    /// The store failed.
    Store(StoreError),
    /// The text is no certificate document.
    Document(AnnexDError),
    /// The document holds no certificate (a `KmsResponse` without `KmsInit` or with an empty
    /// `KmsCertCache`).
    NoCertificate,
    /// A public key of the certificate does not decode (named).
    BadKey(&'static str),
    /// The certificate is this KMS's own.
    OwnCertificate,
}

impl core::fmt::Display for CertCacheError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Store(e) => write!(f, "{e}"),
            Self::Document(e) => write!(f, "not a KMS certificate document: {e}"),
            Self::NoCertificate => f.write_str("the document holds no KMS certificate"),
            Self::BadKey(which) => write!(f, "the certificate's {which} does not decode"),
            Self::OwnCertificate => {
                f.write_str("the certificate is this KMS's own, not another KMS's")
            }
        }
    }
}

impl std::error::Error for CertCacheError {}

impl From<StoreError> for CertCacheError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<AnnexDError> for CertCacheError {
    fn from(e: AnnexDError) -> Self {
        Self::Document(e)
    }
}

/// Imports the certificate(s) of other KMSs from `xml` into the certificate cache: a bare
/// `KmsCertificate` document, or a `KmsResponse` carrying a `KmsInit` or a `KmsCertCache`.
/// Each certificate is checked (its `PubEncKey` and `PubAuthKey` decode to points of their
/// groups, its `KmsUri` is not this KMS's), marked `Role="External"` and stored in canonical
/// form. Returns the cache number after the import.
///
/// # Errors
/// A [`CertCacheError`] naming the first problem; nothing is stored then.
pub fn import_external_certificate(store: &dyn KmsStore, xml: &str) -> Result<u64, CertCacheError> {
    let certs = match KmsCertificate::from_xml(xml) {
        Ok(cert) => vec![cert],
        Err(AnnexDError::WrongRoot { .. }) => {
            let resp = KmsResponse::from_xml(xml)?;
            match resp.message {
                Some(KmsMessage::Init(cert)) => vec![*cert],
                Some(KmsMessage::CertCache(cache)) => cache.certificates,
                _ => Vec::new(),
            }
        }
        Err(e) => return Err(e.into()),
    };
    if certs.is_empty() {
        return Err(CertCacheError::NoCertificate);
    }
    let mut canonical = Vec::with_capacity(certs.len());
    for mut cert in certs {
        cert.kms_public_key()
            .map_err(|_| CertCacheError::BadKey("PubEncKey"))?;
        cert.kpak()
            .map_err(|_| CertCacheError::BadKey("PubAuthKey"))?;
        if cert.kms_uri == store.config().kms_uri {
            return Err(CertCacheError::OwnCertificate);
        }
        cert.role = Some(Role::External);
        canonical.push(cert.to_xml());
    }
    let mut num = store.cache_num()?;
    for c in canonical {
        num = store.add_external_certificate(&c)?;
    }
    Ok(num)
}
