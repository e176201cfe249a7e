//! MIKEY-SAKKE I_MESSAGEs in the TS 33.180 (MCX) profile: building and signing (RFC 6509
//! s2.1, TS 33.180 E.1-E.7), building for many members at once, and receiving (RFC 6509
//! s2.2.2).
//!
//! This is one profile on top of the generic MIKEY-SAKKE steps of
//! [`crate::mikey::sakke_steps`], which own the payload rules, the timestamp window, the replay
//! cache, the ECCSI signature and the SAKKE payload, and the order of the checks. What this
//! profile adds:
//!
//! * the IDR roles 8 (IDRuidi) and 9 (IDRuidr) for the initiator's and the responder's UIDs,
//!   IDRkmsi (6) and IDRkmsr (7) for their KMS URIs ([`ROLES`]);
//! * the key kinds and their identifiers ([`KeyKind`]): a GMK with CSB ID = the member's GUK-ID
//!   and SPI = GMK-ID || GUK-ID, or a PCK, CSK, ... with CSB ID = its key ID;
//! * the SRTP policy and crypto session ([`DEFAULT_SRTP_POLICY`], GENERIC-ID map);
//! * the key-parameters extension (General Extension 7, E.6) and SAKKE-to-self (General
//!   Extension 6, E.5);
//! * [`build`] (one message), [`build_many`] (one key to many members of one KMS, on all
//!   cores: [`crate::mikey::sakke_steps::fan_out`]) and [`receive`] / [`receive_parsed`].
//!
//! Another profile (ProSe, PKMF) is a sibling of this module: its own roles, key kinds and
//! extensions, a receiver type implementing [`crate::mikey::sakke_steps::Profile`], and
//! `build` functions filling a [`crate::mikey::sakke_steps::Draft`].
//!
//! Built messages have the payload order deployed peers use: HDR, T, RAND, IDRuidi (8),
//! IDRuidr (9), IDRkmsi (6), IDRkmsr (7), SP, SAKKE, [GenExt 6 SAKKE-to-self], [GenExt 7 key
//! parameters], SIGN. The signature covers the message from the first HDR octet through the two
//! SIGN header octets (RFC 3830 s5.2).
//!
//! Receiving checks, in this order, each failure being a distinct [`ReceiveError`]: the message
//! parses and has the mandatory payloads once each; the timestamp is within the allowed clock
//! skew; its key period is the one of the receiver's keys; the message is addressed to the
//! receiver (or, with a SAKKE-to-self extension, sent by the receiver's own identity from
//! another device); the ECCSI signature verifies (before any SAKKE work); it is not a replay
//! (keyed on the signed octets without the signature, so a copy whose signature was altered
//! into `(r, q - s)` is a replay too); the SAKKE payload decapsulates; the key identifiers and
//! the key parameters are consistent.

mod build;
mod compat;
mod receive;

/// The timestamp check and the replay cache are the generic steps'.
pub use crate::mikey::sakke_steps::{ReplayCache, TimeCheck};
pub use build::{
    BatchKeyParams, BatchKind, BatchSpec, BuildManyError, BuiltMessage, Members, build, build_many,
    build_with_encapsulation,
};
pub use compat::{Compat, PEER_PROFILES, PeerProfile};
pub use receive::{ROLES, ReceiveError, ReceivedKey, Receiver, receive, receive_parsed};

use super::key_id::KeyId;
use super::key_params::{self, KeyParameters};
use super::uid::Uid;
use crate::eccsi::SigningKey;
use crate::mikey::IdScheme;
use crate::mikey::sakke_steps::BuildStepError;
use crate::sakke::{self, EncapsulatedData, KmsPublicKey, Ssv};

/// The SRTP policy TS 33.180 E.2 recommends for group calls (Table E.2-1), as deployed peers
/// send it: AES-GCM, 16-octet key, RCCm3, 12-octet salt, AES-CM PRF, no key refresh, SRTP tag
/// 4, SRTCP tag 0, AEAD tag 16.
pub const DEFAULT_SRTP_POLICY: [(u8, u8); 9] = [
    (0, 6),
    (1, 16),
    (2, 4),
    (4, 12),
    (5, 0),
    (6, 0),
    (18, 4),
    (19, 0),
    (20, 16),
];

/// CS ID of an MCPTT group call (TS 33.180 Table E.1.3-1).
pub const CS_ID_MCPTT_GROUP_CALL: u8 = 4;
/// CS ID of the initiator of an MCPTT private call.
pub const CS_ID_MCPTT_PRIVATE_INITIATOR: u8 = 0;
/// CS ID of CSK SRTCP for MCPTT.
pub const CS_ID_CSK_MCPTT: u8 = 6;

/// ID scheme "3GPP MCX hashed UID" in the SAKKE payload (as deployed; TS 33.180 E.5).
pub const ID_SCHEME_MCX_UID: IdScheme = IdScheme::MCX_HASHED_UID;

/// Which key a message distributes, with its identifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// A GMK to one member: CSB ID = the member's GUK-ID, SPI = GMK-ID || GUK-ID (E.2).
    Gmk {
        /// The GMK-ID (purpose tag 0).
        gmk_id: KeyId,
        /// The member's GUK-ID.
        guk_id: KeyId,
    },
    /// Any other key (PCK, CSK, MuSiK, ...): CSB ID = the key ID; a CSK also names its ID as SPI.
    Other {
        /// The key ID, whose purpose tag says what the key is.
        key_id: KeyId,
    },
}

impl KeyKind {
    fn csb_id(&self) -> KeyId {
        match *self {
            Self::Gmk { guk_id, .. } => guk_id,
            Self::Other { key_id } => key_id,
        }
    }
}

/// The initiator (signer) of a message.
#[derive(Debug)]
pub struct Initiator<'a> {
    /// The validated ECCSI signing key; its identifier is the initiator's UID for the period.
    pub signer: &'a SigningKey,
    /// The initiator's KMS URI (IDRkmsi).
    pub kms_uri: &'a [u8],
}

/// The responder (receiver) of a message.
#[derive(Debug)]
pub struct Responder<'a> {
    /// The responder's UID for the key period of the message (the SAKKE identifier).
    pub uid: &'a Uid,
    /// The responder's KMS URI (IDRkmsr).
    pub kms_uri: &'a [u8],
    /// The responder's KMS public key Z.
    pub kms_public_key: &'a KmsPublicKey,
    /// The same key prepared for many recipients (a group manager's fan-out), if available.
    pub prepared_kms: Option<&'a sakke::PreparedKms>,
}

/// Key parameters to send (TS 33.180 E.6), with the protected payload's header values.
#[derive(Debug)]
pub struct KeyParamsSpec {
    /// The parameters.
    pub params: KeyParameters,
    /// The protected payload's date-time field.
    pub date_time: [u8; 5],
    /// The 16-octet IV (draw it at random for every message).
    pub iv: [u8; 16],
}

/// What to send.
#[derive(Debug)]
pub struct MessageSpec<'a> {
    /// The key (GMK, PCK, CSK, ...): the SSV.
    pub key: &'a Ssv,
    /// Its identifiers.
    pub kind: KeyKind,
    /// The CS ID of the single crypto session (GENERIC-ID map with the SP payload's policy), or
    /// `None` for an empty map (and no SP payload).
    pub cs_id: Option<u8>,
    /// The 64-bit NTP-UTC timestamp (seconds in the upper 32 bits).
    pub ntp_time: u64,
    /// The 16-octet RAND.
    pub rand: [u8; 16],
    /// Key parameters to include (GenExt 7), if any.
    pub key_params: Option<KeyParamsSpec>,
    /// SAKKE-to-self (GenExt 6, E.5): the key encapsulated to the initiator's own UID under
    /// the initiator's KMS key ([`crate::mikey::sakke_steps::encapsulate`]), if wanted.
    /// [`build_many`] computes it once for all members.
    pub sakke_to_self: Option<&'a EncapsulatedData>,
}

/// Why a message could not be built: a generic building step ([`BuildMessageError::Step`]:
/// the codec refused a field, or signing failed) or this profile's key parameters.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildMessageError {
    /// A generic building step failed.
    Step(BuildStepError),
    /// The key parameters could not be encoded.
    KeyParams(key_params::KeyParamsError),
}

impl core::fmt::Display for BuildMessageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Step(e) => write!(f, "{e}"),
            Self::KeyParams(e) => write!(f, "building the key parameters: {e}"),
        }
    }
}

impl std::error::Error for BuildMessageError {}

impl From<BuildStepError> for BuildMessageError {
    fn from(e: BuildStepError) -> Self {
        Self::Step(e)
    }
}
