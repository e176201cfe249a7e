//! Wire formats of RFC 6507 s3.2 (integers, points) and s3.3 (signatures), and the typed error
//! for rejected encodings.

use core::fmt;

use p256::Scalar;
use p256::elliptic_curve::ff::{Field, PrimeField};

use super::point::Pvt;
use super::{N, POINT_LEN, SIGNATURE_LEN};

/// Why an encoded ECCSI value (a point, a scalar, a signature) was rejected.
///
/// Encodings are public wire data, so these errors are precise: they name the value (`what`:
/// `"KPAK"`, `"PVT"`, `"SSK"`, `"KSAK"`, `"r"`, `"s"`, `"signature"`, ...) and the reason.
/// Cryptographic failures are reported by the opaque [`signature::Error`] instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// No octets at all.
    Empty {
        /// The value being decoded.
        what: &'static str,
    },
    /// The encoding does not have the one length its format allows (65 octets for a point, 129
    /// for a signature, RFC 6507 s3.2, s3.3).
    InvalidLength {
        /// The value being decoded.
        what: &'static str,
        /// Octets required.
        expected: usize,
        /// Octets given.
        actual: usize,
    },
    /// A point does not start with `0x04` (the only form RFC 6507 s3.2 uses: uncompressed).
    InvalidPointTag {
        /// The value being decoded.
        what: &'static str,
        /// The first octet found.
        tag: u8,
    },
    /// A point coordinate is not below p, so it is not an element of F_p (RFC 6507 s3.2).
    CoordinateOutOfRange {
        /// The value being decoded.
        what: &'static str,
    },
    /// `(x, y)` does not satisfy `y^2 = x^3 - 3x + B` (RFC 6507 s5.1.2 step 1, s5.2.2 step 1).
    NotOnCurve {
        /// The value being decoded.
        what: &'static str,
    },
    /// The integer is zero where RFC 6507 requires a non-zero value (KSAK, SSK, v, j, r, s).
    Zero {
        /// The value being decoded.
        what: &'static str,
    },
    /// The integer is not below q (or has non-zero octets beyond the 32 that fit below q).
    OutOfRange {
        /// The value being decoded.
        what: &'static str,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Empty { what } => write!(f, "{what}: no octets"),
            Self::InvalidLength {
                what,
                expected,
                actual,
            } => write!(f, "{what}: must be {expected} octets, got {actual}"),
            Self::InvalidPointTag { what, tag } => {
                write!(f, "{what}: point must start with 0x04, got 0x{tag:02X}")
            }
            Self::CoordinateOutOfRange { what } => {
                write!(f, "{what}: point coordinate is not below p")
            }
            Self::NotOnCurve { what } => write!(f, "{what}: point is not on the curve P-256"),
            Self::Zero { what } => write!(f, "{what}: value is zero"),
            Self::OutOfRange { what } => write!(f, "{what}: value is not below q"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// An ECCSI signature `r || s || PVT` (RFC 6507 s3.3): 129 octets.
///
/// `r` is the x-coordinate of J = \[j\]G as a 32-octet integer, *not* reduced mod q (s5.2.1 step
/// 2); `s` is an integer in \[1, q-1\]; PVT is the signer's Public Validation Token.
///
/// A `Signature` value is always well formed: decoding checks the length, `0 < r`, `0 < s < q`
/// and that PVT is a point on the curve (s5.2.2 step 1). Whether it is a valid signature is for
/// [`VerifyingKey`](super::VerifyingKey) to say.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature {
    r: [u8; N],
    s: Scalar,
    pvt: Pvt,
}

impl Signature {
    /// Length of the encoding: 4N + 1 = 129 octets (RFC 6507 s3.3).
    pub const BYTE_SIZE: usize = SIGNATURE_LEN;

    /// Assembles a signature from its parts (internal: `s` is non-zero and below q).
    pub(crate) fn from_parts(r: [u8; N], s: Scalar, pvt: Pvt) -> Self {
        Self { r, s, pvt }
    }

    /// Decodes `r || s || PVT` (RFC 6507 s3.3).
    ///
    /// # Errors
    /// [`DecodeError::InvalidLength`] unless exactly 129 octets; [`DecodeError::Zero`] for r = 0
    /// or s = 0; [`DecodeError::OutOfRange`] for s >= q; the point errors of
    /// [`Pvt::from_bytes`] for the PVT part (s5.2.2 step 1).
    ///
    /// # Panics
    /// Never.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let bytes: &[u8; SIGNATURE_LEN] =
            bytes.try_into().map_err(|_| DecodeError::InvalidLength {
                what: "signature",
                expected: SIGNATURE_LEN,
                actual: bytes.len(),
            })?;
        let (r_bytes, rest) = bytes.split_at(N);
        let (s_bytes, pvt_bytes) = rest.split_at(N);
        let mut r = [0u8; N];
        r.copy_from_slice(r_bytes);
        if r == [0u8; N] {
            return Err(DecodeError::Zero { what: "r" });
        }
        let mut s_repr = p256::FieldBytes::default();
        s_repr.copy_from_slice(s_bytes);
        let s = Option::<Scalar>::from(Scalar::from_repr(s_repr))
            .ok_or(DecodeError::OutOfRange { what: "s" })?;
        if bool::from(s.is_zero()) {
            return Err(DecodeError::Zero { what: "s" });
        }
        let pvt = Pvt::from_bytes(pvt_bytes)?;
        Ok(Self { r, s, pvt })
    }

    /// Encodes `r || s || PVT` (RFC 6507 s3.3), 129 octets.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; SIGNATURE_LEN] {
        let mut out = [0u8; SIGNATURE_LEN];
        let (r, rest) = out.split_at_mut(N);
        let (s, pvt) = rest.split_at_mut(N);
        r.copy_from_slice(&self.r);
        s.copy_from_slice(&self.s.to_bytes());
        pvt.copy_from_slice(self.pvt.as_bytes());
        out
    }

    /// r: the x-coordinate of J as a 32-octet big-endian integer (RFC 6507 s5.2.1 step 2).
    #[must_use]
    pub fn r(&self) -> &[u8; N] {
        &self.r
    }

    /// s as a 32-octet big-endian integer (RFC 6507 s5.2.1 step 6).
    #[must_use]
    pub fn s(&self) -> [u8; N] {
        self.s.to_bytes().into()
    }

    /// The signer's Public Validation Token carried in the signature (RFC 6507 s3.3).
    #[must_use]
    pub fn pvt(&self) -> &Pvt {
        &self.pvt
    }

    /// s as a scalar (in \[1, q-1\] by construction).
    pub(crate) fn s_scalar(&self) -> &Scalar {
        &self.s
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signature")
            .field("r", &hex::encode_upper(self.r))
            .field("s", &hex::encode_upper(self.s()))
            .field("pvt", &self.pvt)
            .finish()
    }
}

impl TryFrom<&[u8]> for Signature {
    type Error = DecodeError;

    fn try_from(bytes: &[u8]) -> Result<Self, DecodeError> {
        Self::from_bytes(bytes)
    }
}

impl From<Signature> for [u8; SIGNATURE_LEN] {
    fn from(sig: Signature) -> Self {
        sig.to_bytes()
    }
}

impl From<&Signature> for [u8; SIGNATURE_LEN] {
    fn from(sig: &Signature) -> Self {
        sig.to_bytes()
    }
}

impl signature::SignatureEncoding for Signature {
    type Repr = [u8; SIGNATURE_LEN];

    fn to_bytes(&self) -> Self::Repr {
        Signature::to_bytes(self)
    }

    fn encoded_len(&self) -> usize {
        SIGNATURE_LEN
    }
}

// Keep the constant and the layout in step.
const _: () = assert!(SIGNATURE_LEN == 2 * N + POINT_LEN);
