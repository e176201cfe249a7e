//! Shared plumbing of the command-line tool: hex arguments in, `name = HEX` lines out, one-line
//! errors. Each area (`sakke`, `eccsi`, ...) has its own module with a clap `Subcommand` enum and a
//! `run` function returning an [`Output`].

pub mod bench;
pub mod demo;
pub mod eccsi;
#[cfg(feature = "fetch")]
pub mod fetch;
pub mod gms;
#[cfg(feature = "server")]
pub mod idms;
pub mod kms;
pub mod mikey;
pub mod sakke;
#[cfg(feature = "server")]
pub mod serve;
pub mod ue;

use std::fmt;

/// A one-line error reported on stderr; the process then exits with status 1.
#[derive(Debug)]
pub struct CliError(pub String);

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl CliError {
    /// An error with the given message.
    pub fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}

/// What a command prints: `name = value` lines in the format of the vector files (or free-form
/// lines, for dumps), and an exit status (0 unless a check such as a validation came out
/// negative).
#[derive(Debug, Default)]
pub struct Output {
    lines: Vec<Line>,
    /// Exit status to use after printing (1 for a negative validation result).
    pub status: i32,
}

/// One printed line.
#[derive(Debug)]
enum Line {
    /// `name = value`.
    Pair(String, String),
    /// A line printed as is.
    Text(String),
}

impl Output {
    /// An empty output with exit status 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `name = HEX` (upper-case hex, like the vector files).
    pub fn hex(mut self, name: &str, bytes: &[u8]) -> Self {
        self.lines
            .push(Line::Pair(name.to_string(), hex::encode_upper(bytes)));
        self
    }

    /// Adds `name = value` with a plain text value.
    pub fn text(mut self, name: &str, value: impl fmt::Display) -> Self {
        self.lines
            .push(Line::Pair(name.to_string(), value.to_string()));
        self
    }

    /// Adds a line printed as is (for dumps that are not `name = value` lists).
    pub fn line(mut self, text: impl Into<String>) -> Self {
        self.lines.push(Line::Text(text.into()));
        self
    }

    /// Sets the exit status.
    pub fn with_status(mut self, status: i32) -> Self {
        self.status = status;
        self
    }

    /// Renders the lines.
    pub fn render(&self) -> String {
        let mut s = String::new();
        for line in &self.lines {
            match line {
                Line::Pair(k, v) => {
                    s.push_str(k);
                    s.push_str(" = ");
                    s.push_str(v);
                }
                Line::Text(t) => s.push_str(t),
            }
            s.push('\n');
        }
        s
    }
}

/// Parses a hex argument (upper or lower case, optional `0x`, spaces and colons ignored).
///
/// # Errors
/// A message naming the argument, and the offending position for a non-hex character or an odd
/// number of digits.
pub fn parse_hex(name: &str, s: &str) -> Result<Vec<u8>, CliError> {
    let trimmed = s.trim();
    let body = trimmed
        .strip_prefix("0x")
        .or_else(|| trimmed.strip_prefix("0X"))
        .unwrap_or(trimmed);
    let mut digits = Vec::with_capacity(body.len());
    for (pos, c) in body.char_indices() {
        if c.is_ascii_hexdigit() {
            digits.push(c as u8);
        } else if c == ' ' || c == ':' || c == '_' {
            continue;
        } else {
            return Err(CliError(format!(
                "--{name}: not a hex digit {c:?} at position {pos}"
            )));
        }
    }
    if digits.is_empty() {
        return Err(CliError(format!("--{name}: empty value")));
    }
    if digits.len() % 2 != 0 {
        return Err(CliError(format!(
            "--{name}: odd number of hex digits ({})",
            digits.len()
        )));
    }
    hex::decode(&digits).map_err(|e| CliError(format!("--{name}: {e}")))
}

/// The operating system's random number generator, as an infallible `CryptoRng`.
pub fn os_rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}

/// The store passphrase: the `MIKEY_SAKKE_PASSPHRASE` environment variable, else a prompt on
/// the terminal (without echo).
///
/// # Errors
/// When neither is available, or the passphrase is empty.
pub fn passphrase() -> Result<zeroize::Zeroizing<Vec<u8>>, CliError> {
    let p = match std::env::var("MIKEY_SAKKE_PASSPHRASE") {
        Ok(v) => v,
        Err(_) => rpassword::prompt_password("store passphrase: ").map_err(|_| {
            CliError::new("no passphrase: set MIKEY_SAKKE_PASSPHRASE or run on a terminal")
        })?,
    };
    if p.is_empty() {
        return Err(CliError::new("the passphrase is empty"));
    }
    Ok(zeroize::Zeroizing::new(p.into_bytes()))
}

/// Seconds between the NTP epoch (1900) and the Unix epoch (1970).
pub const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// An RFC 3339 UTC time (`2026-11-24T12:00:00Z`), or now, as NTP seconds.
///
/// # Errors
/// A message naming the option for an unparsable time.
pub fn ntp_time(option: &str, value: Option<&str>) -> Result<u64, CliError> {
    let t = match value {
        Some(v) => humantime::parse_rfc3339_weak(v.trim()).map_err(|e| {
            CliError(format!(
                "--{option}: {e} (expected e.g. 2026-11-24T12:00:00Z)"
            ))
        })?,
        None => std::time::SystemTime::now(),
    };
    let unix = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| CliError(format!("--{option}: before 1970")))?
        .as_secs();
    Ok(unix + NTP_UNIX_OFFSET)
}

/// NTP seconds as RFC 3339 text.
pub fn rfc3339(ntp: u64) -> String {
    let t =
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(ntp.saturating_sub(NTP_UNIX_OFFSET));
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Reads a text file (or `-` for standard input).
///
/// # Errors
/// A message naming the file.
pub fn read_text(path: &std::path::Path) -> Result<String, CliError> {
    if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| CliError(format!("cannot read standard input: {e}")))?;
        return Ok(s);
    }
    std::fs::read_to_string(path)
        .map_err(|e| CliError(format!("cannot read {}: {e}", path.display())))
}

/// URIs from a file: one per line, blank lines and `#` comments ignored.
///
/// # Errors
/// A message naming the file.
pub fn read_uris(path: &std::path::Path) -> Result<Vec<String>, CliError> {
    Ok(read_text(path)?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect())
}

/// A file name for a URI (characters other than letters, digits, `.`, `-` and `_` become `_`).
pub fn file_name_for(uri: &str) -> String {
    uri.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
pub fn progress(total: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(total),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}
