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

impl KmsKeyPair {
    /// Checks (SSK, PVT) pairs this KMS has just issued, each for its identifier, all at once:
    /// RFC 6507 s5.1.2's `[SSK]G = [HS]PVT + KPAK` for every pair, combined with fresh random
    /// 128-bit weights `r_i` into one equation,
    /// `[sum r_i SSK_i]G = [sum r_i]KPAK + sum [r_i HS_i]PVT_i`. The left side is one
    /// constant-time multiplication of the secret combination; the right side is one
    /// variable-time multi-scalar multiplication over public points and scalars. A batch that
    /// holds a pair failing s5.1.2 passes with probability about 2^-127.
    ///
    /// # Errors
    /// The positions in `pairs` of the pairs that fail, found by checking each pair alone
    /// ([`super::SigningKey::new`]) once the combined equation has failed; a pair with HS = 0
    /// mod q is always among them. An RNG failure fails the whole batch (every position).
    ///
    /// # Security
    /// The combination of the SSKs is wiped; only the verdict of the combined equation is
    /// declassified (the points it compares are public: `[SSK_i]G` is
    /// `[HS_i]PVT_i + KPAK`).
    pub fn check_issued<R: CryptoRng + ?Sized>(
        &self,
        pairs: &[(&[u8], &Ssk, &Pvt)],
        rng: &mut R,
    ) -> Result<(), Vec<usize>> {
        use subtle::ConstantTimeEq;
        if pairs.is_empty() {
            return Ok(());
        }
        let all_bad = || (0..pairs.len()).collect::<Vec<_>>();
        let one_by_one = || {
            pairs
                .iter()
                .enumerate()
                .filter(|(_, (id, ssk, pvt))| {
                    super::SigningKey::new(&self.kpak, id, (*ssk).clone(), pvt).is_err()
                })
                .map(|(i, _)| i)
                .collect::<Vec<_>>()
        };
        let mut combined = p256::Scalar::ZERO;
        let mut weight_sum = p256::Scalar::ZERO;
        let mut terms = Vec::with_capacity(pairs.len());
        for (id, ssk, pvt) in pairs {
            let hs = reduce_mod_q(&hash_hs(&self.kpak, id, pvt));
            let Some(point) = super::jacobian::Affine::from_affine_point(pvt.point()) else {
                return Err(one_by_one());
            };
            if bool::from(hs.is_zero()) {
                return Err(one_by_one());
            }
            let mut bytes = [0u8; 32];
            if rng.try_fill_bytes(&mut bytes[16..]).is_err() {
                return Err(all_bad());
            }
            // Odd, so never 0.
            bytes[31] |= 1;
            let r = reduce_mod_q(&bytes);
            bytes.zeroize();
            let mut weighted = r * ssk.0.expose();
            combined += &weighted;
            weighted.zeroize();
            weight_sum += &r;
            terms.push((r * hs, point));
        }
        let lhs = p256::ProjectivePoint::from(SecretScalar::new(combined).mul_base());
        combined.zeroize();
        let Some(kpak_table) = self.kpak.table_vartime() else {
            return Err(one_by_one());
        };
        let rhs = super::jacobian::mul_sum_vartime(&weight_sum, kpak_table, &terms).to_p256();
        let equal = lhs.ct_eq(&rhs);
        if crate::ct::declassify(equal) {
            Ok(())
        } else {
            Err(one_by_one())
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn issued(kms: &KmsKeyPair, n: u8, rng: &mut ChaCha20Rng) -> Vec<(Vec<u8>, Ssk, Pvt)> {
        (0..n)
            .map(|i| {
                let id = vec![i; 8];
                let (ssk, pvt) = kms.issue(&id, rng).unwrap();
                (id, ssk, pvt)
            })
            .collect()
    }

    fn refs(v: &[(Vec<u8>, Ssk, Pvt)]) -> Vec<(&[u8], &Ssk, &Pvt)> {
        v.iter().map(|(id, s, p)| (id.as_slice(), s, p)).collect()
    }

    /// Good batches pass; a changed SSK, a PVT of another identifier and a pair checked for
    /// the wrong identifier are each named, and nothing else is.
    #[test]
    fn batch_check_names_the_bad_pairs() {
        let mut rng = ChaCha20Rng::seed_from_u64(21);
        let kms = KmsKeyPair::generate(&mut rng).unwrap();
        let mut pairs = issued(&kms, 9, &mut rng);
        assert_eq!(kms.check_issued(&refs(&pairs), &mut rng), Ok(()));
        assert_eq!(kms.check_issued(&refs(&pairs[..1]), &mut rng), Ok(()));
        assert_eq!(kms.check_issued(&[], &mut rng), Ok(()));

        let other = KmsKeyPair::generate(&mut rng).unwrap();
        assert_eq!(
            other.check_issued(&refs(&pairs[..3]), &mut rng),
            Err(vec![0, 1, 2])
        );

        let bumped = SecretScalar::new(pairs[4].1.0.expose() + &p256::Scalar::ONE);
        pairs[4].1 = Ssk(bumped);
        assert_eq!(kms.check_issued(&refs(&pairs), &mut rng), Err(vec![4]));

        let pvt7 = pairs[7].2;
        pairs[2].2 = pvt7;
        assert_eq!(kms.check_issued(&refs(&pairs), &mut rng), Err(vec![2, 4]));

        pairs[5].0 = b"someone else".to_vec();
        assert_eq!(
            kms.check_issued(&refs(&pairs), &mut rng),
            Err(vec![2, 4, 5])
        );
    }
}
