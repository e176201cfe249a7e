//! `ue::Client::load` from mutated Annex D documents: a KMS Initialize response (the
//! certificate) and a KeyProvision response (the key sets), separated by one NUL octet. Never
//! panics; a loaded client answers for its key periods.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mikey_sakke::annex_d::KmsResponse;
use mikey_sakke::ue::Client;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(2, |&b| b == 0);
    let (Some(cert), Some(keys)) = (parts.next(), parts.next()) else {
        return;
    };
    let (Ok(cert), Ok(keys)) = (std::str::from_utf8(cert), std::str::from_utf8(keys)) else {
        return;
    };
    let (Ok(cert), Ok(keys)) = (KmsResponse::from_xml(cert), KmsResponse::from_xml(keys)) else {
        return;
    };
    let Some(cert) = cert.certificate() else {
        return;
    };
    if let Ok(client) = Client::load(cert, keys.key_sets()) {
        let periods = client.key_periods();
        assert!(!periods.is_empty(), "a client loads with at least one key set");
    }
});
