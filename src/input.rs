//! Operator inputs, bounded and validated before any work: files and standard input read with a
//! cap suited to their kind, times in one syntax, lists of user and group URIs checked line by
//! line, and collision-free file names for URIs.
//!
//! The command-line tool reads every input through this module, so the same rules hold for
//! every command, and the fuzz targets drive the same code.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

/// Size caps per kind of input, in octets.
pub mod caps {
    /// A MIKEY message (an I_MESSAGE is well under 2 KiB).
    pub const MIKEY_MESSAGE: usize = 64 * 1024;
    /// An Annex D XML document (the XML reader's own cap).
    pub const ANNEX_D_DOCUMENT: usize = crate::annex_d::MAX_DOCUMENT_LEN;
    /// A file of user or group URIs (about four million typical lines).
    pub const URI_LIST: usize = 256 * 1024 * 1024;
    /// A secret or a key given as hex or base64 text.
    pub const KEY_TEXT: usize = 16 * 1024;
    /// A PEM file (certificate chain, private key) or a JWKS document.
    pub const PEM: usize = 1024 * 1024;
    /// An access token.
    pub const TOKEN: usize = 64 * 1024;
    /// One URI in a list (TS 24.379 sets no limit; 2 048 octets covers every real one).
    pub const URI: usize = 2048;
}

/// Why an input was refused. The message names the input and never shows more than 80
/// characters of its content.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputError {
    /// Over the cap for its kind.
    TooLarge {
        /// The input (a path, or "standard input").
        what: String,
        /// The cap in octets.
        cap: usize,
    },
    /// The input could not be read.
    Io {
        /// The input.
        what: String,
        /// The operating system's message.
        reason: String,
    },
    /// Not valid UTF-8 text.
    NotUtf8 {
        /// The input.
        what: String,
    },
    /// A time that does not parse or lies outside the accepted range.
    BadTime(String),
    /// Hex or base64 text that does not decode.
    BadEncoding(String),
}

impl core::fmt::Display for InputError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::TooLarge { what, cap } => {
                write!(
                    f,
                    "{what}: larger than the {cap}-octet limit for this input"
                )
            }
            Self::Io { what, reason } => write!(f, "cannot read {what}: {reason}"),
            Self::NotUtf8 { what } => write!(f, "{what}: not UTF-8 text"),
            Self::BadTime(why) | Self::BadEncoding(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for InputError {}

/// The display name of a path argument (`-` is standard input).
fn source_name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "standard input".to_string()
    } else {
        path.display().to_string()
    }
}

/// Reads at most `cap` octets from `reader`; more is an error (the reader is not drained).
///
/// # Errors
/// [`InputError::TooLarge`] past the cap, [`InputError::Io`] on a read error.
pub fn read_bounded_from<R: Read>(
    reader: R,
    cap: usize,
    what: &str,
) -> Result<Vec<u8>, InputError> {
    let mut buf = Vec::new();
    let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
    reader
        .take(limit)
        .read_to_end(&mut buf)
        .map_err(|e| InputError::Io {
            what: what.to_string(),
            reason: e.to_string(),
        })?;
    if buf.len() > cap {
        return Err(InputError::TooLarge {
            what: what.to_string(),
            cap,
        });
    }
    Ok(buf)
}

/// Reads a file (or standard input for `-`) of at most `cap` octets; a regular file whose size
/// is over the cap is refused without reading it.
///
/// # Errors
/// As [`read_bounded_from`], naming the file.
pub fn read_bounded(path: &Path, cap: usize) -> Result<Vec<u8>, InputError> {
    let what = source_name(path);
    if path.as_os_str() == "-" {
        return read_bounded_from(std::io::stdin().lock(), cap, &what);
    }
    let file = std::fs::File::open(path).map_err(|e| InputError::Io {
        what: what.clone(),
        reason: e.to_string(),
    })?;
    // A regular file over the cap is refused before a single octet is read; other files
    // (pipes, devices) stop at the cap.
    let over = |len: u64| usize::try_from(len).map_or(true, |l| l > cap);
    if file.metadata().is_ok_and(|m| m.is_file() && over(m.len())) {
        return Err(InputError::TooLarge { what, cap });
    }
    read_bounded_from(file, cap, &what)
}

/// Reads a UTF-8 text file (or standard input for `-`) of at most `cap` octets.
///
/// # Errors
/// As [`read_bounded`], and [`InputError::NotUtf8`].
pub fn read_bounded_text(path: &Path, cap: usize) -> Result<String, InputError> {
    let bytes = read_bounded(path, cap)?;
    String::from_utf8(bytes).map_err(|_| InputError::NotUtf8 {
        what: source_name(path),
    })
}

/// Seconds between the NTP epoch (1900) and the Unix epoch (1970).
pub const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// Parses a time in the one syntax every command accepts, to NTP seconds (since 1900):
///
/// * RFC 3339 in UTC or with an offset: `2026-11-24T12:00:00Z`;
/// * NTP seconds in decimal after `ntp:`: `ntp:3973075200`;
/// * NTP seconds in hex after `0x` (as MIKEY timestamps are printed): `0xECD4A580`.
///
/// Times before 1970 are refused in every form (RFC 3339 text of them could not be written).
///
/// # Errors
/// [`InputError::BadTime`] naming `option` and the expected forms.
pub fn parse_time(option: &str, value: &str) -> Result<u64, InputError> {
    let v = value.trim();
    let bad = |why: &str| {
        InputError::BadTime(format!(
            "--{option}: {why} (expected RFC 3339 such as 2026-11-24T12:00:00Z, ntp:SECONDS or 0xHEX NTP seconds)"
        ))
    };
    // Every form refuses a time before 1970, which the RFC 3339 form cannot express, so that
    // every accepted time prints ([`rfc3339`]) as what was given.
    let from_1970 = |s: u64| {
        if s < NTP_UNIX_OFFSET {
            Err(bad("before 1970"))
        } else {
            Ok(s)
        }
    };
    if let Some(dec) = v.strip_prefix("ntp:") {
        return dec
            .parse::<u64>()
            .ok()
            .filter(|s| *s <= u64::from(u32::MAX))
            .ok_or_else(|| bad("not NTP seconds in decimal"))
            .and_then(from_1970);
    }
    if let Some(hex) = v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        return u64::from_str_radix(hex, 16)
            .ok()
            .filter(|s| !hex.is_empty() && hex.len() <= 8 && *s <= u64::from(u32::MAX))
            .ok_or_else(|| bad("not NTP seconds in at most 8 hex digits"))
            .and_then(from_1970);
    }
    let t = humantime::parse_rfc3339_weak(v).map_err(|e| bad(&e.to_string()))?;
    let unix = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| bad("before 1970"))?
        .as_secs();
    Ok(unix + NTP_UNIX_OFFSET)
}

/// The current time in NTP seconds.
pub fn ntp_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(NTP_UNIX_OFFSET, |d| d.as_secs() + NTP_UNIX_OFFSET)
}

/// NTP seconds as RFC 3339 text (UTC, whole seconds).
pub fn rfc3339(ntp: u64) -> String {
    let t =
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(ntp.saturating_sub(NTP_UNIX_OFFSET));
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Which URIs a list may hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UriPolicy {
    /// Accepted schemes, lower case, without the colon.
    pub schemes: Vec<String>,
}

impl Default for UriPolicy {
    /// SIP and TEL URIs (TS 24.379 MC service IDs and group IDs), and the `mcptt`, `mcvideo`
    /// and `mcdata` schemes some deployments use for MC service identities.
    fn default() -> Self {
        Self {
            schemes: ["sip", "sips", "tel", "mcptt", "mcvideo", "mcdata"]
                .map(String::from)
                .to_vec(),
        }
    }
}

impl UriPolicy {
    /// A policy from a comma-separated list of schemes (`sip,tel`).
    ///
    /// # Errors
    /// A message for an empty list or a scheme that is not RFC 3986 `ALPHA *( ALPHA / DIGIT /
    /// "+" / "-" / "." )`.
    pub fn from_list(list: &str) -> Result<Self, String> {
        let mut schemes = Vec::new();
        for s in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let ok = s.starts_with(|c: char| c.is_ascii_alphabetic())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
            if !ok {
                return Err(format!("not a URI scheme: {}", excerpt(s)));
            }
            schemes.push(s.to_ascii_lowercase());
        }
        if schemes.is_empty() {
            return Err("no URI schemes given".into());
        }
        Ok(Self { schemes })
    }

    /// Checks one URI.
    ///
    /// # Errors
    /// What is wrong with it.
    pub fn check(&self, uri: &str) -> Result<(), UriProblem> {
        if uri.len() > caps::URI {
            return Err(UriProblem::TooLong(uri.len()));
        }
        if let Some(c) = uri.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(UriProblem::BadCharacter(c));
        }
        let Some((scheme, rest)) = uri.split_once(':') else {
            return Err(UriProblem::NoScheme);
        };
        let scheme = scheme.to_ascii_lowercase();
        if !self.schemes.contains(&scheme) {
            return Err(UriProblem::SchemeNotAllowed(scheme));
        }
        if rest.is_empty() {
            return Err(UriProblem::Empty);
        }
        Ok(())
    }
}

/// What is wrong with a URI.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UriProblem {
    /// Longer than [`caps::URI`] octets.
    TooLong(usize),
    /// A whitespace or control character.
    BadCharacter(char),
    /// No `scheme:`.
    NoScheme,
    /// A scheme outside the policy.
    SchemeNotAllowed(String),
    /// Nothing after the scheme.
    Empty,
    /// The line is not UTF-8.
    NotUtf8,
}

impl core::fmt::Display for UriProblem {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::TooLong(n) => write!(f, "URI of {n} octets, over the {}-octet limit", caps::URI),
            Self::BadCharacter(c) => write!(f, "character {c:?} not allowed in a URI"),
            Self::NoScheme => f.write_str("no URI scheme (such as sip:)"),
            Self::SchemeNotAllowed(s) => write!(f, "URI scheme {s:?} not accepted"),
            Self::Empty => f.write_str("nothing after the URI scheme"),
            Self::NotUtf8 => f.write_str("not UTF-8"),
        }
    }
}

/// A rejected line of a URI list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineError {
    /// The list's name (a path, or "standard input").
    pub source: String,
    /// The line number, from 1.
    pub line: usize,
    /// At most 80 characters of the line.
    pub excerpt: String,
    /// What is wrong.
    pub problem: UriProblem,
}

impl core::fmt::Display for LineError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.source, self.line, self.problem, self.excerpt
        )
    }
}

/// A parsed URI list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UriList {
    /// The valid URIs, each once, in first-seen order.
    pub uris: Vec<String>,
    /// URIs that appeared more than once: (URI, line numbers of the repeats).
    pub duplicates: Vec<(String, Vec<usize>)>,
    /// The rejected lines.
    pub invalid: Vec<LineError>,
}

/// At most 80 characters of `s`, with `...` when cut.
pub fn excerpt(s: &str) -> String {
    const MAX: usize = 80;
    let mut out: String = s
        .chars()
        .take(MAX)
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect();
    if s.chars().nth(MAX).is_some() {
        out.push_str("...");
    }
    out
}

/// Parses a URI list: one URI per line; blank lines and `#` comments (a whole line, or after
/// whitespace) ignored; each line checked against `policy` (and as UTF-8 on its own); a
/// repeated URI kept once and reported. Never fails: the caller decides what to do with
/// [`UriList::invalid`].
pub fn parse_uri_list(data: &[u8], source: &str, policy: &UriPolicy) -> UriList {
    let mut list = UriList::default();
    let mut seen = std::collections::HashSet::new();
    for (i, raw) in data.split(|&b| b == b'\n').enumerate() {
        let line_no = i + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let Ok(text) = core::str::from_utf8(raw) else {
            list.invalid.push(LineError {
                source: source.to_string(),
                line: line_no,
                excerpt: excerpt(&String::from_utf8_lossy(raw)),
                problem: UriProblem::NotUtf8,
            });
            continue;
        };
        let content = strip_comment(text).trim();
        if content.is_empty() {
            continue;
        }
        if let Err(problem) = policy.check(content) {
            list.invalid.push(LineError {
                source: source.to_string(),
                line: line_no,
                excerpt: excerpt(content),
                problem,
            });
            continue;
        }
        if seen.insert(content.to_string()) {
            list.uris.push(content.to_string());
        } else {
            match list.duplicates.iter_mut().find(|(u, _)| u == content) {
                Some((_, lines)) => lines.push(line_no),
                None => list.duplicates.push((content.to_string(), vec![line_no])),
            }
        }
    }
    list
}

/// The line without a `#` comment that starts the line or follows whitespace.
fn strip_comment(line: &str) -> &str {
    let mut prev_ws = true;
    for (i, c) in line.char_indices() {
        if c == '#' && prev_ws {
            return &line[..i];
        }
        prev_ws = c.is_whitespace();
    }
    line
}

/// Longest file name [`file_name_for`] produces, before its extension.
pub const MAX_FILE_STEM: usize = 200;

/// A file name for a URI, collision free and reversible: every octet outside `A-Z a-z 0-9 - _`
/// (and `.` except at the start) becomes `%XX`, so two URIs never share a name and
/// [`uri_for_file_name`] gives the URI back. A name that would exceed [`MAX_FILE_STEM`]
/// characters keeps its first 167 and ends in `~` and 32 hex digits of the URI's SHA-256
/// (still collision free in practice; not reversible).
pub fn file_name_for(uri: &str) -> String {
    let mut out = String::with_capacity(uri.len());
    for (i, &b) in uri.as_bytes().iter().enumerate() {
        let safe = b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || (b == b'.' && i > 0);
        if safe {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.len() <= MAX_FILE_STEM {
        return out;
    }
    let digest = Sha256::digest(uri.as_bytes());
    let mut cut = MAX_FILE_STEM - 33;
    // Do not split a %XX escape (the name is ASCII, so every index is a boundary).
    if let Some(p) = out[..cut].rfind('%').filter(|&p| p + 3 > cut) {
        cut = p;
    }
    format!("{}~{}", &out[..cut], hex::encode(&digest[..16]))
}

/// The URI a [`file_name_for`] name stands for (`None` for a hashed long name or a name it
/// does not produce).
pub fn uri_for_file_name(name: &str) -> Option<String> {
    if name.contains('~') {
        return None;
    }
    let b = name.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = name.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    let uri = String::from_utf8(out).ok()?;
    (file_name_for(&uri) == name).then_some(uri)
}

/// Parses hex text (upper or lower case, optional `0x`, spaces, colons and underscores
/// ignored), as every hex option takes it; `name` is the option, for the messages. The digit
/// buffer is zeroized (the text may be a secret).
///
/// # Errors
/// [`InputError::BadEncoding`] naming the option, and the position of a non-hex character, or
/// an empty value, or an odd number of digits.
pub fn decode_hex(name: &str, s: &str) -> Result<Vec<u8>, InputError> {
    let trimmed = s.trim();
    let body = trimmed
        .strip_prefix("0x")
        .or_else(|| trimmed.strip_prefix("0X"))
        .unwrap_or(trimmed);
    let mut digits = zeroize::Zeroizing::new(Vec::with_capacity(body.len()));
    for (pos, c) in body.char_indices() {
        if c.is_ascii_hexdigit() {
            digits.push(c as u8);
        } else if c == ' ' || c == ':' || c == '_' {
            continue;
        } else {
            return Err(InputError::BadEncoding(format!(
                "--{name}: not a hex digit {c:?} at position {pos}"
            )));
        }
    }
    if digits.is_empty() {
        return Err(InputError::BadEncoding(format!("--{name}: empty value")));
    }
    if digits.len() % 2 != 0 {
        return Err(InputError::BadEncoding(format!(
            "--{name}: odd number of hex digits ({})",
            digits.len()
        )));
    }
    hex::decode(digits.as_slice()).map_err(|e| InputError::BadEncoding(format!("--{name}: {e}")))
}

/// A secret's hex text as read from a file or standard input (`@FILE` or `-`): UTF-8, every
/// whitespace ignored, then [`decode_hex`]. Every buffer holding the secret is zeroized.
///
/// # Errors
/// [`InputError::BadEncoding`] naming the option; never the secret's value.
pub fn decode_secret_hex(
    name: &str,
    raw: &[u8],
) -> Result<zeroize::Zeroizing<Vec<u8>>, InputError> {
    let text = core::str::from_utf8(raw)
        .map_err(|_| InputError::BadEncoding(format!("--{name}: not hex text")))?;
    let digits: zeroize::Zeroizing<String> =
        zeroize::Zeroizing::new(text.split_whitespace().collect());
    Ok(zeroize::Zeroizing::new(decode_hex(name, &digits)?))
}

/// A MIKEY message as given to a command: raw octets, or hex text, or base64 text (optionally
/// after `a=key-mgmt:mikey `, as in an SDP line). A raw MIKEY message starts with the version
/// octet 0x01, so it is never mistaken for text. Text of white space alone (or the SDP prefix
/// alone) decodes to no octets, which the MIKEY parser then refuses as an empty message.
///
/// # Errors
/// [`InputError::BadEncoding`] for empty input, an odd number of hex digits, or text that is
/// neither hex nor base64.
pub fn decode_message(raw: &[u8]) -> Result<Vec<u8>, InputError> {
    use base64::Engine as _;
    let bad = |why: String| InputError::BadEncoding(why);
    let is_text = !raw.is_empty()
        && raw
            .iter()
            .all(|&b| b.is_ascii_graphic() || b.is_ascii_whitespace());
    if !is_text {
        if raw.is_empty() {
            return Err(bad("empty input".into()));
        }
        return Ok(raw.to_vec());
    }
    let text = String::from_utf8_lossy(raw);
    let mut t = text.trim();
    for prefix in ["a=key-mgmt:mikey", "key-mgmt:mikey", "mikey"] {
        if let Some(rest) = t.strip_prefix(prefix) {
            t = rest.trim_start();
            break;
        }
    }
    let compact: String = t.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let hex_body = compact
        .strip_prefix("0x")
        .or_else(|| compact.strip_prefix("0X"))
        .unwrap_or(&compact);
    if !hex_body.is_empty() && hex_body.chars().all(|c| c.is_ascii_hexdigit()) {
        if !hex_body.len().is_multiple_of(2) {
            return Err(bad(format!(
                "hex input has an odd number of digits ({})",
                hex_body.len()
            )));
        }
        return hex::decode(hex_body).map_err(|e| bad(format!("bad hex input: {e}")));
    }
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    engine.decode(compact.as_bytes()).map_err(|e| {
        bad(format!(
            "input is neither a raw message, hex nor base64: {e}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_and_hex_readers() {
        let raw = [1u8, 0, 26, 0];
        assert_eq!(decode_message(&raw).unwrap(), raw);
        assert_eq!(decode_message(b"0x0100 1a00").unwrap(), raw);
        assert_eq!(decode_message(b"a=key-mgmt:mikey AQAaAA==").unwrap(), raw);
        assert_eq!(decode_message(b"AQAaAA").unwrap(), raw);
        assert!(decode_message(b"").is_err());
        // White space (or the SDP prefix) alone: no octets, for the parser to refuse.
        for blank in [&b"\x0c"[..], b" \n\t", b"mikey ", b"a=key-mgmt:mikey"] {
            assert_eq!(decode_message(blank).unwrap(), b"", "{blank:?}");
        }
        assert!(
            decode_message(b"abc")
                .unwrap_err()
                .to_string()
                .contains("odd")
        );
        assert_eq!(
            decode_hex("k", "0x0A:bc_01 ff").unwrap(),
            [10, 0xbc, 1, 0xff]
        );
        for (bad, why) in [("", "empty"), ("abc", "odd"), ("0g", "position 1")] {
            let e = decode_hex("k", bad).unwrap_err().to_string();
            assert!(e.starts_with("--k: ") && e.contains(why), "{e}");
        }
        assert_eq!(
            *decode_secret_hex("s", b"00 11\n22\t33\n").unwrap(),
            [0, 0x11, 0x22, 0x33]
        );
        assert!(
            decode_secret_hex("s", b"\xff")
                .unwrap_err()
                .to_string()
                .contains("not hex text")
        );
    }

    #[test]
    fn bounded_read_stops_at_the_cap() {
        let zeros = std::io::repeat(0).take(1 << 30);
        let e = read_bounded_from(zeros, 1024, "zeros").unwrap_err();
        assert_eq!(
            e,
            InputError::TooLarge {
                what: "zeros".into(),
                cap: 1024
            }
        );
        assert_eq!(
            read_bounded_from(&[1u8; 1024][..], 1024, "x")
                .unwrap()
                .len(),
            1024
        );
    }

    #[test]
    fn times_in_every_syntax() {
        let t = parse_time("time", "2026-11-24T12:00:00Z").unwrap();
        assert_eq!(t, 1_795_521_600 + NTP_UNIX_OFFSET);
        assert_eq!(parse_time("time", &format!("ntp:{t}")).unwrap(), t);
        assert_eq!(parse_time("time", &format!("0x{t:X}")).unwrap(), t);
        assert_eq!(rfc3339(t), "2026-11-24T12:00:00Z");
        for bad in [
            "",
            "yesterday",
            "ntp:",
            "ntp:-1",
            "0x",
            "0x1FFFFFFFF",
            "ntp:99999999999",
            // Before 1970 (found by fuzz/fuzz_targets/input.rs: these printed as 1970-01-01).
            "ntp:0",
            "0X0ECA5180",
            "ntp:2208988799",
            "1969-12-31T23:59:59Z",
        ] {
            let e = parse_time("time", bad).unwrap_err().to_string();
            assert!(e.starts_with("--time: "), "{bad}: {e}");
        }
        // Every accepted NTP time prints to RFC 3339 text that reads back to it.
        for t in [NTP_UNIX_OFFSET, NTP_UNIX_OFFSET + 1, u64::from(u32::MAX)] {
            assert_eq!(parse_time("time", &format!("ntp:{t}")).unwrap(), t);
            assert_eq!(parse_time("time", &rfc3339(t)).unwrap(), t);
        }
    }

    #[test]
    fn uri_lists_are_checked_line_by_line() {
        let data = b"# users\nsip:alice@example.org\n\n  sip:bob@example.org   # trailing\nhello world\n!!!\nsip:alice@example.org\ntel:+4930123#5\n\xff\xfe\nsip:alice@example.org\r\n";
        let l = parse_uri_list(data, "users.txt", &UriPolicy::default());
        assert_eq!(
            l.uris,
            [
                "sip:alice@example.org",
                "sip:bob@example.org",
                "tel:+4930123#5"
            ]
        );
        assert_eq!(
            l.duplicates,
            vec![("sip:alice@example.org".to_string(), vec![7, 10])]
        );
        let lines: Vec<usize> = l.invalid.iter().map(|e| e.line).collect();
        assert_eq!(lines, [5, 6, 9]);
        assert_eq!(l.invalid[0].problem, UriProblem::BadCharacter(' '));
        assert_eq!(l.invalid[1].problem, UriProblem::NoScheme);
        assert_eq!(l.invalid[2].problem, UriProblem::NotUtf8);
        assert_eq!(
            l.invalid[0].to_string(),
            "users.txt:5: character ' ' not allowed in a URI: hello world"
        );
    }

    #[test]
    fn long_lines_are_cut_in_messages() {
        let long = format!("sip:{}@example.org", "a".repeat(70_000));
        let l = parse_uri_list(long.as_bytes(), "u", &UriPolicy::default());
        assert_eq!(l.invalid.len(), 1);
        assert!(matches!(l.invalid[0].problem, UriProblem::TooLong(_)));
        assert!(l.invalid[0].to_string().len() < 200);
    }

    #[test]
    fn policies() {
        let p = UriPolicy::from_list("sip, urn").unwrap();
        assert!(p.check("urn:x").is_ok());
        assert_eq!(
            p.check("tel:+1"),
            Err(UriProblem::SchemeNotAllowed("tel".into()))
        );
        assert!(UriPolicy::from_list(" , ").is_err());
        assert!(UriPolicy::from_list("s p").is_err());
        assert_eq!(p.check("sip:"), Err(UriProblem::Empty));
    }

    #[test]
    fn file_names_never_collide_and_reverse() {
        let uris = [
            "sip:a_b@c.org",
            "sip:a:b@c.org",
            "sip:a/b@c.org",
            "sip:a@b_c.org",
            "sip:a%3Ab@c.org",
            ".hidden",
            "..",
            "sip:ünï@c.org",
        ];
        let names: std::collections::HashSet<String> =
            uris.iter().map(|u| file_name_for(u)).collect();
        assert_eq!(names.len(), uris.len());
        for u in uris {
            let n = file_name_for(u);
            assert!(!n.contains('/') && !n.starts_with('.'), "{n}");
            assert_eq!(uri_for_file_name(&n).as_deref(), Some(u));
        }
        assert_eq!(
            file_name_for("sip:alice@example.org"),
            "sip%3Aalice%40example.org"
        );
        for len in [150, 199, 200, 201, 500, 2048] {
            for fill in ["a", ":", "ab:"] {
                let u = format!("sip:{}", fill.repeat(len));
                let n = file_name_for(&u);
                assert!(n.len() <= MAX_FILE_STEM, "{} for {len}", n.len());
                let v = format!("{u}x");
                assert_ne!(n, file_name_for(&v));
                if n.contains('~') {
                    assert_eq!(uri_for_file_name(&n), None);
                } else {
                    assert_eq!(uri_for_file_name(&n).as_deref(), Some(u.as_str()));
                }
            }
        }
        assert_eq!(uri_for_file_name("a%ZZ"), None);
        assert_eq!(uri_for_file_name("%61"), None);
    }
}
