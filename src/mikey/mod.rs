//! MIKEY message codec: RFC 3830 (MIKEY), RFC 6043 (MIKEY-TICKET amendments: GENERIC-ID map,
//! IDR, PRF-HMAC-SHA-256), RFC 4563 (empty CS ID map) and RFC 6509 (MIKEY-SAKKE: SAKKE payload,
//! ECCSI SIGN), with the TS 33.180 Annex E additions (IDR roles 8/9, General Extension types 6
//! and 7).
//!
//! This module only encodes and decodes octets; it signs, verifies and decapsulates nothing.
//!
//! # Shape
//!
//! A message is the Common Header [`Hdr`] followed by a chain of [`Payload`]s: HDR names the
//! type of the first payload, each payload except SIGN starts with the type of the next one
//! (0 = last), and SIGN has no next-payload field and is always last (RFC 3830 s6). A
//! MIKEY-SAKKE I_MESSAGE (RFC 6509 s2.1) is `HDR, T, RAND, [IDRi], [IDRr], [IDRkmsi],
//! [IDRkmsr], [CERT], {SP}, SAKKE, SIGN`; TS 33.180 puts its General Extensions between SAKKE
//! and SIGN. The codec does not enforce a message shape: that is the job of the layer that
//! builds or accepts I_MESSAGEs.
//!
//! * [`parse`] follows the next-payload chain from HDR and returns a [`Message`] whose
//!   variable-length fields borrow from the input (`&'a [u8]`), so parsing allocates only the
//!   payload list and the small per-payload lists.
//! * [`Message::new`] checks a hand-built message (every field fits its length field, SIGN is
//!   last), so [`Message::encode`] cannot fail. Next-payload octets and length fields are
//!   never stored: they are derived from the payload list when encoding.
//! * For every input that [`parse`] accepts, encoding the result gives back the identical
//!   octets (checked on the interop vectors and by property tests), so a parsed message has one
//!   encoding.
//! * [`Message::signed_portion`] gives the octets the SIGN payload covers: from the first HDR
//!   octet through the two SIGN header octets (RFC 3830 s5.2, s6.5), or, for peers that sign
//!   without those two octets, up to the SIGN payload ([`SignCoverage`]).
//!
//! # Guarantees
//!
//! * [`parse`] never panics, whatever the input: every read is bounds-checked.
//! * No allocation is sized by a length or count field: a variable-length field is checked
//!   against the octets left before it is sliced, and lists grow one decoded entry at a time.
//! * Errors are precise ([`ParseError`]: the octet offset, the payload, the reason), since
//!   MIKEY messages are public data.
//! * Field values are kept as their raw octets ([`values`] newtypes), so unregistered values
//!   round-trip; only a value that decides the layout of what follows (CS ID map type, TS type,
//!   MAC algorithm) and the HDR version are rejected when unknown.
//!
//! # Example
//!
//! ```
//! use mikey_sakke::mikey::{self, Payload, SignCoverage};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // HDR (SAKKE msg, PRF-HMAC-SHA-256, CSB ID 0x01020304, empty CS ID map), RAND, SIGN.
//! let octets = [
//!     0x01, 0x1a, 0x0b, 0x01, 0x01, 0x02, 0x03, 0x04, 0x00, 0x01, // HDR, next = RAND
//!     0x04, 0x02, 0xaa, 0xbb, // RAND, next = SIGN, 2 octets
//!     0x20, 0x03, 0x11, 0x22, 0x33, // SIGN: type 2 (ECCSI), 3 octets
//! ];
//! let msg = mikey::parse(&octets)?;
//! assert_eq!(msg.hdr().csb_id, 0x0102_0304);
//! assert!(matches!(msg.payloads()[0], Payload::Rand(r) if r.rand == [0xaa, 0xbb]));
//! assert_eq!(msg.encode(), octets);
//! let covered = msg.signed_portion(SignCoverage::Rfc3830).ok_or("no SIGN")?;
//! assert_eq!(&*covered, &octets[..16]);
//! # Ok(())
//! # }
//! ```

mod annotate;
mod error;
mod hdr;
mod kemac;
mod payload;
mod reader;
pub mod values;

use std::borrow::Cow;

pub use annotate::Annotation;
pub use error::{BuildError, Context, ParseError, ParseErrorKind};
pub use hdr::{CsIdMap, GenericIdEntry, Hdr, SrtpIdEntry, VERSION};
pub use kemac::{Kemac, KeyData, KeyValidity, Verification};
pub use payload::{
    Cert, ErrorPayload, GeneralExtension, Id, Idr, Payload, PolicyParam, Rand, Sakke,
    SecurityPolicy, Sign, Timestamp,
};
pub use values::{
    CertType, CsIdMapType, DataType, EncrAlg, ErrorNo, ExtType, IdRole, IdScheme, IdType,
    KeyDataType, KvType, MacAlg, PayloadType, PrfFunc, ProtType, SakkeParams, SignatureType,
    SrtpParamType, TsType,
};

use reader::Reader;

/// Which octets a SIGN payload's signature covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignCoverage {
    /// RFC 3830 s5.2, s6.5 (and RFC 6509 s4.3): the whole message from the first HDR octet
    /// through the two S type / Signature len octets, i.e. everything but the signature.
    Rfc3830,
    /// Compatibility: everything before the SIGN payload, without its two header octets. Some
    /// deployed MCX implementations sign this; a receiver that wants to interoperate with them
    /// retries verification with it. Never use it to sign.
    WithoutSignHeader,
}

/// A MIKEY message: the Common Header and the payloads after it, in order.
///
/// Built by [`parse`] (borrowing from the input) or by [`Message::new`] (checked, so that
/// [`Message::encode`] cannot fail). The parts are read-only: a parsed message always
/// describes exactly the octets it was parsed from.
#[derive(Clone, Debug)]
pub struct Message<'a> {
    hdr: Hdr<'a>,
    payloads: Vec<Payload<'a>>,
    /// The octets this message was parsed from (`None` for a built message).
    source: Option<&'a [u8]>,
}

impl PartialEq for Message<'_> {
    /// Equal content; whether a message was parsed or built does not matter.
    fn eq(&self, other: &Self) -> bool {
        self.hdr == other.hdr && self.payloads == other.payloads
    }
}

impl Eq for Message<'_> {}

/// Checks that a length fits in `max`.
pub(crate) fn check_len(field: &'static str, length: usize, max: usize) -> Result<(), BuildError> {
    if length > max {
        Err(BuildError::TooLong { field, length, max })
    } else {
        Ok(())
    }
}

/// Appends a 2-octet big-endian length (checked beforehand to fit).
pub(crate) fn put_u16(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
}

/// The longest message [`parse`] accepts, in octets. An MCX I_MESSAGE is under 2 KiB; the
/// limit leaves room for vendor extensions while bounding the work done on hostile input.
pub const MAX_MESSAGE_LEN: usize = 64 * 1024;

/// The most payloads [`parse`] accepts in one message (an I_MESSAGE has about a dozen).
pub const MAX_PAYLOADS: usize = 64;

/// Decodes a MIKEY message (RFC 3830 s6): HDR, then the payloads named by the next-payload
/// chain, up to a payload whose next payload is 0 or up to SIGN. The input must end there.
///
/// # Errors
/// A [`ParseError`] with the offset, the payload and the reason: empty input, a version other
/// than 1, a truncated field, a length field larger than the octets left, an unknown or
/// unsupported next-payload type, a layout-deciding field with an unknown value, octets after
/// the last payload, a message over [`MAX_MESSAGE_LEN`] octets or [`MAX_PAYLOADS`] payloads.
///
/// # Panics
/// Never.
pub fn parse(input: &[u8]) -> Result<Message<'_>, ParseError> {
    let mut r = Reader::new(input, Context::Hdr);
    if r.is_empty() {
        return Err(r.error_at(0, ParseErrorKind::MissingHdr));
    }
    if input.len() > MAX_MESSAGE_LEN {
        return Err(r.error_at(
            0,
            ParseErrorKind::MessageTooLong {
                length: input.len(),
            },
        ));
    }
    let (hdr, mut next, mut next_at) = Hdr::parse(&mut r)?;
    let mut payloads = Vec::new();
    while next != PayloadType::LAST.0 {
        let t = PayloadType(next);
        if !Payload::is_decodable(t) {
            let kind = if t.name().is_some() {
                ParseErrorKind::UnsupportedPayloadType(next)
            } else {
                ParseErrorKind::UnknownPayloadType(next)
            };
            return Err(r.error_at(next_at, kind));
        }
        if payloads.len() == MAX_PAYLOADS {
            return Err(r.error_at(next_at, ParseErrorKind::TooManyPayloads));
        }
        r.set_context(Context::Payload(t));
        let (p, n) = Payload::parse(&mut r, t)?;
        payloads.push(p);
        match n {
            Some((n, at)) => {
                next = n;
                next_at = at;
            }
            None => break, // SIGN is always last
        }
    }
    if !r.is_empty() {
        return Err(r.error_at(
            r.offset(),
            ParseErrorKind::TrailingData {
                length: r.remaining(),
            },
        ));
    }
    Ok(Message {
        hdr,
        payloads,
        source: Some(input),
    })
}

/// Encodes a message (RFC 3830 s6); the same as [`Message::encode`].
///
/// # Panics
/// Never.
pub fn encode(msg: &Message<'_>) -> Vec<u8> {
    msg.encode()
}

impl<'a> Message<'a> {
    /// A message from its parts, checked so that it can be encoded and parses back to itself:
    /// every variable-length field fits its length field (RFC 3830 s6), bit fields fit their
    /// widths, MACs have their algorithm's length, and a SIGN payload, if any, is the last
    /// one.
    ///
    /// # Errors
    /// The first [`BuildError`] found.
    pub fn new(hdr: Hdr<'a>, payloads: Vec<Payload<'a>>) -> Result<Self, BuildError> {
        hdr.check()?;
        for (i, p) in payloads.iter().enumerate() {
            p.check()?;
            if matches!(p, Payload::Sign(_)) && i + 1 != payloads.len() {
                return Err(BuildError::SignNotLast);
            }
        }
        Ok(Self {
            hdr,
            payloads,
            source: None,
        })
    }

    /// The Common Header (RFC 3830 s6.1).
    pub fn hdr(&self) -> &Hdr<'a> {
        &self.hdr
    }

    /// The payloads after HDR, in the order of the next-payload chain (RFC 3830 s6).
    pub fn payloads(&self) -> &[Payload<'a>] {
        &self.payloads
    }

    /// The header and the payloads, by value.
    pub fn into_parts(self) -> (Hdr<'a>, Vec<Payload<'a>>) {
        (self.hdr, self.payloads)
    }

    /// The octets this message was parsed from, or `None` for a built message.
    pub fn source(&self) -> Option<&'a [u8]> {
        self.source
    }

    /// The length of the encoding (RFC 3830 s6).
    pub fn encoded_len(&self) -> usize {
        self.hdr.encoded_len()
            + self
                .payloads
                .iter()
                .map(Payload::encoded_len)
                .sum::<usize>()
    }

    /// The encoding (RFC 3830 s6): the next-payload octets and every length field are derived
    /// from the payload list. For a parsed message these are the octets it was parsed from.
    ///
    /// # Panics
    /// Never.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        let type_at = |i: usize| {
            self.payloads
                .get(i)
                .map_or(PayloadType::LAST.0, |p| p.payload_type().0)
        };
        self.hdr.encode_into(type_at(0), &mut out);
        for (i, p) in self.payloads.iter().enumerate() {
            p.encode_into(type_at(i + 1), &mut out);
        }
        out
    }

    /// Each payload with the offset of its first octet in the encoding (HDR is at 0 and
    /// [`Hdr`]'s length is 10 octets plus the CS ID map info, RFC 3830 s6.1).
    pub fn payloads_with_offsets(&self) -> impl Iterator<Item = (usize, &Payload<'a>)> {
        self.payloads.iter().scan(self.hdr.encoded_len(), |at, p| {
            let here = *at;
            *at += p.encoded_len();
            Some((here, p))
        })
    }

    /// The T payload's timestamp (RFC 3830 s6.6), if there is one (the first, if several).
    pub fn timestamp(&self) -> Option<&Timestamp> {
        self.payloads.iter().find_map(|p| match p {
            Payload::T(t) => Some(t),
            _ => None,
        })
    }

    /// The first RAND payload (RFC 3830 s6.11).
    pub fn rand(&self) -> Option<&Rand<'a>> {
        self.payloads.iter().find_map(|p| match p {
            Payload::Rand(r) => Some(r),
            _ => None,
        })
    }

    /// The IDR payloads (RFC 6043 s6.6, RFC 6509 s4.4), in order.
    pub fn idrs(&self) -> impl Iterator<Item = &Idr<'a>> {
        self.payloads.iter().filter_map(|p| match p {
            Payload::Idr(i) => Some(i),
            _ => None,
        })
    }

    /// The first IDR payload with the given role (RFC 6043 s6.6; e.g. IDRkmsr, RFC 6509 s4.4).
    pub fn idr(&self, role: IdRole) -> Option<&Idr<'a>> {
        self.idrs().find(|i| i.role == role)
    }

    /// The SP payloads (RFC 3830 s6.10), in order.
    pub fn security_policies(&self) -> impl Iterator<Item = &SecurityPolicy<'a>> {
        self.payloads.iter().filter_map(|p| match p {
            Payload::Sp(s) => Some(s),
            _ => None,
        })
    }

    /// The first SAKKE payload (RFC 6509 s4.2).
    pub fn sakke(&self) -> Option<&Sakke<'a>> {
        self.payloads.iter().find_map(|p| match p {
            Payload::Sakke(s) => Some(s),
            _ => None,
        })
    }

    /// The General Extension payloads (RFC 3830 s6.15), in order.
    pub fn general_extensions(&self) -> impl Iterator<Item = &GeneralExtension<'a>> {
        self.payloads.iter().filter_map(|p| match p {
            Payload::GeneralExtension(g) => Some(g),
            _ => None,
        })
    }

    /// The SIGN payload (RFC 3830 s6.5: always the last one), if present.
    pub fn sign(&self) -> Option<&Sign<'a>> {
        match self.payloads.last() {
            Some(Payload::Sign(s)) => Some(s),
            _ => None,
        }
    }

    /// The offset of the SIGN payload, i.e. of its two S type / Signature len octets, in the
    /// encoding; `None` without SIGN.
    pub fn sign_offset(&self) -> Option<usize> {
        let s = self.sign()?;
        let total = self.source.map_or_else(|| self.encoded_len(), <[u8]>::len);
        total.checked_sub(2 + s.signature.len())
    }

    /// The octets the signature covers (RFC 3830 s5.2, s6.5; RFC 6509 s4.3), from the first
    /// HDR octet through the two SIGN header octets ([`SignCoverage::Rfc3830`]) or up to the
    /// SIGN payload ([`SignCoverage::WithoutSignHeader`]). Borrowed from the input for a parsed
    /// message (the exact octets received), encoded for a built one. `None` without SIGN.
    ///
    /// # Security
    /// Verify the signature over these octets before acting on any other payload
    /// (RFC 6509 s2.2.2). Use [`SignCoverage::WithoutSignHeader`] only as a verification
    /// fallback for peers known to sign that way.
    pub fn signed_portion(&self, coverage: SignCoverage) -> Option<Cow<'a, [u8]>> {
        let at = self.sign_offset()?;
        let end = match coverage {
            SignCoverage::Rfc3830 => at + 2,
            SignCoverage::WithoutSignHeader => at,
        };
        match self.source {
            Some(src) => src.get(..end).map(Cow::Borrowed),
            None => {
                let mut v = self.encode();
                v.truncate(end);
                Some(Cow::Owned(v))
            }
        }
    }

    /// A field-by-field description of the encoding with offsets and the RFC section of each
    /// payload, for dumps such as `mikey-sakke mikey inspect`.
    pub fn annotate(&self) -> Vec<Annotation> {
        annotate::annotate(self)
    }
}
