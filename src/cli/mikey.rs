//! `mikey-sakke mikey ...`: MIKEY messages (RFC 3830, RFC 6043, RFC 6509).

use std::io::Read as _;

use base64::Engine as _;
use mikey_sakke::mikey::{self, SignCoverage};

use super::{CliError, Output};

/// MIKEY message tools.
#[derive(clap::Subcommand, Debug)]
pub enum MikeyCommand {
    /// Decode a MIKEY message and print every payload and field with its offset.
    ///
    /// The input is the raw message, or its base64 text (as carried after `mikey ` in an SDP
    /// `a=key-mgmt` line, which may be included), or its hex text; the form is detected.
    Inspect {
        /// The file to read, or `-` for standard input.
        #[arg(value_name = "FILE|-")]
        input: String,
    },
}

/// Runs one `mikey` subcommand.
///
/// # Errors
/// A one-line message for unreadable input, text that is neither hex nor base64, or a
/// malformed message (with the offset and the payload).
pub fn run(cmd: &MikeyCommand) -> Result<Output, CliError> {
    match cmd {
        MikeyCommand::Inspect { input } => {
            let raw = read_input(input)?;
            let octets = decode_input(&raw)?;
            inspect(&octets)
        }
    }
}

fn read_input(path: &str) -> Result<Vec<u8>, CliError> {
    let mut buf = Vec::new();
    if path == "-" {
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| CliError(format!("cannot read standard input: {e}")))?;
    } else {
        buf = std::fs::read(path).map_err(|e| CliError(format!("cannot read {path}: {e}")))?;
    }
    Ok(buf)
}

/// Raw octets, or hex text, or base64 text (optionally after `a=key-mgmt:mikey `). A raw
/// MIKEY message starts with the version octet 0x01, so it is never mistaken for text.
fn decode_input(raw: &[u8]) -> Result<Vec<u8>, CliError> {
    let is_text = !raw.is_empty()
        && raw
            .iter()
            .all(|&b| b.is_ascii_graphic() || b.is_ascii_whitespace());
    if !is_text {
        if raw.is_empty() {
            return Err(CliError::new("empty input"));
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
            return Err(CliError(format!(
                "hex input has an odd number of digits ({})",
                hex_body.len()
            )));
        }
        return hex::decode(hex_body).map_err(|e| CliError(format!("bad hex input: {e}")));
    }
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    engine.decode(compact.as_bytes()).map_err(|e| {
        CliError(format!(
            "input is neither a raw message, hex nor base64: {e}"
        ))
    })
}

/// Octets per line of the hex column.
const HEX_PER_LINE: usize = 16;

fn inspect(octets: &[u8]) -> Result<Output, CliError> {
    let msg = mikey::parse(octets).map_err(|e| CliError(e.to_string()))?;
    let mut out = Output::new().line(format!(
        "MIKEY message: {} octets, HDR and {} payload(s)",
        octets.len(),
        msg.payloads().len()
    ));
    out = out.line(format!(
        "{:>6}  {:<w$}  field",
        "offset",
        "octets",
        w = 2 * HEX_PER_LINE
    ));
    for a in msg.annotate() {
        let indent = "  ".repeat(usize::from(a.depth));
        let field = octets.get(a.offset..a.offset + a.len).unwrap_or_default();
        let mut chunks = field.chunks(HEX_PER_LINE);
        let first = chunks.next().map(hex::encode).unwrap_or_default();
        out = out.line(format!(
            "{:>6}  {:<w$}  {indent}{}",
            a.offset,
            first,
            a.text,
            w = 2 * HEX_PER_LINE
        ));
        for (i, chunk) in chunks.enumerate() {
            out = out.line(format!(
                "{:>6}  {}",
                a.offset + (i + 1) * HEX_PER_LINE,
                hex::encode(chunk)
            ));
        }
    }
    out = out.line(format!("total {} octets", octets.len()));
    if let (Some(at), Some(rfc)) = (msg.sign_offset(), msg.signed_portion(SignCoverage::Rfc3830)) {
        out = out.line(format!(
            "signed (RFC 3830 s5.2, through the SIGN header): octets 0 to {} ({} octets)",
            rfc.len().saturating_sub(1),
            rfc.len()
        ));
        out = out.line(format!(
            "signed without the SIGN header (compatibility): octets 0 to {} ({at} octets)",
            at.saturating_sub(1)
        ));
    }
    Ok(out)
}
