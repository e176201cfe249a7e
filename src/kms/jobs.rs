//! Provisioning as a shared job: a batch of (URI, key period) rows recorded in the store
//! ([`crate::kms::store::JobStore::create_job`]) and done by any number of workers, in any
//! process on any machine that reaches the store ([`run_worker`]).
//!
//! A worker claims a chunk of rows with a lease, issues and validates their key sets on the
//! cores of its rayon pool ([`crate::kms::provision`]), records them (insert-or-return, so a
//! row done twice still yields one key set) and marks the rows done. A worker killed at any
//! point leaves its rows leased; when the lease expires another worker claims them. Store
//! failures (a lost connection, a database restart) are retried for a while
//! ([`WorkerOptions::retry_for`]) without giving up the chunk in hand: recording is
//! idempotent, so a commit whose answer was lost is simply recorded again.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use super::provision::{CHUNK, ProvisionError, issue_key_sets};
use super::store::jobs::ClaimedRow;
use super::store::{AnyStore, IssuedKeySet, MasterKeys, StoreError};

/// When a worker stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Until {
    /// Once no row of the job (of any job, without [`WorkerOptions::job`]) is pending or leased:
    /// rows leased by other workers are waited for, and taken over if their lease expires.
    Finished,
    /// Never: poll for new jobs.
    Forever,
}

/// How a worker works.
#[derive(Clone, Debug)]
pub struct WorkerOptions {
    /// The worker's name, kept with the rows it does (default [`default_worker_name`]).
    pub name: String,
    /// Only this job (default: every job, oldest first).
    pub job: Option<i64>,
    /// Rows claimed at a time.
    pub chunk: usize,
    /// How long a claim lasts; a chunk must be done well within it.
    pub lease: Duration,
    /// When to stop.
    pub until: Until,
    /// How long to sleep when nothing can be claimed.
    pub poll: Duration,
    /// How long the store may fail in a row before the worker gives up.
    pub retry_for: Duration,
}

impl WorkerOptions {
    /// The defaults: chunks of 64 rows (two record transactions of [`CHUNK`]) per core, a
    /// 60-second lease, half-second polls, store failures retried for five minutes.
    pub fn new(until: Until) -> Self {
        Self {
            name: default_worker_name(),
            job: None,
            chunk: 2 * CHUNK * rayon::current_num_threads().max(1),
            lease: Duration::from_secs(60),
            until,
            poll: Duration::from_millis(500),
            retry_for: Duration::from_secs(300),
        }
    }
}

/// What a worker did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkerReport {
    /// Rows claimed.
    pub claimed: u64,
    /// Rows marked done by this worker.
    pub done: u64,
    /// Key sets this worker recorded (the others it found recorded already).
    pub new: u64,
    /// Rows marked failed.
    pub failed: u64,
    /// Store failures retried.
    pub retries: u64,
}

/// `host/pid/random`: unique per process, telling an operator where the worker runs.
pub fn default_worker_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "host".into());
    let mut tag = [0u8; 3];
    // A tag that only tells two processes of one pid apart: any value will do.
    let _ = getrandom::fill(&mut tag);
    format!("{host}/{}/{}", std::process::id(), hex::encode(tag))
}

/// The master keys of one period.
type PeriodKeys = Arc<MasterKeys>;

fn clone_set(s: &IssuedKeySet) -> IssuedKeySet {
    IssuedKeySet {
        uri: s.uri.clone(),
        period_no: s.period_no,
        generation: s.generation,
        user_id: s.user_id,
        rsk: s.rsk.clone(),
        ssk: s.ssk.clone(),
        pvt: s.pvt,
        issued_at: s.issued_at,
    }
}

/// Runs `f` until it succeeds, retrying backend failures for up to `opts.retry_for`.
fn retry<T>(
    opts: &WorkerOptions,
    report: &mut WorkerReport,
    mut f: impl FnMut() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(100);
    loop {
        match f() {
            Err(StoreError::Backend(e)) if start.elapsed() < opts.retry_for => {
                report.retries += 1;
                {
                    // never a panic when standard error cannot be written
                    use std::io::Write as _;
                    let _ = writeln!(
                        std::io::stderr(),
                        "worker {}: store unavailable, retrying: {e}",
                        opts.name
                    );
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_secs(5));
            }
            other => return other,
        }
    }
}

/// Works on the jobs of `store` until `opts.until`; calls `on_chunk` after every chunk.
///
/// # Errors
/// A store failure that lasts longer than [`WorkerOptions::retry_for`], or any other store
/// error. Rows that cannot be issued ([`ProvisionError::NoRsk`], ...) are not errors of the
/// worker: they are marked failed with the reason and the worker goes on.
pub fn run_worker(
    store: &dyn AnyStore,
    opts: &WorkerOptions,
    on_chunk: &mut dyn FnMut(&WorkerReport),
) -> Result<WorkerReport, ProvisionError> {
    let mut report = WorkerReport::default();
    let mut keys: HashMap<u64, PeriodKeys> = HashMap::new();
    let config = store.config().clone();
    loop {
        let rows = retry(opts, &mut report, || {
            store.claim(opts.job, &opts.name, opts.chunk.max(1), opts.lease)
        })?;
        if rows.is_empty() {
            if opts.until == Until::Finished
                && retry(opts, &mut report, || store.unfinished(opts.job))? == 0
            {
                return Ok(report);
            }
            std::thread::sleep(opts.poll);
            continue;
        }
        report.claimed += u64::try_from(rows.len()).unwrap_or(u64::MAX);
        let (recorded, todo): (Vec<ClaimedRow>, Vec<ClaimedRow>) =
            rows.into_iter().partition(|r| r.recorded);
        if !recorded.is_empty() {
            let marks: Vec<(i64, bool)> = recorded.iter().map(|r| (r.id, false)).collect();
            let n = retry(opts, &mut report, || store.complete(&opts.name, &marks))?;
            report.done += n;
        }
        let mut by_period: Vec<(u64, Vec<ClaimedRow>)> = Vec::new();
        for r in todo {
            match by_period.iter_mut().find(|(p, _)| *p == r.period_no) {
                Some((_, v)) => v.push(r),
                None => by_period.push((r.period_no, vec![r])),
            }
        }
        for (period, rows) in by_period {
            let pk = match keys.get(&period) {
                Some(k) => Arc::clone(k),
                None => match retry(opts, &mut report, || store.master_keys(period)) {
                    Ok(m) => {
                        let k = Arc::new(m);
                        keys.insert(period, Arc::clone(&k));
                        k
                    }
                    Err(e @ StoreError::NoMasterKeyForPeriod(_)) => {
                        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
                        retry(opts, &mut report, || {
                            store.fail(&opts.name, &ids, &e.to_string())
                        })?;
                        report.failed += u64::try_from(ids.len()).unwrap_or(u64::MAX);
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                },
            };
            let master = &*pk;
            // Chunks of CHUNK rows on the pool's cores, each issued and self-checked together.
            let issued: Vec<Result<IssuedKeySet, ProvisionError>> = rows
                .par_chunks(CHUNK)
                .flat_map_iter(|part| {
                    let uris: Vec<&str> = part.iter().map(|r| r.uri.as_str()).collect();
                    issue_key_sets(master, &config.kms_uri, config.periods, &uris, period)
                })
                .collect();
            let mut ok: Vec<(i64, IssuedKeySet)> = Vec::with_capacity(issued.len());
            for (row, set) in rows.iter().zip(issued) {
                match set {
                    Ok(set) => ok.push((row.id, set)),
                    Err(e) => {
                        let reason = e.to_string();
                        retry(opts, &mut report, || {
                            store.fail(&opts.name, &[row.id], &reason)
                        })?;
                        report.failed += 1;
                    }
                }
            }
            for part in ok.chunks(CHUNK) {
                let mut part: Vec<&(i64, IssuedKeySet)> = part.iter().collect();
                let recorded = loop {
                    match retry(opts, &mut report, || {
                        store.record(part.iter().map(|(_, s)| clone_set(s)).collect())
                    }) {
                        // Revoked since the job was made: those rows fail, the rest are
                        // recorded.
                        Err(StoreError::Revoked(uri)) => {
                            let ids: Vec<i64> = part
                                .iter()
                                .filter(|(_, s)| s.uri == uri)
                                .map(|(id, _)| *id)
                                .collect();
                            let reason = StoreError::Revoked(uri.clone()).to_string();
                            retry(opts, &mut report, || store.fail(&opts.name, &ids, &reason))?;
                            report.failed += u64::try_from(ids.len()).unwrap_or(u64::MAX);
                            part.retain(|(_, s)| s.uri != uri);
                            if ids.is_empty() {
                                return Err(StoreError::Revoked(uri).into());
                            }
                        }
                        other => break other?,
                    }
                };
                let marks: Vec<(i64, bool)> = part
                    .iter()
                    .zip(&recorded)
                    .map(|((id, _), r)| (*id, r.new))
                    .collect();
                report.new +=
                    u64::try_from(recorded.iter().filter(|r| r.new).count()).unwrap_or(u64::MAX);
                let n = retry(opts, &mut report, || store.complete(&opts.name, &marks))?;
                report.done += n;
            }
        }
        on_chunk(&report);
    }
}
