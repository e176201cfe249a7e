//! The key-parameters payload (TS 33.180 E.6): the clear decoder and the protected-payload
//! opener with a fixed key never panic; decoded parameters re-encode to the same octets.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mikey_sakke::mcx::key_params::{self, KeyParameters};

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = KeyParameters::decode(data) {
        assert_eq!(p.encode().ok().as_deref(), Some(data));
    }
    let _ = key_params::open(&[7u8; 16], data);
});
