//! MIKEY-SAKKE I_MESSAGEs in the TS 33.180 profile: building and signing (RFC 6509 s2.1,
//! TS 33.180 E.1-E.7) and receiving (RFC 6509 s2.2.2).
//!
//! Built messages have the payload order deployed peers use: HDR, T, RAND, IDRuidi (8),
//! IDRuidr (9), IDRkmsi (6), IDRkmsr (7), SP, SAKKE, [GenExt 6 SAKKE-to-self], [GenExt 7 key
//! parameters], SIGN. The signature covers the message from the first HDR octet through the two
//! SIGN header octets (RFC 3830 s5.2).
//!
//! Receiving checks, in this order, each failure being a distinct [`ReceiveError`]: the message
//! parses and has the mandatory payloads once each; the timestamp is within the allowed clock
//! skew and not a replay; its key period is the one of the receiver's keys; the message is
//! addressed to the receiver (or, with a SAKKE-to-self extension, sent by the receiver's own
//! identity from another device); the ECCSI signature verifies (before any SAKKE work); the SAKKE
//! payload decapsulates; the key identifiers and the key parameters are consistent.

use std::collections::{HashSet, VecDeque};

use rand_core::CryptoRng;
use sha2::{Digest, Sha256};
use signature::Verifier;
use zeroize::Zeroizing;

use super::key_id::{KeyId, PurposeTag, gmk_id_from_guk_id};
use super::key_params::{self, KeyParameters, ProtectedHeader};
use super::srtp::{SrtpMasterKeys, srtp_master_keys};
use super::uid::{KeyPeriods, Uid};
use crate::eccsi::{Kpak, Signature, SigningKey, VerifyingKey};
use crate::mikey::{
    self, CsIdMap, DataType, ExtType, GeneralExtension, GenericIdEntry, Hdr, IdRole, IdScheme,
    IdType, Idr, Payload, PolicyParam, PrfFunc, ProtType, Rand, Sakke, SakkeParams, SecurityPolicy,
    Sign, SignCoverage, SignatureType, Timestamp,
};
use crate::params::{ENCAPSULATED_DATA_LEN, SSV_LEN};
use crate::sakke::{self, EncapsulatedData, KmsPublicKey, PreparedReceiver, Ssv};

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
pub struct Initiator<'a> {
    /// The validated ECCSI signing key; its identifier is the initiator's UID for the period.
    pub signer: &'a SigningKey,
    /// The initiator's KMS URI (IDRkmsi).
    pub kms_uri: &'a [u8],
}

/// The responder (receiver) of a message.
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
pub struct KeyParamsSpec {
    /// The parameters.
    pub params: KeyParameters,
    /// The protected payload's date-time field.
    pub date_time: [u8; 5],
    /// The 16-octet IV (draw it at random for every message).
    pub iv: [u8; 16],
}

/// What to send.
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
    /// SAKKE-to-self (GenExt 6, E.5): the key encapsulated to the initiator's own UID (the same
    /// for every member of a fan-out: compute it once with
    /// [`sakke::hazmat::encapsulate_with_ssv`]), if wanted.
    pub sakke_to_self: Option<&'a EncapsulatedData>,
}

/// Why a message could not be built.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildMessageError {
    /// The codec refused a field.
    Codec(mikey::BuildError),
    /// The key parameters could not be encoded.
    KeyParams(key_params::KeyParamsError),
    /// Signing failed.
    Sign,
}

impl core::fmt::Display for BuildMessageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Codec(e) => write!(f, "building the MIKEY message: {e}"),
            Self::KeyParams(e) => write!(f, "building the key parameters: {e}"),
            Self::Sign => f.write_str("ECCSI signing failed"),
        }
    }
}

impl std::error::Error for BuildMessageError {}

/// Builds and signs one MIKEY-SAKKE I_MESSAGE distributing `spec.key` from `initiator` to
/// `responder` (TS 33.180 E.1, E.2 for a GMK). Returns the message octets.
///
/// # Errors
/// [`BuildMessageError`] if a field does not fit or signing fails.
pub fn build<R: CryptoRng + ?Sized>(
    rng: &mut R,
    initiator: &Initiator<'_>,
    responder: &Responder<'_>,
    spec: &MessageSpec<'_>,
) -> Result<Vec<u8>, BuildMessageError> {
    let ed = match responder.prepared_kms {
        Some(p) => sakke::hazmat::encapsulate_with_ssv_kms(spec.key, p, responder.uid),
        None => {
            sakke::hazmat::encapsulate_with_ssv(spec.key, responder.kms_public_key, responder.uid)
        }
    };
    build_with_encapsulation(rng, initiator, responder, spec, &ed)
}

/// [`build`] with the SAKKE payload already computed: `ed` must encapsulate `spec.key` to
/// `responder.uid` under `responder.kms_public_key` (as
/// [`sakke::hazmat::encapsulate_many_with_ssv_kms`] does for a batch of members); otherwise the
/// responder cannot recover the key.
///
/// # Errors
/// [`BuildMessageError`] if a field does not fit or signing fails.
pub fn build_with_encapsulation<R: CryptoRng + ?Sized>(
    rng: &mut R,
    initiator: &Initiator<'_>,
    responder: &Responder<'_>,
    spec: &MessageSpec<'_>,
    ed: &EncapsulatedData,
) -> Result<Vec<u8>, BuildMessageError> {
    let ed = ed.to_bytes();
    let self_ed = spec.sakke_to_self.map(EncapsulatedData::to_bytes);
    let self_payload = match &self_ed {
        Some(d) => Some(
            Sakke {
                params: SakkeParams::PARAMETER_SET_1,
                id_scheme: ID_SCHEME_MCX_UID,
                data: d,
            }
            .encode_standalone()
            .map_err(BuildMessageError::Codec)?,
        ),
        None => None,
    };
    let key_params_payload = match &spec.key_params {
        Some(kp) => {
            let header = ProtectedHeader {
                date_time: kp.date_time,
                payload_id: 0,
                sequence: 0,
                iv: kp.iv,
                dppk_id: spec.kind.csb_id(),
                iei: 0,
            };
            Some(
                key_params::seal(spec.key.as_bytes(), &header, &kp.params)
                    .map_err(BuildMessageError::KeyParams)?,
            )
        }
        None => None,
    };
    let spi_gmk;
    let spi_other;
    let spi: &[u8] = match spec.kind {
        KeyKind::Gmk { gmk_id, guk_id } => {
            spi_gmk = super::srtp::mki_group(gmk_id, guk_id);
            &spi_gmk
        }
        KeyKind::Other { key_id } => {
            spi_other = key_id.to_bytes();
            &spi_other
        }
    };
    let policy_nos = [0u8];
    let cs_id_map = match spec.cs_id {
        Some(cs_id) => CsIdMap::GenericId(vec![GenericIdEntry {
            cs_id,
            prot_type: ProtType::SRTP,
            s: false,
            policy_nos: &policy_nos,
            session_data: &[],
            spi,
        }]),
        None => CsIdMap::Empty { cs_count: 0 },
    };
    let hdr = Hdr {
        data_type: DataType::SAKKE,
        v: false,
        prf_func: PrfFunc::PRF_HMAC_SHA_256,
        csb_id: spec.kind.csb_id().0,
        cs_id_map,
    };
    let policy_values: Vec<[u8; 1]> = DEFAULT_SRTP_POLICY.iter().map(|&(_, v)| [v]).collect();
    let mut payloads = vec![
        Payload::T(Timestamp::NtpUtc(spec.ntp_time)),
        Payload::Rand(Rand { rand: &spec.rand }),
        Payload::Idr(Idr {
            role: IdRole::HASHED_INITIATOR,
            id_type: IdType::URI,
            data: initiator.signer.id(),
        }),
        Payload::Idr(Idr {
            role: IdRole::HASHED_RESPONDER,
            id_type: IdType::URI,
            data: responder.uid,
        }),
        Payload::Idr(Idr {
            role: IdRole::INITIATOR_KMS,
            id_type: IdType::URI,
            data: initiator.kms_uri,
        }),
        Payload::Idr(Idr {
            role: IdRole::RESPONDER_KMS,
            id_type: IdType::URI,
            data: responder.kms_uri,
        }),
    ];
    if spec.cs_id.is_some() {
        payloads.push(Payload::Sp(SecurityPolicy {
            policy_no: 0,
            prot_type: ProtType::SRTP,
            params: DEFAULT_SRTP_POLICY
                .iter()
                .zip(policy_values.iter())
                .map(|(&(t, _), v)| PolicyParam {
                    param_type: t,
                    value: v,
                })
                .collect(),
        }));
    }
    payloads.push(Payload::Sakke(Sakke {
        params: SakkeParams::PARAMETER_SET_1,
        id_scheme: ID_SCHEME_MCX_UID,
        data: &ed,
    }));
    if let Some(p) = &self_payload {
        payloads.push(Payload::GeneralExtension(GeneralExtension {
            ext_type: ExtType::SAKKE_TO_SELF,
            data: p,
        }));
    }
    if let Some(p) = &key_params_payload {
        payloads.push(Payload::GeneralExtension(GeneralExtension {
            ext_type: ExtType::KEY_PARAMETERS,
            data: p,
        }));
    }
    let placeholder = [0u8; crate::eccsi::SIGNATURE_LEN];
    payloads.push(Payload::Sign(Sign {
        sig_type: SignatureType::ECCSI,
        signature: &placeholder,
    }));
    let msg = mikey::Message::new(hdr, payloads).map_err(BuildMessageError::Codec)?;
    let mut out = msg.encode();
    let covered = out.len() - placeholder.len();
    let sig = initiator
        .signer
        .try_sign_with_rng(rng, &out[..covered])
        .map_err(|_| BuildMessageError::Sign)?;
    out[covered..].copy_from_slice(&sig.to_bytes());
    Ok(out)
}

/// A bounded replay cache of authenticated messages (RFC 3830 s5.4): entries older than the
/// clock-skew window are dropped (the timestamp check rejects such messages anyway), and at
/// most `capacity` entries are kept.
#[derive(Debug)]
pub struct ReplayCache {
    capacity: usize,
    order: VecDeque<(u64, [u8; 32])>,
    seen: HashSet<[u8; 32]>,
}

impl ReplayCache {
    /// A cache holding at most `capacity` messages.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            order: VecDeque::new(),
            seen: HashSet::new(),
        }
    }

    /// Records a message digest seen at NTP time `t` (seconds); `false` if it was already there.
    fn insert(&mut self, t: u64, digest: [u8; 32], oldest_allowed: u64) -> bool {
        while let Some(&(ts, d)) = self.order.front() {
            if ts < oldest_allowed || self.order.len() >= self.capacity {
                self.order.pop_front();
                self.seen.remove(&d);
            } else {
                break;
            }
        }
        if !self.seen.insert(digest) {
            return false;
        }
        self.order.push_back((t, digest));
        true
    }
}

/// How the receiver checks the timestamp.
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

/// The receiver's keys and policy.
pub struct Receiver<'a> {
    /// The receiver's UID for the key period of its keys.
    pub uid: &'a Uid,
    /// The receiver's MC service ID (URI); needed to recover a GMK-ID from a GUK-ID (F.1.3).
    pub user_uri: Option<&'a [u8]>,
    /// The SAKKE KMS public key Z of the receiver's KMS.
    pub kms_public_key: &'a KmsPublicKey,
    /// The receiver's RSK, validated and prepared.
    pub rsk: &'a PreparedReceiver,
    /// The KMS public authentication key (KPAK) that signed the initiator's keys.
    pub kpak: &'a Kpak,
    /// The key periods and the period number of the receiver's keys, if known: a message from
    /// another period is rejected.
    pub key_period: Option<(KeyPeriods, u64)>,
    /// The expected initiator UID, if the receiver knows who should send.
    pub expected_initiator: Option<&'a Uid>,
    /// Also accept signatures that exclude the two SIGN header octets (as some deployed peers
    /// sign). Off by default.
    pub compat_signature: bool,
    /// On a failed decapsulation, retry with the mask of the minimal-length w, for senders that
    /// hash g^r without its leading zero octets (spec notes s6). Off by default; the RFC's
    /// TEST == R check still decides.
    pub compat_minimal_w: bool,
    /// Accept the legacy clear key-parameters format of old deployed senders (the raw
    /// 17-octet parameters with the key type off by one, instead of a protected payload).
    /// Off by default.
    pub compat_legacy_key_params: bool,
}

/// What a received message delivered.
#[derive(Debug)]
pub struct ReceivedKey {
    /// The distributed key (GMK, PCK, CSK, ...).
    pub key: Ssv,
    /// The key ID: the GMK-ID for a GMK, else the CSB ID.
    pub key_id: KeyId,
    /// The CSB ID (the GUK-ID for a GMK).
    pub csb_id: KeyId,
    /// The purpose tag of the key ID.
    pub purpose: Option<PurposeTag>,
    /// The initiator's UID (the ECCSI signer).
    pub initiator_uid: Vec<u8>,
    /// The 64-bit NTP-UTC timestamp.
    pub ntp_time: u64,
    /// The RAND.
    pub rand: Vec<u8>,
    /// The CS ID of the first crypto session, if the map names one.
    pub cs_id: Option<u8>,
    /// SRTP master key and salt for that crypto session.
    pub srtp: Option<SrtpMasterKeys>,
    /// The key parameters, if the message carried them.
    pub key_params: Option<KeyParameters>,
    /// Whether the signature needed the compatibility coverage.
    pub signature_compat_used: bool,
    /// Whether the key parameters came in the legacy clear format.
    pub key_params_legacy: bool,
}

// The key is an `Ssv` and the SRTP master key and salt are `SrtpMasterKeys`, both zeroized on
// drop; the other fields are public protocol data.
impl zeroize::ZeroizeOnDrop for ReceivedKey {}

/// Why a message was rejected. Cryptographic failures say which check failed at the protocol
/// level; the primitives below stay opaque.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReceiveError {
    /// The octets are not a MIKEY message.
    Malformed(mikey::ParseError),
    /// The HDR data type is not SAKKE (26).
    NotSakkeMessage(u8),
    /// A mandatory payload is missing.
    MissingPayload(&'static str),
    /// A payload that must appear once appears more often.
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
    /// The message was received before.
    Replay,
    /// The message's key period is not the one of the receiver's keys.
    WrongKeyPeriod {
        /// The period of the message time.
        message: u64,
        /// The period of the keys.
        keys: u64,
    },
    /// The message is addressed to another UID.
    NotForThisReceiver,
    /// The initiator is not the expected one.
    UnexpectedInitiator,
    /// The ECCSI signature does not verify.
    BadSignature,
    /// The SAKKE payload is malformed or uses unsupported parameters.
    BadSakkePayload(&'static str),
    /// The SAKKE payload's Encapsulated Data is not 273 octets (or the 272-octet legacy form)
    /// or its point `R` is not a valid point of the order-q subgroup. The data is public.
    BadEncapsulatedData(crate::PointError),
    /// Decapsulation failed (the RFC 6508 TEST == R check).
    DecapsulationFailed,
    /// The key identifiers are inconsistent (SPI vs CSB ID, or key parameters' DPPK-ID).
    InconsistentKeyIds,
    /// The key parameters could not be decrypted or decoded.
    KeyParameters(key_params::KeyParamsError),
}

impl core::fmt::Display for ReceiveError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Malformed(e) => write!(f, "malformed message: {e}"),
            Self::NotSakkeMessage(t) => write!(f, "not a MIKEY-SAKKE message (data type {t})"),
            Self::MissingPayload(p) => write!(f, "missing mandatory payload {p}"),
            Self::DuplicatePayload(p) => write!(f, "payload {p} appears more than once"),
            Self::BadTimestampType => f.write_str("timestamp is not NTP-UTC or NTP"),
            Self::TimestampOutOfWindow { message, now } => {
                write!(
                    f,
                    "timestamp {message} is outside the allowed clock skew of now ({now})"
                )
            }
            Self::Replay => f.write_str("replayed message"),
            Self::WrongKeyPeriod { message, keys } => {
                write!(
                    f,
                    "message is for key period {message}, keys are for period {keys}"
                )
            }
            Self::NotForThisReceiver => f.write_str("message is addressed to another receiver"),
            Self::UnexpectedInitiator => f.write_str("message is from an unexpected initiator"),
            Self::BadSignature => f.write_str("ECCSI signature verification failed"),
            Self::BadSakkePayload(why) => write!(f, "SAKKE payload: {why}"),
            Self::BadEncapsulatedData(e) => write!(f, "SAKKE Encapsulated Data: {e}"),
            Self::DecapsulationFailed => f.write_str("SAKKE decapsulation failed"),
            Self::InconsistentKeyIds => f.write_str("inconsistent key identifiers"),
            Self::KeyParameters(e) => write!(f, "key parameters: {e}"),
        }
    }
}

impl std::error::Error for ReceiveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Malformed(e) => Some(e),
            Self::BadEncapsulatedData(e) => Some(e),
            Self::KeyParameters(e) => Some(e),
            _ => None,
        }
    }
}

fn exactly_one<T>(mut it: impl Iterator<Item = T>, name: &'static str) -> Result<T, ReceiveError> {
    let first = it.next().ok_or(ReceiveError::MissingPayload(name))?;
    if it.next().is_some() {
        return Err(ReceiveError::DuplicatePayload(name));
    }
    Ok(first)
}

/// Receives one I_MESSAGE (RFC 6509 s2.2.2 with the TS 33.180 profile).
///
/// # Errors
/// The [`ReceiveError`] of the first failed check (see the module docs for the order).
pub fn receive(
    receiver: &Receiver<'_>,
    time: TimeCheck,
    replay: Option<&mut ReplayCache>,
    octets: &[u8],
) -> Result<ReceivedKey, ReceiveError> {
    let msg = mikey::parse(octets).map_err(ReceiveError::Malformed)?;
    let hdr = msg.hdr();
    if hdr.data_type != DataType::SAKKE {
        return Err(ReceiveError::NotSakkeMessage(hdr.data_type.0));
    }
    let ts = exactly_one(
        msg.payloads().iter().filter(|p| matches!(p, Payload::T(_))),
        "T",
    )?;
    let ntp_time = match ts {
        Payload::T(Timestamp::NtpUtc(v) | Timestamp::Ntp(v)) => *v,
        _ => return Err(ReceiveError::BadTimestampType),
    };
    let rand = exactly_one(
        msg.payloads()
            .iter()
            .filter(|p| matches!(p, Payload::Rand(_))),
        "RAND",
    )?;
    let Payload::Rand(rand) = rand else {
        return Err(ReceiveError::MissingPayload("RAND"));
    };
    let sakke_p = exactly_one(
        msg.payloads()
            .iter()
            .filter(|p| matches!(p, Payload::Sakke(_))),
        "SAKKE",
    )?;
    let Payload::Sakke(sakke_p) = sakke_p else {
        return Err(ReceiveError::MissingPayload("SAKKE"));
    };
    let sign = msg.sign().ok_or(ReceiveError::MissingPayload("SIGN"))?;
    let initiator = exactly_one(
        msg.idrs().filter(|i| i.role == IdRole::HASHED_INITIATOR),
        "IDRuidi",
    )?;
    let responder = exactly_one(
        msg.idrs().filter(|i| i.role == IdRole::HASHED_RESPONDER),
        "IDRuidr",
    )?;

    // 1. Timestamp and replay.
    let seconds = ntp_time >> 32;
    if let TimeCheck::Window { now, max_skew } = time
        && seconds.abs_diff(now) > max_skew
    {
        return Err(ReceiveError::TimestampOutOfWindow {
            message: seconds,
            now,
        });
    }
    // 2. Key period of the message against the keys.
    if let Some((periods, keys)) = receiver.key_period {
        let message = periods
            .period_number(seconds)
            .map_err(|_| ReceiveError::WrongKeyPeriod { message: 0, keys })?;
        if message != keys {
            return Err(ReceiveError::WrongKeyPeriod { message, keys });
        }
    }
    // 3. Addressing: to us, or (SAKKE-to-self, E.5) from us, for another of our devices.
    let to_self = if responder.data == receiver.uid.as_slice() {
        None
    } else if initiator.data == receiver.uid.as_slice() {
        match msg.general_extensions().find_map(|g| g.sakke_to_self()) {
            Some(Ok(s)) => Some(s),
            Some(Err(_)) => {
                return Err(ReceiveError::BadSakkePayload(
                    "malformed SAKKE-to-self extension",
                ));
            }
            None => return Err(ReceiveError::NotForThisReceiver),
        }
    } else {
        return Err(ReceiveError::NotForThisReceiver);
    };
    if let Some(expected) = receiver.expected_initiator
        && initiator.data != expected.as_slice()
    {
        return Err(ReceiveError::UnexpectedInitiator);
    }
    // 4. Signature, before any SAKKE work.
    let sig = Signature::from_bytes(sign.signature).map_err(|_| ReceiveError::BadSignature)?;
    if sign.sig_type != SignatureType::ECCSI {
        return Err(ReceiveError::BadSignature);
    }
    let verifier = VerifyingKey::new(receiver.kpak, initiator.data);
    let mut compat_used = false;
    let covered = msg
        .signed_portion(SignCoverage::Rfc3830)
        .ok_or(ReceiveError::MissingPayload("SIGN"))?;
    if verifier.verify(&covered, &sig).is_err() {
        let alt = msg.signed_portion(SignCoverage::WithoutSignHeader);
        let ok =
            receiver.compat_signature && alt.is_some_and(|a| verifier.verify(&a, &sig).is_ok());
        if !ok {
            return Err(ReceiveError::BadSignature);
        }
        compat_used = true;
    }
    // Replay is recorded only for authenticated messages.
    if let Some(cache) = replay {
        let digest: [u8; 32] = Sha256::digest(octets).into();
        let oldest = match time {
            TimeCheck::Window { now, max_skew } => now.saturating_sub(max_skew),
            TimeCheck::Disabled => 0,
        };
        if !cache.insert(seconds, digest, oldest) {
            return Err(ReceiveError::Replay);
        }
    }
    // 5. SAKKE (the SAKKE-to-self copy when we are the initiator).
    let sakke_p = to_self.as_ref().unwrap_or(sakke_p);
    if sakke_p.params != SakkeParams::PARAMETER_SET_1 {
        return Err(ReceiveError::BadSakkePayload(
            "unsupported SAKKE parameter set",
        ));
    }
    let ed = encapsulated_data(sakke_p.data)?;
    let key = receiver
        .rsk
        .decapsulate(&ed)
        .or_else(|e| {
            if receiver.compat_minimal_w {
                receiver.rsk.decapsulate_minimal_w(&ed)
            } else {
                Err(e)
            }
        })
        .map_err(|_| ReceiveError::DecapsulationFailed)?;
    // 6. Key identifiers.
    let csb_id = KeyId(hdr.csb_id);
    let (cs_id, spi) = match &hdr.cs_id_map {
        CsIdMap::GenericId(entries) => entries
            .first()
            .map_or((None, None), |e| (Some(e.cs_id), Some(e.spi))),
        _ => (None, None),
    };
    let key_id = if csb_id.purpose() == Some(PurposeTag::Gmk) {
        let from_spi = spi
            .filter(|s| s.len() == 8)
            .map(|s| KeyId::from_bytes([s[0], s[1], s[2], s[3]]));
        let from_salt = match receiver.user_uri {
            Some(uri) => {
                let mut id = gmk_id_from_guk_id(key.as_bytes(), csb_id, uri)
                    .map_err(|_| ReceiveError::InconsistentKeyIds)?;
                // The GMK-ID is public by design (it names the key in the SPI and the MKI).
                crate::ct::declassify_in_place(&mut id);
                Some(id)
            }
            None => None,
        };
        match (from_spi, from_salt) {
            (Some(a), Some(b)) if a != b => return Err(ReceiveError::InconsistentKeyIds),
            (Some(a), _) | (None, Some(a)) => a,
            (None, None) => csb_id,
        }
    } else {
        csb_id
    };
    // 7. Key parameters.
    let kp = exactly_one_opt(
        msg.general_extensions()
            .filter_map(GeneralExtension::key_parameters),
    )?;
    let mut key_params_legacy = false;
    let key_params = match kp {
        Some(data)
            if receiver.compat_legacy_key_params
                && data.first() != Some(&key_params::PROTECTED_PAYLOAD_TYPE) =>
        {
            let mut params = KeyParameters::decode(data).map_err(ReceiveError::KeyParameters)?;
            params.key_type = params.key_type.wrapping_sub(1);
            key_params_legacy = true;
            Some(params)
        }
        Some(data) => {
            let (header, params) =
                key_params::open(key.as_bytes(), data).map_err(ReceiveError::KeyParameters)?;
            if header.dppk_id != csb_id {
                return Err(ReceiveError::InconsistentKeyIds);
            }
            Some(params)
        }
        None => None,
    };
    let srtp = match cs_id {
        Some(cs) => Some(
            srtp_master_keys(key.as_bytes(), cs, csb_id.0, rand.rand)
                .map_err(|_| ReceiveError::InconsistentKeyIds)?,
        ),
        None => None,
    };
    Ok(ReceivedKey {
        key,
        key_id,
        csb_id,
        purpose: key_id.purpose(),
        initiator_uid: initiator.data.to_vec(),
        ntp_time,
        rand: rand.rand.to_vec(),
        cs_id,
        srtp,
        key_params,
        signature_compat_used: compat_used,
        key_params_legacy,
    })
}

fn exactly_one_opt<T>(mut it: impl Iterator<Item = T>) -> Result<Option<T>, ReceiveError> {
    let first = it.next();
    if first.is_some() && it.next().is_some() {
        return Err(ReceiveError::DuplicatePayload("key parameters"));
    }
    Ok(first)
}

/// SAKKE data as Encapsulated Data, accepting the 272-octet form whose H lost a leading zero
/// octet (deployed senders write H in minimal length).
fn encapsulated_data(data: &[u8]) -> Result<EncapsulatedData, ReceiveError> {
    let padded: Zeroizing<Vec<u8>>;
    let bytes = if data.len() == ENCAPSULATED_DATA_LEN - 1 {
        let mut v = Vec::with_capacity(ENCAPSULATED_DATA_LEN);
        v.extend_from_slice(&data[..ENCAPSULATED_DATA_LEN - SSV_LEN]);
        v.push(0);
        v.extend_from_slice(&data[ENCAPSULATED_DATA_LEN - SSV_LEN..]);
        padded = Zeroizing::new(v);
        padded.as_slice()
    } else {
        data
    };
    EncapsulatedData::from_bytes(bytes).map_err(ReceiveError::BadEncapsulatedData)
}
