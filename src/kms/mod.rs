//! The KMS and group-key product (TS 33.180): the persistent store, key provisioning per key
//! period, and the Annex D documents.

pub mod provision;
pub mod store;
