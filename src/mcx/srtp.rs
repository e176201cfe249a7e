//! Traffic keys from the distributed key (the MIKEY TGK): the PRF of RFC 3830 s4.1.2 with
//! PRF-HMAC-SHA-256 (RFC 6043 s6.1), the key derivation of RFC 3830 s4.1.3, and the SRTP
//! master key, master salt and MKI of TS 33.180 7.4.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::kdf::KdfError;

/// Constant for the TEK, i.e. the SRTP master key (RFC 3830 s4.1.3).
pub const TEK_CONSTANT: u32 = 0x2AD0_1C64;
/// Constant for an authentication key (RFC 3830 s4.1.3).
pub const AUTH_KEY_CONSTANT: u32 = 0x1B5C_7973;
/// Constant for an encryption key (RFC 3830 s4.1.3).
pub const ENCR_KEY_CONSTANT: u32 = 0x1579_8CEF;
/// Constant for the salting key, i.e. the SRTP master salt (RFC 3830 s4.1.3).
pub const SALT_CONSTANT: u32 = 0x39A2_C14B;

/// Output octets of HMAC-SHA-256.
const H: usize = 32;

/// The longest PRF output [`prf`] produces (SRTP keys and salts are at most 32 octets; this
/// bounds the allocation an argument can cause).
pub const MAX_PRF_OUTPUT: usize = 4096;

fn hmac(key: &[u8], parts: &[&[u8]]) -> Result<[u8; H], KdfError> {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).map_err(|_| KdfError::InvalidKey)?;
    for p in parts {
        mac.update(p);
    }
    Ok(mac.finalize().into_bytes().into())
}

/// `PRF(inkey, label)` of RFC 3830 s4.1.2 with HMAC-SHA-256 (RFC 6043): the first `out_len`
/// octets of `P(s_1, label, m) XOR ... XOR P(s_n, label, m)`, where `s_1 .. s_n` are the
/// 256-bit blocks of `inkey` (the last possibly shorter) and
/// `P(s, label, m) = HMAC(s, A_1 || label) || ... || HMAC(s, A_m || label)`,
/// `A_0 = label`, `A_i = HMAC(s, A_(i-1))`.
///
/// # Errors
/// [`KdfError::OutputTooLong`] if `out_len` exceeds [`MAX_PRF_OUTPUT`];
/// [`KdfError::InvalidKey`] if the MAC rejects a key block (HMAC accepts every length).
pub fn prf(inkey: &[u8], label: &[u8], out_len: usize) -> Result<Zeroizing<Vec<u8>>, KdfError> {
    if out_len > MAX_PRF_OUTPUT {
        return Err(KdfError::OutputTooLong {
            requested: out_len,
            max: MAX_PRF_OUTPUT,
        });
    }
    let m = out_len.div_ceil(H);
    let mut out = Zeroizing::new(vec![0u8; m * H]);
    let blocks: Vec<&[u8]> = if inkey.is_empty() {
        vec![&[][..]]
    } else {
        inkey.chunks(H).collect()
    };
    for s in blocks {
        let mut a = hmac(s, &[label])?;
        for i in 0..m {
            let block = hmac(s, &[&a, label])?;
            for (o, b) in out[i * H..(i + 1) * H].iter_mut().zip(block.iter()) {
                *o ^= b;
            }
            a = hmac(s, &[&a])?;
        }
        a.zeroize();
    }
    out.truncate(out_len);
    Ok(out)
}

/// The key derivation of RFC 3830 s4.1.3 from a TGK: `PRF(TGK, constant || CS ID || CSB ID ||
/// RAND)`, `out_len` octets.
///
/// # Errors
/// As [`prf`].
pub fn derive(
    tgk: &[u8],
    constant: u32,
    cs_id: u8,
    csb_id: u32,
    rand: &[u8],
    out_len: usize,
) -> Result<Zeroizing<Vec<u8>>, KdfError> {
    let mut label = Vec::with_capacity(9 + rand.len());
    label.extend_from_slice(&constant.to_be_bytes());
    label.push(cs_id);
    label.extend_from_slice(&csb_id.to_be_bytes());
    label.extend_from_slice(rand);
    prf(tgk, &label, out_len)
}

/// An SRTP master key and salt. Not `Copy`; `Debug` prints no value; zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SrtpMasterKeys {
    /// The 16-octet SRTP master key (the TEK).
    pub key: [u8; 16],
    /// The 12-octet (112-bit, padded) SRTP master salt.
    pub salt: [u8; 12],
}

impl core::fmt::Debug for SrtpMasterKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SrtpMasterKeys").finish_non_exhaustive()
    }
}

/// The SRTP master key and salt for crypto session `cs_id` of the bundle `csb_id`, from the
/// distributed key and the RAND of its I_MESSAGE (TS 33.180 7.4.1 for a PCK with CSB ID =
/// PCK-ID, 7.4.2 for a GMK with CSB ID = GUK-ID).
///
/// # Errors
/// As [`prf`].
pub fn srtp_master_keys(
    tgk: &[u8],
    cs_id: u8,
    csb_id: u32,
    rand: &[u8],
) -> Result<SrtpMasterKeys, KdfError> {
    let k = derive(tgk, TEK_CONSTANT, cs_id, csb_id, rand, 16)?;
    let s = derive(tgk, SALT_CONSTANT, cs_id, csb_id, rand, 12)?;
    let mut keys = SrtpMasterKeys {
        key: [0; 16],
        salt: [0; 12],
    };
    keys.key.copy_from_slice(&k);
    keys.salt.copy_from_slice(&s);
    Ok(keys)
}

/// The SRTP MKI of a private call: the 32-bit PCK-ID (TS 33.180 7.4.1).
pub fn mki_private_call(pck_id: super::key_id::KeyId) -> [u8; 4] {
    pck_id.to_bytes()
}

/// The SRTP MKI of group media: GMK-ID || GUK-ID, 64 bits (TS 33.180 7.4.2, as deployed).
pub fn mki_group(gmk_id: super::key_id::KeyId, guk_id: super::key_id::KeyId) -> [u8; 8] {
    let mut m = [0u8; 8];
    m[..4].copy_from_slice(&gmk_id.to_bytes());
    m[4..].copy_from_slice(&guk_id.to_bytes());
    m
}
