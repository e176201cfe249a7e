//! Shared plumbing of the command-line tool: hex arguments in, `name = HEX` lines out, one-line
//! errors. Each area (`sakke`, `eccsi`, ...) has its own module with a clap `Subcommand` enum and a
//! `run` function returning an [`Output`].

pub mod bench;
pub mod demo;
pub mod eccsi;
pub mod gms;
pub mod jobs;
pub mod kms;
pub mod mikey;
pub mod sakke;
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

/// Whether an option has already read standard input (only one may).
static STDIN_TAKEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A secret given as `@FILE`, `-` (standard input) or, for tests only, hex on the command line.
/// The file or stream holds hex (whitespace ignored) and is read with a cap.
///
/// # Errors
/// A message naming the option; never the secret's value.
pub fn secret_hex(name: &str, arg: &str) -> Result<zeroize::Zeroizing<Vec<u8>>, CliError> {
    use mikey_sakke::input::{caps, read_bounded};
    let text = if arg == "-" {
        if STDIN_TAKEN.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return Err(CliError(format!(
                "--{name}: standard input is already read by another option"
            )));
        }
        Some(read_bounded(std::path::Path::new("-"), caps::KEY_TEXT))
    } else {
        arg.strip_prefix('@')
            .map(|path| read_bounded(std::path::Path::new(path), caps::KEY_TEXT))
    };
    match text {
        None => Ok(zeroize::Zeroizing::new(parse_hex(name, arg)?)),
        Some(read) => {
            let raw =
                zeroize::Zeroizing::new(read.map_err(|e| CliError(format!("--{name}: {e}")))?);
            let text = core::str::from_utf8(&raw)
                .map_err(|_| CliError(format!("--{name}: not hex text")))?;
            let digits: zeroize::Zeroizing<String> =
                zeroize::Zeroizing::new(text.split_whitespace().collect());
            Ok(zeroize::Zeroizing::new(parse_hex(name, &digits)?))
        }
    }
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

/// A time in the one syntax every command takes (RFC 3339, `ntp:SECONDS` or `0xHEX` NTP
/// seconds: [`mikey_sakke::input::parse_time`]), or now, as NTP seconds.
///
/// # Errors
/// A message naming the option for an unparsable time.
pub fn ntp_time(option: &str, value: Option<&str>) -> Result<u64, CliError> {
    match value {
        Some(v) => mikey_sakke::input::parse_time(option, v).map_err(|e| CliError(e.to_string())),
        None => Ok(mikey_sakke::input::ntp_now()),
    }
}

/// NTP seconds as RFC 3339 text.
pub fn rfc3339(ntp: u64) -> String {
    mikey_sakke::input::rfc3339(ntp)
}

/// Reads an XML document or other text input (or `-` for standard input), refusing more than
/// an Annex D document's cap.
///
/// # Errors
/// A message naming the file.
pub fn read_text(path: &std::path::Path) -> Result<String, CliError> {
    mikey_sakke::input::read_bounded_text(path, mikey_sakke::input::caps::ANNEX_D_DOCUMENT)
        .map_err(|e| CliError(e.to_string()))
}

/// URIs from a file (or `-`): one per line, blank lines and `#` comments ignored, every line
/// checked before anything is done with any of them; a repeated URI counts once.
///
/// # Errors
/// A message naming the file and the first rejected lines (80 characters of each at most).
pub fn read_uris(path: &std::path::Path) -> Result<Vec<String>, CliError> {
    use mikey_sakke::input::{UriPolicy, caps, parse_uri_list, read_bounded};
    let data = read_bounded(path, caps::URI_LIST).map_err(|e| CliError(e.to_string()))?;
    let name = if path.as_os_str() == "-" {
        "standard input".to_string()
    } else {
        path.display().to_string()
    };
    let list = parse_uri_list(&data, &name, &UriPolicy::default());
    if !list.invalid.is_empty() {
        let shown: Vec<String> = list
            .invalid
            .iter()
            .take(5)
            .map(ToString::to_string)
            .collect();
        let more = list.invalid.len().saturating_sub(shown.len());
        let tail = if more > 0 {
            format!(" (and {more} more)")
        } else {
            String::new()
        };
        return Err(CliError(format!(
            "{} invalid line(s), nothing done: {}{tail}",
            list.invalid.len(),
            shown.join("; ")
        )));
    }
    for (uri, lines) in &list.duplicates {
        let lines: Vec<String> = lines.iter().map(ToString::to_string).collect();
        eprintln!(
            "{name}: {} repeated on line(s) {}; used once",
            mikey_sakke::input::excerpt(uri),
            lines.join(", ")
        );
    }
    Ok(list.uris)
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
