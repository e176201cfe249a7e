//! Loading a KMS certificate and key sets into validated keys: the checks the group manager
//! ([`crate::gms::GroupManager::load`]) and the client ([`crate::ue::Client::load`]) share,
//! and their one error type, [`KeySetError`].

use crate::eccsi::{Kpak, SigningKey};
use crate::mcx::uid::KeyPeriods;
use crate::sakke::KmsPublicKey;

use super::{KmsCertificate, KmsKeySet};

/// Why a KMS certificate and its key sets could not be loaded as validated keys.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeySetError {
    /// The certificate's keys (KMS public key Z or KPAK) do not decode.
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
    /// A key set's SSK/PVT do not validate against the certificate's KPAK and the key set's
    /// UserID (RFC 6507 s5.1.2).
    InvalidSigningKey(u64),
    /// A key set's RSK does not validate against the certificate's KMS public key and the key
    /// set's UserID (RFC 6508 s6.1.2).
    InvalidRsk(u64),
    /// No key set was given.
    NoKeySets,
}

impl core::fmt::Display for KeySetError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::BadCertificate(e) => write!(f, "KMS certificate: {e}"),
            Self::WrongKms {
                key_set,
                certificate,
            } => write!(
                f,
                "key set from KMS {key_set}, certificate of KMS {certificate}"
            ),
            Self::WrongUserId(p) => write!(
                f,
                "key set for period {p}: UserID does not match the user URI"
            ),
            Self::InvalidSigningKey(p) => write!(
                f,
                "key set for period {p}: the signer's SSK/PVT do not validate against the \
                 certificate"
            ),
            Self::InvalidRsk(p) => write!(
                f,
                "key set for period {p} does not validate against the KMS certificate"
            ),
            Self::NoKeySets => f.write_str("no key sets"),
        }
    }
}

impl std::error::Error for KeySetError {}

impl KmsCertificate {
    /// The certificate's decoded Z, KPAK and key periods, in this order: Z, KPAK, then at
    /// least one key set.
    ///
    /// # Errors
    /// [`KeySetError::BadCertificate`] or [`KeySetError::NoKeySets`].
    pub(crate) fn load_keys(
        &self,
        key_sets: &[KmsKeySet],
    ) -> Result<(KmsPublicKey, Kpak, KeyPeriods), KeySetError> {
        let kms = self
            .kms_public_key()
            .map_err(|e| KeySetError::BadCertificate(e.to_string()))?;
        let kpak = self
            .kpak()
            .map_err(|e| KeySetError::BadCertificate(e.to_string()))?;
        if key_sets.is_empty() {
            return Err(KeySetError::NoKeySets);
        }
        Ok((kms, kpak, self.key_periods()))
    }

    /// Validates one key set's signing keys, in this order: issued by this certificate's KMS,
    /// SSK/PVT valid for its UserID under `kpak` (RFC 6507 s5.1.2), UserID the UID of its user
    /// URI for its period of `periods` (TS 33.180 F.2.1).
    ///
    /// # Errors
    /// [`KeySetError::WrongKms`], [`KeySetError::InvalidSigningKey`] or
    /// [`KeySetError::WrongUserId`].
    pub(crate) fn load_signer(
        &self,
        kpak: &Kpak,
        periods: KeyPeriods,
        key_set: &KmsKeySet,
    ) -> Result<SigningKey, KeySetError> {
        let p = key_set.key_period_no;
        if key_set.kms_uri != self.kms_uri {
            return Err(KeySetError::WrongKms {
                key_set: key_set.kms_uri.clone(),
                certificate: self.kms_uri.clone(),
            });
        }
        let ssk = key_set
            .ssk()
            .map_err(|_| KeySetError::InvalidSigningKey(p))?;
        let pvt = key_set
            .pvt()
            .map_err(|_| KeySetError::InvalidSigningKey(p))?;
        let signer = SigningKey::new(kpak, key_set.user_id(), ssk, &pvt)
            .map_err(|_| KeySetError::InvalidSigningKey(p))?;
        if key_set.derived_user_id(periods).ok().as_ref() != Some(key_set.user_id()) {
            return Err(KeySetError::WrongUserId(p));
        }
        Ok(signer)
    }
}
