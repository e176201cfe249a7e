//! 32-bit key identifiers (TS 33.180 E.1.1, E.6.11) and the GUK-ID (Annex F.1.3).
//!
//! The 4 most significant bits of a key identifier are its purpose tag; the other 28 bits are
//! random. A GMK is distributed to each member under a GUK-ID, which hides the GMK-ID with a
//! per-user salt: `GUK-ID = tag || (GMK-ID[28 bits] XOR salt)`, with salt the 28 least
//! significant bits of `KDF(GMK, FC = 0x50, P0 = the member's MC service ID)`.

use rand_core::CryptoRng;

use super::kdf::{KdfError, kdf};

/// FC of the GUK-ID user salt (TS 33.180 F.1.3).
pub const USER_SALT_FC: u8 = 0x50;

/// The purpose tag of a key identifier (TS 33.180 E.6.11 "Key Type").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PurposeTag {
    /// Group master key (0).
    Gmk,
    /// Private call key (1).
    Pck,
    /// Client-server key (2).
    Csk,
    /// Server-server key (3).
    Spk,
    /// MKFC (4).
    Mkfc,
    /// MSCCK (5).
    Mscck,
    /// Multicast signalling key, MuSiK (6).
    Musik,
}

impl PurposeTag {
    /// The 4-bit value.
    pub fn value(self) -> u8 {
        match self {
            Self::Gmk => 0,
            Self::Pck => 1,
            Self::Csk => 2,
            Self::Spk => 3,
            Self::Mkfc => 4,
            Self::Mscck => 5,
            Self::Musik => 6,
        }
    }

    /// The tag with this 4-bit value; `None` for the unassigned values 7-15.
    pub fn from_value(v: u8) -> Option<Self> {
        Some(match v {
            0 => Self::Gmk,
            1 => Self::Pck,
            2 => Self::Csk,
            3 => Self::Spk,
            4 => Self::Mkfc,
            5 => Self::Mscck,
            6 => Self::Musik,
            _ => return None,
        })
    }

    /// The conventional name (GMK, PCK, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Gmk => "GMK",
            Self::Pck => "PCK",
            Self::Csk => "CSK",
            Self::Spk => "SPK",
            Self::Mkfc => "MKFC",
            Self::Mscck => "MSCCK",
            Self::Musik => "MuSiK",
        }
    }
}

/// A 32-bit key identifier: purpose tag (4 bits) || 28 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyId(pub u32);

impl KeyId {
    /// Mask of the 28 low bits.
    pub const LOW_MASK: u32 = 0x0FFF_FFFF;

    /// Builds an identifier from a purpose tag and 28 low bits (higher bits of `low` ignored).
    pub fn new(tag: PurposeTag, low: u32) -> Self {
        Self((u32::from(tag.value()) << 28) | (low & Self::LOW_MASK))
    }

    /// A fresh identifier with 28 random bits.
    pub fn random<R: CryptoRng + ?Sized>(tag: PurposeTag, rng: &mut R) -> Self {
        Self::new(tag, rng.next_u32())
    }

    /// The 4-bit purpose tag value.
    pub fn tag_value(self) -> u8 {
        // The shift leaves 4 bits.
        u8::try_from(self.0 >> 28).unwrap_or(0xf)
    }

    /// The purpose tag, if assigned.
    pub fn purpose(self) -> Option<PurposeTag> {
        PurposeTag::from_value(self.tag_value())
    }

    /// The 28 low bits.
    pub fn low(self) -> u32 {
        self.0 & Self::LOW_MASK
    }

    /// Big-endian octets.
    pub fn to_bytes(self) -> [u8; 4] {
        self.0.to_be_bytes()
    }

    /// From big-endian octets.
    pub fn from_bytes(b: [u8; 4]) -> Self {
        Self(u32::from_be_bytes(b))
    }
}

impl core::fmt::Display for KeyId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:08X}", self.0)
    }
}

/// The user salt of TS 33.180 F.1.3: the 28 least significant bits of
/// `KDF(GMK, 0x50, P0 = user_id)`.
///
/// # Errors
/// [`KdfError`] if the user ID exceeds 65 535 octets.
pub fn user_salt(gmk: &[u8], user_id: &[u8]) -> Result<u32, KdfError> {
    let out = kdf(gmk, USER_SALT_FC, &[user_id])?;
    let mut last = [0u8; 4];
    last.copy_from_slice(&out[28..]);
    Ok(u32::from_be_bytes(last) & KeyId::LOW_MASK)
}

/// The GUK-ID under which `gmk` (identified by `gmk_id`) is sent to `user_id` (F.1.3).
///
/// # Errors
/// [`KdfError`] if the user ID exceeds 65 535 octets.
pub fn guk_id(gmk: &[u8], gmk_id: KeyId, user_id: &[u8]) -> Result<KeyId, KdfError> {
    let salt = user_salt(gmk, user_id)?;
    Ok(KeyId(
        (gmk_id.0 & !KeyId::LOW_MASK) | ((gmk_id.0 ^ salt) & KeyId::LOW_MASK),
    ))
}

/// The GMK-ID recovered by the member `user_id` from a GUK-ID (the inverse of [`guk_id`]).
///
/// # Errors
/// [`KdfError`] if the user ID exceeds 65 535 octets.
pub fn gmk_id_from_guk_id(gmk: &[u8], guk_id: KeyId, user_id: &[u8]) -> Result<KeyId, KdfError> {
    // XOR with the same salt is its own inverse.
    self::guk_id(gmk, guk_id, user_id)
}
