//! The server's TLS configuration: rustls with the *ring* provider, TLS 1.3 and TLS 1.2 only.
//!
//! The cipher suites are rustls's: TLS 1.3 AES-256-GCM, AES-128-GCM, ChaCha20-Poly1305, and for
//! TLS 1.2 only ECDHE key exchange with the same AEADs (no CBC, no RSA key transport, no SHA-1
//! MACs, no renegotiation). ALPN offers `h2` and then `http/1.1`; session tickets are on.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Why a TLS configuration could not be built.
#[derive(Debug)]
#[non_exhaustive]
pub enum TlsError {
    /// The certificate chain file could not be read or holds no certificate.
    Certificate(String),
    /// The private key file could not be read or holds no key.
    Key(String),
    /// rustls refused the configuration (e.g. the key does not match the certificate).
    Config(String),
}

impl core::fmt::Display for TlsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Certificate(e) => write!(f, "TLS certificate: {e}"),
            Self::Key(e) => write!(f, "TLS private key: {e}"),
            Self::Config(e) => write!(f, "TLS configuration: {e}"),
        }
    }
}

impl std::error::Error for TlsError {}

/// The process's rustls provider (*ring*).
///
/// rustls marks *ring*'s provider deprecated because it has no post-quantum key exchange
/// (X25519MLKEM768 needs the aws-lc-rs provider, a large C build); *ring* is kept for now, with
/// X25519, P-256 and P-384 ECDHE.
#[allow(deprecated)]
pub(crate) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads a PEM certificate chain (leaf first), of at most [`crate::input::caps::PEM`] octets.
///
/// # Errors
/// [`TlsError::Certificate`] naming the file.
pub fn load_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = crate::input::read_bounded(path, crate::input::caps::PEM)
        .map_err(|e| TlsError::Certificate(e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Certificate(format!("{}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(TlsError::Certificate(format!(
            "{}: no CERTIFICATE in the file",
            path.display()
        )));
    }
    Ok(certs)
}

/// Builds the server configuration from a PEM certificate chain and a PEM private key (PKCS#8,
/// SEC1 or PKCS#1).
///
/// # Errors
/// [`TlsError`] for unreadable files or a key that does not fit the certificate.
pub fn server_config(cert_chain: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let certs = load_certificates(cert_chain)?;
    let pem = zeroize::Zeroizing::new(
        crate::input::read_bounded(key, crate::input::caps::PEM)
            .map_err(|e| TlsError::Key(e.to_string()))?,
    );
    let key = PrivateKeyDer::from_pem_slice(&pem)
        .map_err(|e| TlsError::Key(format!("{}: {e}", key.display())))?;
    server_config_from(certs, key)
}

/// Builds the server configuration from a certificate chain and its key in DER.
///
/// # Errors
/// [`TlsError::Config`] when rustls refuses them.
pub fn server_config_from(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config.ticketer =
        rustls::crypto::ring::Ticketer::new().map_err(|e| TlsError::Config(e.to_string()))?;
    Ok(Arc::new(config))
}
