//! The KMS as an HTTPS service through the real binary: `kms init` -> `kms serve` -> `ue fetch`
//! -> `gms distribute` -> `ue receive`; the same requests by curl; the authorisation and token
//! matrices over HTTP; malformed requests; kill -9 during first-time issue, restart, and every
//! key set a client received is in the store exactly once and equals a re-fetch. The flow, the
//! matrix and the kill test run on a SQLite file and on a PostgreSQL store; two servers on one
//! PostgreSQL store answer the same clients, issue one key set for concurrent first requests,
//! and one goes on when the other is killed.
#![cfg(feature = "server")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod e2e;
mod https;
#[cfg(feature = "postgres")]
#[path = "common/pg.rs"]
mod pg;

use std::process::Command;
use std::sync::Arc;

use e2e::*;
use https::{H1, plain_get};
use mikey_sakke::annex_d::KmsResponse;
use mikey_sakke::idms::{IdmsKey, TokenRequest};

#[test]
fn init_serve_fetch_distribute_receive_sqlite() {
    on(Backend::Sqlite, init_serve_fetch_distribute_receive);
}

#[cfg(feature = "postgres")]
#[test]
fn init_serve_fetch_distribute_receive_postgres() {
    on(Backend::Postgres, init_serve_fetch_distribute_receive);
}

fn init_serve_fetch_distribute_receive(backend: Backend) {
    let kms = Kms::new("e2e-flow", &[ALICE, BOB, GMS], backend);
    let server = kms.serve(&[]);
    let alice_dir = kms.tmp.path("alice");
    let gms_dir = kms.tmp.path("gms");
    let alice_token = kms.token_file(ALICE);
    let gms_token = kms.token_file(GMS);
    let out = ok(&fetch_args(
        &server.url(),
        ALICE,
        s(&alice_token),
        Some(s(&kms.ca)),
        s(&alice_dir),
    ));
    let periods: Vec<u64> = out
        .lines()
        .filter_map(|l| l.strip_prefix("key_period = "))
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(periods.len(), 2, "{out}");
    assert_eq!(periods[1], periods[0] + 1);
    for f in [
        "cert.xml".to_string(),
        format!("keyset-{}.xml", periods[0]),
        format!("keyset-{}.xml", periods[1]),
    ] {
        let p = alice_dir.join(&f);
        let mode =
            std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&p).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600, "{f}");
    }
    // The token from standard input works the same.
    let o = bin()
        .args(fetch_args(
            &server.url(),
            GMS,
            "-",
            Some(s(&kms.ca)),
            s(&gms_dir),
        ))
        .stdin(std::fs::File::open(&gms_token).unwrap())
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // The group manager fetches its group's key sets too.
    let group_dir = kms.tmp.path("group");
    ok(&fetch_args(
        &server.url(),
        GROUP,
        s(&gms_token),
        Some(s(&kms.ca)),
        s(&group_dir),
    ));
    // GMS distributes a GMK to alice, signed with the GMS's key set of this period.
    let members = kms.tmp.path("members.txt");
    std::fs::write(&members, format!("{ALICE}\n")).unwrap();
    let msgs = kms.tmp.path("msgs");
    ok(&[
        "gms",
        "distribute",
        "--cert",
        s(&gms_dir.join("cert.xml")),
        "--keys",
        s(&gms_dir.join(format!("keyset-{}.xml", periods[0]))),
        "--group-id",
        GROUP,
        "--members",
        s(&members),
        "--out",
        s(&msgs),
        "--gmk",
        "00112233445566778899AABBCCDDEEFF",
        "--gmk-id",
        "0ABCDEF1",
    ]);
    let got = ok(&[
        "ue",
        "receive",
        "--cert",
        s(&alice_dir.join("cert.xml")),
        "--keys",
        s(&alice_dir.join(format!("keyset-{}.xml", periods[0]))),
        "--keys",
        s(&alice_dir.join(format!("keyset-{}.xml", periods[1]))),
        "--message",
        s(&msgs.join("sip%3Aalice%40example.org.mikey")),
    ]);
    assert!(
        got.contains("key = 00112233445566778899AABBCCDDEEFF\n"),
        "{got}"
    );
    assert!(got.contains("key_id = 0ABCDEF1\n"), "{got}");
    // Metrics: key sets issued and served.
    let m = rt().block_on(plain_get(server.metrics, "/metrics"));
    assert!(
        m.body.contains("kms_key_sets_issued_total 6\n"),
        "{}",
        m.body
    );
    let (stdout, log) = server.stop();
    assert!(stdout.contains("stopped = graceful shutdown"), "{stdout}");
    // One JSON access-log line per request, never a token or a key.
    let access: Vec<serde_json::Value> = log
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v.get("status").is_some())
        .collect();
    assert_eq!(access.len(), 9, "{log:?}");
    for v in &access {
        for k in ["time", "peer", "path", "principal", "status", "latency_ms"] {
            assert!(v.get(k).is_some(), "{k} missing in {v}");
        }
    }
    let all = log.join("\n");
    let alice_jwt = std::fs::read_to_string(&alice_token).unwrap();
    assert!(!all.contains(alice_jwt.trim()));
    let ks = std::fs::read_to_string(alice_dir.join(format!("keyset-{}.xml", periods[0]))).unwrap();
    let rsk = ks.split("UserDecryptKey").nth(1).unwrap();
    let rsk_hex: String = rsk
        .chars()
        .skip_while(|c| !c.is_ascii_hexdigit())
        .take(64)
        .collect();
    assert!(!all.contains(&rsk_hex));
}

fn curl_available() -> bool {
    Command::new("curl")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn curl(server: &Served, kms: &Kms, path: &str, token: &str, extra: &[&str]) -> (u16, String) {
    let o = Command::new("curl")
        .args([
            "-sS",
            "--path-as-is",
            "--cacert",
            s(&kms.ca),
            "-X",
            "POST",
            "-H",
            &format!("Authorization: Bearer {token}"),
            "-H",
            "Content-Type: application/xml",
            "-w",
            "\n%{http_code}",
        ])
        .args(extra)
        .arg(format!("{}{path}", server.url()))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (code.trim().parse().unwrap(), body.to_string())
}

#[test]
fn curl_raw_and_escaped_uris_and_empty_body() {
    assert!(curl_available(), "curl is needed (apt-get install curl)");
    let kms = Kms::new("e2e-curl", &[ALICE], Backend::Sqlite);
    // The store and its passphrase file named in a TOML config (paths relative to it), no
    // passphrase in the environment: a wrong passphrase file stops the start.
    let wrong = kms.tmp.path("wrong.txt");
    std::fs::write(&wrong, "not the passphrase\n").unwrap();
    let config = kms.tmp.path("serve.toml");
    std::fs::write(
        &config,
        "store = \"kms.db\"\npassphrase-file = \"wrong.txt\"\naccess-log = false\n",
    )
    .unwrap();
    let o = kms.serve_config(&config).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("wrong passphrase"), "{err}");
    std::fs::write(
        &config,
        "store = \"kms.db\"\npassphrase-file = \"passphrase.txt\"\naccess-log = false\n",
    )
    .unwrap();
    let mut c = bin();
    c.env_remove("MIKEY_SAKKE_PASSPHRASE")
        .args(["kms", "serve", "--config", s(&config)]);
    let server = kms.spawn_serve(c, &[]);
    let t = kms.token(ALICE);
    let (code, init) = curl(
        &server,
        &kms,
        "/keymanagement/identity/v1/init",
        &t,
        &["-d", ""],
    );
    assert_eq!(code, 200, "{init}");
    assert!(
        KmsResponse::from_xml(&init)
            .unwrap()
            .certificate()
            .is_some()
    );
    let (c1, raw) = curl(
        &server,
        &kms,
        &format!("{KEYPROV}/{ALICE}"),
        &t,
        &["-d", ""],
    );
    let (c2, escaped) = curl(
        &server,
        &kms,
        &format!("{KEYPROV}/sip%3Aalice%40example.org"),
        &t,
        &[],
    );
    let (c3, own) = curl(&server, &kms, KEYPROV, &t, &["--http2", "-d", ""]);
    assert_eq!((c1, c2, c3), (200, 200, 200), "{raw}\n{escaped}\n{own}");
    let sets: Vec<_> = [&raw, &escaped, &own]
        .iter()
        .map(|x| KmsResponse::from_xml(x).unwrap().key_sets()[0].clone())
        .collect();
    assert_eq!(sets[0], sets[1]);
    assert_eq!(sets[0], sets[2]);
    // With a time: the period of that time (16 hex digits of NTP time).
    let start = mikey_sakke::mcx::uid::KeyPeriods {
        length: 2_592_000,
        offset: 0,
    }
    .period_start(sets[0].key_period_no + 1)
    .unwrap();
    let (c4, next) = curl(
        &server,
        &kms,
        &format!("{KEYPROV}/{ALICE}/{:016X}", start << 32),
        &t,
        &[],
    );
    assert_eq!(c4, 200, "{next}");
    let next = KmsResponse::from_xml(&next).unwrap();
    assert_eq!(next.key_sets().len(), 1, "one period per request");
    assert_eq!(next.key_sets()[0].key_period_no, sets[0].key_period_no + 1);
    // A KmsRequest body works too.
    let body = format!(
        "<?xml version=\"1.0\"?><KmsRequest xmlns=\"urn:3gpp:ns:mcsecKMSInterface:1.0\" Version=\"1.0.0\"><UserUri>{ALICE}</UserUri><KmsUri>{KMS_URI}</KmsUri><Time>2026-01-01T00:00:00Z</Time><ClientReqUrl>https://{KMS_URI}{KEYPROV}</ClientReqUrl></KmsRequest>"
    );
    let (c5, with_body) = curl(&server, &kms, KEYPROV, &t, &["--data-binary", &body]);
    assert_eq!(c5, 200, "{with_body}");
    // Without a token: 401 with the challenge.
    let o = Command::new("curl")
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-D",
            "-",
            "--cacert",
            s(&kms.ca),
            "-X",
            "POST",
        ])
        .arg(format!("{}{KEYPROV}", server.url()))
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&o.stdout).to_lowercase();
    assert!(
        head.starts_with("http/1.1 401") || head.starts_with("http/2 401"),
        "{head}"
    );
    assert!(
        head.contains("www-authenticate: bearer error=\"invalid_token\""),
        "{head}"
    );
    server.stop();
}

#[test]
fn authorisation_token_matrix_and_malformed_requests_sqlite() {
    on(
        Backend::Sqlite,
        authorisation_token_matrix_and_malformed_requests,
    );
}

#[cfg(feature = "postgres")]
#[test]
fn authorisation_token_matrix_and_malformed_requests_postgres() {
    on(
        Backend::Postgres,
        authorisation_token_matrix_and_malformed_requests,
    );
}

fn authorisation_token_matrix_and_malformed_requests(backend: Backend) {
    let kms = Kms::new("e2e-matrix", &[ALICE, BOB, GMS], backend);
    let server = kms.serve(&["--no-access-log"]);
    let pki = pki_of(&kms);
    let other_idms = IdmsKey::generate(&mut rand_core::UnwrapErr(getrandom::SysRng));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let good = |user: &str| {
        let mut r = TokenRequest::new(user);
        r.issuer = ISSUER.into();
        r.audience = Some(AUDIENCE.into());
        r
    };
    rt().block_on(async {
        let mut c = H1::connect(&pki, server.addr).await;
        let alice = kms.token(ALICE);
        let gms = kms.token(GMS);
        // Authorisation.
        let cases: Vec<(&str, &str, u16)> = vec![
            ("own", &alice, 200),
            ("another user's URI", &alice, 403),
            ("group manager, its group", &gms, 200),
            ("group manager, another group", &gms, 403),
            ("a user asking for a group", &alice, 403),
            ("own URI unregistered", "", 404),
        ];
        let nobody = kms.token(UNREGISTERED);
        let paths = [
            format!("{KEYPROV}/{ALICE}"),
            format!("{KEYPROV}/{BOB}"),
            format!("{KEYPROV}/{GROUP}"),
            format!("{KEYPROV}/{GROUP2}"),
            format!("{KEYPROV}/{GROUP}"),
            KEYPROV.to_string(),
        ];
        for ((what, tok, want), path) in cases.iter().zip(&paths) {
            let tok = if tok.is_empty() { nobody.as_str() } else { tok };
            let a = c.post(path, Some(tok)).await;
            assert_eq!(a.status, *want, "{what}: {}", a.body);
            if a.status != 200 {
                assert!(a.body.contains("<KmsError>"), "{what}: {}", a.body);
                assert!(!a.body.contains("KmsKeySet"), "{what}");
            }
        }
        // Tokens: every one of these is refused with 401 invalid_token (or 403 for the scope).
        let mut expired = good(ALICE);
        expired.now = Some(now - 7200);
        expired.ttl = 600;
        let mut future = good(ALICE);
        future.now = Some(now + 3600);
        let mut wrong_aud = good(ALICE);
        wrong_aud.audience = Some("another-kms".into());
        let mut no_aud = good(ALICE);
        no_aud.audience = None;
        let mut wrong_iss = good(ALICE);
        wrong_iss.issuer = "https://evil.example.org".into();
        let mut wrong_scope = good(ALICE);
        wrong_scope.scope = "3gpp:mc:ptt_service openid".into();
        let valid = kms.idms.token(&good(ALICE)).unwrap();
        let (h, p, sig) = {
            let mut it = valid.split('.');
            (it.next().unwrap(), it.next().unwrap(), it.next().unwrap())
        };
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header_none = b64.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let kid = kms.idms.kid().to_string();
        let header_hs = b64.encode(format!(r#"{{"alg":"HS256","typ":"JWT","kid":"{kid}"}}"#));
        let jwks = std::fs::read(&kms.jwks).unwrap();
        let hs_sig = {
            use hmac::{KeyInit as _, Mac as _};
            let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&jwks).unwrap();
            mac.update(format!("{header_hs}.{p}").as_bytes());
            b64.encode(mac.finalize().into_bytes())
        };
        let mut flipped = sig.as_bytes().to_vec();
        flipped[10] = if flipped[10] == b'A' { b'B' } else { b'A' };
        let bad_tokens: Vec<(&str, Option<String>)> = vec![
            ("no token", None),
            ("garbage", Some("not-a-jwt".into())),
            (
                "bad signature",
                Some(format!("{h}.{p}.{}", String::from_utf8(flipped).unwrap())),
            ),
            (
                "signed by another key, same kid",
                Some({
                    let forged = other_idms.token(&good(ALICE)).unwrap();
                    let mut it = forged.split('.');
                    let (_, fp, fs) = (it.next(), it.next().unwrap(), it.next().unwrap());
                    format!("{h}.{fp}.{fs}")
                }),
            ),
            ("unknown kid", Some(other_idms.token(&good(ALICE)).unwrap())),
            ("alg none", Some(format!("{header_none}.{p}."))),
            (
                "HS256 with the public key",
                Some(format!("{header_hs}.{p}.{hs_sig}")),
            ),
            ("expired", Some(kms.idms.token(&expired).unwrap())),
            ("not yet valid", Some(kms.idms.token(&future).unwrap())),
            ("wrong audience", Some(kms.idms.token(&wrong_aud).unwrap())),
            ("no audience", Some(kms.idms.token(&no_aud).unwrap())),
            ("wrong issuer", Some(kms.idms.token(&wrong_iss).unwrap())),
        ];
        for (what, tok) in &bad_tokens {
            let a = c.post(KEYPROV, tok.as_deref()).await;
            assert_eq!(a.status, 401, "{what}: {}", a.body);
            assert!(
                a.header("www-authenticate")
                    .starts_with("Bearer error=\"invalid_token\""),
                "{what}"
            );
            assert!(
                a.body.contains("<ErrorCode>2</ErrorCode>"),
                "{what}: {}",
                a.body
            );
        }
        let a = c
            .post(KEYPROV, Some(&kms.idms.token(&wrong_scope).unwrap()))
            .await;
        assert_eq!(a.status, 403);
        assert!(a.header("www-authenticate").contains("insufficient_scope"));
        // Malformed requests: 400 with a KmsError, never a key set.
        let malformed = [
            (format!("{KEYPROV}/../init"), Vec::new()),
            (
                format!("{KEYPROV}/sip%3Aalice%40example.org%00"),
                Vec::new(),
            ),
            (format!("{KEYPROV}/%2E%2E/x"), Vec::new()),
            (format!("{KEYPROV}/sip%3Aalice%4"), Vec::new()),
            (format!("{KEYPROV}/{ALICE}/NOTHEX0000000000"), Vec::new()),
            (KEYPROV.to_string(), b"<KmsRequest".to_vec()),
            (KEYPROV.to_string(), b"\xff\xfe not xml".to_vec()),
            (KEYPROV.to_string(), b"<Other xmlns=\"x\"/>".to_vec()),
        ];
        for (path, body) in &malformed {
            let a = c
                .send("POST", path, Some(&alice), body.clone())
                .await
                .unwrap();
            assert_eq!(a.status, 400, "{path}: {}", a.body);
            assert!(
                a.body.contains("<ErrorCode>1</ErrorCode>"),
                "{path}: {}",
                a.body
            );
        }
        // Oversize: 413.
        let a = c
            .send("POST", KEYPROV, Some(&alice), vec![b' '; 70_000])
            .await
            .unwrap();
        assert_eq!(a.status, 413);
        assert!(a.body.contains("<ErrorCode>6</ErrorCode>"), "{}", a.body);
    });
    // The client's errors are clear.
    let bob_token = kms.token_file(BOB);
    let err = fails(&fetch_args(
        &server.url(),
        ALICE,
        s(&bob_token),
        Some(s(&kms.ca)),
        s(&kms.tmp.path("x")),
    ));
    assert!(err.contains("403 Forbidden"), "{err}");
    let nobody = kms.token_file(UNREGISTERED);
    let err = fails(&fetch_args(
        &server.url(),
        UNREGISTERED,
        s(&nobody),
        Some(s(&kms.ca)),
        s(&kms.tmp.path("x")),
    ));
    assert!(err.contains("404 Not Found"), "{err}");
    let junk = kms.tmp.path("junk.token");
    std::fs::write(&junk, "abc.def.ghi").unwrap();
    let err = fails(&fetch_args(
        &server.url(),
        ALICE,
        s(&junk),
        Some(s(&kms.ca)),
        s(&kms.tmp.path("x")),
    ));
    assert!(err.contains("401 Unauthorized"), "{err}");
    // Without --ca the test CA is unknown: a TLS error naming the cause.
    let alice_token = kms.token_file(ALICE);
    let err = fails(&fetch_args(
        &server.url(),
        ALICE,
        s(&alice_token),
        Some(s(&kms.cert)),
        s(&kms.tmp.path("x")),
    ));
    assert!(err.contains("TLS handshake with the KMS failed"), "{err}");
    let err = fails(&fetch_args(
        &format!("http://127.0.0.1:{}", server.addr.port()),
        ALICE,
        s(&alice_token),
        None,
        s(&kms.tmp.path("x")),
    ));
    assert!(err.contains("--insecure-http"), "{err}");
    assert!(!kms.tmp.path("x").exists(), "nothing written on failure");
    server.stop();
}

#[test]
fn kill_during_first_issue_then_restart_is_consistent_sqlite() {
    on(
        Backend::Sqlite,
        kill_during_first_issue_then_restart_is_consistent,
    );
}

#[cfg(feature = "postgres")]
#[test]
fn kill_during_first_issue_then_restart_is_consistent_postgres() {
    on(
        Backend::Postgres,
        kill_during_first_issue_then_restart_is_consistent,
    );
}

fn kill_during_first_issue_then_restart_is_consistent(backend: Backend) {
    let users = numbered_users(24);
    let refs: Vec<&str> = users.iter().map(String::as_str).collect();
    let kms = Kms::new("e2e-kill", &refs, backend);
    let server = kms.serve(&["--no-access-log"]);
    let tokens: Vec<String> = users.iter().map(|u| kms.token(u)).collect();
    // First-time requests from 4 connections; kill -9 once some have been answered.
    let runtime = rt();
    let load = Load::start(&runtime, &kms, &users, &tokens, &[server.addr], 4);
    load.wait_for(4);
    server.kill9();
    let (_, got) = load.finish(&runtime);
    assert!(
        got.len() >= 4 && got.len() < users.len(),
        "{} answered before the kill",
        got.len()
    );
    // Restart; every key set received is what a re-fetch returns, and in the store once.
    let server = kms.serve(&["--no-access-log"]);
    check_received(&runtime, &kms, server.addr, &users, &tokens, &got);
    server.stop();
}

/// #18 item 4: two `kms serve` processes on one PostgreSQL store.
#[cfg(feature = "postgres")]
#[test]
fn two_servers_on_one_postgres_store() {
    on(Backend::Postgres, |backend| {
        let users = numbered_users(24);
        let mut refs: Vec<&str> = users.iter().map(String::as_str).collect();
        refs.push(ALICE);
        let kms = Kms::new("e2e-two", &refs, backend);
        let a = kms.serve(&["--no-access-log"]);
        let b = kms.serve(&["--no-access-log"]);
        let runtime = rt();
        // Concurrent first requests for one user and period, across both processes: one key
        // set, the same for everyone.
        let token = kms.token(ALICE);
        let start = Arc::new(tokio::sync::Barrier::new(8));
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let pki = pki_of(&kms);
                let addr = if i % 2 == 0 { a.addr } else { b.addr };
                let token = token.clone();
                let start = Arc::clone(&start);
                runtime.spawn(async move {
                    let mut c = H1::connect(&pki, addr).await;
                    start.wait().await;
                    let r = c.post(KEYPROV, Some(&token)).await;
                    assert_eq!(r.status, 200, "{}", r.body);
                    KmsResponse::from_xml(&r.body).unwrap().key_sets()[0].clone()
                })
            })
            .collect();
        let sets: Vec<_> = tasks
            .into_iter()
            .map(|t| runtime.block_on(t).unwrap())
            .collect();
        assert!(sets.iter().all(|x| *x == sets[0]), "one key set for all");
        let log = open(&kms.store).issue_log(Some(ALICE)).unwrap();
        assert_eq!(log.len(), 1, "{log:?}");
        assert_eq!(log[0].period_no, sets[0].key_period_no);
        // A load of first-time requests on both; kill -9 one; the other goes on.
        let tokens: Vec<String> = users.iter().map(|u| kms.token(u)).collect();
        let load = Load::start(&runtime, &kms, &users, &tokens, &[a.addr, b.addr], 4);
        load.wait_for(4);
        let on_b_before = load.count(|lane| lane % 2 == 1);
        a.kill9();
        let (done, got) = load.finish(&runtime);
        for (lane, finished) in done.iter().enumerate() {
            if lane % 2 == 1 {
                assert!(finished, "lane {lane} on the surviving server stopped");
            }
        }
        let on_b = got.iter().filter(|(_, lane, _)| lane % 2 == 1).count();
        assert_eq!(on_b, users.len() / 2, "every user of the surviving server");
        assert!(
            on_b > on_b_before,
            "the surviving server answered after the kill"
        );
        check_received(&runtime, &kms, b.addr, &users, &tokens, &got);
        b.stop();
    });
}

/// #19 item 3: `kms revoke` on the store of a running server: from then on the server serves
/// and issues none of the URI's key sets (403, "revoked"), already issued or not, and
/// `kms unrevoke` lifts it; another user is not affected.
#[test]
fn a_revocation_through_the_cli_is_honoured_by_the_running_server() {
    let kms = Kms::new("e2e-revoke", &[ALICE, BOB], Backend::Sqlite);
    let server = kms.serve(&["--no-access-log"]);
    let (alice_token, bob_token) = (kms.token_file(ALICE), kms.token_file(BOB));
    let fetch = |user: &str, token: &std::path::Path, dir: &str| {
        fetch_args(
            &server.url(),
            user,
            s(token),
            Some(s(&kms.ca)),
            s(&kms.tmp.path(dir)),
        )
    };
    ok(&fetch(ALICE, &alice_token, "a1"));
    let revoke = [
        "kms",
        "revoke",
        "--store",
        &kms.store,
        "--user",
        ALICE,
        "--reason",
        "lost device",
    ];
    assert!(ok(&revoke).contains("changed = yes"));
    // The key sets issued by the first fetch are no longer served.
    let err = fails(&fetch(ALICE, &alice_token, "a2"));
    assert!(err.contains("403") && err.contains("revoked"), "{err}");
    assert!(!kms.tmp.path("a2").join("cert.xml").exists());
    ok(&fetch(BOB, &bob_token, "b1"));
    ok(&["kms", "unrevoke", "--store", &kms.store, "--user", ALICE]);
    ok(&fetch(ALICE, &alice_token, "a3"));
    let audit = ok(&["kms", "audit", "export", "--store", &kms.store]);
    assert!(audit.contains("\"event\":\"revoked\""), "{audit}");
    server.stop();
}

/// The certificate in a KmsResponse (KmsInit) file.
fn cert_in(path: &std::path::Path) -> mikey_sakke::annex_d::KmsCertificate {
    let doc = KmsResponse::from_xml(&std::fs::read_to_string(path).unwrap()).unwrap();
    doc.certificate().unwrap().clone()
}

/// #19 item 3, master-key rotation end to end: generation G0 up to the period before the
/// current one p, G1 for p (added through the library before any key set was issued, as if a
/// rotation had taken effect at p's start), G2 from p+1 on (`kms rotate` on the running
/// server's store). `ue fetch` now, for a time in p-1 and for a time in p+1 writes each key set
/// with its own generation's certificate (`cert.xml` for the current period, `cert-<P>.xml` for
/// a next period of another generation); a GMK message of each of the three periods, sent with
/// the GMS's key set and certificate of that period, is received by alice with hers.
#[test]
fn fetch_and_receive_across_master_key_generations() {
    use rand_core::SeedableRng as _;
    let kms = Kms::new("e2e-rotation", &[ALICE, GMS], Backend::Sqlite);
    let periods = open(&kms.store).config().periods;
    let unix_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let p = periods.period_number(unix_now + 2_208_988_800).unwrap();
    open(&kms.store)
        .add_generation(p, &mut rand_chacha::ChaCha20Rng::seed_from_u64(11))
        .unwrap();
    let server = kms.serve(&["--no-access-log"]);
    let start = |q: u64| periods.period_start(q).unwrap();
    let rotated = ok(&[
        "kms",
        "rotate",
        "--store",
        &kms.store,
        "--effective",
        &format!("ntp:{}", start(p + 1)),
    ]);
    assert!(
        rotated.contains(&format!("first_key_period = {}", p + 1)),
        "{rotated}"
    );
    let (alice_token, gms_token) = (kms.token_file(ALICE), kms.token_file(GMS));
    let fetch = |user: &str, token: &std::path::Path, dir: &str, time: Option<u64>| {
        let mut a = fetch_args(
            &server.url(),
            user,
            s(token),
            Some(s(&kms.ca)),
            s(&kms.tmp.path(dir)),
        );
        if let Some(t) = time {
            a.extend(["--time".to_string(), format!("ntp:{t}")]);
        }
        ok(&a);
        kms.tmp.path(dir)
    };
    let files = |dir: &std::path::Path| {
        let mut f: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        f.sort();
        f
    };
    // Now: p under G1 (cert.xml), p+1 under G2 (cert-<p+1>.xml).
    let a_now = fetch(ALICE, &alice_token, "a-now", None);
    assert_eq!(
        files(&a_now),
        [
            format!("cert-{}.xml", p + 1),
            "cert.xml".into(),
            format!("keyset-{p}.xml"),
            format!("keyset-{}.xml", p + 1),
        ]
    );
    let (g1, g2) = (
        cert_in(&a_now.join("cert.xml")),
        cert_in(&a_now.join(format!("cert-{}.xml", p + 1))),
    );
    assert_ne!(g1.kpak().unwrap(), g2.kpak().unwrap());
    assert!(g1.valid_to.is_some() && g2.valid_to.is_none());
    // Writing the files fails for lack of space (files limited to 0 KiB, SIGXFSZ ignored): one
    // error line, exit 1, nothing written into a new directory, an earlier fetch unchanged.
    let before: Vec<Vec<u8>> = files(&a_now)
        .iter()
        .map(|f| std::fs::read(a_now.join(f)).unwrap())
        .collect();
    for dir in [kms.tmp.path("a-full"), a_now.clone()] {
        let o = Command::new("bash")
            .arg("-c")
            .arg("trap '' XFSZ; ulimit -f 0 && exec \"$0\" \"$@\"")
            .arg(env!("CARGO_BIN_EXE_mikey-sakke"))
            .args(fetch_args(
                &server.url(),
                ALICE,
                s(&alice_token),
                Some(s(&kms.ca)),
                s(&dir),
            ))
            .env("XDG_DATA_HOME", fresh_state_home())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("cannot write") && err.contains("File too large"),
            "{err}"
        );
    }
    assert!(files(&kms.tmp.path("a-full")).is_empty());
    let after: Vec<Vec<u8>> = files(&a_now)
        .iter()
        .map(|f| std::fs::read(a_now.join(f)).unwrap())
        .collect();
    assert_eq!(before, after);
    // A time in p-1: G0 in cert.xml (asked for with /init/<time>), p under G1.
    let a_old = fetch(ALICE, &alice_token, "a-old", Some(start(p - 1) + 60));
    assert_eq!(
        files(&a_old),
        [
            format!("cert-{p}.xml"),
            "cert.xml".into(),
            format!("keyset-{}.xml", p - 1),
            format!("keyset-{p}.xml"),
        ]
    );
    let g0 = cert_in(&a_old.join("cert.xml"));
    assert_ne!(g0.kpak().unwrap(), g1.kpak().unwrap());
    assert_eq!(cert_in(&a_old.join(format!("cert-{p}.xml"))), g1);
    // A time in p+1: p+1 and p+2 both under G2, one certificate.
    let a_new = fetch(ALICE, &alice_token, "a-new", Some(start(p + 1) + 60));
    assert_eq!(
        files(&a_new),
        [
            "cert.xml".to_string(),
            format!("keyset-{}.xml", p + 1),
            format!("keyset-{}.xml", p + 2),
        ]
    );
    assert_eq!(cert_in(&a_new.join("cert.xml")), g2);
    // The GMS sends one GMK message per period, each received under its own certificate.
    let g_old = fetch(GMS, &gms_token, "g-old", Some(start(p - 1) + 60));
    let g_now = fetch(GMS, &gms_token, "g-now", None);
    let members = kms.tmp.path("members.txt");
    std::fs::write(&members, format!("{ALICE}\n")).unwrap();
    for (i, (q, gms_cert, gms_keys, alice_cert, alice_keys)) in [
        (
            p - 1,
            g_old.join("cert.xml"),
            g_old.join(format!("keyset-{}.xml", p - 1)),
            a_old.join("cert.xml"),
            a_old.join(format!("keyset-{}.xml", p - 1)),
        ),
        (
            p,
            g_now.join("cert.xml"),
            g_now.join(format!("keyset-{p}.xml")),
            a_now.join("cert.xml"),
            a_now.join(format!("keyset-{p}.xml")),
        ),
        (
            p + 1,
            g_now.join(format!("cert-{}.xml", p + 1)),
            g_now.join(format!("keyset-{}.xml", p + 1)),
            a_new.join("cert.xml"),
            a_new.join(format!("keyset-{}.xml", p + 1)),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let t = format!("ntp:{}", start(q) + 120);
        let gmk = format!("{i:02X}112233445566778899AABBCCDDEEFF");
        let msgs = kms.tmp.path(&format!("msgs-{q}"));
        ok(&[
            "gms",
            "distribute",
            "--cert",
            s(&gms_cert),
            "--keys",
            s(&gms_keys),
            "--group-id",
            GROUP,
            "--members",
            s(&members),
            "--out",
            s(&msgs),
            "--gmk",
            &gmk,
            "--gmk-id",
            "0ABCDEF1",
            "--time",
            &t,
        ]);
        let got = ok(&[
            "ue",
            "receive",
            "--cert",
            s(&alice_cert),
            "--keys",
            s(&alice_keys),
            "--message",
            s(&msgs.join("sip%3Aalice%40example.org.mikey")),
            "--now",
            &t,
        ]);
        assert!(got.contains(&format!("key = {gmk}\n")), "period {q}: {got}");
        // Under another generation's certificate the same key set does not load.
        let wrong = if q == p {
            a_old.join("cert.xml")
        } else {
            a_now.join("cert.xml")
        };
        fails(&[
            "ue",
            "receive",
            "--cert",
            s(&wrong),
            "--keys",
            s(&alice_keys),
            "--message",
            s(&msgs.join("sip%3Aalice%40example.org.mikey")),
            "--now",
            &t,
        ]);
    }
    server.stop();
}
