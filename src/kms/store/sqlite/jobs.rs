//! The job queue ([`JobStore`]) on SQLite: claims are short `BEGIN IMMEDIATE` transactions
//! (SQLite has one writer at a time, so no row is claimed twice), leases in Unix milliseconds
//! of the one machine's clock.

use std::time::Duration;

use rusqlite::{TransactionBehavior, params};

use super::{Db, SqliteStore};
use crate::kms::store::jobs::{
    ClaimedRow, FailedRow, JobStore, JobSummary, WorkerShare, check_new_job, lease_ms,
};
use crate::kms::store::{PrincipalKind, StoreError, now_unix, sql_to_u64, u64_to_sql};

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

fn summary(r: &rusqlite::Row<'_>) -> rusqlite::Result<[i64; 8]> {
    Ok([
        r.get(0)?,
        0,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
    ])
}

fn to_summary(kind: &str, v: [i64; 8]) -> Result<JobSummary, StoreError> {
    let kind = PrincipalKind::from_name(kind)
        .ok_or_else(|| StoreError::Corrupt(format!("job kind {kind}")))?;
    let total = sql_to_u64(v[3])?;
    let done = sql_to_u64(v[4])?;
    let leased = sql_to_u64(v[6])?;
    let failed = sql_to_u64(v[7])?;
    Ok(JobSummary {
        id: v[0],
        kind,
        created_at: v[2],
        total,
        done,
        new: sql_to_u64(v[5])?,
        leased,
        pending: total.saturating_sub(done + leased + failed),
        failed,
    })
}

impl SqliteStore {
    fn summaries(&self, job: Option<i64>) -> Result<Vec<JobSummary>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(SUMMARY_QUERY).db()?;
        let rows = stmt
            .query_map(params![job, now_ms()], |r| {
                Ok((r.get::<_, String>(1)?, summary(r)?))
            })
            .db()?;
        let mut out = Vec::new();
        for row in rows {
            let (kind, v) = row.db()?;
            out.push(to_summary(&kind, v)?);
        }
        Ok(out)
    }
}

impl JobStore for SqliteStore {
    fn create_job(
        &self,
        kind: PrincipalKind,
        uris: &[String],
        period_nos: &[u64],
    ) -> Result<i64, StoreError> {
        check_new_job(uris, period_nos)?;
        let periods = period_nos
            .iter()
            .map(|&p| u64_to_sql(p))
            .collect::<Result<Vec<_>, _>>()?;
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .db()?;
        let now = now_unix();
        tx.execute(
            "INSERT INTO jobs (kind, created_at, total) VALUES (?1, ?2, 0)",
            params![kind.as_str(), now],
        )
        .db()?;
        let job = tx.last_insert_rowid();
        {
            let mut reg = tx
                .prepare(
                    "INSERT OR IGNORE INTO principals (uri, kind, created_at) VALUES (?1, ?2, ?3)",
                )
                .db()?;
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
        tx.commit().db()?;
        Ok(job)
    }

    fn claim(
        &self,
        job: Option<i64>,
        worker: &str,
        max: usize,
        lease: Duration,
    ) -> Result<Vec<ClaimedRow>, StoreError> {
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .db()?;
        let now = now_ms();
        let mut rows = {
            let mut stmt = tx
                .prepare(
                    "UPDATE job_rows SET worker = ?1, lease_until = ?2, attempts = attempts + 1
                     WHERE id IN (SELECT id FROM job_rows
                         WHERE done_at IS NULL AND failed IS NULL
                           AND (lease_until IS NULL OR lease_until < ?3)
                           AND (?4 IS NULL OR job_id = ?4)
                         ORDER BY job_id, id LIMIT ?5)
                     RETURNING id, job_id, uri, period_no, EXISTS (SELECT 1 FROM issued i
                         WHERE i.uri = job_rows.uri AND i.period_no = job_rows.period_no)",
                )
                .db()?;
            let it = stmt
                .query_map(
                    params![worker, now.saturating_add(lease_ms(lease)), now, job, max],
                    |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, i64>(3)?,
                            r.get::<_, bool>(4)?,
                        ))
                    },
                )
                .db()?;
            let mut rows = Vec::new();
            for row in it {
                let (id, job, uri, period, recorded) = row.db()?;
                rows.push(ClaimedRow {
                    id,
                    job,
                    uri,
                    period_no: sql_to_u64(period)?,
                    recorded,
                });
            }
            rows
        };
        tx.commit().db()?;
        rows.sort_by_key(|r| r.id);
        Ok(rows)
    }

    fn complete(&self, worker: &str, rows: &[(i64, bool)]) -> Result<u64, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .db()?;
        let mut n = 0u64;
        {
            let mut stmt = tx
                .prepare(
                    "UPDATE job_rows SET done_at = ?1, done_by = ?2, new = ?3, lease_until = NULL
                     WHERE id = ?4 AND done_at IS NULL",
                )
                .db()?;
            let now = now_ms();
            for &(id, new) in rows {
                n += u64::try_from(stmt.execute(params![now, worker, new, id]).db()?).unwrap_or(0);
            }
        }
        tx.commit().db()?;
        Ok(n)
    }

    fn fail(&self, worker: &str, rows: &[i64], reason: &str) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .db()?;
        {
            let mut stmt = tx
                .prepare(
                    "UPDATE job_rows SET failed = ?1, done_by = ?2, lease_until = NULL
                     WHERE id = ?3 AND done_at IS NULL",
                )
                .db()?;
            for &id in rows {
                stmt.execute(params![reason, worker, id]).db()?;
            }
        }
        tx.commit().db()
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
        let mut stmt = conn
            .prepare(
                "SELECT done_by, count(*), coalesce(sum(new = 1), 0) FROM job_rows
                 WHERE job_id = ?1 AND done_at IS NOT NULL AND done_by IS NOT NULL
                 GROUP BY done_by ORDER BY done_by",
            )
            .db()?;
        let rows = stmt
            .query_map([id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .db()?;
        let mut out = Vec::new();
        for row in rows {
            let (worker, done, new) = row.db()?;
            out.push(WorkerShare {
                worker,
                done: sql_to_u64(done)?,
                new: sql_to_u64(new)?,
            });
        }
        Ok(out)
    }

    fn prune_finished_jobs(&self) -> Result<u64, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .db()?;
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
        tx.commit().db()?;
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }

    fn failures(&self, id: i64, limit: usize) -> Result<Vec<FailedRow>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare(
                "SELECT uri, period_no, failed FROM job_rows
                 WHERE job_id = ?1 AND failed IS NOT NULL ORDER BY id LIMIT ?2",
            )
            .db()?;
        let rows = stmt
            .query_map(params![id, i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .db()?;
        let mut out = Vec::new();
        for row in rows {
            let (uri, period, reason) = row.db()?;
            out.push(FailedRow {
                uri,
                period_no: sql_to_u64(period)?,
                reason,
            });
        }
        Ok(out)
    }
}
