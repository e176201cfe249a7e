//! The job queue ([`JobStore`]) on PostgreSQL: claims are one `UPDATE` of rows picked with
//! `FOR UPDATE SKIP LOCKED` (workers never wait for each other and never get the same row), and
//! leases run on the database server's clock, so workers on machines whose clocks differ agree.

use std::time::Duration;

use super::{Db, PgStore, col};
use crate::kms::store::jobs::{
    ClaimedRow, FailedRow, JobStore, JobSummary, WorkerShare, check_new_job, lease_ms,
};
use crate::kms::store::rows;
use crate::kms::store::{PrincipalKind, StoreError, now_unix, sql_to_u64};

/// What version 3 adds to version 2: the provisioning job queue.
pub(super) const SCHEMA_V3_ADDITIONS: &str = "CREATE TABLE jobs (
         id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         kind TEXT NOT NULL CHECK (kind IN ('user', 'group')),
         created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
         total BIGINT NOT NULL);
     CREATE TABLE job_rows (
         id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         job_id BIGINT NOT NULL REFERENCES jobs(id),
         uri TEXT NOT NULL,
         period_no BIGINT NOT NULL,
         worker TEXT,
         lease_until TIMESTAMPTZ,
         attempts INTEGER NOT NULL DEFAULT 0,
         done_at TIMESTAMPTZ,
         done_by TEXT,
         new BOOLEAN,
         failed TEXT,
         UNIQUE (job_id, uri, period_no));
     CREATE INDEX job_rows_open ON job_rows (job_id, id)
         WHERE done_at IS NULL AND failed IS NULL;";

const SUMMARY_QUERY: &str = "SELECT j.id, j.kind, extract(epoch FROM j.created_at)::bigint,
         j.total,
         count(r.done_at),
         count(*) FILTER (WHERE r.new),
         count(*) FILTER (WHERE r.done_at IS NULL AND r.failed IS NULL
                          AND r.lease_until >= now()),
         count(r.failed)
     FROM jobs j LEFT JOIN job_rows r ON r.job_id = j.id
     WHERE $1::bigint IS NULL OR j.id = $1
     GROUP BY j.id ORDER BY j.id";

/// Rows per `INSERT` when a job is created.
const INSERT_BATCH: usize = 10_000;

impl PgStore {
    fn summaries(&self, job: Option<i64>) -> Result<Vec<JobSummary>, StoreError> {
        self.all(SUMMARY_QUERY, &[&job], rows::job_summary)
    }
}

impl JobStore for PgStore {
    fn create_job(
        &self,
        kind: PrincipalKind,
        uris: &[String],
        period_nos: &[u64],
    ) -> Result<i64, StoreError> {
        let periods = check_new_job(uris, period_nos)?;
        self.in_tx(|tx| {
            let job: i64 = col(
                &tx.query_one(
                    "INSERT INTO jobs (kind, total) VALUES ($1, 0) RETURNING id",
                    &[&kind.as_str()],
                )
                .db()?,
                0,
            )?;
            for part in uris.chunks(INSERT_BATCH) {
                // Sorted, so that concurrent jobs over the same URIs lock in one order.
                let mut part: Vec<&str> = part.iter().map(String::as_str).collect();
                part.sort_unstable();
                tx.execute(
                    "INSERT INTO principals (uri, kind, created_at)
                     SELECT u, $2, $3 FROM unnest($1::text[]) AS u
                     ON CONFLICT (uri) DO NOTHING",
                    &[&part, &kind.as_str(), &now_unix()],
                )
                .db()?;
            }
            for &p in &periods {
                for part in uris.chunks(INSERT_BATCH) {
                    let part: Vec<&str> = part.iter().map(String::as_str).collect();
                    tx.execute(
                        "INSERT INTO job_rows (job_id, uri, period_no)
                         SELECT $1, u, $3 FROM unnest($2::text[]) WITH ORDINALITY AS t(u, n)
                         ORDER BY n
                         ON CONFLICT DO NOTHING",
                        &[&job, &part, &p],
                    )
                    .db()?;
                }
            }
            tx.execute(
                "UPDATE jobs SET total = (SELECT count(*) FROM job_rows WHERE job_id = $1)
                 WHERE id = $1",
                &[&job],
            )
            .db()?;
            tx.execute(
                "UPDATE job_rows j SET done_at = now(), new = false FROM issued i
                 WHERE j.job_id = $1 AND i.uri = j.uri AND i.period_no = j.period_no",
                &[&job],
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
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        let mut out = self.all(
            "UPDATE job_rows r SET worker = $1,
                 lease_until = now() + $2::bigint * interval '1 millisecond',
                 attempts = attempts + 1
             WHERE r.id IN (SELECT id FROM job_rows
                 WHERE done_at IS NULL AND failed IS NULL
                   AND (lease_until IS NULL OR lease_until < now())
                   AND ($3::bigint IS NULL OR job_id = $3)
                 ORDER BY job_id, id LIMIT $4
                 FOR UPDATE SKIP LOCKED)
             RETURNING r.id, r.job_id, r.uri, r.period_no, EXISTS (SELECT 1 FROM issued i
                 WHERE i.uri = r.uri AND i.period_no = r.period_no)",
            &[&worker, &lease_ms(lease), &job, &max],
            rows::claimed_row,
        )?;
        out.sort_by_key(|r| r.id);
        Ok(out)
    }

    fn complete(&self, worker: &str, rows: &[(i64, bool)]) -> Result<u64, StoreError> {
        let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
        let new: Vec<bool> = rows.iter().map(|r| r.1).collect();
        self.in_tx(|tx| {
            tx.execute(
                "UPDATE job_rows r SET done_at = now(), done_by = $1, new = t.new,
                     lease_until = NULL
                 FROM unnest($2::bigint[], $3::bool[]) AS t(id, new)
                 WHERE r.id = t.id AND r.done_at IS NULL",
                &[&worker, &ids, &new],
            )
            .db()
        })
    }

    fn fail(&self, worker: &str, rows: &[i64], reason: &str) -> Result<(), StoreError> {
        self.client()?
            .execute(
                "UPDATE job_rows SET failed = $1, done_by = $2, lease_until = NULL
                 WHERE id = ANY($3) AND done_at IS NULL",
                &[&reason, &worker, &rows],
            )
            .db()?;
        Ok(())
    }

    fn job(&self, id: i64) -> Result<Option<JobSummary>, StoreError> {
        Ok(self.summaries(Some(id))?.pop())
    }

    fn jobs(&self) -> Result<Vec<JobSummary>, StoreError> {
        self.summaries(None)
    }

    fn unfinished(&self, job: Option<i64>) -> Result<u64, StoreError> {
        let row = self
            .client()?
            .query_one(
                "SELECT count(*) FROM job_rows WHERE done_at IS NULL AND failed IS NULL
                     AND ($1::bigint IS NULL OR job_id = $1)",
                &[&job],
            )
            .db()?;
        sql_to_u64(col(&row, 0)?)
    }

    fn workers(&self, id: i64) -> Result<Vec<WorkerShare>, StoreError> {
        self.all(
            "SELECT done_by, count(*), count(*) FILTER (WHERE new) FROM job_rows
             WHERE job_id = $1 AND done_at IS NOT NULL AND done_by IS NOT NULL
             GROUP BY done_by ORDER BY done_by",
            &[&id],
            rows::worker_share,
        )
    }

    fn prune_finished_jobs(&self) -> Result<u64, StoreError> {
        self.in_tx(|tx| {
            let ids: Vec<i64> = tx
                .query(
                    "SELECT id FROM jobs j WHERE NOT EXISTS (SELECT 1 FROM job_rows r
                         WHERE r.job_id = j.id AND r.done_at IS NULL AND r.failed IS NULL)
                     FOR UPDATE",
                    &[],
                )
                .db()?
                .iter()
                .map(|r| col(r, 0))
                .collect::<Result<_, _>>()?;
            tx.execute("DELETE FROM job_rows WHERE job_id = ANY($1)", &[&ids])
                .db()?;
            tx.execute("DELETE FROM jobs WHERE id = ANY($1)", &[&ids])
                .db()
        })
    }

    fn failures(&self, id: i64, limit: usize) -> Result<Vec<FailedRow>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.all(rows::FAILURES_QUERY, &[&id, &limit], rows::failed_row)
    }
}
