//! The receiving client (an MC service UE): loads the KMS certificate and its own key sets
//! (Annex D documents), validates every key set once on load (RSK: RFC 6508 s6.1.2; SSK/PVT:
//! RFC 6507 s5.1.2), and receives MIKEY-SAKKE I_MESSAGEs with the key set of the message's key
//! period. The message is parsed once: the client reads its key period from the parsed
//! message and the MCX profile ([`imessage::receive_parsed`]) checks the same parse.
//!
//! * [`state`]: what a client keeps between runs (a bounded replay cache and the last GMK of
//!   each group), in files of mode 0600 in a state directory;
//! * [`Client::send`] ([`send`]): a signed PCK or CSK I_MESSAGE to one peer, of this KMS domain
//!   or of another;
//! * [`Client::trust_kms`]: the KMS certificates of other domains whose users may send to this
//!   client (the message's IDRkmsi picks the KPAK that verifies its signature).

pub mod send;
pub mod state;

pub use send::{PeerKey, PeerKeyKind};

use crate::annex_d::{KeySetError, KmsCertificate, KmsKeySet};
use crate::eccsi::{Kpak, SigningKey};
use crate::mcx::imessage::{
    self, Compat, ReceiveError, ReceivedKey, Receiver, ReplayCache, TimeCheck,
};
use crate::mcx::uid::{KeyPeriods, Uid};
use crate::mikey::sakke_steps::StepError;
use crate::mikey::{self, IdRole, Payload, Timestamp};
use crate::sakke::{KmsPublicKey, PreparedReceiver};

/// Why a client could not load its keys or receive a message.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientError {
    /// The certificate or a key set was refused on load (or a peer's certificate on send).
    KeySet(KeySetError),
    /// No key set for the key period of the message.
    NoKeySetForPeriod(u64),
    /// The message was rejected.
    Receive(ReceiveError),
    /// The clock (NTP seconds) lies outside what the KMS certificate allows: before its
    /// ValidFrom, after its ValidTo, or past the NTP era of MIKEY timestamps (2036-02-07).
    ClockOutOfRange {
        /// The clock, NTP seconds.
        now: u64,
        /// Why it is out of range.
        why: &'static str,
    },
    /// A peer URI too long for a UID.
    BadPeerUri,
    /// Building the message failed.
    Build(imessage::BuildMessageError),
}

impl core::fmt::Display for ClientError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::KeySet(e) => write!(f, "{e}"),
            Self::NoKeySetForPeriod(p) => write!(
                f,
                "no key set for key period {p} (the period of the message)"
            ),
            Self::Receive(e) => write!(f, "message rejected: {e}"),
            Self::ClockOutOfRange { now, why } => {
                write!(f, "the time {} is {why}", crate::input::rfc3339(*now))
            }
            Self::BadPeerUri => f.write_str("the peer URI is too long for a UID"),
            Self::Build(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ClientError {}

struct PeriodKeys {
    period_no: u64,
    uid: Uid,
    user_uri: String,
    rsk: PreparedReceiver,
    signer: SigningKey,
}

/// A client with validated keys.
pub struct Client {
    kms: KmsPublicKey,
    kpak: Kpak,
    kms_uri: String,
    periods: KeyPeriods,
    /// ValidFrom and ValidTo of the certificate, NTP seconds, when given and readable.
    valid: (Option<u64>, Option<u64>),
    keys: Vec<PeriodKeys>,
    /// KPAKs of other KMS domains, by KMS URI.
    trusted: Vec<(String, Kpak)>,
}

// Every RSK is held as a `PreparedReceiver` and every SSK as a `SigningKey`, both zeroizing
// themselves on drop; the KMS keys, UIDs and URIs are public.
impl zeroize::ZeroizeOnDrop for Client {}

/// The last NTP second a MIKEY timestamp (64-bit NTP, era 0) can carry: 2036-02-07T06:28:15Z.
pub const LAST_NTP_SECOND: u64 = u32::MAX as u64;

/// A certificate time (`xs:dateTime`) as NTP seconds, if it reads as one.
fn cert_time(t: Option<&String>) -> Option<u64> {
    t.and_then(|v| crate::input::parse_time("ValidFrom", v).ok())
}

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
        let (kms, kpak, periods) = cert.load_keys(key_sets)?;
        let mut keys = Vec::with_capacity(key_sets.len());
        for ks in key_sets {
            let p = ks.key_period_no;
            let signer = cert.load_signer(&kpak, periods, ks)?;
            let uid = *ks.user_id();
            let rsk = ks.rsk().map_err(|_| KeySetError::InvalidRsk(p))?;
            let rsk =
                PreparedReceiver::new(&kms, &uid, &rsk).map_err(|_| KeySetError::InvalidRsk(p))?;
            keys.push(PeriodKeys {
                period_no: p,
                uid,
                user_uri: ks.user_uri.clone(),
                rsk,
                signer,
            });
        }
        Ok(Self {
            kms,
            kpak,
            kms_uri: cert.kms_uri.clone(),
            periods,
            valid: (
                cert_time(cert.valid_from.as_ref()),
                cert_time(cert.valid_to.as_ref()),
            ),
            keys,
            trusted: Vec::new(),
        })
    }

    /// Trusts the KMS of another domain: a message whose IDRkmsi (6) names `cert`'s KMS URI
    /// is verified with `cert`'s KPAK (its initiator's keys come from that KMS). A message
    /// naming no KMS, this client's KMS or an unknown one is verified with this client's KPAK.
    ///
    /// # Errors
    /// [`ClientError::KeySet`] ([`KeySetError::BadCertificate`]) if its KPAK does not decode.
    pub fn trust_kms(&mut self, cert: &KmsCertificate) -> Result<(), ClientError> {
        let kpak = cert
            .kpak()
            .map_err(|e| KeySetError::BadCertificate(e.to_string()))?;
        self.trusted.retain(|(u, _)| *u != cert.kms_uri);
        self.trusted.push((cert.kms_uri.clone(), kpak));
        Ok(())
    }

    /// The KMS URI of this client's certificate.
    pub fn kms_uri(&self) -> &str {
        &self.kms_uri
    }

    /// Checks a clock value (NTP seconds) against the certificate: not before its ValidFrom,
    /// not after its ValidTo (each when present and readable as `xs:dateTime`), and not past
    /// [`LAST_NTP_SECOND`].
    ///
    /// # Errors
    /// [`ClientError::ClockOutOfRange`].
    pub fn check_clock(&self, now: u64) -> Result<(), ClientError> {
        let why = if self.valid.0.is_some_and(|from| now < from) {
            "before the KMS certificate's ValidFrom"
        } else if self.valid.1.is_some_and(|to| now > to) {
            "after the KMS certificate's ValidTo"
        } else if now > LAST_NTP_SECOND {
            "past the last time a MIKEY timestamp can carry (2036-02-07T06:28:15Z)"
        } else {
            return Ok(());
        };
        Err(ClientError::ClockOutOfRange { now, why })
    }

    /// The key periods this client holds keys for.
    pub fn key_periods(&self) -> Vec<u64> {
        self.keys.iter().map(|k| k.period_no).collect()
    }

    /// Receives a message with the key set of its key period: parses it once, reads the
    /// period from its timestamp, and hands the parsed message to
    /// [`imessage::receive_parsed`] with that period's keys. The replay cache, if given, keys
    /// on the signed octets without the signature, so a copy with an altered signature
    /// (`(r, q - s)`) of a message it has seen is refused as [`StepError::Replay`] ([`ReceiveError::Step`]).
    ///
    /// # Errors
    /// [`ClientError::NoKeySetForPeriod`], or [`ClientError::Receive`] with the protocol error.
    pub fn receive(
        &self,
        message: &[u8],
        time: TimeCheck,
        replay: Option<&mut ReplayCache>,
    ) -> Result<ReceivedKey, ClientError> {
        self.receive_with(message, time, replay, Compat::default())
    }

    /// [`Self::receive`] with interoperability options for a deployed peer ([`Compat`], or a
    /// named set of them: [`Compat::profile`]).
    ///
    /// # Errors
    /// As [`Self::receive`].
    pub fn receive_with(
        &self,
        message: &[u8],
        time: TimeCheck,
        replay: Option<&mut ReplayCache>,
        compat: Compat,
    ) -> Result<ReceivedKey, ClientError> {
        let parsed =
            mikey::parse(message).map_err(|e| ClientError::Receive(ReceiveError::Malformed(e)))?;
        // The timestamp picks the key set; everything else is checked by the receiver.
        let seconds = parsed
            .payloads()
            .iter()
            .find_map(|p| match p {
                Payload::T(Timestamp::NtpUtc(v) | Timestamp::Ntp(v)) => Some(v >> 32),
                _ => None,
            })
            .ok_or(ClientError::Receive(ReceiveError::Step(
                StepError::MissingPayload("T"),
            )))?;
        let period = self
            .periods
            .period_number(seconds)
            .map_err(|_| ClientError::NoKeySetForPeriod(0))?;
        let keys = self
            .keys
            .iter()
            .find(|k| k.period_no == period)
            .ok_or(ClientError::NoKeySetForPeriod(period))?;
        // The initiator's KMS (IDRkmsi) picks the KPAK; the signature check decides.
        let kpak = parsed
            .idr(IdRole::INITIATOR_KMS)
            .and_then(|idr| {
                self.trusted
                    .iter()
                    .find(|(uri, _)| uri.as_bytes() == idr.data)
                    .map(|(_, k)| k)
            })
            .unwrap_or(&self.kpak);
        let receiver = Receiver {
            uid: &keys.uid,
            user_uri: Some(keys.user_uri.as_bytes()),
            kms_public_key: &self.kms,
            rsk: &keys.rsk,
            kpak,
            key_period: Some((self.periods, keys.period_no)),
            expected_initiator: None,
            compat_signature: compat.signature,
            compat_minimal_w: compat.minimal_w,
            compat_legacy_key_params: compat.legacy_key_params,
        };
        imessage::receive_parsed(&receiver, time, replay, &parsed).map_err(ClientError::Receive)
    }
}

impl From<KeySetError> for ClientError {
    fn from(e: KeySetError) -> Self {
        Self::KeySet(e)
    }
}
