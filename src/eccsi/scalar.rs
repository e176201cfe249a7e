//! Secret scalars of ECCSI: KSAK and SSK (and, in [`super::hazmat`], v and j).
//!
//! All of them are non-zero integers below q (RFC 6507 s4.2, s5.1.1 steps 1 and 5, s5.2.1 step
//! 1). They are not `Copy`, print no value, are zeroized on drop and compare in constant time.

use core::fmt;

use p256::elliptic_curve::ff::{Field, PrimeField};
use p256::{AffinePoint, FieldBytes, Scalar};
use rand_core::TryCryptoRng;
use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::encoding::DecodeError;
use super::point::Kpak;
use super::{MAX_DRAWS, N};

/// A secret scalar in \[1, q-1\]: zeroized on drop, redacted `Debug`, constant-time equality.
pub(crate) struct SecretScalar(Scalar);

impl SecretScalar {
    /// Wraps a scalar the caller knows to be non-zero.
    pub(crate) fn new(s: Scalar) -> Self {
        Self(s)
    }

    /// The scalar, for constant-time arithmetic only.
    pub(crate) fn expose(&self) -> &Scalar {
        &self.0
    }

    /// Big-endian encoding, 32 octets, in a buffer that is zeroized on drop.
    pub(crate) fn to_bytes(&self) -> Zeroizing<[u8; N]> {
        let mut repr = self.0.to_repr();
        let mut out = Zeroizing::new([0u8; N]);
        out.copy_from_slice(&repr);
        repr.as_mut_slice().zeroize();
        out
    }

    /// Decodes a big-endian integer in \[1, q-1\] of any length: shorter than 32 octets
    /// (minimal encodings such as RFC 6507 Appendix A's `0x12345`) or longer with leading zero
    /// octets (one deployed KMS sends a 34-octet SSK). Constant time in the value: the excess
    /// octets are OR-ed together over the public length, the range check is p256's.
    pub(crate) fn decode(bytes: &[u8], what: &'static str) -> Result<Self, DecodeError> {
        if bytes.is_empty() {
            return Err(DecodeError::Empty { what });
        }
        let mut repr = FieldBytes::default();
        let mut excess = 0u8;
        if let Some(cut) = bytes.len().checked_sub(N) {
            let (high, low) = bytes.split_at(cut);
            for b in high {
                excess |= *b;
            }
            repr.copy_from_slice(low);
        } else {
            let start = N - bytes.len();
            if let Some(dst) = repr.get_mut(start..) {
                dst.copy_from_slice(bytes);
            }
        }
        let fits = excess.ct_eq(&0);
        let candidate = Scalar::from_repr(repr);
        repr.as_mut_slice().zeroize();
        let in_range = fits & candidate.is_some();
        let mut value = candidate.unwrap_or(Scalar::ZERO);
        let is_zero = value.is_zero();
        // Branch only on the validity verdicts, never on the value.
        if !crate::ct::declassify(in_range) {
            value.zeroize();
            return Err(DecodeError::OutOfRange { what });
        }
        if crate::ct::declassify(is_zero) {
            return Err(DecodeError::Zero { what });
        }
        Ok(Self(value))
    }

    /// Draws a uniformly random scalar in \[1, q-1\] by rejection sampling 32-octet strings
    /// (RFC 6507 s4.2, s5.1.1 step 1, s5.2.1 step 1). Only rejected candidates influence the
    /// control flow.
    pub(crate) fn random<R: TryCryptoRng + ?Sized>(rng: &mut R) -> Result<Self, signature::Error> {
        let mut repr = FieldBytes::default();
        for _ in 0..MAX_DRAWS {
            if rng.try_fill_bytes(repr.as_mut_slice()).is_err() {
                repr.as_mut_slice().zeroize();
                return Err(signature::Error::new());
            }
            let candidate = Scalar::from_repr(repr);
            let mut value = candidate.unwrap_or(Scalar::ZERO);
            let ok = candidate.is_some() & !value.is_zero();
            if crate::ct::declassify(ok) {
                repr.as_mut_slice().zeroize();
                return Ok(Self(value));
            }
            value.zeroize();
        }
        repr.as_mut_slice().zeroize();
        Err(signature::Error::new())
    }

    /// \[self\]G in constant time ([`super::base_mul`]), affine.
    pub(crate) fn mul_base(&self) -> AffinePoint {
        super::base_mul::mul_base(&self.0)
    }
}

impl Clone for SecretScalar {
    fn clone(&self) -> Self {
        Self(self.0)
    }
}

impl Drop for SecretScalar {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl Zeroize for SecretScalar {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

impl ZeroizeOnDrop for SecretScalar {}

impl ConstantTimeEq for SecretScalar {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

impl fmt::Debug for SecretScalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretScalar").finish_non_exhaustive()
    }
}

macro_rules! secret_scalar {
    ($name:ident, $what:literal, $doc:literal) => {
        #[doc = $doc]
        ///
        /// # Security
        /// Secret: not `Copy`, `Debug` prints no value, zeroized on drop, `==` is constant time
        /// ([`ConstantTimeEq`]). It is always in \[1, q-1\].
        #[derive(Clone)]
        pub struct $name(pub(crate) SecretScalar);

        impl $name {
            /// Decodes a big-endian integer in \[1, q-1\] (RFC 6507 s3.2). Encodings shorter
            /// than 32 octets are accepted (left-padded), and so are longer ones whose extra
            /// leading octets are all zero, as some deployed KMSs send (a 34-octet SSK has been
            /// seen). Hex case is the caller's business: this takes octets.
            ///
            /// # Errors
            /// [`DecodeError::Empty`] for no octets, [`DecodeError::OutOfRange`] for a value
            /// >= q, [`DecodeError::Zero`] for zero.
            ///
            /// # Panics
            /// Never.
            pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
                SecretScalar::decode(bytes, $what).map(Self)
            }

            /// The 32-octet big-endian encoding (RFC 6507 s3.2), in a buffer that is zeroized
            /// when dropped.
            ///
            /// # Security
            /// This exports the secret.
            #[must_use]
            pub fn to_bytes(&self) -> Zeroizing<[u8; N]> {
                self.0.to_bytes()
            }
        }

        impl ConstantTimeEq for $name {
            fn ct_eq(&self, other: &Self) -> Choice {
                self.0.ct_eq(&other.0)
            }
        }

        impl PartialEq for $name {
            /// Constant time.
            fn eq(&self, other: &Self) -> bool {
                self.ct_eq(other).into()
            }
        }

        impl Eq for $name {}

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }

        impl Zeroize for $name {
            fn zeroize(&mut self) {
                self.0.zeroize();
            }
        }

        impl ZeroizeOnDrop for $name {}
    };
}

secret_scalar!(
    Ksak,
    "KSAK",
    "KMS Secret Authentication Key, KSAK (RFC 6507 s4.2): the KMS's master secret, a random \
     non-zero integer mod q. KPAK = \\[KSAK\\]G."
);

secret_scalar!(
    Ssk,
    "SSK",
    "Secret Signing Key, SSK = KSAK + HS * v mod q (RFC 6507 s4.3, s5.1.1 step 4): issued by the \
     KMS to one identifier together with a PVT. Turn it into a \
     [`SigningKey`](super::SigningKey) (which validates it, s5.1.2) before use."
);

impl Ksak {
    /// Draws a fresh KSAK: a uniformly random integer in \[1, q-1\] (RFC 6507 s4.2).
    ///
    /// # Errors
    /// The opaque [`signature::Error`] only if the RNG keeps returning values outside
    /// \[1, q-1\] (a broken RNG).
    pub fn generate<R: rand_core::CryptoRng + ?Sized>(
        rng: &mut R,
    ) -> Result<Self, signature::Error> {
        SecretScalar::random(rng).map(Self)
    }

    /// KPAK = \[KSAK\]G (RFC 6507 s4.2), computed in constant time.
    #[must_use]
    pub fn kpak(&self) -> Kpak {
        Kpak::from_nonidentity(self.0.mul_base())
    }
}
