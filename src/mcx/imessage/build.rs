//! Building MCX I_MESSAGEs: one ([`build`]) or one key to many members ([`build_many`]).

use rand_core::CryptoRng;

use super::{
    BuildMessageError, DEFAULT_SRTP_POLICY, ID_SCHEME_MCX_UID, Initiator, KeyKind, MessageSpec,
    Responder,
};
use crate::mcx::key_id::{KeyId, guk_id};
use crate::mcx::key_params::{self, KeyParameters, ProtectedHeader};
use crate::mcx::srtp;
use crate::mcx::uid::{KeyPeriods, Uid, uid};
use crate::mikey::sakke_steps::{self, BuildStepError, Draft, SakkeKms};
use crate::mikey::{
    CsIdMap, ExtType, GeneralExtension, GenericIdEntry, IdRole, IdType, Idr, PolicyParam, PrfFunc,
    ProtType, Sakke, SakkeParams, SecurityPolicy,
};
use crate::sakke::{EncapsulatedData, KmsPublicKey, PreparedKms, Ssv};

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
    let kms = match responder.prepared_kms {
        Some(p) => SakkeKms::Prepared(p),
        None => SakkeKms::Plain(responder.kms_public_key),
    };
    let ed = sakke_steps::encapsulate(spec.key, kms, responder.uid);
    build_with_encapsulation(rng, initiator, responder, spec, &ed)
}

/// [`build`] with the SAKKE payload already computed: `ed` must encapsulate `spec.key` to
/// `responder.uid` under `responder.kms_public_key`; otherwise the responder cannot recover
/// the key. (For many members, [`build_many`] does the batched encapsulation.)
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
    let parts = Parts {
        key: spec.key,
        kind: spec.kind,
        cs_id: spec.cs_id,
        ntp_time: spec.ntp_time,
        rand: &spec.rand,
        key_params: spec
            .key_params
            .as_ref()
            .map(|kp| (&kp.params, kp.date_time, kp.iv)),
        sakke_to_self: spec.sakke_to_self,
    };
    build_parts(rng, initiator, responder.uid, responder.kms_uri, &parts, ed)
}

/// A message's contents with borrowed key parameters (shared by the members of a batch).
struct Parts<'s> {
    key: &'s Ssv,
    kind: KeyKind,
    cs_id: Option<u8>,
    ntp_time: u64,
    rand: &'s [u8; 16],
    /// The parameters, the protected payload's date-time and IV.
    key_params: Option<(&'s KeyParameters, [u8; 5], [u8; 16])>,
    sakke_to_self: Option<&'s EncapsulatedData>,
}

fn build_parts<R: CryptoRng + ?Sized>(
    rng: &mut R,
    initiator: &Initiator<'_>,
    responder_uid: &Uid,
    responder_kms_uri: &[u8],
    parts: &Parts<'_>,
    ed: &EncapsulatedData,
) -> Result<Vec<u8>, BuildMessageError> {
    let ed = ed.to_bytes();
    let self_ed = parts.sakke_to_self.map(EncapsulatedData::to_bytes);
    let self_payload = match &self_ed {
        Some(d) => Some(
            Sakke {
                params: SakkeParams::PARAMETER_SET_1,
                id_scheme: ID_SCHEME_MCX_UID,
                data: d,
            }
            .encode_standalone()
            .map_err(BuildStepError::Codec)?,
        ),
        None => None,
    };
    let key_params_payload = match parts.key_params {
        Some((params, date_time, iv)) => {
            let header = ProtectedHeader {
                date_time,
                payload_id: 0,
                sequence: 0,
                iv,
                dppk_id: parts.kind.csb_id(),
                iei: 0,
            };
            Some(
                key_params::seal(parts.key.as_bytes(), &header, params)
                    .map_err(BuildMessageError::KeyParams)?,
            )
        }
        None => None,
    };
    let spi_gmk;
    let spi_other;
    let spi: &[u8] = match parts.kind {
        KeyKind::Gmk { gmk_id, guk_id } => {
            spi_gmk = srtp::mki_group(gmk_id, guk_id);
            &spi_gmk
        }
        KeyKind::Other { key_id } => {
            spi_other = key_id.to_bytes();
            &spi_other
        }
    };
    let policy_nos = [0u8];
    let cs_id_map = match parts.cs_id {
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
    let policy_values: Vec<[u8; 1]> = DEFAULT_SRTP_POLICY.iter().map(|&(_, v)| [v]).collect();
    let idr = |role, data| Idr {
        role,
        id_type: IdType::URI,
        data,
    };
    let mut policies = Vec::new();
    if parts.cs_id.is_some() {
        policies.push(SecurityPolicy {
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
        });
    }
    let mut extensions = Vec::new();
    if let Some(p) = &self_payload {
        extensions.push(GeneralExtension {
            ext_type: ExtType::SAKKE_TO_SELF,
            data: p,
        });
    }
    if let Some(p) = &key_params_payload {
        extensions.push(GeneralExtension {
            ext_type: ExtType::KEY_PARAMETERS,
            data: p,
        });
    }
    let draft = Draft {
        prf_func: PrfFunc::PRF_HMAC_SHA_256,
        csb_id: parts.kind.csb_id().0,
        cs_id_map,
        ntp_time: parts.ntp_time,
        rand: parts.rand,
        idrs: vec![
            idr(IdRole::HASHED_INITIATOR, initiator.signer.id()),
            idr(IdRole::HASHED_RESPONDER, responder_uid),
            idr(IdRole::INITIATOR_KMS, initiator.kms_uri),
            idr(IdRole::RESPONDER_KMS, responder_kms_uri),
        ],
        policies,
        sakke: Sakke {
            params: SakkeParams::PARAMETER_SET_1,
            id_scheme: ID_SCHEME_MCX_UID,
            data: &ed,
        },
        extensions,
    };
    Ok(sakke_steps::sign(rng, initiator.signer, draft)?)
}

/// The members a batch goes to: their MC service IDs and their KMS.
#[derive(Debug)]
pub struct Members<'a> {
    /// The members' URIs (MC service IDs).
    pub uris: &'a [String],
    /// The members' KMS URI (IDRkmsr and part of their UIDs).
    pub kms_uri: &'a [u8],
    /// The members' KMS public key, prepared.
    pub kms: &'a PreparedKms,
    /// The members' KMS key periods.
    pub periods: KeyPeriods,
}

/// The key of a batch and how each member's identifiers follow from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchKind {
    /// A GMK: each member's message has CSB ID = the member's GUK-ID (F.1.3) and SPI =
    /// GMK-ID || GUK-ID (E.2).
    Gmk {
        /// The GMK-ID (purpose tag 0).
        gmk_id: KeyId,
    },
    /// Any other key sent to many (a MuSiK, ...): the same key ID for every member.
    Other {
        /// The key ID.
        key_id: KeyId,
    },
}

/// Key parameters for every message of a batch (each message gets a fresh IV).
#[derive(Debug)]
pub struct BatchKeyParams<'a> {
    /// The parameters.
    pub params: &'a KeyParameters,
    /// The protected payload's date-time field.
    pub date_time: [u8; 5],
}

/// What a batch sends: one key, one time, the same policy and parameters for every member.
#[derive(Debug)]
pub struct BatchSpec<'a> {
    /// The key (a fresh GMK, ...): the SSV of every message.
    pub key: &'a Ssv,
    /// Its identifiers.
    pub kind: BatchKind,
    /// The CS ID of the single crypto session, or `None` for an empty map (and no SP).
    pub cs_id: Option<u8>,
    /// The 64-bit NTP-UTC timestamp of the messages; it also picks the members' key period.
    pub ntp_time: u64,
    /// Key parameters to include (GenExt 7), if any.
    pub key_params: Option<BatchKeyParams<'a>>,
    /// SAKKE-to-self (GenExt 6, E.5): the initiator's KMS public key, under which the key is
    /// encapsulated once to the initiator's own UID for all messages; `None` for none.
    pub sakke_to_self: Option<&'a KmsPublicKey>,
}

/// One member's message of a batch.
#[derive(Debug)]
pub struct BuiltMessage {
    /// The member's URI.
    pub member: String,
    /// The message's CSB ID (the member's GUK-ID for a GMK).
    pub csb_id: KeyId,
    /// The I_MESSAGE octets.
    pub message: Vec<u8>,
}

/// Why a batch could not be built.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildManyError {
    /// The member URI is too long for a UID or a salt.
    BadMemberUri(String),
    /// The message time lies before the members' first key period.
    BadTime,
    /// Building a message failed.
    Build(BuildMessageError),
}

impl core::fmt::Display for BuildManyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::BadMemberUri(u) => write!(f, "member URI too long: {u}"),
            Self::BadTime => f.write_str("the message time lies before the first key period"),
            Self::Build(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for BuildManyError {}

/// Builds one signed I_MESSAGE per member of `members` distributing `spec.key`, on all cores
/// (TS 33.180 E.2 for a GMK): each member's UID for the key period of `spec.ntp_time`
/// (F.2.1), its GUK-ID for a GMK (F.1.3), a fresh RAND and key-parameters IV per message, the
/// SAKKE-to-self payload computed once, and the SAKKE payloads encapsulated in batches
/// ([`sakke_steps::fan_out`], which owns the batch-size rules). `on_progress` is called after
/// each message. The messages come in the order of `members.uris`, each with the same octets
/// [`build`] would give for the same random values.
///
/// # Errors
/// The first [`BuildManyError`].
pub fn build_many(
    initiator: &Initiator<'_>,
    members: &Members<'_>,
    spec: &BatchSpec<'_>,
    on_progress: &(dyn Fn() + Sync),
) -> Result<Vec<BuiltMessage>, BuildManyError> {
    let periods = members.periods;
    let period = periods
        .period_number(spec.ntp_time >> 32)
        .map_err(|_| BuildManyError::BadTime)?;
    let to_self = spec
        .sakke_to_self
        .map(|z| sakke_steps::encapsulate(spec.key, SakkeKms::Plain(z), initiator.signer.id()));
    sakke_steps::fan_out(
        spec.key,
        members.kms,
        members.uris,
        |member: &String| {
            uid(member.as_bytes(), members.kms_uri, periods, period)
                .map_err(|_| BuildManyError::BadMemberUri(member.clone()))
        },
        |rng, member, member_uid, ed| {
            let kind = match spec.kind {
                BatchKind::Gmk { gmk_id } => KeyKind::Gmk {
                    gmk_id,
                    guk_id: guk_id(spec.key.as_bytes(), gmk_id, member.as_bytes())
                        .map_err(|_| BuildManyError::BadMemberUri(member.clone()))?,
                },
                BatchKind::Other { key_id } => KeyKind::Other { key_id },
            };
            let mut rand = [0u8; 16];
            rand_core::Rng::fill_bytes(rng, &mut rand);
            let key_params = spec.key_params.as_ref().map(|kp| {
                let mut iv = [0u8; 16];
                rand_core::Rng::fill_bytes(rng, &mut iv);
                (kp.params, kp.date_time, iv)
            });
            let parts = Parts {
                key: spec.key,
                kind,
                cs_id: spec.cs_id,
                ntp_time: spec.ntp_time,
                rand: &rand,
                key_params,
                sakke_to_self: to_self.as_ref(),
            };
            let message = build_parts(rng, initiator, member_uid, members.kms_uri, &parts, ed)
                .map_err(BuildManyError::Build)?;
            on_progress();
            Ok(BuiltMessage {
                member: member.clone(),
                csb_id: kind.csb_id(),
                message,
            })
        },
    )
}
