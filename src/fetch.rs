//! The client side of TS 33.180 Annex D over HTTPS (feature `fetch`): a UE (or a group manager)
//! provisions itself from its KMS.
//!
//! [`fetch`] opens one TLS connection (TLS 1.3 or 1.2, HTTP/1.1 keep-alive), presents the access
//! token (`Authorization: Bearer`, RFC 6750) and POSTs, with an empty body as deployed clients
//! do:
//! 1. `/keymanagement/identity/v1/init`: the KMS certificate;
//! 2. `/keymanagement/identity/v1/keyprov/<escaped URI>` (or `.../<NTP time>` for a given time):
//!    the key set of the current key period;
//! 3. `/keymanagement/identity/v1/keyprov/<escaped URI>/<start of the next period>`: the next
//!    period's key set.
//!
//! Every key set is validated against the certificate with [`Client::load`] (RSK: RFC 6508
//! s6.1.2; SSK/PVT: RFC 6507 s5.1.2; UserID = the UID of the URI) before anything is returned,
//! so [`write_files`] only ever writes keys that work. [`fetch_blocking`] is the same for callers
//! without an async runtime.
//!
//! # Master-key rotation
//! Each master-key generation has its own certificate, whose `ValidFrom`/`ValidTo` bound the key
//! periods it serves. When a period fetched lies outside the validity of the certificate from
//! `/init` (a `--time` in an older generation, or the next period after a scheduled rotation),
//! the certificate of that period is asked for with `/init/<NTP start of the period, 16 hex
//! digits>` (this KMS's extension, see `docs/kms-interface.md`; a KMS that never rotated is
//! only ever sent the plain Annex D requests, and a 404 to it falls back to `/init`'s
//! certificate). The current period's certificate is
//! [`Fetched::certificate`] (`cert.xml`), any other in [`Fetched::period_certificates`]
//! (`cert-<period>.xml`), and each key set is validated against its own.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::{Request, StatusCode, Uri, header};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use zeroize::Zeroizing;

pub use crate::annex_d::escape_segment;
use crate::annex_d::{KmsCertificate, KmsKeyProv, KmsMessage, KmsResponse};
use crate::ue::{Client, ClientError};

/// The root of the Annex D resources (TS 33.180 D.2.1).
const BASE_PATH: &str = "/keymanagement/identity/v1";

/// Seconds between the NTP epoch (1900) and the Unix epoch (1970).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// The largest response body accepted.
const MAX_RESPONSE: usize = 1024 * 1024;

/// What to fetch and how.
#[derive(Clone)]
pub struct FetchRequest {
    /// The KMS: `https://HOST[:PORT][/PREFIX]`.
    pub kms: String,
    /// The user (or group) URI whose key sets to fetch.
    pub user: String,
    /// The access token (without `Bearer `).
    pub token: Zeroizing<String>,
    /// Trust anchors (PEM certificates) instead of the system's.
    pub ca_pem: Option<Vec<u8>>,
    /// The time whose key period is "current" (`None`: the KMS's clock decides).
    pub time: Option<SystemTime>,
    /// Allow an `http://` KMS URL (no TLS: tests and labs only).
    pub insecure_http: bool,
    /// Timeout of the connection and of each request.
    pub timeout: Duration,
}

impl core::fmt::Debug for FetchRequest {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FetchRequest")
            .field("kms", &self.kms)
            .field("user", &self.user)
            .field("time", &self.time)
            .field("insecure_http", &self.insecure_http)
            .finish_non_exhaustive()
    }
}

impl FetchRequest {
    /// A request with the system's trust anchors, the KMS's clock and a 30 s timeout.
    pub fn new(kms: impl Into<String>, user: impl Into<String>, token: Zeroizing<String>) -> Self {
        Self {
            kms: kms.into(),
            user: user.into(),
            token,
            ca_pem: None,
            time: None,
            insecure_http: false,
            timeout: Duration::from_secs(30),
        }
    }
}

/// Validated documents from the KMS.
#[derive(Debug)]
pub struct Fetched {
    /// The KmsResponse with the KMS certificate (KmsInit) of the current key period's
    /// master-key generation, as XML.
    pub certificate_xml: String,
    /// The parsed certificate response.
    pub certificate: KmsResponse,
    /// One KmsResponse (KmsKeyProv) per key period, current first, each holding that period's
    /// key set only.
    pub key_sets: Vec<(u64, KmsResponse)>,
    /// The KmsResponse (KmsInit) of each key period in `key_sets` whose master-key generation
    /// is not `certificate`'s (after a rotation), by key period; empty without a rotation.
    pub period_certificates: Vec<(u64, KmsResponse)>,
}

/// Why a fetch failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum FetchError {
    /// The `--kms` URL is not `https://HOST[:PORT][/PREFIX]`.
    BadUrl(String),
    /// An `http://` URL without [`FetchRequest::insecure_http`].
    InsecureHttp,
    /// No trust anchors (a bad `--ca` file, or none in the system).
    TrustAnchors(String),
    /// The TCP connection failed.
    Connect(String),
    /// The TLS handshake failed (certificate not trusted, wrong name, no common version...).
    Tls(String),
    /// The connection failed during a request, or a request timed out.
    Transport(String),
    /// 401: the token was refused.
    Unauthorized(String),
    /// 403: not allowed to fetch this URI (or no KMS scope in the token).
    Forbidden(String),
    /// 404: the URI is not registered at the KMS.
    NotFound(String),
    /// Another non-200 status.
    Status {
        /// The HTTP status.
        status: u16,
        /// The KmsError message, if any.
        message: String,
    },
    /// A response that is not the expected Annex D document.
    Malformed(String),
    /// A key set or the certificate does not validate.
    Invalid(ClientError),
    /// A `--time` the 64-bit NTP format cannot carry (before 1970 or after 2036).
    BadTime(String),
    /// Writing the files failed.
    Write(String),
}

impl core::fmt::Display for FetchError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::BadUrl(e) => write!(f, "KMS URL: {e}"),
            Self::InsecureHttp => f.write_str(
                "KMS URL: http:// sends the token and the keys in clear; use https:// (or --insecure-http for a lab)",
            ),
            Self::TrustAnchors(e) => write!(f, "trust anchors: {e}"),
            Self::Connect(e) => write!(f, "cannot connect to the KMS: {e}"),
            Self::Tls(e) => write!(f, "TLS handshake with the KMS failed: {e}"),
            Self::Transport(e) => write!(f, "KMS connection: {e}"),
            Self::Unauthorized(m) => write!(f, "401 Unauthorized: the KMS refused the access token ({m})"),
            Self::Forbidden(m) => write!(f, "403 Forbidden: not allowed to fetch these key sets ({m})"),
            Self::NotFound(m) => write!(f, "404 Not Found: the URI is not registered at the KMS ({m})"),
            Self::Status { status, message } => write!(f, "KMS answered {status}: {message}"),
            Self::Malformed(e) => write!(f, "malformed KMS response: {e}"),
            Self::Invalid(e) => write!(f, "KMS response does not validate: {e}"),
            Self::BadTime(e) => write!(f, "time: {e}"),
            Self::Write(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for FetchError {}

/// A `--kms` URL, split.
struct Target {
    tls: bool,
    host: String,
    port: u16,
    prefix: String,
}

fn parse_target(kms: &str, insecure_http: bool) -> Result<Target, FetchError> {
    let uri: Uri = kms
        .trim()
        .parse()
        .map_err(|e| FetchError::BadUrl(format!("{kms}: {e}")))?;
    let tls = match uri.scheme_str() {
        Some("https") => true,
        Some("http") if insecure_http => false,
        Some("http") => return Err(FetchError::InsecureHttp),
        _ => {
            return Err(FetchError::BadUrl(format!(
                "{kms}: expected https://HOST[:PORT]"
            )));
        }
    };
    let host = uri
        .host()
        .ok_or_else(|| FetchError::BadUrl(format!("{kms}: no host")))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    if uri.query().is_some() {
        return Err(FetchError::BadUrl(format!(
            "{kms}: no query string allowed"
        )));
    }
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let prefix = uri.path().trim_end_matches('/').to_string();
    Ok(Target {
        tls,
        host,
        port,
        prefix,
    })
}

fn client_tls(ca_pem: Option<&[u8]>) -> Result<Arc<rustls::ClientConfig>, FetchError> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_pem {
        Some(pem) => {
            let certs = CertificateDer::pem_slice_iter(pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| FetchError::TrustAnchors(e.to_string()))?;
            if certs.is_empty() {
                return Err(FetchError::TrustAnchors(
                    "no CERTIFICATE in the --ca file".into(),
                ));
            }
            for c in certs {
                roots
                    .add(c)
                    .map_err(|e| FetchError::TrustAnchors(e.to_string()))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for c in found.certs {
                let _ = roots.add(c);
            }
            if roots.is_empty() {
                return Err(FetchError::TrustAnchors(
                    "no system trust anchors found; give --ca PEM".into(),
                ));
            }
        }
    }
    #[allow(deprecated)] // *ring*: see server::tls::provider.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| FetchError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Any byte stream a request can go over (TCP, or TLS over TCP).
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

async fn connect(target: &Target, req: &FetchRequest) -> Result<Box<dyn Stream>, FetchError> {
    let addr = (target.host.as_str(), target.port);
    let tcp = tokio::time::timeout(req.timeout, tokio::net::TcpStream::connect(addr))
        .await
        .map_err(|_| FetchError::Connect(format!("{}:{}: timed out", target.host, target.port)))?
        .map_err(|e| FetchError::Connect(format!("{}:{}: {e}", target.host, target.port)))?;
    let _ = tcp.set_nodelay(true);
    if !target.tls {
        return Ok(Box::new(tcp));
    }
    let config = client_tls(req.ca_pem.as_deref())?;
    let name = ServerName::try_from(target.host.clone())
        .map_err(|e| FetchError::BadUrl(format!("{}: {e}", target.host)))?;
    let tls = tokio::time::timeout(
        req.timeout,
        tokio_rustls::TlsConnector::from(config).connect(name, tcp),
    )
    .await
    .map_err(|_| FetchError::Tls("timed out".into()))?
    .map_err(|e| {
        let hint = if e.to_string().contains("UnknownIssuer") {
            " (is --ca the CA that signed the KMS's certificate?)"
        } else {
            ""
        };
        FetchError::Tls(format!("{}:{}: {e}{hint}", target.host, target.port))
    })?;
    Ok(Box::new(tls))
}

/// One HTTP/1.1 connection to the KMS.
struct Connection {
    send: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    authority: String,
    prefix: String,
    timeout: Duration,
}

impl Connection {
    async fn open(target: &Target, req: &FetchRequest) -> Result<Self, FetchError> {
        let stream = connect(target, req).await?;
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| FetchError::Transport(e.to_string()))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let authority = if target.host.contains(':') {
            format!("[{}]:{}", target.host, target.port)
        } else {
            format!("{}:{}", target.host, target.port)
        };
        Ok(Self {
            send,
            authority,
            prefix: target.prefix.clone(),
            timeout: req.timeout,
        })
    }

    /// POSTs an empty body to `BASE_PATH + resource` and returns the parsed KmsResponse.
    async fn post(&mut self, resource: &str, token: &str) -> Result<KmsResponse, FetchError> {
        let path = format!("{}{BASE_PATH}{resource}", self.prefix);
        let bearer = Zeroizing::new(format!("Bearer {token}"));
        let request = Request::post(path.as_str())
            .header(header::HOST, self.authority.as_str())
            .header(header::AUTHORIZATION, bearer.as_str())
            .header(header::CONTENT_TYPE, "application/xml")
            .header(header::ACCEPT, "application/xml")
            .body(Full::new(Bytes::new()))
            .map_err(|e| FetchError::BadUrl(e.to_string()))?;
        let exchange = async {
            self.send
                .ready()
                .await
                .map_err(|e| FetchError::Transport(e.to_string()))?;
            let resp = self
                .send
                .send_request(request)
                .await
                .map_err(|e| FetchError::Transport(format!("{path}: {e}")))?;
            let status = resp.status();
            let www = resp
                .headers()
                .get(header::WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .map(String::from);
            let body = Limited::new(resp.into_body(), MAX_RESPONSE)
                .collect()
                .await
                .map_err(|e| FetchError::Transport(format!("{path}: {e}")))?
                .to_bytes();
            Ok::<_, FetchError>((status, www, body))
        };
        let (status, www, body) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| FetchError::Transport(format!("{path}: timed out")))??;
        let text = Zeroizing::new(String::from_utf8_lossy(&body).into_owned());
        let doc = KmsResponse::from_xml(&text);
        if status != StatusCode::OK {
            let message = doc
                .as_ref()
                .ok()
                .and_then(|d| d.error.as_ref())
                .map(|e| format!("KmsError {}: {}", e.code, e.message))
                .or(www)
                .unwrap_or_else(|| format!("POST {path}"));
            return Err(match status.as_u16() {
                401 => FetchError::Unauthorized(message),
                403 => FetchError::Forbidden(message),
                404 => FetchError::NotFound(message),
                s => FetchError::Status { status: s, message },
            });
        }
        let doc = doc.map_err(|e| FetchError::Malformed(format!("{path}: {e}")))?;
        if let Some(e) = &doc.error {
            return Err(FetchError::Status {
                status: 200,
                message: format!("KmsError {}: {}", e.code, e.message),
            });
        }
        Ok(doc)
    }
}

/// NTP seconds of `t`, within the 32-bit seconds of a 64-bit NTP time.
fn ntp_seconds(t: SystemTime) -> Result<u64, FetchError> {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() + NTP_UNIX_OFFSET)
        .map_err(|_| FetchError::BadTime("before 1970".into()))?;
    if secs > u64::from(u32::MAX) {
        return Err(FetchError::BadTime("after 2036 (NTP era 0 ends)".into()));
    }
    Ok(secs)
}

/// `KmsResponse` holding only `keep`'s key set (the rest of the envelope as received).
fn only_key_set(doc: &KmsResponse, period: u64) -> Option<KmsResponse> {
    let ks = doc
        .key_sets()
        .iter()
        .find(|k| k.key_period_no == period)?
        .clone();
    let mut out = doc.clone();
    out.message = Some(KmsMessage::KeyProv(KmsKeyProv { key_sets: vec![ks] }));
    Some(out)
}

/// Whether `cert`'s `ValidFrom`/`ValidTo` (each when present) cover NTP second `t`.
fn covers(cert: &KmsCertificate, t: u64) -> bool {
    let bound = |v: Option<&String>| v.and_then(|v| crate::input::parse_time("ValidTo", v).ok());
    bound(cert.valid_from.as_ref()).is_none_or(|from| from <= t)
        && bound(cert.valid_to.as_ref()).is_none_or(|to| t <= to)
}

/// The KmsCertificate of a KmsResponse, or [`FetchError::Malformed`] naming `what`.
fn certificate_of<'a>(doc: &'a KmsResponse, what: &str) -> Result<&'a KmsCertificate, FetchError> {
    doc.certificate()
        .ok_or_else(|| FetchError::Malformed(format!("{what}: no KmsCertificate")))
}

/// Fetches and validates the KMS certificate and the key sets of the current and the next key
/// period (with the certificate of each period's master-key generation, see the module docs).
///
/// # Errors
/// [`FetchError`] naming the step that failed; nothing is returned unless every key set
/// validates.
pub async fn fetch(req: &FetchRequest) -> Result<Fetched, FetchError> {
    let target = parse_target(&req.kms, req.insecure_http)?;
    let mut conn = Connection::open(&target, req).await?;
    let init = conn.post("/init", &req.token).await?;
    let periods = certificate_of(&init, "init")?.key_periods();
    let uri = escape_segment(&req.user);
    let (current_doc, current) = match req.time {
        Some(t) => {
            let ntp = ntp_seconds(t)?;
            let p = periods
                .period_number(ntp)
                .map_err(|e| FetchError::Malformed(format!("certificate key periods: {e}")))?;
            let doc = conn
                .post(&format!("/keyprov/{uri}/{:016X}", ntp << 32), &req.token)
                .await?;
            (doc, p)
        }
        None => {
            let doc = conn.post(&format!("/keyprov/{uri}"), &req.token).await?;
            // The KMS's clock decides; with several sets, the lowest period is the current one.
            let p = doc
                .key_sets()
                .iter()
                .map(|k| k.key_period_no)
                .min()
                .ok_or_else(|| FetchError::Malformed("keyprov: no KmsKeySet".into()))?;
            (doc, p)
        }
    };
    let next = current + 1;
    let start_of = |p: u64| {
        periods
            .period_start(p)
            .filter(|s| *s <= u64::from(u32::MAX))
            .ok_or_else(|| FetchError::Malformed(format!("key period {p} starts after 2036")))
    };
    let next_doc = conn
        .post(
            &format!("/keyprov/{uri}/{:016X}", start_of(next)? << 32),
            &req.token,
        )
        .await?;
    let mut key_sets = Vec::with_capacity(2);
    for (doc, p) in [(&current_doc, current), (&next_doc, next)] {
        let one = only_key_set(doc, p).ok_or_else(|| {
            FetchError::Malformed(format!("keyprov: no KmsKeySet for key period {p}"))
        })?;
        if let Some(ks) = one.key_sets().first()
            && ks.user_uri != req.user
        {
            return Err(FetchError::Malformed(format!(
                "keyprov: key set for {}, asked for {}",
                ks.user_uri, req.user
            )));
        }
        key_sets.push((p, one));
    }
    // The certificate of each period: `/init`'s when its validity covers the period's start,
    // else the one the KMS serves for that start (another master-key generation).
    let mut certs: Vec<(u64, KmsResponse)> = Vec::with_capacity(2);
    for (p, _) in &key_sets {
        let start = start_of(*p)?;
        let known = std::iter::once(&init)
            .chain(certs.iter().map(|(_, d)| d))
            .find(|d| d.certificate().is_some_and(|c| covers(c, start)))
            .cloned();
        let doc = match known {
            Some(doc) => doc,
            None => match conn
                .post(&format!("/init/{:016X}", start << 32), &req.token)
                .await
            {
                Ok(doc) => doc,
                // A KMS without the extension (its ValidTo may be a mere expiry): the key set
                // is validated against `/init`'s certificate as before.
                Err(FetchError::NotFound(_)) => init.clone(),
                Err(e) => return Err(e),
            },
        };
        certs.push((*p, doc));
    }
    for ((p, doc), (_, cert_doc)) in key_sets.iter().zip(&certs) {
        let cert = certificate_of(cert_doc, &format!("init for key period {p}"))?;
        Client::load(cert, doc.key_sets()).map_err(FetchError::Invalid)?;
    }
    let mut certs = certs.into_iter();
    let (_, certificate) = certs
        .next()
        .ok_or_else(|| FetchError::Malformed("no key period".into()))?;
    let period_certificates = certs
        .filter(|(_, d)| d.certificate() != certificate.certificate())
        .collect();
    Ok(Fetched {
        certificate_xml: certificate.to_xml(),
        certificate,
        key_sets,
        period_certificates,
    })
}

/// [`fetch`] for a caller without an async runtime (it runs its own on a helper thread, so it
/// also works when called from inside one).
///
/// # Errors
/// As [`fetch`]; [`FetchError::Transport`] if no runtime can be started.
pub fn fetch_blocking(req: &FetchRequest) -> Result<Fetched, FetchError> {
    std::thread::scope(|s| {
        s.spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| FetchError::Transport(format!("cannot start a runtime: {e}")))?;
            rt.block_on(fetch(req))
        })
        .join()
        .unwrap_or_else(|_| Err(FetchError::Transport("the fetch thread failed".into())))
    })
}

/// The file name of a key period's key set in the output directory.
pub fn key_set_file_name(period: u64) -> String {
    format!("keyset-{period}.xml")
}

/// The file name of the certificate of a key period whose master-key generation is not that
/// of `cert.xml` ([`Fetched::period_certificates`]).
pub fn period_certificate_file_name(period: u64) -> String {
    format!("cert-{period}.xml")
}

/// Writes `cert.xml`, one `cert-<period>.xml` per [`Fetched::period_certificates`] and one
/// `keyset-<period>.xml` per key period into `dir` (created with mode 0700 if missing), every
/// file with mode 0600, never through a symbolic link, each written to a fresh temporary file
/// and renamed ([`crate::output::write_secret_files`]): a failed write (a full disk) leaves the
/// previous file, or none, never a partial one.
///
/// # Errors
/// [`FetchError::Write`] naming the file.
pub fn write_files(fetched: &Fetched, dir: &Path) -> Result<Vec<PathBuf>, FetchError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| FetchError::Write(format!("cannot create {}: {e}", dir.display())))?;
    let mut files: Vec<(PathBuf, Zeroizing<String>)> = Vec::new();
    files.push((
        dir.join("cert.xml"),
        Zeroizing::new(fetched.certificate_xml.clone()),
    ));
    for (p, doc) in &fetched.period_certificates {
        files.push((
            dir.join(period_certificate_file_name(*p)),
            Zeroizing::new(doc.to_xml()),
        ));
    }
    for (p, doc) in &fetched.key_sets {
        files.push((
            dir.join(key_set_file_name(*p)),
            Zeroizing::new(doc.to_xml()),
        ));
    }
    crate::output::write_secret_files(files.iter().map(|(p, x)| (p.as_path(), x.as_bytes())))
        .map_err(|e| FetchError::Write(e.to_string()))?;
    Ok(files.into_iter().map(|(p, _)| p).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_uris_like_the_spec_example() {
        assert_eq!(
            escape_segment("sip:user@example.org"),
            "sip%3Auser%40example.org"
        );
        assert_eq!(escape_segment("tel:+4477/x y"), "tel%3A%2B4477%2Fx%20y");
    }

    #[test]
    fn refuses_plain_http_unless_asked() {
        assert!(matches!(
            parse_target("http://127.0.0.1:8080", false),
            Err(FetchError::InsecureHttp)
        ));
        assert!(parse_target("http://127.0.0.1:8080", true).is_ok());
        assert!(matches!(
            parse_target("ftp://kms", false),
            Err(FetchError::BadUrl(_))
        ));
        let t = parse_target("https://kms.example.org/prefix/", false).unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.prefix.as_str()),
            ("kms.example.org", 443, "/prefix")
        );
    }
}
