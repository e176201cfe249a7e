//! The reader, in two passes.
//!
//! 1. quick-xml events become a small tree of the 3GPP-namespace elements, with their
//!    unqualified attributes and text; elements of other namespaces are skipped with their
//!    subtrees (an `xenc:EncryptedKey` is noted on its parent). This pass enforces the limits
//!    (size, depth, element count), refuses a DOCTYPE and any entity but the five predefined
//!    ones, and checks well-formedness quick-xml leaves to its caller (one root, no text
//!    outside it, nothing left open at the end).
//! 2. The tree is mapped to the typed documents, each element with its path for errors.

use quick_xml::XmlVersion;
use quick_xml::events::attributes::AttrError;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::reader::NsReader;
use zeroize::Zeroizing;

use super::octets::{self, DecodeFailure, SecretOctets};
use super::{
    AnnexDError, KmsCertCache, KmsCertificate, KmsError, KmsKeyProv, KmsKeySet, KmsMessage,
    KmsResponse, MAX_DEPTH, MAX_DOCUMENT_LEN, MAX_ELEMENTS, MAX_SSK_LEN, NAMESPACE, Position, Role,
    USER_ID_LEN, XMLENC_NAMESPACE,
};
use crate::eccsi;
use crate::params::POINT_LEN;

/// An element of another namespace directly inside a 3GPP element, skipped with its subtree
/// but located, so that its text can be kept (a `ds:Signature`).
pub(super) struct Foreign {
    /// Its namespace (empty: none).
    pub(super) namespace: String,
    /// Its local name.
    pub(super) local: String,
    /// Its prefix, if it has one.
    pub(super) prefix: Option<String>,
    /// Offset of its start tag's `<`.
    pub(super) start: usize,
    /// Offset just after its end tag (or its empty-element tag).
    pub(super) end: usize,
}

/// An element of the 3GPP namespace.
pub(super) struct Node {
    /// Local name.
    pub(super) name: String,
    /// Unqualified (or 3GPP-qualified) attributes: local name and normalized value.
    pub(super) attrs: Vec<(String, String)>,
    /// The concatenated character data (may hold a secret key: zeroized on drop).
    pub(super) text: Zeroizing<String>,
    /// The 3GPP-namespace child elements, in order.
    pub(super) children: Vec<Node>,
    /// Offset of the start tag's `<`.
    pub(super) offset: usize,
    /// An `xenc:EncryptedKey` child was seen.
    pub(super) encrypted_key: bool,
    /// The octets between the start tag and the end tag (empty for an empty-element tag).
    pub(super) content: (usize, usize),
    /// The elements of other namespaces directly inside, in order.
    pub(super) foreign: Vec<Foreign>,
}

/// The namespace of an element, as far as this reader cares.
enum Ns {
    Kms,
    XmlEnc,
    /// Another namespace (empty: none).
    Other(String),
}

fn classify(r: &ResolveResult<'_>) -> Result<Ns, String> {
    match r {
        ResolveResult::Bound(Namespace(n)) if *n == NAMESPACE => Ok(Ns::Kms),
        ResolveResult::Bound(Namespace(n)) if *n == XMLENC_NAMESPACE => Ok(Ns::XmlEnc),
        ResolveResult::Bound(Namespace(n)) => Ok(Ns::Other((*n).to_string())),
        ResolveResult::Unbound => Ok(Ns::Other(String::new())),
        ResolveResult::Unknown(p) => Err(format!("namespace prefix `{p}` is not bound")),
    }
}

fn to_usize(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// A character of XML 1.0 (production Char): no control character but tab, LF and CR, no
/// U+FFFE or U+FFFF (a `str` holds no surrogates).
fn is_xml_char(c: char) -> bool {
    !matches!(c, '\0'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

/// A name without a colon (Namespaces in XML, NCName), with every non-ASCII character allowed
/// (a superset of the XML 1.0 name characters, enough to refuse what is not a name).
fn is_ncname(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || !c.is_ascii())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') || !c.is_ascii())
}

/// A qualified name: `NCName` or `NCName:NCName`.
fn is_qname(s: &str) -> bool {
    match s.split_once(':') {
        Some((prefix, local)) => is_ncname(prefix) && is_ncname(local),
        None => is_ncname(s),
    }
}

/// Pass 1 state.
struct TreeBuilder<'i> {
    input: &'i str,
    stack: Vec<Node>,
    /// Depth inside a skipped subtree of another namespace (0: not inside one).
    skip: usize,
    elements: usize,
    root: Option<Node>,
    /// The root elements accepted (3GPP namespace).
    roots: &'static [&'static str],
    /// How they are named in a [`AnnexDError::WrongRoot`].
    expected: &'static str,
}

impl<'i> TreeBuilder<'i> {
    fn pos(&self, offset: usize) -> Position {
        Position::in_text(self.input, offset)
    }

    fn malformed(&self, offset: usize, reason: impl Into<String>) -> AnnexDError {
        AnnexDError::Malformed {
            position: self.pos(offset),
            reason: reason.into(),
        }
    }

    fn stack_path(&self) -> String {
        let names: Vec<&str> = self.stack.iter().map(|n| n.name.as_str()).collect();
        names.join("/")
    }

    /// A start tag (`empty`: a self-closing one).
    fn open(
        &mut self,
        reader: &NsReader<&[u8]>,
        ns: Ns,
        e: &BytesStart<'_>,
        offset: usize,
        end: usize,
        empty: bool,
    ) -> Result<(), AnnexDError> {
        self.elements += 1;
        if self.elements > MAX_ELEMENTS {
            return Err(AnnexDError::TooManyElements {
                position: self.pos(offset),
                max: MAX_ELEMENTS,
            });
        }
        if self.stack.len() + self.skip + 1 > MAX_DEPTH {
            let mut path = self.stack_path();
            if matches!(ns, Ns::Kms) && self.skip == 0 {
                path = if path.is_empty() {
                    e.local_name().into_inner().to_string()
                } else {
                    format!("{path}/{}", e.local_name().into_inner())
                };
            }
            return Err(AnnexDError::TooDeep {
                path,
                position: self.pos(offset),
                max: MAX_DEPTH,
            });
        }
        if !is_qname(e.name().into_inner()) {
            return Err(self.malformed(offset, "invalid element name"));
        }
        // Attributes are checked on every element (well-formedness, namespaces) and kept on
        // 3GPP elements only.
        let keep = matches!(ns, Ns::Kms) && self.skip == 0;
        let mut attrs = Vec::new();
        for attr in e.attributes() {
            let attr = attr.map_err(|err| {
                // quick-xml counts attribute positions from the start of the tag.
                let within = match err {
                    AttrError::ExpectedEq(p)
                    | AttrError::ExpectedValue(p)
                    | AttrError::UnquotedValue(p)
                    | AttrError::ExpectedQuote(p, _)
                    | AttrError::Duplicated(p, _) => p,
                };
                self.malformed(offset.saturating_add(within), err.to_string())
            })?;
            if !is_qname(attr.key.into_inner()) {
                return Err(self.malformed(offset, "invalid attribute name"));
            }
            if attr.key.as_namespace_binding().is_some() {
                continue;
            }
            let value = attr
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|err| self.malformed(offset, err.to_string()))?;
            // The document holds no such character (checked up front), so it came from a
            // character reference such as `&#26;`, which XML 1.0 forbids as well.
            if !value.chars().all(is_xml_char) {
                return Err(self.malformed(
                    offset,
                    "a character reference to a character XML 1.0 does not allow",
                ));
            }
            let local = match attr.key.prefix() {
                None => Some(attr.key.local_name()),
                Some(_) => match reader.resolver().resolve_attribute(attr.key) {
                    (ResolveResult::Bound(Namespace(n)), local) if n == NAMESPACE => Some(local),
                    (ResolveResult::Unknown(p), _) => {
                        return Err(
                            self.malformed(offset, format!("namespace prefix `{p}` is not bound"))
                        );
                    }
                    _ => None,
                },
            };
            if keep && let Some(local) = local {
                attrs.push((local.into_inner().to_string(), value.into_owned()));
            }
        }

        if self.skip > 0 {
            if !empty {
                self.skip += 1;
            }
            return Ok(());
        }
        let local = e.local_name().into_inner();
        if self.root.is_some() {
            return Err(self.malformed(offset, "an element follows the root element"));
        }
        match ns {
            Ns::Kms => {
                if self.stack.is_empty() && !self.roots.contains(&local) {
                    return Err(AnnexDError::WrongRoot {
                        found: format!("{{{NAMESPACE}}}{local}"),
                        expected: self.expected,
                        position: self.pos(offset),
                    });
                }
                let node = Node {
                    name: local.to_string(),
                    attrs,
                    text: Zeroizing::new(String::new()),
                    children: Vec::new(),
                    offset,
                    encrypted_key: false,
                    content: (end, end),
                    foreign: Vec::new(),
                };
                if empty {
                    self.finish(node);
                } else {
                    self.stack.push(node);
                }
            }
            other => {
                let Some(parent) = self.stack.last_mut() else {
                    let found = match other {
                        Ns::Other(n) if n.is_empty() => local.to_string(),
                        Ns::Other(n) => format!("{{{n}}}{local}"),
                        _ => format!("{{{XMLENC_NAMESPACE}}}{local}"),
                    };
                    return Err(AnnexDError::WrongRoot {
                        found,
                        expected: self.expected,
                        position: self.pos(offset),
                    });
                };
                if matches!(other, Ns::XmlEnc) && local == "EncryptedKey" {
                    parent.encrypted_key = true;
                }
                parent.foreign.push(Foreign {
                    namespace: match other {
                        Ns::Other(n) => n,
                        Ns::XmlEnc => XMLENC_NAMESPACE.to_string(),
                        Ns::Kms => NAMESPACE.to_string(),
                    },
                    local: local.to_string(),
                    prefix: e.name().prefix().map(|p| p.into_inner().to_string()),
                    start: offset,
                    end,
                });
                if !empty {
                    self.skip = 1;
                }
            }
        }
        Ok(())
    }

    /// An end tag starting at `offset` and ending before `end`.
    fn close(&mut self, offset: usize, end: usize) {
        if self.skip > 0 {
            self.skip -= 1;
            if self.skip == 0
                && let Some(f) = self.stack.last_mut().and_then(|p| p.foreign.last_mut())
            {
                f.end = end;
            }
        } else if let Some(mut node) = self.stack.pop() {
            node.content.1 = offset;
            self.finish(node);
        }
    }

    fn finish(&mut self, node: Node) {
        match self.stack.last_mut() {
            Some(parent) => parent.children.push(node),
            None => self.root = Some(node),
        }
    }

    fn text(&mut self, text: &str, offset: usize) -> Result<(), AnnexDError> {
        if self.skip > 0 {
            return Ok(());
        }
        match self.stack.last_mut() {
            Some(top) => top.text.push_str(text),
            None if text.chars().all(is_xml_space) => {}
            None => {
                return Err(self.malformed(offset, "text outside the root element"));
            }
        }
        Ok(())
    }
}

/// The character an entity or character reference stands for; only the five predefined
/// entities exist (no DTD can declare more).
fn resolve_reference(name: &str) -> Result<char, String> {
    if let Some(num) = name.strip_prefix('#') {
        let (digits, radix) = match num.strip_prefix('x') {
            Some(hex) => (hex, 16),
            None => (num, 10),
        };
        let ok = !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix));
        return ok
            .then(|| u32::from_str_radix(digits, radix).ok())
            .flatten()
            .and_then(char::from_u32)
            .filter(|&c| is_xml_char(c))
            .ok_or_else(|| format!("invalid character reference `&{name};`"));
    }
    match name {
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "amp" => Ok('&'),
        "apos" => Ok('\''),
        "quot" => Ok('"'),
        _ => Err(format!(
            "undeclared entity `&{name};` (only the five predefined entities exist without a DTD)"
        )),
    }
}

/// Pass 1: the tree of 3GPP elements under a root named in `roots`.
fn parse_tree(
    input: &str,
    roots: &'static [&'static str],
    expected: &'static str,
) -> Result<Node, AnnexDError> {
    let mut reader = NsReader::from_str(input);
    let mut b = TreeBuilder {
        input,
        stack: Vec::new(),
        skip: 0,
        elements: 0,
        root: None,
        roots,
        expected,
    };
    let mut first = true;
    loop {
        let offset = to_usize(reader.buffer_position());
        let (ns, event) = match reader.read_resolved_event() {
            Ok((res, event)) => (classify(&res), event),
            Err(err) => {
                let at = to_usize(reader.error_position());
                return Err(b.malformed(at, err.to_string()));
            }
        };
        let ns = ns.map_err(|reason| b.malformed(offset, reason))?;
        let end = to_usize(reader.buffer_position());
        match event {
            Event::Start(e) => b.open(&reader, ns, &e, offset, end, false)?,
            Event::Empty(e) => b.open(&reader, ns, &e, offset, end, true)?,
            Event::End(_) => b.close(offset, end),
            Event::Text(t) => b.text(&t.xml10_content(), offset)?,
            Event::CData(c) => b.text(&c.xml10_content(), offset)?,
            Event::GeneralRef(r) => {
                let c = resolve_reference(&r).map_err(|reason| b.malformed(offset, reason))?;
                b.text(c.encode_utf8(&mut [0u8; 4]), offset)?;
            }
            Event::Decl(_) if !first => {
                return Err(b.malformed(offset, "XML declaration not at the start"));
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::DocType(_) => {
                return Err(AnnexDError::Doctype {
                    position: b.pos(offset),
                });
            }
            Event::Eof => break,
        }
        first = false;
    }
    if !b.stack.is_empty() {
        return Err(AnnexDError::Truncated {
            path: b.stack_path(),
            position: b.pos(input.len()),
        });
    }
    b.root.ok_or(AnnexDError::NoRootElement)
}

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

pub(super) fn opt_string(
    cx: Cx<'_>,
    parent: &El<'_>,
    name: &str,
) -> Result<Option<String>, AnnexDError> {
    parent
        .child(cx, name)?
        .map(|el| string(cx, &el))
        .transpose()
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

pub(super) fn opt_uint(
    cx: Cx<'_>,
    parent: &El<'_>,
    name: &str,
) -> Result<Option<u64>, AnnexDError> {
    parent.child(cx, name)?.map(|el| uint(cx, &el)).transpose()
}

/// An `xs:boolean`: `true`, `false`, `1` or `0`.
pub(super) fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

pub(super) fn opt_bool(
    cx: Cx<'_>,
    parent: &El<'_>,
    name: &str,
) -> Result<Option<bool>, AnnexDError> {
    parent
        .child(cx, name)?
        .map(|el| {
            parse_bool(el.text(cx)?)
                .ok_or_else(|| el.bad_value(cx, "not a boolean (true, false, 1, 0)"))
        })
        .transpose()
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
        kms_id: opt_string(cx, &el, "KmsId")?,
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
        cert_uri: opt_string(cx, el, "CertUri")?,
        kms_uri: nonempty(cx, &el.required(cx, "KmsUri")?)?,
        issuer: opt_string(cx, el, "Issuer")?,
        valid_from: opt_string(cx, el, "ValidFrom")?,
        valid_to: opt_string(cx, el, "ValidTo")?,
        revoked: opt_bool(cx, el, "Revoked")?,
        user_id_format: string(cx, &el.required(cx, "UserIdFormat")?)?,
        user_key_period,
        user_key_offset: uint(cx, &el.required(cx, "UserKeyOffset")?)?,
        pub_enc_key: fixed::<POINT_LEN>(cx, &el.required(cx, "PubEncKey")?)?,
        pub_auth_key: fixed::<{ eccsi::POINT_LEN }>(cx, &el.required(cx, "PubAuthKey")?)?,
        parameter_set: opt_uint(cx, el, "ParameterSet")?,
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
        cert_uri: opt_string(cx, el, "CertUri")?,
        issuer: opt_string(cx, el, "Issuer")?,
        user_uri: nonempty(cx, &el.required(cx, "UserUri")?)?,
        user_id: fixed::<USER_ID_LEN>(cx, &el.required(cx, "UserID")?)?,
        valid_from: opt_string(cx, el, "ValidFrom")?,
        valid_to: opt_string(cx, el, "ValidTo")?,
        key_period_no: uint(cx, &el.required(cx, "KeyPeriodNo")?)?,
        revoked: opt_bool(cx, el, "Revoked")?,
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
    fn references() {
        assert_eq!(resolve_reference("amp"), Ok('&'));
        assert_eq!(resolve_reference("#x41"), Ok('A'));
        assert_eq!(resolve_reference("#65"), Ok('A'));
        assert!(resolve_reference("#0").is_err());
        assert!(resolve_reference("#x").is_err());
        assert!(resolve_reference("#xD800").is_err());
        assert!(resolve_reference("#1").is_err());
        assert!(resolve_reference("#x+41").is_err());
        assert!(resolve_reference("lol").is_err());
    }

    #[test]
    fn names() {
        for ok in ["a", "kms:KmsResponse", "_x-1.2", "\u{e9}t\u{e9}"] {
            assert!(is_qname(ok), "{ok}");
        }
        for bad in ["", "1a", "a:", ":a", "a:b:c", "</a", "a b", "-a"] {
            assert!(!is_qname(bad), "{bad}");
        }
    }

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
