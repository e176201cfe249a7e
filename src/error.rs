//! Error types.
//!
//! Two kinds, on purpose: [`Error`] is the one opaque cryptographic failure (a key that does not
//! validate, Encapsulated Data that does not decapsulate): it says nothing about which step
//! failed, so it cannot serve as an oracle. Decoding errors ([`PointError`], [`ScalarError`]) are
//! about public wire data and are precise.

use core::fmt;

/// An opaque cryptographic failure: validation or decapsulation did not succeed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cryptographic check failed")
    }
}

impl std::error::Error for Error {}

/// Why a 257-octet SAKKE point (`0x04 || x || y`) was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PointError {
    /// The encoding is not 257 octets long.
    WrongLength {
        /// Octets required.
        expected: usize,
        /// Octets given.
        got: usize,
    },
    /// The first octet is neither `0x04` (uncompressed) nor `0x00` (identity).
    BadPrefix(u8),
    /// A coordinate is not below p.
    CoordinateOutOfRange,
    /// `(x, y)` does not satisfy `y^2 = x^3 - 3x`.
    NotOnCurve,
    /// The point is the identity `O`, which is never a valid key or ciphertext point.
    Identity,
    /// The point is on the curve but not in the order-q subgroup (it has a component of order
    /// 2 or 4).
    NotInSubgroup,
}

impl fmt::Display for PointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WrongLength { expected, got } => {
                write!(f, "encoding must be {expected} octets, got {got}")
            }
            Self::BadPrefix(b) => write!(f, "point must start with 0x04, got 0x{b:02x}"),
            Self::CoordinateOutOfRange => f.write_str("point coordinate is not below p"),
            Self::NotOnCurve => f.write_str("point is not on the curve y^2 = x^3 - 3x"),
            Self::Identity => f.write_str("point is the identity"),
            Self::NotInSubgroup => f.write_str("point is not in the order-q subgroup"),
        }
    }
}

impl std::error::Error for PointError {}

/// Why a scalar (a master secret, an SSV) was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScalarError {
    /// Wrong number of octets (after removing leading zero octets where allowed).
    WrongLength {
        /// Octets required (at most, for big-endian integers).
        expected: usize,
        /// Octets given.
        got: usize,
    },
    /// The value is outside the allowed range (for a SAKKE master secret: `[2, q-1]`).
    OutOfRange,
}

impl fmt::Display for ScalarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Too long: an integer may be shorter than `expected`, an SSV may not, so "at most"
            // is true for both. Too short only happens for fixed-length values (an SSV).
            Self::WrongLength { expected, got } if got > expected => {
                write!(f, "value must be at most {expected} octets, got {got}")
            }
            Self::WrongLength { expected, got } => {
                write!(f, "value must be {expected} octets, got {got}")
            }
            Self::OutOfRange => f.write_str("value is out of range"),
        }
    }
}

impl std::error::Error for ScalarError {}

/// Why a KMS could not issue a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IssueError {
    /// `id + z = 0 (mod q)`: no SAKKE RSK exists for this identifier under this master secret
    /// (RFC 6508 s6.1.1). The KMS must use another master secret for this identifier.
    NoRskForIdentifier,
}

impl fmt::Display for IssueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoRskForIdentifier => f.write_str(
                "identifier + master secret = 0 mod q: no RSK exists for this identifier",
            ),
        }
    }
}

impl std::error::Error for IssueError {}
