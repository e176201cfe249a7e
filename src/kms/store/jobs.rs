//! The provisioning job queue kept in the store, beside the key sets it fills.
//!
//! A job is a list of pending (URI, key period) rows. Workers, any number and in any process,
//! claim chunks of rows for a time (a lease), issue and record their key sets
//! ([`super::KmsStore::record`], insert-or-return) and mark the rows done. A worker that dies
//! mid-chunk leaves its rows leased; once the lease expires another worker claims them again.
//! Since recording is insert-or-return, a row issued twice (its lease expired while its first
//! worker was still busy) still yields one key set. Claims never wait for each other: on
//! PostgreSQL they use `FOR UPDATE SKIP LOCKED`, on SQLite they are short `BEGIN IMMEDIATE`
//! transactions.
//!
//! The logic of a worker is in [`crate::kms::jobs`]; this module is the storage interface.

use std::time::Duration;

use super::{PrincipalKind, StoreError};

/// One claimed row of a job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimedRow {
    /// The row's number in the store.
    pub id: i64,
    /// The job it belongs to.
    pub job: i64,
    /// The user or group URI.
    pub uri: String,
    /// The key period number.
    pub period_no: u64,
    /// Whether a key set for (URI, period) is recorded already (then nothing is to issue).
    pub recorded: bool,
}

/// The progress of one job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobSummary {
    /// The job number.
    pub id: i64,
    /// What the URIs were registered as.
    pub kind: PrincipalKind,
    /// Unix time the job was created.
    pub created_at: i64,
    /// Number of rows.
    pub total: u64,
    /// Rows done (their key set is recorded).
    pub done: u64,
    /// Rows of those done whose key set this job's workers recorded (the others were recorded
    /// already, by an earlier job or another process).
    pub new: u64,
    /// Rows claimed by a worker whose lease has not expired.
    pub leased: u64,
    /// Rows waiting for a worker (never claimed, or their lease expired).
    pub pending: u64,
    /// Rows that cannot be issued (see [`JobStore::failures`]).
    pub failed: u64,
}

impl JobSummary {
    /// Whether every row is done or failed.
    pub fn finished(&self) -> bool {
        self.done + self.failed >= self.total
    }
}

/// How many rows one worker completed in a job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerShare {
    /// The worker's name.
    pub worker: String,
    /// Rows it marked done.
    pub done: u64,
    /// Of those, the key sets it recorded itself.
    pub new: u64,
}

/// A row that could not be issued and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedRow {
    /// The user or group URI.
    pub uri: String,
    /// The key period number.
    pub period_no: u64,
    /// Why (no secret).
    pub reason: String,
}

/// The job queue of a store. Every method is one transaction and safe to call from several
/// threads and processes at once.
pub trait JobStore: Send + Sync {
    /// Records a job of `uris` x `period_nos` rows, registering the URIs as `kind` (a URI
    /// registered already keeps its kind). Rows whose key set is recorded already are done at
    /// once. Returns the job number.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for an empty URI or an empty job; backend errors.
    fn create_job(
        &self,
        kind: PrincipalKind,
        uris: &[String],
        period_nos: &[u64],
    ) -> Result<i64, StoreError>;

    /// Claims up to `max` rows that are neither done, failed nor leased, of job `job` (any job
    /// if `None`), oldest first, for `worker` until `lease` from now. Rows leased by others are
    /// skipped, not waited for.
    ///
    /// # Errors
    /// Backend errors.
    fn claim(
        &self,
        job: Option<i64>,
        worker: &str,
        max: usize,
        lease: Duration,
    ) -> Result<Vec<ClaimedRow>, StoreError>;

    /// Marks rows done by `worker`: `(row id, new)`, `new` telling whether this worker's record
    /// was the one kept. A row done already stays as it is. Returns the rows marked.
    ///
    /// # Errors
    /// Backend errors.
    fn complete(&self, worker: &str, rows: &[(i64, bool)]) -> Result<u64, StoreError>;

    /// Marks rows as failed with `reason` (no secret).
    ///
    /// # Errors
    /// Backend errors.
    fn fail(&self, worker: &str, rows: &[i64], reason: &str) -> Result<(), StoreError>;

    /// The progress of job `id`, `None` if there is no such job.
    ///
    /// # Errors
    /// Backend errors.
    fn job(&self, id: i64) -> Result<Option<JobSummary>, StoreError>;

    /// Every job, oldest first.
    ///
    /// # Errors
    /// Backend errors.
    fn jobs(&self) -> Result<Vec<JobSummary>, StoreError>;

    /// Rows of job `id` not done nor failed (pending or leased); of every job if `None`.
    ///
    /// # Errors
    /// Backend errors.
    fn unfinished(&self, job: Option<i64>) -> Result<u64, StoreError>;

    /// Who did the rows of job `id`, by worker name.
    ///
    /// # Errors
    /// Backend errors.
    fn workers(&self, id: i64) -> Result<Vec<WorkerShare>, StoreError>;

    /// Removes every finished job (all rows done or failed) and its rows; returns how many
    /// jobs were removed. The key sets they recorded stay in place.
    ///
    /// # Errors
    /// Backend errors.
    fn prune_finished_jobs(&self) -> Result<u64, StoreError>;

    /// The failed rows of job `id`, at most `limit`.
    ///
    /// # Errors
    /// Backend errors.
    fn failures(&self, id: i64, limit: usize) -> Result<Vec<FailedRow>, StoreError>;
}

/// Checks the arguments of [`JobStore::create_job`]; returns the key periods as database
/// integers.
pub(crate) fn check_new_job(uris: &[String], period_nos: &[u64]) -> Result<Vec<i64>, StoreError> {
    if uris.is_empty() || period_nos.is_empty() {
        return Err(StoreError::Invalid(
            "a job needs URIs and key periods".into(),
        ));
    }
    if uris.iter().any(String::is_empty) {
        return Err(StoreError::Invalid("empty URI".into()));
    }
    period_nos.iter().map(|&p| super::u64_to_sql(p)).collect()
}

/// A lease duration in milliseconds, at least one.
pub(crate) fn lease_ms(lease: Duration) -> i64 {
    i64::try_from(lease.as_millis()).unwrap_or(i64::MAX).max(1)
}
