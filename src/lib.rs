#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod params;
pub mod field;
pub mod eccsi;
