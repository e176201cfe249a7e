//! `mikey-sakke ue fetch`: provision this client from its KMS over HTTPS (TS 33.180 Annex D).

use std::path::PathBuf;

use super::{CliError, Output, ntp_time};
use mikey_sakke::fetch::{FetchRequest, fetch_blocking, write_files};
use mikey_sakke::input::{NTP_UNIX_OFFSET, caps, read_bounded, read_bounded_text};

/// Options of `ue fetch`.
#[derive(clap::Args, Debug)]
pub struct FetchArgs {
    /// The KMS: https://HOST:PORT (http:// only with --insecure-http).
    #[arg(long, value_name = "URL")]
    pub kms: String,
    /// Your MC service ID (or a group URI you manage).
    #[arg(long, value_name = "URI")]
    pub user: String,
    /// The access token from the IdMS: a file, or `-` for standard input (at most 64 KiB).
    #[arg(long, value_name = "FILE|-")]
    pub token: PathBuf,
    /// Trust these CA certificates (PEM, at most 1 MiB) for the KMS instead of the system's.
    #[arg(long, value_name = "PEM")]
    pub ca: Option<PathBuf>,
    /// The time whose key period is current (RFC 3339 such as 2026-11-24T12:00:00Z,
    /// ntp:SECONDS or 0xHEX NTP seconds; from 1970 to 2036-02-07, and within the KMS's key
    /// periods); default: the KMS's clock.
    #[arg(long, value_name = "TIME")]
    pub time: Option<String>,
    /// The output directory: cert.xml (the current period's KMS certificate), keyset-<period>.xml
    /// and, for a next period under another master-key generation (after `kms rotate`),
    /// cert-<period>.xml (mode 0600).
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
    let raw = zeroize::Zeroizing::new(
        read_bounded_text(&args.token, caps::TOKEN)
            .map_err(|e| CliError(format!("--token: {e}")))?,
    );
    let token = zeroize::Zeroizing::new(raw.trim().to_string());
    if token.is_empty() {
        return Err(CliError(format!("--token {}: empty", args.token.display())));
    }
    let mut req = FetchRequest::new(args.kms.clone(), args.user.clone(), token);
    if let Some(ca) = &args.ca {
        req.ca_pem = Some(read_bounded(ca, caps::PEM).map_err(|e| CliError(format!("--ca: {e}")))?);
    }
    if let Some(t) = &args.time {
        let ntp = ntp_time("time", Some(t))?;
        req.time = Some(
            std::time::UNIX_EPOCH
                + std::time::Duration::from_secs(ntp.saturating_sub(NTP_UNIX_OFFSET)),
        );
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
