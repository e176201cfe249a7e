//! The reader's errors and positions in the document text.

use core::fmt;

use super::NAMESPACE;

/// A place in the document text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
    /// Offset in octets from the start of the document, from 0.
    pub offset: usize,
}

impl Position {
    /// The position of octet `offset` of `text` (clamped to its length).
    pub fn in_text(text: &str, offset: usize) -> Self {
        let bytes = text.as_bytes();
        let offset = offset.min(bytes.len());
        let before = bytes.get(..offset).unwrap_or(bytes);
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        // Count characters, not octets: skip UTF-8 continuation octets.
        let column = 1 + before
            .get(line_start..)
            .unwrap_or(&[])
            .iter()
            .filter(|&&b| b & 0xC0 != 0x80)
            .count();
        Self {
            line,
            column,
            offset,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {} (offset {})",
            self.line, self.column, self.offset
        )
    }
}

/// Why a document could not be read.
///
/// Documents are public wire data, so the errors are precise: where a variant has a `path`, it
/// is the slash-separated path of 3GPP element names from the root, with a 1-based index for
/// repeated elements (`KmsResponse/KmsMessage/KmsKeyProv/KmsKeySet[2]/UserDecryptKey`), and
/// `position` is where that element (or the offending markup) starts.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AnnexDError {
    /// The document is larger than [`MAX_DOCUMENT_LEN`](super::MAX_DOCUMENT_LEN).
    TooLarge {
        /// The document's length in octets.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Elements nest deeper than [`MAX_DEPTH`](super::MAX_DEPTH).
    TooDeep {
        /// The path of the element that went past the limit (its parent's path if it is in
        /// another namespace).
        path: String,
        /// Where that element starts.
        position: Position,
        /// The limit.
        max: usize,
    },
    /// The document has more than [`MAX_ELEMENTS`](super::MAX_ELEMENTS) elements.
    TooManyElements {
        /// Where the first element past the limit starts.
        position: Position,
        /// The limit.
        max: usize,
    },
    /// The document has a `DOCTYPE` declaration. Refused outright: a DTD could declare
    /// entities (billion laughs, external entities), and the KMS interface never needs one.
    Doctype {
        /// Where the declaration starts.
        position: Position,
    },
    /// The text is not well-formed XML (as found by quick-xml or by this reader: an unknown
    /// entity, text outside the root element, an unbound namespace prefix, ...).
    Malformed {
        /// Where the problem was found.
        position: Position,
        /// What is wrong.
        reason: String,
    },
    /// The document ends inside an element.
    Truncated {
        /// The path of the innermost element left open.
        path: String,
        /// The end of the document.
        position: Position,
    },
    /// The document has no root element.
    NoRootElement,
    /// The root element is not the one the reader reads in the 3GPP namespace (`KmsResponse`
    /// for a response: a `SignedKmsResponse` is refused too, XML signatures are not verified
    /// here; `KmsRequest`, `SignedKmsRequest` or `KmsCertificate` for the other readers).
    WrongRoot {
        /// The root found, as `{namespace}name` or `name` when in no namespace.
        found: String,
        /// The root element(s) the reader expected (in the 3GPP namespace), e.g.
        /// `KmsResponse`.
        expected: &'static str,
        /// Where it starts.
        position: Position,
    },
    /// A mandatory element is missing.
    MissingElement {
        /// The path of the element that should contain it.
        path: String,
        /// The missing element's name.
        element: &'static str,
        /// Where the containing element starts.
        position: Position,
    },
    /// An element that may occur once occurs again.
    DuplicateElement {
        /// The path of the repeated element.
        path: String,
        /// Where its second occurrence starts.
        position: Position,
    },
    /// A 3GPP-namespace element where the schema allows none (inside `KmsKeySet`, inside a
    /// value, or a second choice of `KmsMessage`).
    UnexpectedElement {
        /// The path of the unexpected element.
        path: String,
        /// Where it starts.
        position: Position,
    },
    /// A construct this crate does not support, refused rather than skipped: a TrK-encrypted
    /// key (`xenc:EncryptedKey`), a `SignedKmsCertificate`.
    Unsupported {
        /// The path of the element holding it.
        path: String,
        /// Where that element starts.
        position: Position,
        /// What it is.
        what: &'static str,
    },
    /// A key value or UserID is neither hexBinary nor base64 (or is empty).
    BadEncoding {
        /// The path of the value element.
        path: String,
        /// Where it starts.
        position: Position,
        /// What is wrong.
        reason: &'static str,
    },
    /// A key value or UserID decodes to the wrong number of octets.
    WrongLength {
        /// The path of the value element.
        path: String,
        /// Where it starts.
        position: Position,
        /// The octets required (the most allowed, for `UserSigningKeySSK`).
        expected: usize,
        /// The octets found.
        got: usize,
    },
    /// Any other invalid value: an empty URI, a bad integer, boolean or role.
    BadValue {
        /// The path of the element (or `element/@Attribute`).
        path: String,
        /// Where the element starts.
        position: Position,
        /// What is wrong.
        reason: String,
    },
}

impl AnnexDError {
    /// The element path the error is about, if it is about one.
    pub fn path(&self) -> Option<&str> {
        match self {
            Self::TooDeep { path, .. }
            | Self::Truncated { path, .. }
            | Self::MissingElement { path, .. }
            | Self::DuplicateElement { path, .. }
            | Self::UnexpectedElement { path, .. }
            | Self::Unsupported { path, .. }
            | Self::BadEncoding { path, .. }
            | Self::WrongLength { path, .. }
            | Self::BadValue { path, .. } => Some(path),
            Self::TooLarge { .. }
            | Self::TooManyElements { .. }
            | Self::Doctype { .. }
            | Self::Malformed { .. }
            | Self::NoRootElement
            | Self::WrongRoot { .. } => None,
        }
    }

    /// Where in the document the error is, if it is at one place.
    pub fn position(&self) -> Option<Position> {
        match self {
            Self::TooDeep { position, .. }
            | Self::TooManyElements { position, .. }
            | Self::Doctype { position }
            | Self::Malformed { position, .. }
            | Self::Truncated { position, .. }
            | Self::WrongRoot { position, .. }
            | Self::MissingElement { position, .. }
            | Self::DuplicateElement { position, .. }
            | Self::UnexpectedElement { position, .. }
            | Self::Unsupported { position, .. }
            | Self::BadEncoding { position, .. }
            | Self::WrongLength { position, .. }
            | Self::BadValue { position, .. } => Some(*position),
            Self::TooLarge { .. } | Self::NoRootElement => None,
        }
    }
}

impl fmt::Display for AnnexDError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { len, max } => {
                write!(f, "document is {len} octets, more than the {max} allowed")
            }
            Self::TooDeep {
                path,
                position,
                max,
            } => write!(
                f,
                "{path}: elements nest deeper than {max} levels at {position}"
            ),
            Self::TooManyElements { position, max } => {
                write!(f, "more than {max} elements (at {position})")
            }
            Self::Doctype { position } => write!(
                f,
                "DOCTYPE declarations are not allowed (no entities are expanded), at {position}"
            ),
            Self::Malformed { position, reason } => {
                write!(f, "malformed XML at {position}: {reason}")
            }
            Self::Truncated { path, position } => {
                write!(f, "document ends inside {path} at {position}")
            }
            Self::NoRootElement => f.write_str("document has no root element"),
            Self::WrongRoot {
                found,
                expected,
                position,
            } => write!(
                f,
                "root element must be {expected} in namespace {NAMESPACE}, found {found} at \
                 {position}"
            ),
            Self::MissingElement {
                path,
                element,
                position,
            } => write!(
                f,
                "{path}: missing element {element} (element at {position})"
            ),
            Self::DuplicateElement { path, position } => {
                write!(f, "{path}: element repeated at {position}")
            }
            Self::UnexpectedElement { path, position } => {
                write!(f, "{path}: element not allowed here, at {position}")
            }
            Self::Unsupported {
                path,
                position,
                what,
            } => write!(f, "{path}: {what} is not supported (at {position})"),
            Self::BadEncoding {
                path,
                position,
                reason,
            } => write!(f, "{path}: {reason} (at {position})"),
            Self::WrongLength {
                path,
                position,
                expected,
                got,
            } => write!(
                f,
                "{path}: value must be {expected} octets, got {got} (at {position})"
            ),
            Self::BadValue {
                path,
                position,
                reason,
            } => write!(f, "{path}: {reason} (at {position})"),
        }
    }
}

impl std::error::Error for AnnexDError {}
