//! The request documents (TS 33.180 D.2.2): [`KmsRequest`] and [`SignedKmsRequest`], read with
//! the response reader's machinery (same limits, no DTD, no entities) and written in the
//! schema's element order.

use super::read::{self, Cx, El};
use super::{AnnexDError, KRR_NAMESPACE, KmsError, NAMESPACE, XMLDSIG_NAMESPACE, write};

/// XML kept as text, not interpreted: the content of a `KrrList`, a `ds:Signature` element.
///
/// The text is balanced, well-formed XML without a DTD or an entity other than the five
/// predefined ones (checked by [`Self::new`] and by the reader that produced it). It is written
/// back as it is: the namespace prefixes it uses must be declared inside it, or be the ones the
/// writer declares on the root (`ds` for XML Signature on a `SignedKmsRequest`, `krr` for the
/// KRR namespace on a `KmsRequest` with a `KrrList`). The reader adds the declaration of the
/// kept element's own prefix when that was declared further out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawXml(String);

impl RawXml {
    /// Checks `text` is well-formed XML content (as it would appear inside an element whose
    /// ancestors declare the 3GPP namespace as default and the `ds` and `krr` prefixes).
    ///
    /// # Errors
    /// The [`AnnexDError`] of the reader for the first problem.
    pub fn new(text: impl Into<String>) -> Result<Self, AnnexDError> {
        let text = text.into();
        wrap_and_parse(&text)?;
        Ok(Self(text))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The document a fragment is checked in: a `KmsRequest` root declaring the prefixes the
/// writer declares.
fn wrapped(text: &str) -> String {
    format!(
        "<KmsRequest xmlns=\"{NAMESPACE}\" xmlns:ds=\"{XMLDSIG_NAMESPACE}\" \
         xmlns:krr=\"{KRR_NAMESPACE}\">{text}</KmsRequest>"
    )
}

fn wrap_and_parse(text: &str) -> Result<(), AnnexDError> {
    let doc = wrapped(text);
    read::read_tree(&doc, &["KmsRequest"], "KmsRequest").map(|_| ())
}

/// A KMS request (TS 33.180 D.2.2, Table D.2.2-1, schema type `KmsRequestType`): what a client
/// may POST to a KMS resource. (A client may also POST an empty body; see
/// `kms::service`.)
///
/// `Version` is always written as [`super::REQUEST_VERSION`] (`1.1.0`, fixed by the schema);
/// reading accepts `1.1.0`, `1.0.0` (which deployed clients send) or no `Version`.
///
/// `TrK-ID` and `Signature-ID` are elements of Table D.2.2-1 that the schema copy in
/// `docs/annex-d-schema` does not list; they are read (3GPP namespace) and written after
/// `ClientError`, and a request carrying them does not validate against that schema copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KmsRequest {
    /// The `Id` attribute (optional; the reference target of a signature).
    pub id: Option<String>,
    /// `UserUri`: the user the request is made for.
    pub user_uri: String,
    /// `KmsUri`: the KMS asked.
    pub kms_uri: String,
    /// `Time`: when the request was made (`xs:dateTime`, kept as text).
    pub time: String,
    /// `ClientId` (optional).
    pub client_id: Option<String>,
    /// `DeviceId` (optional).
    pub device_id: Option<String>,
    /// `ClientReqUrl`: the URL the request is POSTed to.
    pub client_req_url: String,
    /// `KrrList` (optional, only for the `redirect` resource): kept opaque.
    pub krr_list: Option<RawXml>,
    /// `ClientError` (optional): an error the client reports (schema type `ErrorType`).
    pub client_error: Option<KmsError>,
    /// `TrK-ID` (optional): the transport key the client holds.
    pub trk_id: Option<String>,
    /// `Signature-ID` (optional): the key that signed the request.
    pub signature_id: Option<String>,
}

/// A signed KMS request (schema type `SignedKmsRequestType`): a [`KmsRequest`] and a
/// `ds:Signature`.
///
/// # Security
/// The signature is **not verified** by this crate: it is kept as text
/// ([`Self::signature`]) and nothing about the request may be trusted because of it. The
/// transport's authentication (the access token) is what authorises a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedKmsRequest {
    /// The `Id` attribute (optional).
    pub id: Option<String>,
    /// The request.
    pub request: KmsRequest,
    /// The `ds:Signature` element, as text.
    signature: RawXml,
}

impl KmsRequest {
    /// A request with the mandatory elements and nothing optional.
    pub fn new(
        user_uri: impl Into<String>,
        kms_uri: impl Into<String>,
        time: impl Into<String>,
        client_req_url: impl Into<String>,
    ) -> Self {
        Self {
            id: None,
            user_uri: user_uri.into(),
            kms_uri: kms_uri.into(),
            time: time.into(),
            client_id: None,
            device_id: None,
            client_req_url: client_req_url.into(),
            krr_list: None,
            client_error: None,
            trk_id: None,
            signature_id: None,
        }
    }

    /// Reads a `KmsRequest` document (with the limits and refusals of
    /// [`super::KmsResponse::from_xml`]).
    ///
    /// # Errors
    /// An [`AnnexDError`] for the first problem (a `Version` other than `1.0.0` or `1.1.0`
    /// is a [`AnnexDError::BadValue`]).
    pub fn from_xml(xml: &str) -> Result<Self, AnnexDError> {
        let root = read::read_tree(xml, &["KmsRequest"], "KmsRequest")?;
        let el = El {
            node: &root,
            path: "KmsRequest".to_string(),
        };
        request(Cx { input: xml }, &el)
    }

    /// Writes the document as UTF-8 XML (the writer of [`super::KmsResponse::to_xml`]).
    pub fn to_xml(&self) -> String {
        write::to_string_with(|out| write::write_request(self, out))
    }
}

impl SignedKmsRequest {
    /// A signed request from a request and the text of its `ds:Signature` element (whose
    /// prefix, if any, is declared in it or is `ds`).
    ///
    /// # Errors
    /// [`AnnexDError::MissingElement`] if `signature` is not one `Signature` element of the
    /// XML Signature namespace; the reader's error if it is not well-formed.
    pub fn new(request: KmsRequest, signature: RawXml) -> Result<Self, AnnexDError> {
        let doc = wrapped(signature.as_str());
        let root = read::read_tree(&doc, &["KmsRequest"], "KmsRequest")?;
        let only_signature = root.children.is_empty()
            && root.foreign.len() == 1
            && root
                .foreign
                .iter()
                .all(|f| f.namespace == XMLDSIG_NAMESPACE && f.local == "Signature");
        if !only_signature {
            return Err(AnnexDError::MissingElement {
                path: "SignedKmsRequest".to_string(),
                element: "ds:Signature",
                position: crate::annex_d::Position::in_text(&doc, 0),
            });
        }
        Ok(Self {
            id: None,
            request,
            signature,
        })
    }

    /// The `ds:Signature` element as text (**not verified**).
    pub fn signature(&self) -> &RawXml {
        &self.signature
    }

    /// Reads a `SignedKmsRequest` document. The signature is kept, **not verified**.
    ///
    /// # Errors
    /// An [`AnnexDError`] for the first problem; a missing `ds:Signature` is a
    /// [`AnnexDError::MissingElement`].
    pub fn from_xml(xml: &str) -> Result<Self, AnnexDError> {
        let root = read::read_tree(xml, &["SignedKmsRequest"], "SignedKmsRequest")?;
        let cx = Cx { input: xml };
        let el = El {
            node: &root,
            path: "SignedKmsRequest".to_string(),
        };
        signed_request(cx, &el)
    }

    /// Writes the document as UTF-8 XML, declaring the `ds` prefix on the root.
    pub fn to_xml(&self) -> String {
        write::to_string_with(|out| write::write_signed_request(self, out))
    }
}

/// A request body: a [`KmsRequest`] or a [`SignedKmsRequest`], by its root element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnyKmsRequest {
    /// A `KmsRequest`.
    Plain(KmsRequest),
    /// A `SignedKmsRequest` (signature not verified).
    Signed(SignedKmsRequest),
}

impl AnyKmsRequest {
    /// Reads either document.
    ///
    /// # Errors
    /// An [`AnnexDError`] for the first problem.
    pub fn from_xml(xml: &str) -> Result<Self, AnnexDError> {
        let root = read::read_tree(
            xml,
            &["KmsRequest", "SignedKmsRequest"],
            "KmsRequest or SignedKmsRequest",
        )?;
        let cx = Cx { input: xml };
        let el = El {
            node: &root,
            path: root.name.clone(),
        };
        if root.name == "KmsRequest" {
            request(cx, &el).map(Self::Plain)
        } else {
            signed_request(cx, &el).map(Self::Signed)
        }
    }

    /// The request (of either form).
    pub fn request(&self) -> &KmsRequest {
        match self {
            Self::Plain(r) => r,
            Self::Signed(s) => &s.request,
        }
    }
}

fn request(cx: Cx<'_>, el: &El<'_>) -> Result<KmsRequest, AnnexDError> {
    if let Some(v) = el.attr("Version")
        && v != "1.1.0"
        && v != "1.0.0"
    {
        return Err(el.bad_attr(cx, "Version", format!("`{v}` is neither 1.1.0 nor 1.0.0")));
    }
    // KmsRequestType ends with an extension point: unknown children are ignored.
    Ok(KmsRequest {
        id: el.attr("Id").map(str::to_string),
        user_uri: read::nonempty(cx, &el.required(cx, "UserUri")?)?,
        kms_uri: read::nonempty(cx, &el.required(cx, "KmsUri")?)?,
        time: read::nonempty(cx, &el.required(cx, "Time")?)?,
        client_id: read::opt(cx, el, "ClientId", read::string)?,
        device_id: read::opt(cx, el, "DeviceId", read::string)?,
        client_req_url: read::nonempty(cx, &el.required(cx, "ClientReqUrl")?)?,
        krr_list: el
            .child(cx, "KrrList")?
            .map(|k| raw_content(cx, &k))
            .transpose()?,
        client_error: el
            .child(cx, "ClientError")?
            .map(|e| read::kms_error(cx, &e))
            .transpose()?,
        trk_id: read::opt(cx, el, "TrK-ID", read::string)?,
        signature_id: read::opt(cx, el, "Signature-ID", read::string)?,
    })
}

/// The content of an element as text. Content that does not stand alone (it uses a
/// namespace prefix declared further out, other than `krr` and `ds`) is refused as
/// unsupported rather than kept in a form that would not read back.
fn raw_content(cx: Cx<'_>, el: &El<'_>) -> Result<RawXml, AnnexDError> {
    let (from, to) = el.node.content;
    let text = cx.input.get(from..to).unwrap_or("");
    RawXml::new(text).map_err(|_| AnnexDError::Unsupported {
        path: el.path.clone(),
        position: el.pos(cx),
        what: "KrrList content using a namespace prefix declared outside it (other than krr)",
    })
}

fn signed_request(cx: Cx<'_>, el: &El<'_>) -> Result<SignedKmsRequest, AnnexDError> {
    let inner = el.required(cx, "KmsRequest")?;
    let request = request(cx, &inner)?;
    let mut sigs = el
        .node
        .foreign
        .iter()
        .filter(|f| f.namespace == XMLDSIG_NAMESPACE && f.local == "Signature");
    let Some(sig) = sigs.next() else {
        return Err(AnnexDError::MissingElement {
            path: el.path.clone(),
            element: "ds:Signature",
            position: el.pos(cx),
        });
    };
    if let Some(dup) = sigs.next() {
        return Err(AnnexDError::DuplicateElement {
            path: format!("{}/ds:Signature", el.path),
            position: cx.pos(dup.start),
        });
    }
    let text = cx.input.get(sig.start..sig.end).unwrap_or("");
    let text = declare_own_prefix(text, sig.prefix.as_deref());
    Ok(SignedKmsRequest {
        id: el.attr("Id").map(str::to_string),
        request,
        signature: RawXml::new(text)?,
    })
}

/// Adds to the start tag of a kept XML Signature element the declaration of its own prefix
/// (or of the default namespace) unless the tag has it: it may have been declared on an
/// ancestor that is not written with it.
fn declare_own_prefix(text: &str, prefix: Option<&str>) -> String {
    let attr = match prefix {
        Some(p) => format!("xmlns:{p}="),
        None => "xmlns=".to_string(),
    };
    let tag_end = text.find('>').unwrap_or(text.len());
    let name_end = text
        .char_indices()
        .skip(1)
        .find(|&(_, c)| matches!(c, ' ' | '\t' | '\r' | '\n' | '/' | '>'))
        .map_or(text.len(), |(i, _)| i);
    let declared = text.get(..tag_end).is_some_and(|tag| {
        tag.match_indices(&attr).any(|(i, _)| {
            tag.get(..i)
                .and_then(|before| before.chars().last())
                .is_some_and(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
        })
    });
    match (declared, text.get(..name_end), text.get(name_end..)) {
        (false, Some(name), Some(rest)) => {
            format!("{name} {attr}\"{XMLDSIG_NAMESPACE}\"{rest}")
        }
        _ => text.to_string(),
    }
}
