//! The reader, in two passes.
//!
//! 1. [`super::tree`]: quick-xml events become a small tree of the 3GPP-namespace elements
//!    (limits, no DOCTYPE, no entities, well-formedness).
//! 2. Here: the tree is mapped to the typed documents, each element with its path for errors.

use zeroize::Zeroizing;

use super::octets::{self, DecodeFailure, SecretOctets};
pub(super) use super::tree::Node;
use super::tree::{is_xml_char, is_xml_space, parse_tree};
use super::{
    AnnexDError, KmsCertCache, KmsCertificate, KmsError, KmsKeyProv, KmsKeySet, KmsMessage,
    KmsResponse, MAX_DOCUMENT_LEN, MAX_SSK_LEN, Position, Role, USER_ID_LEN,
};
use crate::eccsi;
use crate::params::POINT_LEN;

// ----------------------------------------------------------------------------------------------
// Pass 2

/// An element with its path, for errors.
pub(super) struct El<'n> {
    pub(super) node: &'n Node,
    pub(super) path: String,
}

/// The document text, for positions.
#[derive(Clone, Copy)]
pub(super) struct Cx<'i> {
    pub(super) input: &'i str,
}

impl<'i> Cx<'i> {
    pub(super) fn pos(self, offset: usize) -> Position {
        Position::in_text(self.input, offset)
    }
}

impl<'n> El<'n> {
    pub(super) fn pos(&self, cx: Cx<'_>) -> Position {
        cx.pos(self.node.offset)
    }

    pub(super) fn sub(&self, node: &'n Node, index: Option<usize>) -> El<'n> {
        let path = match index {
            Some(i) => format!("{}/{}[{i}]", self.path, node.name),
            None => format!("{}/{}", self.path, node.name),
        };
        El { node, path }
    }

    /// The child `name`, which may occur at most once.
    pub(super) fn child(&self, cx: Cx<'_>, name: &str) -> Result<Option<El<'n>>, AnnexDError> {
        let mut it = self.node.children.iter().filter(|c| c.name == name);
        let first = it.next();
        if let Some(dup) = it.next() {
            return Err(AnnexDError::DuplicateElement {
                path: self.sub(dup, None).path,
                position: cx.pos(dup.offset),
            });
        }
        Ok(first.map(|n| self.sub(n, None)))
    }

    /// The child `name`, which must occur exactly once.
    pub(super) fn required(&self, cx: Cx<'_>, name: &'static str) -> Result<El<'n>, AnnexDError> {
        self.child(cx, name)?
            .ok_or_else(|| AnnexDError::MissingElement {
                path: self.path.clone(),
                element: name,
                position: self.pos(cx),
            })
    }

    /// Every child named `name`, with indexed paths.
    pub(super) fn all(&self, name: &'n str) -> impl Iterator<Item = El<'n>> + '_ {
        self.node
            .children
            .iter()
            .filter(move |c| c.name == name)
            .enumerate()
            .map(|(i, n)| self.sub(n, Some(i + 1)))
    }

    /// Refuses a 3GPP child other than those in `known` (for a type with no extension point).
    pub(super) fn only(&self, cx: Cx<'_>, known: &[&str]) -> Result<(), AnnexDError> {
        match self
            .node
            .children
            .iter()
            .find(|c| !known.contains(&c.name.as_str()))
        {
            Some(c) => Err(AnnexDError::UnexpectedElement {
                path: self.sub(c, None).path,
                position: cx.pos(c.offset),
            }),
            None => Ok(()),
        }
    }

    /// The text of a value element (no 3GPP children), without surrounding whitespace.
    pub(super) fn text(&self, cx: Cx<'_>) -> Result<&'n str, AnnexDError> {
        self.only(cx, &[])?;
        Ok(self.node.text.trim_matches(is_xml_space))
    }

    pub(super) fn attr(&self, name: &str) -> Option<&'n str> {
        self.node
            .attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim_matches(is_xml_space))
    }

    pub(super) fn bad_value(&self, cx: Cx<'_>, reason: impl Into<String>) -> AnnexDError {
        AnnexDError::BadValue {
            path: self.path.clone(),
            position: self.pos(cx),
            reason: reason.into(),
        }
    }

    pub(super) fn bad_attr(
        &self,
        cx: Cx<'_>,
        attr: &str,
        reason: impl Into<String>,
    ) -> AnnexDError {
        AnnexDError::BadValue {
            path: format!("{}/@{attr}", self.path),
            position: self.pos(cx),
            reason: reason.into(),
        }
    }
}

pub(super) fn string(cx: Cx<'_>, el: &El<'_>) -> Result<String, AnnexDError> {
    Ok(el.text(cx)?.to_string())
}

pub(super) fn nonempty(cx: Cx<'_>, el: &El<'_>) -> Result<String, AnnexDError> {
    let s = el.text(cx)?;
    if s.is_empty() {
        return Err(el.bad_value(cx, "must not be empty"));
    }
    Ok(s.to_string())
}

/// The optional child `name` of `parent`, read with `value` when present.
pub(super) fn opt<T>(
    cx: Cx<'_>,
    parent: &El<'_>,
    name: &str,
    value: impl FnOnce(Cx<'_>, &El<'_>) -> Result<T, AnnexDError>,
) -> Result<Option<T>, AnnexDError> {
    parent.child(cx, name)?.map(|el| value(cx, &el)).transpose()
}

/// An `xs:integer` that is non-negative and fits 64 bits (`+` sign and leading zeros allowed).
pub(super) fn parse_uint(s: &str) -> Option<u64> {
    let digits = s.strip_prefix('+').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

pub(super) fn uint(cx: Cx<'_>, el: &El<'_>) -> Result<u64, AnnexDError> {
    parse_uint(el.text(cx)?)
        .ok_or_else(|| el.bad_value(cx, "not a non-negative integer below 2^64"))
}

/// An `xs:boolean`: `true`, `false`, `1` or `0`.
pub(super) fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// An `xs:boolean` element.
pub(super) fn boolean(cx: Cx<'_>, el: &El<'_>) -> Result<bool, AnnexDError> {
    parse_bool(el.text(cx)?).ok_or_else(|| el.bad_value(cx, "not a boolean (true, false, 1, 0)"))
}

/// The octets of a key value or UserID: `nominal` is the usual length (it tells hexBinary
/// from base64 when the text is not plain hex), `max` the most accepted and `exact` whether
/// only `max` is.
fn octets(
    cx: Cx<'_>,
    el: &El<'_>,
    nominal: usize,
    max: usize,
    exact: bool,
) -> Result<Zeroizing<Vec<u8>>, AnnexDError> {
    if el.node.encrypted_key {
        return Err(AnnexDError::Unsupported {
            path: el.path.clone(),
            position: el.pos(cx),
            what: "a TrK-encrypted key (xenc:EncryptedKey)",
        });
    }
    let text = el.text(cx)?;
    let bytes = octets::decode(text, nominal).map_err(|failure| AnnexDError::BadEncoding {
        path: el.path.clone(),
        position: el.pos(cx),
        reason: match failure {
            DecodeFailure::Empty => "value is empty",
            DecodeFailure::BadHex => "invalid hex digit in hexBinary",
            DecodeFailure::NotHexOrBase64 => "value is neither hexBinary nor base64",
        },
    })?;
    let got = bytes.len();
    if (exact && got != max) || got > max {
        return Err(AnnexDError::WrongLength {
            path: el.path.clone(),
            position: el.pos(cx),
            expected: max,
            got,
        });
    }
    Ok(bytes)
}

/// A public value of exactly `N` octets.
fn fixed<const N: usize>(cx: Cx<'_>, el: &El<'_>) -> Result<[u8; N], AnnexDError> {
    let bytes = octets(cx, el, N, N, true)?;
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| AnnexDError::WrongLength {
        path: el.path.clone(),
        position: el.pos(cx),
        expected: N,
        got: bytes.len(),
    })
}

// ----------------------------------------------------------------------------------------------
// Documents

/// Pass 1 over a whole document: the limits, the characters, the tree under a root named in
/// `roots`.
pub(super) fn read_tree(
    xml: &str,
    roots: &'static [&'static str],
    expected: &'static str,
) -> Result<Node, AnnexDError> {
    if xml.len() > MAX_DOCUMENT_LEN {
        return Err(AnnexDError::TooLarge {
            len: xml.len(),
            max: MAX_DOCUMENT_LEN,
        });
    }
    if let Some((at, _)) = xml.char_indices().find(|&(_, c)| !is_xml_char(c)) {
        return Err(AnnexDError::Malformed {
            position: Position::in_text(xml, at),
            reason: "a character XML 1.0 does not allow (a control character)".to_string(),
        });
    }
    parse_tree(xml, roots, expected)
}

/// Reads a bare `KmsCertificate` document.
pub(super) fn read_certificate(xml: &str) -> Result<KmsCertificate, AnnexDError> {
    let root = read_tree(xml, &["KmsCertificate"], "KmsCertificate")?;
    let el = El {
        node: &root,
        path: "KmsCertificate".to_string(),
    };
    certificate(Cx { input: xml }, &el)
}

/// Reads a `KmsResponse` document.
pub(super) fn read_response(xml: &str) -> Result<KmsResponse, AnnexDError> {
    let root = read_tree(xml, &["KmsResponse"], "KmsResponse")?;
    let cx = Cx { input: xml };
    let el = El {
        node: &root,
        path: "KmsResponse".to_string(),
    };
    // KmsResponseType ends with an extension point: unknown children are ignored.
    Ok(KmsResponse {
        id: el.attr("Id").map(str::to_string),
        user_uri: nonempty(cx, &el.required(cx, "UserUri")?)?,
        kms_uri: nonempty(cx, &el.required(cx, "KmsUri")?)?,
        time: nonempty(cx, &el.required(cx, "Time")?)?,
        kms_id: opt(cx, &el, "KmsId", string)?,
        client_req_url: nonempty(cx, &el.required(cx, "ClientReqUrl")?)?,
        message: el
            .child(cx, "KmsMessage")?
            .map(|m| message(cx, &m))
            .transpose()?,
        error: el
            .child(cx, "KmsError")?
            .map(|e| kms_error(cx, &e))
            .transpose()?,
    })
}

fn message(cx: Cx<'_>, el: &El<'_>) -> Result<KmsMessage, AnnexDError> {
    const CHOICES: [&str; 3] = ["KmsInit", "KmsKeyProv", "KmsCertCache"];
    let mut chosen = el
        .node
        .children
        .iter()
        .filter(|c| CHOICES.contains(&c.name.as_str()));
    let Some(first) = chosen.next() else {
        return Ok(KmsMessage::Other);
    };
    if let Some(second) = chosen.next() {
        let path = el.sub(second, None).path;
        let position = cx.pos(second.offset);
        return Err(if second.name == first.name {
            AnnexDError::DuplicateElement { path, position }
        } else {
            AnnexDError::UnexpectedElement { path, position }
        });
    }
    let choice = el.sub(first, None);
    Ok(match first.name.as_str() {
        "KmsInit" => KmsMessage::Init(Box::new(init(cx, &choice)?)),
        "KmsKeyProv" => KmsMessage::KeyProv(key_prov(cx, &choice)?),
        _ => KmsMessage::CertCache(cert_cache(cx, &choice)?),
    })
}

fn signed_certificate_unsupported(cx: Cx<'_>, el: &El<'_>) -> AnnexDError {
    AnnexDError::Unsupported {
        path: el.path.clone(),
        position: el.pos(cx),
        what: "a SignedKmsCertificate (XML signatures are not verified)",
    }
}

fn init(cx: Cx<'_>, el: &El<'_>) -> Result<KmsCertificate, AnnexDError> {
    if let Some(signed) = el.child(cx, "SignedKmsCertificate")? {
        return Err(signed_certificate_unsupported(cx, &signed));
    }
    certificate(cx, &el.required(cx, "KmsCertificate")?)
}

fn key_prov(cx: Cx<'_>, el: &El<'_>) -> Result<KmsKeyProv, AnnexDError> {
    let key_sets = el
        .all("KmsKeySet")
        .map(|ks| key_set(cx, &ks))
        .collect::<Result<_, _>>()?;
    Ok(KmsKeyProv { key_sets })
}

fn cert_cache(cx: Cx<'_>, el: &El<'_>) -> Result<KmsCertCache, AnnexDError> {
    if let Some(signed) = el.all("SignedKmsCertificate").next() {
        return Err(signed_certificate_unsupported(cx, &signed));
    }
    let cache_num = el
        .attr("CacheNum")
        .map(|v| {
            parse_uint(v).ok_or_else(|| el.bad_attr(cx, "CacheNum", "not a non-negative integer"))
        })
        .transpose()?;
    let certificates = el
        .all("KmsCertificate")
        .map(|c| certificate(cx, &c))
        .collect::<Result<_, _>>()?;
    Ok(KmsCertCache {
        cache_num,
        certificates,
    })
}

pub(super) fn certificate(cx: Cx<'_>, el: &El<'_>) -> Result<KmsCertificate, AnnexDError> {
    let role = el
        .attr("Role")
        .map(|v| match v {
            "Root" => Ok(Role::Root),
            "External" => Ok(Role::External),
            other => Err(el.bad_attr(
                cx,
                "Role",
                format!("`{other}` is neither Root nor External"),
            )),
        })
        .transpose()?;
    let is_security_gateway = el
        .attr("IsSecurityGateway")
        .map(|v| parse_bool(v).ok_or_else(|| el.bad_attr(cx, "IsSecurityGateway", "not a boolean")))
        .transpose()?;
    let period_el = el.required(cx, "UserKeyPeriod")?;
    let user_key_period = uint(cx, &period_el)?;
    if user_key_period == 0 {
        return Err(period_el.bad_value(cx, "the key period length must not be zero"));
    }
    let kms_domains = match el.child(cx, "KmsDomainList")? {
        None => Vec::new(),
        Some(list) => {
            list.only(cx, &["KmsDomain"])?;
            list.all("KmsDomain")
                .map(|d| nonempty(cx, &d))
                .collect::<Result<_, _>>()?
        }
    };
    // KmsCertificateType ends with an extension point: unknown children are ignored.
    Ok(KmsCertificate {
        version: el.attr("Version").map(str::to_string),
        role,
        is_security_gateway,
        cert_uri: opt(cx, el, "CertUri", string)?,
        kms_uri: nonempty(cx, &el.required(cx, "KmsUri")?)?,
        issuer: opt(cx, el, "Issuer", string)?,
        valid_from: opt(cx, el, "ValidFrom", string)?,
        valid_to: opt(cx, el, "ValidTo", string)?,
        revoked: opt(cx, el, "Revoked", boolean)?,
        user_id_format: string(cx, &el.required(cx, "UserIdFormat")?)?,
        user_key_period,
        user_key_offset: uint(cx, &el.required(cx, "UserKeyOffset")?)?,
        pub_enc_key: fixed::<POINT_LEN>(cx, &el.required(cx, "PubEncKey")?)?,
        pub_auth_key: fixed::<{ eccsi::POINT_LEN }>(cx, &el.required(cx, "PubAuthKey")?)?,
        parameter_set: opt(cx, el, "ParameterSet", uint)?,
        kms_domains,
    })
}

/// The children of `KmsKeySetType`, which has no extension point.
const KEY_SET_CHILDREN: [&str; 12] = [
    "KmsUri",
    "CertUri",
    "Issuer",
    "UserUri",
    "UserID",
    "ValidFrom",
    "ValidTo",
    "KeyPeriodNo",
    "Revoked",
    "UserDecryptKey",
    "UserSigningKeySSK",
    "UserPubTokenPVT",
];

fn key_set(cx: Cx<'_>, el: &El<'_>) -> Result<KmsKeySet, AnnexDError> {
    el.only(cx, &KEY_SET_CHILDREN)?;
    let rsk = octets(
        cx,
        &el.required(cx, "UserDecryptKey")?,
        POINT_LEN,
        POINT_LEN,
        true,
    )?;
    let ssk = octets(
        cx,
        &el.required(cx, "UserSigningKeySSK")?,
        eccsi::SCALAR_LEN,
        MAX_SSK_LEN,
        false,
    )?;
    Ok(KmsKeySet {
        kms_uri: nonempty(cx, &el.required(cx, "KmsUri")?)?,
        cert_uri: opt(cx, el, "CertUri", string)?,
        issuer: opt(cx, el, "Issuer", string)?,
        user_uri: nonempty(cx, &el.required(cx, "UserUri")?)?,
        user_id: fixed::<USER_ID_LEN>(cx, &el.required(cx, "UserID")?)?,
        valid_from: opt(cx, el, "ValidFrom", string)?,
        valid_to: opt(cx, el, "ValidTo", string)?,
        key_period_no: uint(cx, &el.required(cx, "KeyPeriodNo")?)?,
        revoked: opt(cx, el, "Revoked", boolean)?,
        user_decrypt_key: SecretOctets::new(rsk),
        user_signing_key_ssk: SecretOctets::new(ssk),
        user_pub_token_pvt: fixed::<{ eccsi::POINT_LEN }>(
            cx,
            &el.required(cx, "UserPubTokenPVT")?,
        )?,
    })
}

pub(super) fn kms_error(cx: Cx<'_>, el: &El<'_>) -> Result<KmsError, AnnexDError> {
    let code_el = el.required(cx, "ErrorCode")?;
    let code_text = code_el.text(cx)?;
    let code = code_text
        .parse::<i64>()
        .map_err(|_| code_el.bad_value(cx, "not an integer that fits 64 bits"))?;
    Ok(KmsError {
        code,
        message: string(cx, &el.required(cx, "ErrorMsg")?)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        assert_eq!(parse_uint("+007"), Some(7));
        assert_eq!(parse_uint("18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_uint("18446744073709551616"), None);
        assert_eq!(parse_uint("-1"), None);
        assert_eq!(parse_uint("+"), None);
        assert_eq!(parse_uint(""), None);
        assert_eq!(parse_uint("1 2"), None);
    }

    #[test]
    fn positions() {
        let t = "ab\ncd\u{e9}f\ng";
        assert_eq!(
            Position::in_text(t, 0),
            Position {
                line: 1,
                column: 1,
                offset: 0
            }
        );
        let p = Position::in_text(t, 7); // after "cd\u{e9}"
        assert_eq!((p.line, p.column), (2, 4));
        assert_eq!(Position::in_text(t, 1000).offset, t.len());
    }
}
