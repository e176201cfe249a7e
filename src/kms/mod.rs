//! The KMS side of TS 33.180: the persistent store, key provisioning per key period, and the
//! documents a KMS serves and a client reads.
//!
//! * [`store`]: the embedded SQLite store (master secrets sealed at rest, users and groups,
//!   the issue log).
//! * [`provision`]: issuing, validating and recording key sets per key period.
//! * [`annex_d`]: the Annex D XML documents (`KmsResponse` with a KMS certificate or key sets),
//!   typed, with a writer and a bounded, entity-free reader.

pub mod annex_d;
pub mod provision;
pub mod store;
