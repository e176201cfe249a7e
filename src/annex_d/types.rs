//! The response documents as typed values (`KmsResponse` and what it carries) and their API.

use crate::eccsi::{self, Kpak, Pvt, Ssk};
use crate::error::PointError;
use crate::mcx::kdf::KdfError;
use crate::mcx::uid::{self, KeyPeriods, Uid};
use crate::params::POINT_LEN;
use crate::sakke::{KmsPublicKey, ReceiverSecretKey};

use super::octets::SecretOctets;
use super::{AnnexDError, CERTIFICATE_VERSION, USER_ID_FORMAT_HASHED, read, write};

/// A KMS response (TS 33.180 D.2.3, schema type `KmsResponseType`): the answer to a KMS
/// Initialize, KeyProvision or CertCache request.
///
/// `Version` is always written as [`RESPONSE_VERSION`](super::RESPONSE_VERSION); any value is accepted when reading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KmsResponse {
    /// The `Id` attribute (optional; Streamwide's KMS sends `"xmldoc"`).
    pub id: Option<String>,
    /// `UserUri`: the user the response is for.
    pub user_uri: String,
    /// `KmsUri`: the KMS that answers.
    pub kms_uri: String,
    /// `Time`: when the response was made, an `xs:dateTime` kept as text (e.g.
    /// `2014-02-23T08:39:14Z`; deployed KMSs omit the time zone).
    pub time: String,
    /// `KmsId` (optional).
    pub kms_id: Option<String>,
    /// `ClientReqUrl`: the URL the client requested.
    pub client_req_url: String,
    /// `KmsMessage` (optional): the certificate, key sets or certificate cache.
    pub message: Option<KmsMessage>,
    /// `KmsError` (optional): the KMS reports an error.
    pub error: Option<KmsError>,
}

/// The payload of a [`KmsResponse`] (schema type `KMSMessage`, a choice).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KmsMessage {
    /// `KmsInit` with its `KmsCertificate`: the answer to KMS Initialize (D.3.2). (Boxed: a
    /// certificate holds its keys inline, over 500 octets.)
    Init(Box<KmsCertificate>),
    /// `KmsKeyProv`: the answer to KMS KeyProvision (D.3.3).
    KeyProv(KmsKeyProv),
    /// `KmsCertCache`: the answer to KMS CertCache (D.3.4).
    CertCache(KmsCertCache),
    /// A `KmsMessage` with none of the above (empty, or only content of another namespace,
    /// which the schema allows as an extension). Written as an empty `KmsMessage`.
    Other,
}

/// `KmsKeyProv` (schema type `KmsKeyProvType`): zero or more key sets.
///
/// `Version` is always written as [`KEY_PROV_VERSION`](super::KEY_PROV_VERSION); any value is accepted when reading.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KmsKeyProv {
    /// The `KmsKeySet` elements, in document order.
    pub key_sets: Vec<KmsKeySet>,
}

/// `KmsCertCache` (schema type `KmsCertCacheType`): the certificates of the KMSs a client may
/// meet.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KmsCertCache {
    /// The `CacheNum` attribute: the number of this version of the cache (optional).
    pub cache_num: Option<u64>,
    /// The `KmsCertificate` elements, in document order.
    pub certificates: Vec<KmsCertificate>,
}

/// The `Role` attribute of a KMS certificate (schema type `RoleType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// `Root`: the certificate of the user's own (home) KMS.
    Root,
    /// `External`: the certificate of another KMS.
    External,
}

impl Role {
    /// The attribute value, `"Root"` or `"External"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Root => "Root",
            Self::External => "External",
        }
    }
}

/// A KMS certificate (TS 33.180 D.3.2.2, schema type `KmsCertificateType`): the KMS's public
/// keys and key-period parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KmsCertificate {
    /// The `Version` attribute (optional; [`CERTIFICATE_VERSION`] from [`Self::new`]).
    pub version: Option<String>,
    /// The `Role` attribute (optional; [`Role::Root`] from [`Self::new`]).
    pub role: Option<Role>,
    /// The `IsSecurityGateway` attribute (optional, Rel-17).
    pub is_security_gateway: Option<bool>,
    /// `CertUri` (optional).
    pub cert_uri: Option<String>,
    /// `KmsUri`: the KMS this certificate is for (P2 of the UID, F.2.1).
    pub kms_uri: String,
    /// `Issuer` (optional).
    pub issuer: Option<String>,
    /// `ValidFrom` (optional `xs:dateTime`, kept as text).
    pub valid_from: Option<String>,
    /// `ValidTo` (optional `xs:dateTime`, kept as text).
    pub valid_to: Option<String>,
    /// `Revoked` (optional).
    pub revoked: Option<bool>,
    /// `UserIdFormat` (see [`USER_ID_FORMAT_HASHED`]).
    pub user_id_format: String,
    /// `UserKeyPeriod`: the key period length in seconds (never zero when read).
    pub user_key_period: u64,
    /// `UserKeyOffset`: the key period offset in seconds.
    pub user_key_offset: u64,
    /// `PubEncKey`: the SAKKE KMS public key Z (RFC 6508 s2.2), 257 octets `0x04 || x || y`.
    pub pub_enc_key: [u8; POINT_LEN],
    /// `PubAuthKey`: the ECCSI KMS public authentication key KPAK (RFC 6507 s4.2), 65 octets.
    pub pub_auth_key: [u8; eccsi::POINT_LEN],
    /// `ParameterSet` (optional; the SAKKE parameter set, 1 for RFC 6509 Appendix A).
    pub parameter_set: Option<u64>,
    /// The `KmsDomain` entries of `KmsDomainList` (Rel-17; empty when the list is absent).
    pub kms_domains: Vec<String>,
}

/// One user's keys for one key period (TS 33.180 D.3.3, schema type `KmsKeySetType`).
///
/// `Version` is always written as [`KEY_SET_VERSION`](super::KEY_SET_VERSION); any value is accepted when reading.
///
/// # Security
/// Holds the user's RSK and SSK: they live in buffers that are zeroized on drop, `Debug`
/// prints only their lengths, and `==` compares them in constant time. The only ways to get
/// them out are [`Self::rsk`], [`Self::ssk`] and the raw accessors
/// [`Self::user_decrypt_key`] and [`Self::user_signing_key_ssk`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KmsKeySet {
    /// `KmsUri`: the KMS that issued the keys.
    pub kms_uri: String,
    /// `CertUri` (optional): the certificate the keys belong to.
    pub cert_uri: Option<String>,
    /// `Issuer` (optional).
    pub issuer: Option<String>,
    /// `UserUri`: the user (or group) URI, P1 of the UID.
    pub user_uri: String,
    /// `UserID`: the UID of TS 33.180 F.2.1, the SAKKE and ECCSI identifier of the keys.
    pub user_id: Uid,
    /// `ValidFrom` (optional `xs:dateTime`, kept as text).
    pub valid_from: Option<String>,
    /// `ValidTo` (optional `xs:dateTime`, kept as text).
    pub valid_to: Option<String>,
    /// `KeyPeriodNo`: the key period the keys are for (P5 of the UID).
    pub key_period_no: u64,
    /// `Revoked` (optional).
    pub revoked: Option<bool>,
    /// `UserDecryptKey`: the SAKKE RSK, 257 octets.
    pub(super) user_decrypt_key: SecretOctets,
    /// `UserSigningKeySSK`: the ECCSI SSK, 32 octets (up to [`MAX_SSK_LEN`] when read).
    pub(super) user_signing_key_ssk: SecretOctets,
    /// `UserPubTokenPVT`: the ECCSI PVT, 65 octets.
    pub user_pub_token_pvt: [u8; eccsi::POINT_LEN],
}

// The RSK and the SSK live in `SecretOctets` (a `Zeroizing` buffer), wiped on drop; the other
// fields are public.
impl zeroize::ZeroizeOnDrop for KmsKeySet {}

/// `KmsError` (schema type `ErrorType`): an error reported by the KMS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KmsError {
    /// `ErrorCode`.
    pub code: i64,
    /// `ErrorMsg`.
    pub message: String,
}

// ----------------------------------------------------------------------------------------------
// API

impl KmsResponse {
    /// A response with the four mandatory elements and `message`, no `Id`, `KmsId` or error.
    pub fn new(
        user_uri: impl Into<String>,
        kms_uri: impl Into<String>,
        time: impl Into<String>,
        client_req_url: impl Into<String>,
        message: Option<KmsMessage>,
    ) -> Self {
        Self {
            id: None,
            user_uri: user_uri.into(),
            kms_uri: kms_uri.into(),
            time: time.into(),
            kms_id: None,
            client_req_url: client_req_url.into(),
            message,
            error: None,
        }
    }

    /// Reads a document (see the [module docs](super) for what is accepted).
    ///
    /// # Errors
    /// An [`AnnexDError`] naming the path, position and reason of the first problem: a
    /// document over the size, depth or element limits, a DOCTYPE, malformed or truncated XML,
    /// the wrong root, a missing, repeated or misplaced element, an encrypted key or signed
    /// certificate, a value that does not decode or has the wrong length.
    ///
    /// # Panics
    /// Never.
    pub fn from_xml(xml: &str) -> Result<Self, AnnexDError> {
        read::read_response(xml)
    }

    /// Writes the document as UTF-8 XML: an XML declaration, the 3GPP namespace as the default
    /// namespace on the root, the schema's element order, two-space indentation, key values
    /// and UserIDs in upper-case hexBinary.
    ///
    /// # Security
    /// The text of a key-provision response contains the users' RSKs and SSKs: wrap it in
    /// [`zeroize::Zeroizing`] or otherwise wipe it after sending. Intermediate copies made
    /// while writing are zeroized; the output buffer is sized up front so that it is not
    /// reallocated (and copied) in the common case.
    ///
    /// # Panics
    /// Never.
    pub fn to_xml(&self) -> String {
        write::to_string(self)
    }

    /// Writes the document (as [`Self::to_xml`]) to `out`.
    ///
    /// # Errors
    /// The first error `out` returns.
    pub fn write_to<W: std::io::Write>(&self, out: W) -> std::io::Result<()> {
        write::write_response(self, out)
    }

    /// The KMS certificate, if this is a KMS Initialize response.
    pub fn certificate(&self) -> Option<&KmsCertificate> {
        match &self.message {
            Some(KmsMessage::Init(cert)) => Some(cert),
            _ => None,
        }
    }

    /// The key sets, if this is a KeyProvision response (empty otherwise).
    pub fn key_sets(&self) -> &[KmsKeySet] {
        match &self.message {
            Some(KmsMessage::KeyProv(kp)) => &kp.key_sets,
            _ => &[],
        }
    }
}

impl KmsCertificate {
    /// A root certificate of the KMS `kms_uri` with its SAKKE public key `Z`, its ECCSI KPAK
    /// and its key periods; `Version` [`CERTIFICATE_VERSION`], `UserIdFormat`
    /// [`USER_ID_FORMAT_HASHED`], no optional elements.
    pub fn new(
        kms_uri: impl Into<String>,
        pub_enc_key: &KmsPublicKey,
        pub_auth_key: &Kpak,
        periods: KeyPeriods,
    ) -> Self {
        Self {
            version: Some(CERTIFICATE_VERSION.to_string()),
            role: Some(Role::Root),
            is_security_gateway: None,
            cert_uri: None,
            kms_uri: kms_uri.into(),
            issuer: None,
            valid_from: None,
            valid_to: None,
            revoked: None,
            user_id_format: USER_ID_FORMAT_HASHED.to_string(),
            user_key_period: periods.length,
            user_key_offset: periods.offset,
            pub_enc_key: pub_enc_key.to_bytes(),
            pub_auth_key: pub_auth_key.to_bytes(),
            parameter_set: None,
            kms_domains: Vec::new(),
        }
    }

    /// `PubEncKey` decoded as the SAKKE KMS public key Z (RFC 6508 s2.2): a point of the
    /// order-q subgroup.
    ///
    /// # Errors
    /// The [`PointError`] of the first failed check.
    pub fn kms_public_key(&self) -> Result<KmsPublicKey, PointError> {
        KmsPublicKey::from_bytes(&self.pub_enc_key)
    }

    /// `PubAuthKey` decoded as the ECCSI KPAK (RFC 6507 s4.2): a point on P-256.
    ///
    /// # Errors
    /// The [`eccsi::DecodeError`] of the first failed check.
    pub fn kpak(&self) -> Result<Kpak, eccsi::DecodeError> {
        Kpak::from_bytes(&self.pub_auth_key)
    }

    /// `UserKeyPeriod` and `UserKeyOffset` as [`KeyPeriods`] (TS 33.180 F.2.1).
    pub fn key_periods(&self) -> KeyPeriods {
        KeyPeriods {
            length: self.user_key_period,
            offset: self.user_key_offset,
        }
    }
}

impl KmsKeySet {
    /// A key set issued by the KMS `kms_uri` to `user_uri` for key period `key_period_no`, whose
    /// UID is `user_id`, with the user's SAKKE RSK and ECCSI (SSK, PVT). The optional elements
    /// are absent.
    ///
    /// # Security
    /// Copies the RSK and SSK into zeroizing buffers.
    pub fn new(
        kms_uri: impl Into<String>,
        user_uri: impl Into<String>,
        user_id: Uid,
        key_period_no: u64,
        rsk: &ReceiverSecretKey,
        ssk: &Ssk,
        pvt: &Pvt,
    ) -> Self {
        let rsk_bytes = zeroize::Zeroizing::new(rsk.to_bytes());
        let ssk_bytes = ssk.to_bytes();
        Self {
            kms_uri: kms_uri.into(),
            cert_uri: None,
            issuer: None,
            user_uri: user_uri.into(),
            user_id,
            valid_from: None,
            valid_to: None,
            key_period_no,
            revoked: None,
            user_decrypt_key: SecretOctets::copy_from(rsk_bytes.as_slice()),
            user_signing_key_ssk: SecretOctets::copy_from(ssk_bytes.as_slice()),
            user_pub_token_pvt: pvt.to_bytes(),
        }
    }

    /// `UserID`, the 32-octet UID the keys were issued for (the SAKKE and ECCSI identifier).
    pub fn user_id(&self) -> &Uid {
        &self.user_id
    }

    /// `UserDecryptKey` decoded as a SAKKE RSK: a point of the order-q subgroup. Validate it
    /// with [`ReceiverSecretKey::validate`] against the certificate's
    /// [`KmsCertificate::kms_public_key`] and [`Self::user_id`] before use.
    ///
    /// # Errors
    /// The [`PointError`] of the first failed check.
    pub fn rsk(&self) -> Result<ReceiverSecretKey, PointError> {
        ReceiverSecretKey::from_bytes(self.user_decrypt_key.as_bytes())
    }

    /// `UserSigningKeySSK` decoded as an ECCSI SSK in \[1, q-1\]. Validate it with the PVT
    /// through [`eccsi::SigningKey::new`] before use.
    ///
    /// # Errors
    /// The [`eccsi::DecodeError`] of the first failed check.
    pub fn ssk(&self) -> Result<Ssk, eccsi::DecodeError> {
        Ssk::from_bytes(self.user_signing_key_ssk.as_bytes())
    }

    /// `UserPubTokenPVT` decoded as an ECCSI PVT: a point on P-256.
    ///
    /// # Errors
    /// The [`eccsi::DecodeError`] of the first failed check.
    pub fn pvt(&self) -> Result<Pvt, eccsi::DecodeError> {
        Pvt::from_bytes(&self.user_pub_token_pvt)
    }

    /// The raw `UserDecryptKey` octets (257).
    ///
    /// # Security
    /// Secret: the user's RSK.
    pub fn user_decrypt_key(&self) -> &[u8] {
        self.user_decrypt_key.as_bytes()
    }

    /// The raw `UserSigningKeySSK` octets (32, or as many as the KMS sent).
    ///
    /// # Security
    /// Secret: the user's SSK.
    pub fn user_signing_key_ssk(&self) -> &[u8] {
        self.user_signing_key_ssk.as_bytes()
    }

    /// The UID that TS 33.180 F.2.1 derives for this key set's `UserUri`, `KmsUri` and
    /// `KeyPeriodNo` under the certificate's key periods; a client should check it equals
    /// [`Self::user_id`].
    ///
    /// # Errors
    /// [`KdfError::ParameterTooLong`] if a URI exceeds 65 535 octets.
    pub fn derived_user_id(&self, periods: KeyPeriods) -> Result<Uid, KdfError> {
        uid::uid(
            self.user_uri.as_bytes(),
            self.kms_uri.as_bytes(),
            periods,
            self.key_period_no,
        )
    }
}

impl KmsCertificate {
    /// Reads a bare `KmsCertificate` document (the schema's global element), with the limits
    /// and refusals of [`KmsResponse::from_xml`].
    ///
    /// # Errors
    /// An [`AnnexDError`] for the first problem.
    pub fn from_xml(xml: &str) -> Result<Self, AnnexDError> {
        read::read_certificate(xml)
    }

    /// Writes the certificate as a document of its own (the 3GPP namespace as default
    /// namespace on the `KmsCertificate` root).
    pub fn to_xml(&self) -> String {
        write::to_string_with(|out| write::write_certificate(self, out))
    }
}
