//! Hazardous ECCSI primitives: issuing and signing with a caller-chosen v or j, and traces of
//! intermediate values. For known-answer tests (RFC 6507 Appendix A) and debugging only.
//!
//! # Security
//!
//! **Do not use these to issue keys or sign in production.**
//!
//! * Signing two different messages with the same j reveals the SSK: from s1, s2 and the public
//!   r, HE1, HE2 anyone solves s_i * (HE_i + r * SSK) = j for SSK. A j that is predictable,
//!   or merely biased in a few bits, leaks it too (lattice attacks on ECDSA-like schemes).
//! * Issuing two pairs with the same v to different identifiers reveals the KSAK the same way,
//!   and with it every key of the community.
//!
//! The safe entry points, [`KmsKeyPair::issue`] and
//! [`SigningKey::try_sign_with_rng`], draw v and j from a cryptographic RNG.

use core::fmt;

use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::encoding::{DecodeError, Signature};
use super::kms::KmsKeyPair;
use super::point::{Pvt, encode_projective};
use super::scalar::{SecretScalar, Ssk};
use super::sign::SigningKey;
use super::verify::{VerifyingKey, verify_trace_parts};
use super::{N, POINT_LEN};

/// A caller-supplied one-time scalar in \[1, q-1\]: the v of RFC 6507 s5.1.1 step 1 or the j of
/// s5.2.1 step 1.
///
/// # Security
/// Secret and single-use: not `Copy` or `Clone`, consumed by the function that uses it,
/// zeroized on drop, `Debug` prints no value.
pub struct Nonce(SecretScalar);

impl Nonce {
    /// Decodes a big-endian integer in \[1, q-1\] (any length; extra leading octets must be
    /// zero), e.g. RFC 6507 Appendix A's v = `0x23456` or j = `0x34567`.
    ///
    /// # Errors
    /// [`DecodeError::Empty`], [`DecodeError::OutOfRange`] (>= q) or [`DecodeError::Zero`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        SecretScalar::decode(bytes, "nonce").map(Self)
    }
}

impl ConstantTimeEq for Nonce {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

impl fmt::Debug for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Nonce").finish_non_exhaustive()
    }
}

impl Zeroize for Nonce {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

impl ZeroizeOnDrop for Nonce {}

/// RFC 6507 s5.1.1 with the given v instead of a random one: PVT = \[v\]G, HS = hash( G ||
/// KPAK || ID || PVT ), SSK = KSAK + HS * v mod q.
///
/// # Errors
/// The opaque [`signature::Error`] when step 5 would restart (SSK = 0 or HS = 0 mod q): with a
/// fixed v there is no other v to try.
///
/// # Security
/// See the [module documentation](self): a reused or predictable v exposes the KSAK.
pub fn issue_with_v(kms: &KmsKeyPair, id: &[u8], v: Nonce) -> Result<(Ssk, Pvt), signature::Error> {
    kms.issue_with_v(id, &v.0).ok_or_else(signature::Error::new)
}

/// RFC 6507 s5.2.1 with the given j instead of a random one.
///
/// # Errors
/// The opaque [`signature::Error`] when step 4 would restart (HE + r * SSK = 0 mod q), or if
/// Jx = 0: with a fixed j there is no other j to try.
///
/// # Security
/// See the [module documentation](self): a reused or predictable j exposes the SSK.
pub fn sign_with_j(
    key: &SigningKey,
    message: &[u8],
    j: Nonce,
) -> Result<Signature, signature::Error> {
    sign_with_j_traced(key, message, j).map(|(sig, _)| sig)
}

/// The intermediate values of one signature (RFC 6507 s5.2.1), all public.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignTrace {
    /// J = \[j\]G as `0x04 || x || y` (step 2).
    pub j: [u8; POINT_LEN],
    /// r = Jx, not reduced mod q (step 2).
    pub r: [u8; N],
    /// HE = hash( HS || r || M ) (step 3).
    pub he: [u8; N],
    /// s' = ( (HE + r * SSK)^-1 * j ) mod q (step 5).
    pub s_prime: [u8; N],
    /// s (step 6; equal to s' for P-256).
    pub s: [u8; N],
}

/// [`sign_with_j`], also returning the intermediate values.
///
/// # Errors
/// As [`sign_with_j`].
///
/// # Security
/// As [`sign_with_j`].
pub fn sign_with_j_traced(
    key: &SigningKey,
    message: &[u8],
    j: Nonce,
) -> Result<(Signature, SignTrace), signature::Error> {
    let out = key
        .sign_with_j(message, &j.0)
        .ok_or_else(signature::Error::new)?;
    let s = out.signature.s();
    let trace = SignTrace {
        j: out.j,
        r: *out.signature.r(),
        he: out.he,
        s_prime: s,
        s,
    };
    Ok((out.signature, trace))
}

/// The intermediate values of one verification (RFC 6507 s5.2.2), all public.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifyTrace {
    /// HS = hash( G || KPAK || ID || PVT ) (step 2).
    pub hs: [u8; N],
    /// HE = hash( HS || r || M ) (step 3).
    pub he: [u8; N],
    /// Y = \[HS\]PVT + KPAK (step 4), `None` if the identity.
    pub y: Option<[u8; POINT_LEN]>,
    /// J = \[s\]( \[HE\]G + \[r\]Y ) (step 5), `None` if the identity.
    pub j: Option<[u8; POINT_LEN]>,
    /// The verdict of step 6: Jx = r mod p and Jx != 0.
    pub valid: bool,
}

/// RFC 6507 s5.2.2 for `signature` on `message`, returning every intermediate value and the
/// verdict instead of an error. Verification only: nothing secret is involved.
#[must_use]
pub fn verify_traced(key: &VerifyingKey, message: &[u8], signature: &Signature) -> VerifyTrace {
    let (prepared, he, j, valid) = verify_trace_parts(key, message, signature);
    VerifyTrace {
        hs: *prepared.hs(),
        he,
        y: prepared.y(),
        j: encode_projective(&j),
        valid,
    }
}
