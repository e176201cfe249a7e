//! The KMS as an HTTPS service through the real binary: `kms init` -> `kms serve` -> `ue fetch`
//! -> `gms distribute` -> `ue receive`; the same requests by curl; the authorisation and token
//! matrices over HTTP; malformed requests; kill -9 during first-time issue, restart, and every
//! key set a client received is in the store exactly once and equals a re-fetch.
#![cfg(feature = "server")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod https;

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use https::{H1, Pki, Tmp, plain_get};
use mikey_sakke::annex_d::KmsResponse;
use mikey_sakke::idms::{IdmsKey, TokenRequest};
use mikey_sakke::kms::store::{KmsStore, PrincipalKind, SqliteStore};

const PASS: &str = "e2e-test-passphrase";
const KMS_URI: &str = "kms.example.org";
const ISSUER: &str = "https://idms.example.org";
const AUDIENCE: &str = "kms.example.org";
const ALICE: &str = "sip:alice@example.org";
const BOB: &str = "sip:bob@example.org";
const GMS: &str = "sip:gms@example.org";
const GROUP: &str = "sip:group1@example.org";
const GROUP2: &str = "sip:group2@example.org";
const UNREGISTERED: &str = "sip:nobody@example.org";
const KEYPROV: &str = "/keymanagement/identity/v1/keyprov";

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mikey-sakke"));
    c.env("MIKEY_SAKKE_PASSPHRASE", PASS)
        .env("XDG_DATA_HOME", common::fresh_state_home())
        .stdin(Stdio::null());
    c
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn ok(args: &[&str]) -> String {
    let o = bin().args(args).output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn fails(args: &[&str]) -> String {
    let o = bin().args(args).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{args:?} should fail");
    String::from_utf8(o.stderr).unwrap()
}

/// A KMS store, a PKI, an IdMS key; users registered.
struct Kms {
    tmp: Tmp,
    store: PathBuf,
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    jwks: PathBuf,
    idms_key: PathBuf,
    idms: IdmsKey,
}

impl Kms {
    fn new(name: &str, users: &[&str]) -> Self {
        let tmp = Tmp::new(name);
        let (ca, cert, key) = Pki::new().write(&tmp.0);
        let store = tmp.path("kms.db");
        ok(&["kms", "init", "--store", s(&store), "--kms-uri", KMS_URI]);
        let idms_key = tmp.path("idms.pem");
        let jwks = tmp.path("jwks.json");
        let out = ok(&["idms", "keygen", "--out", s(&idms_key), "--jwks", s(&jwks)]);
        assert!(out.contains("kid = "));
        let idms = IdmsKey::from_pem(&std::fs::read_to_string(&idms_key).unwrap()).unwrap();
        // Users registered through the library (`kms provision` would issue); groups and their
        // managers through the CLI.
        let st = SqliteStore::open(&store, PASS.as_bytes()).unwrap();
        for u in users {
            st.register(u, PrincipalKind::User).unwrap();
        }
        drop(st);
        for (group, manager) in [(GROUP, GMS), (GROUP2, "sip:gms2@example.org")] {
            ok(&[
                "kms",
                "group",
                "add-manager",
                "--store",
                s(&store),
                "--group",
                group,
                "--manager",
                manager,
            ]);
        }
        Self {
            tmp,
            store,
            ca,
            cert,
            key,
            jwks,
            idms_key,
            idms,
        }
    }

    fn token(&self, user: &str) -> String {
        let mut r = TokenRequest::new(user);
        r.issuer = ISSUER.into();
        r.audience = Some(AUDIENCE.into());
        self.idms.token(&r).unwrap()
    }

    fn token_file(&self, user: &str) -> PathBuf {
        let p = self
            .tmp
            .path(&format!("{}.token", mikey_sakke_file_name(user)));
        let out = ok(&[
            "idms",
            "token",
            "--key",
            s(&self.idms_key),
            "--user",
            user,
            "--issuer",
            ISSUER,
            "--audience",
            AUDIENCE,
        ]);
        std::fs::write(&p, out).unwrap();
        p
    }

    fn serve(&self, extra: &[&str]) -> Served {
        let mut child = bin()
            .args([
                "kms",
                "serve",
                "--store",
                s(&self.store),
                "--listen",
                "127.0.0.1:0",
                "--metrics-listen",
                "127.0.0.1:0",
                "--tls-cert",
                s(&self.cert),
                "--tls-key",
                s(&self.key),
                "--idms-keys",
                s(&self.jwks),
                "--issuer",
                ISSUER,
                "--audience",
                AUDIENCE,
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let started = Instant::now();
        let (addr, metrics) = loop {
            let line = lines
                .next()
                .expect("kms serve ended before listening")
                .unwrap();
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                && v["event"] == "listening"
            {
                break (
                    v["listen"].as_str().unwrap().parse().unwrap(),
                    v["metrics"].as_str().unwrap().parse().unwrap(),
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "no listening line"
            );
        };
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&log);
        let reader = std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Served {
            child,
            addr,
            metrics,
            log,
            reader: Some(reader),
        }
    }
}

fn mikey_sakke_file_name(uri: &str) -> String {
    uri.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

struct Served {
    child: Child,
    addr: SocketAddr,
    metrics: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Served {
    fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.addr.port())
    }

    /// SIGTERM; returns stdout and the stderr lines.
    fn stop(mut self) -> (String, Vec<String>) {
        let pid = self.child.id().to_string();
        let st = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(st.success());
        let out = self.child.wait_with_output_keep();
        if let Some(r) = self.reader.take() {
            r.join().unwrap();
        }
        let log = self.log.lock().unwrap().clone();
        (out, log)
    }

    fn kill9(mut self) {
        self.child.kill().unwrap();
        let _ = self.child.wait();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

trait WaitKeep {
    fn wait_with_output_keep(&mut self) -> String;
}

impl WaitKeep for Child {
    fn wait_with_output_keep(&mut self) -> String {
        let mut out = String::new();
        if let Some(mut o) = self.stdout.take() {
            std::io::Read::read_to_string(&mut o, &mut out).unwrap();
        }
        let status = self.wait().unwrap();
        assert_eq!(status.code(), Some(0), "kms serve exit: {out}");
        out
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn pki_of(kms: &Kms) -> Pki {
    Pki {
        ca_pem: std::fs::read_to_string(&kms.ca).unwrap(),
        cert_pem: std::fs::read_to_string(&kms.cert).unwrap(),
        key_pem: std::fs::read_to_string(&kms.key).unwrap(),
    }
}

#[test]
fn init_serve_fetch_distribute_receive() {
    let kms = Kms::new("e2e-flow", &[ALICE, BOB, GMS]);
    let server = kms.serve(&[]);
    let alice_dir = kms.tmp.path("alice");
    let gms_dir = kms.tmp.path("gms");
    let alice_token = kms.token_file(ALICE);
    let gms_token = kms.token_file(GMS);
    let out = ok(&[
        "ue",
        "fetch",
        "--kms",
        &server.url(),
        "--user",
        ALICE,
        "--token",
        s(&alice_token),
        "--ca",
        s(&kms.ca),
        "--out",
        s(&alice_dir),
    ]);
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
        .args([
            "ue",
            "fetch",
            "--kms",
            &server.url(),
            "--user",
            GMS,
            "--token",
            "-",
            "--ca",
            s(&kms.ca),
            "--out",
            s(&gms_dir),
        ])
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
    ok(&[
        "ue",
        "fetch",
        "--kms",
        &server.url(),
        "--user",
        GROUP,
        "--token",
        s(&gms_token),
        "--ca",
        s(&kms.ca),
        "--out",
        s(&group_dir),
    ]);
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
    let kms = Kms::new("e2e-curl", &[ALICE]);
    let server = kms.serve(&["--no-access-log"]);
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
fn authorisation_token_matrix_and_malformed_requests() {
    let kms = Kms::new("e2e-matrix", &[ALICE, BOB, GMS]);
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
    let err = fails(&[
        "ue",
        "fetch",
        "--kms",
        &server.url(),
        "--user",
        ALICE,
        "--token",
        s(&bob_token),
        "--ca",
        s(&kms.ca),
        "--out",
        s(&kms.tmp.path("x")),
    ]);
    assert!(err.contains("403 Forbidden"), "{err}");
    let nobody = kms.token_file(UNREGISTERED);
    let err = fails(&[
        "ue",
        "fetch",
        "--kms",
        &server.url(),
        "--user",
        UNREGISTERED,
        "--token",
        s(&nobody),
        "--ca",
        s(&kms.ca),
        "--out",
        s(&kms.tmp.path("x")),
    ]);
    assert!(err.contains("404 Not Found"), "{err}");
    let junk = kms.tmp.path("junk.token");
    std::fs::write(&junk, "abc.def.ghi").unwrap();
    let err = fails(&[
        "ue",
        "fetch",
        "--kms",
        &server.url(),
        "--user",
        ALICE,
        "--token",
        s(&junk),
        "--ca",
        s(&kms.ca),
        "--out",
        s(&kms.tmp.path("x")),
    ]);
    assert!(err.contains("401 Unauthorized"), "{err}");
    // Without --ca the test CA is unknown: a TLS error naming the cause.
    let alice_token = kms.token_file(ALICE);
    let err = fails(&[
        "ue",
        "fetch",
        "--kms",
        &server.url(),
        "--user",
        ALICE,
        "--token",
        s(&alice_token),
        "--ca",
        s(&kms.cert),
        "--out",
        s(&kms.tmp.path("x")),
    ]);
    assert!(err.contains("TLS handshake with the KMS failed"), "{err}");
    let err = fails(&[
        "ue",
        "fetch",
        "--kms",
        &format!("http://127.0.0.1:{}", server.addr.port()),
        "--user",
        ALICE,
        "--token",
        s(&alice_token),
        "--out",
        s(&kms.tmp.path("x")),
    ]);
    assert!(err.contains("--insecure-http"), "{err}");
    assert!(!kms.tmp.path("x").exists(), "nothing written on failure");
    server.stop();
}

#[test]
fn kill_during_first_issue_then_restart_is_consistent() {
    let users: Vec<String> = (0..24)
        .map(|i| format!("sip:user{i}@example.org"))
        .collect();
    let refs: Vec<&str> = users.iter().map(String::as_str).collect();
    let kms = Kms::new("e2e-kill", &refs);
    let pki = pki_of(&kms);
    let server = kms.serve(&["--no-access-log"]);
    let addr = server.addr;
    let tokens: Vec<String> = users.iter().map(|u| kms.token(u)).collect();
    // First-time requests from 4 connections; kill -9 once some have been answered.
    let received: Arc<Mutex<Vec<(String, KmsResponse)>>> = Arc::new(Mutex::new(Vec::new()));
    let runtime = rt();
    let mut tasks = Vec::new();
    for lane in 0..4 {
        let mine: Vec<(String, String)> = users
            .iter()
            .zip(&tokens)
            .skip(lane)
            .step_by(4)
            .map(|(u, t)| (u.clone(), t.clone()))
            .collect();
        let pki = pki_of(&kms);
        let received = Arc::clone(&received);
        tasks.push(runtime.spawn(async move {
            let mut c = H1::connect(&pki, addr).await;
            for (user, token) in mine {
                match c.send("POST", KEYPROV, Some(&token), Vec::new()).await {
                    Ok(a) if a.status == 200 => {
                        let doc = KmsResponse::from_xml(&a.body).unwrap();
                        received.lock().unwrap().push((user, doc));
                    }
                    Ok(a) => panic!("{}: {}", a.status, a.body),
                    Err(_) => return,
                }
            }
        }));
    }
    let t = Instant::now();
    while received.lock().unwrap().len() < 4 && t.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    server.kill9();
    for task in tasks {
        let _ = runtime.block_on(task);
    }
    let got = received.lock().unwrap().clone();
    assert!(
        got.len() >= 4 && got.len() < users.len(),
        "{} answered before the kill",
        got.len()
    );
    // Restart; every key set received is what a re-fetch returns.
    let server = kms.serve(&["--no-access-log"]);
    runtime.block_on(async {
        let mut c = H1::connect(&pki, server.addr).await;
        for (user, doc) in &got {
            let token = &tokens[users.iter().position(|u| u == user).unwrap()];
            let a = c.post(KEYPROV, Some(token)).await;
            assert_eq!(a.status, 200);
            let again = KmsResponse::from_xml(&a.body).unwrap();
            assert_eq!(again.key_sets(), doc.key_sets(), "{user}");
        }
    });
    server.stop();
    // In the store exactly once each, equal to what the client received.
    let st = SqliteStore::open(&kms.store, PASS.as_bytes()).unwrap();
    let mut seen: HashMap<(String, u64), usize> = HashMap::new();
    for e in st.issue_log(None).unwrap() {
        *seen.entry((e.uri.clone(), e.period_no)).or_default() += 1;
    }
    for (user, doc) in &got {
        let ks = &doc.key_sets()[0];
        assert_eq!(
            seen.get(&(user.clone(), ks.key_period_no)),
            Some(&1),
            "{user}"
        );
        assert!(
            st.deliveries()
                .unwrap()
                .iter()
                .any(|d| d.principal == *user && d.uri == *user && d.peer.is_some()),
            "{user}: no delivery in the audit log"
        );
        let stored = st.issued(user, ks.key_period_no).unwrap().unwrap();
        assert_eq!(stored.user_id, *ks.user_id());
        assert_eq!(stored.rsk.to_bytes().as_slice(), ks.user_decrypt_key());
    }
}
