//! The receiving client (an MC service UE): loads the KMS certificate and its own key sets
//! (Annex D documents), validates every key set once on load (RSK: RFC 6508 s6.1.2; SSK/PVT:
//! RFC 6507 s5.1.2), and receives MIKEY-SAKKE I_MESSAGEs with the key set of the message's key
//! period.

use crate::annex_d::{KmsCertificate, KmsKeySet};
use crate::eccsi::{Kpak, SigningKey};
use crate::mcx::imessage::{self, ReceiveError, ReceivedKey, Receiver, ReplayCache, TimeCheck};
use crate::mcx::uid::{KeyPeriods, Uid};
use crate::mikey::{self, Payload, Timestamp};
use crate::sakke::{KmsPublicKey, PreparedReceiver};

/// Why a client could not load its keys or receive a message.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientError {
    /// The certificate's keys do not decode.
    BadCertificate(String),
    /// A key set was issued by another KMS.
    WrongKms {
        /// The key set's KMS URI.
        key_set: String,
        /// The certificate's KMS URI.
        certificate: String,
    },
    /// A key set's UserID is not the UID of its user URI for its period.
    WrongUserId(u64),
    /// A key set does not validate against the certificate (RSK or SSK/PVT).
    InvalidKeySet(u64),
    /// No key set was given.
    NoKeySets,
    /// No key set for the key period of the message.
    NoKeySetForPeriod(u64),
    /// The message was rejected.
    Receive(ReceiveError),
}

impl core::fmt::Display for ClientError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::BadCertificate(e) => write!(f, "KMS certificate: {e}"),
            Self::WrongKms {
                key_set,
                certificate,
            } => {
                write!(
                    f,
                    "key set from KMS {key_set}, certificate of KMS {certificate}"
                )
            }
            Self::WrongUserId(p) => write!(
                f,
                "key set for period {p}: UserID does not match the user URI"
            ),
            Self::InvalidKeySet(p) => write!(
                f,
                "key set for period {p} does not validate against the KMS certificate"
            ),
            Self::NoKeySets => f.write_str("no key sets"),
            Self::NoKeySetForPeriod(p) => write!(
                f,
                "no key set for key period {p} (the period of the message)"
            ),
            Self::Receive(e) => write!(f, "message rejected: {e}"),
        }
    }
}

impl std::error::Error for ClientError {}

struct PeriodKeys {
    period_no: u64,
    uid: Uid,
    user_uri: String,
    rsk: PreparedReceiver,
}

/// A client with validated keys.
pub struct Client {
    kms: KmsPublicKey,
    kpak: Kpak,
    periods: KeyPeriods,
    keys: Vec<PeriodKeys>,
}

// Every RSK is held as a `PreparedReceiver`, which zeroizes its tables on drop; the KMS keys,
// UIDs and URIs are public. (The SSKs are validated on load and not kept.)
impl zeroize::ZeroizeOnDrop for Client {}

impl core::fmt::Debug for Client {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Client")
            .field(
                "periods",
                &self.keys.iter().map(|k| k.period_no).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Loads and validates the key sets.
    ///
    /// # Errors
    /// The [`ClientError`] of the first key set that fails.
    pub fn load(cert: &KmsCertificate, key_sets: &[KmsKeySet]) -> Result<Self, ClientError> {
        let kms = cert
            .kms_public_key()
            .map_err(|e| ClientError::BadCertificate(e.to_string()))?;
        let kpak = cert
            .kpak()
            .map_err(|e| ClientError::BadCertificate(e.to_string()))?;
        let periods = cert.key_periods();
        if key_sets.is_empty() {
            return Err(ClientError::NoKeySets);
        }
        let mut keys = Vec::with_capacity(key_sets.len());
        for ks in key_sets {
            let p = ks.key_period_no;
            if ks.kms_uri != cert.kms_uri {
                return Err(ClientError::WrongKms {
                    key_set: ks.kms_uri.clone(),
                    certificate: cert.kms_uri.clone(),
                });
            }
            if ks.derived_user_id(periods).ok().as_ref() != Some(ks.user_id()) {
                return Err(ClientError::WrongUserId(p));
            }
            let uid = *ks.user_id();
            let rsk = ks.rsk().map_err(|_| ClientError::InvalidKeySet(p))?;
            let rsk = PreparedReceiver::new(&kms, &uid, &rsk)
                .map_err(|_| ClientError::InvalidKeySet(p))?;
            let ssk = ks.ssk().map_err(|_| ClientError::InvalidKeySet(p))?;
            let pvt = ks.pvt().map_err(|_| ClientError::InvalidKeySet(p))?;
            SigningKey::new(&kpak, &uid, ssk, &pvt).map_err(|_| ClientError::InvalidKeySet(p))?;
            keys.push(PeriodKeys {
                period_no: p,
                uid,
                user_uri: ks.user_uri.clone(),
                rsk,
            });
        }
        Ok(Self {
            kms,
            kpak,
            periods,
            keys,
        })
    }

    /// The key periods this client holds keys for.
    pub fn key_periods(&self) -> Vec<u64> {
        self.keys.iter().map(|k| k.period_no).collect()
    }

    /// Receives a message with the key set of its key period.
    ///
    /// # Errors
    /// [`ClientError::NoKeySetForPeriod`], or [`ClientError::Receive`] with the protocol error.
    pub fn receive(
        &self,
        message: &[u8],
        time: TimeCheck,
        replay: Option<&mut ReplayCache>,
    ) -> Result<ReceivedKey, ClientError> {
        // The timestamp picks the key set; everything else is checked by the receiver.
        let parsed =
            mikey::parse(message).map_err(|e| ClientError::Receive(ReceiveError::Malformed(e)))?;
        let seconds = parsed
            .payloads()
            .iter()
            .find_map(|p| match p {
                Payload::T(Timestamp::NtpUtc(v) | Timestamp::Ntp(v)) => Some(v >> 32),
                _ => None,
            })
            .ok_or(ClientError::Receive(ReceiveError::MissingPayload("T")))?;
        let period = self
            .periods
            .period_number(seconds)
            .map_err(|_| ClientError::NoKeySetForPeriod(0))?;
        let keys = self
            .keys
            .iter()
            .find(|k| k.period_no == period)
            .ok_or(ClientError::NoKeySetForPeriod(period))?;
        let receiver = Receiver {
            uid: &keys.uid,
            user_uri: Some(keys.user_uri.as_bytes()),
            kms_public_key: &self.kms,
            rsk: &keys.rsk,
            kpak: &self.kpak,
            key_period: Some((self.periods, keys.period_no)),
            expected_initiator: None,
            compat_signature: false,
            compat_minimal_w: false,
            compat_legacy_key_params: false,
        };
        imessage::receive(&receiver, time, replay, message).map_err(ClientError::Receive)
    }
}
