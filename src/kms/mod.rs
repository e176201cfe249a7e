//! The KMS side of TS 33.180: the persistent store, key provisioning per key period, the
//! documents it serves and the transport-independent service. The documents themselves are in
//! [`crate::annex_d`].
//!
//! * [`store`]: the [`store::KmsStore`] interface, the sealing of secrets and the embedded
//!   SQLite backend (master secrets sealed at rest, users and groups, the issue log, group
//!   managers, the delivery audit log, the certificate cache).
//! * [`provision`]: issuing, validating and recording key sets per key period.
//! * [`jobs`]: provisioning as a shared job, done by any number of workers.
//! * [`rotation`]: new master-key generations for the key periods from a time on.
//! * [`documents`]: the KmsInit / KmsKeyProv / KmsCertCache responses built from the store.
//! * [`service`]: the KMS interface (Annex D over HTTP) as a function from (caller, path,
//!   body) to a document or a typed refusal; the HTTPS server and the CLI are thin callers.

pub mod documents;
pub mod jobs;
pub mod provision;
pub mod rotation;
pub mod service;
pub mod store;
