//! The receiving steps (RFC 6509 s2.2.2) and the [`Profile`] seam that orders them.

use sha2::{Digest, Sha256};
use signature::Verifier;
use zeroize::Zeroizing;

use super::{ReplayCache, ReplayKey, StepError, TimeCheck};
use crate::eccsi::{Kpak, Signature, VerifyingKey};
use crate::mikey::{
    DataType, IdRole, Idr, Message, Payload, Rand, Sakke, SakkeParams, Sign, SignCoverage,
    SignatureType, Timestamp,
};
use crate::params::{ENCAPSULATED_DATA_LEN, SSV_LEN};
use crate::sakke::{EncapsulatedData, PreparedReceiver, Ssv};

/// The item of `it` that must appear exactly once (RFC 6509 s2.1: T, RAND, SAKKE, SIGN).
///
/// # Errors
/// [`StepError::MissingPayload`] without one, [`StepError::DuplicatePayload`] with several.
pub fn exactly_one<T>(mut it: impl Iterator<Item = T>, name: &'static str) -> Result<T, StepError> {
    let first = it.next().ok_or(StepError::MissingPayload(name))?;
    if it.next().is_some() {
        return Err(StepError::DuplicatePayload(name));
    }
    Ok(first)
}

/// The item of `it` that may appear at most once (an optional payload or extension).
///
/// # Errors
/// [`StepError::DuplicatePayload`] with several.
pub fn at_most_one<T>(
    mut it: impl Iterator<Item = T>,
    name: &'static str,
) -> Result<Option<T>, StepError> {
    let first = it.next();
    if first.is_some() && it.next().is_some() {
        return Err(StepError::DuplicatePayload(name));
    }
    Ok(first)
}

/// The IDR roles a profile uses for the initiator (the ECCSI signer) and the responder (the
/// SAKKE identity), with the names its errors use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdrRoles {
    /// The initiator's role (TS 33.180: 8, IDRuidi; RFC 6509: 1, IDRi).
    pub initiator: IdRole,
    /// Its name in [`StepError::MissingPayload`] and [`StepError::DuplicatePayload`].
    pub initiator_name: &'static str,
    /// The responder's role (TS 33.180: 9, IDRuidr; RFC 6509: 2, IDRr).
    pub responder: IdRole,
    /// Its name in the errors.
    pub responder_name: &'static str,
}

/// A parsed message with the shape every MIKEY-SAKKE I_MESSAGE has (step 1), its mandatory
/// payloads at hand. Nothing in it is authenticated yet: see [`verify_signature`].
#[derive(Clone, Copy, Debug)]
pub struct IMessage<'m, 'a> {
    message: &'m Message<'a>,
    ntp_time: u64,
    rand: Rand<'a>,
    sakke: Sakke<'a>,
    sign: Sign<'a>,
    initiator: Idr<'a>,
    responder: Idr<'a>,
}

impl<'m, 'a> IMessage<'m, 'a> {
    /// Checks the shape of an I_MESSAGE (RFC 6509 s2.1), in this order: HDR data type SAKKE;
    /// exactly one T, of type NTP-UTC or NTP; exactly one RAND, SAKKE and SIGN; exactly one
    /// IDR of each of `roles`.
    ///
    /// # Errors
    /// The [`StepError`] of the first failed check.
    pub fn new(message: &'m Message<'a>, roles: IdrRoles) -> Result<Self, StepError> {
        let hdr = message.hdr();
        if hdr.data_type != DataType::SAKKE {
            return Err(StepError::NotSakkeMessage(hdr.data_type.0));
        }
        let payloads = message.payloads();
        let ts = exactly_one(payloads.iter().filter(|p| matches!(p, Payload::T(_))), "T")?;
        let ntp_time = match ts {
            Payload::T(Timestamp::NtpUtc(v) | Timestamp::Ntp(v)) => *v,
            _ => return Err(StepError::BadTimestampType),
        };
        let rand = exactly_one(
            payloads.iter().filter_map(|p| match p {
                Payload::Rand(r) => Some(*r),
                _ => None,
            }),
            "RAND",
        )?;
        let sakke = exactly_one(
            payloads.iter().filter_map(|p| match p {
                Payload::Sakke(s) => Some(*s),
                _ => None,
            }),
            "SAKKE",
        )?;
        // The codec keeps SIGN last, so there is at most one.
        let sign = *message.sign().ok_or(StepError::MissingPayload("SIGN"))?;
        let initiator = *exactly_one(
            message.idrs().filter(|i| i.role == roles.initiator),
            roles.initiator_name,
        )?;
        let responder = *exactly_one(
            message.idrs().filter(|i| i.role == roles.responder),
            roles.responder_name,
        )?;
        Ok(Self {
            message,
            ntp_time,
            rand,
            sakke,
            sign,
            initiator,
            responder,
        })
    }

    /// The whole parsed message.
    pub fn message(&self) -> &'m Message<'a> {
        self.message
    }

    /// The 64-bit NTP timestamp of the T payload.
    pub fn ntp_time(&self) -> u64 {
        self.ntp_time
    }

    /// The timestamp's seconds (its upper 32 bits).
    pub fn seconds(&self) -> u64 {
        self.ntp_time >> 32
    }

    /// The RAND payload's value.
    pub fn rand(&self) -> &'a [u8] {
        self.rand.rand
    }

    /// The SAKKE payload.
    pub fn sakke(&self) -> &Sakke<'a> {
        &self.sakke
    }

    /// The SIGN payload.
    pub fn sign(&self) -> &Sign<'a> {
        &self.sign
    }

    /// The initiator's IDR payload: its data is the ECCSI signer's identifier.
    pub fn initiator(&self) -> &Idr<'a> {
        &self.initiator
    }

    /// The responder's IDR payload: its data is the SAKKE identifier of the receiver.
    pub fn responder(&self) -> &Idr<'a> {
        &self.responder
    }
}

/// A message whose ECCSI signature verified (step 4). Only [`verify_signature`] makes one.
#[derive(Clone, Copy, Debug)]
pub struct Verified<'m, 'a> {
    message: IMessage<'m, 'a>,
    coverage: SignCoverage,
    replay_key: ReplayKey,
}

impl<'m, 'a> Verified<'m, 'a> {
    /// The authenticated message.
    pub fn message(&self) -> &IMessage<'m, 'a> {
        &self.message
    }

    /// The coverage the signature verified over ([`SignCoverage::WithoutSignHeader`] only in
    /// compatibility mode).
    pub fn coverage(&self) -> SignCoverage {
        self.coverage
    }

    /// What the replay cache records for this message: SHA-256 of the signed octets without
    /// the signature, which no one can change without the signer's key.
    pub fn replay_key(&self) -> &ReplayKey {
        &self.replay_key
    }
}

/// Verifies the ECCSI signature of `message` (RFC 6507 s5.2.2) with `kpak` and the
/// initiator's identifier, over the RFC 3830 s5.2 coverage; if that fails and
/// `allow_without_sign_header` is set, over the octets before the SIGN payload (as some
/// deployed peers sign). Accepts a high `s` (see the module docs on malleability).
///
/// # Errors
/// [`StepError::BadSignature`] for a signature that does not decode, is not ECCSI, or does not
/// verify.
pub fn verify_signature<'m, 'a>(
    message: IMessage<'m, 'a>,
    kpak: &Kpak,
    allow_without_sign_header: bool,
) -> Result<Verified<'m, 'a>, StepError> {
    let sign = message.sign();
    let sig = Signature::from_bytes(sign.signature).map_err(|_| StepError::BadSignature)?;
    if sign.sig_type != SignatureType::ECCSI {
        return Err(StepError::BadSignature);
    }
    let verifier = VerifyingKey::new(kpak, message.initiator().data);
    let covered = message
        .message()
        .signed_portion(SignCoverage::Rfc3830)
        .ok_or(StepError::MissingPayload("SIGN"))?;
    let mut coverage = SignCoverage::Rfc3830;
    if verifier.verify(&covered, &sig).is_err() {
        let alt = message
            .message()
            .signed_portion(SignCoverage::WithoutSignHeader);
        let ok =
            allow_without_sign_header && alt.is_some_and(|a| verifier.verify(&a, &sig).is_ok());
        if !ok {
            return Err(StepError::BadSignature);
        }
        coverage = SignCoverage::WithoutSignHeader;
    }
    // HDR through the SIGN header: everything but the signature, whatever the coverage (the
    // two SIGN header octets are fixed by the checks above: ECCSI, 129 octets).
    let replay_key = ReplayKey::from_bytes(Sha256::digest(&covered).into());
    Ok(Verified {
        message,
        coverage,
        replay_key,
    })
}

/// Opens a SAKKE payload of an authenticated message (RFC 6508 s6.2.2) with the receiver's
/// prepared RSK: parameter set 1 only; the Encapsulated Data in its 273-octet form or the
/// 272-octet form whose H lost a leading zero octet (deployed senders write H in minimal
/// length); with `compat_minimal_w`, a failed decapsulation is retried with the mask of the
/// minimal-length w (spec notes s6; the TEST == R check still decides). `payload` is the
/// message's SAKKE payload or one its profile carries in a signed extension (SAKKE-to-self);
/// `verified` is the proof that the signature was checked first.
///
/// # Errors
/// [`StepError::BadSakkePayload`], [`StepError::BadEncapsulatedData`] or the opaque
/// [`StepError::DecapsulationFailed`].
pub fn decapsulate(
    verified: &Verified<'_, '_>,
    payload: &Sakke<'_>,
    rsk: &PreparedReceiver,
    compat_minimal_w: bool,
) -> Result<Ssv, StepError> {
    let _ = verified;
    if payload.params != SakkeParams::PARAMETER_SET_1 {
        return Err(StepError::BadSakkePayload(
            "unsupported SAKKE parameter set",
        ));
    }
    let ed = encapsulated_data(payload.data)?;
    rsk.decapsulate(&ed)
        .or_else(|e| {
            if compat_minimal_w {
                rsk.decapsulate_minimal_w(&ed)
            } else {
                Err(e)
            }
        })
        .map_err(|_| StepError::DecapsulationFailed)
}

/// SAKKE data as Encapsulated Data, accepting the 272-octet form whose H lost a leading zero
/// octet.
fn encapsulated_data(data: &[u8]) -> Result<EncapsulatedData, StepError> {
    let padded: Zeroizing<Vec<u8>>;
    let bytes = match data.split_at_checked(ENCAPSULATED_DATA_LEN - SSV_LEN) {
        Some((r, h)) if data.len() == ENCAPSULATED_DATA_LEN - 1 => {
            let mut v = Vec::with_capacity(ENCAPSULATED_DATA_LEN);
            v.extend_from_slice(r);
            v.push(0);
            v.extend_from_slice(h);
            padded = Zeroizing::new(v);
            padded.as_slice()
        }
        _ => data,
    };
    EncapsulatedData::from_bytes(bytes).map_err(StepError::BadEncapsulatedData)
}

/// The receiver's keys and options the generic steps use.
#[derive(Clone, Copy, Debug)]
pub struct ReceiverKeys<'k> {
    /// The KMS public authentication key (KPAK) that signed the initiator's keys.
    pub kpak: &'k Kpak,
    /// The receiver's RSK, validated and prepared.
    pub rsk: &'k PreparedReceiver,
    /// Also accept signatures that exclude the two SIGN header octets.
    pub compat_signature: bool,
    /// Retry decapsulation with the mask of the minimal-length w.
    pub compat_minimal_w: bool,
}

/// A message profile's part of receiving an I_MESSAGE: what [`receive`] asks between its
/// generic steps. Implemented by the profile's receiver type (its keys and policy), e.g.
/// [`crate::mcx::imessage::Receiver`].
pub trait Profile {
    /// The IDR roles of the initiator and the responder in this profile.
    const ROLES: IdrRoles;
    /// What a received message delivers.
    type Output;
    /// The profile's error, which carries the generic steps' errors.
    type Error: From<StepError>;

    /// The keys and options for the generic steps.
    fn keys(&self) -> ReceiverKeys<'_>;

    /// Step 3, on the unauthenticated message after the timestamp check: key period,
    /// addressing, expected initiator. Returns the SAKKE payload to open for this receiver
    /// (the message's own, or one carried in a signed extension).
    ///
    /// # Errors
    /// The profile's refusal.
    fn check_before_signature<'a>(
        &self,
        message: &IMessage<'_, 'a>,
    ) -> Result<Sakke<'a>, Self::Error>;

    /// Step 7: the profile's work on the authenticated message and its key.
    ///
    /// # Errors
    /// The profile's refusal (inconsistent identifiers, bad extensions, ...).
    fn finish(&self, message: &Verified<'_, '_>, key: Ssv) -> Result<Self::Output, Self::Error>;
}

/// Receives a parsed I_MESSAGE with a profile: the steps of the module docs, in that order.
///
/// # Errors
/// The first failed step's error, generic ([`StepError`], converted) or the profile's.
pub fn receive<P: Profile + ?Sized>(
    profile: &P,
    time: TimeCheck,
    replay: Option<&mut ReplayCache>,
    message: &Message<'_>,
) -> Result<P::Output, P::Error> {
    let shaped = IMessage::new(message, P::ROLES)?;
    time.check(shaped.seconds())?;
    let payload = profile.check_before_signature(&shaped)?;
    let keys = profile.keys();
    let verified = verify_signature(shaped, keys.kpak, keys.compat_signature)?;
    if let Some(cache) = replay {
        cache.check_and_record(&verified, time)?;
    }
    let key = decapsulate(&verified, &payload, keys.rsk, keys.compat_minimal_w)?;
    profile.finish(&verified, key)
}
