//! `mikey-sakke ue fetch`: provision this client from its KMS over HTTPS (TS 33.180 Annex D).

use std::path::PathBuf;

use super::{CliError, Output, read_text};
use mikey_sakke::fetch::{FetchRequest, fetch_blocking, write_files};

/// Options of `ue fetch`.
#[derive(clap::Args, Debug)]
pub struct FetchArgs {
    /// The KMS: https://HOST:PORT (http:// only with --insecure-http).
    #[arg(long, value_name = "URL")]
    pub kms: String,
    /// Your MC service ID (or a group URI you manage).
    #[arg(long, value_name = "URI")]
    pub user: String,
    /// The access token from the IdMS: a file, or `-` for standard input.
    #[arg(long, value_name = "FILE|-")]
    pub token: PathBuf,
    /// Trust these CA certificates (PEM) for the KMS instead of the system's.
    #[arg(long, value_name = "PEM")]
    pub ca: Option<PathBuf>,
    /// The time whose key period is current (RFC 3339, UTC); default: the KMS's clock.
    #[arg(long, value_name = "RFC3339")]
    pub time: Option<String>,
    /// The output directory: cert.xml and keyset-<period>.xml (mode 0600).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Allow an http:// KMS (token and keys in clear: labs only).
    #[arg(long)]
    pub insecure_http: bool,
    /// Seconds for the connection and each request.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub timeout: u64,
}

/// Runs `ue fetch`.
///
/// # Errors
/// A one-line message: TLS failure, 401/403/404, a malformed or invalid response, a file error.
pub fn run(args: &FetchArgs) -> Result<Output, CliError> {
    let token = zeroize::Zeroizing::new(read_text(&args.token)?.trim().to_string());
    if token.is_empty() {
        return Err(CliError(format!("--token {}: empty", args.token.display())));
    }
    let mut req = FetchRequest::new(args.kms.clone(), args.user.clone(), token);
    if let Some(ca) = &args.ca {
        req.ca_pem = Some(
            std::fs::read(ca)
                .map_err(|e| CliError(format!("cannot read {}: {e}", ca.display())))?,
        );
    }
    if let Some(t) = &args.time {
        req.time =
            Some(humantime::parse_rfc3339_weak(t.trim()).map_err(|e| {
                CliError(format!("--time: {e} (expected e.g. 2026-11-24T12:00:00Z)"))
            })?);
    }
    req.insecure_http = args.insecure_http;
    req.timeout = std::time::Duration::from_secs(args.timeout.max(1));
    let fetched = fetch_blocking(&req).map_err(|e| CliError(e.to_string()))?;
    let written = write_files(&fetched, &args.out).map_err(|e| CliError(e.to_string()))?;
    let mut out = Output::new();
    for (p, _) in &fetched.key_sets {
        out = out.text("key_period", p);
    }
    for path in written {
        out = out.text("written", path.display());
    }
    Ok(out)
}
