//! Connections, routing, limits and the access log.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Buf;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;

use super::{BASE_PATH, Shared, TransportRefusal};

/// Connections the metrics listener serves at once.
const METRICS_CONNECTIONS: usize = 16;

/// A response body wiped when hyper drops it (a KeyProv answer holds the RSK and the SSK).
/// Copies that hyper or rustls make into their own buffers are out of its reach.
pub(crate) struct WipedBuf {
    data: zeroize::Zeroizing<Vec<u8>>,
    pos: usize,
}

impl Buf for WipedBuf {
    fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    fn chunk(&self) -> &[u8] {
        self.data.get(self.pos..).unwrap_or_default()
    }

    fn advance(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n).min(self.data.len());
    }
}

/// What one request is answered with, and what the log and the metrics need of it.
struct Outcome {
    status: u16,
    body: WipedBuf,
    content_type: &'static str,
    headers: Vec<(header::HeaderName, String)>,
    principal: Option<String>,
    issued: u64,
    served: u64,
}

impl Outcome {
    fn text(status: u16, body: &'static str) -> Self {
        Self {
            status,
            body: WipedBuf {
                data: zeroize::Zeroizing::new(body.as_bytes().to_vec()),
                pos: 0,
            },
            content_type: "text/plain; charset=utf-8",
            headers: Vec::new(),
            principal: None,
            issued: 0,
            served: 0,
        }
    }

    fn xml(status: u16, body: String) -> Self {
        Self {
            status,
            body: WipedBuf {
                data: zeroize::Zeroizing::new(body.into_bytes()),
                pos: 0,
            },
            content_type: "application/xml",
            headers: Vec::new(),
            principal: None,
            issued: 0,
            served: 0,
        }
    }

    fn refusal(shared: &Shared, r: TransportRefusal, path: &str, peer: SocketAddr) -> Self {
        Self::xml(r.status(), shared.handler.refusal_document(r, path, peer))
    }

    fn into_response(self) -> Response<Full<WipedBuf>> {
        let mut resp = Response::new(Full::new(self.body));
        *resp.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                h.insert(name, v);
            }
        }
        resp
    }
}

/// Accepts TLS connections until shutdown.
pub(super) async fn serve_tls(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    shared: Arc<Shared>,
    conns: Arc<Semaphore>,
    mut shutdown: watch::Receiver<bool>,
) {
    let acceptor = TlsAcceptor::from(tls);
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = shutdown.wait_for(|stop| *stop) => break,
        };
        let (tcp, peer) = match accepted {
            Ok(x) => x,
            Err(_) => {
                // Out of file descriptors or a connection reset before accept: go on shortly.
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&conns).try_acquire_owned() else {
            shared.metrics.connection_rejected();
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let shared = Arc::clone(&shared);
        let acceptor = acceptor.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            shared.metrics.connection_opened();
            serve_connection(tcp, peer, acceptor, Arc::clone(&shared), shutdown).await;
            shared.metrics.connection_closed();
            drop(permit);
        });
    }
}

async fn serve_connection(
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let limits = shared.limits.clone();
    let tls = match tokio::time::timeout(limits.header_timeout, acceptor.accept(tcp)).await {
        Ok(Ok(s)) => s,
        _ => return,
    };
    let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    let io = TokioIo::new(tls);
    let svc_shared = Arc::clone(&shared);
    let svc = service_fn(move |req| handle(req, Arc::clone(&svc_shared), peer));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true)
        .max_buf_size(64 * 1024);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.max_h2_streams)
        .max_header_list_size(16 * 1024)
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(10));
    let builder = match alpn.as_deref() {
        Some(b"h2") => builder.http2_only(),
        Some(_) => builder.http1_only(),
        None => builder,
    };
    let conn = builder.serve_connection(io, svc);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = shutdown.wait_for(|stop| *stop) => conn.as_mut().graceful_shutdown(),
    }
    let _ = tokio::time::timeout(limits.shutdown_grace, conn).await;
}

/// Counts a service call in progress while alive (also when the handler panics).
struct CallGuard<'a>(&'a super::Metrics);

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        self.0.call_finished();
    }
}

async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
    peer: SocketAddr,
) -> Result<Response<Full<WipedBuf>>, Infallible> {
    let start = Instant::now();
    let method = req.method().clone();
    let version = req.version();
    let path = req.uri().path().to_string();
    let out = route(req, &shared, peer, &path).await;
    let latency = start.elapsed();
    shared
        .metrics
        .request(out.status, latency, out.issued, out.served);
    if shared.access_log {
        access_log(peer, version, &method, &path, &out, latency);
    }
    Ok(out.into_response())
}

fn is_kms_path(path: &str) -> bool {
    path.strip_prefix(BASE_PATH)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

async fn route(
    req: Request<Incoming>,
    shared: &Arc<Shared>,
    peer: SocketAddr,
    path: &str,
) -> Outcome {
    if path == "/healthz" && req.method() == Method::GET {
        return Outcome::text(200, "ok\n");
    }
    if !is_kms_path(path) {
        return Outcome::refusal(shared, TransportRefusal::NotFound, path, peer);
    }
    if req.method() != Method::POST {
        let mut out = Outcome::refusal(shared, TransportRefusal::MethodNotAllowed, path, peer);
        out.headers.push((header::ALLOW, "POST".to_string()));
        return out;
    }
    let limit = shared.limits.max_body;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > u64::try_from(drain_cap(limit)).unwrap_or(u64::MAX)) {
        // Far over the limit: refused without reading (the connection then closes).
        return Outcome::refusal(shared, TransportRefusal::TooLarge, path, peer);
    }
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes().to_vec());
    let collected = tokio::time::timeout(
        shared.limits.body_timeout,
        read_body(req.into_body(), limit),
    )
    .await;
    let body = match collected {
        Err(_) => return Outcome::refusal(shared, TransportRefusal::Timeout, path, peer),
        Ok(Err(r)) => return Outcome::refusal(shared, r, path, peer),
        Ok(Ok(b)) => b,
    };
    let Ok(permit) = Arc::clone(&shared.in_flight).try_acquire_owned() else {
        return Outcome::refusal(shared, TransportRefusal::Overloaded, path, peer);
    };
    let call = Arc::clone(shared);
    let call_path = path.to_string();
    let done = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        call.metrics.call_started();
        let _guard = CallGuard(&call.metrics);
        match call.auth.verify_header(authorization.as_deref()) {
            Err(e) => {
                let r = if e.status() == 403 {
                    TransportRefusal::Forbidden
                } else {
                    TransportRefusal::Unauthenticated
                };
                let mut out = Outcome::refusal(&call, r, &call_path, peer);
                out.headers
                    .push((header::WWW_AUTHENTICATE, e.www_authenticate()));
                out
            }
            Ok(who) => {
                let reply = call.handler.respond(Some(&who), &call_path, &body, peer);
                let mut out = Outcome::xml(reply.status, reply.body);
                out.principal = Some(who.uri);
                out.issued = reply.issued;
                out.served = reply.served;
                out
            }
        }
    })
    .await;
    match done {
        Ok(out) => out,
        Err(_) => Outcome::refusal(shared, TransportRefusal::Internal, path, peer),
    }
}

/// How much of a body over the limit is still read (and dropped) so that the client, which is
/// still sending, receives the 413 instead of a connection reset.
fn drain_cap(limit: usize) -> usize {
    limit.saturating_mul(16).max(1024 * 1024)
}

/// Reads a body of at most `limit` octets; a larger one is drained up to [`drain_cap`] and
/// refused with 413.
async fn read_body(mut body: Incoming, limit: usize) -> Result<Vec<u8>, TransportRefusal> {
    let mut buf = Vec::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| TransportRefusal::BadBody)?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        total = total.saturating_add(data.len());
        if total > limit {
            buf = Vec::new();
            if total > drain_cap(limit) {
                return Err(TransportRefusal::TooLarge);
            }
        } else {
            buf.extend_from_slice(&data);
        }
    }
    if total > limit {
        Err(TransportRefusal::TooLarge)
    } else {
        Ok(buf)
    }
}

/// Longest path written to the access log.
const LOG_PATH_MAX: usize = 512;

fn access_log(
    peer: SocketAddr,
    version: hyper::Version,
    method: &Method,
    path: &str,
    out: &Outcome,
    latency: Duration,
) {
    use std::io::Write as _;
    let mut shown = path;
    if shown.len() > LOG_PATH_MAX {
        let mut end = LOG_PATH_MAX;
        while !shown.is_char_boundary(end) {
            end -= 1;
        }
        shown = &shown[..end];
    }
    let line = serde_json::json!({
        "time": humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        "peer": peer.to_string(),
        "proto": format!("{version:?}"),
        "method": method.as_str(),
        "path": shown,
        "principal": out.principal,
        "status": out.status,
        "latency_ms": (latency.as_secs_f64() * 1e6).round() / 1e3,
        "issued": out.issued,
        "served": out.served,
    });
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

/// Serves `/healthz` and `/metrics` over plain HTTP/1.1 until shutdown.
pub(super) async fn serve_metrics(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let conns = Arc::new(Semaphore::new(METRICS_CONNECTIONS));
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = shutdown.wait_for(|stop| *stop) => break,
        };
        let Ok((tcp, _)) = accepted else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let Ok(permit) = Arc::clone(&conns).try_acquire_owned() else {
            continue;
        };
        let shared = Arc::clone(&shared);
        let timeout = shared.limits.header_timeout;
        tokio::spawn(async move {
            let svc = service_fn(move |req: Request<Incoming>| {
                let shared = Arc::clone(&shared);
                async move {
                    let out = match (req.method(), req.uri().path()) {
                        (&Method::GET, "/healthz") => Outcome::text(200, "ok\n"),
                        (&Method::GET, "/metrics") => Outcome {
                            content_type: "text/plain; version=0.0.4",
                            ..Outcome::xml(200, shared.metrics.render())
                        },
                        _ => Outcome::text(404, "not found\n"),
                    };
                    Ok::<_, Infallible>(out.into_response())
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(timeout)
                .serve_connection(TokioIo::new(tcp), svc)
                .await;
            drop(permit);
        });
    }
}
