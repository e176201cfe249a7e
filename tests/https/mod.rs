//! Shared helpers of the HTTPS tests: a test PKI made with rcgen, a TLS client speaking HTTP/1.1
//! or HTTP/2, development-IdMS tokens.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use mikey_sakke::idms::{IdmsKey, TokenRequest};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// A CA and a server certificate for `localhost` and `127.0.0.1`.
pub struct Pki {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

impl Pki {
    pub fn new() -> Self {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "mikey-sakke test CA");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf_params =
            rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                .unwrap();
        let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
        Self {
            ca_pem: ca_cert.pem(),
            cert_pem: leaf.pem(),
            key_pem: leaf_key.serialize_pem(),
        }
    }

    /// Writes `ca.pem`, `server.pem`, `server.key` into `dir`.
    pub fn write(&self, dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
        let ca = dir.join("ca.pem");
        let cert = dir.join("server.pem");
        let key = dir.join("server.key");
        std::fs::write(&ca, &self.ca_pem).unwrap();
        std::fs::write(&cert, &self.cert_pem).unwrap();
        std::fs::write(&key, &self.key_pem).unwrap();
        (ca, cert, key)
    }

    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let certs = CertificateDer::pem_slice_iter(self.cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes()).unwrap();
        mikey_sakke::server::tls::server_config_from(certs, key).unwrap()
    }

    pub fn client_config(&self, alpn: &[&[u8]]) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(self.ca_pem.as_bytes()) {
            roots.add(c.unwrap()).unwrap();
        }
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|a| a.to_vec()).collect();
        Arc::new(config)
    }
}

/// A TLS connection to `addr`.
pub async fn tls_connect(
    pki: &Pki,
    addr: SocketAddr,
    alpn: &[&[u8]],
) -> std::io::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let connector = tokio_rustls::TlsConnector::from(pki.client_config(alpn));
    connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
}

/// An answer: status, headers, body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    }
}

/// Reads a whole response into an [`Answer`].
async fn answer(resp: hyper::Response<hyper::body::Incoming>) -> Result<Answer, hyper::Error> {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await?.to_bytes();
    Ok(Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// Sends `head` (a raw HTTP/1.1 request head, and any body) on a new TLS connection and returns
/// what the server first answers (read within 5 s).
pub async fn raw_exchange(pki: &Pki, addr: SocketAddr, head: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut tls = tls_connect(pki, addr, &[b"http/1.1"]).await.unwrap();
    tls.write_all(head.as_bytes()).await.unwrap();
    tls.flush().await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), tls.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

fn request(method: &str, path: &str, token: Option<&str>, body: Vec<u8>) -> Request<Full<Bytes>> {
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .header("content-type", "application/xml");
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    b.body(Full::new(Bytes::from(body))).unwrap()
}

/// An HTTP/1.1 client on one keep-alive connection.
pub struct H1(hyper::client::conn::http1::SendRequest<Full<Bytes>>);

impl H1 {
    pub async fn connect(pki: &Pki, addr: SocketAddr) -> Self {
        let tls = tls_connect(pki, addr, &[b"http/1.1"]).await.unwrap();
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .unwrap();
        tokio::spawn(conn);
        Self(send)
    }

    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Vec<u8>,
    ) -> Result<Answer, hyper::Error> {
        self.0.ready().await?;
        let resp = self
            .0
            .send_request(request(method, path, token, body))
            .await?;
        answer(resp).await
    }

    pub async fn post(&mut self, path: &str, token: Option<&str>) -> Answer {
        self.send("POST", path, token, Vec::new()).await.unwrap()
    }
}

/// An HTTP/2 client.
pub struct H2(hyper::client::conn::http2::SendRequest<Full<Bytes>>);

impl H2 {
    pub async fn connect(pki: &Pki, addr: SocketAddr) -> Self {
        let tls = tls_connect(pki, addr, &[b"h2"]).await.unwrap();
        assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
        let (send, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
                .await
                .unwrap();
        tokio::spawn(conn);
        Self(send)
    }

    pub async fn post(&mut self, path: &str, token: Option<&str>) -> Answer {
        self.0.ready().await.unwrap();
        let resp = self
            .0
            .send_request(request("POST", path, token, Vec::new()))
            .await
            .unwrap();
        answer(resp).await.unwrap()
    }
}

/// A plain-HTTP GET (the metrics listener).
pub async fn plain_get(addr: SocketAddr, path: &str) -> Answer {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = Request::get(path)
        .header("host", "localhost")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(10), send.send_request(req))
        .await
        .unwrap()
        .unwrap();
    answer(resp).await.unwrap()
}

/// A development IdMS key and its JWKS.
pub struct Idms {
    pub key: IdmsKey,
}

impl Idms {
    pub fn new() -> Self {
        Self {
            key: IdmsKey::generate(&mut rand_core::UnwrapErr(getrandom::SysRng)),
        }
    }

    pub fn token(&self, user: &str) -> String {
        self.key.token(&TokenRequest::new(user)).unwrap()
    }

    pub fn token_with(&self, req: &TokenRequest) -> String {
        self.key.token(req).unwrap()
    }
}

/// A unique temporary directory, removed on drop.
pub struct Tmp(pub PathBuf);

impl Tmp {
    pub fn new(name: &str) -> Self {
        let nonce: u64 = rand_core::Rng::next_u64(&mut rand_core::UnwrapErr(getrandom::SysRng));
        let p = std::env::temp_dir().join(format!("mikey-sakke-{name}-{nonce:016x}"));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }

    pub fn path(&self, f: &str) -> PathBuf {
        self.0.join(f)
    }
}

impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
