#![doc = include_str!("../README.md")]
#![deny(unsafe_code)]

pub mod annex_d;
pub mod ct;
pub mod curve;
pub mod eccsi;
pub mod error;
#[cfg(feature = "fetch")]
pub mod fetch;
pub mod field;
pub mod gms;
pub mod hash;
#[cfg(feature = "server")]
pub mod idms;
pub mod kms;
pub mod mcx;
pub mod mikey;
pub mod pairing;
pub mod params;
pub mod sakke;
#[cfg(feature = "server")]
pub mod server;
pub mod ue;

pub use error::{Error, IssueError, PointError, ScalarError};
