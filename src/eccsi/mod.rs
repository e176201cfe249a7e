//! ECCSI: Elliptic Curve-Based Certificateless Signatures for Identity-Based Encryption
//! (RFC 6507), on NIST P-256 with SHA-256 as RFC 6509 s2.1.1 mandates for MIKEY-SAKKE.
//!
//! # Roles and objects
//!
//! | RFC 6507 | here | secret? |
//! |---|---|---|
//! | KMS Secret Authentication Key, KSAK (s4.2) | [`Ksak`] | yes |
//! | KMS Public Authentication Key, KPAK = \[KSAK\]G (s4.2) | [`Kpak`] | no |
//! | Secret Signing Key, SSK (s4.3, s5.1.1 step 4) | [`Ssk`] | yes |
//! | Public Validation Token, PVT = \[v\]G (s4.3, s5.1.1 step 2) | [`Pvt`] | no |
//! | a KMS holding KSAK and KPAK, issuing (SSK, PVT) (s5.1.1) | [`KmsKeyPair`] | yes |
//! | a validated (SSK, PVT) with KPAK, ID and HS (s5.1.2) | [`SigningKey`] | yes |
//! | Signature = r \|\| s \|\| PVT, 129 octets (s3.3) | [`Signature`] | no |
//! | what a verifier needs: KPAK and the signer's ID (s5.2.2) | [`VerifyingKey`] | no |
//! | the same with one signer's PVT and Y = \[HS\]PVT + KPAK cached | [`PreparedVerifyingKey`] | no |
//! | HS = hash(G \|\| KPAK \|\| ID \|\| PVT), HE = hash(HS \|\| r \|\| M) | [`hash_hs`], [`hash_he`] | no |
//! | v and j, the per-pair and per-signature random scalars | [`hazmat::Nonce`] | yes |
//!
//! # Guarantees
//!
//! * A [`SigningKey`] exists only for an (SSK, PVT) that passed the RFC 6507 s5.1.2 check
//!   KPAK = \[SSK\]G - \[HS\]PVT; a signer never uses an unvalidated pair.
//! * Secrets (KSAK, SSK, v, j) are not `Copy`, print no value in `Debug`, are zeroized on drop and
//!   compare in constant time ([`subtle::ConstantTimeEq`]). Scalar multiplications by a secret use
//!   a constant-time fixed-base comb (`base_mul`); only public data (signature verification, the \[HS\]PVT term of
//!   validation) uses the variable-time multi-scalar multiplication (`*_vartime` helpers).
//! * Decoders validate completely and return a typed [`DecodeError`]: points are exactly 65
//!   octets `0x04 || x || y` with x, y < p on the curve; scalars are in \[1, q-1\]. Scalars may
//!   carry leading zero octets (a deployed KMS sends a 34-octet SSK) or be shorter than 32 octets.
//! * Every cryptographic failure (a pair that does not validate, a signature that does not verify,
//!   an RNG that fails) is the opaque [`signature::Error`], which says nothing about which step
//!   failed. Nothing panics on any input.
//! * Fixed-nonce functions (a caller-chosen v or j) live in [`hazmat`] only.
//!
//! # Example
//!
//! ```
//! use mikey_sakke::eccsi::{KmsKeyPair, SigningKey, VerifyingKey};
//! use rand_core::SeedableRng;
//! use signature::{RandomizedSigner, Verifier};
//!
//! # fn main() -> Result<(), signature::Error> {
//! let mut rng = rand_chacha::ChaCha20Rng::from_seed([7; 32]); // use an OS RNG in real code
//! // KMS: community key pair, then one (SSK, PVT) for an identifier (RFC 6507 s5.1.1).
//! let kms = KmsKeyPair::generate(&mut rng)?;
//! let id = b"2011-02\0tel:+447700900123\0";
//! let (ssk, pvt) = kms.issue(id, &mut rng)?;
//! // User: validate what the KMS sent before using it (s5.1.2), then sign (s5.2.1).
//! let signer = SigningKey::new(kms.kpak(), id, ssk, &pvt)?;
//! let sig = signer.try_sign_with_rng(&mut rng, b"message")?;
//! // Anyone with KPAK and the signer's ID verifies (s5.2.2).
//! VerifyingKey::new(kms.kpak(), id).verify(b"message", &sig)?;
//! # Ok(())
//! # }
//! ```

pub(crate) mod base_mul;
mod encoding;
mod hash;
pub mod hazmat;
mod jacobian;
mod kms;
mod point;
mod scalar;
mod sign;
mod verify;

pub use encoding::{DecodeError, Signature};
pub use hash::{hash_he, hash_hs};
pub use kms::KmsKeyPair;
pub use point::{Kpak, Pvt};
pub use scalar::{Ksak, Ssk};
pub use sign::SigningKey;
pub use verify::{PreparedVerifyingKey, VerifyingKey};

/// N = Ceiling(n/8) = 32: the octet length of integers, field elements and hash outputs for
/// P-256 with SHA-256 (RFC 6507 s2.1, s3.1).
pub const N: usize = 32;

/// Length of an encoded scalar (SSK, KSAK, r, s) and of a hash value (HS, HE): N = 32 octets
/// (RFC 6507 s3.2).
pub const SCALAR_LEN: usize = N;

/// Length of an encoded point (KPAK, PVT, G, Y, J): `0x04 || x || y`, 2N + 1 = 65 octets
/// (RFC 6507 s3.2).
pub const POINT_LEN: usize = 2 * N + 1;

/// Length of an encoded signature `r || s || PVT`: 4N + 1 = 129 octets (RFC 6507 s3.3).
pub const SIGNATURE_LEN: usize = 4 * N + 1;

/// How many times a randomised operation draws a fresh scalar before it gives up with an error.
/// The RFC says "restart"; a working RNG needs a second draw with probability about 2^-32, so
/// reaching this bound means the RNG is broken (for example it returns a constant).
const MAX_DRAWS: usize = 64;

/// Decodes a hex string of exactly `2 * LEN` digits at compile time (for cited RFC constants).
const fn hex_array<const LEN: usize>(s: &str) -> [u8; LEN] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => panic!("not a hex digit"),
        }
    }
    let b = s.as_bytes();
    assert!(b.len() == 2 * LEN, "wrong number of hex digits");
    let mut out = [0u8; LEN];
    let mut i = 0;
    while i < LEN {
        out[i] = (nibble(b[2 * i]) << 4) | nibble(b[2 * i + 1]);
        i += 1;
    }
    out
}

/// The field prime p of P-256 (RFC 6507 s4.1, FIPS 186-4 D.1.2.3), big-endian.
const P_BYTES: [u8; N] =
    hex_array("FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF");
