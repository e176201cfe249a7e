//! Every kind of document this crate writes validates against the Annex D schema
//! (`../shared/docs/annex-d-schema/kms-interface.xsd`) with `xmllint --noout --schema`.
//!
//! Without `xmllint` the test is skipped with a message, unless the environment variable `CI`
//! is set: then it fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use mikey_sakke::annex_d::{
    KmsCertCache, KmsError, KmsMessage, KmsRequest, KmsResponse, RawXml, SignedKmsRequest,
};
use mikey_sakke::kms::documents;
use mikey_sakke::kms::provision::provision;
use mikey_sakke::kms::service::{Context, INIT_PATH, KmsService, Principal, Refusal};
use mikey_sakke::kms::store::{KdfParams, KmsConfig, KmsStore, PrincipalKind, SqliteStore};
use mikey_sakke::mcx::uid::KeyPeriods;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn schema() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/docs/annex-d-schema/kms-interface.xsd")
}

/// Whether xmllint can run; panics under CI when it cannot.
fn have_xmllint() -> bool {
    let ok = Command::new("xmllint")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "xmllint is missing (apt-get install -y libxml2-utils) and CI is set"
        );
        eprintln!("SKIPPED: xmllint not found (apt-get install -y libxml2-utils)");
    }
    ok
}

struct Tmp(PathBuf);

impl Tmp {
    fn new() -> Self {
        let nonce: u64 = rand_core::Rng::next_u64(&mut rand_core::UnwrapErr(getrandom::SysRng));
        let p = std::env::temp_dir().join(format!("mikey-sakke-xsd-{nonce:016x}"));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}

impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs xmllint on `xml`; `Ok` if valid, the diagnostics otherwise.
fn validate(tmp: &Tmp, name: &str, xml: &str) -> Result<(), String> {
    let file = tmp.0.join(format!("{name}.xml"));
    std::fs::write(&file, xml).unwrap();
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(schema())
        .arg(&file)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn store(tmp: &Tmp, kms_uri: &str) -> SqliteStore {
    let config = KmsConfig {
        kms_uri: kms_uri.into(),
        periods: KeyPeriods {
            length: 2_592_000,
            offset: 0,
        },
        parameter_set: 1,
    };
    SqliteStore::create(
        &tmp.0.join(format!("{kms_uri}.db")),
        b"pass",
        &config,
        KdfParams::TEST_ONLY,
        &mut ChaCha20Rng::seed_from_u64(3),
    )
    .unwrap()
}

#[test]
fn every_written_document_validates() {
    if !have_xmllint() {
        return;
    }
    assert!(schema().exists(), "{}", schema().display());
    let tmp = Tmp::new();
    let s = store(&tmp, "kms.example.org");
    let config = s.config().clone();
    let time = "2026-01-01T00:00:00Z";
    let period = 1500;
    let keys = s.master_keys(period).unwrap();
    let cert = documents::certificate(&config, &keys);
    let users = vec![
        "sip:alice@example.org".to_string(),
        "sip:bob@example.org".to_string(),
    ];
    let sets = provision(&s, &users, PrincipalKind::User, &[period], &|_| {}).unwrap();
    // A rotation: the certificate of each generation carries ValidFrom (and ValidTo once a
    // later generation takes over).
    s.add_generation(1600, &mut ChaCha20Rng::seed_from_u64(4))
        .unwrap();
    let old_cert = documents::certificate(&config, &s.master_keys(1599).unwrap());
    let new_cert = documents::certificate(&config, &s.master_keys(1600).unwrap());
    let start = |p: u64| mikey_sakke::input::rfc3339(config.periods.period_start(p).unwrap());
    assert_eq!(old_cert.valid_from.as_deref(), Some(start(0).as_str()));
    assert_eq!(
        old_cert.valid_to,
        Some(mikey_sakke::input::rfc3339(
            config.periods.period_start(1600).unwrap() - 1
        ))
    );
    assert_eq!(new_cert.valid_from.as_deref(), Some(start(1600).as_str()));
    assert_eq!(new_cert.valid_to, None);
    assert_ne!(old_cert.pub_enc_key, new_cert.pub_enc_key);
    let other = store(&tmp, "kms.other.org");
    let other_cert = documents::certificate(other.config(), &other.master_keys(period).unwrap());
    let mut external = other_cert.clone();
    external.role = Some(mikey_sakke::annex_d::Role::External);
    external.kms_domains = vec!["other.org".into()];

    let mut request = KmsRequest::new(
        "sip:alice@example.org",
        "kms.example.org",
        time,
        "https://kms.example.org/keymanagement/identity/v1/keyprov",
    );
    let minimal_request = request.clone();
    request.id = Some("req1".into());
    request.client_id = Some("client-7".into());
    request.device_id = Some("device-9".into());
    request.krr_list = Some(RawXml::new("<krr:KmsRedirectResponse/>").unwrap());
    request.client_error = Some(KmsError {
        code: 4,
        message: "earlier request failed".into(),
    });
    let signed = SignedKmsRequest::new(
        request.clone(),
        RawXml::new(
            "<ds:Signature><ds:SignedInfo/><ds:SignatureValue>AA==</ds:SignatureValue></ds:Signature>",
        )
        .unwrap(),
    )
    .unwrap();
    let svc = KmsService::new(std::sync::Arc::new(s)).unwrap();
    let ctx = Context {
        peer: None,
        now: std::time::SystemTime::now(),
    };
    let mut error = KmsResponse::new(
        "sip:alice@example.org",
        "kms.example.org",
        time,
        "https://kms.example.org/keymanagement/identity/v1/keyprov",
        None,
    );
    error.error = Some(KmsError {
        code: 3,
        message: "not authorised".into(),
    });

    let docs: Vec<(&str, String)> = vec![
        (
            "init",
            documents::init_response(&config, "sip:alice@example.org", time, cert.clone()).to_xml(),
        ),
        (
            "keyprov",
            documents::key_prov_response(
                &config,
                "sip:alice@example.org",
                time,
                sets.iter().map(|p| &p.set),
            )
            .to_xml(),
        ),
        (
            "keyprov-empty",
            documents::key_prov_response(&config, "sip:alice@example.org", time, []).to_xml(),
        ),
        (
            "certcache",
            KmsResponse::new(
                "sip:alice@example.org",
                "kms.example.org",
                time,
                "https://kms.example.org/keymanagement/identity/v1/certcache",
                Some(KmsMessage::CertCache(KmsCertCache {
                    cache_num: Some(3),
                    certificates: vec![external.clone(), other_cert],
                })),
            )
            .to_xml(),
        ),
        (
            "certcache-empty",
            KmsResponse::new(
                "sip:alice@example.org",
                "kms.example.org",
                time,
                "https://kms.example.org/keymanagement/identity/v1/certcache/3",
                Some(KmsMessage::CertCache(KmsCertCache {
                    cache_num: Some(3),
                    certificates: Vec::new(),
                })),
            )
            .to_xml(),
        ),
        ("error", error.to_xml()),
        (
            "refusal",
            svc.refusal_document(
                &Refusal::Unauthenticated,
                "/keymanagement/identity/v1/init",
                &ctx,
            ),
        ),
        ("request", request.to_xml()),
        ("request-minimal", minimal_request.to_xml()),
        ("signed-request", signed.to_xml()),
        ("certificate", external.to_xml()),
        (
            "init-old-generation",
            documents::init_response(&config, "sip:alice@example.org", time, old_cert).to_xml(),
        ),
        (
            "init-new-generation",
            documents::init_response(&config, "sip:alice@example.org", time, new_cert).to_xml(),
        ),
        // `/init/<time>` (rotation, docs/kms-interface.md): the service's rendered reply.
        ("init-at-time", {
            let t = config.periods.period_start(1599).unwrap() << 32;
            let alice = Principal {
                uri: "sip:alice@example.org".into(),
            };
            let r = svc.respond(Some(&alice), &format!("{INIT_PATH}/{t:016X}"), b"", &ctx);
            assert_eq!(r.status, 200, "{}", r.body);
            r.body
        }),
    ];
    let mut failures = Vec::new();
    for (name, xml) in &docs {
        if let Err(e) = validate(&tmp, name, xml) {
            failures.push(format!("{name}: {e}\n{xml}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));

    // The check has teeth: a key set without the concrete key type does not validate, nor a
    // request with the Version deployed clients send.
    let keyprov = &docs[1].1;
    let untyped = keyprov.replace(" xsi:type=\"KeyContentType\"", "");
    assert!(validate(&tmp, "untyped", &untyped).is_err());
    let old = docs[8].1.replace("Version=\"1.1.0\"", "Version=\"1.0.0\"");
    assert!(validate(&tmp, "old-version", &old).is_err());
}
