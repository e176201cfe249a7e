//! The building steps (RFC 6509 s2.1): the payload order, the SAKKE payload's Encapsulated
//! Data and the ECCSI signature.

use rand_core::CryptoRng;

use crate::eccsi::{SIGNATURE_LEN, SigningKey};
use crate::mikey::{
    self, CsIdMap, DataType, GeneralExtension, Hdr, Idr, Payload, PrfFunc, Rand, Sakke,
    SecurityPolicy, Sign, SignatureType, Timestamp,
};
use crate::sakke::{self, EncapsulatedData, KmsPublicKey, PreparedKms, Ssv};

/// The payloads of an I_MESSAGE before signing, filled by a profile. [`sign`] puts them in
/// RFC 6509 s2.1 order: HDR (data type SAKKE), T (NTP-UTC), RAND, the IDRs, the SPs, SAKKE,
/// the General Extensions (where TS 33.180 puts them), SIGN.
#[derive(Clone, Debug)]
pub struct Draft<'a> {
    /// HDR's PRF function (TS 33.180: PRF-HMAC-SHA-256).
    pub prf_func: PrfFunc,
    /// HDR's CSB ID.
    pub csb_id: u32,
    /// HDR's CS ID map.
    pub cs_id_map: CsIdMap<'a>,
    /// The 64-bit NTP-UTC timestamp (seconds in the upper 32 bits).
    pub ntp_time: u64,
    /// The RAND.
    pub rand: &'a [u8],
    /// The IDR payloads, in order.
    pub idrs: Vec<Idr<'a>>,
    /// The SP payloads, in order.
    pub policies: Vec<SecurityPolicy<'a>>,
    /// The SAKKE payload.
    pub sakke: Sakke<'a>,
    /// The General Extension payloads, in order.
    pub extensions: Vec<GeneralExtension<'a>>,
}

/// Why [`sign`] failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildStepError {
    /// The codec refused a field.
    Codec(mikey::BuildError),
    /// ECCSI signing failed.
    Sign,
}

impl core::fmt::Display for BuildStepError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Codec(e) => write!(f, "building the MIKEY message: {e}"),
            Self::Sign => f.write_str("ECCSI signing failed"),
        }
    }
}

impl std::error::Error for BuildStepError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Codec(e) => Some(e),
            Self::Sign => None,
        }
    }
}

/// Encodes `draft` and signs it with `signer` (RFC 6509 s2.1, RFC 6507 s5.2.1): the signature
/// covers the message from the first HDR octet through the two SIGN header octets
/// (RFC 3830 s5.2). Returns the message octets.
///
/// # Errors
/// [`BuildStepError::Codec`] if a field does not fit, [`BuildStepError::Sign`] if signing
/// fails.
pub fn sign<R: CryptoRng + ?Sized>(
    rng: &mut R,
    signer: &SigningKey,
    draft: Draft<'_>,
) -> Result<Vec<u8>, BuildStepError> {
    let hdr = Hdr {
        data_type: DataType::SAKKE,
        v: false,
        prf_func: draft.prf_func,
        csb_id: draft.csb_id,
        cs_id_map: draft.cs_id_map,
    };
    let mut payloads =
        Vec::with_capacity(draft.idrs.len() + draft.policies.len() + draft.extensions.len() + 4);
    payloads.push(Payload::T(Timestamp::NtpUtc(draft.ntp_time)));
    payloads.push(Payload::Rand(Rand { rand: draft.rand }));
    payloads.extend(draft.idrs.into_iter().map(Payload::Idr));
    payloads.extend(draft.policies.into_iter().map(Payload::Sp));
    payloads.push(Payload::Sakke(draft.sakke));
    payloads.extend(draft.extensions.into_iter().map(Payload::GeneralExtension));
    let placeholder = [0u8; SIGNATURE_LEN];
    payloads.push(Payload::Sign(Sign {
        sig_type: SignatureType::ECCSI,
        signature: &placeholder,
    }));
    let msg = mikey::Message::new(hdr, payloads).map_err(BuildStepError::Codec)?;
    let mut out = msg.encode();
    let covered = out.len() - SIGNATURE_LEN;
    let sig = signer
        .try_sign_with_rng(rng, &out[..covered])
        .map_err(|_| BuildStepError::Sign)?;
    out[covered..].copy_from_slice(&sig.to_bytes());
    Ok(out)
}

/// The KMS public key to encapsulate under: plain, or prepared for many recipients.
#[derive(Clone, Copy, Debug)]
pub enum SakkeKms<'a> {
    /// The KMS public key Z.
    Plain(&'a KmsPublicKey),
    /// Z with its fixed-base tables (a sender of many messages to one KMS's users).
    Prepared(&'a PreparedKms),
}

/// The Encapsulated Data of `key` for the identifier `id` (RFC 6508 s6.2.1 with the SSV given:
/// the key distributed is the SSV, RFC 6509 s2.1).
///
/// # Security
/// `key` must be a fresh key from a cryptographic RNG, sent with this function to any number
/// of identifiers but never chosen otherwise (see [`sakke::hazmat`]).
pub fn encapsulate(key: &Ssv, kms: SakkeKms<'_>, id: &[u8]) -> EncapsulatedData {
    match kms {
        SakkeKms::Plain(z) => sakke::hazmat::encapsulate_with_ssv(key, z, id),
        SakkeKms::Prepared(p) => sakke::hazmat::encapsulate_with_ssv_kms(key, p, id),
    }
}
