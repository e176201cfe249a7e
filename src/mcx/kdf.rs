//! The key derivation function of TS 33.220 Annex B, as TS 33.180 uses it:
//! `HMAC-SHA-256(Key, S)` with `S = FC || P0 || L0 || P1 || L1 || ...`, each `Li` the 2-octet
//! big-endian length of `Pi`.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Why a KDF input could not be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KdfError {
    /// The MAC rejected the key (HMAC accepts every key length, so this is not produced).
    InvalidKey,
    /// A parameter is longer than the 65 535 octets its 2-octet length field can express.
    ParameterTooLong {
        /// Index of the parameter (P0 is 0).
        index: usize,
        /// Its length in octets.
        len: usize,
    },
    /// More output was asked of the RFC 3830 PRF than it is defined for here.
    OutputTooLong {
        /// The requested length in octets.
        requested: usize,
        /// The largest length accepted.
        max: usize,
    },
}

impl core::fmt::Display for KdfError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::InvalidKey => f.write_str("invalid KDF key"),
            Self::ParameterTooLong { index, len } => {
                write!(f, "KDF parameter P{index} is {len} octets, more than 65535")
            }
            Self::OutputTooLong { requested, max } => {
                write!(
                    f,
                    "PRF output of {requested} octets requested, at most {max}"
                )
            }
        }
    }
}

impl std::error::Error for KdfError {}

/// The input string `S = FC || P0 || L0 || ...` of TS 33.220 Annex B.2.
///
/// # Errors
/// [`KdfError::ParameterTooLong`] if a parameter exceeds 65 535 octets.
pub fn encode_s(fc: u8, params: &[&[u8]]) -> Result<Vec<u8>, KdfError> {
    let mut s = Vec::with_capacity(1 + params.iter().map(|p| p.len() + 2).sum::<usize>());
    s.push(fc);
    for (index, p) in params.iter().enumerate() {
        let len = u16::try_from(p.len()).map_err(|_| KdfError::ParameterTooLong {
            index,
            len: p.len(),
        })?;
        s.extend_from_slice(p);
        s.extend_from_slice(&len.to_be_bytes());
    }
    Ok(s)
}

/// `KDF(key, S) = HMAC-SHA-256(key, S)` (TS 33.220 Annex B.2), 32 octets.
///
/// # Errors
/// [`KdfError::ParameterTooLong`] if a parameter exceeds 65 535 octets.
pub fn kdf(key: &[u8], fc: u8, params: &[&[u8]]) -> Result<[u8; 32], KdfError> {
    let s = encode_s(fc, params)?;
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).map_err(|_| KdfError::InvalidKey)?;
    mac.update(&s);
    Ok(mac.finalize().into_bytes().into())
}

/// The 128 least-significant bits of [`kdf`]: how TS 33.180 takes a 128-bit key.
///
/// # Errors
/// [`KdfError::ParameterTooLong`] if a parameter exceeds 65 535 octets.
pub fn kdf_128(key: &[u8], fc: u8, params: &[&[u8]]) -> Result<[u8; 16], KdfError> {
    let full = kdf(key, fc, params)?;
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[16..]);
    Ok(out)
}
