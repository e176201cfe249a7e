//! `kms::service`: request parsing (paths, escapes, times, bodies), authorisation, issue on
//! first request (idempotent under concurrency), the delivery audit log, the certificate cache
//! and the rendered HTTP replies with their refusal codes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mikey_sakke::annex_d::{KmsMessage, KmsRequest, KmsResponse, RawXml, Role, SignedKmsRequest};
use mikey_sakke::kms::documents::{self, CertCacheError, import_external_certificate};
use mikey_sakke::kms::service::{
    BASE_PATH, CERTCACHE_PATH, Context, HttpReply, INIT_PATH, KEYPROV_PATH, KmsService, Principal,
    Refusal, Request,
};
use mikey_sakke::kms::store::{KdfParams, KmsConfig, KmsStore, PrincipalKind, SqliteStore};
use mikey_sakke::mcx::uid::KeyPeriods;
use mikey_sakke::ue::Client;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

const NTP_UNIX: u64 = 2_208_988_800;
/// Key periods of 30 days from NTP second 3 000 000 000 (1995).
const PERIODS: KeyPeriods = KeyPeriods {
    length: 2_592_000,
    offset: 3_000_000_000,
};
const ALICE: &str = "sip:alice@example.org";
const BOB: &str = "sip:bob@example.org";
const GROUP: &str = "sip:group1@example.org";
const GROUP2: &str = "sip:group2@example.org";
const GMS: &str = "sip:gms@example.org";

struct Tmp(PathBuf);

impl Tmp {
    fn new(name: &str) -> Self {
        let nonce: u64 = rand_core::Rng::next_u64(&mut rand_core::UnwrapErr(getrandom::SysRng));
        let p = std::env::temp_dir().join(format!("mikey-sakke-svc-{name}-{nonce:016x}"));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}

impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn store(tmp: &Tmp, kms_uri: &str) -> Arc<SqliteStore> {
    let config = KmsConfig {
        kms_uri: kms_uri.into(),
        periods: PERIODS,
        parameter_set: 1,
    };
    Arc::new(
        SqliteStore::create(
            &tmp.0.join(format!("{kms_uri}.db")),
            b"pass",
            &config,
            KdfParams::TEST_ONLY,
            &mut ChaCha20Rng::seed_from_u64(7),
        )
        .unwrap(),
    )
}

/// A service whose store knows alice and bob (users), group1 and group2 (groups), with the
/// GMS managing group1.
fn service(tmp: &Tmp) -> (Arc<SqliteStore>, KmsService) {
    let s = store(tmp, "kms.example.org");
    s.register(ALICE, PrincipalKind::User).unwrap();
    s.register(BOB, PrincipalKind::User).unwrap();
    s.register(GROUP2, PrincipalKind::Group).unwrap();
    s.add_group_manager(GROUP, GMS).unwrap();
    let svc = KmsService::new(s.clone()).unwrap();
    (s, svc)
}

fn who(uri: &str) -> Principal {
    Principal { uri: uri.into() }
}

/// 2026-01-01T00:00:00Z.
fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_767_225_600)
}

fn ctx() -> Context {
    Context {
        peer: Some("192.0.2.7:50000".parse::<SocketAddr>().unwrap()),
        now: now(),
    }
}

fn current_period() -> u64 {
    PERIODS.period_number(1_767_225_600 + NTP_UNIX).unwrap()
}

fn keyprov(uri: Option<&str>, time: Option<u64>) -> Request {
    Request::KeyProv {
        uri: uri.map(str::to_string),
        time,
    }
}

fn parse(path: &str) -> Result<Request, Refusal> {
    Request::parse(path, b"")
}

fn bad_request(r: Result<Request, Refusal>) -> bool {
    matches!(r, Err(Refusal::BadRequest(_)))
}

#[test]
fn paths_parse() {
    assert_eq!(parse(INIT_PATH), Ok(Request::Init));
    assert_eq!(parse(&format!("{INIT_PATH}?x=1")), Ok(Request::Init));
    assert_eq!(parse(KEYPROV_PATH), Ok(keyprov(None, None)));
    assert_eq!(parse(&format!("{KEYPROV_PATH}/")), Ok(keyprov(None, None)));
    // raw and escaped URIs
    assert_eq!(
        parse(&format!("{KEYPROV_PATH}/{ALICE}")),
        Ok(keyprov(Some(ALICE), None))
    );
    assert_eq!(
        parse(&format!("{KEYPROV_PATH}/sip%3Aalice%40example.org")),
        Ok(keyprov(Some(ALICE), None))
    );
    assert_eq!(
        parse(&format!(
            "{KEYPROV_PATH}/sip%3aalice%40example.org/D6B4323200000000"
        )),
        Ok(keyprov(Some(ALICE), Some(0xD6B4_3232_0000_0000)))
    );
    assert_eq!(
        parse(&format!("{KEYPROV_PATH}/{ALICE}/d6b4323200000000")),
        Ok(keyprov(Some(ALICE), Some(0xD6B4_3232_0000_0000)))
    );
    // an escaped slash stays in the URI
    assert_eq!(
        parse(&format!("{KEYPROV_PATH}/tel%2F123")),
        Ok(keyprov(Some("tel/123"), None))
    );
    assert_eq!(
        parse(CERTCACHE_PATH),
        Ok(Request::CertCache { cache_num: None })
    );
    assert_eq!(
        parse(&format!("{CERTCACHE_PATH}/42")),
        Ok(Request::CertCache {
            cache_num: Some(42)
        })
    );
    // canonical paths
    assert_eq!(
        keyprov(Some(ALICE), Some(0xD6B4_3232_0000_0000)).path(),
        format!("{KEYPROV_PATH}/sip%3Aalice%40example.org/D6B4323200000000")
    );
    assert_eq!(Request::Init.path(), INIT_PATH);
}

#[test]
fn bad_paths_are_refused() {
    for p in [
        "/",
        "",
        "/keymanagement/identity/v2/init",
        "/keymanagement/identity/v1",
        "/keymanagement/identity/v1init",
        "/keymanagement/identity/v1/other",
        "/keymanagement/identity/v1/init/more",
        "/keymanagement/identity/v1/INIT",
    ] {
        assert_eq!(parse(p), Err(Refusal::NotFound), "{p}");
    }
    for p in [
        format!("{KEYPROV_PATH}/../init"),
        format!("{KEYPROV_PATH}/.."),
        format!("{KEYPROV_PATH}/%2E%2E"),
        format!("{KEYPROV_PATH}/a%2F..%2Fb"),
        format!("{KEYPROV_PATH}/./x"),
        format!("{BASE_PATH}/../keyprov"),
        format!("{KEYPROV_PATH}/sip%00alice"),
        format!("{KEYPROV_PATH}/sip\0alice"),
        format!("{KEYPROV_PATH}/sip%0Aalice"),
        format!("{KEYPROV_PATH}/sip%G1"),
        format!("{KEYPROV_PATH}/sip%4"),
        format!("{KEYPROV_PATH}/sip%"),
        format!("{KEYPROV_PATH}/%FF%FE"),
        format!("{KEYPROV_PATH}/{ALICE}/D6B43232"),
        format!("{KEYPROV_PATH}/{ALICE}/D6B432320000000G"),
        format!("{KEYPROV_PATH}/{ALICE}/+6B4323200000000"),
        format!("{KEYPROV_PATH}/{ALICE}/D6B4323200000000/x"),
        format!("{KEYPROV_PATH}//D6B4323200000000"),
        format!("{CERTCACHE_PATH}/x"),
        format!("{CERTCACHE_PATH}/-1"),
        format!("{CERTCACHE_PATH}/+1"),
        format!("{CERTCACHE_PATH}/1/2"),
    ] {
        assert!(bad_request(parse(&p)), "{p:?}: {:?}", parse(&p));
    }
}

fn request_xml(version: &str) -> String {
    KmsRequest::new(
        ALICE,
        "kms.example.org",
        "2026-01-01T00:00:00Z",
        "https://kms.example.org/keymanagement/identity/v1/init",
    )
    .to_xml()
    .replace("Version=\"1.1.0\"", &format!("Version=\"{version}\""))
}

#[test]
fn bodies() {
    let ok = |b: &[u8]| Request::parse(INIT_PATH, b);
    assert_eq!(ok(b""), Ok(Request::Init));
    assert_eq!(ok(b" \r\n"), Ok(Request::Init));
    assert_eq!(ok(request_xml("1.1.0").as_bytes()), Ok(Request::Init));
    assert_eq!(ok(request_xml("1.0.0").as_bytes()), Ok(Request::Init));
    let signed = SignedKmsRequest::new(
        KmsRequest::from_xml(&request_xml("1.0.0")).unwrap(),
        RawXml::new("<ds:Signature><ds:SignatureValue>AA==</ds:SignatureValue></ds:Signature>")
            .unwrap(),
    )
    .unwrap();
    assert_eq!(ok(signed.to_xml().as_bytes()), Ok(Request::Init));
    for body in [
        request_xml("2.0.0"),
        "<KmsRequest/>".to_string(),
        "not xml".to_string(),
        format!(
            "<!DOCTYPE x [<!ENTITY a \"b\">]>{}",
            request_xml("1.1.0").replace("<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "")
        ),
        documents::client_req_url("k", "/p"),
        KmsResponse::new("u", "k", "t", "c", None).to_xml(),
        // a signed request without its signature
        signed.to_xml().replace(signed.signature().as_str(), ""),
    ] {
        assert!(bad_request(ok(body.as_bytes())), "{body}");
    }
    assert!(bad_request(ok(&[0xFF, 0xFE, b'<'])));
    let huge = format!("<KmsRequest>{}</KmsRequest>", " ".repeat(2 << 20));
    assert_eq!(ok(huge.as_bytes()), Err(Refusal::TooLarge));
}

#[test]
fn init_serves_the_current_certificate() {
    let tmp = Tmp::new("init");
    let (s, svc) = service(&tmp);
    assert_eq!(svc.kms_uri(), "kms.example.org");
    let reply = svc.handle(&who(ALICE), &Request::Init, &ctx()).unwrap();
    assert_eq!((reply.issued, reply.served), (0, 0));
    let doc = reply.document;
    assert_eq!(doc.user_uri, ALICE);
    assert_eq!(doc.kms_uri, "kms.example.org");
    assert_eq!(doc.time, "2026-01-01T00:00:00Z");
    assert_eq!(
        doc.client_req_url,
        "https://kms.example.org/keymanagement/identity/v1/init"
    );
    let cert = doc.certificate().unwrap();
    let keys = s.master_keys(current_period()).unwrap();
    assert_eq!(cert.kms_public_key().unwrap(), keys.sakke_public);
    assert_eq!(cert.kpak().unwrap(), keys.kpak);
    assert_eq!(cert.key_periods(), PERIODS);
    assert_eq!(cert.role, Some(Role::Root));
    // before the first key period
    let early = Context {
        peer: None,
        now: UNIX_EPOCH,
    };
    assert!(matches!(
        svc.handle(&who(ALICE), &Request::Init, &early),
        Err(Refusal::NoKeyPeriod)
    ));
}

#[test]
fn key_prov_issues_once_then_serves_and_logs() {
    let tmp = Tmp::new("keyprov");
    let (s, svc) = service(&tmp);
    let first = svc
        .handle(&who(ALICE), &keyprov(None, None), &ctx())
        .unwrap();
    assert_eq!((first.issued, first.served), (1, 0));
    let again = svc
        .handle(&who(ALICE), &keyprov(Some(ALICE), None), &ctx())
        .unwrap();
    assert_eq!((again.issued, again.served), (0, 1));
    let (a, b) = (first.document.key_sets(), again.document.key_sets());
    assert_eq!(a.len(), 1);
    assert_eq!(a, b);
    assert_eq!(a[0].user_uri, ALICE);
    assert_eq!(a[0].key_period_no, current_period());
    assert_eq!(
        first.document.client_req_url,
        "https://kms.example.org/keymanagement/identity/v1/keyprov"
    );
    // the client accepts them under the certificate
    let init = svc.handle(&who(ALICE), &Request::Init, &ctx()).unwrap();
    let client = Client::load(init.document.certificate().unwrap(), a).unwrap();
    assert_eq!(client.key_periods(), vec![current_period()]);
    assert_eq!(s.issued_count().unwrap(), 1);
    // two deliveries in the audit log
    let log = s.deliveries().unwrap();
    assert_eq!(log.len(), 2);
    for d in &log {
        assert_eq!(d.principal, ALICE);
        assert_eq!(d.uri, ALICE);
        assert_eq!(d.period_no, current_period());
        assert_eq!(d.at, 1_767_225_600);
        assert_eq!(d.peer.as_deref(), Some("192.0.2.7:50000"));
    }
}

#[test]
fn key_prov_for_the_time_in_the_path() {
    let tmp = Tmp::new("time");
    let (s, svc) = service(&tmp);
    let next_start = PERIODS.period_start(current_period() + 1).unwrap();
    let t = (next_start + 5) << 32 | 0x1234;
    let reply = svc
        .handle(&who(ALICE), &keyprov(Some(ALICE), Some(t)), &ctx())
        .unwrap();
    let sets = reply.document.key_sets();
    assert_eq!(sets.len(), 1, "one period per request");
    assert_eq!(sets[0].key_period_no, current_period() + 1);
    assert_eq!(
        reply.document.client_req_url,
        format!("https://kms.example.org{KEYPROV_PATH}/sip%3Aalice%40example.org/{t:016X}")
    );
    assert!(s.issued(ALICE, current_period() + 1).unwrap().is_some());
    assert!(s.issued(ALICE, current_period()).unwrap().is_none());
    // a time before the first key period
    assert!(matches!(
        svc.handle(&who(ALICE), &keyprov(None, Some(5 << 32)), &ctx()),
        Err(Refusal::NoKeyPeriod)
    ));
    // through the path, end to end
    let path = format!("{KEYPROV_PATH}/sip%3Aalice%40example.org/{t:016x}");
    let reply = svc.respond(Some(&who(ALICE)), &path, b"", &ctx());
    assert_eq!(reply.status, 200);
    assert_eq!((reply.issued, reply.served), (0, 1));
    let doc = KmsResponse::from_xml(&reply.body).unwrap();
    assert_eq!(doc.key_sets()[0].key_period_no, current_period() + 1);
    assert_eq!(doc.client_req_url, format!("https://kms.example.org{path}"));
}

#[test]
fn authorisation() {
    let tmp = Tmp::new("authz");
    let (s, svc) = service(&tmp);
    let c = ctx();
    // another user's URI
    assert_eq!(
        svc.handle(&who(ALICE), &keyprov(Some(BOB), None), &c)
            .unwrap_err(),
        Refusal::Forbidden
    );
    // an unregistered URI: NotFound for one's own, Forbidden for another's
    let carol = "sip:carol@example.org";
    assert_eq!(
        svc.handle(&who(carol), &keyprov(None, None), &c)
            .unwrap_err(),
        Refusal::NotFound
    );
    assert_eq!(
        svc.handle(&who(ALICE), &keyprov(Some(carol), None), &c)
            .unwrap_err(),
        Refusal::Forbidden
    );
    // the group manager, for its group and for another group
    let g = svc
        .handle(&who(GMS), &keyprov(Some(GROUP), None), &c)
        .unwrap();
    assert_eq!(g.document.key_sets()[0].user_uri, GROUP);
    assert_eq!(g.document.user_uri, GROUP);
    assert_eq!(
        svc.handle(&who(GMS), &keyprov(Some(GROUP2), None), &c)
            .unwrap_err(),
        Refusal::Forbidden
    );
    // a group member who is no manager
    assert_eq!(
        svc.handle(&who(ALICE), &keyprov(Some(GROUP), None), &c)
            .unwrap_err(),
        Refusal::Forbidden
    );
    // a removed manager
    assert!(s.remove_group_manager(GROUP, GMS).unwrap());
    assert_eq!(
        svc.handle(&who(GMS), &keyprov(Some(GROUP), None), &c)
            .unwrap_err(),
        Refusal::Forbidden
    );
    // refusals deliver nothing and log nothing
    assert_eq!(s.issued_count().unwrap(), 1);
    let log = s.deliveries().unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].principal.as_str(), log[0].uri.as_str()),
        (GMS, GROUP)
    );
}

#[test]
fn first_issue_from_eight_threads_is_one_key_set() {
    let tmp = Tmp::new("race");
    let (s, svc) = service(&tmp);
    let barrier = std::sync::Barrier::new(8);
    let replies: Vec<_> = std::thread::scope(|sc| {
        let threads: Vec<_> = (0..8)
            .map(|_| {
                sc.spawn(|| {
                    barrier.wait();
                    svc.handle(&who(BOB), &keyprov(None, None), &ctx()).unwrap()
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    assert_eq!(replies.iter().map(|r| r.issued).sum::<u64>(), 1);
    assert_eq!(replies.iter().map(|r| r.served).sum::<u64>(), 7);
    let first = replies[0].document.key_sets();
    for r in &replies {
        assert_eq!(r.document.key_sets(), first);
    }
    assert_eq!(s.issued_count().unwrap(), 1);
    assert_eq!(s.deliveries().unwrap().len(), 8);
}

fn other_kms_certificate(tmp: &Tmp) -> String {
    let other = store(tmp, "kms.other.org");
    let keys = other.master_keys(current_period()).unwrap();
    documents::certificate(other.config(), &keys).to_xml()
}

#[test]
fn cert_cache() {
    let tmp = Tmp::new("cache");
    let (s, svc) = service(&tmp);
    let cache_of = |n: Option<u64>| {
        let r = svc
            .handle(&who(ALICE), &Request::CertCache { cache_num: n }, &ctx())
            .unwrap();
        match r.document.message {
            Some(KmsMessage::CertCache(c)) => c,
            other => panic!("{other:?}"),
        }
    };
    let empty = cache_of(None);
    assert_eq!(empty.cache_num, Some(0));
    assert!(empty.certificates.is_empty());
    // another KMS's certificate, as a bare certificate and inside a KmsInit response
    let cert_xml = other_kms_certificate(&tmp);
    assert_eq!(
        import_external_certificate(s.as_ref(), &cert_xml).unwrap(),
        1
    );
    let cache = cache_of(None);
    assert_eq!(cache.cache_num, Some(1));
    assert_eq!(cache.certificates.len(), 1);
    assert_eq!(cache.certificates[0].kms_uri, "kms.other.org");
    assert_eq!(cache.certificates[0].role, Some(Role::External));
    // the client's number is current: an empty cache
    let same = cache_of(Some(1));
    assert_eq!(same.cache_num, Some(1));
    assert!(same.certificates.is_empty());
    assert_eq!(cache_of(Some(0)).certificates.len(), 1);
    // the same certificate again changes nothing; a changed one grows the number
    assert_eq!(
        import_external_certificate(s.as_ref(), &cert_xml).unwrap(),
        1
    );
    let third = store(&Tmp::new("third"), "kms.third.org");
    let keys = third.master_keys(current_period()).unwrap();
    let init = documents::init_response(
        third.config(),
        ALICE,
        "2026-01-01T00:00:00Z",
        documents::certificate(third.config(), &keys),
    )
    .to_xml();
    assert_eq!(import_external_certificate(s.as_ref(), &init).unwrap(), 2);
    assert_eq!(cache_of(Some(1)).certificates.len(), 2);
    // our own certificate, a document without one, broken XML
    let own = svc.handle(&who(ALICE), &Request::Init, &ctx()).unwrap();
    assert!(matches!(
        import_external_certificate(s.as_ref(), &own.document.to_xml()),
        Err(CertCacheError::OwnCertificate)
    ));
    assert!(matches!(
        import_external_certificate(
            s.as_ref(),
            &KmsResponse::new("u", "k", "t", "c", None).to_xml()
        ),
        Err(CertCacheError::NoCertificate)
    ));
    assert!(matches!(
        import_external_certificate(s.as_ref(), "<KmsCertificate"),
        Err(CertCacheError::Document(_))
    ));
    let bad_key = cert_xml.replacen("<PubAuthKey>04", "<PubAuthKey>05", 1);
    assert!(matches!(
        import_external_certificate(s.as_ref(), &bad_key),
        Err(CertCacheError::BadKey("PubAuthKey"))
    ));
    assert_eq!(s.cache_num().unwrap(), 2);
    // through the path
    let reply = svc.respond(
        Some(&who(ALICE)),
        &format!("{CERTCACHE_PATH}/2"),
        b"",
        &ctx(),
    );
    assert_eq!(reply.status, 200);
    let doc = KmsResponse::from_xml(&reply.body).unwrap();
    assert!(
        matches!(doc.message, Some(KmsMessage::CertCache(ref c)) if c.cache_num == Some(2) && c.certificates.is_empty())
    );
}

fn error_of(reply: &HttpReply) -> (i64, String) {
    let doc = KmsResponse::from_xml(&reply.body).unwrap();
    assert!(doc.message.is_none());
    let e = doc.error.unwrap();
    (e.code, e.message)
}

#[test]
fn replies_and_refusal_codes() {
    let table = [
        (Refusal::BadRequest("x".into()), 400, 1),
        (Refusal::Unauthenticated, 401, 2),
        (Refusal::Forbidden, 403, 3),
        (Refusal::NotFound, 404, 4),
        (Refusal::Revoked, 403, 5),
        (Refusal::TooLarge, 413, 6),
        (Refusal::Overloaded, 503, 7),
        (Refusal::NoKeyPeriod, 400, 8),
        (Refusal::Internal, 500, 9),
    ];
    for (r, status, code) in &table {
        assert_eq!((r.status(), r.code()), (*status, *code), "{r:?}");
        assert!(!r.message().is_empty());
    }
    let tmp = Tmp::new("respond");
    let (_s, svc) = service(&tmp);
    let c = ctx();
    // no access token
    let r = svc.respond(None, INIT_PATH, b"", &c);
    assert_eq!(r.status, 401);
    assert_eq!(error_of(&r).0, 2);
    let doc = KmsResponse::from_xml(&r.body).unwrap();
    assert_eq!(
        doc.client_req_url,
        "https://kms.example.org/keymanagement/identity/v1/init"
    );
    // success
    let r = svc.respond(Some(&who(ALICE)), &format!("{INIT_PATH}?q=1"), b"", &c);
    assert_eq!(r.status, 200);
    assert!(
        KmsResponse::from_xml(&r.body)
            .unwrap()
            .certificate()
            .is_some()
    );
    // refusals
    let cases = [
        (format!("{KEYPROV_PATH}/{BOB}"), b"".as_slice(), 403, 3),
        (format!("{BASE_PATH}/nothing"), b"".as_slice(), 404, 4),
        (format!("{KEYPROV_PATH}/a%ZZ"), b"".as_slice(), 400, 1),
        (INIT_PATH.to_string(), b"<junk".as_slice(), 400, 1),
        (
            format!("{KEYPROV_PATH}/{ALICE}/0000000500000000"),
            b"".as_slice(),
            400,
            8,
        ),
    ];
    for (path, body, status, code) in cases {
        let r = svc.respond(Some(&who(ALICE)), &path, body, &c);
        assert_eq!(r.status, status, "{path}");
        assert_eq!(error_of(&r).0, code, "{path}");
        assert_eq!((r.issued, r.served), (0, 0));
        assert_eq!(KmsResponse::from_xml(&r.body).unwrap().user_uri, ALICE);
    }
    // a control character in the path does not break the document
    let r = svc.respond(Some(&who(ALICE)), "/keymanagement/\u{1}x", b"", &c);
    assert_eq!(r.status, 400);
    assert!(KmsResponse::from_xml(&r.body).is_ok());
    // what the transport produces itself
    let doc = svc.refusal_document(&Refusal::TooLarge, INIT_PATH, &c);
    let doc = KmsResponse::from_xml(&doc).unwrap();
    assert_eq!(doc.error.unwrap().code, 6);
    assert_eq!(doc.user_uri, "kms.example.org");
    // the Debug of a reply shows no key
    let r = svc.respond(Some(&who(ALICE)), KEYPROV_PATH, b"", &c);
    assert_eq!((r.status, r.issued), (200, 1));
    let dbg = format!("{r:?}");
    assert!(
        !dbg.contains("UserDecryptKey") && dbg.contains("body_len"),
        "{dbg}"
    );
}

#[test]
fn a_revoked_uri_is_neither_served_nor_issued() {
    use mikey_sakke::kms::store::LifecycleStore;
    let tmp = Tmp::new("revoked");
    let (s, svc) = service(&tmp);
    svc.handle(&who(ALICE), &keyprov(None, None), &ctx())
        .unwrap();
    s.revoke(ALICE, Some("lost device")).unwrap();
    s.revoke(GROUP, None).unwrap();
    // the recorded set is not served, and no new one is issued (next period)
    let next = (1_767_225_600 + NTP_UNIX + PERIODS.length) << 32;
    for req in [keyprov(None, None), keyprov(Some(ALICE), Some(next))] {
        assert_eq!(
            svc.handle(&who(ALICE), &req, &ctx()).unwrap_err(),
            Refusal::Revoked
        );
    }
    assert_eq!(
        svc.handle(&who(GMS), &keyprov(Some(GROUP), None), &ctx())
            .unwrap_err(),
        Refusal::Revoked
    );
    // a caller who may not ask for the URI learns nothing about it
    assert_eq!(
        svc.handle(&who(BOB), &keyprov(Some(ALICE), None), &ctx())
            .unwrap_err(),
        Refusal::Forbidden
    );
    let r = svc.respond(Some(&who(ALICE)), KEYPROV_PATH, b"", &ctx());
    assert_eq!((r.status, error_of(&r).0), (403, 5));
    assert_eq!((r.issued, r.served), (0, 0));
    assert_eq!(s.issued_count().unwrap(), 1);
    assert_eq!(s.deliveries().unwrap().len(), 1);
    // reinstated: served again
    s.unrevoke(ALICE).unwrap();
    let again = svc
        .handle(&who(ALICE), &keyprov(None, None), &ctx())
        .unwrap();
    assert_eq!((again.issued, again.served), (0, 1));
}

/// #19 item 3, master-key rotation through the service: `/init` serves the certificate of the
/// current period's generation, `/init/<NTP time>` that of the time's generation (plain `/init`
/// unchanged); each period's key set loads under its own generation's certificate only.
#[test]
fn init_at_a_time_serves_that_generation_after_a_rotation() {
    let tmp = Tmp::new("rotation");
    let (_s, svc) = service(&tmp);
    let now_ntp = 1_767_225_600 + NTP_UNIX;
    let (cur, next) = (current_period(), current_period() + 1);
    let next_start = PERIODS.period_start(next).unwrap();
    let r = mikey_sakke::kms::rotation::rotate(
        svc.store(),
        next_start,
        now_ntp,
        &mut ChaCha20Rng::seed_from_u64(9),
    )
    .unwrap();
    assert_eq!(r.first_period, next);
    let init = |req: &Request| {
        svc.handle(&who(ALICE), req, &ctx())
            .unwrap()
            .document
            .certificate()
            .unwrap()
            .clone()
    };
    let old = init(&Request::Init);
    let at_now = init(&Request::InitAt {
        time: now_ntp << 32,
    });
    let new = init(&Request::InitAt {
        time: (next_start + 7) << 32 | 0xABCD,
    });
    assert_eq!(old, at_now);
    assert_ne!(old.kpak().unwrap(), new.kpak().unwrap());
    assert!(old.valid_to.is_some() && new.valid_to.is_none());
    let set = |p: u64| {
        let t = PERIODS.period_start(p).unwrap() << 32;
        svc.handle(&who(ALICE), &keyprov(None, Some(t)), &ctx())
            .unwrap()
            .document
            .key_sets()
            .to_vec()
    };
    let (a, b) = (set(cur), set(next));
    // the problem this solves: the current certificate did not issue the next period's set
    assert!(Client::load(&old, &b).is_err());
    assert!(Client::load(&new, &a).is_err());
    assert_eq!(Client::load(&old, &a).unwrap().key_periods(), vec![cur]);
    assert_eq!(Client::load(&new, &b).unwrap().key_periods(), vec![next]);
    // through the path: 16 hex digits, either case; the ClientReqUrl names it
    let path = format!("{INIT_PATH}/{:016x}", next_start << 32);
    assert_eq!(
        parse(&path),
        Ok(Request::InitAt {
            time: next_start << 32
        })
    );
    assert_eq!(
        Request::InitAt {
            time: next_start << 32
        }
        .path(),
        format!("{INIT_PATH}/{:016X}", next_start << 32)
    );
    let reply = svc.respond(Some(&who(ALICE)), &path, b"", &ctx());
    assert_eq!(reply.status, 200);
    let doc = KmsResponse::from_xml(&reply.body).unwrap();
    assert_eq!(doc.certificate().unwrap(), &new);
    assert_eq!(doc.client_req_url, format!("https://kms.example.org{path}"));
    // a time before the first key period; anything but 16 hex digits is no resource
    assert_eq!(
        svc.handle(&who(ALICE), &Request::InitAt { time: 5 << 32 }, &ctx())
            .unwrap_err(),
        Refusal::NoKeyPeriod
    );
    for p in ["D6B43232", "D6B432320000000G", "D6B4323200000000/x"] {
        assert_eq!(
            parse(&format!("{INIT_PATH}/{p}")),
            Err(Refusal::NotFound),
            "{p}"
        );
    }
}
