//! TS 33.180 Annex D request documents: `KmsRequest` and `SignedKmsRequest` round trips, the
//! versions accepted, the opaque `KrrList` and `ds:Signature`, refusals; bare `KmsCertificate`
//! documents; a `KmsResponse` carrying a `KmsError` written and read back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mikey_sakke::annex_d::{
    AnnexDError, AnyKmsRequest, KmsCertificate, KmsError, KmsRequest, KmsResponse, NAMESPACE,
    RawXml, Role, SignedKmsRequest, XMLDSIG_NAMESPACE,
};
use mikey_sakke::kms::documents;
use mikey_sakke::kms::store::{KdfParams, KmsConfig, KmsStore, SqliteStore};
use mikey_sakke::mcx::uid::KeyPeriods;
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

const URL: &str = "https://kms.example.org/keymanagement/identity/v1/keyprov";

fn full_request() -> KmsRequest {
    let mut r = KmsRequest::new(
        "sip:alice@example.org",
        "kms.example.org",
        "2026-01-01T00:00:00Z",
        URL,
    );
    r.id = Some("req-1".into());
    r.client_id = Some("client & co".into());
    r.device_id = Some("device <9>".into());
    r.krr_list = Some(
        RawXml::new(
            "<krr:KmsRedirectResponse Id=\"k1\"><krr:X>a &amp; b</krr:X></krr:KmsRedirectResponse>",
        )
        .unwrap(),
    );
    r.client_error = Some(KmsError {
        code: -3,
        message: "earlier failure".into(),
    });
    r.trk_id = Some("trk.1".into());
    r.signature_id = Some("ink.12.alice@example.org".into());
    r
}

fn signature() -> RawXml {
    RawXml::new(
        "<ds:Signature><ds:SignedInfo><ds:Reference URI=\"#req-1\"/></ds:SignedInfo>\
         <ds:SignatureValue>AAEC</ds:SignatureValue></ds:Signature>",
    )
    .unwrap()
}

#[test]
fn request_round_trip() {
    let r = full_request();
    let xml = r.to_xml();
    assert!(xml.contains("<KmsRequest xmlns=\"urn:3gpp:ns:mcsecKMSInterface:1.0\""));
    assert!(xml.contains("Version=\"1.1.0\""));
    assert!(xml.contains("<TrK-ID>trk.1</TrK-ID>"));
    assert_eq!(KmsRequest::from_xml(&xml).unwrap(), r);
    // element order of the schema
    let order = [
        "<UserUri>",
        "<KmsUri>",
        "<Time>",
        "<ClientId>",
        "<DeviceId>",
        "<ClientReqUrl>",
        "<KrrList>",
        "<ClientError>",
        "<TrK-ID>",
        "<Signature-ID>",
    ];
    let pos: Vec<usize> = order.iter().map(|t| xml.find(t).unwrap()).collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "{xml}");
    let minimal = KmsRequest::new("u", "k", "t", "c");
    assert_eq!(KmsRequest::from_xml(&minimal.to_xml()).unwrap(), minimal);
    assert!(!minimal.to_xml().contains("xmlns:krr"));
}

#[test]
fn request_versions_and_prefixes() {
    let body = "<UserUri> sip:a@b </UserUri><KmsUri>k</KmsUri><Time>t</Time>\
                <ClientReqUrl>c</ClientReqUrl>";
    for version in ["", " Version=\"1.0.0\"", " Version=\"1.1.0\""] {
        let xml = format!("<KmsRequest xmlns=\"{NAMESPACE}\"{version}>{body}</KmsRequest>");
        let r = KmsRequest::from_xml(&xml).unwrap();
        assert_eq!(r.user_uri, "sip:a@b");
        assert_eq!(r.client_error, None);
    }
    let xml = format!("<KmsRequest xmlns=\"{NAMESPACE}\" Version=\"2.0.0\">{body}</KmsRequest>");
    let err = KmsRequest::from_xml(&xml).unwrap_err();
    assert!(
        matches!(&err, AnnexDError::BadValue { path, .. } if path == "KmsRequest/@Version"),
        "{err:?}"
    );
    // a prefix for the 3GPP namespace, extension elements of other namespaces ignored
    let xml = format!(
        "<k:KmsRequest xmlns:k=\"{NAMESPACE}\"><k:UserUri>u</k:UserUri><k:KmsUri>k</k:KmsUri>\
         <k:Time>t</k:Time><k:ClientReqUrl>c</k:ClientReqUrl><x:Ext xmlns:x=\"urn:x\"/></k:KmsRequest>"
    );
    assert_eq!(
        KmsRequest::from_xml(&xml).unwrap(),
        KmsRequest::new("u", "k", "t", "c")
    );
}

#[test]
fn request_refusals() {
    let missing = format!(
        "<KmsRequest xmlns=\"{NAMESPACE}\"><KmsUri>k</KmsUri><Time>t</Time>\
         <ClientReqUrl>c</ClientReqUrl></KmsRequest>"
    );
    assert!(matches!(
        KmsRequest::from_xml(&missing),
        Err(AnnexDError::MissingElement {
            element: "UserUri",
            ..
        })
    ));
    let response = KmsResponse::new("u", "k", "t", "c", None).to_xml();
    assert!(matches!(
        KmsRequest::from_xml(&response),
        Err(AnnexDError::WrongRoot {
            expected: "KmsRequest",
            ..
        })
    ));
    assert!(matches!(
        AnyKmsRequest::from_xml(&response),
        Err(AnnexDError::WrongRoot {
            expected: "KmsRequest or SignedKmsRequest",
            ..
        })
    ));
    let doctype =
        format!("<!DOCTYPE KmsRequest [<!ENTITY x \"y\">]><KmsRequest xmlns=\"{NAMESPACE}\"/>");
    assert!(matches!(
        KmsRequest::from_xml(&doctype),
        Err(AnnexDError::Doctype { .. })
    ));
    let entity = full_request().to_xml().replace("client &amp; co", "&lol;");
    assert!(matches!(
        KmsRequest::from_xml(&entity),
        Err(AnnexDError::Malformed { .. })
    ));
    let bad_code = full_request()
        .to_xml()
        .replace("<ErrorCode>-3</ErrorCode>", "<ErrorCode>x</ErrorCode>");
    assert!(matches!(
        KmsRequest::from_xml(&bad_code),
        Err(AnnexDError::BadValue { .. })
    ));
    // RawXml is checked
    for bad in ["<a>", "</x>", "<a>&lol;</a>", "<!DOCTYPE a><a/>", "<q:a/>"] {
        assert!(RawXml::new(bad).is_err(), "{bad}");
    }
}

#[test]
fn signed_request_round_trip_signature_not_verified() {
    let s = SignedKmsRequest::new(full_request(), signature()).unwrap();
    let xml = s.to_xml();
    assert!(xml.contains(&format!("xmlns:ds=\"{XMLDSIG_NAMESPACE}\"")));
    let back = SignedKmsRequest::from_xml(&xml).unwrap();
    assert_eq!(back.request, s.request);
    assert!(
        back.signature()
            .as_str()
            .contains("<ds:SignatureValue>AAEC")
    );
    // its text is kept; writing again reads back the same
    assert_eq!(SignedKmsRequest::from_xml(&back.to_xml()).unwrap(), back);
    match AnyKmsRequest::from_xml(&xml).unwrap() {
        AnyKmsRequest::Signed(x) => assert_eq!(x.request, s.request),
        other => panic!("{other:?}"),
    }
    match AnyKmsRequest::from_xml(&full_request().to_xml()).unwrap() {
        AnyKmsRequest::Plain(r) => assert_eq!(r, full_request()),
        other => panic!("{other:?}"),
    }
    // Another prefix, declared on the root only: the kept signature declares it itself.
    let other = format!(
        "<k:SignedKmsRequest xmlns:k=\"{NAMESPACE}\" xmlns:sig=\"{XMLDSIG_NAMESPACE}\" Id=\"s\">\
         <k:KmsRequest><k:UserUri>u</k:UserUri><k:KmsUri>k</k:KmsUri><k:Time>t</k:Time>\
         <k:ClientReqUrl>c</k:ClientReqUrl></k:KmsRequest>\
         <sig:Signature><sig:SignatureValue>AA</sig:SignatureValue></sig:Signature>\
         </k:SignedKmsRequest>"
    );
    let read = SignedKmsRequest::from_xml(&other).unwrap();
    assert_eq!(read.id.as_deref(), Some("s"));
    assert!(
        read.signature()
            .as_str()
            .starts_with(&format!("<sig:Signature xmlns:sig=\"{XMLDSIG_NAMESPACE}\"")),
        "{}",
        read.signature().as_str()
    );
    assert_eq!(SignedKmsRequest::from_xml(&read.to_xml()).unwrap(), read);
    // refusals: no signature, two, a fragment that is no signature
    let none = xml.replace(s.signature().as_str(), "");
    assert!(matches!(
        SignedKmsRequest::from_xml(&none),
        Err(AnnexDError::MissingElement {
            element: "ds:Signature",
            ..
        })
    ));
    let sig = s.signature().as_str();
    let two = xml.replace(sig, &format!("{sig}{sig}"));
    assert!(matches!(
        SignedKmsRequest::from_xml(&two),
        Err(AnnexDError::DuplicateElement { .. })
    ));
    for not_sig in [
        "<krr:X/>",
        "",
        "<ds:Signature/><ds:Signature/>",
        "<ds:Object/>",
    ] {
        assert!(
            SignedKmsRequest::new(full_request(), RawXml::new(not_sig).unwrap()).is_err(),
            "{not_sig}"
        );
    }
}

#[test]
fn bare_certificate_and_error_responses() {
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).unwrap();
    let nonce = u64::from_le_bytes(nonce);
    let dir = std::env::temp_dir().join(format!("mikey-sakke-req-{nonce:016x}"));
    std::fs::create_dir_all(&dir).unwrap();
    let config = KmsConfig {
        kms_uri: "kms.example.org".into(),
        periods: KeyPeriods {
            length: 86_400,
            offset: 0,
        },
        parameter_set: 1,
    };
    let s = SqliteStore::create(
        &dir.join("kms.db"),
        b"p",
        &config,
        KdfParams::TEST_ONLY,
        &mut ChaCha20Rng::seed_from_u64(9),
    )
    .unwrap();
    let mut cert = documents::certificate(s.config(), &s.master_keys(1).unwrap());
    cert.role = Some(Role::External);
    cert.kms_domains = vec!["example.org".into()];
    let xml = cert.to_xml();
    assert!(xml.contains("<KmsCertificate xmlns=\"urn:3gpp:ns:mcsecKMSInterface:1.0\""));
    assert_eq!(KmsCertificate::from_xml(&xml).unwrap(), cert);
    assert!(matches!(
        KmsCertificate::from_xml(&KmsResponse::new("u", "k", "t", "c", None).to_xml()),
        Err(AnnexDError::WrongRoot {
            expected: "KmsCertificate",
            ..
        })
    ));
    let mut err = KmsResponse::new("u", "k", "t", "c", None);
    err.error = Some(KmsError {
        code: 9,
        message: "internal <error>".into(),
    });
    let text = err.to_xml();
    assert!(text.contains("<ErrorCode>9</ErrorCode>"));
    assert_eq!(KmsResponse::from_xml(&text).unwrap(), err);
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// No input makes the request readers panic.
    #[test]
    fn request_readers_never_panic(s in "\\PC{0,300}") {
        let _ = KmsRequest::from_xml(&s);
        let _ = SignedKmsRequest::from_xml(&s);
        let _ = AnyKmsRequest::from_xml(&s);
        let _ = RawXml::new(s.clone());
    }

    /// Mutating a valid signed request never panics either.
    #[test]
    fn mutated_requests_never_panic(at in 0usize..2000, byte in any::<u8>()) {
        let mut xml = SignedKmsRequest::new(full_request(), signature()).unwrap().to_xml().into_bytes();
        let i = at % xml.len();
        xml[i] = byte;
        if let Ok(text) = String::from_utf8(xml) {
            let _ = AnyKmsRequest::from_xml(&text);
        }
    }
}
