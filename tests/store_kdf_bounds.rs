//! The store refuses out-of-range key-derivation settings before deriving (issue 20 item 4, a
//! finding of the store_open fuzz target's input class): a store file whose Argon2 memory,
//! time or lane count was edited is a clear error, not a 4 TiB allocation (abort) or a hang.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use mikey_sakke::kms::store::seal::{MAX_KDF_M_COST, MAX_KDF_P_COST, MAX_KDF_T_COST};
use mikey_sakke::kms::store::{KdfParams, KmsConfig, Store, StoreError};
use mikey_sakke::mcx::uid::KeyPeriods;
use rand_core::SeedableRng;

const PASS: &[u8] = b"kdf bounds passphrase";

fn config() -> KmsConfig {
    KmsConfig {
        kms_uri: "kms.example.org".into(),
        periods: KeyPeriods {
            length: 2_592_000,
            offset: 0,
        },
        parameter_set: 1,
    }
}

fn set_meta(path: &std::path::Path, key: &str, value: &str) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute(
        "UPDATE meta SET value = ?1 WHERE key = ?2",
        rusqlite::params![value.as_bytes(), key],
    )
    .unwrap();
}

#[test]
fn edited_kdf_settings_are_refused_before_deriving() {
    let dir = std::env::temp_dir().join(format!("kdf-bounds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let cases = [
        ("kdf_m_cost", u64::from(u32::MAX)),
        ("kdf_m_cost", u64::from(MAX_KDF_M_COST) + 1),
        ("kdf_m_cost", 0),
        ("kdf_t_cost", u64::from(u32::MAX)),
        ("kdf_t_cost", u64::from(MAX_KDF_T_COST) + 1),
        ("kdf_t_cost", 0),
        ("kdf_p_cost", u64::from(MAX_KDF_P_COST) + 1),
        ("kdf_p_cost", 0),
    ];
    for (i, (key, value)) in cases.iter().enumerate() {
        let path = dir.join(format!("s{i}.sqlite"));
        let _ = std::fs::remove_file(&path);
        drop(Store::create(&path, PASS, &config(), KdfParams::TEST_ONLY, &mut rng).unwrap());
        // The store opens as created.
        drop(Store::open(&path, PASS).unwrap());
        set_meta(&path, key, &value.to_string());
        let start = Instant::now();
        let err = Store::open(&path, PASS).unwrap_err();
        assert!(
            matches!(&err, StoreError::Invalid(m) if m.contains("outside")),
            "{key} = {value}: {err:?}"
        );
        assert!(start.elapsed() < Duration::from_secs(5), "{key} = {value}");
    }
    // Creating a store with such parameters is refused too.
    let path = dir.join("create.sqlite");
    let _ = std::fs::remove_file(&path);
    let huge = KdfParams {
        m_cost: MAX_KDF_M_COST + 1,
        ..KdfParams::TEST_ONLY
    };
    assert!(matches!(
        Store::create(&path, PASS, &config(), huge, &mut rng),
        Err(StoreError::Invalid(_))
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}
