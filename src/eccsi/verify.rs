//! ECCSI signature verification (RFC 6507 s5.2.2). Everything here works on public data and
//! may run in variable time.

use core::fmt;

use p256::ProjectivePoint;

use super::encoding::Signature;
use super::hash::{hash_he, hash_hs, reduce_mod_q};
use super::jacobian::{Affine, Jac, SplitTable, mul_g_add_vartime, reduce_below_2p};
use super::point::{Kpak, Pvt, encode_projective};
use super::sign::y_vartime;
use super::{N, P_BYTES, POINT_LEN};

/// What a verifier needs to check signatures from one identifier: the KMS's KPAK and the
/// signer's ID (RFC 6507 s5.2.2). The signer's PVT travels in each signature.
///
/// Each verification computes HS and Y = \[HS\]PVT + KPAK afresh; to check many signatures
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
            kpak: *kpak,
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
        self.prepare(signature.pvt())
            .verify_prepared(msg, signature)
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
        // 0 < r and 0 < s < q hold for every decoded `Signature`; r is re-checked here because
        // it is cheap and r = 0 must never be accepted.
        if signature.r() == &[0u8; N] {
            return Err(signature::Error::new());
        }
        let (_, j) = self.compute_j_vartime(msg, signature);
        // Step 6: Jx = r mod p, with J not the identity and Jx != 0. r < 2^256 < 2p, so r mod p
        // is r or r - p; the comparison X = (r mod p) Z^2 needs no inversion.
        let Some(r) = reduce_below_2p(signature.r(), &P_BYTES) else {
            return Err(signature::Error::new());
        };
        if j.x_is_zero() || !j.x_equals(&r) {
            return Err(signature::Error::new());
        }
        Ok(())
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
