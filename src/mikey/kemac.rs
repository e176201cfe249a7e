//! KEMAC (RFC 3830 s6.2, RFC 6043 s6.2), V (RFC 3830 s6.9) and the Key data sub-payloads
//! carried in a KEMAC's Encr data (RFC 3830 s6.13, s6.14).
//!
//! The codec keeps KEMAC's Encr data as octets: it is normally encrypted. Once in clear (NULL
//! encryption, or after the caller decrypted it), [`KeyData::parse_list`] decodes it.

use super::error::{BuildError, Context, ParseError, ParseErrorKind};
use super::reader::Reader;
use super::values::{EncrAlg, KeyDataType, KvType, MacAlg, PayloadType};
use super::{check_len, put_u16};

/// The KEMAC payload (RFC 3830 s6.2):
/// `next (1) | Encr alg (1) | Encr data len (2) | Encr data | MAC alg (1) | MAC`, the MAC's
/// length fixed by the MAC algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kemac<'a> {
    /// The encryption algorithm of the Encr data.
    pub encr_alg: EncrAlg,
    /// The (normally encrypted) Key data sub-payloads (at most 65535 octets).
    pub encr_data: &'a [u8],
    /// The MAC algorithm (its [`MacAlg::mac_len`] must be known).
    pub mac_alg: MacAlg,
    /// The MAC, [`MacAlg::mac_len`] octets.
    pub mac: &'a [u8],
}

/// The V (verification) payload (RFC 3830 s6.9): `next (1) | Auth alg (1) | Ver data`, the
/// data's length fixed by the algorithm (same values as KEMAC's MAC alg).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verification<'a> {
    /// The authentication algorithm (its [`MacAlg::mac_len`] must be known).
    pub auth_alg: MacAlg,
    /// The verification MAC, [`MacAlg::mac_len`] octets.
    pub data: &'a [u8],
}

fn mac_field<'a>(
    r: &mut Reader<'a>,
    alg_field: &'static str,
    field: &'static str,
) -> Result<(MacAlg, &'a [u8]), ParseError> {
    let at = r.offset();
    let alg = MacAlg(r.u8(alg_field)?);
    let Some(n) = alg.mac_len() else {
        return Err(r.error_at(
            at,
            ParseErrorKind::InvalidField {
                field: alg_field,
                value: alg.0,
            },
        ));
    };
    Ok((alg, r.take(n, field)?))
}

fn check_mac(
    alg_field: &'static str,
    field: &'static str,
    alg: MacAlg,
    mac: &[u8],
) -> Result<(), BuildError> {
    match alg.mac_len() {
        None => Err(BuildError::UnknownAlgorithm {
            field: alg_field,
            value: alg.0,
        }),
        Some(n) if n != mac.len() => Err(BuildError::WrongLength {
            field,
            expected: n,
            got: mac.len(),
        }),
        Some(_) => Ok(()),
    }
}

impl<'a> Kemac<'a> {
    pub(crate) fn parse_body(r: &mut Reader<'a>) -> Result<Self, ParseError> {
        let encr_alg = EncrAlg(r.u8("Encr alg")?);
        let at = r.offset();
        let n = r.u16("Encr data len")?;
        let encr_data = r.take_len(usize::from(n), at, "Encr data")?;
        let (mac_alg, mac) = mac_field(r, "MAC alg", "MAC")?;
        Ok(Self {
            encr_alg,
            encr_data,
            mac_alg,
            mac,
        })
    }

    pub(crate) fn check(&self) -> Result<(), BuildError> {
        check_len("Encr data", self.encr_data.len(), 0xffff)?;
        check_mac("MAC alg", "MAC", self.mac_alg, self.mac)
    }

    pub(crate) fn encoded_len(&self) -> usize {
        5 + self.encr_data.len() + self.mac.len()
    }

    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) {
        out.push(self.encr_alg.0);
        put_u16(out, self.encr_data.len());
        out.extend_from_slice(self.encr_data);
        out.push(self.mac_alg.0);
        out.extend_from_slice(self.mac);
    }
}

impl<'a> Verification<'a> {
    pub(crate) fn parse_body(r: &mut Reader<'a>) -> Result<Self, ParseError> {
        let (auth_alg, data) = mac_field(r, "Auth alg", "Ver data")?;
        Ok(Self { auth_alg, data })
    }

    pub(crate) fn check(&self) -> Result<(), BuildError> {
        check_mac("Auth alg", "Ver data", self.auth_alg, self.data)
    }

    pub(crate) fn encoded_len(&self) -> usize {
        2 + self.data.len()
    }

    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) {
        out.push(self.auth_alg.0);
        out.extend_from_slice(self.data);
    }
}

/// The key validity data of a Key data sub-payload (RFC 3830 s6.14).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyValidity<'a> {
    /// KV 0: none.
    Null,
    /// KV 1: `SPI len (1) | SPI` (for SRTP the MKI).
    Spi(&'a [u8]),
    /// KV 2: `VF len (1) | Valid From | VT len (1) | Valid To` (for SRTP, packet indices).
    Interval {
        /// Valid From.
        from: &'a [u8],
        /// Valid To.
        to: &'a [u8],
    },
}

impl KeyValidity<'_> {
    /// The KV type of this validity.
    pub fn kv_type(&self) -> KvType {
        match self {
            Self::Null => KvType::NULL,
            Self::Spi(_) => KvType::SPI,
            Self::Interval { .. } => KvType::INTERVAL,
        }
    }
}

/// One Key data sub-payload (RFC 3830 s6.13):
///
/// ```text
/// next (1) | Type (4 bits) KV (4 bits) | Key data len (2) | Key data |
/// [Salt len (2) | Salt data]   (the +SALT types)  | [KV data]   (KV != 0)
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyData<'a> {
    /// The key type (4 bits; [`KeyDataType::has_salt`] must be known).
    pub key_type: KeyDataType,
    /// The key (a TGK, TEK, ...; at most 65535 octets).
    pub key: &'a [u8],
    /// The salt: present exactly for the `+SALT` types.
    pub salt: Option<&'a [u8]>,
    /// The key validity.
    pub validity: KeyValidity<'a>,
}

impl<'a> KeyData<'a> {
    /// Decodes the chain of Key data sub-payloads in a KEMAC's Encr data in clear. Each
    /// sub-payload's next-payload octet is 20 (another Key data) or 0 (the last); empty input
    /// is an empty list. Offsets in errors are relative to `bytes`.
    ///
    /// # Errors
    /// A [`ParseError`] (context [`Context::KeyData`]) for malformed or trailing octets.
    pub fn parse_list(bytes: &'a [u8]) -> Result<Vec<Self>, ParseError> {
        let mut r = Reader::new(bytes, Context::KeyData);
        let mut out = Vec::new();
        if r.is_empty() {
            return Ok(out);
        }
        loop {
            let next_at = r.offset();
            let next = r.u8("next payload")?;
            let type_at = r.offset();
            let type_kv = r.u8("Type / KV")?;
            let key_type = KeyDataType(type_kv >> 4);
            let Some(has_salt) = key_type.has_salt() else {
                return Err(r.error_at(
                    type_at,
                    ParseErrorKind::InvalidField {
                        field: "Key data Type",
                        value: key_type.0,
                    },
                ));
            };
            let at = r.offset();
            let n = r.u16("Key data len")?;
            let key = r.take_len(usize::from(n), at, "Key data")?;
            let salt = if has_salt {
                let at = r.offset();
                let n = r.u16("Salt len")?;
                Some(r.take_len(usize::from(n), at, "Salt data")?)
            } else {
                None
            };
            let validity = match KvType(type_kv & 0x0f) {
                KvType::NULL => KeyValidity::Null,
                KvType::SPI => {
                    let at = r.offset();
                    let n = r.u8("SPI len")?;
                    KeyValidity::Spi(r.take_len(usize::from(n), at, "SPI")?)
                }
                KvType::INTERVAL => {
                    let at = r.offset();
                    let n = r.u8("VF len")?;
                    let from = r.take_len(usize::from(n), at, "Valid From")?;
                    let at = r.offset();
                    let n = r.u8("VT len")?;
                    let to = r.take_len(usize::from(n), at, "Valid To")?;
                    KeyValidity::Interval { from, to }
                }
                kv => {
                    return Err(r.error_at(
                        type_at,
                        ParseErrorKind::InvalidField {
                            field: "Key data KV",
                            value: kv.0,
                        },
                    ));
                }
            };
            out.push(Self {
                key_type,
                key,
                salt,
                validity,
            });
            match PayloadType(next) {
                PayloadType::LAST => break,
                PayloadType::KEY_DATA => {}
                _ => {
                    return Err(r.error_at(
                        next_at,
                        ParseErrorKind::InvalidField {
                            field: "Key data next payload",
                            value: next,
                        },
                    ));
                }
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
        Ok(out)
    }

    /// Encodes a chain of Key data sub-payloads (the clear Encr data of a KEMAC), the inverse
    /// of [`KeyData::parse_list`].
    ///
    /// # Errors
    /// [`BuildError`] if a field does not fit or the salt does not match the type.
    pub fn encode_list(list: &[Self]) -> Result<Vec<u8>, BuildError> {
        let mut out = Vec::new();
        for (i, k) in list.iter().enumerate() {
            if k.key_type.0 > 0x0f {
                return Err(BuildError::ValueOutOfRange {
                    field: "Key data Type",
                    value: u32::from(k.key_type.0),
                });
            }
            match (k.key_type.has_salt(), k.salt) {
                (Some(true), Some(s)) => check_len("Salt data", s.len(), 0xffff)?,
                (Some(false), None) => {}
                _ => {
                    return Err(BuildError::ValueOutOfRange {
                        field: "Key data Type (salt present iff a +SALT type)",
                        value: u32::from(k.key_type.0),
                    });
                }
            }
            check_len("Key data", k.key.len(), 0xffff)?;
            let next = if i + 1 == list.len() {
                PayloadType::LAST
            } else {
                PayloadType::KEY_DATA
            };
            out.push(next.0);
            out.push(k.key_type.0 << 4 | k.validity.kv_type().0);
            put_u16(&mut out, k.key.len());
            out.extend_from_slice(k.key);
            if let Some(s) = k.salt {
                put_u16(&mut out, s.len());
                out.extend_from_slice(s);
            }
            match k.validity {
                KeyValidity::Null => {}
                KeyValidity::Spi(spi) => put_u8_field(&mut out, "SPI", spi)?,
                KeyValidity::Interval { from, to } => {
                    put_u8_field(&mut out, "Valid From", from)?;
                    put_u8_field(&mut out, "Valid To", to)?;
                }
            }
        }
        Ok(out)
    }
}

fn put_u8_field(out: &mut Vec<u8>, field: &'static str, v: &[u8]) -> Result<(), BuildError> {
    let n = u8::try_from(v.len()).map_err(|_| BuildError::TooLong {
        field,
        length: v.len(),
        max: 0xff,
    })?;
    out.push(n);
    out.extend_from_slice(v);
    Ok(())
}
