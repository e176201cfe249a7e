//! The harness of tests/server_e2e.rs: a KMS store (SQLite or PostgreSQL) with a PKI and an
//! IdMS key, `kms serve` processes, `ue fetch` arguments, and a load of first-time requests
//! whose results are checked against the store.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::https::{H1, Pki, Tmp};
#[cfg(feature = "postgres")]
use crate::pg;
use mikey_sakke::annex_d::KmsResponse;
use mikey_sakke::idms::{IdmsKey, TokenRequest};
use mikey_sakke::kms::store::{AnyStore, PrincipalKind, StoreSpec, open_store};

pub(crate) const PASS: &str = "e2e-test-passphrase";
pub(crate) const KMS_URI: &str = "kms.example.org";
pub(crate) const ISSUER: &str = "https://idms.example.org";
pub(crate) const AUDIENCE: &str = "kms.example.org";
pub(crate) const ALICE: &str = "sip:alice@example.org";
pub(crate) const BOB: &str = "sip:bob@example.org";
pub(crate) const GMS: &str = "sip:gms@example.org";
pub(crate) const GROUP: &str = "sip:group1@example.org";
pub(crate) const GROUP2: &str = "sip:group2@example.org";
pub(crate) const UNREGISTERED: &str = "sip:nobody@example.org";
pub(crate) const KEYPROV: &str = "/keymanagement/identity/v1/keyprov";

pub(crate) fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mikey-sakke"));
    c.env("MIKEY_SAKKE_PASSPHRASE", PASS)
        .env_remove("MIKEY_SAKKE_STORE")
        .env("XDG_DATA_HOME", fresh_state_home())
        .stdin(Stdio::null());
    c
}

// one copy per including module by design (see state.rs)
#[allow(clippy::duplicate_mod)]
#[path = "../common/state.rs"]
mod state;
#[allow(unused_imports)]
pub(crate) use state::fresh_state_home;

/// Where the store lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    #[cfg(feature = "postgres")]
    Postgres,
}

/// Runs `f` on `backend`, or returns at once when PostgreSQL tests are skipped explicitly.
pub(crate) fn on(backend: Backend, f: impl FnOnce(Backend)) {
    #[cfg(feature = "postgres")]
    if backend == Backend::Postgres && pg::skip_requested() {
        return;
    }
    f(backend);
}

pub(crate) fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The arguments of `ue fetch` (`--ca` when given).
pub(crate) fn fetch_args(
    url: &str,
    user: &str,
    token: &str,
    ca: Option<&str>,
    out: &str,
) -> Vec<String> {
    let mut a: Vec<String> = [
        "ue", "fetch", "--kms", url, "--user", user, "--token", token,
    ]
    .map(String::from)
    .to_vec();
    if let Some(ca) = ca {
        a.extend(["--ca".to_string(), ca.to_string()]);
    }
    a.extend(["--out".to_string(), out.to_string()]);
    a
}

pub(crate) fn ok<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(args: &[S]) -> String {
    let o = bin().args(args).output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

pub(crate) fn fails<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(args: &[S]) -> String {
    let o = bin().args(args).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{args:?} should fail");
    String::from_utf8(o.stderr).unwrap()
}

/// Opens the store at `spec` (a SQLite path or a PostgreSQL URL).
pub(crate) fn open(spec: &str) -> Box<dyn AnyStore> {
    open_store(&StoreSpec::parse(spec).unwrap(), PASS.as_bytes()).unwrap()
}

/// A KMS store, a PKI, an IdMS key; users registered.
pub(crate) struct Kms {
    pub(crate) tmp: Tmp,
    /// A SQLite path or a PostgreSQL URL.
    pub(crate) store: String,
    /// A file holding the passphrase (`kms serve --passphrase-file`).
    pub(crate) pass_file: PathBuf,
    pub(crate) ca: PathBuf,
    pub(crate) cert: PathBuf,
    pub(crate) key: PathBuf,
    pub(crate) jwks: PathBuf,
    pub(crate) idms_key: PathBuf,
    pub(crate) idms: IdmsKey,
}

impl Kms {
    pub(crate) fn new(name: &str, users: &[&str], backend: Backend) -> Self {
        let tmp = Tmp::new(name);
        let (ca, cert, key) = Pki::new().write(&tmp.0);
        let store = match backend {
            Backend::Sqlite => s(&tmp.path("kms.db")).to_string(),
            #[cfg(feature = "postgres")]
            Backend::Postgres => pg::shared().create_database(&pg::unique_db_name(name)),
        };
        let pass_file = tmp.path("passphrase.txt");
        std::fs::write(&pass_file, format!("{PASS}\n")).unwrap();
        ok(&["kms", "init", "--store", &store, "--kms-uri", KMS_URI]);
        let idms_key = tmp.path("idms.pem");
        let jwks = tmp.path("jwks.json");
        let out = ok(&["idms", "keygen", "--out", s(&idms_key), "--jwks", s(&jwks)]);
        assert!(out.contains("kid = "));
        let idms = IdmsKey::from_pem(&std::fs::read_to_string(&idms_key).unwrap()).unwrap();
        // Users registered through the library (`kms provision` would issue); groups and their
        // managers through the CLI.
        let st = open(&store);
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
                &store,
                "--group",
                group,
                "--manager",
                manager,
            ]);
        }
        Self {
            tmp,
            store,
            pass_file,
            ca,
            cert,
            key,
            jwks,
            idms_key,
            idms,
        }
    }

    pub(crate) fn token(&self, user: &str) -> String {
        let mut r = TokenRequest::new(user);
        r.issuer = ISSUER.into();
        r.audience = Some(AUDIENCE.into());
        self.idms.token(&r).unwrap()
    }

    pub(crate) fn token_file(&self, user: &str) -> PathBuf {
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

    /// `kms serve` with everything on the command line, the passphrase from
    /// `--passphrase-file` (not from the environment).
    pub(crate) fn serve(&self, extra: &[&str]) -> Served {
        let mut c = bin();
        c.env_remove("MIKEY_SAKKE_PASSPHRASE").args([
            "kms",
            "serve",
            "--store",
            &self.store,
            "--passphrase-file",
            s(&self.pass_file),
        ]);
        self.spawn_serve(c, extra)
    }

    /// `kms serve` from a TOML config file (no passphrase in the environment).
    pub(crate) fn serve_config(&self, config: &Path) -> Command {
        let mut c = bin();
        c.env_remove("MIKEY_SAKKE_PASSPHRASE")
            .args(["kms", "serve", "--config", s(config)]);
        self.with_server_options(&mut c);
        c
    }

    /// Adds the listen addresses, TLS and token options of `kms serve`.
    pub(crate) fn with_server_options(&self, command: &mut Command) {
        command.args([
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
        ]);
    }

    /// Starts `command` (a `kms serve` with its options) and waits for it to listen.
    pub(crate) fn spawn_serve(&self, mut command: Command, extra: &[&str]) -> Served {
        self.with_server_options(&mut command);
        let mut child = command
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

pub(crate) fn mikey_sakke_file_name(uri: &str) -> String {
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

pub(crate) struct Served {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
    pub(crate) metrics: SocketAddr,
    pub(crate) log: Arc<Mutex<Vec<String>>>,
    pub(crate) reader: Option<std::thread::JoinHandle<()>>,
}

impl Served {
    pub(crate) fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.addr.port())
    }

    /// SIGTERM; returns stdout and the stderr lines.
    pub(crate) fn stop(mut self) -> (String, Vec<String>) {
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

    pub(crate) fn kill9(mut self) {
        self.child.kill().unwrap();
        let _ = self.child.wait();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

pub(crate) trait WaitKeep {
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

pub(crate) fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

pub(crate) fn pki_of(kms: &Kms) -> Pki {
    Pki {
        ca_pem: std::fs::read_to_string(&kms.ca).unwrap(),
        cert_pem: std::fs::read_to_string(&kms.cert).unwrap(),
        key_pem: std::fs::read_to_string(&kms.key).unwrap(),
    }
}

/// A load of first-time keyprov requests: lane `i` sends, on one connection to
/// `addrs[i % addrs.len()]`, the requests of users `i, i + lanes, ...` (each with its own
/// token) and stops at its first transport error.
pub(crate) struct Load {
    /// What the clients received: (user, lane, response).
    pub(crate) received: Arc<Mutex<Vec<(String, usize, KmsResponse)>>>,
    /// Each lane's task: `true` when it got an answer for every one of its users.
    pub(crate) lanes: Vec<tokio::task::JoinHandle<bool>>,
}

impl Load {
    pub(crate) fn start(
        runtime: &tokio::runtime::Runtime,
        kms: &Kms,
        users: &[String],
        tokens: &[String],
        addrs: &[SocketAddr],
        lanes: usize,
    ) -> Self {
        let received = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for lane in 0..lanes {
            let mine: Vec<(String, String)> = users
                .iter()
                .zip(tokens)
                .skip(lane)
                .step_by(lanes)
                .map(|(u, t)| (u.clone(), t.clone()))
                .collect();
            let pki = pki_of(kms);
            let addr = addrs[lane % addrs.len()];
            let received = Arc::clone(&received);
            tasks.push(runtime.spawn(async move {
                let mut c = H1::connect(&pki, addr).await;
                for (user, token) in mine {
                    match c.send("POST", KEYPROV, Some(&token), Vec::new()).await {
                        Ok(a) if a.status == 200 => {
                            let doc = KmsResponse::from_xml(&a.body).unwrap();
                            received.lock().unwrap().push((user, lane, doc));
                        }
                        Ok(a) => panic!("{}: {}", a.status, a.body),
                        Err(_) => return false,
                    }
                }
                true
            }));
        }
        Self {
            received,
            lanes: tasks,
        }
    }

    /// Waits until `n` answers have arrived (at most a minute).
    pub(crate) fn wait_for(&self, n: usize) {
        let t = Instant::now();
        while self.received.lock().unwrap().len() < n && t.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub(crate) fn count(&self, lane_filter: impl Fn(usize) -> bool) -> usize {
        let got = self.received.lock().unwrap();
        got.iter().filter(|(_, lane, _)| lane_filter(*lane)).count()
    }

    /// Waits for every lane; returns whether each finished its users, and what was received.
    pub(crate) fn finish(
        self,
        runtime: &tokio::runtime::Runtime,
    ) -> (Vec<bool>, Vec<(String, usize, KmsResponse)>) {
        let done = self
            .lanes
            .into_iter()
            .map(|t| runtime.block_on(t).unwrap_or(false))
            .collect();
        let got = self.received.lock().unwrap().clone();
        (done, got)
    }
}

/// Every key set a client received equals what a re-fetch from `addr` returns, is in the store
/// exactly once, is the stored one, and its delivery is in the audit log.
pub(crate) fn check_received(
    runtime: &tokio::runtime::Runtime,
    kms: &Kms,
    addr: SocketAddr,
    users: &[String],
    tokens: &[String],
    got: &[(String, usize, KmsResponse)],
) {
    let pki = pki_of(kms);
    runtime.block_on(async {
        let mut c = H1::connect(&pki, addr).await;
        for (user, _, doc) in got {
            let token = &tokens[users.iter().position(|u| u == user).unwrap()];
            let a = c.post(KEYPROV, Some(token)).await;
            assert_eq!(a.status, 200);
            let again = KmsResponse::from_xml(&a.body).unwrap();
            assert_eq!(again.key_sets(), doc.key_sets(), "{user}");
        }
    });
    let st = open(&kms.store);
    let mut seen: HashMap<(String, u64), usize> = HashMap::new();
    for e in st.issue_log(None).unwrap() {
        *seen.entry((e.uri.clone(), e.period_no)).or_default() += 1;
    }
    let deliveries = st.deliveries().unwrap();
    for (user, _, doc) in got {
        let ks = &doc.key_sets()[0];
        assert_eq!(
            seen.get(&(user.clone(), ks.key_period_no)),
            Some(&1),
            "{user}"
        );
        assert!(
            deliveries
                .iter()
                .any(|d| d.principal == *user && d.uri == *user && d.peer.is_some()),
            "{user}: no delivery in the audit log"
        );
        let stored = st.issued(user, ks.key_period_no).unwrap().unwrap();
        assert_eq!(stored.user_id, *ks.user_id());
        assert_eq!(stored.rsk.to_bytes().as_slice(), ks.user_decrypt_key());
    }
}

pub(crate) fn numbered_users(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("sip:user{i}@example.org")).collect()
}
