#![doc = include_str!("../README.md")]
#![deny(unsafe_code)]

pub mod curve;
pub mod eccsi;
pub mod error;
pub mod field;
pub mod hash;
pub mod pairing;
pub mod params;
pub mod sakke;

pub use error::{Error, IssueError, PointError, ScalarError};
