//! The Annex D request reader (TS 33.180 D.2.2 KmsRequest and SignedKmsRequest): never
//! panics; whatever it accepts writes back to a document that reads to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mikey_sakke::annex_d::{AnyKmsRequest, KmsRequest, SignedKmsRequest};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = KmsRequest::from_xml(text) {
        assert_eq!(KmsRequest::from_xml(&r.to_xml()).ok().as_ref(), Some(&r));
    }
    if let Ok(r) = SignedKmsRequest::from_xml(text) {
        assert_eq!(SignedKmsRequest::from_xml(&r.to_xml()).ok().as_ref(), Some(&r));
    }
    if let Ok(r) = AnyKmsRequest::from_xml(text) {
        let xml = match &r {
            AnyKmsRequest::Plain(p) => p.to_xml(),
            AnyKmsRequest::Signed(s) => s.to_xml(),
        };
        assert_eq!(AnyKmsRequest::from_xml(&xml).ok().as_ref(), Some(&r));
    }
});
