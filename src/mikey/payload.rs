//! The payloads that follow HDR (RFC 3830 s6.2-s6.15, RFC 6043 s6.6, RFC 6509 s4.2-s4.3).
//!
//! Every payload except SIGN starts with a next-payload octet; it is not stored here but
//! implied by the position of the payload in the [`Message`](super::Message).

use super::error::{BuildError, ParseError, ParseErrorKind};
use super::kemac::{Kemac, Verification};
use super::reader::Reader;
use super::values::{
    CertType, ErrorNo, ExtType, IdRole, IdScheme, IdType, PayloadType, ProtType, SakkeParams,
    SignatureType, TsType,
};
use super::{check_len, put_u16};

/// One payload of a MIKEY message, borrowing its variable-length fields from the input.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Payload<'a> {
    /// KEMAC, key data transport (RFC 3830 s6.2).
    Kemac(Kemac<'a>),
    /// SIGN, the signature; always the last payload (RFC 3830 s6.5, RFC 6509 s4.3).
    Sign(Sign<'a>),
    /// T, a timestamp (RFC 3830 s6.6, RFC 6043 s6.3).
    T(Timestamp),
    /// ID, an identity (RFC 3830 s6.7).
    Id(Id<'a>),
    /// CERT, a certificate (RFC 3830 s6.7).
    Cert(Cert<'a>),
    /// V, verification data (RFC 3830 s6.9).
    V(Verification<'a>),
    /// SP, a security policy (RFC 3830 s6.10).
    Sp(SecurityPolicy<'a>),
    /// RAND (RFC 3830 s6.11).
    Rand(Rand<'a>),
    /// ERR, an error report (RFC 3830 s6.12).
    Err(ErrorPayload),
    /// IDR, an identity with a role (RFC 6043 s6.6, RFC 6509 s4.4).
    Idr(Idr<'a>),
    /// General Extension (RFC 3830 s6.15).
    GeneralExtension(GeneralExtension<'a>),
    /// SAKKE, the encapsulated key (RFC 6509 s4.2).
    Sakke(Sakke<'a>),
}

/// The T payload's timestamp (RFC 3830 s6.6: `next (1) | TS type (1) | TS value`, the value's
/// length fixed by the type; RFC 6043 s6.3 adds NTP-UTC-32).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timestamp {
    /// TS type 0: 64-bit NTP time in UTC (seconds since 1900 in the high 32 bits, binary
    /// fraction in the low 32). RFC 6509 s4 and TS 33.180 E.1.2 require this type.
    NtpUtc(u64),
    /// TS type 1: 64-bit NTP time in the sender's local time zone.
    Ntp(u64),
    /// TS type 2: a 32-bit counter.
    Counter(u32),
    /// TS type 3: 32-bit NTP-UTC, seconds only (RFC 6043 s6.3).
    NtpUtc32(u32),
}

impl Timestamp {
    /// The TS type of this timestamp.
    pub fn ts_type(&self) -> TsType {
        match self {
            Self::NtpUtc(_) => TsType::NTP_UTC,
            Self::Ntp(_) => TsType::NTP,
            Self::Counter(_) => TsType::COUNTER,
            Self::NtpUtc32(_) => TsType::NTP_UTC_32,
        }
    }

    /// The TS value as an integer.
    pub fn value(&self) -> u64 {
        match *self {
            Self::NtpUtc(v) | Self::Ntp(v) => v,
            Self::Counter(v) | Self::NtpUtc32(v) => u64::from(v),
        }
    }

    fn value_len(&self) -> usize {
        match self {
            Self::NtpUtc(_) | Self::Ntp(_) => 8,
            Self::Counter(_) | Self::NtpUtc32(_) => 4,
        }
    }
}

/// The RAND payload (RFC 3830 s6.11): `next (1) | RAND len (1) | RAND`. RFC 6509 s2.1 makes it
/// mandatory; TS 33.180 messages carry 16 octets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rand<'a> {
    /// The random octets (at most 255).
    pub rand: &'a [u8],
}

/// The ERR payload (RFC 3830 s6.12): `next (1) | Error no (1) | reserved (2)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorPayload {
    /// The error number.
    pub error_no: ErrorNo,
    /// The two reserved octets, kept as sent (zero when built here).
    pub reserved: u16,
}

/// The ID payload (RFC 3830 s6.7): `next (1) | ID type (1) | ID len (2) | ID data`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Id<'a> {
    /// ID type (NAI, URI, byte string).
    pub id_type: IdType,
    /// The identity (at most 65535 octets).
    pub data: &'a [u8],
}

/// The IDR payload (RFC 6043 s6.6):
/// `next (1) | ID role (1) | ID type (1) | ID len (2) | ID data`.
///
/// RFC 6509 s4.4 adds the roles IDRkmsi (6) and IDRkmsr (7); TS 33.180 E.7 adds IDRuidi (8) and
/// IDRuidr (9) whose data is a 32-octet UID (sent with ID type URI by deployed implementations).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Idr<'a> {
    /// ID role.
    pub role: IdRole,
    /// ID type.
    pub id_type: IdType,
    /// The identity (at most 65535 octets).
    pub data: &'a [u8],
}

/// The CERT payload (RFC 3830 s6.7): `next (1) | Cert type (1) | Cert len (2) | Certificate`.
/// RFC 6509 s2.1: an initiator using ECCSI MUST NOT send it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cert<'a> {
    /// Certificate type.
    pub cert_type: CertType,
    /// The certificate (at most 65535 octets).
    pub data: &'a [u8],
}

/// The SAKKE payload (RFC 6509 s4.2):
/// `next (1) | SAKKE params (1) | ID scheme (1) | SAKKE data length (2) | SAKKE data`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sakke<'a> {
    /// SAKKE params (1 = parameter set 1 of RFC 6509 Appendix A).
    pub params: SakkeParams,
    /// The identifier scheme of the receiver's identity.
    pub id_scheme: IdScheme,
    /// The SAKKE Encapsulated Data R || H (RFC 6508 s4; 273 octets for parameter set 1,
    /// occasionally 272 from senders that strip a leading zero of H).
    pub data: &'a [u8],
}

impl<'a> Sakke<'a> {
    /// Decodes a complete SAKKE payload standing alone, as carried inside a SAKKE-to-self
    /// General Extension (TS 33.180 E.5), whose own next-payload octet is ignored. Offsets in
    /// errors are relative to `bytes`.
    ///
    /// # Errors
    /// A [`ParseError`] if `bytes` is not exactly one SAKKE payload.
    pub fn parse_standalone(bytes: &'a [u8]) -> Result<Self, ParseError> {
        let mut r = Reader::new(bytes, super::Context::Payload(PayloadType::SAKKE));
        r.u8("next payload")?;
        let s = Self::parse_body(&mut r)?;
        if !r.is_empty() {
            return Err(r.error_at(
                r.offset(),
                ParseErrorKind::TrailingData {
                    length: r.remaining(),
                },
            ));
        }
        Ok(s)
    }

    /// Encodes this SAKKE payload standing alone, with next payload 0: the data of a
    /// SAKKE-to-self General Extension (TS 33.180 E.5). The inverse of
    /// [`Sakke::parse_standalone`].
    ///
    /// # Errors
    /// [`BuildError::TooLong`] if the SAKKE data is longer than 65535 octets.
    pub fn encode_standalone(&self) -> Result<Vec<u8>, BuildError> {
        let p = Payload::Sakke(*self);
        p.check()?;
        let mut out = Vec::with_capacity(p.encoded_len());
        p.encode_into(PayloadType::LAST.0, &mut out);
        Ok(out)
    }

    fn parse_body(r: &mut Reader<'a>) -> Result<Self, ParseError> {
        let params = SakkeParams(r.u8("SAKKE params")?);
        let id_scheme = IdScheme(r.u8("ID scheme")?);
        let data = len16(r, "SAKKE data length", "SAKKE data")?;
        Ok(Self {
            params,
            id_scheme,
            data,
        })
    }
}

/// The General Extension payload (RFC 3830 s6.15): `next (1) | Type (1) | Length (2) | Data`.
///
/// The TS 33.180 types are recognised by [`ExtType`]: 6 SAKKE-to-self (E.5; the data is a
/// complete SAKKE payload, see [`GeneralExtension::sakke_to_self`]) and 7 key parameters (E.6;
/// the data is an MCData protected payload). The data of every type is kept as octets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GeneralExtension<'a> {
    /// The extension type.
    pub ext_type: ExtType,
    /// The extension data (at most 65535 octets).
    pub data: &'a [u8],
}

impl<'a> GeneralExtension<'a> {
    /// For a SAKKE-to-self extension (type 6, TS 33.180 E.5), the SAKKE payload it carries;
    /// `None` for other types. Offsets in an error are relative to the extension data.
    pub fn sakke_to_self(&self) -> Option<Result<Sakke<'a>, ParseError>> {
        (self.ext_type == ExtType::SAKKE_TO_SELF).then(|| Sakke::parse_standalone(self.data))
    }

    /// For a key-parameters extension (type 7, TS 33.180 E.6), its data (an MCData protected
    /// payload); `None` for other types.
    pub fn key_parameters(&self) -> Option<&'a [u8]> {
        (self.ext_type == ExtType::KEY_PARAMETERS).then_some(self.data)
    }
}

/// The SIGN payload (RFC 3830 s6.5, RFC 6509 s4.3):
/// `S type (4 bits) | Signature len (12 bits, octets) | Signature`. It has no next-payload
/// octet and is always last. An ECCSI signature is 129 octets, so its header is `0x20 0x81`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sign<'a> {
    /// The signature type (4 bits; 2 = ECCSI).
    pub sig_type: SignatureType,
    /// The signature (at most 4095 octets).
    pub signature: &'a [u8],
}

/// The SP payload (RFC 3830 s6.10):
/// `next (1) | Policy no (1) | Prot type (1) | Policy param length (2) | Policy params`, the
/// parameters being `Type (1) | Length (1) | Value` entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityPolicy<'a> {
    /// The policy number that CS ID map entries refer to.
    pub policy_no: u8,
    /// The security protocol (0 = SRTP; the parameter types are then [`SrtpParamType`](super::SrtpParamType)).
    pub prot_type: ProtType,
    /// The policy parameters in the order sent.
    pub params: Vec<PolicyParam<'a>>,
}

/// One policy parameter of an SP payload (RFC 3830 s6.10): `Type (1) | Length (1) | Value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolicyParam<'a> {
    /// The parameter type, whose meaning depends on the Prot type (for SRTP see
    /// [`SrtpParamType`](super::SrtpParamType)).
    pub param_type: u8,
    /// The value (at most 255 octets).
    pub value: &'a [u8],
}

impl<'a> SecurityPolicy<'a> {
    /// The value of the first parameter of the given type.
    pub fn get(&self, param_type: u8) -> Option<&'a [u8]> {
        self.params
            .iter()
            .find(|p| p.param_type == param_type)
            .map(|p| p.value)
    }

    fn params_len(&self) -> usize {
        self.params.iter().map(|p| 2 + p.value.len()).sum()
    }
}

/// Reads a 2-octet length and that many octets.
fn len16<'a>(
    r: &mut Reader<'a>,
    len_field: &'static str,
    field: &'static str,
) -> Result<&'a [u8], ParseError> {
    let at = r.offset();
    let n = r.u16(len_field)?;
    r.take_len(usize::from(n), at, field)
}

/// Reads a 1-octet length and that many octets.
fn len8<'a>(
    r: &mut Reader<'a>,
    len_field: &'static str,
    field: &'static str,
) -> Result<&'a [u8], ParseError> {
    let at = r.offset();
    let n = r.u8(len_field)?;
    r.take_len(usize::from(n), at, field)
}

impl<'a> Payload<'a> {
    /// The payload type number of this payload (RFC 3830 s6.1 table 6.1.c).
    pub fn payload_type(&self) -> PayloadType {
        match self {
            Self::Kemac(_) => PayloadType::KEMAC,
            Self::Sign(_) => PayloadType::SIGN,
            Self::T(_) => PayloadType::T,
            Self::Id(_) => PayloadType::ID,
            Self::Cert(_) => PayloadType::CERT,
            Self::V(_) => PayloadType::V,
            Self::Sp(_) => PayloadType::SP,
            Self::Rand(_) => PayloadType::RAND,
            Self::Err(_) => PayloadType::ERR,
            Self::Idr(_) => PayloadType::IDR,
            Self::GeneralExtension(_) => PayloadType::GENERAL_EXTENSION,
            Self::Sakke(_) => PayloadType::SAKKE,
        }
    }

    /// Whether this codec decodes payloads of type `t` (those of the [`Payload`] variants).
    pub(crate) fn is_decodable(t: PayloadType) -> bool {
        matches!(
            t,
            PayloadType::KEMAC
                | PayloadType::SIGN
                | PayloadType::T
                | PayloadType::ID
                | PayloadType::CERT
                | PayloadType::V
                | PayloadType::SP
                | PayloadType::RAND
                | PayloadType::ERR
                | PayloadType::IDR
                | PayloadType::GENERAL_EXTENSION
                | PayloadType::SAKKE
        )
    }

    /// Decodes one payload of type `t` (which [`Payload::is_decodable`]). Returns the payload
    /// and, except for SIGN, its next-payload octet with that octet's offset.
    pub(crate) fn parse(
        r: &mut Reader<'a>,
        t: PayloadType,
    ) -> Result<(Self, Option<(u8, usize)>), ParseError> {
        if t == PayloadType::SIGN {
            let at = r.offset();
            let hdr = r.u16("S type / Signature len")?;
            let n = usize::from(hdr & 0x0fff);
            let signature = r.take_len(n, at, "Signature")?;
            let sig_type = SignatureType(u8::try_from(hdr >> 12).unwrap_or(0x0f));
            return Ok((
                Self::Sign(Sign {
                    sig_type,
                    signature,
                }),
                None,
            ));
        }
        let next_at = r.offset();
        let next = r.u8("next payload")?;
        let p = match t {
            PayloadType::KEMAC => Self::Kemac(Kemac::parse_body(r)?),
            PayloadType::T => {
                let at = r.offset();
                let ts_type = r.u8("TS type")?;
                Self::T(match TsType(ts_type) {
                    TsType::NTP_UTC => Timestamp::NtpUtc(r.u64("TS value")?),
                    TsType::NTP => Timestamp::Ntp(r.u64("TS value")?),
                    TsType::COUNTER => Timestamp::Counter(r.u32("TS value")?),
                    TsType::NTP_UTC_32 => Timestamp::NtpUtc32(r.u32("TS value")?),
                    _ => {
                        return Err(r.error_at(
                            at,
                            ParseErrorKind::InvalidField {
                                field: "TS type",
                                value: ts_type,
                            },
                        ));
                    }
                })
            }
            PayloadType::ID => Self::Id(Id {
                id_type: IdType(r.u8("ID type")?),
                data: len16(r, "ID len", "ID data")?,
            }),
            PayloadType::CERT => Self::Cert(Cert {
                cert_type: CertType(r.u8("Cert type")?),
                data: len16(r, "Cert len", "Certificate")?,
            }),
            PayloadType::V => Self::V(Verification::parse_body(r)?),
            PayloadType::SP => {
                let policy_no = r.u8("Policy no")?;
                let prot_type = ProtType(r.u8("Prot type")?);
                let at = r.offset();
                let n = r.u16("Policy param length")?;
                let mut sub = r.sub(usize::from(n), at, "Policy params")?;
                let mut params = Vec::new();
                while !sub.is_empty() {
                    let param_type = sub.u8("policy parameter type")?;
                    let value = len8(
                        &mut sub,
                        "policy parameter length",
                        "policy parameter value",
                    )?;
                    params.push(PolicyParam { param_type, value });
                }
                Self::Sp(SecurityPolicy {
                    policy_no,
                    prot_type,
                    params,
                })
            }
            PayloadType::RAND => Self::Rand(Rand {
                rand: len8(r, "RAND len", "RAND")?,
            }),
            PayloadType::ERR => Self::Err(ErrorPayload {
                error_no: ErrorNo(r.u8("Error no")?),
                reserved: r.u16("reserved")?,
            }),
            PayloadType::IDR => Self::Idr(Idr {
                role: IdRole(r.u8("ID role")?),
                id_type: IdType(r.u8("ID type")?),
                data: len16(r, "ID len", "ID data")?,
            }),
            PayloadType::GENERAL_EXTENSION => Self::GeneralExtension(GeneralExtension {
                ext_type: ExtType(r.u8("General Extension type")?),
                data: len16(r, "General Extension length", "General Extension data")?,
            }),
            PayloadType::SAKKE => Self::Sakke(Sakke::parse_body(r)?),
            other => {
                return Err(r.error_at(next_at, ParseErrorKind::UnsupportedPayloadType(other.0)));
            }
        };
        Ok((p, Some((next, next_at))))
    }

    /// Checks that every field fits its length field.
    pub(crate) fn check(&self) -> Result<(), BuildError> {
        match self {
            Self::Kemac(k) => k.check(),
            Self::Sign(s) => {
                if s.sig_type.0 > 0x0f {
                    return Err(BuildError::ValueOutOfRange {
                        field: "S type",
                        value: u32::from(s.sig_type.0),
                    });
                }
                check_len("Signature", s.signature.len(), 0x0fff)
            }
            Self::T(_) | Self::Err(_) => Ok(()),
            Self::Id(Id { data, .. }) | Self::Idr(Idr { data, .. }) => {
                check_len("ID data", data.len(), 0xffff)
            }
            Self::Cert(c) => check_len("Certificate", c.data.len(), 0xffff),
            Self::V(v) => v.check(),
            Self::Sp(sp) => {
                for p in &sp.params {
                    check_len("policy parameter value", p.value.len(), 0xff)?;
                }
                check_len("Policy params", sp.params_len(), 0xffff)
            }
            Self::Rand(r) => check_len("RAND", r.rand.len(), 0xff),
            Self::GeneralExtension(g) => check_len("General Extension data", g.data.len(), 0xffff),
            Self::Sakke(s) => check_len("SAKKE data", s.data.len(), 0xffff),
        }
    }

    /// The length of this payload's encoding, next-payload octet included (RFC 3830 s6).
    pub fn encoded_len(&self) -> usize {
        match self {
            Self::Kemac(k) => k.encoded_len(),
            Self::Sign(s) => 2 + s.signature.len(),
            Self::T(t) => 2 + t.value_len(),
            Self::Id(i) => 4 + i.data.len(),
            Self::Cert(c) => 4 + c.data.len(),
            Self::V(v) => v.encoded_len(),
            Self::Sp(sp) => 5 + sp.params_len(),
            Self::Rand(r) => 2 + r.rand.len(),
            Self::Err(_) => 4,
            Self::Idr(i) => 5 + i.data.len(),
            Self::GeneralExtension(g) => 4 + g.data.len(),
            Self::Sakke(s) => 5 + s.data.len(),
        }
    }

    /// Appends the encoding, with `next` as the next-payload octet (ignored for SIGN). The
    /// payload must have passed [`Payload::check`].
    pub(crate) fn encode_into(&self, next: u8, out: &mut Vec<u8>) {
        if let Self::Sign(s) = self {
            let len = u16::try_from(s.signature.len()).unwrap_or(0x0fff) & 0x0fff;
            let hdr = u16::from(s.sig_type.0 & 0x0f) << 12 | len;
            out.extend_from_slice(&hdr.to_be_bytes());
            out.extend_from_slice(s.signature);
            return;
        }
        out.push(next);
        match self {
            Self::Kemac(k) => k.encode_body(out),
            Self::Sign(_) => {}
            Self::T(t) => {
                out.push(t.ts_type().0);
                match *t {
                    Timestamp::NtpUtc(v) | Timestamp::Ntp(v) => {
                        out.extend_from_slice(&v.to_be_bytes());
                    }
                    Timestamp::Counter(v) | Timestamp::NtpUtc32(v) => {
                        out.extend_from_slice(&v.to_be_bytes());
                    }
                }
            }
            Self::Id(i) => {
                out.push(i.id_type.0);
                put_u16(out, i.data.len());
                out.extend_from_slice(i.data);
            }
            Self::Cert(c) => {
                out.push(c.cert_type.0);
                put_u16(out, c.data.len());
                out.extend_from_slice(c.data);
            }
            Self::V(v) => v.encode_body(out),
            Self::Sp(sp) => {
                out.push(sp.policy_no);
                out.push(sp.prot_type.0);
                put_u16(out, sp.params_len());
                for p in &sp.params {
                    out.push(p.param_type);
                    out.push(u8::try_from(p.value.len()).unwrap_or(u8::MAX));
                    out.extend_from_slice(p.value);
                }
            }
            Self::Rand(r) => {
                out.push(u8::try_from(r.rand.len()).unwrap_or(u8::MAX));
                out.extend_from_slice(r.rand);
            }
            Self::Err(e) => {
                out.push(e.error_no.0);
                out.extend_from_slice(&e.reserved.to_be_bytes());
            }
            Self::Idr(i) => {
                out.push(i.role.0);
                out.push(i.id_type.0);
                put_u16(out, i.data.len());
                out.extend_from_slice(i.data);
            }
            Self::GeneralExtension(g) => {
                out.push(g.ext_type.0);
                put_u16(out, g.data.len());
                out.extend_from_slice(g.data);
            }
            Self::Sakke(s) => {
                out.push(s.params.0);
                out.push(s.id_scheme.0);
                put_u16(out, s.data.len());
                out.extend_from_slice(s.data);
            }
        }
    }
}
