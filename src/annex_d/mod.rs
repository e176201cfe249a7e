//! The KMS documents of TS 33.180 Annex D (namespace `urn:3gpp:ns:mcsecKMSInterface:1.0`) as
//! typed Rust values with a writer and a reader: a [`KmsResponse`] carrying a KMS certificate
//! (the answer to KMS Initialize, D.3.2.2), key sets (KMS KeyProvision, D.3.3), a certificate
//! cache or a [`KmsError`]; the requests [`KmsRequest`] (D.2.2) and [`SignedKmsRequest`]
//! (whose signature is **not** verified); a bare [`KmsCertificate`].
//!
//! # Writing
//!
//! [`KmsResponse::to_xml`] (and [`KmsRequest::to_xml`], [`SignedKmsRequest::to_xml`],
//! [`KmsCertificate::to_xml`]) writes UTF-8 XML with the 3GPP namespace as the default
//! namespace, the schema's element order, every key value and UserID as upper-case
//! `xs:hexBinary` and every key value typed `xsi:type="KeyContentType"`, so that what is
//! written validates against the Annex D schema (tested with `xmllint --schema`).
//!
//! # Reading
//!
//! [`KmsResponse::from_xml`] (and the readers of the other documents, which share its
//! machinery and limits) is lenient where deployed KMSs differ and strict where a mistake
//! would be silent:
//!
//! * key values and the UserID in hexBinary of either case (whitespace anywhere ignored) or in
//!   base64 (as Streamwide's client accepts);
//! * the 3GPP namespace under any prefix (`<kms:KmsResponse xmlns:kms="...">`) or as the
//!   default namespace; elements and attributes of other namespaces ignored anywhere (they are
//!   the schema's extension points: `xsi:type`, `ds:Signature`, vendor data);
//! * unknown elements of the 3GPP namespace ignored inside the types whose schema ends with an
//!   extension point (`KmsResponse`, `KmsMessage`, `KmsInit`, `KmsKeyProv`, `KmsCertCache`,
//!   `KmsCertificate`, `KmsError`: this covers `NewTransportKey` / `NewIntegrityKey` of the
//!   `TkIk` types), rejected inside `KmsKeySet`, which has none, and inside value elements;
//! * elements in any order; a repeated element is an error;
//! * values trimmed of surrounding XML whitespace; integers in `xs:integer` form;
//! * anything that would need a security feature this crate does not have is refused, never
//!   skipped: a TrK-encrypted key (`xenc:EncryptedKey`), a `SignedKmsCertificate` and a
//!   `SignedKmsResponse` (XML signatures are not verified here);
//! * a `DOCTYPE` declaration is refused outright, so no entity can be declared, and only the
//!   five predefined entities and character references are expanded: entity expansion attacks
//!   (billion laughs, external entities) cannot happen;
//! * documents larger than [`MAX_DOCUMENT_LEN`], deeper than [`MAX_DEPTH`] or with more than
//!   [`MAX_ELEMENTS`] elements are refused before their contents are used.
//!
//! Every failure is an [`AnnexDError`] naming the element path, the line and column, and the
//! reason. Nothing panics on any input.
//!
//! The typed accessors ([`KmsCertificate::kms_public_key`], [`KmsKeySet::rsk`], ...) decode
//! the octets into the crate's key types, which check that points lie on their curves; a
//! client must still validate the keys it receives against the certificate
//! ([`crate::sakke::ReceiverSecretKey::validate`], [`crate::eccsi::SigningKey::new`]) before
//! using them.
//!
//! # Example
//!
//! ```
//! use mikey_sakke::annex_d::{KmsMessage, KmsResponse};
//!
//! let xml = r#"<KmsResponse xmlns="urn:3gpp:ns:mcsecKMSInterface:1.0">
//!   <UserUri>sip:alice@example.org</UserUri>
//!   <KmsUri>kms.example.org</KmsUri>
//!   <Time>2021-05-10T11:23:02</Time>
//!   <ClientReqUrl>https://kms.example.org/keymanagement/identity/v1/keyprov</ClientReqUrl>
//!   <KmsMessage><KmsKeyProv Version="1.0.0"/></KmsMessage>
//! </KmsResponse>"#;
//! let response = KmsResponse::from_xml(xml)?;
//! assert!(matches!(response.message, Some(KmsMessage::KeyProv(ref kp)) if kp.key_sets.is_empty()));
//! assert_eq!(KmsResponse::from_xml(&response.to_xml())?, response);
//! # Ok::<(), mikey_sakke::annex_d::AnnexDError>(())
//! ```

mod errors;
mod load;
mod octets;
mod read;
mod request;
mod resource;
mod tree;
mod types;
mod write;

pub use errors::{AnnexDError, Position};
pub use load::KeySetError;
pub use request::{AnyKmsRequest, KmsRequest, RawXml, SignedKmsRequest};
pub use resource::escape_segment;
pub use types::{
    KmsCertCache, KmsCertificate, KmsError, KmsKeyProv, KmsKeySet, KmsMessage, KmsResponse, Role,
};

/// The XML namespace of the KMS interface (TS 33.180 D.3.1).
pub const NAMESPACE: &str = "urn:3gpp:ns:mcsecKMSInterface:1.0";

/// The namespace of XML Encryption, whose `EncryptedKey` may replace a key value (TrK-encrypted
/// key material, D.3.3); recognised only to be refused.
pub const XMLENC_NAMESPACE: &str = "http://www.w3.org/2001/04/xmlenc#";

/// The namespace of XML Signature, whose `Signature` completes a [`SignedKmsRequest`].
pub const XMLDSIG_NAMESPACE: &str = "http://www.w3.org/2000/09/xmldsig#";

/// The namespace of the KMS redirect response (KRR, TS 33.180 D.4), the content of a
/// request's `KrrList`.
pub const KRR_NAMESPACE: &str = "urn:3gpp:ns:mcsecKMSKRR:1.0";

/// The XML Schema instance namespace, whose `xsi:type` the writer puts on key values.
pub const XSI_NAMESPACE: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// The concrete schema type of a key value in clear (`xs:hexBinary`), written as the
/// `xsi:type` of `UserDecryptKey`, `UserSigningKeySSK` and `UserPubTokenPVT`: their declared
/// type `abstractKeyContentType` is abstract, so a schema-valid instance names this one.
pub const KEY_CONTENT_TYPE: &str = "KeyContentType";

/// The `Version` written on `KmsRequest` (fixed by the schema, D.2.2); `1.0.0` (which
/// deployed clients send) is accepted as well when reading.
pub const REQUEST_VERSION: &str = "1.1.0";

/// The largest document [`KmsResponse::from_xml`] reads, in octets (1 MiB; a key-provision
/// document with one key set is about 2 KiB).
pub const MAX_DOCUMENT_LEN: usize = 1 << 20;

/// The deepest element nesting [`KmsResponse::from_xml`] reads (a schema-valid document nests
/// 6 levels; extensions may add a few).
pub const MAX_DEPTH: usize = 64;

/// The most elements [`KmsResponse::from_xml`] reads in one document (a key set has 13).
pub const MAX_ELEMENTS: usize = 16_384;

/// The `Version` written on `KmsResponse` (fixed by the schema, D.2.3).
pub const RESPONSE_VERSION: &str = "1.0.0";

/// The `Version` written on `KmsKeyProv` and `KmsCertCache` (fixed by the schema).
pub const KEY_PROV_VERSION: &str = "1.0.0";

/// The `Version` written on `KmsKeySet` (fixed by the schema, D.3.3).
pub const KEY_SET_VERSION: &str = "1.1.0";

/// The `Version` [`KmsCertificate::new`] puts on a certificate (as in the Streamwide samples).
pub const CERTIFICATE_VERSION: &str = "1.1.0";

/// The `UserIdFormat` [`KmsCertificate::new`] puts on a certificate: `"2"`, which the Streamwide
/// samples use with UIDs hashed per TS 33.180 F.2.1. (The table of UserIdFormat values in D.3
/// was not available when this was written.)
pub const USER_ID_FORMAT_HASHED: &str = "2";

/// The length of a KMS UserID, a UID of TS 33.180 F.2.1, in octets.
pub const USER_ID_LEN: usize = 32;

/// The largest `UserSigningKeySSK` accepted, in octets: an SSK is 32 octets, but a deployed KMS
/// sends 34 (leading zero octets), so some slack is allowed; [`crate::eccsi::Ssk::from_bytes`]
/// checks the value.
pub const MAX_SSK_LEN: usize = 64;
