//! The steps every MIKEY-SAKKE I_MESSAGE profile shares (RFC 6509 s2.1, s2.2.2): the payload
//! rules, the timestamp window, the replay cache, the ECCSI signature over the message and the
//! SAKKE payload, in a fixed order. A message profile (TS 33.180 MCX in
//! [`crate::mcx::imessage`]; ProSe and PKMF profiles next) supplies only what it defines:
//! which IDR roles name the initiator and the responder, its addressing and key-period rules,
//! and what it derives from the key.
//!
//! # Receiving: the [`Profile`] seam
//!
//! [`receive`] runs the checks in this order, each failure a distinct [`StepError`] (or the
//! profile's own error):
//!
//! 1. shape ([`IMessage::new`]): HDR data type SAKKE (26); exactly one T (NTP-UTC or NTP), RAND,
//!    SAKKE, SIGN, and initiator and responder IDR of the profile's [`IdrRoles`];
//! 2. the timestamp window ([`TimeCheck`]);
//! 3. the profile's checks before the signature ([`Profile::check_before_signature`]: key
//!    period, addressing, expected initiator), which choose the SAKKE payload to open;
//! 4. the ECCSI signature ([`verify_signature`], RFC 6507 s5.2.2) over the RFC 3830 s5.2
//!    coverage, or with the profile's consent over the coverage without the SIGN header
//!    octets. Only this step makes a [`Verified`] message, and only a [`Verified`] message can
//!    be replay-checked or decapsulated: no SAKKE work happens on an unauthenticated message;
//! 5. replay ([`ReplayCache::check_and_record`]), keyed on the signed octets without the
//!    signature ([`ReplayKey`]);
//! 6. SAKKE decapsulation ([`decapsulate`], RFC 6508 s6.2.2);
//! 7. the profile's work on the key ([`Profile::finish`]: key identifiers, key parameters,
//!    derived keys).
//!
//! A new profile is one new file: a receiver type holding the profile's keys and policy that
//! implements [`Profile`], a `receive` function calling [`receive`], and a `build` function
//! filling a [`Draft`] for [`sign`]. Batch builders (one key to many recipients of one KMS, as
//! a group manager sends a GMK) call [`fan_out`], which owns the batch-size rules and the
//! parallel loop.
//!
//! # Replay and signature malleability
//!
//! An ECCSI signature `(r, s)` can be changed by anyone into `(r, q - s)`, which verifies as
//! well (RFC 6507 does not require a low `s`, and deployed signers do not normalise it). This
//! crate keeps accepting either `s` (refusing high `s` would refuse half of the genuine
//! messages of such signers), and makes the replay check independent of the signature: the
//! [`ReplayKey`] is SHA-256 of the octets the signature covers without the signature itself
//! (HDR through the two SIGN header octets), which nobody can change without the signer's key.
//! A `q - s` copy of a message already seen is therefore refused as a replay.
//!
//! # Building
//!
//! [`Draft`] holds the payloads of an I_MESSAGE and [`sign`] encodes them in RFC 6509 s2.1
//! order (HDR, T, RAND, IDRs, SPs, SAKKE, General Extensions, SIGN) and signs them;
//! [`encapsulate`] makes the SAKKE payload's Encapsulated Data for one recipient and
//! [`fan_out`] for many.

mod build;
mod fanout;
mod receive;
mod replay;

pub use build::{BuildStepError, Draft, SakkeKms, encapsulate, sign};
pub use fanout::{FanOutRng, fan_out};
pub use receive::{
    IMessage, IdrRoles, Profile, ReceiverKeys, Verified, at_most_one, decapsulate, exactly_one,
    receive, verify_signature,
};
pub use replay::{MAX_REPLAY_CAPACITY, ReplayCache, ReplayCacheError, ReplayKey};

/// How the receiver checks the timestamp (RFC 3830 s5.4).
#[derive(Clone, Copy, Debug)]
pub enum TimeCheck {
    /// Compare with `now` (NTP seconds), allowing `max_skew` seconds either way.
    Window {
        /// The receiver's clock, NTP seconds since 1900.
        now: u64,
        /// Allowed difference in seconds.
        max_skew: u64,
    },
    /// No clock comparison (for replaying recorded messages in tests and tools).
    Disabled,
}

impl TimeCheck {
    /// The oldest message time (NTP seconds) this check still accepts: `now - max_skew`, or 0
    /// without a clock.
    pub fn oldest_allowed(&self) -> u64 {
        match *self {
            Self::Window { now, max_skew } => now.saturating_sub(max_skew),
            Self::Disabled => 0,
        }
    }

    /// Checks a message time (NTP seconds, the upper 32 bits of the 64-bit timestamp).
    ///
    /// # Errors
    /// [`StepError::TimestampOutOfWindow`] if it differs from `now` by more than `max_skew`.
    pub fn check(&self, seconds: u64) -> Result<(), StepError> {
        if let Self::Window { now, max_skew } = *self
            && seconds.abs_diff(now) > max_skew
        {
            return Err(StepError::TimestampOutOfWindow {
                message: seconds,
                now,
            });
        }
        Ok(())
    }
}

/// Why a generic step refused a message. The cryptographic failures are opaque: they say
/// which step failed at the protocol level, never why inside the primitive.
#[derive(Debug)]
#[non_exhaustive]
pub enum StepError {
    /// The HDR data type is not SAKKE (26).
    NotSakkeMessage(u8),
    /// A mandatory payload is missing.
    MissingPayload(&'static str),
    /// A payload that must appear at most once appears more often.
    DuplicatePayload(&'static str),
    /// The timestamp is not NTP-UTC or NTP.
    BadTimestampType,
    /// The timestamp lies outside the clock-skew window.
    TimestampOutOfWindow {
        /// The message's time, NTP seconds.
        message: u64,
        /// The receiver's clock.
        now: u64,
    },
    /// The message was received before (possibly with another encoding of its signature).
    Replay,
    /// The ECCSI signature does not verify (or is not an ECCSI signature).
    BadSignature,
    /// The SAKKE payload uses unsupported parameters or is malformed.
    BadSakkePayload(&'static str),
    /// The SAKKE payload's Encapsulated Data is not 273 octets (or the 272-octet legacy form)
    /// or its point `R` is not a valid point of the order-q subgroup. The data is public.
    BadEncapsulatedData(crate::PointError),
    /// Decapsulation failed (the RFC 6508 TEST == R check).
    DecapsulationFailed,
}

impl core::fmt::Display for StepError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NotSakkeMessage(t) => write!(f, "not a MIKEY-SAKKE message (data type {t})"),
            Self::MissingPayload(p) => write!(f, "missing mandatory payload {p}"),
            Self::DuplicatePayload(p) => write!(f, "payload {p} appears more than once"),
            Self::BadTimestampType => f.write_str("timestamp is not NTP-UTC or NTP"),
            Self::TimestampOutOfWindow { message, now } => write!(
                f,
                "timestamp {message} is outside the allowed clock skew of now ({now})"
            ),
            Self::Replay => f.write_str("replayed message"),
            Self::BadSignature => f.write_str("ECCSI signature verification failed"),
            Self::BadSakkePayload(why) => write!(f, "SAKKE payload: {why}"),
            Self::BadEncapsulatedData(e) => write!(f, "SAKKE Encapsulated Data: {e}"),
            Self::DecapsulationFailed => f.write_str("SAKKE decapsulation failed"),
        }
    }
}

impl std::error::Error for StepError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::BadEncapsulatedData(e) => Some(e),
            _ => None,
        }
    }
}
