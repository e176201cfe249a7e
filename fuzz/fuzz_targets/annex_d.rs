//! The Annex D XML reader (TS 33.180 D.2.3 KmsResponse): never panics, never expands entities,
//! stays within its size and depth limits; whatever it accepts writes back to a document that
//! reads to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mikey_sakke::annex_d::KmsResponse;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(doc) = KmsResponse::from_xml(text) {
        let again = KmsResponse::from_xml(&doc.to_xml());
        assert_eq!(again.as_ref().ok(), Some(&doc));
    }
});
