//! The MIKEY parser: never panics; whatever it accepts re-encodes to the same octets; the
//! human-readable dump never panics either.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = mikey_sakke::mikey::parse(data) {
        assert_eq!(msg.encode(), data);
        let _ = msg.annotate();
        let _ = msg.signed_portion(mikey_sakke::mikey::SignCoverage::Rfc3830);
        for g in msg.general_extensions() {
            if let Some(Ok(s)) = g.sakke_to_self() {
                let _ = s.encode_standalone();
            }
        }
    }
});
