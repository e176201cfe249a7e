//! `gms::GroupManager::load` from mutated Annex D documents: a KMS Initialize response (the
//! certificate) and a KeyProvision response (the key sets), separated by one NUL octet. Never
//! panics; a loaded group manager has a signer for each of its key periods.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mikey_sakke::annex_d::KmsResponse;
use mikey_sakke::gms::GroupManager;

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
    if let Ok(gm) = GroupManager::load(cert, keys.key_sets()) {
        let _ = gm.periods();
        for p in gm.key_periods() {
            assert!(gm.signer(p).is_ok(), "no signer for loaded period {p}");
        }
    }
});
