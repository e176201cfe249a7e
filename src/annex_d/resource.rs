//! The resource URLs of TS 33.180 D.2.1: a user URI (or a time) is a path segment of
//! `.../keyprov/<URI>[/<time>]`, percent-escaped.

/// Percent-escapes everything but RFC 3986 unreserved characters (a URI in a path segment).
pub fn escape_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
