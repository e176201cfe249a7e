//! The Common Header payload HDR (RFC 3830 s6.1, RFC 6043 s6.1, RFC 4563, RFC 6509 s4.1) and
//! its three crypto-session ID maps.
//!
//! ```text
//! version (1) | data type (1) | next payload (1) | V (1 bit) PRF func (7 bits) |
//! CSB ID (4) | #CS (1) | CS ID map type (1) | CS ID map info (length implied by the type)
//! ```

use super::error::{BuildError, ParseErrorKind};
use super::reader::Reader;
use super::values::{CsIdMapType, DataType, PrfFunc, ProtType};
use super::{check_len, put_u16};
use crate::mikey::error::ParseError;

/// The MIKEY version this codec reads and writes (RFC 3830 s6.1: `version = 0x01`).
pub const VERSION: u8 = 1;

/// The Common Header payload (RFC 3830 s6.1). Its version is always 1 and its next-payload
/// octet is implied by the payload that follows it in the [`Message`](super::Message).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hdr<'a> {
    /// Data type: the kind of message (26 for a MIKEY-SAKKE I_MESSAGE, RFC 6509 s4.1).
    pub data_type: DataType,
    /// The V bit: a verification message is wanted (RFC 3830 s6.1). RFC 6509 s4.1: 0 in a SAKKE
    /// message, ignored by the receiver.
    pub v: bool,
    /// PRF func, 7 bits (RFC 3830 s6.1; TS 33.180 E.1.2 uses 1, PRF-HMAC-SHA-256).
    pub prf_func: PrfFunc,
    /// CSB ID, the crypto session bundle identifier (RFC 3830 s6.1; TS 33.180 E.2: the GUK-ID
    /// for a GMK, the PCK-ID for a PCK).
    pub csb_id: u32,
    /// #CS, CS ID map type and CS ID map info.
    pub cs_id_map: CsIdMap<'a>,
}

/// The crypto-session ID map of HDR (RFC 3830 s6.1 `#CS`, `CS ID map type`, `CS ID map
/// info`). For the two list types `#CS` is the number of entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CsIdMap<'a> {
    /// Map type 0, SRTP-ID (RFC 3830 s6.1.1): one 9-octet entry per crypto session.
    SrtpId(Vec<SrtpIdEntry>),
    /// Map type 1, Empty map (RFC 4563): no map info; the map and the policies are conveyed
    /// outside MIKEY. `#CS` is kept as sent.
    Empty {
        /// The #CS octet.
        cs_count: u8,
    },
    /// Map type 2, GENERIC-ID (RFC 6043 s6.1.1): one variable-length entry per crypto session.
    GenericId(Vec<GenericIdEntry<'a>>),
}

/// One crypto session of an SRTP-ID map (RFC 3830 s6.1.1):
/// `Policy_no (1) | SSRC (4) | ROC (4)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SrtpIdEntry {
    /// The policy number of the SP payload that applies.
    pub policy_no: u8,
    /// The SRTP stream's SSRC.
    pub ssrc: u32,
    /// Its rollover counter.
    pub roc: u32,
}

/// One crypto session of a GENERIC-ID map (RFC 6043 s6.1.1):
///
/// ```text
/// CS ID (1) | Prot type (1) | S (1 bit) #P (7 bits) | Policy_no_1 .. Policy_no_#P (1 each) |
/// Session Data Length (2) | Session Data | SPI Length (1) | SPI
/// ```
///
/// TS 33.180 E.1.2 uses Prot type SRTP, #P = 1, empty Session Data and as SPI the GMK-ID ||
/// GUK-ID (a GMK) or the CSK-ID (a CSK).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GenericIdEntry<'a> {
    /// CS ID (TS 33.180 Table E.1.3-1: e.g. 4 = MCPTT group call, 6 = CSK SRTCP for MCPTT).
    pub cs_id: u8,
    /// The security protocol (0 = SRTP).
    pub prot_type: ProtType,
    /// The S flag: for SRTP, Session Data carries SSRC || ROC || SEQ rather than only the SSRC.
    pub s: bool,
    /// The policy numbers (#P of them, at most 127) of the SP payloads that apply.
    pub policy_nos: &'a [u8],
    /// Session Data, protocol specific (SRTP: SSRC, or SSRC || ROC || SEQ when S = 1).
    pub session_data: &'a [u8],
    /// The SPI (for SRTP the MKI); may be empty.
    pub spi: &'a [u8],
}

impl CsIdMap<'_> {
    /// The CS ID map type of this map.
    pub fn map_type(&self) -> CsIdMapType {
        match self {
            Self::SrtpId(_) => CsIdMapType::SRTP_ID,
            Self::Empty { .. } => CsIdMapType::EMPTY,
            Self::GenericId(_) => CsIdMapType::GENERIC_ID,
        }
    }

    /// The #CS octet: the number of entries, or the value kept for an empty map. Saturates at
    /// 255 (a longer list is refused by [`Message::new`](super::Message::new)).
    pub fn cs_count(&self) -> u8 {
        let n = match self {
            Self::SrtpId(v) => v.len(),
            Self::Empty { cs_count } => usize::from(*cs_count),
            Self::GenericId(v) => v.len(),
        };
        u8::try_from(n).unwrap_or(u8::MAX)
    }

    fn info_len(&self) -> usize {
        match self {
            Self::SrtpId(v) => 9 * v.len(),
            Self::Empty { .. } => 0,
            Self::GenericId(v) => v.iter().map(GenericIdEntry::encoded_len).sum(),
        }
    }
}

impl GenericIdEntry<'_> {
    fn encoded_len(&self) -> usize {
        3 + self.policy_nos.len() + 2 + self.session_data.len() + 1 + self.spi.len()
    }
}

impl<'a> Hdr<'a> {
    /// Parses HDR at the start of the reader; returns it with the type of the first payload
    /// and the offset of the next-payload octet that named it.
    pub(crate) fn parse(r: &mut Reader<'a>) -> Result<(Self, u8, usize), ParseError> {
        let at = r.offset();
        let version = r.u8("version")?;
        if version != VERSION {
            return Err(r.error_at(at, ParseErrorKind::BadVersion(version)));
        }
        let data_type = DataType(r.u8("data type")?);
        let next_at = r.offset();
        let next = r.u8("next payload")?;
        let v_prf = r.u8("V / PRF func")?;
        let csb_id = r.u32("CSB ID")?;
        let cs_count = r.u8("#CS")?;
        let map_at = r.offset();
        let map_type = r.u8("CS ID map type")?;
        let cs_id_map = match CsIdMapType(map_type) {
            CsIdMapType::SRTP_ID => {
                let mut v = Vec::new();
                for _ in 0..cs_count {
                    v.push(SrtpIdEntry {
                        policy_no: r.u8("SRTP-ID Policy_no")?,
                        ssrc: r.u32("SRTP-ID SSRC")?,
                        roc: r.u32("SRTP-ID ROC")?,
                    });
                }
                CsIdMap::SrtpId(v)
            }
            CsIdMapType::EMPTY => CsIdMap::Empty { cs_count },
            CsIdMapType::GENERIC_ID => {
                let mut v = Vec::new();
                for _ in 0..cs_count {
                    v.push(parse_generic_id_entry(r)?);
                }
                CsIdMap::GenericId(v)
            }
            _ => {
                return Err(r.error_at(
                    map_at,
                    ParseErrorKind::InvalidField {
                        field: "CS ID map type",
                        value: map_type,
                    },
                ));
            }
        };
        let hdr = Hdr {
            data_type,
            v: v_prf & 0x80 != 0,
            prf_func: PrfFunc(v_prf & 0x7f),
            csb_id,
            cs_id_map,
        };
        Ok((hdr, next, next_at))
    }

    pub(crate) fn check(&self) -> Result<(), BuildError> {
        if self.prf_func.0 > 0x7f {
            return Err(BuildError::ValueOutOfRange {
                field: "PRF func",
                value: u32::from(self.prf_func.0),
            });
        }
        match &self.cs_id_map {
            CsIdMap::SrtpId(v) => check_len("#CS (SRTP-ID entries)", v.len(), 255),
            CsIdMap::Empty { .. } => Ok(()),
            CsIdMap::GenericId(v) => {
                check_len("#CS (GENERIC-ID entries)", v.len(), 255)?;
                for e in v {
                    check_len("#P (GENERIC-ID policy numbers)", e.policy_nos.len(), 127)?;
                    check_len("GENERIC-ID Session Data", e.session_data.len(), 0xffff)?;
                    check_len("GENERIC-ID SPI", e.spi.len(), 255)?;
                }
                Ok(())
            }
        }
    }

    pub(crate) fn encoded_len(&self) -> usize {
        10 + self.cs_id_map.info_len()
    }

    pub(crate) fn encode_into(&self, next: u8, out: &mut Vec<u8>) {
        out.push(VERSION);
        out.push(self.data_type.0);
        out.push(next);
        out.push(u8::from(self.v) << 7 | (self.prf_func.0 & 0x7f));
        out.extend_from_slice(&self.csb_id.to_be_bytes());
        out.push(self.cs_id_map.cs_count());
        out.push(self.cs_id_map.map_type().0);
        match &self.cs_id_map {
            CsIdMap::SrtpId(v) => {
                for e in v {
                    out.push(e.policy_no);
                    out.extend_from_slice(&e.ssrc.to_be_bytes());
                    out.extend_from_slice(&e.roc.to_be_bytes());
                }
            }
            CsIdMap::Empty { .. } => {}
            CsIdMap::GenericId(v) => {
                for e in v {
                    out.push(e.cs_id);
                    out.push(e.prot_type.0);
                    let np = u8::try_from(e.policy_nos.len()).unwrap_or(0x7f) & 0x7f;
                    out.push(u8::from(e.s) << 7 | np);
                    out.extend_from_slice(e.policy_nos);
                    put_u16(out, e.session_data.len());
                    out.extend_from_slice(e.session_data);
                    out.push(u8::try_from(e.spi.len()).unwrap_or(u8::MAX));
                    out.extend_from_slice(e.spi);
                }
            }
        }
    }
}

fn parse_generic_id_entry<'a>(r: &mut Reader<'a>) -> Result<GenericIdEntry<'a>, ParseError> {
    let cs_id = r.u8("GENERIC-ID CS ID")?;
    let prot_type = ProtType(r.u8("GENERIC-ID Prot type")?);
    let p_at = r.offset();
    let s_p = r.u8("GENERIC-ID S / #P")?;
    let policy_nos = r.take_len(usize::from(s_p & 0x7f), p_at, "GENERIC-ID Policy_no list")?;
    let sd_at = r.offset();
    let sd_len = r.u16("GENERIC-ID Session Data Length")?;
    let session_data = r.take_len(usize::from(sd_len), sd_at, "GENERIC-ID Session Data")?;
    let spi_at = r.offset();
    let spi_len = r.u8("GENERIC-ID SPI Length")?;
    let spi = r.take_len(usize::from(spi_len), spi_at, "GENERIC-ID SPI")?;
    Ok(GenericIdEntry {
        cs_id,
        prot_type,
        s: s_p & 0x80 != 0,
        policy_nos,
        session_data,
        spi,
    })
}
