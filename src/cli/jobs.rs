//! `mikey-sakke kms provision | worker | job status | migrate`: provisioning as a shared job
//! on any store (a SQLite file or a PostgreSQL database), its workers, its progress, and
//! schema migrations.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{
    CliError, Output, PassphraseArgs, create_out_dir, holds_key_sets_of, ntp_time, output_plan,
    passphrase_to_open, progress, rfc3339, write_planned,
};
use mikey_sakke::kms::documents;
use mikey_sakke::kms::jobs::{Until, WorkerOptions, WorkerReport, run_worker};
use mikey_sakke::kms::store::{
    AnyStore, IssuedKeySet, PrincipalKind, StoreSpec, migrate_store, open_store,
};

/// The `--store` option of every `kms` command.
#[derive(clap::Args, Debug)]
pub struct StoreOpt {
    /// The store: a SQLite file path, or a PostgreSQL database URL
    /// `postgres://USER[:PASSWORD]@HOST[:PORT]/DB` (also `postgresql://`; the password may
    /// come from PGPASSWORD instead). Default: the MIKEY_SAKKE_STORE environment variable.
    #[arg(
        long = "store",
        value_name = "FILE|URL",
        env = "MIKEY_SAKKE_STORE",
        hide_env_values = true
    )]
    pub spec: String,
    /// Where the store passphrase comes from.
    #[command(flatten)]
    pub pass: PassphraseArgs,
}

impl StoreOpt {
    /// The parsed specification.
    ///
    /// # Errors
    /// An empty value.
    pub fn spec(&self) -> Result<StoreSpec, CliError> {
        StoreSpec::parse(&self.spec).map_err(|e| store_error(&e))
    }

    /// Opens the store with the passphrase (`--passphrase-file`, environment or prompt).
    ///
    /// # Errors
    /// Any failure to open it, as one line.
    pub fn open(&self) -> Result<Box<dyn AnyStore>, CliError> {
        let spec = self.spec()?;
        let pass = passphrase_to_open(&self.pass)?;
        open_store(&spec, &pass).map_err(|e| store_error(&e))
    }
}

fn store_error(e: &dyn std::fmt::Display) -> CliError {
    CliError(e.to_string())
}

/// How a worker claims and issues (shared by `kms provision` and `kms worker`).
#[derive(clap::Args, Debug)]
pub struct WorkOpts {
    /// Rows claimed at a time (default 64 per thread).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub chunk: Option<u64>,
    /// Seconds a claim lasts: rows of a worker that died are taken over after this.
    #[arg(long, value_name = "SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub lease: u64,
    /// Threads issuing key sets (default: every core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub threads: Option<u64>,
    /// The worker's name in the job's records (default HOST/PID/TAG).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Seconds the store may stay unreachable (a database restart, a failover) before the
    /// worker gives up.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub retry_for: u64,
}

impl WorkOpts {
    fn options(&self, until: Until, job: Option<i64>) -> WorkerOptions {
        let mut o = WorkerOptions::new(until);
        o.job = job;
        if let Some(c) = self.chunk {
            o.chunk = usize::try_from(c).unwrap_or(usize::MAX);
        } else if let Some(t) = self.threads {
            // The default of 64 rows per thread, for the threads of `--threads`.
            o.chunk = usize::try_from(t.saturating_mul(64)).unwrap_or(usize::MAX);
        }
        o.lease = Duration::from_secs(self.lease);
        if let Some(n) = &self.name {
            o.name.clone_from(n);
        }
        o.retry_for = Duration::from_secs(self.retry_for);
        o
    }

    /// Runs `f` on a pool of `--threads` threads (the global pool without it).
    fn in_pool<R: Send>(&self, f: impl FnOnce() -> R + Send) -> Result<R, CliError> {
        match self.threads {
            None => Ok(f()),
            Some(n) => {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(usize::try_from(n).unwrap_or(1))
                    .build()
                    .map_err(|e| CliError(format!("--threads: {e}")))?;
                Ok(pool.install(f))
            }
        }
    }
}

/// `kms provision`: the arguments.
#[derive(clap::Args, Debug)]
pub struct ProvisionArgs {
    #[command(flatten)]
    store: StoreOpt,
    /// A user (or group) URI; may be repeated.
    #[arg(long, value_name = "URI", required_unless_present = "users_file")]
    user: Vec<String>,
    /// A file of URIs, one per line (`#` comments allowed; `-`: standard input).
    #[arg(long, value_name = "FILE")]
    users_file: Option<PathBuf>,
    /// How the users file is checked.
    #[command(flatten)]
    list: super::UriListArgs,
    /// Register the URIs as groups rather than users.
    #[arg(long)]
    group: bool,
    /// The time whose key period to provision (RFC 3339, `ntp:SECONDS` or `0xHEX`); default
    /// now. It must lie between the ValidFrom of the KMS's first certificate (the start of key
    /// period 0), and no earlier than 2000-01-01T00:00:00Z, and ten years from now.
    #[arg(long, value_name = "TIME")]
    time: Option<String>,
    /// How many consecutive key periods from that time (clients hold two).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=12))]
    periods: u64,
    /// Output: a file (one user), or a directory (one `<uri>.xml` per user; it is one when it
    /// exists as one, or with several URIs or --users-file, and is created, mode 0700, if
    /// missing, as by `gms distribute --out`). Default: stdout for one user.
    #[arg(long, value_name = "FILE|DIR", conflicts_with = "detach")]
    out: Option<PathBuf>,
    /// Record the job and return at once (print its number): `kms worker` processes do it.
    #[arg(long)]
    detach: bool,
    #[command(flatten)]
    work: WorkOpts,
}

/// Where `kms provision --out` writes: one file, or a directory of `<uri>.xml` files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutKind {
    /// Standard output, or nothing written (`--detach`).
    None,
    /// One file.
    File,
    /// A directory, created (mode 0700) if missing, as `gms distribute --out` does.
    Dir,
}

/// What `--out` is, checked before anything is issued: a directory when it is one, or when
/// several URIs or a users file are given (created if missing); else a file, whose directory
/// must exist.
fn check_out(
    uris: &[String],
    out: Option<&Path>,
    users_file: bool,
    detach: bool,
) -> Result<OutKind, CliError> {
    let Some(out) = out.filter(|_| !detach) else {
        if uris.len() > 1 && !detach {
            return Err(CliError::new(
                "several URIs: give --out DIR (created if missing)",
            ));
        }
        return Ok(OutKind::None);
    };
    if out.is_dir() || uris.len() > 1 || users_file {
        return Ok(OutKind::Dir);
    }
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !parent.is_dir() {
        return Err(CliError(format!(
            "cannot write {}: {} is not a directory",
            out.display(),
            parent.display()
        )));
    }
    Ok(OutKind::File)
}

/// NTP seconds of 2000-01-01T00:00:00Z: no MCX key set is issued for an earlier time.
const PROVISION_FLOOR_NTP: u64 = 3_155_673_600;
/// How far ahead key sets may be provisioned: ten years (of 365 days).
const PROVISION_AHEAD_SECS: u64 = 10 * 365 * 86_400;

/// Refuses a time given to `--option` of a store command (`kms provision --time`, `kms
/// certificate --time`) before the KMS certificate's ValidFrom (the start of key period 0; and
/// before 2000) or more than ten years ahead, naming the range.
///
/// # Errors
/// The time outside the range, with the range.
pub fn check_kms_time(
    option: &str,
    config: &mikey_sakke::kms::store::KmsConfig,
    ntp: u64,
) -> Result<(), CliError> {
    let from = config.periods.offset.max(PROVISION_FLOOR_NTP);
    let to = mikey_sakke::input::ntp_now().saturating_add(PROVISION_AHEAD_SECS);
    if (from..=to).contains(&ntp) {
        return Ok(());
    }
    Err(CliError(format!(
        "--{option} {}: outside {} .. {} (from the KMS certificate's ValidFrom, not before 2000, \
         to ten years from now)",
        rfc3339(ntp),
        rfc3339(from),
        rfc3339(to)
    )))
}

/// The failed rows of a job as one error line.
fn failed_error(s: &dyn AnyStore, job: i64, failed: u64) -> CliError {
    let first = s
        .failures(job, 1)
        .ok()
        .and_then(|mut f| f.pop())
        .map(|f| format!(", e.g. {} (period {}): {}", f.uri, f.period_no, f.reason))
        .unwrap_or_default();
    CliError(format!(
        "job {job}: {failed} key sets could not be issued{first}"
    ))
}

/// `kms provision`: records the job, works on it (with any other workers) until it is done,
/// then writes the key sets.
///
/// # Errors
/// A one-line message for any failure.
pub fn provision(a: &ProvisionArgs) -> Result<Output, CliError> {
    let mut uris = a.user.clone();
    if let Some(f) = &a.users_file {
        uris.extend(super::read_uris(f, &a.list)?);
    }
    if uris.is_empty() {
        return Err(CliError::new("no URIs to provision"));
    }
    let s = a.store.open()?;
    // Revoked URIs are skipped (and said so): nothing is issued for them.
    let revoked: std::collections::HashSet<String> = s
        .revoked_uris()
        .map_err(|e| store_error(&e))?
        .into_iter()
        .collect();
    let before = uris.len();
    uris.retain(|u| !revoked.contains(u));
    if uris.len() < before {
        note!(
            "skipped {} revoked URIs (kms unrevoke to issue them again)",
            before - uris.len()
        );
        if uris.is_empty() {
            return Err(CliError(format!(
                "every URI given is revoked ({before}); nothing issued"
            )));
        }
    }
    // Checked before anything is issued or recorded: where each file goes, and that files in
    // the way hold the same URI's documents.
    let out_kind = check_out(&uris, a.out.as_deref(), a.users_file.is_some(), a.detach)?;
    let plan = match a.out.as_deref() {
        Some(dir) if out_kind == OutKind::Dir => {
            Some(output_plan(dir, &uris, "xml", &holds_key_sets_of)?)
        }
        _ => None,
    };
    let config = s.config().clone();
    let ntp = ntp_time("time", a.time.as_deref())?;
    check_kms_time("time", &config, ntp)?;
    if let (Some(dir), OutKind::Dir) = (a.out.as_deref(), out_kind) {
        create_out_dir(dir)?;
    }
    let first = config
        .periods
        .period_number(ntp)
        .map_err(|e| store_error(&e))?;
    let period_nos: Vec<u64> = (first..first + a.periods).collect();
    let kind = if a.group {
        PrincipalKind::Group
    } else {
        PrincipalKind::User
    };
    let t = Instant::now();
    let job = s
        .create_job(kind, &uris, &period_nos)
        .map_err(|e| store_error(&e))?;
    let start = s
        .job(job)
        .map_err(|e| store_error(&e))?
        .ok_or_else(|| CliError(format!("job {job} vanished")))?;
    note!(
        "job {job}: {} key sets, {} recorded already",
        start.total,
        start.done
    );
    if a.detach {
        return Ok(Output::new()
            .text("job", job)
            .text("rows", start.total)
            .text("pending", start.total - start.done));
    }
    let bar = progress(start.total, "provisioning");
    bar.set_position(start.done);
    let opts = a.work.options(Until::Finished, Some(job));
    let mut last = Instant::now();
    let store: &dyn AnyStore = &*s;
    a.work
        .in_pool(|| {
            run_worker(store, &opts, &mut |_: &WorkerReport| {
                if last.elapsed() >= Duration::from_millis(250) {
                    last = Instant::now();
                    if let Ok(Some(j)) = store.job(job) {
                        bar.set_position(j.done + j.failed);
                    }
                }
            })
        })?
        .map_err(|e| store_error(&e))?;
    bar.finish_and_clear();
    let secs = t.elapsed().as_secs_f64();
    let end = s
        .job(job)
        .map_err(|e| store_error(&e))?
        .ok_or_else(|| CliError(format!("job {job} vanished")))?;
    if end.failed > 0 {
        return Err(failed_error(store, job, end.failed));
    }
    note!(
        "provisioned {} key sets ({} new, {} already recorded) for {} URIs in {secs:.2} s: {:.0} key sets/s",
        end.total,
        end.new,
        end.total - end.new,
        uris.len(),
        end.new as f64 / secs.max(1e-9)
    );
    let now = rfc3339(ntp);
    let sets_of = |uri: &str| -> Result<Vec<IssuedKeySet>, CliError> {
        period_nos
            .iter()
            .map(|&p| {
                s.issued(uri, p)
                    .map_err(|e| store_error(&e))?
                    .ok_or_else(|| CliError(format!("no key set recorded for {uri}, period {p}")))
            })
            .collect()
    };
    let doc_for = |uri: &str, sets: &[IssuedKeySet]| -> String {
        documents::key_prov_response(&config, uri, &now, sets).to_xml()
    };
    match (&a.out, plan) {
        (Some(dir), Some(plan)) => {
            let docs = plan
                .into_iter()
                .map(|(u, path)| Ok((path, doc_for(&u, &sets_of(&u)?).into_bytes())))
                .collect::<Result<Vec<_>, CliError>>()?;
            let n = write_planned(&docs)?;
            Ok(Output::new().text("written", format!("{n} files in {}", dir.display())))
        }
        (Some(file), _) => {
            let u = &uris[0];
            write_planned(&[(file.clone(), doc_for(u, &sets_of(u)?).into_bytes())])?;
            Ok(Output::new().text("written", file.display()))
        }
        (None, _) => Ok(Output::new().line(doc_for(&uris[0], &sets_of(&uris[0])?))),
    }
}

/// `kms worker`: the arguments.
#[derive(clap::Args, Debug)]
pub struct WorkerArgs {
    #[command(flatten)]
    store: StoreOpt,
    /// Only this job (default: every job, oldest first).
    #[arg(long, value_name = "ID")]
    job: Option<i64>,
    /// Stop once no row is pending or leased (waiting for other workers' leases), instead of
    /// polling for new jobs forever.
    #[arg(long)]
    once: bool,
    #[command(flatten)]
    work: WorkOpts,
}

/// `kms worker`: claims and issues rows of the store's jobs.
///
/// # Errors
/// A store failure lasting longer than `--retry-for`, or any other store error.
pub fn worker(a: &WorkerArgs) -> Result<Output, CliError> {
    let s = a.store.open()?;
    let until = if a.once {
        Until::Finished
    } else {
        Until::Forever
    };
    let opts = a.work.options(until, a.job);
    let name = opts.name.clone();
    note!("worker {name} on {}", a.store.spec()?);
    let store: &dyn AnyStore = &*s;
    let mut last = Instant::now();
    let report = a
        .work
        .in_pool(|| {
            run_worker(store, &opts, &mut |r: &WorkerReport| {
                if last.elapsed() >= Duration::from_secs(5) {
                    last = Instant::now();
                    note!(
                        "worker {}: {} rows done ({} new), {} failed",
                        opts.name,
                        r.done,
                        r.new,
                        r.failed
                    );
                }
            })
        })?
        .map_err(|e| store_error(&e))?;
    Ok(Output::new()
        .text("worker", name)
        .text("claimed", report.claimed)
        .text("done", report.done)
        .text("new", report.new)
        .text("failed", report.failed)
        .text("retries", report.retries))
}

/// `kms job ...`: the commands on provisioning jobs.
#[derive(clap::Subcommand, Debug)]
pub enum JobCommand {
    /// Show the progress of every job, or of one job with its workers and failures.
    Status {
        #[command(flatten)]
        store: StoreOpt,
        /// This job only, in detail.
        #[arg(long, value_name = "ID")]
        job: Option<i64>,
    },
    /// Remove every finished job and its rows (the key sets stay recorded).
    Prune {
        #[command(flatten)]
        store: StoreOpt,
    },
}

/// Runs a `kms job` command.
///
/// # Errors
/// A one-line message for any failure.
pub fn job(cmd: &JobCommand) -> Result<Output, CliError> {
    match cmd {
        JobCommand::Prune { store } => {
            let s = store.open()?;
            let n = s.prune_finished_jobs().map_err(|e| store_error(&e))?;
            Ok(Output::new().text("removed_jobs", n))
        }
        JobCommand::Status { store, job } => {
            let s = store.open()?;
            let line = |j: &mikey_sakke::kms::store::jobs::JobSummary| {
                format!(
                    "{} rows: {} done ({} new), {} leased, {} pending, {} failed",
                    j.total, j.done, j.new, j.leased, j.pending, j.failed
                )
            };
            match job {
                None => {
                    let jobs = s.jobs().map_err(|e| store_error(&e))?;
                    let mut out = Output::new().text("jobs", jobs.len());
                    for j in &jobs {
                        out = out.text(&format!("job {}", j.id), line(j));
                    }
                    Ok(out)
                }
                Some(id) => {
                    let j = s
                        .job(*id)
                        .map_err(|e| store_error(&e))?
                        .ok_or_else(|| CliError(format!("no job {id} in the store")))?;
                    let mut out = Output::new()
                        .text("job", j.id)
                        .text("kind", j.kind.as_str())
                        .text("created", unix_rfc3339(j.created_at))
                        .text("rows", j.total)
                        .text("done", j.done)
                        .text("new", j.new)
                        .text("leased", j.leased)
                        .text("pending", j.pending)
                        .text("failed", j.failed)
                        .text("finished", if j.finished() { "yes" } else { "no" });
                    for w in s.workers(*id).map_err(|e| store_error(&e))? {
                        out = out.text(
                            &format!("worker {}", w.worker),
                            format!("{} done ({} new)", w.done, w.new),
                        );
                    }
                    for f in s.failures(*id, 10).map_err(|e| store_error(&e))? {
                        out = out.text(
                            &format!("failed {} period {}", f.uri, f.period_no),
                            f.reason,
                        );
                    }
                    Ok(out)
                }
            }
        }
    }
}

/// A Unix time as RFC 3339.
fn unix_rfc3339(t: i64) -> String {
    // NTP time = Unix time + 2 208 988 800 s.
    rfc3339(u64::try_from(t).unwrap_or(0).saturating_add(2_208_988_800))
}

/// `kms migrate`: brings the store's schema to this program's version (no passphrase needed).
///
/// # Errors
/// A one-line message for any failure (a newer schema, no store).
pub fn migrate(store: &StoreOpt) -> Result<Output, CliError> {
    let spec = store.spec()?;
    let (from, to) = migrate_store(&spec).map_err(|e| store_error(&e))?;
    Ok(Output::new()
        .text("store", &spec)
        .text("schema_from", from)
        .text("schema_to", to)
        .text("migrated", if from < to { "yes" } else { "no: up to date" }))
}
