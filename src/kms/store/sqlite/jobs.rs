//! The job queue ([`JobStore`]) on SQLite: claims are short `BEGIN IMMEDIATE` transactions
//! (SQLite has one writer at a time, so no row is claimed twice), leases in Unix milliseconds
//! of the one machine's clock.

use std::time::Duration;

use rusqlite::params;

use super::{Db, SqliteStore, query_all};
use crate::kms::store::jobs::{
    ClaimedRow, FailedRow, JobStore, JobSummary, WorkerShare, check_new_job, lease_ms,
};
use crate::kms::store::{PrincipalKind, StoreError, now_unix, rows, sql_to_u64};

/// What version 3 adds to version 2: the provisioning job queue.
pub(super) const SCHEMA_V3_ADDITIONS: &str = "CREATE TABLE jobs (
         id INTEGER PRIMARY KEY,
         kind TEXT NOT NULL CHECK (kind IN ('user', 'group')),
         created_at INTEGER NOT NULL,
         total INTEGER NOT NULL);
     CREATE TABLE job_rows (
         id INTEGER PRIMARY KEY,
         job_id INTEGER NOT NULL REFERENCES jobs(id),
         uri TEXT NOT NULL,
         period_no INTEGER NOT NULL,
         worker TEXT,
         lease_until INTEGER,
         attempts INTEGER NOT NULL DEFAULT 0,
         done_at INTEGER,
         done_by TEXT,
         new INTEGER,
         failed TEXT,
         UNIQUE (job_id, uri, period_no));
     CREATE INDEX job_rows_open ON job_rows (job_id, id)
         WHERE done_at IS NULL AND failed IS NULL;";

/// The current Unix time in milliseconds.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

const SUMMARY_QUERY: &str = "SELECT j.id, j.kind, j.created_at, j.total,
         count(r.done_at),
         coalesce(sum(r.new = 1), 0),
         coalesce(sum(r.done_at IS NULL AND r.failed IS NULL AND r.lease_until >= ?2), 0),
         coalesce(sum(r.failed IS NOT NULL), 0)
     FROM jobs j LEFT JOIN job_rows r ON r.job_id = j.id
     WHERE ?1 IS NULL OR j.id = ?1
     GROUP BY j.id ORDER BY j.id";

impl SqliteStore {
    fn summaries(&self, job: Option<i64>) -> Result<Vec<JobSummary>, StoreError> {
        let conn = self.conn()?;
        query_all(
            &conn,
            SUMMARY_QUERY,
            params![job, now_ms()],
            rows::job_summary,
        )
    }
}

impl JobStore for SqliteStore {
    fn create_job(
        &self,
        kind: PrincipalKind,
        uris: &[String],
        period_nos: &[u64],
    ) -> Result<i64, StoreError> {
        let periods = check_new_job(uris, period_nos)?;
        self.in_tx(|tx| {
            let now = now_unix();
            tx.execute(
                "INSERT INTO jobs (kind, created_at, total) VALUES (?1, ?2, 0)",
                params![kind.as_str(), now],
            )
            .db()?;
            let job = tx.last_insert_rowid();
            let mut reg = tx.prepare(rows::REGISTER).db()?;
            let mut row = tx
                .prepare(
                    "INSERT OR IGNORE INTO job_rows (job_id, uri, period_no) VALUES (?1, ?2, ?3)",
                )
                .db()?;
            for &p in &periods {
                for u in uris {
                    row.execute(params![job, u, p]).db()?;
                }
            }
            for u in uris {
                reg.execute(params![u, kind.as_str(), now]).db()?;
            }
            tx.execute(
                "UPDATE jobs SET total = (SELECT count(*) FROM job_rows WHERE job_id = ?1)
                 WHERE id = ?1",
                [job],
            )
            .db()?;
            tx.execute(
                "UPDATE job_rows SET done_at = ?2, new = 0 WHERE job_id = ?1 AND EXISTS
                     (SELECT 1 FROM issued i
                      WHERE i.uri = job_rows.uri AND i.period_no = job_rows.period_no)",
                params![job, now_ms()],
            )
            .db()?;
            Ok(job)
        })
    }

    fn claim(
        &self,
        job: Option<i64>,
        worker: &str,
        max: usize,
        lease: Duration,
    ) -> Result<Vec<ClaimedRow>, StoreError> {
        let mut rows = self.in_tx(|tx| {
            let now = now_ms();
            let until = now.saturating_add(lease_ms(lease));
            query_all(
                tx,
                "UPDATE job_rows SET worker = ?1, lease_until = ?2, attempts = attempts + 1
                 WHERE id IN (SELECT id FROM job_rows
                     WHERE done_at IS NULL AND failed IS NULL
                       AND (lease_until IS NULL OR lease_until < ?3)
                       AND (?4 IS NULL OR job_id = ?4)
                     ORDER BY job_id, id LIMIT ?5)
                 RETURNING id, job_id, uri, period_no, EXISTS (SELECT 1 FROM issued i
                     WHERE i.uri = job_rows.uri AND i.period_no = job_rows.period_no)",
                params![worker, until, now, job, sql_limit(max)],
                rows::claimed_row,
            )
        })?;
        rows.sort_by_key(|r| r.id);
        Ok(rows)
    }

    fn complete(&self, worker: &str, rows: &[(i64, bool)]) -> Result<u64, StoreError> {
        self.in_tx(|tx| {
            let mut stmt = tx
                .prepare(
                    "UPDATE job_rows SET done_at = ?1, done_by = ?2, new = ?3, lease_until = NULL
                     WHERE id = ?4 AND done_at IS NULL",
                )
                .db()?;
            let now = now_ms();
            let mut n = 0u64;
            for &(id, new) in rows {
                n += u64::try_from(stmt.execute(params![now, worker, new, id]).db()?).unwrap_or(0);
            }
            Ok(n)
        })
    }

    fn fail(&self, worker: &str, rows: &[i64], reason: &str) -> Result<(), StoreError> {
        self.in_tx(|tx| {
            let mut stmt = tx
                .prepare(
                    "UPDATE job_rows SET failed = ?1, done_by = ?2, lease_until = NULL
                     WHERE id = ?3 AND done_at IS NULL",
                )
                .db()?;
            for &id in rows {
                stmt.execute(params![reason, worker, id]).db()?;
            }
            Ok(())
        })
    }

    fn job(&self, id: i64) -> Result<Option<JobSummary>, StoreError> {
        Ok(self.summaries(Some(id))?.pop())
    }

    fn jobs(&self) -> Result<Vec<JobSummary>, StoreError> {
        self.summaries(None)
    }

    fn unfinished(&self, job: Option<i64>) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn()?
            .query_row(
                "SELECT count(*) FROM job_rows WHERE done_at IS NULL AND failed IS NULL
                     AND (?1 IS NULL OR job_id = ?1)",
                [job],
                |r| r.get(0),
            )
            .db()?;
        sql_to_u64(n)
    }

    fn workers(&self, id: i64) -> Result<Vec<WorkerShare>, StoreError> {
        let conn = self.conn()?;
        query_all(
            &conn,
            "SELECT done_by, count(*), coalesce(sum(new = 1), 0) FROM job_rows
             WHERE job_id = ?1 AND done_at IS NOT NULL AND done_by IS NOT NULL
             GROUP BY done_by ORDER BY done_by",
            [id],
            rows::worker_share,
        )
    }

    fn prune_finished_jobs(&self) -> Result<u64, StoreError> {
        self.in_tx(|tx| {
            tx.execute_batch(
                "CREATE TEMP TABLE IF NOT EXISTS finished_jobs (id INTEGER PRIMARY KEY);
                 DELETE FROM finished_jobs;
                 INSERT INTO finished_jobs SELECT id FROM jobs j WHERE NOT EXISTS
                     (SELECT 1 FROM job_rows r WHERE r.job_id = j.id
                      AND r.done_at IS NULL AND r.failed IS NULL);
                 DELETE FROM job_rows WHERE job_id IN (SELECT id FROM finished_jobs);",
            )
            .db()?;
            let n = tx
                .execute(
                    "DELETE FROM jobs WHERE id IN (SELECT id FROM finished_jobs)",
                    [],
                )
                .db()?;
            Ok(u64::try_from(n).unwrap_or(u64::MAX))
        })
    }

    fn failures(&self, id: i64, limit: usize) -> Result<Vec<FailedRow>, StoreError> {
        let conn = self.conn()?;
        query_all(
            &conn,
            rows::FAILURES_QUERY,
            params![id, sql_limit(limit)],
            rows::failed_row,
        )
    }
}

/// A row count as a database integer (saturating).
fn sql_limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
