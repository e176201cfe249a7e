//! The user side of ECCSI: validating a received (SSK, PVT) (RFC 6507 s5.1.2) and signing
//! (s5.2.1).

use core::fmt;

use p256::elliptic_curve::PrimeField;
use p256::elliptic_curve::ff::Field;
use p256::elliptic_curve::point::AffineCoordinates;
use p256::{AffinePoint, ProjectivePoint, Scalar};
use rand_core::TryCryptoRng;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::encoding::Signature;
use super::hash::{hash_he, hash_hs, reduce_mod_q};
use super::point::{Kpak, Pvt, encode_point};
use super::scalar::{SecretScalar, Ssk};
use super::verify::{PreparedVerifyingKey, VerifyingKey};
use super::{MAX_DRAWS, N, POINT_LEN};

/// A validated ECCSI signing key: an (SSK, PVT) issued for the identifier ID under the KMS key
/// KPAK, which passed the check of RFC 6507 s5.1.2, kept with KPAK, ID and HS.
///
/// The only way to build one is [`SigningKey::new`], which performs that check, so holding a
/// `SigningKey` means the pair is valid.
///
/// # Security
/// Holds the SSK: not `Copy`, `Debug` shows only public parts, the SSK is zeroized on drop.
#[derive(Clone)]
pub struct SigningKey {
    ssk: Ssk,
    pvt: Pvt,
    kpak: Kpak,
    id: Vec<u8>,
    hs: [u8; N],
    /// Y = \[HS\]PVT + KPAK = \[SSK\]G, the public key the verifier reconstructs (s5.2.2 step 4).
    y: AffinePoint,
}

/// What one signature computation produced, for [`super::hazmat`]'s known-answer traces.
pub(crate) struct SignOutput {
    pub(crate) signature: Signature,
    pub(crate) j: [u8; POINT_LEN],
    pub(crate) he: [u8; N],
}

impl SigningKey {
    /// Validates a received (SSK, PVT) for the identifier `id` under `kpak` (RFC 6507 s5.1.2),
    /// and keeps it for signing:
    /// 1. PVT lies on the curve (guaranteed by [`Pvt`], which only decodes points on P-256);
    /// 2. HS = hash( G || KPAK || ID || PVT );
    /// 3. KPAK = \[SSK\]G - \[HS\]PVT, checked as \[SSK\]G = \[HS\]PVT + KPAK.
    ///
    /// A pair with HS = 0 mod q is also refused: a KMS following s5.1.1 step 5 never issues one
    /// (it would make SSK = KSAK).
    ///
    /// # Errors
    /// The opaque [`signature::Error`] if the pair does not validate.
    ///
    /// # Security
    /// \[SSK\]G is constant time and the comparison goes through [`ConstantTimeEq`]; the
    /// public term \[HS\]PVT uses variable-time arithmetic.
    pub fn new(kpak: &Kpak, id: &[u8], ssk: Ssk, pvt: &Pvt) -> Result<Self, signature::Error> {
        let hs = hash_hs(kpak, id, pvt);
        let hs_scalar = reduce_mod_q(&hs);
        if bool::from(hs_scalar.is_zero()) {
            return Err(signature::Error::new());
        }
        let y = y_vartime(kpak, &hs_scalar, pvt);
        let ssk_g = ProjectivePoint::from(ssk.0.mul_base());
        if !crate::ct::declassify(ssk_g.ct_eq(&y)) {
            return Err(signature::Error::new());
        }
        Ok(Self {
            ssk,
            pvt: *pvt,
            kpak: kpak.clone(),
            id: id.to_vec(),
            hs,
            y: y.to_affine(),
        })
    }

    /// The KMS Public Authentication Key the pair was validated against.
    #[must_use]
    pub fn kpak(&self) -> &Kpak {
        &self.kpak
    }

    /// The signer's identifier ID.
    #[must_use]
    pub fn id(&self) -> &[u8] {
        &self.id
    }

    /// The Public Validation Token, carried in every signature (RFC 6507 s3.3).
    #[must_use]
    pub fn pvt(&self) -> &Pvt {
        &self.pvt
    }

    /// The Secret Signing Key.
    #[must_use]
    pub fn ssk(&self) -> &Ssk {
        &self.ssk
    }

    /// HS = hash( G || KPAK || ID || PVT ), computed once at validation (RFC 6507 s5.1.2 step
    /// 2) and reused by every signature (s5.2.1 step 3).
    #[must_use]
    pub fn hs(&self) -> &[u8; N] {
        &self.hs
    }

    /// The verifying key for this signer, with Y = \[HS\]PVT + KPAK already computed
    /// (RFC 6507 s5.2.2 step 4).
    #[must_use]
    pub fn verifying_key(&self) -> PreparedVerifyingKey {
        PreparedVerifyingKey::from_parts(
            VerifyingKey::new(&self.kpak, &self.id),
            self.pvt,
            self.hs,
            ProjectivePoint::from(self.y),
        )
    }

    /// Signs `message` with a fresh random j (RFC 6507 s5.2.1).
    ///
    /// # Errors
    /// The opaque [`signature::Error`] if the RNG fails or is broken.
    pub fn try_sign_with_rng<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        message: &[u8],
    ) -> Result<Signature, signature::Error> {
        for _ in 0..MAX_DRAWS {
            let j = SecretScalar::random(rng)?;
            if let Some(out) = self.sign_with_j(message, &j) {
                return Ok(out.signature);
            }
        }
        Err(signature::Error::new())
    }

    /// RFC 6507 s5.2.1 steps 2 to 7 for a given j; `None` when step 4 asks for a new j (or, with
    /// negligible probability, r = Jx = 0, which no verifier accepts):
    /// 2. J = \[j\]G, r = Jx as a 32-octet integer, not reduced mod q;
    /// 3. HE = hash( HS || r || M );
    /// 4. HE + r * SSK must not be 0 mod q;
    /// 5. s' = ( (HE + r * SSK)^-1 * j ) mod q;
    /// 6. s = s' when s' fits in N octets, else q - s'. For P-256, q < 2^256, so s' (a value
    ///    mod q) always fits and s = s': the RFC's rule leaves s unchanged here (Appendix A has
    ///    s = s' > q/2), and this signer does not "low-s" normalise either;
    /// 7. the signature is r || s || PVT.
    pub(crate) fn sign_with_j(&self, message: &[u8], j: &SecretScalar) -> Option<SignOutput> {
        let j_point = j.mul_base();
        let mut r: [u8; N] = j_point.x().into();
        // r is public (it is part of the signature).
        crate::ct::declassify_in_place(&mut r);
        if r == [0u8; N] {
            return None;
        }
        let he = hash_he(&self.hs, &r, message);
        // r * SSK reveals the SSK (r is public): every secret temporary is named and wiped.
        let mut r_ssk = reduce_mod_q(&r) * self.ssk.0.expose();
        let mut inverse = reduce_mod_q(&he) + r_ssk;
        r_ssk.zeroize();
        // Constant-time inversion in place; fails only for a zero denominator (step 4).
        let nonzero = invert_scalar_in_place(&mut inverse);
        if !crate::ct::declassify(nonzero) {
            inverse.zeroize();
            return None;
        }
        let mut s = inverse * j.expose();
        inverse.zeroize();
        // s is public (it is part of the signature).
        crate::ct::declassify_in_place(&mut s);
        Some(SignOutput {
            signature: Signature::from_parts(r, s, self.pvt),
            j: encode_point(&j_point),
            he,
        })
    }
}

/// P-256's group order q for the safegcd inversion (little-endian words).
const P256_Q: crate::field::safegcd::Modulus62<5> = crate::field::safegcd::Modulus62::new(&[
    0xf3b9_cac2_fc63_2551,
    0xbce6_faad_a717_9e84,
    0xffff_ffff_ffff_ffff,
    0xffff_ffff_0000_0000,
]);

/// The inverse of a secret scalar modulo q, in constant time; `None` for zero.
#[cfg(test)]
fn invert_scalar(x: &Scalar) -> subtle::CtOption<Scalar> {
    let mut v = *x;
    let nonzero = invert_scalar_in_place(&mut v);
    subtle::CtOption::new(v, nonzero)
}

/// Replaces a secret scalar by its inverse modulo q, in constant time, and tells whether it
/// was non-zero (zero becomes zero). The crate's safegcd (about 1.5 us) instead of `p256`'s
/// `Scalar::invert` (about 7 us on this project's machine). Every temporary is wiped.
fn invert_scalar_in_place(x: &mut Scalar) -> subtle::Choice {
    let nonzero = !x.is_zero();
    let mut be = x.to_repr();
    let mut le = [0u64; 4];
    for (i, w) in le.iter_mut().enumerate() {
        let mut word = [0u8; 8];
        word.copy_from_slice(&be[32 - 8 * (i + 1)..32 - 8 * i]);
        *w = u64::from_be_bytes(word);
        word.zeroize();
    }
    let mut inv = crate::field::safegcd::invert(&le, &P256_Q);
    for (i, w) in inv.iter().enumerate() {
        be[32 - 8 * (i + 1)..32 - 8 * i].copy_from_slice(&w.to_be_bytes());
    }
    // The inverse is below q, so it always decodes (the fallback keeps this total).
    let s = Scalar::from_repr(be);
    let decoded = s.is_some();
    *x = s.unwrap_or(Scalar::ZERO);
    le.zeroize();
    inv.zeroize();
    be.zeroize();
    decoded & nonzero
}

/// Y = \[HS\]PVT + KPAK (RFC 6507 s5.2.2 step 4; s5.1.2 step 3 rearranged). Public inputs only,
/// variable time.
pub(crate) fn y_vartime(kpak: &Kpak, hs: &Scalar, pvt: &Pvt) -> ProjectivePoint {
    use super::jacobian::{Affine, OddMultiples, mul_add_vartime};
    let pvt_point = ProjectivePoint::from(*pvt.point());
    let kpak_point = ProjectivePoint::from(*kpak.point());
    match (
        Affine::from_p256(&pvt_point),
        Affine::from_p256(&kpak_point),
    ) {
        (Some(pvt), kpak) => {
            mul_add_vartime(hs, &OddMultiples::for_point(&pvt), kpak.as_ref()).to_p256()
        }
        // A decoded PVT is never the identity; kept total for safety.
        (None, _) => kpak_point,
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kpak", &self.kpak)
            .field("id", &hex::encode_upper(&self.id))
            .field("pvt", &self.pvt)
            .finish_non_exhaustive()
    }
}

impl ZeroizeOnDrop for SigningKey {}

impl signature::RandomizedSigner<Signature> for SigningKey {
    /// RFC 6507 s5.2.1 with a fresh j drawn from `rng`.
    fn try_sign_with_rng<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        msg: &[u8],
    ) -> Result<Signature, signature::Error> {
        SigningKey::try_sign_with_rng(self, rng, msg)
    }
}

impl signature::Keypair for SigningKey {
    type VerifyingKey = PreparedVerifyingKey;

    fn verifying_key(&self) -> PreparedVerifyingKey {
        SigningKey::verifying_key(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_inversion_matches_p256() {
        let mut cases = vec![
            Scalar::ONE,
            -Scalar::ONE,
            -Scalar::from(2u64),
            Scalar::from(2u64),
        ];
        let mut x = Scalar::from(0x9e37_79b9_7f4a_7c15u64);
        for i in 0..300u64 {
            x = x.square() * Scalar::from(i + 3) + Scalar::ONE;
            cases.push(x);
        }
        for v in &cases {
            let ours = invert_scalar(v).unwrap();
            assert_eq!(ours, v.invert().unwrap());
            assert_eq!(ours * v, Scalar::ONE);
        }
        assert!(bool::from(invert_scalar(&Scalar::ZERO).is_none()));
    }
}
