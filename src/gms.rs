//! The group manager (GMS): GMK distribution to the members of a group (TS 33.180 E.2).
//!
//! For each member one signed MIKEY-SAKKE I_MESSAGE: CSB ID = the member's GUK-ID, SAKKE to
//! the member's UID for the key period of the message time, SRTP default policy (CS ID 4, MCPTT
//! group call), the key-parameters extension carrying the group ID, activation, expiry and
//! status, and SAKKE-to-self for the signer. The signer is the GMS's own identity (TS 33.180
//! E.2) or the group's identity keys issued to the group manager (TS 33.303 6.2.4.4): whatever
//! [`SigningKey`] is given.
//!
//! The fan-out runs on all cores; the SAKKE-to-self payload, identical for every member, is
//! computed once, and the members' KMS key is prepared once ([`PreparedKms`]).

use rand_core::CryptoRng;
use rayon::prelude::*;

use crate::eccsi::SigningKey;
use crate::mcx::imessage::{
    self, BuildMessageError, Initiator, KeyKind, KeyParamsSpec, MessageSpec, Responder,
};
use crate::mcx::key_id::{KeyId, PurposeTag, guk_id};
use crate::mcx::key_params::{GroupIdIe, KeyParameters, STATUS_NOT_REVOKED};
use crate::mcx::uid::{KeyPeriods, uid};
use crate::sakke::{KmsPublicKey, PreparedKms, Ssv, hazmat};

/// IEI used for the group ID IE inside the key parameters (TS 24.282 15.2.14). The numeric
/// value was not verified against the specification text; receivers of this crate do not
/// depend on it.
pub const GROUP_ID_IEI: u8 = 0x01;

/// A GMK and its GMK-ID. The GMK is secret: not `Copy`, redacted `Debug`, zeroized on drop (it
/// is an [`Ssv`]).
#[derive(Debug)]
pub struct GroupKey {
    /// The 16-octet GMK.
    pub gmk: Ssv,
    /// Its identifier (purpose tag 0).
    pub gmk_id: KeyId,
}

// The GMK is an `Ssv`, which zeroizes itself on drop; the GMK-ID is public.
impl zeroize::ZeroizeOnDrop for GroupKey {}

impl GroupKey {
    /// Draws a fresh GMK and GMK-ID.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self {
            gmk: Ssv::random(rng),
            gmk_id: KeyId::random(PurposeTag::Gmk, rng),
        }
    }
}

/// The group manager's keys and the KMS data it needs.
pub struct GroupManager<'a> {
    /// The signer: the GMS identity's or the group identity's validated ECCSI key for the key
    /// period (its identifier is that UID).
    pub signer: &'a SigningKey,
    /// The KMS public key Z of the signer's KMS (for SAKKE-to-self).
    pub signer_kms: &'a KmsPublicKey,
    /// The signer's KMS URI (IDRkmsi).
    pub signer_kms_uri: &'a str,
    /// The members' KMS, prepared.
    pub members_kms: &'a PreparedKms,
    /// The members' KMS URI (IDRkmsr and part of their UIDs).
    pub members_kms_uri: &'a str,
    /// The members' KMS key periods.
    pub periods: KeyPeriods,
}

/// What to distribute.
pub struct Distribution<'a> {
    /// The group ID (a URI), carried in the key parameters.
    pub group_id: &'a str,
    /// A human-readable key name (may be empty).
    pub text: &'a str,
    /// The 64-bit NTP-UTC time of the messages.
    pub ntp_time: u64,
    /// Activation time field (5 octets as carried).
    pub activation: [u8; 5],
    /// Expiry time field (5 octets as carried).
    pub expiry: [u8; 5],
}

/// Why a member's message could not be made.
#[derive(Debug)]
#[non_exhaustive]
pub enum GmsError {
    /// The member URI is too long for a UID or a salt.
    BadMemberUri(String),
    /// The message time lies before the first key period.
    BadTime,
    /// Building the message failed.
    Build(BuildMessageError),
}

impl core::fmt::Display for GmsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::BadMemberUri(u) => write!(f, "member URI too long: {u}"),
            Self::BadTime => f.write_str("the message time lies before the first key period"),
            Self::Build(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for GmsError {}

/// One member's message.
#[derive(Debug)]
pub struct MemberMessage {
    /// The member URI.
    pub member: String,
    /// The member's GUK-ID (the message's CSB ID).
    pub guk_id: KeyId,
    /// The I_MESSAGE octets.
    pub message: Vec<u8>,
}

/// Builds one I_MESSAGE per member, on all cores. `on_progress` is called after each member.
///
/// # Errors
/// The first [`GmsError`].
pub fn distribute(
    gm: &GroupManager<'_>,
    key: &GroupKey,
    dist: &Distribution<'_>,
    members: &[String],
    on_progress: &(dyn Fn() + Sync),
) -> Result<Vec<MemberMessage>, GmsError> {
    let period = gm
        .periods
        .period_number(dist.ntp_time >> 32)
        .map_err(|_| GmsError::BadTime)?;
    let to_self = hazmat::encapsulate_with_ssv(&key.gmk, gm.signer_kms, gm.signer.id());
    let params = KeyParameters {
        key_type: PurposeTag::Gmk.value(),
        status: STATUS_NOT_REVOKED,
        activation_time: dist.activation,
        expiry_time: dist.expiry,
        text: dist.text.as_bytes().to_vec(),
        group_ids: Some(vec![GroupIdIe {
            iei: GROUP_ID_IEI,
            value: dist.group_id.as_bytes().to_vec(),
        }]),
    };
    if members.len() >= WIDE_TABLES_FROM {
        gm.members_kms.prepare_batches();
    }
    // Members go in batches: one pass over the KMS tables per batch (see
    // `sakke::hazmat::encapsulate_many_with_ssv_kms`), batches spread over the cores.
    let batches: Vec<Vec<MemberMessage>> = members
        .par_chunks(fanout_batch(members.len()))
        .map(|batch| {
            let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
            let uids = batch
                .iter()
                .map(|member| {
                    uid(
                        member.as_bytes(),
                        gm.members_kms_uri.as_bytes(),
                        gm.periods,
                        period,
                    )
                    .map_err(|_| GmsError::BadMemberUri(member.clone()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let ids: Vec<&[u8]> = uids.iter().map(|u| u.as_slice()).collect();
            let eds = hazmat::encapsulate_many_with_ssv_kms(&key.gmk, gm.members_kms, &ids);
            batch
                .iter()
                .zip(&uids)
                .zip(&eds)
                .map(|((member, member_uid), ed)| {
                    let guk = guk_id(key.gmk.as_bytes(), key.gmk_id, member.as_bytes())
                        .map_err(|_| GmsError::BadMemberUri(member.clone()))?;
                    let mut rand = [0u8; 16];
                    let mut iv = [0u8; 16];
                    rand_core::Rng::fill_bytes(&mut rng, &mut rand);
                    rand_core::Rng::fill_bytes(&mut rng, &mut iv);
                    let spec = MessageSpec {
                        key: &key.gmk,
                        kind: KeyKind::Gmk {
                            gmk_id: key.gmk_id,
                            guk_id: guk,
                        },
                        cs_id: Some(imessage::CS_ID_MCPTT_GROUP_CALL),
                        ntp_time: dist.ntp_time,
                        rand,
                        key_params: Some(KeyParamsSpec {
                            params: params.clone(),
                            date_time: [0; 5],
                            iv,
                        }),
                        sakke_to_self: Some(&to_self),
                    };
                    let message = imessage::build_with_encapsulation(
                        &mut rng,
                        &Initiator {
                            signer: gm.signer,
                            kms_uri: gm.signer_kms_uri.as_bytes(),
                        },
                        &Responder {
                            uid: member_uid,
                            kms_uri: gm.members_kms_uri.as_bytes(),
                            kms_public_key: gm.members_kms.public_key(),
                            prepared_kms: Some(gm.members_kms),
                        },
                        &spec,
                        ed,
                    )
                    .map_err(GmsError::Build)?;
                    on_progress();
                    Ok(MemberMessage {
                        member: member.clone(),
                        guk_id: guk,
                        message,
                    })
                })
                .collect()
        })
        .collect::<Result<_, _>>()?;
    Ok(batches.into_iter().flatten().collect())
}

/// Members per batch of the fan-out: about four batches per core, so that the cores stay
/// busy to the end, but at least 8 (one pass over the KMS tables serves the whole batch) and
/// at most 128. Large groups get batches of 32 or more, which encapsulate with affine
/// additions and one shared inversion per window (`FixedBaseTable::mul_many_affine`).
fn fanout_batch(members: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    members.div_ceil(4 * threads).clamp(8, 128)
}

/// Group size from which the fan-out builds the wide tables (their cost, about 60
/// encapsulations, is then repaid by the quarter fewer additions per member).
const WIDE_TABLES_FROM: usize = 128;
