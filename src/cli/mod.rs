//! Shared plumbing of the command-line tool: hex arguments in, `name = HEX` lines out, one-line
//! errors. Each area (`sakke`, `eccsi`, ...) has its own module with a clap `Subcommand` enum and a
//! `run` function returning an [`Output`].

pub mod bench;
pub mod demo;
pub mod eccsi;
pub mod mikey;
pub mod sakke;

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
