//! The KMS side of ECCSI: the community key pair (KSAK, KPAK) and issuing (SSK, PVT) to an
//! identifier (RFC 6507 s4.2, s5.1.1).

use core::fmt;

use p256::elliptic_curve::ff::Field;
use rand_core::CryptoRng;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::MAX_DRAWS;
use super::hash::{hash_hs, reduce_mod_q};
use super::point::{Kpak, Pvt};
use super::scalar::{Ksak, SecretScalar, Ssk};

/// A KMS's ECCSI key pair: the secret KSAK and the public KPAK = \[KSAK\]G (RFC 6507 s4.2), kept
/// together so that issuing does not recompute KPAK.
///
/// # Security
/// Holds the KSAK: not `Copy`, `Debug` shows only the KPAK, the KSAK is zeroized on drop.
#[derive(Clone)]
pub struct KmsKeyPair {
    ksak: Ksak,
    kpak: Kpak,
}

impl KmsKeyPair {
    /// A fresh community key pair: a random KSAK in \[1, q-1\] and KPAK = \[KSAK\]G
    /// (RFC 6507 s4.2).
    ///
    /// # Errors
    /// The opaque [`signature::Error`] only if the RNG is broken (see [`Ksak::generate`]).
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Result<Self, signature::Error> {
        Ksak::generate(rng).map(Self::from_ksak)
    }

    /// The key pair of an existing KSAK; computes KPAK = \[KSAK\]G in constant time.
    #[must_use]
    pub fn from_ksak(ksak: Ksak) -> Self {
        let kpak = ksak.kpak();
        Self { ksak, kpak }
    }

    /// The KMS Secret Authentication Key.
    #[must_use]
    pub fn ksak(&self) -> &Ksak {
        &self.ksak
    }

    /// The KMS Public Authentication Key, to be published to the community (RFC 6507 s4.2).
    #[must_use]
    pub fn kpak(&self) -> &Kpak {
        &self.kpak
    }

    /// Issues a fresh (SSK, PVT) to the identifier `id` (RFC 6507 s5.1.1):
    /// 1. v = a random non-zero integer mod q;
    /// 2. PVT = \[v\]G;
    /// 3. HS = hash( G || KPAK || ID || PVT );
    /// 4. SSK = ( KSAK + HS * v ) mod q;
    /// 5. if SSK = 0 or HS = 0 mod q, start again with a new v;
    /// 6. output (SSK, PVT); v is erased.
    ///
    /// Every call draws a new v, so one identifier can hold several valid pairs at once (RFC
    /// 6509 uses this for a user with several devices).
    ///
    /// # Errors
    /// The opaque [`signature::Error`] only if the RNG is broken (it keeps producing values
    /// that have to be rejected).
    ///
    /// # Security
    /// \[v\]G and the SSK arithmetic are constant time; v is zeroized when this returns.
    pub fn issue<R: CryptoRng + ?Sized>(
        &self,
        id: &[u8],
        rng: &mut R,
    ) -> Result<(Ssk, Pvt), signature::Error> {
        for _ in 0..MAX_DRAWS {
            let v = SecretScalar::random(rng)?;
            if let Some(pair) = self.issue_with_v(id, &v) {
                return Ok(pair);
            }
        }
        Err(signature::Error::new())
    }

    /// Steps 2 to 6 of RFC 6507 s5.1.1 for a given v; `None` when step 5 asks for a new v.
    pub(crate) fn issue_with_v(&self, id: &[u8], v: &SecretScalar) -> Option<(Ssk, Pvt)> {
        let pvt = Pvt::from_nonidentity(v.mul_base());
        let hs = reduce_mod_q(&hash_hs(&self.kpak, id, &pvt));
        // HS is public: branching on it leaks nothing.
        if bool::from(hs.is_zero()) {
            return None;
        }
        // HS * v reveals v (HS is public): named and wiped.
        let mut hs_v = hs * v.expose();
        let ssk = SecretScalar::new(self.ksak.0.expose() + &hs_v);
        hs_v.zeroize();
        // A zero SSK is discarded; only that (negligible) event shows in the timing.
        if crate::ct::declassify(ssk.expose().is_zero()) {
            return None;
        }
        Some((Ssk(ssk), pvt))
    }
}

impl fmt::Debug for KmsKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KmsKeyPair")
            .field("kpak", &self.kpak)
            .finish_non_exhaustive()
    }
}

impl ZeroizeOnDrop for KmsKeyPair {}
