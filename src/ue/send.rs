//! Sending a key to one peer: a signed PCK (private call key, TS 33.180 7.4.1) or CSK
//! (client-server key, CSK upload) I_MESSAGE in the MCX profile.
//!
//! * The key is a fresh 16-octet SSV (E.1.1) and its ID a fresh key ID with the purpose tag
//!   of its kind (1 PCK, 2 CSK; F.1.3, E.6.11). The CSB ID is that key ID (7.4.1 for a PCK;
//!   TS 36.579-1 for a CSK).
//! * The SAKKE payload is encapsulated to the peer's UID for the key period of the message
//!   time under the peer's KMS (its certificate: KMS URI, key periods, Z), which may be this
//!   client's KMS or another domain's; IDRkmsr names the peer's KMS.
//! * The message is signed with this client's SSK of the message time's key period.
//! * One crypto session in a GENERIC-ID map with the default SRTP policy: CS ID 0 (initiator
//!   MCPTT private call) for a PCK, CS ID 6 (CSK SRTCP for MCPTT) for a CSK; SPI = the key
//!   ID. The CS ID values come from Streamwide's `MikeyCsIdMap.h`, consistent with TS 36.579-1
//!   ("6 for CSK within MCPTT"); Table E.1.3-1 itself was not read (spec notes 5.4).
//!   (Streamwide sends a PCK with an empty map and an SP payload, which contradicts RFC 4563
//!   s5; this crate does not copy that.)

use rand_core::CryptoRng;

use super::{Client, ClientError};
use crate::annex_d::{KeySetError, KmsCertificate};
use crate::mcx::imessage::{
    self, CS_ID_CSK_MCPTT, CS_ID_MCPTT_PRIVATE_INITIATOR, Initiator, KeyKind, MessageSpec,
    Responder,
};
use crate::mcx::key_id::{KeyId, PurposeTag};
use crate::mcx::uid::{Uid, uid};
use crate::sakke::Ssv;

/// Which key a client sends to one peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerKeyKind {
    /// A private call key (UE to UE), purpose tag 1.
    Pck,
    /// A client-server key (UE to an MC server, "CSK upload"), purpose tag 2.
    Csk,
}

impl PeerKeyKind {
    /// The purpose tag of its key ID.
    pub fn purpose(self) -> PurposeTag {
        match self {
            Self::Pck => PurposeTag::Pck,
            Self::Csk => PurposeTag::Csk,
        }
    }

    /// The CS ID of its crypto session.
    pub fn cs_id(self) -> u8 {
        match self {
            Self::Pck => CS_ID_MCPTT_PRIVATE_INITIATOR,
            Self::Csk => CS_ID_CSK_MCPTT,
        }
    }
}

/// A key sent to a peer and its message. The key is secret (an [`Ssv`]: zeroized on drop,
/// redacted `Debug`); the rest is public.
#[derive(Debug)]
pub struct PeerKey {
    /// The key (the SSV of the message).
    pub key: Ssv,
    /// Its ID (the CSB ID of the message).
    pub key_id: KeyId,
    /// The peer's UID the key is encapsulated to.
    pub peer_uid: Uid,
    /// The peer's key period of the message time.
    pub peer_key_period: u64,
    /// The signed I_MESSAGE.
    pub message: Vec<u8>,
}

// The key is an `Ssv`, zeroized on drop; the rest is public.
impl zeroize::ZeroizeOnDrop for PeerKey {}

impl Client {
    /// Builds a signed PCK or CSK I_MESSAGE to the peer `to` at the 64-bit NTP time
    /// `ntp_time`, with a fresh key and key ID. `peer_kms` is the peer's KMS certificate
    /// (another domain), or `None` for a peer of this client's KMS.
    ///
    /// # Errors
    /// [`ClientError::ClockOutOfRange`] for a time outside this client's certificate,
    /// [`ClientError::NoKeySetForPeriod`] without a key set for the time's period,
    /// [`ClientError::KeySet`] ([`KeySetError::BadCertificate`]) for a peer certificate whose Z does not decode,
    /// [`ClientError::BadPeerUri`], or [`ClientError::Build`].
    pub fn send<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        kind: PeerKeyKind,
        to: &str,
        peer_kms: Option<&KmsCertificate>,
        ntp_time: u64,
    ) -> Result<PeerKey, ClientError> {
        let seconds = ntp_time >> 32;
        self.check_clock(seconds)?;
        let period = self
            .periods
            .period_number(seconds)
            .map_err(|_| ClientError::NoKeySetForPeriod(0))?;
        let own = self
            .keys
            .iter()
            .find(|k| k.period_no == period)
            .ok_or(ClientError::NoKeySetForPeriod(period))?;
        let (peer_z, peer_kms_uri, peer_periods) = match peer_kms {
            Some(cert) => (
                cert.kms_public_key()
                    .map_err(|e| KeySetError::BadCertificate(e.to_string()))?,
                cert.kms_uri.as_str(),
                cert.key_periods(),
            ),
            None => (self.kms, self.kms_uri.as_str(), self.periods),
        };
        let peer_key_period = peer_periods
            .period_number(seconds)
            .map_err(|_| ClientError::NoKeySetForPeriod(0))?;
        let peer_uid = uid(
            to.as_bytes(),
            peer_kms_uri.as_bytes(),
            peer_periods,
            peer_key_period,
        )
        .map_err(|_| ClientError::BadPeerUri)?;
        let key = Ssv::random(rng);
        let key_id = KeyId::random(kind.purpose(), rng);
        let mut rand = [0u8; 16];
        rng.fill_bytes(&mut rand);
        let message = imessage::build(
            rng,
            &Initiator {
                signer: &own.signer,
                kms_uri: self.kms_uri.as_bytes(),
            },
            &Responder {
                uid: &peer_uid,
                kms_uri: peer_kms_uri.as_bytes(),
                kms_public_key: &peer_z,
                prepared_kms: None,
            },
            &MessageSpec {
                key: &key,
                kind: KeyKind::Other { key_id },
                cs_id: Some(kind.cs_id()),
                ntp_time,
                rand,
                key_params: None,
                sakke_to_self: None,
            },
        )
        .map_err(ClientError::Build)?;
        Ok(PeerKey {
            key,
            key_id,
            peer_uid,
            peer_key_period,
            message,
        })
    }
}
