//! The KMS side of TS 33.180: the persistent store and key provisioning per key period. The
//! documents it serves are in [`crate::annex_d`].
//!
//! * [`store`]: the embedded SQLite store (master secrets sealed at rest, users and groups,
//!   the issue log).
//! * [`provision`]: issuing, validating and recording key sets per key period.
//! * [`jobs`]: provisioning as a shared job, done by any number of workers.

pub mod jobs;
pub mod provision;
pub mod store;
