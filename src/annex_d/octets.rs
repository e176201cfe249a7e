//! Octet-string values of Annex D documents: `xs:hexBinary` (written upper case), base64 also
//! accepted when reading, both decoded without a branch or a table index on the digits.
//!
//! Key values (the RSK and the SSK among them) go through the same decoder as public values.
//! The only data-dependent branches are on whether a character is XML whitespace (the layout of
//! the text, never a digit) and on the final verdicts "every digit is hexadecimal" and "the
//! text decoded", which say nothing about the value.

use core::fmt;

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// A secret octet string (an RSK, an SSK as carried in a key set): zeroized on drop, `Debug`
/// shows only the length, `==` is constant time in the contents.
#[derive(Clone)]
pub(crate) struct SecretOctets(Zeroizing<Vec<u8>>);

impl SecretOctets {
    /// Takes ownership of decoded octets.
    pub(crate) fn new(octets: Zeroizing<Vec<u8>>) -> Self {
        Self(octets)
    }

    /// Copies octets into a zeroizing buffer of exactly their length.
    pub(crate) fn copy_from(octets: &[u8]) -> Self {
        let mut v = Zeroizing::new(Vec::with_capacity(octets.len()));
        v.extend_from_slice(octets);
        Self(v)
    }

    /// The octets (secret).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretOctets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretOctets")
            .field("len", &self.0.len())
            .finish_non_exhaustive()
    }
}

impl ConstantTimeEq for SecretOctets {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        // The lengths are public; `ct_eq` on slices of different lengths is false.
        self.0.as_slice().ct_eq(other.0.as_slice())
    }
}

impl PartialEq for SecretOctets {
    fn eq(&self, other: &Self) -> bool {
        crate::ct::declassify(self.ct_eq(other))
    }
}

impl Eq for SecretOctets {}

/// Why a value is neither hexBinary nor base64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DecodeFailure {
    /// The element has no text.
    Empty,
    /// The text has the length of the hexBinary form but a character that is no hex digit.
    BadHex,
    /// Not hexBinary (a non-hex character or an odd number of digits) and not base64 either.
    NotHexOrBase64,
}

/// XML whitespace (XML 1.0 production S).
fn is_xml_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

/// `0xFF` when `lo <= c <= hi`, else `0x00`, without a branch.
fn in_range(c: u8, lo: u8, hi: u8) -> u8 {
    let c = i16::from(c);
    // Each difference lies in [-255, 255]; shifting right by 8 gives -1 exactly when negative.
    let below = (c - i16::from(lo)) >> 8;
    let above = (i16::from(hi) - c) >> 8;
    !(below | above).to_le_bytes()[0]
}

/// The value of a hex digit and a `0xFF` mask if `c` is one (either case).
fn hex_value(c: u8) -> (u8, u8) {
    let digit = in_range(c, b'0', b'9');
    let upper = in_range(c, b'A', b'F');
    let lower = in_range(c, b'a', b'f');
    let v = (digit & c.wrapping_sub(b'0'))
        | (upper & c.wrapping_sub(b'A' - 10))
        | (lower & c.wrapping_sub(b'a' - 10));
    (v, digit | upper | lower)
}

/// The value of a base64 digit (RFC 4648 s4 alphabet) and a `0xFF` mask if `c` is one.
fn base64_value(c: u8) -> (u8, u8) {
    let upper = in_range(c, b'A', b'Z');
    let lower = in_range(c, b'a', b'z');
    let digit = in_range(c, b'0', b'9');
    let plus = in_range(c, b'+', b'+');
    let slash = in_range(c, b'/', b'/');
    let v = (upper & c.wrapping_sub(b'A'))
        | (lower & c.wrapping_sub(b'a' - 26))
        | (digit & c.wrapping_add(52 - b'0'))
        | (plus & 62)
        | (slash & 63);
    (v, upper | lower | digit | plus | slash)
}

/// Decodes the text of a value element: hexBinary in either case, or base64 (with or without
/// `=` padding), with XML whitespace anywhere ignored.
///
/// The text is taken as hexBinary when every character is a hex digit and their number is
/// even; otherwise as base64. A base64 text of any of the lengths used here never passes for
/// hex: padded it contains `=`, unpadded its length is odd. A text of exactly `2 * nominal_len`
/// characters that does not decode to `nominal_len` octets as base64 is reported as hexBinary
/// with a bad digit ([`DecodeFailure::BadHex`]), which is what it almost certainly is.
pub(crate) fn decode(text: &str, nominal_len: usize) -> Result<Zeroizing<Vec<u8>>, DecodeFailure> {
    let bytes = text.as_bytes();
    let mut count = 0usize;
    let mut all_hex = 0xFFu8;
    for &c in bytes {
        if !is_xml_space(c) {
            count += 1;
            all_hex &= hex_value(c).1;
        }
    }
    if count == 0 {
        return Err(DecodeFailure::Empty);
    }
    let all_hex = crate::ct::declassify(all_hex.ct_eq(&0xFF));
    if all_hex && count.is_multiple_of(2) {
        return decode_hex(bytes, count).ok_or(DecodeFailure::BadHex);
    }
    let hex_length = Some(count) == nominal_len.checked_mul(2);
    match decode_base64(bytes, count) {
        Some(v) if !hex_length || v.len() == nominal_len => Ok(v),
        _ if hex_length => Err(DecodeFailure::BadHex),
        _ => Err(DecodeFailure::NotHexOrBase64),
    }
}

/// Hex digits (whitespace skipped) to octets; `None` if a character is not a hex digit or the
/// number of digits is odd.
fn decode_hex(bytes: &[u8], count: usize) -> Option<Zeroizing<Vec<u8>>> {
    if !count.is_multiple_of(2) {
        return None;
    }
    let mut out = Zeroizing::new(Vec::with_capacity(count / 2));
    let mut valid = 0xFFu8;
    let mut high: Option<u8> = None;
    for &c in bytes {
        if is_xml_space(c) {
            continue;
        }
        let (v, ok) = hex_value(c);
        valid &= ok;
        // `high` is Some on every second digit: the branch follows the position, not the value.
        match high.take() {
            None => high = Some(v),
            Some(h) => out.push((h << 4) | v),
        }
    }
    crate::ct::declassify(valid.ct_eq(&0xFF)).then_some(out)
}

/// Base64 (RFC 4648 s4, whitespace skipped, `=` padding optional but exact when present) to
/// octets; `None` unless canonical base64.
fn decode_base64(bytes: &[u8], count: usize) -> Option<Zeroizing<Vec<u8>>> {
    // Padding: up to two trailing `=` (the padding is layout, not data).
    let mut padding = 0usize;
    for &c in bytes.iter().rev() {
        if is_xml_space(c) {
            continue;
        }
        if c == b'=' && padding < 2 {
            padding += 1;
        } else {
            break;
        }
    }
    let digits = count - padding;
    if digits % 4 == 1 || (padding > 0 && !(digits + padding).is_multiple_of(4)) {
        return None;
    }
    let mut out = Zeroizing::new(Vec::with_capacity(digits / 4 * 3 + 2));
    let mut valid = 0xFFu8;
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    let mut seen = 0usize;
    for &c in bytes {
        if is_xml_space(c) {
            continue;
        }
        if seen == digits {
            break;
        }
        seen += 1;
        let (v, ok) = base64_value(c);
        valid &= ok;
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits).to_le_bytes()[0]);
            acc &= (1 << bits) - 1;
        }
    }
    // Canonical form: the bits left over after the last octet are zero.
    valid &= acc.ct_eq(&0).unwrap_u8().wrapping_neg();
    crate::ct::declassify(valid.ct_eq(&0xFF)).then_some(out)
}

/// An upper-case hex digit for a nibble, without a branch or a table.
fn hex_digit_upper(nibble: u8) -> u8 {
    let n = i16::from(nibble & 0x0F);
    // ((9 - n) >> 8) is -1 exactly when n > 9: add the 7 that separates '9' + 1 from 'A'.
    let adjust = ((9 - n) >> 8) & 7;
    (n + i16::from(b'0') + adjust).to_le_bytes()[0]
}

/// Upper-case hexBinary of `octets` in a buffer that is zeroized when dropped.
pub(crate) fn encode_hex_upper(octets: &[u8]) -> Zeroizing<String> {
    let mut s = Zeroizing::new(String::with_capacity(octets.len() * 2));
    for &b in octets {
        s.push(char::from(hex_digit_upper(b >> 4)));
        s.push(char::from(hex_digit_upper(b)));
    }
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use base64::Engine;

    #[test]
    fn hex_digits_match_the_hex_crate() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(encode_hex_upper(&all).as_str(), hex::encode_upper(&all));
        for c in 0..=255u8 {
            let (v, ok) = hex_value(c);
            match (c as char).to_digit(16) {
                Some(d) => assert_eq!((v, ok), (u8::try_from(d).unwrap(), 0xFF)),
                None => assert_eq!(ok, 0),
            }
        }
    }

    #[test]
    fn base64_digits_match_the_alphabet() {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for c in 0..=255u8 {
            let (v, ok) = base64_value(c);
            match alphabet.iter().position(|&a| a == c) {
                Some(i) => assert_eq!((usize::from(v), ok), (i, 0xFF)),
                None => assert_eq!(ok, 0),
            }
        }
    }

    #[test]
    fn decodes_hex_and_base64_of_every_short_length() {
        let std = base64::engine::general_purpose::STANDARD;
        let nopad = base64::engine::general_purpose::STANDARD_NO_PAD;
        for len in 1..80usize {
            let data: Vec<u8> = (0..len)
                .map(|i| ((i * 37 + 11) % 256).to_le_bytes()[0])
                .collect();
            let h = hex::encode(&data);
            assert_eq!(decode(&h, len).unwrap().as_slice(), &data[..]);
            assert_eq!(
                decode(&h.to_uppercase(), len).unwrap().as_slice(),
                &data[..]
            );
            let spaced: String = h
                .as_bytes()
                .chunks(7)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect::<Vec<_>>()
                .join("\n  ");
            assert_eq!(decode(&spaced, len).unwrap().as_slice(), &data[..]);
            let b = std.encode(&data);
            assert_eq!(decode(&b, len).unwrap().as_slice(), &data[..], "{b}");
            let b = nopad.encode(&data);
            if !(b.len().is_multiple_of(2) && b.bytes().all(|c| c.is_ascii_hexdigit())) {
                assert_eq!(decode(&b, len).unwrap().as_slice(), &data[..], "{b}");
            }
        }
    }

    #[test]
    fn rejects_bad_text() {
        assert_eq!(decode("", 4), Err(DecodeFailure::Empty));
        assert_eq!(decode(" \n", 4), Err(DecodeFailure::Empty));
        assert_eq!(decode("0011223G", 4), Err(DecodeFailure::BadHex));
        assert_eq!(decode("001", 4), Err(DecodeFailure::NotHexOrBase64));
        assert_eq!(decode("AAA=A", 4), Err(DecodeFailure::NotHexOrBase64));
        assert_eq!(decode("AB==", 4), Err(DecodeFailure::NotHexOrBase64)); // non-canonical
        assert_eq!(decode("A===", 4), Err(DecodeFailure::NotHexOrBase64));
        assert_eq!(decode("AAAA\u{e9}", 4), Err(DecodeFailure::NotHexOrBase64));
    }

    #[test]
    fn secret_octets_debug_shows_no_value() {
        let s = SecretOctets::copy_from(&[0xAB; 3]);
        let d = format!("{s:?}");
        assert!(
            !d.contains("171") && !d.contains("AB") && !d.contains("ab"),
            "{d}"
        );
        assert!(d.contains("len: 3"));
    }
}
