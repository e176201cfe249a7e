//! Receiving MCX I_MESSAGEs (RFC 6509 s2.2.2 with the TS 33.180 profile): this profile's part
//! of [`sakke_steps::receive`].

use super::{ReplayCache, TimeCheck};
use crate::eccsi::Kpak;
use crate::mcx::key_id::{KeyId, PurposeTag, gmk_id_from_guk_id};
use crate::mcx::key_params::{self, KeyParameters};
use crate::mcx::srtp::{SrtpMasterKeys, srtp_master_keys};
use crate::mcx::uid::{KeyPeriods, Uid};
use crate::mikey::sakke_steps::{
    self, IMessage, IdrRoles, Profile, ReceiverKeys, StepError, Verified,
};
use crate::mikey::{self, CsIdMap, GeneralExtension, IdRole, Message, Sakke};
use crate::sakke::{KmsPublicKey, PreparedReceiver, Ssv};

/// The IDR roles of this profile: the initiator's UID in IDRuidi (8), the responder's in
/// IDRuidr (9) (TS 33.180 E.1).
pub const ROLES: IdrRoles = IdrRoles {
    initiator: IdRole::HASHED_INITIATOR,
    initiator_name: "IDRuidi",
    responder: IdRole::HASHED_RESPONDER,
    responder_name: "IDRuidr",
};

/// The receiver's keys and policy.
#[derive(Debug)]
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

/// Why a message was rejected: a generic MIKEY-SAKKE step ([`ReceiveError::Step`]) or one of
/// this profile's checks. Cryptographic failures say which check failed at the protocol level;
/// the primitives below stay opaque.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReceiveError {
    /// The octets are not a MIKEY message.
    Malformed(mikey::ParseError),
    /// A generic step refused the message: its shape, timestamp, replay (also of another
    /// encoding of its signature, such as `(r, q - s)`: the replay cache keys on the signed
    /// octets without it), signature or SAKKE payload.
    Step(StepError),
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
    /// The key identifiers are inconsistent (SPI vs CSB ID, or key parameters' DPPK-ID).
    InconsistentKeyIds,
    /// The key parameters could not be decrypted or decoded.
    KeyParameters(key_params::KeyParamsError),
}

impl core::fmt::Display for ReceiveError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Malformed(e) => write!(f, "malformed message: {e}"),
            Self::Step(e) => write!(f, "{e}"),
            Self::WrongKeyPeriod { message, keys } => {
                write!(
                    f,
                    "message is for key period {message}, keys are for period {keys}"
                )
            }
            Self::NotForThisReceiver => f.write_str("message is addressed to another receiver"),
            Self::UnexpectedInitiator => f.write_str("message is from an unexpected initiator"),
            Self::InconsistentKeyIds => f.write_str("inconsistent key identifiers"),
            Self::KeyParameters(e) => write!(f, "key parameters: {e}"),
        }
    }
}

impl std::error::Error for ReceiveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Malformed(e) => Some(e),
            Self::Step(e) => e.source(),
            Self::KeyParameters(e) => Some(e),
            _ => None,
        }
    }
}

impl From<StepError> for ReceiveError {
    fn from(e: StepError) -> Self {
        Self::Step(e)
    }
}

/// Receives one I_MESSAGE (RFC 6509 s2.2.2 with the TS 33.180 profile): parses it, then
/// [`receive_parsed`].
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
    receive_parsed(receiver, time, replay, &msg)
}

/// Receives an already parsed I_MESSAGE (a caller that read the message to choose the keys,
/// as [`crate::ue::Client::receive`] does, parses it once).
///
/// # Errors
/// The [`ReceiveError`] of the first failed check (see the module docs for the order).
pub fn receive_parsed(
    receiver: &Receiver<'_>,
    time: TimeCheck,
    replay: Option<&mut ReplayCache>,
    message: &Message<'_>,
) -> Result<ReceivedKey, ReceiveError> {
    sakke_steps::receive(receiver, time, replay, message)
}

impl Profile for Receiver<'_> {
    const ROLES: IdrRoles = ROLES;
    type Output = ReceivedKey;
    type Error = ReceiveError;

    fn keys(&self) -> ReceiverKeys<'_> {
        ReceiverKeys {
            kpak: self.kpak,
            rsk: self.rsk,
            compat_signature: self.compat_signature,
            compat_minimal_w: self.compat_minimal_w,
        }
    }

    fn check_before_signature<'a>(
        &self,
        msg: &IMessage<'_, 'a>,
    ) -> Result<Sakke<'a>, ReceiveError> {
        // Key period of the message against the keys.
        if let Some((periods, keys)) = self.key_period {
            let message = periods
                .period_number(msg.seconds())
                .map_err(|_| ReceiveError::WrongKeyPeriod { message: 0, keys })?;
            if message != keys {
                return Err(ReceiveError::WrongKeyPeriod { message, keys });
            }
        }
        // Addressing: to us, or (SAKKE-to-self, E.5) from us, for another of our devices.
        let initiator = msg.initiator().data;
        let payload = if msg.responder().data == self.uid.as_slice() {
            *msg.sakke()
        } else if initiator == self.uid.as_slice() {
            match msg
                .message()
                .general_extensions()
                .find_map(GeneralExtension::sakke_to_self)
            {
                Some(Ok(s)) => s,
                Some(Err(_)) => {
                    return Err(
                        StepError::BadSakkePayload("malformed SAKKE-to-self extension").into(),
                    );
                }
                None => return Err(ReceiveError::NotForThisReceiver),
            }
        } else {
            return Err(ReceiveError::NotForThisReceiver);
        };
        if let Some(expected) = self.expected_initiator
            && initiator != expected.as_slice()
        {
            return Err(ReceiveError::UnexpectedInitiator);
        }
        Ok(payload)
    }

    fn finish(&self, verified: &Verified<'_, '_>, key: Ssv) -> Result<ReceivedKey, ReceiveError> {
        let msg = verified.message();
        let hdr = msg.message().hdr();
        // Key identifiers.
        let csb_id = KeyId(hdr.csb_id);
        let (cs_id, spi) = match &hdr.cs_id_map {
            CsIdMap::GenericId(entries) => entries
                .first()
                .map_or((None, None), |e| (Some(e.cs_id), Some(e.spi))),
            _ => (None, None),
        };
        let key_id = if csb_id.purpose() == Some(PurposeTag::Gmk) {
            let from_spi = spi
                .and_then(|s| <[u8; 8]>::try_from(s).ok())
                .map(|s| KeyId::from_bytes([s[0], s[1], s[2], s[3]]));
            let from_salt = match self.user_uri {
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
        // Key parameters.
        let kp = sakke_steps::at_most_one(
            msg.message()
                .general_extensions()
                .filter_map(GeneralExtension::key_parameters),
            "key parameters",
        )?;
        let mut key_params_legacy = false;
        let key_params = match kp {
            Some(data)
                if self.compat_legacy_key_params
                    && data.first() != Some(&key_params::PROTECTED_PAYLOAD_TYPE) =>
            {
                let mut params =
                    KeyParameters::decode(data).map_err(ReceiveError::KeyParameters)?;
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
                srtp_master_keys(key.as_bytes(), cs, csb_id.0, msg.rand())
                    .map_err(|_| ReceiveError::InconsistentKeyIds)?,
            ),
            None => None,
        };
        Ok(ReceivedKey {
            key,
            key_id,
            csb_id,
            purpose: key_id.purpose(),
            initiator_uid: msg.initiator().data.to_vec(),
            ntp_time: msg.ntp_time(),
            rand: msg.rand().to_vec(),
            cs_id,
            srtp,
            key_params,
            signature_compat_used: verified.coverage() == mikey::SignCoverage::WithoutSignHeader,
            key_params_legacy,
        })
    }
}
