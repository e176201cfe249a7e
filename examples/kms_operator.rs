//! A KMS operator: creates a store, provisions users for the current and the next key period,
//! and writes the KMS certificate and a user's key sets as Annex D documents.
//!
//! Run: `cargo run --release --example kms_operator`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mikey_sakke::annex_d::KmsResponse;
use mikey_sakke::kms::documents;
use mikey_sakke::kms::provision::provision;
use mikey_sakke::kms::store::{KdfParams, KmsConfig, KmsStore, PrincipalKind, Store};
use mikey_sakke::mcx::uid::KeyPeriods;
use mikey_sakke::ue::Client;

fn main() {
    let dir = std::env::temp_dir().join(format!("mikey-sakke-kms-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("kms.db");
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);

    // 1. Create the store (master secrets sealed under the passphrase).
    let config = KmsConfig {
        kms_uri: "kms.example.org".into(),
        periods: KeyPeriods {
            length: 30 * 86_400,
            offset: 0,
        },
        parameter_set: 1,
    };
    let store = Store::create(
        &path,
        b"operator passphrase",
        &config,
        KdfParams::DEFAULT,
        &mut rng,
    )
    .unwrap();

    // 2. Provision three users for the current and the next key period.
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let period = config.periods.period_number(unix + 2_208_988_800).unwrap();
    let users: Vec<String> = [
        "sip:alice@example.org",
        "sip:bob@example.org",
        "sip:carol@example.org",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let sets = provision(
        &store,
        &users,
        PrincipalKind::User,
        &[period, period + 1],
        &|_| {},
    )
    .unwrap();
    println!(
        "{} key sets issued for key periods {period} and {}",
        sets.len(),
        period + 1
    );

    // 3. The KMS certificate and alice's key sets as Annex D documents.
    // (The same library functions build the documents the CLI prints and the KMS service
    // serves.)
    let keys = store.master_keys(period).unwrap();
    let cert = documents::certificate(&config, &keys);
    let cert_xml = documents::init_response(
        &config,
        "sip:alice@example.org",
        "2026-11-24T00:00:00Z",
        cert,
    )
    .to_xml();
    let keys_xml = zeroize::Zeroizing::new(
        documents::key_prov_response(
            &config,
            "sip:alice@example.org",
            "2026-11-24T00:00:00Z",
            sets.iter()
                .filter(|p| p.set.uri == "sip:alice@example.org")
                .map(|p| &p.set),
        )
        .to_xml(),
    );
    println!(
        "certificate: {} octets of XML; alice's key sets: {} octets",
        cert_xml.len(),
        keys_xml.len()
    );

    // 4. What alice's client does with them: load and validate.
    let cert = KmsResponse::from_xml(&cert_xml).unwrap();
    let keys = KmsResponse::from_xml(&keys_xml).unwrap();
    let client = Client::load(cert.certificate().unwrap(), keys.key_sets()).unwrap();
    println!(
        "alice's client validated key sets for periods {:?}",
        client.key_periods()
    );
    drop(store);
    std::fs::remove_dir_all(&dir).unwrap();
}
