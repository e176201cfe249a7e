//! Provisioning as a shared job, on SQLite and on PostgreSQL: two and three workers on one
//! job (every key set recorded exactly once, rows spread over the workers), leases that expire
//! and are taken over, workers killed with SIGKILL at random points, and a PostgreSQL restart
//! in the middle of a job (the workers reconnect and finish).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/pg.rs"]
mod pg;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mikey_sakke::eccsi::SigningKey;
use mikey_sakke::kms::jobs::{Until, WorkerOptions, run_worker};
use mikey_sakke::kms::store::{
    AnyStore, KdfParams, KmsConfig, PrincipalKind, StoreSpec, create_store, open_store,
};
use mikey_sakke::mcx::uid::KeyPeriods;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

const PASS: &str = "jobs-test-passphrase";

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

fn users(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("sip:w{i}@example.org")).collect()
}

#[derive(Clone, Copy, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

/// One fresh store place: a temporary SQLite file or a database of the shared server.
struct Place {
    spec: String,
    dir: Option<PathBuf>,
    db: Option<String>,
}

impl Place {
    /// `None` when PostgreSQL tests are skipped explicitly.
    fn new(backend: Backend, name: &str) -> Option<Self> {
        match backend {
            Backend::Sqlite => {
                let nonce: u64 =
                    rand_core::Rng::next_u64(&mut rand_core::UnwrapErr(getrandom::SysRng));
                let dir = std::env::temp_dir().join(format!("mikey-sakke-jobs-{name}-{nonce:x}"));
                std::fs::create_dir_all(&dir).unwrap();
                Some(Self {
                    spec: dir.join("kms.db").display().to_string(),
                    dir: Some(dir),
                    db: None,
                })
            }
            Backend::Postgres => {
                if pg::skip_requested() {
                    return None;
                }
                let db = pg::unique_db_name(name);
                let spec = pg::shared().create_database(&db);
                Some(Self {
                    spec,
                    dir: None,
                    db: Some(db),
                })
            }
        }
    }

    fn spec(&self) -> StoreSpec {
        StoreSpec::parse(&self.spec).unwrap()
    }

    fn create(&self) -> Box<dyn AnyStore> {
        create_store(
            &self.spec(),
            PASS.as_bytes(),
            &config(),
            KdfParams::TEST_ONLY,
            &mut ChaCha20Rng::seed_from_u64(7),
        )
        .unwrap()
    }

    fn open(&self) -> Box<dyn AnyStore> {
        open_store(&self.spec(), PASS.as_bytes()).unwrap()
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        if let Some(d) = &self.dir {
            let _ = std::fs::remove_dir_all(d);
        }
        if let Some(db) = &self.db {
            pg::shared().drop_database(db);
        }
    }
}

/// Every (URI, period) of the job has exactly one valid key set, and the store has no other.
fn assert_exactly_once(store: &dyn AnyStore, uris: &[String], periods: &[u64]) {
    assert_eq!(
        store.issued_count().unwrap(),
        u64::try_from(uris.len() * periods.len()).unwrap()
    );
    for &p in periods {
        let keys = store.master_keys(p).unwrap();
        for u in uris {
            let set = store
                .issued(u, p)
                .unwrap()
                .expect("a key set for every row");
            set.rsk.validate(&keys.sakke_public, &set.user_id).unwrap();
            SigningKey::new(&keys.kpak, &set.user_id, set.ssk.clone(), &set.pvt).unwrap();
        }
        // one entry per (URI, period) in the issue log
        let log = store.issue_log(None).unwrap();
        let mut seen = std::collections::HashSet::new();
        assert!(
            log.iter()
                .all(|e| seen.insert((e.uri.clone(), e.period_no)))
        );
    }
}

fn workers_on_one_job(backend: Backend, n: usize) {
    let Some(place) = Place::new(backend, &format!("workers{n}")) else {
        return;
    };
    let store = place.create();
    let uris = users(40);
    let periods = [1500, 1501];
    let job = store
        .create_job(PrincipalKind::User, &uris, &periods)
        .unwrap();
    assert_eq!(store.job(job).unwrap().unwrap().pending, 80);
    let reports: Vec<_> = std::thread::scope(|sc| {
        let threads: Vec<_> = (0..n)
            .map(|i| {
                let place = &place;
                sc.spawn(move || {
                    // each worker has its own store handle, as a separate process would
                    let store = place.open();
                    let mut opts = WorkerOptions::new(Until::Finished);
                    opts.name = format!("worker-{i}");
                    opts.job = Some(job);
                    opts.chunk = 3;
                    opts.poll = Duration::from_millis(20);
                    run_worker(&*store, &opts, &mut |_| {}).unwrap()
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let summary = store.job(job).unwrap().unwrap();
    assert!(summary.finished(), "{summary:?}");
    assert_eq!((summary.done, summary.new, summary.failed), (80, 80, 0));
    // every key set recorded exactly once, by exactly one worker
    assert_eq!(reports.iter().map(|r| r.new).sum::<u64>(), 80);
    assert_eq!(reports.iter().map(|r| r.done).sum::<u64>(), 80);
    assert_exactly_once(&*store, &uris, &periods);
    // the rows are spread over the workers
    let shares = store.workers(job).unwrap();
    assert_eq!(shares.iter().map(|s| s.done).sum::<u64>(), 80);
    let busy = shares.iter().filter(|s| s.done > 0).count();
    assert!(busy >= 2, "{n} workers, rows done by {busy}: {shares:?}");
    eprintln!("{backend:?}, {n} workers: {shares:?}");
}

#[test]
fn two_workers_on_one_job_sqlite() {
    workers_on_one_job(Backend::Sqlite, 2);
}

#[test]
fn three_workers_on_one_job_sqlite() {
    workers_on_one_job(Backend::Sqlite, 3);
}

#[test]
fn two_workers_on_one_job_postgres() {
    workers_on_one_job(Backend::Postgres, 2);
}

#[test]
fn three_workers_on_one_job_postgres() {
    workers_on_one_job(Backend::Postgres, 3);
}

/// A worker that claims rows and vanishes (a lease that is never completed): another worker
/// takes the rows over once the lease has expired, not before.
fn expired_leases_are_taken_over(backend: Backend) {
    let Some(place) = Place::new(backend, "lease") else {
        return;
    };
    let store = place.create();
    let uris = users(6);
    let job = store.create_job(PrincipalKind::User, &uris, &[9]).unwrap();
    let lost = store
        .claim(Some(job), "lost", 4, Duration::from_millis(1500))
        .unwrap();
    assert_eq!(lost.len(), 4);
    let s = store.job(job).unwrap().unwrap();
    assert_eq!((s.leased, s.pending), (4, 2));
    // the leased rows are not handed out again while the lease runs
    let other = store
        .claim(Some(job), "other", 10, Duration::from_secs(60))
        .unwrap();
    assert_eq!(other.len(), 2);
    assert!(other.iter().all(|r| lost.iter().all(|l| l.id != r.id)));
    store
        .complete(
            "other",
            &other.iter().map(|r| (r.id, false)).collect::<Vec<_>>(),
        )
        .unwrap();
    let t = Instant::now();
    let mut opts = WorkerOptions::new(Until::Finished);
    opts.name = "rescuer".into();
    opts.poll = Duration::from_millis(50);
    let report = run_worker(&*store, &opts, &mut |_| {}).unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(1000),
        "{:?}",
        t.elapsed()
    );
    assert_eq!((report.done, report.new), (4, 4));
    let shares = store.workers(job).unwrap();
    assert!(shares.iter().any(|s| s.worker == "rescuer" && s.done == 4));
    assert!(store.job(job).unwrap().unwrap().finished());
    assert_eq!(store.issued_count().unwrap(), 4);
    // a row whose key set is recorded meanwhile is done without issuing again
    let again = store.create_job(PrincipalKind::User, &uris, &[9]).unwrap();
    let s = store.job(again).unwrap().unwrap();
    assert_eq!((s.done, s.new, s.pending), (4, 0, 2));
}

#[test]
fn expired_leases_are_taken_over_sqlite() {
    expired_leases_are_taken_over(Backend::Sqlite);
}

#[test]
fn expired_leases_are_taken_over_postgres() {
    expired_leases_are_taken_over(Backend::Postgres);
}

/// A row that cannot be issued (a URI too long for a UID) is marked failed with the reason,
/// the others are done, and the job ends. (SQLite only: PostgreSQL's indexes refuse URIs of
/// this size when the job is created, a clear error of its own.)
#[test]
fn failed_rows_end_the_job_sqlite() {
    let place = Place::new(Backend::Sqlite, "fail").unwrap();
    let store = place.create();
    let long = format!("sip:{}@example.org", "x".repeat(70_000));
    let uris = vec![long.clone(), "sip:fine@example.org".to_string()];
    let job = store.create_job(PrincipalKind::Group, &uris, &[3]).unwrap();
    let mut opts = WorkerOptions::new(Until::Finished);
    opts.job = Some(job);
    let report = run_worker(&*store, &opts, &mut |_| {}).unwrap();
    assert_eq!((report.failed, report.new), (1, 1));
    let s = store.job(job).unwrap().unwrap();
    assert!(s.finished() && s.failed == 1 && s.done == 1, "{s:?}");
    let f = store.failures(job, 5).unwrap();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].uri, long);
    assert!(f[0].reason.contains("too long"), "{}", f[0].reason);
    assert_eq!(
        store.kind("sip:fine@example.org").unwrap(),
        Some(PrincipalKind::Group)
    );
}

// ----------------------------------------------------------------------------------------------
// Worker processes.

fn cli(spec: &str, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mikey-sakke"));
    c.args(args)
        .env("MIKEY_SAKKE_PASSPHRASE", PASS)
        .env("MIKEY_SAKKE_STORE", spec)
        .stdin(Stdio::null());
    c
}

fn ok(c: &mut Command) -> String {
    let o = c.output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{c:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn value<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} = ")))
        .unwrap_or_else(|| panic!("{name} not in {out}"))
}

fn spawn_worker(spec: &str, name: &str, extra: &[&str]) -> Child {
    let mut args = vec![
        "kms",
        "worker",
        "--once",
        "--chunk",
        "4",
        "--threads",
        "1",
        "--name",
        name,
    ];
    args.extend_from_slice(extra);
    cli(spec, &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn jitter_ms(modulus: u64) -> u64 {
    u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos(),
    ) % modulus
}

/// Waits until the job has at least `target` rows done (or `limit` passes).
fn wait_done(store: &dyn AnyStore, job: i64, target: u64, limit: Duration) {
    let t = Instant::now();
    while t.elapsed() < limit {
        if store.job(job).unwrap().unwrap().done >= target {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Workers killed with SIGKILL at random points of a job, several times; the key sets
/// recorded before each kill never change, and a last worker finishes the job with every row
/// recorded exactly once.
fn sigkill_workers(backend: Backend) {
    let Some(place) = Place::new(backend, "kill") else {
        return;
    };
    let store = place.create();
    let uris = users(48);
    let periods = [2000, 2001];
    let job = store
        .create_job(PrincipalKind::User, &uris, &periods)
        .unwrap();
    let mut seen: HashMap<(String, u64), [u8; 65]> = HashMap::new();
    for (round, target) in [0u64, 8, 30, 60].into_iter().enumerate() {
        let mut a = spawn_worker(&place.spec, &format!("doomed-{round}"), &["--lease", "2"]);
        let mut b = spawn_worker(&place.spec, &format!("spared-{round}"), &["--lease", "2"]);
        wait_done(&*store, job, target, Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(jitter_ms(50)));
        let _ = a.kill(); // SIGKILL
        let _ = a.wait();
        std::thread::sleep(Duration::from_millis(jitter_ms(30)));
        let _ = b.kill();
        let _ = b.wait();
        let s = store.job(job).unwrap().unwrap();
        eprintln!("{backend:?} round {round}: killed at {s:?}");
        for &p in &periods {
            for u in &uris {
                if let Some(set) = store.issued(u, p).unwrap() {
                    let pvt = set.pvt.to_bytes();
                    if let Some(before) = seen.insert((u.clone(), p), pvt) {
                        assert_eq!(before, pvt, "round {round}: a recorded key set changed");
                    }
                }
            }
        }
    }
    // the last worker takes over the expired leases and finishes
    let out = ok(&mut cli(
        &place.spec,
        &["kms", "worker", "--once", "--name", "finisher"],
    ));
    assert_eq!(value(&out, "worker"), "finisher");
    let s = store.job(job).unwrap().unwrap();
    assert!(s.finished() && s.done == 96 && s.failed == 0, "{s:?}");
    assert_exactly_once(&*store, &uris, &periods);
    for ((u, p), pvt) in &seen {
        assert_eq!(&store.issued(u, *p).unwrap().unwrap().pvt.to_bytes(), pvt);
    }
    let status = ok(&mut cli(
        &place.spec,
        &["kms", "job", "status", "--job", &job.to_string()],
    ));
    assert_eq!(value(&status, "done"), "96");
    assert_eq!(value(&status, "finished"), "yes");
    assert!(status.contains("worker finisher = "), "{status}");
    // a finished job is pruned; its key sets stay
    let unfinished = store
        .create_job(PrincipalKind::User, &users(49)[48..], &[2000])
        .unwrap();
    let pruned = ok(&mut cli(&place.spec, &["kms", "job", "prune"]));
    assert_eq!(value(&pruned, "removed_jobs"), "1");
    let jobs = store.jobs().unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].id, unfinished);
    assert_eq!(store.issued_count().unwrap(), 96);
}

#[test]
fn sigkill_workers_sqlite() {
    sigkill_workers(Backend::Sqlite);
}

#[test]
fn sigkill_workers_postgres() {
    sigkill_workers(Backend::Postgres);
}

/// `kms provision --detach` records the job; two worker processes do it.
fn detached_job_done_by_worker_processes(backend: Backend) {
    let Some(place) = Place::new(backend, "detach") else {
        return;
    };
    drop(place.create());
    let dir = place.dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("mikey-sakke-jobs-{}", place.spec.len()))
    });
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("users-{}.txt", std::process::id()));
    let uris = users(24);
    std::fs::write(&file, uris.join("\n")).unwrap();
    let out = ok(&mut cli(
        &place.spec,
        &[
            "kms",
            "provision",
            "--users-file",
            file.to_str().unwrap(),
            "--time",
            "2026-11-24T00:00:00Z",
            "--detach",
        ],
    ));
    let job = value(&out, "job").to_string();
    assert_eq!(value(&out, "rows"), "48");
    let status = ok(&mut cli(&place.spec, &["kms", "job", "status"]));
    assert!(
        status.contains(&format!("job {job} = 48 rows: 0 done")),
        "{status}"
    );
    let workers: Vec<Child> = (0..2)
        .map(|i| spawn_worker(&place.spec, &format!("p{i}"), &["--job", &job]))
        .collect();
    for w in workers {
        let o = w.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let store = place.open();
    let s = store.job(job.parse().unwrap()).unwrap().unwrap();
    assert!(s.finished() && s.new == 48, "{s:?}");
    assert_eq!(store.issued_count().unwrap(), 48);
    let shares = store.workers(s.id).unwrap();
    assert_eq!(shares.len(), 2, "{shares:?}");
    let _ = std::fs::remove_file(&file);
}

#[test]
fn detached_job_done_by_worker_processes_sqlite() {
    detached_job_done_by_worker_processes(Backend::Sqlite);
}

#[test]
fn detached_job_done_by_worker_processes_postgres() {
    detached_job_done_by_worker_processes(Backend::Postgres);
}

/// PostgreSQL stops (as in a crash) and comes back in the middle of a job: the workers retry,
/// reconnect and finish it, every row recorded exactly once.
#[test]
fn postgres_restart_mid_job() {
    if pg::skip_requested() {
        return;
    }
    let server = pg::TestPostgres::start();
    let spec = server.create_database("restart");
    let store = create_store(
        &StoreSpec::parse(&spec).unwrap(),
        PASS.as_bytes(),
        &config(),
        KdfParams::TEST_ONLY,
        &mut ChaCha20Rng::seed_from_u64(3),
    )
    .unwrap();
    let uris = users(40);
    let periods = [3000, 3001];
    let job = store
        .create_job(PrincipalKind::User, &uris, &periods)
        .unwrap();
    let workers: Vec<Child> = (0..2)
        .map(|i| {
            spawn_worker(
                &spec,
                &format!("r{i}"),
                &["--lease", "5", "--retry-for", "120"],
            )
        })
        .collect();
    wait_done(&*store, job, 12, Duration::from_secs(60));
    server.stop();
    std::thread::sleep(Duration::from_millis(1500 + jitter_ms(1000)));
    server.start_server();
    for w in workers {
        let o = w.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{err}");
        let out = String::from_utf8_lossy(&o.stdout);
        eprintln!("{out}");
    }
    // the store handle of this test reconnects as well
    let s = store.job(job).unwrap().unwrap();
    assert!(s.finished() && s.done == 80 && s.failed == 0, "{s:?}");
    assert_exactly_once(&*store, &uris, &periods);
}
