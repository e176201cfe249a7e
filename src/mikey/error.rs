//! Errors of the MIKEY codec: [`ParseError`] for octets that are not a well-formed message,
//! [`BuildError`] for a [`Message`](super::Message) that could not be encoded.
//!
//! MIKEY messages are public data, so these errors are precise: they name the octet offset, the
//! payload being decoded and the reason.

use core::fmt;

use super::PayloadType;

/// Where in a message a [`ParseError`] happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Context {
    /// The Common Header payload HDR (RFC 3830 s6.1), which has no payload type number.
    Hdr,
    /// A payload of the given type (RFC 3830 s6, table 6.1.c).
    Payload(PayloadType),
    /// A Key data sub-payload (RFC 3830 s6.13) inside the Encr data of a KEMAC payload.
    KeyData,
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Hdr => f.write_str("HDR"),
            Self::Payload(t) => match t.name() {
                Some(name) => write!(f, "{name} payload"),
                None => write!(f, "payload of type {}", t.0),
            },
            Self::KeyData => f.write_str("Key data sub-payload"),
        }
    }
}

/// Why octets were rejected (the `reason` of a [`ParseError`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The input is empty: a MIKEY message starts with HDR (RFC 3830 s6.1).
    MissingHdr,
    /// The HDR version octet is not 1 (RFC 3830 s6.1).
    BadVersion(u8),
    /// A fixed-size field is cut off by the end of the input (or of the enclosing field).
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Octets the field needs.
        needed: usize,
        /// Octets that were left.
        available: usize,
    },
    /// A length field (or a count) asks for more octets than are left.
    LengthExceedsInput {
        /// The variable-length field the length applies to.
        field: &'static str,
        /// Octets the length field asks for.
        length: usize,
        /// Octets that were left.
        available: usize,
    },
    /// A next-payload octet names a payload type that no specification known here defines.
    UnknownPayloadType(u8),
    /// A next-payload octet names a payload type that is defined (RFC 3830 PKE, DH, CHASH;
    /// RFC 6043 TR, RANDR, TP, TICKET; or a Key data sub-payload outside KEMAC) but that this
    /// codec does not decode.
    UnsupportedPayloadType(u8),
    /// A field that selects the layout of what follows (CS ID map type, TS type, MAC or
    /// authentication algorithm, Key data type or KV) has a value whose layout is not known.
    InvalidField {
        /// The field.
        field: &'static str,
        /// Its value.
        value: u8,
    },
    /// Octets remain after the last payload (next payload 0, or SIGN, which is always last).
    TrailingData {
        /// How many octets remain.
        length: usize,
    },
    /// The message is longer than [`MAX_MESSAGE_LEN`](super::MAX_MESSAGE_LEN): refused before
    /// any parsing.
    MessageTooLong {
        /// The message length.
        length: usize,
    },
    /// More payloads than [`MAX_PAYLOADS`](super::MAX_PAYLOADS).
    TooManyPayloads,
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingHdr => f.write_str("empty input, no HDR"),
            Self::BadVersion(v) => write!(f, "version {v}, expected 1"),
            Self::Truncated {
                field,
                needed,
                available,
            } => write!(
                f,
                "truncated: {field} needs {needed} octet(s), {available} left"
            ),
            Self::LengthExceedsInput {
                field,
                length,
                available,
            } => write!(
                f,
                "{field} is {length} octet(s) long by its length field, but only {available} left"
            ),
            Self::UnknownPayloadType(t) => write!(f, "unknown next payload type {t}"),
            Self::UnsupportedPayloadType(t) => {
                let name = PayloadType(*t).name().unwrap_or("?");
                write!(f, "payload type {t} ({name}) is not supported here")
            }
            Self::InvalidField { field, value } => {
                write!(f, "{field} value {value} is not supported")
            }
            Self::TrailingData { length } => {
                write!(f, "{length} trailing octet(s) after the last payload")
            }
            Self::MessageTooLong { length } => write!(
                f,
                "message of {length} octets, over the {}-octet limit",
                super::MAX_MESSAGE_LEN
            ),
            Self::TooManyPayloads => {
                write!(f, "more than {} payloads", super::MAX_PAYLOADS)
            }
        }
    }
}

/// Octets that are not a well-formed MIKEY message.
///
/// `offset` is counted from the first octet of the parsed input. It points at the field
/// that could not be decoded: the length field whose value is too large, the first octet of a
/// truncated field, the next-payload octet that names an unknown type, the first trailing
/// octet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParseError {
    /// Octet offset of the offending field.
    pub offset: usize,
    /// The payload being decoded.
    pub context: Context,
    /// What is wrong.
    pub kind: ParseErrorKind,
}

impl ParseError {
    pub(crate) fn new(offset: usize, context: Context, kind: ParseErrorKind) -> Self {
        Self {
            offset,
            context,
            kind,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MIKEY {} at offset {}: {}",
            self.context, self.offset, self.kind
        )
    }
}

impl std::error::Error for ParseError {}

/// A [`Message`](super::Message) that cannot be encoded: a field does not fit its length
/// field, or the payload order breaks a rule of RFC 3830 s6.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// A variable-length field is longer than its length field can say (or a list has more
    /// entries than its count field can hold).
    TooLong {
        /// The field.
        field: &'static str,
        /// Its length (octets or entries).
        length: usize,
        /// The largest length the encoding can carry.
        max: usize,
    },
    /// A field holds a value outside its bit width (the 7-bit PRF func, the 4-bit S type, ...).
    ValueOutOfRange {
        /// The field.
        field: &'static str,
        /// The value.
        value: u32,
    },
    /// A MAC or verification field whose length is not the one its algorithm fixes
    /// (RFC 3830 s6.2, s6.9).
    WrongLength {
        /// The field.
        field: &'static str,
        /// The length its algorithm requires.
        expected: usize,
        /// The length given.
        got: usize,
    },
    /// An algorithm whose MAC length is not known, so the message could not be parsed back.
    UnknownAlgorithm {
        /// The field.
        field: &'static str,
        /// The value.
        value: u8,
    },
    /// SIGN is not the last payload (RFC 3830 s6.5: it has no next-payload field).
    SignNotLast,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong { field, length, max } => {
                write!(f, "{field} is {length} long, at most {max} can be encoded")
            }
            Self::ValueOutOfRange { field, value } => {
                write!(f, "{field} value {value} does not fit its field")
            }
            Self::WrongLength {
                field,
                expected,
                got,
            } => write!(f, "{field} must be {expected} octets, got {got}"),
            Self::UnknownAlgorithm { field, value } => {
                write!(f, "{field} value {value} has no known length")
            }
            Self::SignNotLast => f.write_str("SIGN must be the last payload"),
        }
    }
}

impl std::error::Error for BuildError {}
