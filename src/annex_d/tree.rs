//! Pass 1 of the reader: quick-xml events become a small tree of the 3GPP-namespace elements,
//! with their unqualified attributes and text; elements of other namespaces are skipped with
//! their subtrees (an `xenc:EncryptedKey` is noted on its parent, every one is located so that
//! its text can be kept). This pass enforces the limits (depth, element count), refuses a
//! DOCTYPE and any entity but the five predefined ones, and checks well-formedness quick-xml
//! leaves to its caller (one root, no text outside it, nothing left open at the end).

use quick_xml::XmlVersion;
use quick_xml::events::attributes::AttrError;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::reader::NsReader;
use zeroize::Zeroizing;

use super::{AnnexDError, MAX_DEPTH, MAX_ELEMENTS, NAMESPACE, Position, XMLENC_NAMESPACE};

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

pub(super) fn to_usize(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

pub(super) fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// A character of XML 1.0 (production Char): no control character but tab, LF and CR, no
/// U+FFFE or U+FFFF (a `str` holds no surrogates).
pub(super) fn is_xml_char(c: char) -> bool {
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
pub(super) fn parse_tree(
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
}
