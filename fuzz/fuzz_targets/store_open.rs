//! Opening a KMS store from a mutated SQLite file: never panics, never aborts, never hangs.
//! The bytes are written to a temporary file and opened with the passphrase of the seed store
//! (fuzz/seeds/store_open/store.sqlite, created with `KdfParams::TEST_ONLY`); a store that
//! opens is then read through the `KmsStore` API (sealed rows, logs, group managers, the
//! certificate cache).
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mikey_sakke::kms::store::{KmsStore, Store};

/// The passphrase the seed store was created with.
const PASSPHRASE: &[u8] = b"fuzz passphrase";

fn path() -> &'static PathBuf {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        std::env::temp_dir().join(format!("mikey-sakke-fuzz-store-{}.sqlite", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    let path = path();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    if std::fs::write(path, data).is_err() {
        return;
    }
    let Ok(store) = Store::open(path, PASSPHRASE) else {
        return;
    };
    let _ = store.config();
    let _ = store.master_keys(0);
    let _ = store.master_keys(1);
    let _ = store.issued("sip:alice@example.org", 1);
    let _ = store.kind("sip:alice@example.org");
    let _ = store.issued_count();
    let _ = store.issue_log(None);
    let _ = store.group_managers("sip:group@example.org");
    let _ = store.deliveries();
    let _ = store.external_certificates();
    let _ = store.cache_num();
});
