//! `ue::Client::load` from mutated Annex D documents: a KMS Initialize response (the
//! certificate) and a KeyProvision response (the key sets), separated by one NUL octet. Never
//! panics; a loaded client answers for its key periods.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common/documents.rs"]
mod documents;

use mikey_sakke::ue::Client;

fuzz_target!(|data: &[u8]| {
    let Some((cert, keys)) = documents::documents(data) else {
        return;
    };
    if let Ok(client) = Client::load(&cert, keys.key_sets()) {
        let periods = client.key_periods();
        assert!(!periods.is_empty(), "a client loads with at least one key set");
    }
});
