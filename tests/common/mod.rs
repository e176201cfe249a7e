//! Shared test helpers: the `name = hex` vector-file reader.
#![allow(dead_code)]

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
