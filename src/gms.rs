//! The group manager (GMS): GMK distribution to the members of a group (TS 33.180 E.2).
//!
//! For each member one signed MIKEY-SAKKE I_MESSAGE: CSB ID = the member's GUK-ID, SAKKE to
//! the member's UID for the key period of the message time, SRTP default policy (CS ID 4, MCPTT
//! group call), the key-parameters extension carrying the group ID, activation, expiry and
//! status, and SAKKE-to-self for the signer. The signer is the GMS's own identity (TS 33.180
//! E.2) or the group's identity keys issued to the group manager (TS 33.303 6.2.4.4): whatever
//! [`SigningKey`] is given.
//!
//! [`GroupManager::load`] reads the KMS certificate and the signer's key sets (Annex D
//! documents) and validates every key set once, as [`crate::ue::Client::load`] does for a
//! receiver; [`distribute`] picks the signer's key set of the message's key period. The
//! messages are built by the MCX profile's [`imessage::build_many`], which owns the batched
//! encapsulation and its rules and runs on all cores; the SAKKE-to-self payload, identical for
//! every member, is computed once, and the members' KMS key is prepared once ([`PreparedKms`]).

use rand_core::CryptoRng;

use crate::annex_d::{KeySetError, KmsCertificate, KmsKeySet};
use crate::eccsi::SigningKey;
use crate::mcx::imessage::{
    self, BatchKeyParams, BatchKind, BatchSpec, BuildManyError, BuildMessageError, Initiator,
    Members,
};
use crate::mcx::key_id::{KeyId, PurposeTag};
use crate::mcx::key_params::{GroupIdIe, KeyParameters, STATUS_NOT_REVOKED};
use crate::mcx::uid::KeyPeriods;
use crate::sakke::{KmsPublicKey, PreparedKms, Ssv};

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
    /// A given GMK and GMK-ID (e.g. from an operator).
    ///
    /// # Errors
    /// [`GmsError::NotAGmkId`] if the GMK-ID's purpose tag is not 0 (GMK, TS 33.180 F.1.3).
    pub fn new(gmk: Ssv, gmk_id: KeyId) -> Result<Self, GmsError> {
        if gmk_id.purpose() != Some(PurposeTag::Gmk) {
            return Err(GmsError::NotAGmkId(gmk_id));
        }
        Ok(Self { gmk, gmk_id })
    }

    /// Draws a fresh GMK and GMK-ID.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self {
            gmk: Ssv::random(rng),
            gmk_id: KeyId::random(PurposeTag::Gmk, rng),
        }
    }
}

/// The signer's validated key for one key period.
struct PeriodSigner {
    period_no: u64,
    signer: SigningKey,
}

/// The group manager: its signer's validated keys for one or more key periods and the KMS
/// data it needs. The signer is the GMS identity (TS 33.180 E.2) or the group identity whose
/// keys the KMS issued to the group manager (TS 33.303 6.2.4.4); signer and members belong to
/// one KMS.
pub struct GroupManager {
    signers: Vec<PeriodSigner>,
    kms: KmsPublicKey,
    kms_uri: String,
    members_kms: PreparedKms,
    periods: KeyPeriods,
}

// Every signer is a `SigningKey`, which zeroizes itself on drop; the KMS data is public.
impl zeroize::ZeroizeOnDrop for GroupManager {}

impl core::fmt::Debug for GroupManager {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("GroupManager")
            .field("kms_uri", &self.kms_uri)
            .field("periods", &self.key_periods())
            .finish_non_exhaustive()
    }
}

impl GroupManager {
    /// A group manager with one validated signer key, for the key period `signer_period` of
    /// `periods`, signer and members of the KMS `kms` with URI `kms_uri`. Prepares the KMS key
    /// for the fan-out (about four encapsulations' worth of work).
    pub fn new(
        signer: SigningKey,
        signer_period: u64,
        kms: &KmsPublicKey,
        kms_uri: &str,
        periods: KeyPeriods,
    ) -> Self {
        Self {
            signers: vec![PeriodSigner {
                period_no: signer_period,
                signer,
            }],
            kms: *kms,
            kms_uri: kms_uri.to_owned(),
            members_kms: PreparedKms::new(kms),
            periods,
        }
    }

    /// Loads the KMS certificate and the signer's key sets (Annex D documents) and validates
    /// every key set once: issued by the certificate's KMS, SSK/PVT valid for its UserID
    /// (RFC 6507 s5.1.2), UserID the UID of its user URI for its period (TS 33.180 F.2.1).
    ///
    /// # Errors
    /// The [`GmsError`] of the first key set that fails.
    pub fn load(cert: &KmsCertificate, key_sets: &[KmsKeySet]) -> Result<Self, GmsError> {
        let (kms, kpak, periods) = cert.load_keys(key_sets)?;
        let mut signers = Vec::with_capacity(key_sets.len());
        for ks in key_sets {
            let signer = cert.load_signer(&kpak, periods, ks)?;
            signers.push(PeriodSigner {
                period_no: ks.key_period_no,
                signer,
            });
        }
        Ok(Self {
            signers,
            kms,
            kms_uri: cert.kms_uri.clone(),
            members_kms: PreparedKms::new(&kms),
            periods,
        })
    }

    /// The key periods this group manager holds a signer key for.
    pub fn key_periods(&self) -> Vec<u64> {
        self.signers.iter().map(|s| s.period_no).collect()
    }

    /// The KMS's key periods.
    pub fn periods(&self) -> KeyPeriods {
        self.periods
    }

    /// The key period of a 64-bit NTP time (the period whose UIDs and signer a distribution
    /// at that time uses).
    ///
    /// # Errors
    /// [`GmsError::BadTime`] before the first key period.
    pub fn period_of(&self, ntp_time: u64) -> Result<u64, GmsError> {
        self.periods
            .period_number(ntp_time >> 32)
            .map_err(|_| GmsError::BadTime)
    }

    /// The signer key of key period `period`.
    ///
    /// # Errors
    /// [`GmsError::NoSignerForPeriod`].
    pub fn signer(&self, period: u64) -> Result<&SigningKey, GmsError> {
        self.signers
            .iter()
            .find(|s| s.period_no == period)
            .map(|s| &s.signer)
            .ok_or(GmsError::NoSignerForPeriod(period))
    }
}

/// What to distribute.
#[derive(Debug)]
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

impl<'a> Distribution<'a> {
    /// A distribution of the group `group_id` named `text` at the start of the NTP second
    /// `ntp_seconds` (the 64-bit time `ntp_seconds << 32`), with the activation and expiry
    /// fields zero.
    pub fn new(group_id: &'a str, text: &'a str, ntp_seconds: u64) -> Self {
        Self {
            group_id,
            text,
            ntp_time: ntp_seconds << 32,
            activation: [0; 5],
            expiry: [0; 5],
        }
    }
}

/// Why the group manager could not load its keys or make a member's message.
#[derive(Debug)]
#[non_exhaustive]
pub enum GmsError {
    /// The member URI is too long for a UID or a salt.
    BadMemberUri(String),
    /// The message time lies before the first key period.
    BadTime,
    /// Building the message failed.
    Build(BuildMessageError),
    /// The certificate or a key set was refused on load.
    KeySet(KeySetError),
    /// No signer key set for the key period of the message time.
    NoSignerForPeriod(u64),
    /// A GMK-ID whose purpose tag is not 0 (GMK).
    NotAGmkId(KeyId),
}

impl core::fmt::Display for GmsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::BadMemberUri(u) => write!(f, "member URI too long: {u}"),
            Self::BadTime => f.write_str("the message time lies before the first key period"),
            Self::Build(e) => write!(f, "{e}"),
            Self::KeySet(e) => write!(f, "{e}"),
            Self::NoSignerForPeriod(p) => write!(
                f,
                "no key set for key period {p} (the period of the message time)"
            ),
            Self::NotAGmkId(_) => f.write_str("the purpose tag (top 4 bits) must be 0 (GMK)"),
        }
    }
}

impl std::error::Error for GmsError {}

impl From<BuildManyError> for GmsError {
    fn from(e: BuildManyError) -> Self {
        match e {
            BuildManyError::BadMemberUri(u) => Self::BadMemberUri(u),
            BuildManyError::BadTime => Self::BadTime,
            BuildManyError::Build(b) => Self::Build(b),
        }
    }
}

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

/// Builds one I_MESSAGE per member with the signer of the message time's key period, on all
/// cores ([`imessage::build_many`]). `on_progress` is called after each member.
///
/// # Errors
/// The first [`GmsError`].
pub fn distribute(
    gm: &GroupManager,
    key: &GroupKey,
    dist: &Distribution<'_>,
    members: &[String],
    on_progress: &(dyn Fn() + Sync),
) -> Result<Vec<MemberMessage>, GmsError> {
    let period = gm.period_of(dist.ntp_time)?;
    let signer = gm.signer(period)?;
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
    let built = imessage::build_many(
        &Initiator {
            signer,
            kms_uri: gm.kms_uri.as_bytes(),
        },
        &Members {
            uris: members,
            kms_uri: gm.kms_uri.as_bytes(),
            kms: &gm.members_kms,
            periods: gm.periods,
        },
        &BatchSpec {
            key: &key.gmk,
            kind: BatchKind::Gmk { gmk_id: key.gmk_id },
            cs_id: Some(imessage::CS_ID_MCPTT_GROUP_CALL),
            ntp_time: dist.ntp_time,
            key_params: Some(BatchKeyParams {
                params: &params,
                date_time: [0; 5],
            }),
            sakke_to_self: Some(&gm.kms),
        },
        on_progress,
    )?;
    Ok(built
        .into_iter()
        .map(|m| MemberMessage {
            member: m.member,
            guk_id: m.csb_id,
            message: m.message,
        })
        .collect())
}

impl From<KeySetError> for GmsError {
    fn from(e: KeySetError) -> Self {
        Self::KeySet(e)
    }
}
