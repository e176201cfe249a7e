//! The key-parameters payload (TS 33.180 E.6) carried in a MIKEY general extension of type 7,
//! inside an MCData protected payload encrypted with the distributed key.
//!
//! Layout of the protected payload (as deployed; verified against the published GMK vector):
//! `message type 0x43 (1) | date-time (5) | payload ID (4) | payload sequence number (1) |
//! payload algorithm (1) | IV (16) | DPPK-ID (4) | payload IEI (1) | length (2) |
//! ciphertext || tag (16)`. The cipher is AES-128-GCM with the 16-octet IV as its nonce, key
//! `DPCK = KDF(DPPK, FC = 0x53, P0 = DPPK-ID)` (128 least significant bits), and additional
//! data `first 12 octets || IV || DPPK-ID`. The DPPK is the distributed key itself and the
//! DPPK-ID the message's CSB ID.
//!
//! The plaintext (Table E.6.1-1): key type (1) | status (4) | activation time (5) |
//! expiry time (5) | text (2-octet length + octets) | optional group IDs (2-octet length,
//! 1-octet count, then per group an IE: IEI (1) | length (2) | value).

use aes_gcm::aead::consts::U16;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::aes::Aes128;
use aes_gcm::{AesGcm, Nonce};
use zeroize::Zeroizing;

use super::kdf::kdf_128;
use super::key_id::KeyId;

/// FC of the DPCK derivation.
pub const DPCK_FC: u8 = 0x53;
/// Message type octet of an MCData protected payload.
pub const PROTECTED_PAYLOAD_TYPE: u8 = 0x43;
/// Payload algorithm value for AES-128-GCM.
pub const ALG_AES_128_GCM: u8 = 1;
/// Status bit: the key is not revoked.
pub const STATUS_NOT_REVOKED: u32 = 1;
/// Status bit: the key may be shared with a security gateway.
pub const STATUS_GATEWAY: u32 = 2;

const HEADER_LEN: usize = 35;
const TAG_LEN: usize = 16;

/// Why a key-parameters payload was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyParamsError {
    /// The data ends at `offset` where `needed` more octets were expected.
    Truncated {
        /// Offset where the data ran out.
        offset: usize,
        /// Octets needed there.
        needed: usize,
    },
    /// Octets remain after the last field.
    TrailingData {
        /// Offset of the first extra octet.
        offset: usize,
    },
    /// The protected payload's message type is not 0x43.
    BadMessageType(u8),
    /// The payload algorithm is not AES-128-GCM (1).
    UnsupportedAlgorithm(u8),
    /// A field is too long for its length field.
    TooLong,
    /// Authentication failed (wrong key or tampered data). Opaque on purpose.
    Decryption,
}

impl core::fmt::Display for KeyParamsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Truncated { offset, needed } => {
                write!(
                    f,
                    "key parameters truncated at offset {offset} ({needed} more octets needed)"
                )
            }
            Self::TrailingData { offset } => {
                write!(f, "key parameters: trailing data at offset {offset}")
            }
            Self::BadMessageType(t) => write!(
                f,
                "protected payload: message type 0x{t:02x}, expected 0x43"
            ),
            Self::UnsupportedAlgorithm(a) => {
                write!(f, "protected payload: unsupported algorithm {a}")
            }
            Self::TooLong => f.write_str("key parameters: field too long for its length field"),
            Self::Decryption => f.write_str("protected payload: decryption failed"),
        }
    }
}

impl std::error::Error for KeyParamsError {}

/// A group ID information element (TS 24.282 15.2.14): IEI, then a 2-octet length and the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupIdIe {
    /// The IE identifier octet.
    pub iei: u8,
    /// The group ID (usually a URI).
    pub value: Vec<u8>,
}

/// The Key Parameters of TS 33.180 Table E.6.1-1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyParameters {
    /// Key type: the purpose tag value of the key (0 GMK, 1 PCK, 2 CSK, ...).
    pub key_type: u8,
    /// Status bits ([`STATUS_NOT_REVOKED`], [`STATUS_GATEWAY`]).
    pub status: u32,
    /// Activation time, 5 octets as carried.
    pub activation_time: [u8; 5],
    /// Expiry time, 5 octets as carried.
    pub expiry_time: [u8; 5],
    /// Human-readable key name.
    pub text: Vec<u8>,
    /// Group IDs (present for GMK, MKFC and MuSiK); `None` when the field is absent.
    pub group_ids: Option<Vec<GroupIdIe>>,
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], KeyParamsError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        let Some(end) = end else {
            return Err(KeyParamsError::Truncated {
                offset: self.pos,
                needed: n,
            });
        };
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, KeyParamsError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, KeyParamsError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], KeyParamsError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn done(&self) -> bool {
        self.pos == self.data.len()
    }
}

fn len16(n: usize) -> Result<[u8; 2], KeyParamsError> {
    u16::try_from(n)
        .map(u16::to_be_bytes)
        .map_err(|_| KeyParamsError::TooLong)
}

impl KeyParameters {
    /// Encodes the plaintext.
    ///
    /// # Errors
    /// [`KeyParamsError::TooLong`] if the text, a group ID or the group list exceeds its
    /// length field.
    pub fn encode(&self) -> Result<Vec<u8>, KeyParamsError> {
        let mut out = vec![self.key_type];
        out.extend_from_slice(&self.status.to_be_bytes());
        out.extend_from_slice(&self.activation_time);
        out.extend_from_slice(&self.expiry_time);
        out.extend_from_slice(&len16(self.text.len())?);
        out.extend_from_slice(&self.text);
        if let Some(groups) = &self.group_ids {
            let mut body = vec![u8::try_from(groups.len()).map_err(|_| KeyParamsError::TooLong)?];
            for g in groups {
                body.push(g.iei);
                body.extend_from_slice(&len16(g.value.len())?);
                body.extend_from_slice(&g.value);
            }
            out.extend_from_slice(&len16(body.len())?);
            out.extend_from_slice(&body);
        }
        Ok(out)
    }

    /// Decodes the plaintext.
    ///
    /// # Errors
    /// [`KeyParamsError::Truncated`] or [`KeyParamsError::TrailingData`] with the offset into
    /// `data` (also inside the group list).
    ///
    /// # Panics
    /// Never.
    pub fn decode(data: &[u8]) -> Result<Self, KeyParamsError> {
        let mut r = Reader { data, pos: 0 };
        let key_type = r.u8()?;
        let status = u32::from_be_bytes(r.array::<4>()?);
        let activation_time = r.array::<5>()?;
        let expiry_time = r.array::<5>()?;
        let tl = usize::from(r.u16()?);
        let text = r.take(tl)?.to_vec();
        let group_ids = if r.done() {
            None
        } else {
            let gl = usize::from(r.u16()?);
            let start = r.pos;
            r.take(gl)?;
            // The group list is read in place (bounded by its own end), so that every error
            // inside it carries an offset into `data`, like the errors outside it.
            let mut g = Reader {
                data: data.get(..r.pos).unwrap_or(data),
                pos: start,
            };
            let count = g.u8()?;
            let mut groups = Vec::new();
            for _ in 0..count {
                let iei = g.u8()?;
                let l = usize::from(g.u16()?);
                groups.push(GroupIdIe {
                    iei,
                    value: g.take(l)?.to_vec(),
                });
            }
            if !g.done() {
                return Err(KeyParamsError::TrailingData { offset: g.pos });
            }
            Some(groups)
        };
        if !r.done() {
            return Err(KeyParamsError::TrailingData { offset: r.pos });
        }
        Ok(Self {
            key_type,
            status,
            activation_time,
            expiry_time,
            text,
            group_ids,
        })
    }
}

/// The clear header fields of a protected payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtectedHeader {
    /// Date-time, 5 octets as carried.
    pub date_time: [u8; 5],
    /// Payload ID (0 for key parameters).
    pub payload_id: u32,
    /// Payload sequence number (0 for key parameters).
    pub sequence: u8,
    /// The 16-octet IV (the GCM nonce).
    pub iv: [u8; 16],
    /// DPPK-ID: the CSB ID of the MIKEY message.
    pub dppk_id: KeyId,
    /// The payload IEI.
    pub iei: u8,
}

/// `DPCK = KDF(DPPK, 0x53, P0 = DPPK-ID)`, 128 least significant bits.
///
/// # Errors
/// [`KeyParamsError::TooLong`] never in practice (the parameter is 4 octets).
pub fn dpck(dppk: &[u8], dppk_id: KeyId) -> Result<Zeroizing<[u8; 16]>, KeyParamsError> {
    kdf_128(dppk, DPCK_FC, &[&dppk_id.to_bytes()])
        .map(Zeroizing::new)
        .map_err(|_| KeyParamsError::TooLong)
}

fn cipher(dppk: &[u8], dppk_id: KeyId) -> Result<AesGcm<Aes128, U16>, KeyParamsError> {
    let key = dpck(dppk, dppk_id)?;
    AesGcm::<Aes128, U16>::new_from_slice(key.as_slice()).map_err(|_| KeyParamsError::Decryption)
}

/// Encrypts key parameters into a protected payload under the distributed key `dppk`.
///
/// # Errors
/// [`KeyParamsError::TooLong`] if the parameters do not fit their length fields.
pub fn seal(
    dppk: &[u8],
    header: &ProtectedHeader,
    params: &KeyParameters,
) -> Result<Vec<u8>, KeyParamsError> {
    let plain = Zeroizing::new(params.encode()?);
    let mut out = Vec::with_capacity(HEADER_LEN + plain.len() + TAG_LEN);
    out.push(PROTECTED_PAYLOAD_TYPE);
    out.extend_from_slice(&header.date_time);
    out.extend_from_slice(&header.payload_id.to_be_bytes());
    out.push(header.sequence);
    out.push(ALG_AES_128_GCM);
    out.extend_from_slice(&header.iv);
    out.extend_from_slice(&header.dppk_id.to_bytes());
    let aad = out.clone();
    out.push(header.iei);
    out.extend_from_slice(&len16(plain.len() + TAG_LEN)?);
    let nonce = Nonce::<U16>::from(header.iv);
    let ct = cipher(dppk, header.dppk_id)?
        .encrypt(
            &nonce,
            Payload {
                msg: plain.as_slice(),
                aad: &aad,
            },
        )
        .map_err(|_| KeyParamsError::TooLong)?;
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Parses the clear header of a protected payload.
///
/// # Errors
/// [`KeyParamsError`] for a truncated or malformed header.
pub fn parse_header(data: &[u8]) -> Result<(ProtectedHeader, &[u8]), KeyParamsError> {
    let mut r = Reader { data, pos: 0 };
    let t = r.u8()?;
    if t != PROTECTED_PAYLOAD_TYPE {
        return Err(KeyParamsError::BadMessageType(t));
    }
    let date_time = r.array::<5>()?;
    let payload_id = u32::from_be_bytes(r.array::<4>()?);
    let sequence = r.u8()?;
    let alg = r.u8()?;
    if alg != ALG_AES_128_GCM {
        return Err(KeyParamsError::UnsupportedAlgorithm(alg));
    }
    let iv = r.array::<16>()?;
    let dppk_id = KeyId::from_bytes(r.array::<4>()?);
    let iei = r.u8()?;
    let len = usize::from(r.u16()?);
    let body = r.take(len)?;
    if !r.done() {
        return Err(KeyParamsError::TrailingData { offset: r.pos });
    }
    Ok((
        ProtectedHeader {
            date_time,
            payload_id,
            sequence,
            iv,
            dppk_id,
            iei,
        },
        body,
    ))
}

/// Decrypts and decodes a protected payload with the distributed key `dppk`. The caller checks
/// that the DPPK-ID equals the message's CSB ID.
///
/// # Errors
/// [`KeyParamsError::Decryption`] (opaque) for a wrong key or tampered data, other variants for
/// malformed input.
pub fn open(dppk: &[u8], data: &[u8]) -> Result<(ProtectedHeader, KeyParameters), KeyParamsError> {
    let (header, body) = parse_header(data)?;
    if body.len() < TAG_LEN {
        return Err(KeyParamsError::Truncated {
            offset: HEADER_LEN + body.len(),
            needed: TAG_LEN - body.len(),
        });
    }
    let aad = &data[..32];
    let nonce = Nonce::<U16>::from(header.iv);
    let mut plain = Zeroizing::new(
        cipher(dppk, header.dppk_id)?
            .decrypt(&nonce, Payload { msg: body, aad })
            .map_err(|_| KeyParamsError::Decryption)?,
    );
    // Authenticated metadata the receiver reads (key type, times, names; not key material):
    // decoding may branch on its field lengths, which the ciphertext length shows anyway.
    crate::ct::declassify_in_place(plain.as_mut_slice());
    let params = KeyParameters::decode(&plain)?;
    Ok((header, params))
}
