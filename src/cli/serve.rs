//! `mikey-sakke kms serve`: the KMS as an HTTPS service (TS 33.180 Annex D).
//!
//! Every option can also be set in a TOML file given with `--config` (keys as the long option
//! names, e.g. `tls-cert = "server.pem"`, relative paths taken from the file's directory); the
//! command line wins.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::{CliError, Output};
use mikey_sakke::kms::service::KmsService;
use mikey_sakke::server::{
    self, AuthConfig, Authenticator, KmsHandler, Limits, Server, ServerConfig,
};

/// Options of `kms serve`.
#[derive(clap::Args, Debug, Default)]
pub struct ServeArgs {
    /// The store made by `kms init`: a SQLite file or a `postgres://` URL. Its passphrase comes
    /// from --passphrase-file (or `passphrase-file` in --config), MIKEY_SAKKE_PASSPHRASE or a
    /// prompt.
    #[arg(long, value_name = "FILE")]
    pub store: Option<PathBuf>,
    /// Where the store passphrase comes from.
    #[command(flatten)]
    pub pass: super::PassphraseArgs,
    /// The HTTPS listen address (e.g. 0.0.0.0:8443; port 0 picks a free port).
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<SocketAddr>,
    /// The server's certificate chain (PEM, leaf first).
    #[arg(long, value_name = "PEM")]
    pub tls_cert: Option<PathBuf>,
    /// The server's private key (PEM: PKCS#8, SEC1 or PKCS#1).
    #[arg(long, value_name = "PEM")]
    pub tls_key: Option<PathBuf>,
    /// The IdMS's public keys (a JWKS file): access tokens must be signed by one of them
    /// (ES256 or RS256, matched by `kid`).
    #[arg(long, value_name = "JWKS.json")]
    pub idms_keys: Option<PathBuf>,
    /// The required token issuer (`iss`); strongly recommended.
    #[arg(long, value_name = "ISS")]
    pub issuer: Option<String>,
    /// The required token audience (a member of `aud`); strongly recommended.
    #[arg(long, value_name = "AUD")]
    pub audience: Option<String>,
    /// Plain-HTTP listen address for GET /healthz and GET /metrics (Prometheus); keep it on an
    /// internal interface.
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics_listen: Option<SocketAddr>,
    /// A TOML file with any of these options (the command line wins).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The token claim holding the MC service ID (default mcptt_id; `sub` if the claim is
    /// absent).
    #[arg(long, value_name = "CLAIM")]
    pub principal_claim: Option<String>,
    /// Allowed clock skew for token `exp`/`nbf`, in seconds (default 60).
    #[arg(long, value_name = "SECONDS")]
    pub clock_skew: Option<u64>,
    /// Open connections at most; more are closed at once (default 1024).
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// Service calls in progress at most; more are answered 503 at once (default 64).
    #[arg(long, value_name = "N")]
    pub max_in_flight: Option<usize>,
    /// Threads running the service calls (token check, store, crypto); calls admitted beyond
    /// them wait for one (default: 4 per core, at least 8, at most --max-in-flight).
    #[arg(long, value_name = "N")]
    pub service_threads: Option<usize>,
    /// Largest request body in octets; larger ones get 413 (default 65536).
    #[arg(long, value_name = "OCTETS")]
    pub max_body: Option<usize>,
    /// Seconds for the TLS handshake and the request headers (default 10).
    #[arg(long, value_name = "SECONDS")]
    pub header_timeout: Option<u64>,
    /// Seconds for a request body (default 10).
    #[arg(long, value_name = "SECONDS")]
    pub body_timeout: Option<u64>,
    /// Seconds shutdown waits for open connections (default 30).
    #[arg(long, value_name = "SECONDS")]
    pub shutdown_grace: Option<u64>,
    /// Do not write the JSON access log on stderr.
    #[arg(long)]
    pub no_access_log: bool,
}

/// The TOML file: the same names as the options.
#[derive(serde::Deserialize, Debug, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileConfig {
    store: Option<PathBuf>,
    /// A file holding the store passphrase (never the passphrase itself).
    passphrase_file: Option<PathBuf>,
    listen: Option<SocketAddr>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    idms_keys: Option<PathBuf>,
    issuer: Option<String>,
    audience: Option<String>,
    metrics_listen: Option<SocketAddr>,
    principal_claim: Option<String>,
    clock_skew: Option<u64>,
    max_connections: Option<usize>,
    max_in_flight: Option<usize>,
    service_threads: Option<usize>,
    max_body: Option<usize>,
    header_timeout: Option<u64>,
    body_timeout: Option<u64>,
    shutdown_grace: Option<u64>,
    access_log: Option<bool>,
}

/// The resolved settings.
#[derive(Debug)]
pub struct Settings {
    /// The store file.
    pub store: PathBuf,
    /// Where the store passphrase comes from.
    pub pass: super::PassphraseArgs,
    /// The HTTPS address.
    pub listen: SocketAddr,
    /// The certificate chain.
    pub tls_cert: PathBuf,
    /// The TLS key.
    pub tls_key: PathBuf,
    /// The JWKS.
    pub idms_keys: PathBuf,
    /// The metrics address.
    pub metrics_listen: Option<SocketAddr>,
    /// Token checks.
    pub auth: AuthConfig,
    /// Limits.
    pub limits: Limits,
    /// Whether to write the access log.
    pub access_log: bool,
    /// Threads running the service calls.
    pub service_threads: usize,
}

fn required<T>(v: Option<T>, name: &str) -> Result<T, CliError> {
    v.ok_or_else(|| CliError(format!("missing --{name} (or {name} = ... in --config)")))
}

impl Settings {
    /// Merges the command line over the config file.
    ///
    /// # Errors
    /// An unreadable or invalid config file, or a missing required option.
    pub fn resolve(args: &ServeArgs) -> Result<Self, CliError> {
        let file = match &args.config {
            Some(path) => {
                let text = super::read_text(path)?;
                let mut f: FileConfig = toml::from_str(&text)
                    .map_err(|e| CliError(format!("{}: {}", path.display(), e.message())))?;
                let base = path.parent().unwrap_or(Path::new("."));
                // A `postgres://` store is a URL, not a path relative to the file.
                let store_is_url = f.store.as_ref().is_some_and(|s| {
                    let s = s.to_string_lossy();
                    s.starts_with("postgres://") || s.starts_with("postgresql://")
                });
                let store = if store_is_url { None } else { f.store.as_mut() };
                for p in [
                    store,
                    f.passphrase_file.as_mut(),
                    f.tls_cert.as_mut(),
                    f.tls_key.as_mut(),
                    f.idms_keys.as_mut(),
                ]
                .into_iter()
                .flatten()
                {
                    if p.is_relative() {
                        *p = base.join(&*p);
                    }
                }
                f
            }
            None => FileConfig::default(),
        };
        let d = Limits::default();
        let secs = |cli: Option<u64>, file: Option<u64>, default: Duration| {
            cli.or(file).map_or(default, Duration::from_secs)
        };
        let limits = Limits {
            max_connections: args
                .max_connections
                .or(file.max_connections)
                .unwrap_or(d.max_connections),
            max_in_flight: args
                .max_in_flight
                .or(file.max_in_flight)
                .unwrap_or(d.max_in_flight),
            max_body: args.max_body.or(file.max_body).unwrap_or(d.max_body),
            header_timeout: secs(args.header_timeout, file.header_timeout, d.header_timeout),
            body_timeout: secs(args.body_timeout, file.body_timeout, d.body_timeout),
            max_h2_streams: d.max_h2_streams,
            shutdown_grace: secs(args.shutdown_grace, file.shutdown_grace, d.shutdown_grace),
        };
        if limits.max_connections == 0
            || limits.max_in_flight == 0
            || args.service_threads.or(file.service_threads) == Some(0)
        {
            return Err(CliError::new(
                "--max-connections, --max-in-flight and --service-threads must be at least 1",
            ));
        }
        let auth = AuthConfig {
            issuer: args.issuer.clone().or(file.issuer),
            audience: args.audience.clone().or(file.audience),
            principal_claim: args
                .principal_claim
                .clone()
                .or(file.principal_claim)
                .unwrap_or_else(|| AuthConfig::default().principal_claim),
            leeway: args
                .clock_skew
                .or(file.clock_skew)
                .unwrap_or(AuthConfig::default().leeway),
        };
        let service_threads = args
            .service_threads
            .or(file.service_threads)
            .unwrap_or_else(|| default_service_threads(limits.max_in_flight));
        Ok(Self {
            store: required(args.store.clone().or(file.store), "store")?,
            pass: super::PassphraseArgs {
                passphrase_file: args.pass.passphrase_file.clone().or(file.passphrase_file),
                allow_weak_passphrase: args.pass.allow_weak_passphrase,
            },
            listen: required(args.listen.or(file.listen), "listen")?,
            tls_cert: required(args.tls_cert.clone().or(file.tls_cert), "tls-cert")?,
            tls_key: required(args.tls_key.clone().or(file.tls_key), "tls-key")?,
            idms_keys: required(args.idms_keys.clone().or(file.idms_keys), "idms-keys")?,
            metrics_listen: args.metrics_listen.or(file.metrics_listen),
            auth,
            limits,
            access_log: !args.no_access_log && file.access_log.unwrap_or(true),
            service_threads,
        })
    }
}

/// The KMS service over the store (the passphrase from the passphrase file,
/// MIKEY_SAKKE_PASSPHRASE or a prompt). The passphrase key derivation (Argon2id) runs here,
/// once, before the server starts.
fn open_service(
    store: &Path,
    pass: &super::PassphraseArgs,
) -> Result<Arc<dyn KmsHandler>, CliError> {
    let pass = super::passphrase_to_open(pass)?;
    // A SQLite path or a postgres:// URL, as for every kms command.
    let spec = mikey_sakke::kms::store::StoreSpec::parse(&store.to_string_lossy())
        .map_err(|e| CliError(e.to_string()))?;
    let store =
        mikey_sakke::kms::store::open_store(&spec, &pass).map_err(|e| CliError(e.to_string()))?;
    let store: Arc<dyn mikey_sakke::kms::store::AnyStore> = Arc::from(store);
    let service = KmsService::new(store).map_err(|e| CliError(e.to_string()))?;
    Ok(Arc::new(service))
}

/// The default number of service threads: 4 per core, at least 8, at most `max_in_flight`.
///
/// A few threads per core keep the cores busy while some wait for the database. Many more (one
/// per admitted call) serve stored key sets no faster and make first-time issues share the
/// cores, so that all of them finish late: on 2 cores with 64 threads, 64 concurrent first
/// requests ran past a 2 s client timeout (docs/performance.md, "KMS server").
fn default_service_threads(max_in_flight: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    cores.saturating_mul(4).max(8).min(max_in_flight)
}

/// Waits for SIGTERM or SIGINT (Ctrl-C).
async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => std::future::pending::<()>().await,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Runs `kms serve` until SIGTERM/SIGINT.
///
/// # Errors
/// A one-line message for a configuration, store, TLS or bind failure.
pub fn run(args: &ServeArgs) -> Result<Output, CliError> {
    let s = Settings::resolve(args)?;
    let tls =
        server::tls::server_config(&s.tls_cert, &s.tls_key).map_err(|e| CliError(e.to_string()))?;
    let auth = Authenticator::from_jwks_file(&s.idms_keys, s.auth.clone())
        .map_err(|e| CliError(e.to_string()))?;
    let handler = open_service(&s.store, &s.pass)?;
    // The store is dropped here, after the runtime: a PostgreSQL store's connections (each with
    // a runtime of its own) must not be dropped on an async thread.
    let store_keeper = Arc::clone(&handler);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(s.service_threads)
        .build()
        .map_err(|e| CliError(format!("cannot start the runtime: {e}")))?;
    let config = ServerConfig {
        listen: s.listen,
        metrics_listen: s.metrics_listen,
        tls,
        auth: Arc::new(auth),
        limits: s.limits.clone(),
        access_log: s.access_log,
    };
    let result = runtime.block_on(async {
        let server = Server::bind(config, handler)
            .await
            .map_err(|e| CliError(e.to_string()))?;
        let started = serde_json::json!({
            "event": "listening",
            "listen": server.local_addr().map(|a| a.to_string()),
            "metrics": server.metrics_addr().map(|a| a.to_string()),
        });
        note!("{started}");
        let handle = server.shutdown_handle();
        tokio::spawn(async move {
            signal().await;
            note!("{}", serde_json::json!({"event": "shutting down"}));
            handle.shutdown();
        });
        let metrics = server.metrics();
        server.run().await;
        Ok(Output::new()
            .text("stopped", "graceful shutdown")
            .text("key_sets_issued", metrics.issued())
            .text("key_sets_served", metrics.served()))
    });
    drop(runtime);
    drop(store_keeper);
    result
}
