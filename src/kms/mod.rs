//! The KMS side of TS 33.180: the documents a KMS serves and a client reads.
//!
//! * [`annex_d`]: the Annex D XML documents (`KmsResponse` with a KMS certificate or key sets),
//!   typed, with a writer and a bounded, entity-free reader.

pub mod annex_d;
