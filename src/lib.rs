#![doc = include_str!("../README.md")]
#![deny(unsafe_code)]

pub mod annex_d;
pub mod bench;
pub mod ct;
pub mod curve;
pub mod eccsi;
pub mod error;
pub mod field;
pub mod gms;
pub mod hash;
pub mod kms;
pub mod mcx;
pub mod mikey;
pub mod pairing;
pub mod params;
pub mod sakke;
#[cfg(feature = "test-helpers")]
#[doc(hidden)]
pub mod test_helpers;
pub mod ue;

pub use error::{Error, IssueError, PointError, ScalarError};
