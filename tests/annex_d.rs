//! TS 33.180 Annex D KMS documents: write/read round trips of a KMS certificate and of key sets
//! built from the MCX interop vectors (the keys read back must validate), a hand-written
//! document in the style of the Streamwide samples, every malformed case with its specific
//! error, and a no-panic property over random and mutated input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use base64::Engine;
use mikey_sakke::annex_d::{
    AnnexDError, KmsCertCache, KmsCertificate, KmsError, KmsKeyProv, KmsKeySet, KmsMessage,
    KmsResponse, MAX_DEPTH, MAX_DOCUMENT_LEN, MAX_ELEMENTS, NAMESPACE, Role,
};
use mikey_sakke::eccsi::{Kpak, Pvt, SigningKey, Ssk};
use mikey_sakke::mcx::uid::KeyPeriods;
use mikey_sakke::sakke::{KmsPublicKey, ReceiverSecretKey};
use proptest::prelude::*;

const MCX: &str = include_str!("../vectors/mcx-interop.txt");

const USERS: [&str; 4] = ["gms", "alice", "bob", "iwf"];
const TIME: &str = "2026-03-01T12:00:00Z";
const INIT_URL: &str = "https://kms.mydev.streamwide.com/keymanagement/identity/v1/init";
const KEYPROV_URL: &str = "https://kms.mydev.streamwide.com/keymanagement/identity/v1/keyprov";

fn vectors() -> HashMap<&'static str, &'static str> {
    MCX.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once(" = "))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect()
}

fn text(name: &str) -> &'static str {
    vectors()
        .get(name)
        .copied()
        .unwrap_or_else(|| panic!("vector {name} missing"))
}

fn hexv(name: &str) -> Vec<u8> {
    hex::decode(text(name)).unwrap_or_else(|e| panic!("vector {name}: {e}"))
}

fn periods() -> KeyPeriods {
    KeyPeriods {
        length: text("kms_UserKeyPeriod").parse().unwrap(),
        offset: text("kms_UserKeyOffset").parse().unwrap(),
    }
}

fn certificate() -> KmsCertificate {
    let z = KmsPublicKey::from_bytes(&hexv("kms_PubEncKey")).unwrap();
    let kpak = Kpak::from_bytes(&hexv("kms_PubAuthKey")).unwrap();
    KmsCertificate::new(text("kms_KmsUri"), &z, &kpak, periods())
}

fn key_set(user: &str) -> KmsKeySet {
    let rsk = ReceiverSecretKey::from_bytes(&hexv(&format!("{user}_UserDecryptKey"))).unwrap();
    let ssk = Ssk::from_bytes(&hexv(&format!("{user}_UserSigningKeySSK"))).unwrap();
    let pvt = Pvt::from_bytes(&hexv(&format!("{user}_UserPubTokenPVT"))).unwrap();
    let user_id: [u8; 32] = hexv(&format!("{user}_UserID")).try_into().unwrap();
    KmsKeySet::new(
        text("kms_KmsUri"),
        text(&format!("{user}_UserUri")),
        user_id,
        text(&format!("{user}_KeyPeriodNo")).parse().unwrap(),
        &rsk,
        &ssk,
        &pvt,
    )
}

fn init_response() -> KmsResponse {
    KmsResponse::new(
        text("alice_UserUri"),
        text("kms_KmsUri"),
        TIME,
        INIT_URL,
        Some(KmsMessage::Init(Box::new(certificate()))),
    )
}

fn key_prov_response() -> KmsResponse {
    let mut r = KmsResponse::new(
        text("alice_UserUri"),
        text("kms_KmsUri"),
        TIME,
        KEYPROV_URL,
        Some(KmsMessage::KeyProv(KmsKeyProv {
            key_sets: USERS.iter().map(|u| key_set(u)).collect(),
        })),
    );
    r.id = Some("xmldoc".to_string());
    r
}

/// Validates a key set read back against a certificate read back: RSK (RFC 6508 s6.1.2), SSK
/// and PVT (RFC 6507 s5.1.2), and the UserID against the F.2.1 derivation.
fn assert_valid(cert: &KmsCertificate, ks: &KmsKeySet) {
    let z = cert.kms_public_key().unwrap();
    let kpak = cert.kpak().unwrap();
    ks.rsk().unwrap().validate(&z, ks.user_id()).unwrap();
    SigningKey::new(&kpak, ks.user_id(), ks.ssk().unwrap(), &ks.pvt().unwrap()).unwrap();
    assert_eq!(
        &ks.derived_user_id(cert.key_periods()).unwrap(),
        ks.user_id()
    );
}

// ----------------------------------------------------------------------------------------------
// Round trips

#[test]
fn certificate_round_trip() {
    let doc = init_response();
    let xml = doc.to_xml();
    assert!(xml.starts_with(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<KmsResponse xmlns=\"urn:3gpp:ns:mcsecKMSInterface:1.0\" Version=\"1.0.0\">"
    ), "{xml}");
    assert!(xml.contains("<KmsCertificate Version=\"1.1.0\" Role=\"Root\">"));
    assert!(xml.contains(&format!(
        "<PubEncKey>{}</PubEncKey>",
        text("kms_PubEncKey").to_uppercase()
    )));
    assert!(xml.contains("<UserKeyPeriod>16777215</UserKeyPeriod>"));
    assert!(xml.contains("<UserIdFormat>2</UserIdFormat>"));

    let back = KmsResponse::from_xml(&xml).unwrap();
    assert_eq!(back, doc);
    let cert = back.certificate().unwrap();
    assert_eq!(cert.role, Some(Role::Root));
    assert_eq!(cert.key_periods(), periods());
    assert_eq!(
        cert.kms_public_key().unwrap().to_bytes().as_slice(),
        &hexv("kms_PubEncKey")[..]
    );
    assert_eq!(
        cert.kpak().unwrap().to_bytes().as_slice(),
        &hexv("kms_PubAuthKey")[..]
    );
    // Writing is deterministic.
    assert_eq!(back.to_xml(), xml);
}

#[test]
fn key_prov_round_trip_and_keys_validate() {
    let doc = key_prov_response();
    let xml = doc.to_xml();
    // Key values and UserIDs in upper-case hexBinary.
    for user in USERS {
        for field in [
            "UserID",
            "UserDecryptKey",
            "UserSigningKeySSK",
            "UserPubTokenPVT",
        ] {
            let v = text(&format!("{user}_{field}")).to_uppercase();
            // Key values carry their concrete schema type (their declared type is abstract).
            let open = if field == "UserID" {
                format!("<{field}>")
            } else {
                format!("<{field} xsi:type=\"KeyContentType\">")
            };
            assert!(
                xml.contains(&format!("{open}{v}</{field}>")),
                "{user} {field}"
            );
        }
    }
    assert!(xml.contains("<KmsKeySet Version=\"1.1.0\">"));
    assert!(xml.contains("<KmsKeyProv Version=\"1.0.0\">"));
    assert!(xml.contains("<KeyPeriodNo>236</KeyPeriodNo>"));

    let back = KmsResponse::from_xml(&xml).unwrap();
    assert_eq!(back, doc);
    assert_eq!(back.id.as_deref(), Some("xmldoc"));
    assert_eq!(back.key_sets().len(), 4);
    // Validate against a certificate that went through its own round trip.
    let cert_doc = KmsResponse::from_xml(&init_response().to_xml()).unwrap();
    let cert = cert_doc.certificate().unwrap();
    for (ks, user) in back.key_sets().iter().zip(USERS) {
        assert_eq!(ks.user_uri, text(&format!("{user}_UserUri")));
        assert_eq!(
            ks.user_id().as_slice(),
            &hexv(&format!("{user}_UserID"))[..]
        );
        assert_eq!(
            ks.user_decrypt_key(),
            &hexv(&format!("{user}_UserDecryptKey"))[..]
        );
        assert_valid(cert, ks);
    }
    // A key set of another user does not validate under alice's UserID.
    let alice = &back.key_sets()[1];
    let bob_id = *back.key_sets()[2].user_id();
    assert!(
        alice
            .rsk()
            .unwrap()
            .validate(&cert.kms_public_key().unwrap(), &bob_id)
            .is_err()
    );
}

#[test]
fn other_messages_round_trip() {
    let mut cert = certificate();
    cert.role = Some(Role::External);
    cert.is_security_gateway = Some(false);
    cert.cert_uri = Some("urn:example:cert:1".into());
    cert.issuer = Some("Example & Co <KMS>".into());
    cert.valid_from = Some("2026-01-01T00:00:00Z".into());
    cert.valid_to = Some("2027-01-01T00:00:00Z".into());
    cert.revoked = Some(false);
    cert.parameter_set = Some(1);
    cert.kms_domains = vec!["kms.example.org".into(), "kms2.example.org".into()];
    let mut doc = KmsResponse::new(
        "sip:alice@example.org",
        "kms.example.org",
        TIME,
        "https://kms.example.org/keymanagement/identity/v1/certcache/3",
        Some(KmsMessage::CertCache(KmsCertCache {
            cache_num: Some(4),
            certificates: vec![certificate(), cert],
        })),
    );
    doc.kms_id = Some("kms-1".into());
    doc.error = Some(KmsError {
        code: -2,
        message: "partial \"answer\"".into(),
    });
    let xml = doc.to_xml();
    assert!(xml.contains("Example &amp; Co &lt;KMS&gt;"));
    assert_eq!(KmsResponse::from_xml(&xml).unwrap(), doc);

    let mut ks = key_set("bob");
    ks.cert_uri = Some("urn:example:cert:1".into());
    ks.issuer = Some("issuer".into());
    ks.valid_from = Some("2026-01-01T00:00:00Z".into());
    ks.valid_to = Some("2027-01-01T00:00:00Z".into());
    ks.revoked = Some(true);
    for message in [
        Some(KmsMessage::KeyProv(KmsKeyProv { key_sets: vec![ks] })),
        Some(KmsMessage::KeyProv(KmsKeyProv::default())),
        Some(KmsMessage::CertCache(KmsCertCache::default())),
        Some(KmsMessage::Other),
        None,
    ] {
        let doc = KmsResponse::new("u", "k", TIME, "c", message);
        assert_eq!(KmsResponse::from_xml(&doc.to_xml()).unwrap(), doc);
    }
}

#[test]
fn write_to_matches_to_xml() {
    let doc = key_prov_response();
    let mut out = Vec::new();
    doc.write_to(&mut out).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), doc.to_xml());
}

#[test]
fn debug_never_shows_secrets() {
    let ks = key_set("alice");
    let dbg = format!("{:?}", KmsResponse::new("u", "k", "t", "c", None));
    assert!(!dbg.is_empty());
    let dbg = format!("{ks:?}");
    let rsk = hexv("alice_UserDecryptKey");
    let ssk = hexv("alice_UserSigningKeySSK");
    for secret in [&rsk, &ssk] {
        let as_list = format!("{:?}", &secret[1..6]);
        assert!(!dbg.contains(as_list.trim_matches(['[', ']'])), "{dbg}");
        assert!(!dbg.contains(&hex::encode(&secret[1..6])), "{dbg}");
        assert!(!dbg.contains(&hex::encode_upper(&secret[1..6])), "{dbg}");
    }
    assert!(dbg.contains("len: 257"), "{dbg}");
    // The public PVT is shown.
    let pvt = hexv("alice_UserPubTokenPVT");
    assert!(dbg.contains(format!("{:?}", &pvt[1..6]).trim_matches(['[', ']'])));
}

// ----------------------------------------------------------------------------------------------
// A hand-written document in the style of the Streamwide samples

fn b64(v: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(v)
}

/// Lower-case hex broken over lines.
fn wrapped_hex(v: &[u8]) -> String {
    hex::encode(v)
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join("\n          ")
}

#[test]
fn reads_streamwide_style_documents() {
    let init = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- KMS Initialize response -->
<kms:KmsResponse xmlns:kms="{NAMESPACE}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:ext="urn:example:vendor" Id="xmldoc" ext:trace="42">
  <kms:UserUri>{alice}</kms:UserUri>
  <kms:KmsUri>{kms}</kms:KmsUri>
  <kms:Time>2021-05-10T11:23:02</kms:Time>
  <ext:Vendor build="7"><ext:Deep><kms:KmsUri>ignored: inside another namespace</kms:KmsUri></ext:Deep></ext:Vendor>
  <kms:ClientReqUrl>http://localhost:8080/keymanagement/identity/v1/init</kms:ClientReqUrl>
  <kms:KmsMessage>
    <kms:KmsInit Version="1.0.0" xsi:type="KmsInitTkIkType">
      <k2:KmsCertificate xmlns:k2="{NAMESPACE}" Version="1.1.0" Role="Root">
        <k2:KmsUri ext:note="other-namespace attribute">{kms}</k2:KmsUri>
        <k2:UserIdFormat>2</k2:UserIdFormat>
        <k2:UserKeyPeriod>+16777215</k2:UserKeyPeriod>
        <k2:UserKeyOffset>0</k2:UserKeyOffset>
        <k2:PubEncKey>
          {z}
        </k2:PubEncKey>
        <k2:PubAuthKey>{kpak}</k2:PubAuthKey>
        <k2:FutureElement>3GPP element at an extension point: ignored</k2:FutureElement>
        <ext:Extra/>
      </k2:KmsCertificate>
    </kms:KmsInit>
  </kms:KmsMessage>
</kms:KmsResponse>
"#,
        alice = text("alice_UserUri"),
        kms = text("kms_KmsUri"),
        z = wrapped_hex(&hexv("kms_PubEncKey")),
        kpak = b64(&hexv("kms_PubAuthKey")),
    );
    let init = KmsResponse::from_xml(&init).unwrap();
    assert_eq!(init.id.as_deref(), Some("xmldoc"));
    assert_eq!(init.kms_uri, text("kms_KmsUri"));
    assert_eq!(init.time, "2021-05-10T11:23:02");
    let cert = init.certificate().unwrap();
    assert_eq!(cert, &certificate());

    // Alice's key set: RSK in base64, SSK in lower-case hex over several lines with 2 leading
    // zero octets (as a deployed KMS sends), PVT in base64 without padding.
    let mut ssk34 = vec![0, 0];
    ssk34.extend(hexv("alice_UserSigningKeySSK"));
    let pvt =
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(hexv("alice_UserPubTokenPVT"));
    let keyprov = format!(
        r#"<?xml version="1.0"?>
<kms:KmsResponse xmlns:kms="{NAMESPACE}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
                 xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
  <kms:UserUri>{alice}</kms:UserUri>
  <kms:KmsUri>{kms}</kms:KmsUri>
  <kms:Time>2021-05-17T13:25:16</kms:Time>
  <kms:ClientReqUrl>http://localhost:8080/keymanagement/identity/v1/keyprov?a=1&amp;b=2</kms:ClientReqUrl>
  <kms:KmsMessage>
    <kms:KmsKeyProv Version="1.0.0" xsi:type="KmsKeyProvTkIkType">
      <kms:KmsKeySet Version="1.1.0">
        <kms:KmsUri>{kms}</kms:KmsUri>
        <kms:UserUri>{alice}</kms:UserUri>
        <kms:UserID>{uid}</kms:UserID>
        <kms:KeyPeriodNo>236</kms:KeyPeriodNo>
        <kms:UserDecryptKey>{rsk}</kms:UserDecryptKey>
        <kms:UserSigningKeySSK>
          {ssk}
        </kms:UserSigningKeySSK>
        <kms:UserPubTokenPVT><![CDATA[{pvt}]]></kms:UserPubTokenPVT>
      </kms:KmsKeySet>
      <kms:NewTransportKey>ignored: TkIk extension</kms:NewTransportKey>
    </kms:KmsKeyProv>
  </kms:KmsMessage>
  <ds:Signature><ds:SignedInfo/></ds:Signature>
</kms:KmsResponse>"#,
        alice = text("alice_UserUri"),
        kms = text("kms_KmsUri"),
        uid = text("alice_UserID"),
        rsk = b64(&hexv("alice_UserDecryptKey")),
        ssk = wrapped_hex(&ssk34).replace("0000", "00 00"),
        pvt = pvt,
    );
    let keyprov = KmsResponse::from_xml(&keyprov).unwrap();
    assert_eq!(
        keyprov.client_req_url,
        "http://localhost:8080/keymanagement/identity/v1/keyprov?a=1&b=2"
    );
    let [ks] = keyprov.key_sets() else {
        panic!("one key set expected")
    };
    assert_eq!(ks.user_signing_key_ssk().len(), 34);
    assert_eq!(
        ks.ssk().unwrap().to_bytes().as_slice(),
        &hexv("alice_UserSigningKeySSK")[..]
    );
    assert_valid(cert, ks);
    // Apart from the SSK's leading zeros, this is the key set built from the vectors.
    let expected = key_set("alice");
    assert_eq!(ks.user_decrypt_key(), expected.user_decrypt_key());
    assert_eq!(ks.user_pub_token_pvt, expected.user_pub_token_pvt);
    assert_eq!(ks.user_id, expected.user_id);
}

#[test]
fn reads_the_default_namespace_and_empty_elements() {
    let xml = format!(
        "<KmsResponse xmlns='{NAMESPACE}'><UserUri>u</UserUri><KmsUri>k</KmsUri>\
         <Time>t</Time><KmsId/><ClientReqUrl>c</ClientReqUrl>\
         <KmsError><ErrorCode>+17</ErrorCode><ErrorMsg/></KmsError></KmsResponse>"
    );
    let r = KmsResponse::from_xml(&xml).unwrap();
    assert_eq!(r.kms_id.as_deref(), Some(""));
    assert_eq!(
        r.error,
        Some(KmsError {
            code: 17,
            message: String::new()
        })
    );
    assert!(r.message.is_none());
    assert!(r.key_sets().is_empty() && r.certificate().is_none());
}

// ----------------------------------------------------------------------------------------------
// Malformed documents, each with its specific error

fn read_err(xml: &str) -> AnnexDError {
    let err = KmsResponse::from_xml(xml).expect_err("document must be refused");
    // Every error explains itself.
    assert!(!err.to_string().is_empty());
    err
}

fn minimal(body: &str) -> String {
    format!(
        "<KmsResponse xmlns=\"{NAMESPACE}\"><UserUri>u</UserUri><KmsUri>k</KmsUri>\
         <Time>t</Time><ClientReqUrl>c</ClientReqUrl>{body}</KmsResponse>"
    )
}

#[test]
fn refuses_what_is_not_xml() {
    assert!(matches!(
        read_err("this is not XML"),
        AnnexDError::Malformed { .. }
    ));
    assert!(matches!(
        read_err("{\"KmsResponse\": 1}"),
        AnnexDError::Malformed { .. }
    ));
    assert_eq!(read_err(""), AnnexDError::NoRootElement);
    assert_eq!(
        read_err("<?xml version=\"1.0\"?>\n<!-- nothing -->\n"),
        AnnexDError::NoRootElement
    );
    // Mismatched end tag, reported where quick-xml found it.
    let err = read_err(&format!(
        "<KmsResponse xmlns=\"{NAMESPACE}\">\n  <UserUri>u</KmsUri>\n</KmsResponse>"
    ));
    let AnnexDError::Malformed { position, reason } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(position.line, 2, "{err}");
    assert!(reason.contains("KmsUri"), "{reason}");
    // Two roots, an undeclared prefix, an undeclared entity, a bad attribute.
    assert!(matches!(
        read_err(&format!("{}<KmsResponse/>", minimal(""))),
        AnnexDError::Malformed { .. }
    ));
    assert!(matches!(
        read_err(&minimal("<x:Foo/>")),
        AnnexDError::Malformed { .. }
    ));
    assert!(matches!(
        read_err(&minimal("<KmsId>&nbsp;</KmsId>")),
        AnnexDError::Malformed { .. }
    ));
    assert!(matches!(
        read_err(&minimal("<KmsId a=\"1\" a=\"2\">x</KmsId>")),
        AnnexDError::Malformed { .. }
    ));
    assert!(matches!(
        read_err(&format!("{} trailing text", minimal(""))),
        AnnexDError::Malformed { .. }
    ));
    // Characters XML 1.0 does not allow, raw or as references; names that are no names.
    for bad in [
        minimal("<KmsId>\u{1}</KmsId>"),
        minimal("<KmsId>&#0;</KmsId>"),
        minimal("<KmsId>&#x1B;</KmsId>"),
        // in attribute values too (found by the annex_d fuzz target: such a value was read,
        // and written back as a document that no longer read)
        minimal("<KmsId a=\"&#26;\">x</KmsId>"),
        minimal("<KmsCertificate Version=\"1.&#x1a;\"></KmsCertificate>"),
        minimal("<KmsId>a<</KmsId>"),
        minimal("<1KmsId>a</1KmsId>"),
        minimal("<KmsId 9a=\"1\">a</KmsId>"),
        minimal("<KmsId a=b>a</KmsId>"),
    ] {
        let err = read_err(&bad);
        assert!(
            matches!(err, AnnexDError::Malformed { .. }),
            "{bad}: {err:?}"
        );
    }
}

#[test]
fn refuses_truncated_documents() {
    let xml = key_prov_response().to_xml();
    // Cut after a complete element inside the first key set.
    let cut = xml.find("</UserID>").unwrap() + "</UserID>".len();
    let err = read_err(&xml[..cut]);
    assert_eq!(
        err.path(),
        Some("KmsResponse/KmsMessage/KmsKeyProv/KmsKeySet"),
        "{err}"
    );
    assert!(matches!(err, AnnexDError::Truncated { .. }));
    assert_eq!(err.position().unwrap().offset, cut);
    // Cut inside a tag or a value: refused too, one way or another.
    for cut in (1..xml.len()).step_by(97) {
        let err = read_err(&xml[..cut]);
        assert!(
            matches!(
                err,
                AnnexDError::Truncated { .. }
                    | AnnexDError::Malformed { .. }
                    | AnnexDError::NoRootElement
            ),
            "cut at {cut}: {err:?}"
        );
    }
}

#[test]
fn refuses_the_wrong_root() {
    let err = read_err(&format!(
        "<KmsRequest xmlns=\"{NAMESPACE}\"><UserUri>u</UserUri></KmsRequest>"
    ));
    assert_eq!(
        err,
        AnnexDError::WrongRoot {
            found: format!("{{{NAMESPACE}}}KmsRequest"),
            expected: "KmsResponse",
            position: err.position().unwrap(),
        }
    );
    // The right name in no namespace, or another one.
    let err = read_err("<KmsResponse><UserUri>u</UserUri></KmsResponse>");
    assert!(matches!(err, AnnexDError::WrongRoot { ref found, .. } if found == "KmsResponse"));
    let err = read_err("<a:KmsResponse xmlns:a=\"urn:other\"/>");
    assert!(
        matches!(err, AnnexDError::WrongRoot { ref found, .. } if found == "{urn:other}KmsResponse")
    );
    // A signed response: signatures are not verified here, so it is not taken apart.
    let signed = format!(
        "<SignedKmsResponse xmlns=\"{NAMESPACE}\">{}</SignedKmsResponse>",
        minimal("")
    );
    assert!(matches!(read_err(&signed), AnnexDError::WrongRoot { .. }));
}

#[test]
fn refuses_missing_mandatory_elements() {
    let xml = init_response().to_xml();
    // KmsUri of the response (the first one).
    let start = xml.find("  <KmsUri>").unwrap();
    let end = xml[start..].find('\n').unwrap() + start + 1;
    let without = format!("{}{}", &xml[..start], &xml[end..]);
    let err = read_err(&without);
    assert_eq!(
        err,
        AnnexDError::MissingElement {
            path: "KmsResponse".into(),
            element: "KmsUri",
            position: err.position().unwrap(),
        }
    );
    assert_eq!(err.position().unwrap().line, 2);

    // KmsUri of the certificate, and of a key set.
    let without = xml.replacen(&format!("<KmsUri>{}</KmsUri>", text("kms_KmsUri")), "", 2);
    let without = without.replacen("<UserUri>", "<KmsUri>x</KmsUri><UserUri>", 1);
    let err = read_err(&without);
    assert!(
        matches!(&err, AnnexDError::MissingElement { path, element: "KmsUri", .. }
            if path == "KmsResponse/KmsMessage/KmsInit/KmsCertificate"),
        "{err:?}"
    );
    let xml = key_prov_response().to_xml();
    let target = format!("<KmsUri>{}</KmsUri>", text("kms_KmsUri"));
    let second = xml.match_indices(&target).nth(2).unwrap().0; // 0: response, 1: set 1, 2: set 2
    let without = format!("{}{}", &xml[..second], &xml[second + target.len()..]);
    let err = read_err(&without);
    assert!(
        matches!(&err, AnnexDError::MissingElement { path, element: "KmsUri", .. }
            if path == "KmsResponse/KmsMessage/KmsKeyProv/KmsKeySet[2]"),
        "{err:?}"
    );

    for (element, doc) in [
        ("UserUri", minimal("").replace("<UserUri>u</UserUri>", "")),
        ("Time", minimal("").replace("<Time>t</Time>", "")),
        (
            "ClientReqUrl",
            minimal("").replace("<ClientReqUrl>c</ClientReqUrl>", ""),
        ),
        (
            // Replaced by an element of another namespace, which is ignored.
            "UserDecryptKey",
            key_prov_response()
                .to_xml()
                .replacen(
                    "<UserDecryptKey xsi:type=\"KeyContentType\">",
                    "<x:Other xmlns:x=\"urn:x\">",
                    1,
                )
                .replacen("</UserDecryptKey>", "</x:Other>", 1),
        ),
        (
            "KmsCertificate",
            minimal("<KmsMessage><KmsInit/></KmsMessage>"),
        ),
        (
            "ErrorMsg",
            minimal("<KmsError><ErrorCode>1</ErrorCode></KmsError>"),
        ),
    ] {
        let err = read_err(&doc);
        assert!(
            matches!(&err, AnnexDError::MissingElement { element: e, .. } if *e == element),
            "{element}: {err:?}"
        );
    }
}

#[test]
fn refuses_misplaced_and_repeated_elements() {
    let err = read_err(
        &minimal("").replace("<KmsUri>k</KmsUri>", "<KmsUri>k</KmsUri><KmsUri>l</KmsUri>"),
    );
    assert!(
        matches!(&err, AnnexDError::DuplicateElement { path, .. } if path == "KmsResponse/KmsUri"),
        "{err:?}"
    );
    let xml = key_prov_response().to_xml();
    let err = read_err(&xml.replacen("<KeyPeriodNo>", "<Surprise/><KeyPeriodNo>", 1));
    assert!(
        matches!(&err, AnnexDError::UnexpectedElement { path, .. }
            if path == "KmsResponse/KmsMessage/KmsKeyProv/KmsKeySet[1]/Surprise"),
        "{err:?}"
    );
    let err = read_err(&minimal("").replace("<Time>t</Time>", "<Time>t<Nested/></Time>"));
    assert!(
        matches!(&err, AnnexDError::UnexpectedElement { path, .. } if path == "KmsResponse/Time/Nested"),
        "{err:?}"
    );
    let err = read_err(&minimal(
        "<KmsMessage><KmsKeyProv/><KmsCertCache/></KmsMessage>",
    ));
    assert!(
        matches!(err, AnnexDError::UnexpectedElement { .. }),
        "{err:?}"
    );
}

#[test]
fn refuses_bad_values() {
    let xml = key_prov_response().to_xml();
    let rsk = text("alice_UserDecryptKey").to_uppercase();

    // Bad hex: the right length, one character is no hex digit.
    let bad = format!("G{}", &rsk[1..]);
    let err = read_err(&xml.replace(&rsk, &bad));
    assert!(
        matches!(&err, AnnexDError::BadEncoding { path, .. }
            if path == "KmsResponse/KmsMessage/KmsKeyProv/KmsKeySet[2]/UserDecryptKey"),
        "{err:?}"
    );
    // Neither hex nor base64, and empty.
    let err = read_err(&xml.replace(&rsk, "04-not-a-key"));
    assert!(matches!(err, AnnexDError::BadEncoding { .. }), "{err:?}");
    let err = read_err(&xml.replace(&rsk, "  "));
    assert!(matches!(err, AnnexDError::BadEncoding { .. }), "{err:?}");

    // Wrong key lengths: a 256-octet RSK, a 256-octet Z, a 31-octet UserID, a 64-octet PVT.
    let err = read_err(&xml.replace(&rsk, &rsk[..512]));
    assert!(
        matches!(
            err,
            AnnexDError::WrongLength {
                expected: 257,
                got: 256,
                ..
            }
        ),
        "{err:?}"
    );
    let z = text("kms_PubEncKey").to_uppercase();
    let err = read_err(&init_response().to_xml().replace(&z, &z[..512]));
    assert!(
        matches!(&err, AnnexDError::WrongLength { path, expected: 257, got: 256, .. }
            if path.ends_with("KmsCertificate/PubEncKey")),
        "{err:?}"
    );
    let uid = text("bob_UserID").to_uppercase();
    let err = read_err(&xml.replace(&uid, &uid[2..]));
    assert!(
        matches!(&err, AnnexDError::WrongLength { path, expected: 32, got: 31, .. }
            if path.ends_with("KmsKeySet[3]/UserID")),
        "{err:?}"
    );
    let pvt = text("gms_UserPubTokenPVT").to_uppercase();
    let err = read_err(&xml.replace(&pvt, &pvt[2..]));
    assert!(
        matches!(
            err,
            AnnexDError::WrongLength {
                expected: 65,
                got: 64,
                ..
            }
        ),
        "{err:?}"
    );
    let ssk = text("gms_UserSigningKeySSK").to_uppercase();
    let err = read_err(&xml.replace(&ssk, &ssk.repeat(3)));
    assert!(
        matches!(
            err,
            AnnexDError::WrongLength {
                expected: 64,
                got: 96,
                ..
            }
        ),
        "{err:?}"
    );

    // Numbers, booleans, roles, empty URIs.
    for (from, to, path) in [
        ("<KeyPeriodNo>236", "<KeyPeriodNo>-1", "KeyPeriodNo"),
        ("<KeyPeriodNo>236", "<KeyPeriodNo>1e3", "KeyPeriodNo"),
        (
            "<KeyPeriodNo>236",
            "<KeyPeriodNo>99999999999999999999",
            "KeyPeriodNo",
        ),
        (
            "</KeyPeriodNo>",
            "</KeyPeriodNo><Revoked>maybe</Revoked>",
            "Revoked",
        ),
    ] {
        let err = read_err(&xml.replacen(from, to, 1));
        assert!(
            matches!(&err, AnnexDError::BadValue { path: p, .. } if p.ends_with(path)),
            "{to}: {err:?}"
        );
    }
    let err = read_err(&minimal("").replace("<KmsUri>k</KmsUri>", "<KmsUri> </KmsUri>"));
    assert!(matches!(err, AnnexDError::BadValue { .. }), "{err:?}");
    let cert = init_response().to_xml();
    let err = read_err(&cert.replace("Role=\"Root\"", "Role=\"Boss\""));
    assert!(
        matches!(&err, AnnexDError::BadValue { path, .. } if path.ends_with("KmsCertificate/@Role")),
        "{err:?}"
    );
    let err = read_err(&cert.replace(">16777215<", ">0<"));
    assert!(
        matches!(&err, AnnexDError::BadValue { path, .. } if path.ends_with("UserKeyPeriod")),
        "{err:?}"
    );

    // Well-formed but not a key: the decoder of the crate's key type says why.
    let not_on_curve = format!("04{}", "11".repeat(256));
    let doc = KmsResponse::from_xml(&xml.replace(&rsk, &not_on_curve)).unwrap();
    assert!(doc.key_sets()[1].rsk().is_err());
}

#[test]
fn refuses_encrypted_keys_and_signed_certificates() {
    let xml = key_prov_response().to_xml();
    let rsk = text("bob_UserDecryptKey").to_uppercase();
    let encrypted = "<xenc:EncryptedKey xmlns:xenc=\"http://www.w3.org/2001/04/xmlenc#\">\
                     <xenc:CipherData><xenc:CipherValue>AAAA</xenc:CipherValue></xenc:CipherData>\
                     </xenc:EncryptedKey>";
    let err = read_err(&xml.replace(&rsk, encrypted));
    assert!(
        matches!(&err, AnnexDError::Unsupported { path, .. } if path.ends_with("KmsKeySet[3]/UserDecryptKey")),
        "{err:?}"
    );
    let cert = init_response().to_xml();
    let signed = cert
        .replace("<KmsCertificate ", "<SignedKmsCertificate><KmsCertificate ")
        .replace(
            "</KmsCertificate>",
            "</KmsCertificate></SignedKmsCertificate>",
        );
    let err = read_err(&signed);
    assert!(
        matches!(&err, AnnexDError::Unsupported { path, .. } if path.ends_with("KmsInit/SignedKmsCertificate")),
        "{err:?}"
    );
}

#[test]
fn refuses_doctype_and_entities() {
    // Billion laughs: refused at the DOCTYPE, before any entity could be expanded.
    let laughs = format!(
        r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
{}"#,
        minimal("<KmsId>&lol9;</KmsId>")
    );
    let err = read_err(&laughs);
    assert!(matches!(err, AnnexDError::Doctype { .. }), "{err:?}");
    assert_eq!(err.position().unwrap().line, 2);

    // External entity (XXE).
    let xxe = format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE KmsResponse [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n{}",
        minimal("<KmsId>&xxe;</KmsId>")
    );
    assert!(matches!(read_err(&xxe), AnnexDError::Doctype { .. }));
    // An external DTD, and a DOCTYPE with no subset at all.
    let external = format!(
        "<!DOCTYPE KmsResponse SYSTEM \"http://attacker.example/evil.dtd\">{}",
        minimal("")
    );
    assert!(matches!(read_err(&external), AnnexDError::Doctype { .. }));
    let plain = format!("<!DOCTYPE KmsResponse>{}", minimal(""));
    assert!(matches!(read_err(&plain), AnnexDError::Doctype { .. }));
    // An entity used without any DOCTYPE is undeclared.
    let err = read_err(&minimal("<KmsId>&xxe;</KmsId>"));
    assert!(
        matches!(&err, AnnexDError::Malformed { reason, .. } if reason.contains("xxe")),
        "{err:?}"
    );
    // The predefined entities and character references are fine.
    let ok = KmsResponse::from_xml(&minimal("<KmsId>&lt;&#x41;&#66;&amp;&gt;</KmsId>")).unwrap();
    assert_eq!(ok.kms_id.as_deref(), Some("<AB&>"));
}

#[test]
fn refuses_documents_over_the_limits() {
    // Too deep: in another namespace, then in the 3GPP namespace at an extension point.
    let deep = |prefix: &str, n: usize| {
        let open: String = (0..n).map(|_| format!("<{prefix}d>")).collect();
        let close: String = (0..n).map(|_| format!("</{prefix}d>")).collect();
        minimal(&format!("<x:w xmlns:x=\"urn:x\">{open}{close}</x:w>"))
    };
    let err = read_err(&deep("x:", MAX_DEPTH));
    assert!(
        matches!(&err, AnnexDError::TooDeep { max: MAX_DEPTH, path, .. } if path == "KmsResponse"),
        "{err:?}"
    );
    // Exactly at the limit is fine: root + wrapper + 62 = 64 levels.
    KmsResponse::from_xml(&deep("x:", MAX_DEPTH - 2)).unwrap();
    let nested: String = (0..100).map(|_| "<KmsMessage>").collect();
    let err = read_err(&minimal(&nested));
    assert!(matches!(err, AnnexDError::TooDeep { .. }), "{err:?}");
    // A deep document that is also truncated is refused for its depth, before the end.
    let err = read_err(&deep("x:", 10_000));
    assert!(matches!(err, AnnexDError::TooDeep { .. }), "{err:?}");

    // Too many elements.
    let many: String = "<x:e/>".repeat(MAX_ELEMENTS);
    let err = read_err(&minimal(&format!("<x:w xmlns:x=\"urn:x\">{many}</x:w>")));
    assert!(
        matches!(
            err,
            AnnexDError::TooManyElements {
                max: MAX_ELEMENTS,
                ..
            }
        ),
        "{err:?}"
    );

    // Too large, even when the excess is only a comment.
    let big = format!("{}<!--{}-->", minimal(""), "x".repeat(MAX_DOCUMENT_LEN));
    assert_eq!(
        read_err(&big),
        AnnexDError::TooLarge {
            len: big.len(),
            max: MAX_DOCUMENT_LEN
        }
    );
    // Just under the limit is read.
    let pad = MAX_DOCUMENT_LEN - minimal("").len() - "<!---->".len();
    let fits = format!("{}<!--{}-->", minimal(""), "x".repeat(pad));
    assert_eq!(fits.len(), MAX_DOCUMENT_LEN);
    KmsResponse::from_xml(&fits).unwrap();
}

// ----------------------------------------------------------------------------------------------
// No panics

fn sample() -> String {
    let mut doc = key_prov_response();
    if let Some(KmsMessage::KeyProv(kp)) = &mut doc.message {
        kp.key_sets.truncate(1);
    }
    doc.error = Some(KmsError {
        code: 1,
        message: "m".into(),
    });
    doc.to_xml()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let s = String::from_utf8_lossy(&bytes);
        let _ = KmsResponse::from_xml(&s);
        let tagged = format!("<KmsResponse xmlns=\"{NAMESPACE}\">{s}</KmsResponse>");
        let _ = KmsResponse::from_xml(&tagged);
    }

    #[test]
    fn mutated_documents_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..4, any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = sample().into_bytes();
        for (at, op, byte) in edits {
            if bytes.is_empty() {
                break;
            }
            let i = at.index(bytes.len());
            match op {
                0 => bytes[i] = byte,
                1 => { bytes.remove(i); }
                2 => bytes.insert(i, byte),
                _ => {
                    // Duplicate a slice: repeats tags and values.
                    let end = (i + usize::from(byte)).min(bytes.len());
                    let piece = bytes[i..end].to_vec();
                    bytes.splice(i..i, piece);
                }
            }
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        let s = String::from_utf8_lossy(&bytes);
        if let Ok(doc) = KmsResponse::from_xml(&s) {
            // Whatever was accepted can be written and read again.
            let _ = KmsResponse::from_xml(&doc.to_xml());
        }
    }
}
