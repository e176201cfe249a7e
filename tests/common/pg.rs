//! A throw-away PostgreSQL server for tests: `initdb` and `pg_ctl` from the installed server
//! binaries, in a temporary directory, listening on 127.0.0.1 on a free port, run as an
//! unprivileged user (the server refuses to run as root: as root the harness runs it as the
//! `postgres` system user via `runuser`). Stopped and removed on drop.
//!
//! In CI (`CI` set) a server that cannot be started fails the test loudly. A developer without
//! PostgreSQL may set `MIKEY_SAKKE_SKIP_POSTGRES=1` to skip these tests explicitly; outside CI
//! only, and with a message on stderr.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A running test server.
#[derive(Debug)]
pub struct TestPostgres {
    /// The temporary directory (data directory and socket directory below it).
    root: PathBuf,
    /// The TCP port on 127.0.0.1.
    pub port: u16,
    /// Unix user the server runs as (`None`: the current user).
    run_as: Option<String>,
    bin: PathBuf,
}

/// `true` when PostgreSQL tests are to be skipped (explicitly, never in CI).
pub fn skip_requested() -> bool {
    let skip = std::env::var_os("MIKEY_SAKKE_SKIP_POSTGRES").is_some_and(|v| v == "1");
    if skip && std::env::var_os("CI").is_some() {
        panic!("MIKEY_SAKKE_SKIP_POSTGRES is not honoured in CI: the PostgreSQL tests must run");
    }
    if skip {
        eprintln!("PostgreSQL tests skipped: MIKEY_SAKKE_SKIP_POSTGRES=1");
    }
    skip
}

/// The directory of the newest installed PostgreSQL server binaries.
fn server_bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MIKEY_SAKKE_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("pg_ctl").exists().then_some((v, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, b)| b).unwrap_or_else(|| {
        panic!(
            "no PostgreSQL server binaries under /usr/lib/postgresql (install the Debian \
             `postgresql` package; .ci/run does) - set MIKEY_SAKKE_SKIP_POSTGRES=1 to skip locally"
        )
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn is_root() -> bool {
    // The real uid of this process, from /proc.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

impl TestPostgres {
    /// Starts a fresh server (initdb with trust authentication for the loopback, fsync on).
    pub fn start() -> Self {
        let bin = server_bin_dir();
        let run_as = is_root().then(|| "postgres".to_string());
        let root = std::env::temp_dir().join(format!(
            "mikey-sakke-pg-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&root).expect("temp dir");
        if let Some(user) = &run_as {
            let ok = Command::new("chown")
                .arg(format!("{user}:"))
                .arg(&root)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "chown {} to {user}", root.display());
        }
        let pg = Self {
            root,
            port: free_port(),
            run_as,
            bin,
        };
        let data = pg.data_dir();
        let out = pg
            .command("initdb")
            .args([
                "--auth=trust",
                "--username=postgres",
                "--encoding=UTF8",
                "--no-instructions",
                "-D",
            ])
            .arg(&data)
            .stdout(Stdio::null())
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        pg.start_server();
        pg
    }

    fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    fn command(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(exe);
                c
            }
            None => Command::new(exe),
        }
    }

    /// Starts (or restarts after [`stop`](Self::stop)) the server and waits until it accepts
    /// connections.
    pub fn start_server(&self) {
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -c port={} -c unix_socket_directories={} \
             -c max_connections=200 -c fsync=on",
            self.port,
            self.root.display()
        );
        let log = self.root.join("server.log");
        let st = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(&log)
            .args(["-o", &opts, "-w", "-t", "60", "start"])
            .stdout(Stdio::null())
            .status()
            .expect("run pg_ctl start");
        assert!(
            st.success(),
            "pg_ctl start failed; log: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        self.wait_ready(Duration::from_secs(30));
    }

    fn wait_ready(&self, limit: Duration) {
        let t = Instant::now();
        while t.elapsed() < limit {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "PostgreSQL did not listen on port {} within {limit:?}",
            self.port
        );
    }

    /// Stops the server immediately (as a crash would: `pg_ctl stop -m immediate`).
    pub fn stop(&self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data_dir())
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    /// Creates a database and returns its URL. Tried up to five times: concurrent `createdb`
    /// runs can fail with "source database template1 is being accessed by other users".
    pub fn create_database(&self, name: &str) -> String {
        let mut ok = false;
        for attempt in 0..5u64 {
            let st = self
                .command("createdb")
                .args([
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &self.port.to_string(),
                    "-U",
                    "postgres",
                    name,
                ])
                .status()
                .expect("run createdb");
            if st.success() {
                ok = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(100 * (attempt + 1)));
        }
        assert!(ok, "createdb {name}");
        self.url(name)
    }

    /// The URL of database `db` as the superuser `postgres`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// The temporary directory holding the cluster.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

/// The one server of this test binary, started on first use. A static is never dropped, so a
/// watchdog process stops the server and removes its directory once this process has exited
/// (however it exits).
pub fn shared() -> &'static TestPostgres {
    static SHARED: OnceLock<TestPostgres> = OnceLock::new();
    SHARED.get_or_init(|| {
        let pg = TestPostgres::start();
        pg.clean_up_after_exit();
        pg
    })
}

/// A database name unique to this process and call: `{prefix}_{pid}_{n}`.
pub fn unique_db_name(prefix: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let clean: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("{clean}_{}_{n}", std::process::id())
}

impl TestPostgres {
    /// Starts a watchdog that stops the server and removes its directory after this process
    /// has exited.
    fn clean_up_after_exit(&self) {
        let stop = {
            let exe = self.bin.join("pg_ctl");
            let mut parts = Vec::new();
            if let Some(user) = &self.run_as {
                parts.push(format!("runuser -u {user} --"));
            }
            parts.push(format!(
                "'{}' -D '{}' -m immediate -w stop",
                exe.display(),
                self.data_dir().display()
            ));
            parts.join(" ")
        };
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.2; done; {stop} >/dev/null 2>&1; \
             rm -rf '{root}'",
            pid = std::process::id(),
            root = self.root.display()
        );
        // The watchdog outlives this process by design: nothing waits for it.
        #[allow(clippy::zombie_processes)]
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the PostgreSQL watchdog");
    }

    /// Drops database `name` (closing its connections).
    pub fn drop_database(&self, name: &str) {
        let _ = self
            .command("dropdb")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "--force",
                "--if-exists",
                name,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    /// The data directory of the cluster (to read what it holds at rest).
    pub fn data_directory(&self) -> PathBuf {
        self.data_dir()
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
