//! The command-line tool's readers of `mikey_sakke::input`: hex arguments (`decode_hex`),
//! secrets as hex text from a file or standard input (`decode_secret_hex`), and MIKEY
//! messages given raw, as hex or as base64 (`decode_message`). The first octet picks the
//! reader. Never panics; decoded hex re-encodes to the digits given; a decoded message is
//! never longer than its input, and empty only for text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mikey_sakke::input::{decode_hex, decode_message, decode_secret_hex};

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 3 {
        0 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                if let Ok(v) = decode_hex("x", text) {
                    let t = text.trim();
                    let body = t
                        .strip_prefix("0x")
                        .or_else(|| t.strip_prefix("0X"))
                        .unwrap_or(t);
                    let digits: String = body
                        .chars()
                        .filter(char::is_ascii_hexdigit)
                        .collect::<String>()
                        .to_lowercase();
                    assert_eq!(digits, hex::encode(&v), "{text:?}");
                    assert!(!v.is_empty());
                }
            }
        }
        1 => {
            if let Ok(v) = decode_secret_hex("secret", rest) {
                assert!(!v.is_empty() && v.len() <= rest.len() / 2);
            }
        }
        _ => {
            if let Ok(v) = decode_message(rest) {
                // Empty only for text of white space (and the SDP prefix) alone.
                assert!(v.len() <= rest.len());
                assert!(!v.is_empty() || rest.iter().all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace()));
            }
        }
    }
});
