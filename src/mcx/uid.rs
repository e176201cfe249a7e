//! The MCX user identifier (TS 33.180 Annex F.2.1): a 256-bit UID per user (or group) URI,
//! KMS and key period, used directly as the ECCSI identifier and the SAKKE identifier.
//!
//! `UID = SHA-256(S)` with the TS 33.220 encoding `S = FC || P0 || L0 || ... || P5 || L5`:
//! FC = 0x00, P0 = "MIKEY-SAKKE-UID", P1 = the user URI, P2 = the KMS URI, P3 = the key period
//! length in seconds, P4 = the key period offset in seconds, P5 = the current key period number.
//! The integers are big-endian in the fewest octets, 0 as one 0x00 octet (this reproduces the
//! published interop vectors).

use sha2::{Digest, Sha256};

use super::kdf::{KdfError, encode_s};

/// FC of the UID derivation (a dummy value: no KDF is applied).
pub const UID_FC: u8 = 0x00;

/// P0 of the UID derivation.
pub const UID_LABEL: &[u8] = b"MIKEY-SAKKE-UID";

/// A 256-bit MCX UID.
pub type Uid = [u8; 32];

/// The big-endian encoding of `v` in the fewest octets (`0` is one `0x00` octet).
pub fn minimal_be(v: u64) -> Vec<u8> {
    let b = v.to_be_bytes();
    let first = b.iter().position(|&x| x != 0).unwrap_or(b.len() - 1);
    b[first..].to_vec()
}

/// The key-period parameters of a KMS (from its KMS certificate: UserKeyPeriod and
/// UserKeyOffset, in seconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyPeriods {
    /// Key period length in seconds (non-zero).
    pub length: u64,
    /// Key period offset in seconds.
    pub offset: u64,
}

/// Why a key period number could not be computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PeriodError {
    /// The key period length is zero.
    ZeroLength,
    /// The time lies before the offset of the first key period.
    BeforeFirstPeriod,
}

impl core::fmt::Display for PeriodError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::ZeroLength => f.write_str("key period length is zero"),
            Self::BeforeFirstPeriod => f.write_str("time is before the first key period"),
        }
    }
}

impl std::error::Error for PeriodError {}

impl KeyPeriods {
    /// The key period number of an NTP time in seconds since 1900:
    /// `Floor((t - offset) / length)` (TS 33.180 F.2.1).
    ///
    /// # Errors
    /// [`PeriodError`] for a zero length or a time before the offset.
    pub fn period_number(&self, ntp_seconds: u64) -> Result<u64, PeriodError> {
        if self.length == 0 {
            return Err(PeriodError::ZeroLength);
        }
        let since = ntp_seconds
            .checked_sub(self.offset)
            .ok_or(PeriodError::BeforeFirstPeriod)?;
        Ok(since / self.length)
    }

    /// The NTP time (seconds) at which key period `n` starts, or `None` on overflow.
    pub fn period_start(&self, n: u64) -> Option<u64> {
        n.checked_mul(self.length)?.checked_add(self.offset)
    }
}

/// The UID of `user_uri` at `kms_uri` for key period `period_no` (TS 33.180 F.2.1).
///
/// # Errors
/// [`KdfError::ParameterTooLong`] if a URI exceeds 65 535 octets.
pub fn uid(
    user_uri: &[u8],
    kms_uri: &[u8],
    periods: KeyPeriods,
    period_no: u64,
) -> Result<Uid, KdfError> {
    let s = encode_s(
        UID_FC,
        &[
            UID_LABEL,
            user_uri,
            kms_uri,
            &minimal_be(periods.length),
            &minimal_be(periods.offset),
            &minimal_be(period_no),
        ],
    )?;
    Ok(Sha256::digest(&s).into())
}
