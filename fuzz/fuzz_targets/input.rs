//! The operator input readers of `mikey_sakke::input`: times, URI lists and scheme policies,
//! the reversible file names of URIs, bounded reads. The first octet picks the reader. Never
//! panics; a parsed time prints to RFC 3339 and parses back; a file name that is reversible
//! gives its URI back; a bounded read never returns more than its cap.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mikey_sakke::input::{
    UriPolicy, file_name_for, parse_time, parse_uri_list, read_bounded_from, rfc3339,
    uri_for_file_name,
};

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let text = std::str::from_utf8(rest);
    match which % 5 {
        0 => {
            if let Ok(t) = text.map(|s| parse_time("time", s)) {
                if let Ok(t) = t {
                    let printed = rfc3339(t);
                    if let Ok(again) = parse_time("time", &printed) {
                        assert_eq!(again, t, "{printed}");
                    }
                }
            }
        }
        1 => {
            // First line: a scheme list (else the default policy); the rest: the URI list.
            let (first, list) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (&rest[..0], rest),
            };
            let policy = std::str::from_utf8(first)
                .ok()
                .and_then(|s| UriPolicy::from_list(s).ok())
                .unwrap_or_default();
            let parsed = parse_uri_list(list, "fuzz", &policy);
            for uri in &parsed.uris {
                assert!(policy.check(uri).is_ok(), "{uri}");
            }
        }
        2 => {
            if let Ok(uri) = text {
                let name = file_name_for(uri);
                assert!(name.len() <= mikey_sakke::input::MAX_FILE_STEM + 33, "{name}");
                if !name.contains('~') {
                    assert_eq!(uri_for_file_name(&name).as_deref(), Some(uri));
                }
            }
        }
        3 => {
            if let Ok(name) = text {
                if let Some(uri) = uri_for_file_name(name) {
                    // The name's URI maps to a name that maps back to the same URI.
                    let again = file_name_for(&uri);
                    if !again.contains('~') {
                        assert_eq!(uri_for_file_name(&again).as_deref(), Some(uri.as_str()));
                    }
                }
            }
        }
        _ => {
            let Some((&cap, body)) = rest.split_first() else {
                return;
            };
            let cap = usize::from(cap);
            match read_bounded_from(body, cap, "fuzz") {
                Ok(read) => assert!(read.len() <= cap && read == body),
                Err(_) => assert!(body.len() > cap),
            }
        }
    }
});
