//! Shared test helpers: the `name = hex` vector-file reader.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::HashMap;

/// Parses `name = hex` lines (`#` comments, blank lines ignored) into octets.
pub fn parse(text: &str) -> HashMap<String, Vec<u8>> {
    let mut m = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim();
        if let Ok(bytes) = hex::decode(v) {
            m.insert(k.trim().to_string(), bytes);
        }
    }
    m
}

/// One value of a vector file, by name.
pub fn get<'a>(m: &'a HashMap<String, Vec<u8>>, k: &str) -> &'a [u8] {
    m.get(k).unwrap_or_else(|| panic!("vector {k} missing"))
}

pub const RFC6508: &str = include_str!("../../vectors/rfc6508.txt");
pub const RFC6507: &str = include_str!("../../vectors/rfc6507.txt");
pub const MCX: &str = include_str!("../../vectors/mcx-interop.txt");

/// The raw text of one `name = value` line (for values that are not hex, e.g. base64).
pub fn text_value<'a>(text: &'a str, k: &str) -> &'a str {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .find(|(name, _)| name.trim() == k)
        .map(|(_, v)| v.trim())
        .unwrap_or_else(|| panic!("vector {k} missing"))
}

// one copy per including module by design (see state.rs)
#[allow(clippy::duplicate_mod)]
#[path = "state.rs"]
mod state;
#[allow(unused_imports)]
pub use state::fresh_state_home;

/// The copy of a message whose ECCSI signature `(r, s)` was changed into `(r, q - s)`: anyone
/// can make it, and it verifies (RFC 6507 does not fix the sign of `s`).
pub fn with_negated_s(msg: &[u8]) -> Vec<u8> {
    use num_bigint::BigUint;
    let q = BigUint::parse_bytes(
        b"FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551",
        16,
    )
    .unwrap();
    let at = msg.len() - mikey_sakke::eccsi::SIGNATURE_LEN + 32;
    let s = BigUint::from_bytes_be(&msg[at..at + 32]);
    let neg = (&q - s).to_bytes_be();
    let mut out = msg.to_vec();
    out[at..at + 32].fill(0);
    out[at + 32 - neg.len()..at + 32].copy_from_slice(&neg);
    assert_ne!(out, msg);
    out
}
