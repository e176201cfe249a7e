//! `gms::GroupManager::load` from mutated Annex D documents: a KMS Initialize response (the
//! certificate) and a KeyProvision response (the key sets), separated by one NUL octet. Never
//! panics; a loaded group manager has a signer for each of its key periods.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common/documents.rs"]
mod documents;

use mikey_sakke::gms::GroupManager;

fuzz_target!(|data: &[u8]| {
    let Some((cert, keys)) = documents::documents(data) else {
        return;
    };
    if let Ok(gm) = GroupManager::load(&cert, keys.key_sets()) {
        let _ = gm.periods();
        for p in gm.key_periods() {
            assert!(gm.signer(p).is_ok(), "no signer for loaded period {p}");
        }
    }
});
