//! `mikey-sakke idms ...`: the **development** identity management server (tests, demos, small
//! labs). It signs a token for whoever asks; a deployment uses the operator's IdMS.

use std::path::{Path, PathBuf};

use super::{CliError, Output, os_rng, read_text};
use mikey_sakke::idms::{DEFAULT_ISSUER, DEFAULT_SCOPE, IdmsKey, TokenRequest};

/// Development IdMS commands: NOT an identity management server (it authenticates nobody).
#[derive(clap::Subcommand, Debug)]
pub enum IdmsCommand {
    /// Create an ES256 (P-256) signing key (PKCS#8 PEM, mode 0600; never overwritten) and the
    /// JWKS with its public key for `kms serve --idms-keys`.
    Keygen {
        /// The private key file to create.
        #[arg(long, value_name = "KEY.pem")]
        out: PathBuf,
        /// The JWKS file to write (the public key, `kid` = RFC 7638 thumbprint).
        #[arg(long, value_name = "JWKS.json")]
        jwks: PathBuf,
    },
    /// Print a signed JWT access token (RFC 9068) for a user: `mcptt_id` and `sub` = the URI.
    Token {
        /// The signing key from `idms keygen`.
        #[arg(long, value_name = "KEY.pem")]
        key: PathBuf,
        /// The MC service ID (e.g. sip:alice@example.org).
        #[arg(long, value_name = "URI")]
        user: String,
        /// The scope claim (space-separated).
        #[arg(long, value_name = "S", default_value = DEFAULT_SCOPE)]
        scope: String,
        /// Lifetime in seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
        ttl: u64,
        /// The issuer (`iss`); must match `kms serve --issuer` if that is set.
        #[arg(long, value_name = "ISS", default_value = DEFAULT_ISSUER)]
        issuer: String,
        /// The audience (`aud`); must match `kms serve --audience` if that is set.
        #[arg(long, value_name = "AUD")]
        audience: Option<String>,
    },
}

fn write_new(path: &Path, data: &[u8], mode: u32, exclusive: bool) -> Result<(), CliError> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    if exclusive {
        opts.create_new(true);
    } else {
        opts.create(true).truncate(true);
    }
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let err = |e: std::io::Error| CliError(format!("cannot write {}: {e}", path.display()));
    let mut f = opts.open(path).map_err(err)?;
    f.write_all(data).map_err(err)?;
    f.sync_all().map_err(err)
}

/// Runs one `idms` subcommand.
///
/// # Errors
/// A one-line message for any failure.
pub fn run(cmd: &IdmsCommand) -> Result<Output, CliError> {
    match cmd {
        IdmsCommand::Keygen { out, jwks } => {
            let key = IdmsKey::generate(&mut os_rng());
            let pem = key.to_pem().map_err(|e| CliError(e.to_string()))?;
            write_new(out, pem.as_bytes(), 0o600, true)?;
            write_new(jwks, key.jwks_json().as_bytes(), 0o644, false)?;
            Ok(Output::new()
                .text("key", out.display())
                .text("jwks", jwks.display())
                .text("kid", key.kid()))
        }
        IdmsCommand::Token {
            key,
            user,
            scope,
            ttl,
            issuer,
            audience,
        } => {
            let pem = zeroize::Zeroizing::new(read_text(key)?);
            let key =
                IdmsKey::from_pem(&pem).map_err(|e| CliError(format!("{}: {e}", key.display())))?;
            let token = key
                .token(&TokenRequest {
                    user: user.clone(),
                    scope: scope.clone(),
                    ttl: *ttl,
                    issuer: issuer.clone(),
                    audience: audience.clone(),
                    now: None,
                })
                .map_err(|e| CliError(e.to_string()))?;
            Ok(Output::new().line(token))
        }
    }
}
