//! The KMS as an HTTPS service (TS 33.180 Annex D over HTTPS, feature `server`): the transport
//! over a transport-independent [`KmsHandler`] (in the crate, `kms::service::KmsService`).
//!
//! * [`tls`]: the rustls configuration (TLS 1.3 and 1.2 only, AEAD suites with ECDHE only, ALPN
//!   `h2` and `http/1.1`).
//! * [`auth`]: the `Authorization: Bearer <JWT>` access-token check (RFC 6750; TS 33.180 B.10)
//!   against a JWKS, and the principal it names.
//! * [`metrics`]: the Prometheus counters served on the metrics listener.
//! * `http` (private): routing, body limits and timeouts, the access log.
//!
//! # What a request goes through
//!
//! 1. TCP accept: over [`Limits::max_connections`] open connections, the new one is closed at
//!    once (counted in `kms_connections_rejected_total`).
//! 2. TLS handshake within [`Limits::header_timeout`]; then HTTP/1.1 (keep-alive) or HTTP/2 by
//!    ALPN. HTTP/1.1 request headers must arrive within [`Limits::header_timeout`] (hyper's header
//!    read timeout, which also ends idle keep-alive connections), the body within
//!    [`Limits::body_timeout`] (else 408).
//! 3. Routing: `GET /healthz` answers `ok` (also on the metrics listener); `POST` under
//!    [`BASE_PATH`] goes to the handler; other methods there get 405, other paths 404 (with a
//!    `KmsError` document).
//! 4. Bodies over [`Limits::max_body`] get 413: at once when `Content-Length` is far over it,
//!    else after reading and dropping the rest (up to 16 times the limit, at least 1 MiB) so
//!    that a client still sending sees the 413 rather than a reset connection.
//! 5. Over [`Limits::max_in_flight`] service calls in progress, 503 at once (never a queue
//!    without bound).
//! 6. On a blocking thread (`spawn_blocking`): the token check (401 with
//!    `WWW-Authenticate: Bearer error="invalid_token"`, or 403 with
//!    `error="insufficient_scope"`), then [`KmsHandler::respond`].
//! 7. One JSON access-log line on stderr (time, peer, protocol, method, path, principal, status,
//!    latency; never a token or a key) and the metrics.
//!
//! Shutdown ([`ShutdownHandle::shutdown`], or SIGTERM/SIGINT in the CLI): the listeners close, every
//! connection is told to finish (HTTP/1.1: after the request in progress; HTTP/2: GOAWAY), and
//! [`Server::run`] returns when the last one has closed or after [`Limits::shutdown_grace`].

pub mod auth;
mod http;
mod kms;
pub mod metrics;
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

pub use auth::{AuthConfig, AuthError, Authenticator, Principal};
pub use metrics::Metrics;

/// The root of the Annex D resources (TS 33.180 D.2.1).
pub const BASE_PATH: &str = "/keymanagement/identity/v1";

/// What a handler answers for one request (the service's `kms::service::HttpReply`).
pub struct HandlerReply {
    /// The HTTP status.
    pub status: u16,
    /// The body: a `KmsResponse` document (`application/xml`). A KeyProv answer holds the RSK
    /// and the SSK: the transport wipes it after sending.
    pub body: String,
    /// Key sets newly issued for this request.
    pub issued: u64,
    /// Key sets returned by this request (issued now or before).
    pub served: u64,
}

impl core::fmt::Debug for HandlerReply {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HandlerReply")
            .field("status", &self.status)
            .field("body_len", &self.body.len())
            .field("issued", &self.issued)
            .field("served", &self.served)
            .finish_non_exhaustive()
    }
}

/// A refusal the transport produces itself, before or instead of a service call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportRefusal {
    /// No valid access token: 401 (`KmsError` code 2).
    Unauthenticated,
    /// A valid token without a KMS scope: 403 (`KmsError` code 3).
    Forbidden,
    /// A path outside the KMS resources: 404 (`KmsError` code 4).
    NotFound,
    /// A method other than POST on a KMS resource: 405 (`KmsError` code 1, a bad request).
    MethodNotAllowed,
    /// The body did not arrive within the body read timeout: 408 (`KmsError` code 1).
    Timeout,
    /// The body could not be read (the client broke off or sent bad framing): 400 (`KmsError`
    /// code 1).
    BadBody,
    /// The body is over the limit: 413 (`KmsError` code 6).
    TooLarge,
    /// Over the concurrency limit: 503 (`KmsError` code 7).
    Overloaded,
    /// The service call failed unexpectedly (a panic caught at the thread boundary): 500
    /// (`KmsError` code 9).
    Internal,
}

impl TransportRefusal {
    /// The HTTP status.
    pub fn status(self) -> u16 {
        match self {
            Self::Unauthenticated => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::Timeout => 408,
            Self::BadBody => 400,
            Self::TooLarge => 413,
            Self::Overloaded => 503,
            Self::Internal => 500,
        }
    }
}

/// The KMS behind the transport: parse, authorise, answer (blocking; called on a blocking
/// thread). `kms::service::KmsService` implements it; tests plug in fakes.
pub trait KmsHandler: Send + Sync + 'static {
    /// Answers one POST to `path` (under [`BASE_PATH`], without the query string) with `body`
    /// from the authenticated `who` (`None`: the transport found no valid token).
    fn respond(
        &self,
        who: Option<&Principal>,
        path: &str,
        body: &[u8],
        peer: SocketAddr,
    ) -> HandlerReply;

    /// A `KmsResponse` document with the `KmsError` of a refusal the transport produces.
    fn refusal_document(&self, refusal: TransportRefusal, path: &str, peer: SocketAddr) -> String;
}

/// The transport's limits and timeouts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Open connections at most (TLS and HTTP); more are closed on accept.
    pub max_connections: usize,
    /// Service calls in progress at most; more get 503 at once.
    pub max_in_flight: usize,
    /// Request bodies above this many octets get 413.
    pub max_body: usize,
    /// The TLS handshake and the request headers must arrive within this time.
    pub header_timeout: Duration,
    /// A request body must arrive within this time.
    pub body_timeout: Duration,
    /// HTTP/2 streams per connection at most.
    pub max_h2_streams: u32,
    /// How long shutdown waits for open connections to finish.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            max_in_flight: 64,
            max_body: 64 * 1024,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            max_h2_streams: 64,
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// Everything a server needs besides its handler.
#[derive(Debug)]
pub struct ServerConfig {
    /// The HTTPS listen address.
    pub listen: SocketAddr,
    /// The metrics listen address (plain HTTP: `/healthz`, `/metrics`), if any.
    pub metrics_listen: Option<SocketAddr>,
    /// The TLS configuration ([`tls::server_config`]).
    pub tls: Arc<rustls::ServerConfig>,
    /// The access-token check.
    pub auth: Arc<Authenticator>,
    /// Limits and timeouts.
    pub limits: Limits,
    /// Write the JSON access log to stderr.
    pub access_log: bool,
}

/// Why a server could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServerError {
    /// A listen address could not be bound.
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The operating system's reason.
        source: std::io::Error,
    },
}

impl core::fmt::Display for ServerError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Bind { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
        }
    }
}

impl std::error::Error for ServerError {}

/// Stops a running [`Server`] gracefully.
#[derive(Clone, Debug)]
pub struct ShutdownHandle(Arc<watch::Sender<bool>>);

impl ShutdownHandle {
    /// Closes the listeners and asks every connection to finish its request in progress.
    pub fn shutdown(&self) {
        self.0.send_replace(true);
    }
}

/// State shared by every connection.
pub(crate) struct Shared {
    pub(crate) handler: Arc<dyn KmsHandler>,
    pub(crate) auth: Arc<Authenticator>,
    pub(crate) limits: Limits,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) in_flight: Arc<Semaphore>,
    pub(crate) access_log: bool,
}

/// A bound server: listening, not yet serving until [`Server::run`].
pub struct Server {
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    tls: Arc<rustls::ServerConfig>,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    handle: ShutdownHandle,
}

impl core::fmt::Debug for Server {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Server")
            .field("listen", &self.listener.local_addr().ok())
            .field(
                "metrics_listen",
                &self
                    .metrics_listener
                    .as_ref()
                    .and_then(|l| l.local_addr().ok()),
            )
            .field("limits", &self.shared.limits)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Binds the listeners (port 0 picks a free port; see [`Server::local_addr`]).
    ///
    /// # Errors
    /// [`ServerError::Bind`] when an address cannot be bound.
    pub async fn bind(
        config: ServerConfig,
        handler: Arc<dyn KmsHandler>,
    ) -> Result<Self, ServerError> {
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ServerError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let metrics_listener = match config.metrics_listen {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|source| ServerError::Bind { addr, source })?,
            ),
            None => None,
        };
        let (tx, _) = watch::channel(false);
        let handle = ShutdownHandle(Arc::new(tx.clone()));
        Ok(Self {
            listener,
            metrics_listener,
            tls: config.tls,
            shared: Arc::new(Shared {
                handler,
                auth: config.auth,
                in_flight: Arc::new(Semaphore::new(config.limits.max_in_flight)),
                limits: config.limits,
                metrics: Arc::new(Metrics::new()),
                access_log: config.access_log,
            }),
            shutdown: tx,
            handle,
        })
    }

    /// The HTTPS address actually bound.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// The metrics address actually bound, if any.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    /// The counters (also served at `/metrics`).
    pub fn metrics(&self) -> Arc<Metrics> {
        Arc::clone(&self.shared.metrics)
    }

    /// A handle that stops this server.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.handle.clone()
    }

    /// Serves until shut down, then waits for open connections to finish (at most
    /// [`Limits::shutdown_grace`]).
    pub async fn run(self) {
        let shutdown = self.shutdown.subscribe();
        let _keep_sender_alive = self.shutdown;
        let conns = Arc::new(Semaphore::new(self.shared.limits.max_connections));
        let metrics_task = self.metrics_listener.map(|l| {
            tokio::spawn(http::serve_metrics(
                l,
                Arc::clone(&self.shared),
                shutdown.clone(),
            ))
        });
        http::serve_tls(
            self.listener,
            self.tls,
            Arc::clone(&self.shared),
            Arc::clone(&conns),
            shutdown,
        )
        .await;
        // The listener is closed; wait for every connection to return its permit.
        let all = u32::try_from(self.shared.limits.max_connections).unwrap_or(u32::MAX);
        let _ =
            tokio::time::timeout(self.shared.limits.shutdown_grace, conns.acquire_many(all)).await;
        if let Some(t) = metrics_task {
            t.abort();
        }
    }
}
