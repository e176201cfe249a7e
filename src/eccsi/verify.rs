//! ECCSI signature verification (RFC 6507 s5.2.2). Everything here works on public data and
//! may run in variable time.

use core::fmt;

use p256::ProjectivePoint;

use super::encoding::Signature;
use super::hash::{hash_he, hash_hs, reduce_mod_q};
use super::jacobian::{
    Affine, Jac, OddMultiples, SplitTable, mul_g_add_vartime, mul3_vartime, reduce_below_2p,
};
use super::point::{Kpak, Pvt, encode_projective};
use super::sign::y_vartime;
use super::{N, P_BYTES, POINT_LEN};

/// What a verifier needs to check signatures from one identifier: the KMS's KPAK and the
/// signer's ID (RFC 6507 s5.2.2). The signer's PVT travels in each signature.
///
/// Each verification computes HS afresh and, without Y = \[HS\]PVT + KPAK, J = \[s HE\]G +
/// \[s r HS\]PVT + \[s r\]KPAK (the same point as RFC 6507's \[s\](\[HE\]G + \[r\]Y)) by one
/// multi-scalar multiplication over the tables of G and of the KPAK (kept in the [`Kpak`],
/// built once per KMS) and a small table of the signature's PVT. To check many signatures
/// from the same (ID, PVT), [`prepare`](Self::prepare) a [`PreparedVerifyingKey`] once.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifyingKey {
    kpak: Kpak,
    id: Vec<u8>,
}

impl VerifyingKey {
    /// The verifying key of identifier `id` under the KMS key `kpak`.
    #[must_use]
    pub fn new(kpak: &Kpak, id: &[u8]) -> Self {
        Self {
            kpak: kpak.clone(),
            id: id.to_vec(),
        }
    }

    /// The KMS Public Authentication Key.
    #[must_use]
    pub fn kpak(&self) -> &Kpak {
        &self.kpak
    }

    /// The signer's identifier ID.
    #[must_use]
    pub fn id(&self) -> &[u8] {
        &self.id
    }

    /// Computes, once, what verification of signatures carrying `pvt` needs: HS = hash( G ||
    /// KPAK || ID || PVT ) (RFC 6507 s5.2.2 step 2) and Y = \[HS\]PVT + KPAK (step 4).
    #[must_use]
    pub fn prepare(&self, pvt: &Pvt) -> PreparedVerifyingKey {
        let hs = hash_hs(&self.kpak, &self.id, pvt);
        let y = y_vartime(&self.kpak, &reduce_mod_q(&hs), pvt);
        PreparedVerifyingKey::from_parts(self.clone(), *pvt, hs, y)
    }

    /// Steps 2, 3 and 5 of RFC 6507 s5.2.2 for the PVT carried in `signature`, without Y:
    /// J = \[s HE\]G + \[s r HS\]PVT + \[s r\]KPAK = \[s\](\[HE\]G + \[r\](\[HS\]PVT +
    /// KPAK)), one interleaved multi-scalar multiplication. `None` only if the KPAK or the PVT
    /// were the identity, which decoded points never are.
    pub(crate) fn compute_j_new_signer_vartime(
        &self,
        msg: &[u8],
        signature: &Signature,
    ) -> Option<Jac> {
        let kpak_table = self.kpak.table_vartime()?;
        let pvt = Affine::from_affine_point(signature.pvt().point())?;
        let hs = hash_hs(&self.kpak, &self.id, signature.pvt());
        let he = hash_he(&hs, signature.r(), msg);
        let s = signature.s_scalar();
        let sr = s * &reduce_mod_q(signature.r());
        Some(mul3_vartime(
            &(s * &reduce_mod_q(&he)),
            &(sr * reduce_mod_q(&hs)),
            &OddMultiples::for_point(&pvt),
            &sr,
            kpak_table,
        ))
    }
}

/// Step 6 of RFC 6507 s5.2.2 on a computed J: Jx = r mod p, with J not the identity and
/// Jx != 0 (and r != 0, which a decoded `Signature` already guarantees).
fn check_j(j: &Jac, signature: &Signature) -> Result<(), signature::Error> {
    // 0 < r and 0 < s < q hold for every decoded `Signature`; r is re-checked here because it
    // is cheap and r = 0 must never be accepted.
    if signature.r() == &[0u8; N] {
        return Err(signature::Error::new());
    }
    // r < 2^256 < 2p, so r mod p is r or r - p; the comparison X = (r mod p) Z^2 needs no
    // inversion.
    let Some(r) = reduce_below_2p(signature.r(), &P_BYTES) else {
        return Err(signature::Error::new());
    };
    if j.x_is_zero() || !j.x_equals(&r) {
        return Err(signature::Error::new());
    }
    Ok(())
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kpak", &self.kpak)
            .field("id", &hex::encode_upper(&self.id))
            .finish()
    }
}

impl signature::Verifier<Signature> for VerifyingKey {
    /// RFC 6507 s5.2.2 in full, for the PVT carried in `signature`.
    ///
    /// # Errors
    /// The opaque [`signature::Error`] if the signature is not valid.
    fn verify(&self, msg: &[u8], signature: &Signature) -> Result<(), signature::Error> {
        match self.compute_j_new_signer_vartime(msg, signature) {
            Some(j) => check_j(&j, signature),
            // Unreachable for decoded points; the path through Y is total.
            None => self
                .prepare(signature.pvt())
                .verify_prepared(msg, signature),
        }
    }
}

/// A [`VerifyingKey`] together with one signer's PVT, HS and Y = \[HS\]PVT + KPAK (RFC 6507
/// s5.2.2 steps 2 and 4), computed once for any number of signatures from that signer.
///
/// A signature carrying another PVT is still verified correctly, from scratch.
#[derive(Clone)]
pub struct PreparedVerifyingKey {
    key: VerifyingKey,
    pvt: Pvt,
    hs: [u8; N],
    y: ProjectivePoint,
    /// Odd multiples of Y and of \[2^128\]Y for the verification's multi-scalar
    /// multiplication (`None` if Y is the identity).
    y_table: Option<SplitTable>,
}

impl PreparedVerifyingKey {
    pub(crate) fn from_parts(key: VerifyingKey, pvt: Pvt, hs: [u8; N], y: ProjectivePoint) -> Self {
        let y_table = Affine::from_p256(&y).map(|a| SplitTable::for_point(&a));
        Self {
            key,
            pvt,
            hs,
            y,
            y_table,
        }
    }

    /// The underlying KPAK and ID.
    #[must_use]
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// The PVT this key was prepared for.
    #[must_use]
    pub fn pvt(&self) -> &Pvt {
        &self.pvt
    }

    /// HS = hash( G || KPAK || ID || PVT ) (RFC 6507 s5.2.2 step 2).
    #[must_use]
    pub fn hs(&self) -> &[u8; N] {
        &self.hs
    }

    /// Y = \[HS\]PVT + KPAK (RFC 6507 s5.2.2 step 4) as `0x04 || x || y`, or `None` if Y is
    /// the identity (possible only for a KMS that issued a pair with \[HS\]PVT = -KPAK, which
    /// cannot validate).
    #[must_use]
    pub fn y(&self) -> Option<[u8; POINT_LEN]> {
        encode_projective(&self.y)
    }

    /// Steps 3, 5 and 6 of RFC 6507 s5.2.2 with this key's HS and Y; also returns HE and J for
    /// the hazmat trace. The signature's PVT must be this key's.
    pub(crate) fn compute_j_vartime(&self, msg: &[u8], signature: &Signature) -> ([u8; N], Jac) {
        let he = hash_he(&self.hs, signature.r(), msg);
        let s = signature.s_scalar();
        // J = [s]([HE]G + [r]Y) = [s*HE]G + [s*r]Y: one multi-scalar multiplication
        // (Jacobian coordinates, both scalars split into 128-bit halves over the tables of G,
        // [2^128]G, Y and [2^128]Y, four interleaved wNAF chains) instead of four single ones.
        let j = mul_g_add_vartime(
            &(s * &reduce_mod_q(&he)),
            &(s * &reduce_mod_q(signature.r())),
            self.y_table.as_ref(),
        );
        (he, j)
    }

    /// Verification against this key's cached Y, for a signature carrying this key's PVT.
    fn verify_prepared(&self, msg: &[u8], signature: &Signature) -> Result<(), signature::Error> {
        // r = 0 is refused before any arithmetic (again in `check_j`).
        if signature.r() == &[0u8; N] {
            return Err(signature::Error::new());
        }
        let (_, j) = self.compute_j_vartime(msg, signature);
        check_j(&j, signature)
    }
}

impl fmt::Debug for PreparedVerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedVerifyingKey")
            .field("key", &self.key)
            .field("pvt", &self.pvt)
            .finish_non_exhaustive()
    }
}

impl signature::Verifier<Signature> for PreparedVerifyingKey {
    /// RFC 6507 s5.2.2, reusing HS and Y when `signature` carries the prepared PVT (and
    /// computing them afresh otherwise).
    ///
    /// # Errors
    /// The opaque [`signature::Error`] if the signature is not valid.
    fn verify(&self, msg: &[u8], signature: &Signature) -> Result<(), signature::Error> {
        if signature.pvt() == &self.pvt {
            self.verify_prepared(msg, signature)
        } else {
            self.key.verify(msg, signature)
        }
    }
}

/// The verification steps with their intermediate values, for [`super::hazmat::verify_traced`].
pub(crate) fn verify_trace_parts(
    key: &VerifyingKey,
    msg: &[u8],
    signature: &Signature,
) -> (PreparedVerifyingKey, [u8; N], ProjectivePoint, bool) {
    let prepared = key.prepare(signature.pvt());
    let (he, j) = prepared.compute_j_vartime(msg, signature);
    let valid = prepared.verify_prepared(msg, signature).is_ok();
    (prepared, he, j.to_p256(), valid)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::eccsi::{KmsKeyPair, SigningKey};
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    /// The new signer's J (no Y) and the prepared key's J (through Y), as `p256` points.
    fn both_j(
        key: &VerifyingKey,
        msg: &[u8],
        sig: &Signature,
    ) -> (ProjectivePoint, ProjectivePoint) {
        let new = key
            .compute_j_new_signer_vartime(msg, sig)
            .unwrap()
            .to_p256();
        let old = key
            .prepare(sig.pvt())
            .compute_j_vartime(msg, sig)
            .1
            .to_p256();
        (new, old)
    }

    /// Asserts the two paths give the same J and the same verdict.
    fn same(key: &VerifyingKey, msg: &[u8], sig: &Signature) -> bool {
        let (new, old) = both_j(key, msg, sig);
        assert_eq!(new, old);
        let verdict = signature::Verifier::verify(key, msg, sig).is_ok();
        let prepared = key.prepare(sig.pvt());
        assert_eq!(verdict, prepared.verify_prepared(msg, sig).is_ok());
        verdict
    }

    /// The signature with bytes `part` at `offset`, if it still decodes.
    fn patched(sig: &Signature, offset: usize, part: &[u8]) -> Option<Signature> {
        let mut b = signature::SignatureEncoding::to_bytes(sig);
        b[offset..offset + part.len()].copy_from_slice(part);
        Signature::from_bytes(&b).ok()
    }

    #[test]
    fn new_signer_path_equals_the_path_through_y() {
        let mut rng = ChaCha20Rng::from_seed([21; 32]);
        for round in 0u8..6 {
            let kms = KmsKeyPair::generate(&mut rng).unwrap();
            let id = [b"tel:+4477009001", &[round][..]].concat();
            let (ssk, pvt) = kms.issue(&id, &mut rng).unwrap();
            let signer = SigningKey::new(kms.kpak(), &id, ssk, &pvt).unwrap();
            let msg = [round; 40];
            let sig = signer.try_sign_with_rng(&mut rng, &msg).unwrap();
            let key = VerifyingKey::new(kms.kpak(), &id);
            assert!(same(&key, &msg, &sig));
            // Wrong message, wrong ID, another KMS's KPAK.
            assert!(!same(&key, &[round; 41], &sig));
            assert!(!same(&VerifyingKey::new(kms.kpak(), b"other"), &msg, &sig));
            let other = KmsKeyPair::generate(&mut rng).unwrap();
            assert!(!same(&VerifyingKey::new(other.kpak(), &id), &msg, &sig));
            // Flipped bits of r and s, and the wrong PVT (another pair's, G).
            let bytes = signature::SignatureEncoding::to_bytes(&sig);
            for bit in [0usize, 7, 100, 255, 256, 300, 511] {
                let mut b = bytes;
                b[bit / 8] ^= 1 << (bit % 8);
                if let Ok(s) = Signature::from_bytes(&b) {
                    assert!(!same(&key, &msg, &s), "bit {bit}");
                }
            }
            let (_, pvt2) = kms.issue(&id, &mut rng).unwrap();
            let s = patched(&sig, 64, pvt2.as_bytes()).unwrap();
            assert!(!same(&key, &msg, &s));
            let s = patched(&sig, 64, &crate::eccsi::point::G_BYTES).unwrap();
            assert!(!same(&key, &msg, &s));
            // The high-s copy (r, q - s) verifies on both paths (RFC 6507 accepts it).
            let high = patched(&sig, 32, &(-sig.s_scalar()).to_bytes()).unwrap();
            assert!(same(&key, &msg, &high));
        }
    }

    #[test]
    fn new_signer_path_on_the_rfc_vector() {
        let t = include_str!("../../vectors/rfc6507.txt");
        let get = |name: &str| {
            let line = t
                .lines()
                .find(|l| l.split_once(" = ").is_some_and(|(k, _)| k.trim() == name))
                .unwrap();
            hex::decode(line.split_once(" = ").unwrap().1.trim()).unwrap()
        };
        let kpak = Kpak::from_bytes(&get("KPAK")).unwrap();
        let key = VerifyingKey::new(&kpak, &get("ID"));
        let sig = Signature::from_bytes(&get("SIG")).unwrap();
        let msg = get("M");
        let (new, _) = both_j(&key, &msg, &sig);
        assert_eq!(encode_projective(&new).unwrap()[..], get("J")[..]);
        assert!(same(&key, &msg, &sig));
        assert!(!same(&key, &get("ID"), &sig));
        // The KPAK table is built once and shared by clones.
        let clone = key.clone();
        assert!(std::ptr::eq(
            clone.kpak().table_vartime().unwrap(),
            key.kpak().table_vartime().unwrap()
        ));
    }
}
