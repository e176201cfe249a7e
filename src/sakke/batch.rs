//! The KMS side of SAKKE for batches of identifiers: issuing RSKs with shared inversions
//! ([`MasterSecret::issue_rsks`]) and the self-check of a batch of freshly issued RSKs by one
//! random linear combination ([`MasterSecret::check_issued_rsks`]), for provisioning.

use rand_core::CryptoRng;
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroize;

use super::{MasterSecret, ReceiverSecretKey};
use crate::curve::{AffinePoint, GeneratorTable52, ProjectivePoint, mul_sum_short};
use crate::error::IssueError;
use crate::field::Fq;
use crate::field::kernel::LIMBS;

/// The batch self-check refused some RSKs: their positions in the batch, as named by the
/// per-key check ([`MasterSecret::check_issued_rsk`]) that a failed batch falls back to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RskBatchError {
    bad: Vec<usize>,
}

impl RskBatchError {
    /// The positions (in the batch given) of the RSKs that are not the RSK of their
    /// identifier, in increasing order; never empty.
    pub fn bad(&self) -> &[usize] {
        &self.bad
    }
}

impl core::fmt::Display for RskBatchError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{} RSK(s) of the batch failed the KMS self-check (positions {:?})",
            self.bad.len(),
            self.bad
        )
    }
}

impl std::error::Error for RskBatchError {}

/// Replaces every value by its inverse with one inversion for the whole slice (Montgomery's
/// trick), in constant time; a zero is replaced by one (so that it does not zero the others)
/// and reported by a clear bit of the returned choices.
fn invert_all(values: &mut [Fq]) -> Vec<Choice> {
    let nonzero: Vec<Choice> = values.iter().map(|v| !v.is_zero()).collect();
    for (v, nz) in values.iter_mut().zip(&nonzero) {
        *v = Fq::conditional_select(&Fq::ONE, v, *nz);
    }
    let mut prefix = Vec::with_capacity(values.len());
    let mut inv = Fq::ONE;
    for v in values.iter() {
        prefix.push(inv);
        inv = inv.mul(v);
    }
    // The product of non-zero values of the prime field is non-zero.
    let _ = inv.invert_in_place();
    for (v, p) in values.iter_mut().zip(&prefix).rev() {
        // inv = 1 / (v_0 ... v_i); p = v_0 ... v_(i-1)
        let v_inv = inv.mul(p);
        inv = inv.mul(v);
        *v = v_inv;
    }
    prefix.zeroize();
    inv.zeroize();
    nonzero
}

impl MasterSecret {
    /// [`Self::issue_rsk`] for several identifiers at once: the same RSKs, in the same order,
    /// with the inversions `(a_i + z)^-1 mod q` sharing one inversion (Montgomery's trick) and
    /// the points `[(a_i + z)^-1]P` normalised to affine with one shared field inversion, so
    /// that a batch saves two inversions per key. Not yet checked: provisioning follows it with
    /// [`Self::check_issued_rsks`].
    ///
    /// Each entry is [`IssueError::NoRskForIdentifier`] when `a_i + z = 0 (mod q)`.
    ///
    /// # Security
    /// Constant time in z and the RSKs; the only declassified values are the per-key verdicts
    /// `a_i + z != 0`, as in [`Self::issue_rsk`].
    pub fn issue_rsks(&self, ids: &[&[u8]]) -> Vec<Result<ReceiverSecretKey, IssueError>> {
        let mut t: Vec<Fq> = ids
            .iter()
            .map(|id| Fq::from_be_bytes_reduced(id).add(&self.z))
            .collect();
        let nonzero = invert_all(&mut t);
        let table = GeneratorTable52::get();
        let mut points: Vec<ProjectivePoint> = t.iter().map(|t| table.mul(t)).collect();
        t.zeroize();
        let affine = ProjectivePoint::batch_to_affine(&points);
        for p in &mut points {
            p.x.zeroize();
            p.y.zeroize();
            p.z.zeroize();
        }
        affine
            .into_iter()
            .zip(nonzero)
            .map(|(point, nz)| {
                let rsk = ReceiverSecretKey { point };
                if crate::ct::declassify(nz) {
                    Ok(rsk)
                } else {
                    Err(IssueError::NoRskForIdentifier)
                }
            })
            .collect()
    }

    /// The KMS's self-check of a batch of RSKs it has just issued: for the pairs
    /// `(K_i, id_i)` with `s_i = a_i + z mod q`, it computes `t_i = s_i^-1` (one shared
    /// inversion), checks `s_i t_i = 1` per key and `K_i` on the curve and not the identity,
    /// and checks all keys at once by one random linear combination,
    /// `sum [rho_i]K_i == [sum rho_i t_i]P` with fresh 128-bit `rho_i` from `rng`: the left
    /// side one constant-time multi-scalar multiplication over the secret `K_i` that shares
    /// its 128 doublings by the whole batch (interleaved 4-bit windows, masked lookups), the
    /// right side one constant-time multiplication by the fixed-base table of P. About 50
    /// point additions per key instead of the 1 024 doublings of [`Self::check_issued_rsk`].
    ///
    /// When the combination fails it falls back to [`Self::check_issued_rsk`] for every key
    /// and returns the positions of those that fail it (a combination that fails while every
    /// key passes on its own, which an exceptional case of the incomplete formulas could cause
    /// with negligible probability, returns `Ok`).
    ///
    /// What it proves when the combination holds: every `s_i != 0` and `t_i = s_i^-1`; every
    /// `K_i` is a point of the curve other than the identity. Writing `K_i = K'_i + T_i` with
    /// `K'_i` in the order-q subgroup and `T_i` in the 4-torsion (`#E(F_p) = 4q`), the two
    /// components of the equation are `sum [rho_i](K'_i - [t_i]P) = O` and
    /// `sum [rho_i]T_i = O`. If some `K'_j` is not `[t_j]P`, the first holds, for any fixed
    /// other `rho_i`, for one residue of `rho_j` mod the prime q, so for at most one of its
    /// `2^128` values: a wrong key in the order-q subgroup passes with probability at most
    /// `2^-128`, as long as `rng` is a cryptographic generator the keys do not depend on. It
    /// says little about components outside the subgroup: a single `T_j != O` of order 2
    /// (4) passes whenever `rho_j` is even (divisible by 4), and several can cancel, so like
    /// [`Self::check_issued_rsk`] (which proves only `[s_i]T_i = O`) and the receiver's pairing
    /// check (which proves nothing about `T_i`), it is meant for keys this KMS has just
    /// computed from the table of P: it catches a fault or a bug in the issue before the keys
    /// are recorded. RSKs from anywhere else go through [`ReceiverSecretKey::from_bytes`]
    /// (subgroup check) and [`ReceiverSecretKey::validate`].
    ///
    /// # Errors
    /// [`RskBatchError`] naming every RSK that is not the RSK of its identifier under this
    /// master secret.
    ///
    /// # Security
    /// Constant time in z, the RSKs and the `rho_i`: the scalars are wiped after use and only
    /// the verdict of the combination is declassified (then, on a failure, the verdict of
    /// each key's check).
    pub fn check_issued_rsks<R: CryptoRng + ?Sized>(
        &self,
        batch: &[(&ReceiverSecretKey, &[u8])],
        rng: &mut R,
    ) -> Result<(), RskBatchError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut s: Vec<Fq> = batch
            .iter()
            .map(|(_, id)| Fq::from_be_bytes_reduced(id).add(&self.z))
            .collect();
        let mut t = s.clone();
        let _ = invert_all(&mut t);
        let points: Vec<&AffinePoint> = batch.iter().map(|(k, _)| &k.point).collect();
        let ok = combination_holds(&s, &t, &points, rng);
        s.zeroize();
        t.zeroize();
        if crate::ct::declassify(ok) {
            return Ok(());
        }
        let bad: Vec<usize> = batch
            .iter()
            .enumerate()
            .filter(|(_, (rsk, id))| self.check_issued_rsk(rsk, id).is_err())
            .map(|(i, _)| i)
            .collect();
        if bad.is_empty() {
            Ok(())
        } else {
            Err(RskBatchError { bad })
        }
    }
}

/// The verdict (secret until the caller declassifies it) of the batch check for scalars
/// `s_i`, their claimed inverses `t_i` and points `K_i`: `s_i t_i = 1` and `K_i` on the curve
/// and not the identity for every i, and `sum [rho_i]K_i == [sum rho_i t_i]P` computed
/// without exception, for fresh 128-bit `rho_i` drawn from `rng`.
fn combination_holds<R: CryptoRng + ?Sized>(
    s: &[Fq],
    t: &[Fq],
    points: &[&AffinePoint],
    rng: &mut R,
) -> Choice {
    let mut ok = Choice::from(u8::from(s.len() == t.len() && s.len() == points.len()));
    let mut rhos: Vec<[u64; 2]> = Vec::with_capacity(points.len());
    let mut sum = Fq::ZERO;
    for ((s, t), k) in s.iter().zip(t).zip(points) {
        let mut st = s.mul(t);
        ok &= st.ct_eq(&Fq::ONE) & k.is_on_curve() & !k.is_identity();
        st.zeroize();
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        let (lo, hi) = bytes.split_at(8);
        let mut rho = [
            u64::from_le_bytes(lo.try_into().unwrap_or([0; 8])),
            u64::from_le_bytes(hi.try_into().unwrap_or([0; 8])),
        ];
        bytes.zeroize();
        let mut limbs = [0u64; LIMBS];
        limbs[..2].copy_from_slice(&rho);
        // rho < 2^128 < q: always canonical.
        let mut rho_q = Fq::from_canonical_limbs(&limbs).unwrap_or(Fq::ZERO);
        limbs.zeroize();
        let mut term = rho_q.mul(t);
        sum = sum.add(&term);
        term.zeroize();
        rho_q.zeroize();
        rhos.push(rho);
        rho.zeroize();
    }
    let affine: Vec<AffinePoint> = points.iter().map(|k| **k).collect();
    let (mut lhs, exact) = mul_sum_short(&affine, &rhos);
    let mut rhs = GeneratorTable52::get().mul(&sum);
    ok &= exact & lhs.ct_eq(&rhs);
    rhos.zeroize();
    sum.zeroize();
    for p in [&mut lhs, &mut rhs] {
        p.x.zeroize();
        p.y.zeroize();
        p.z.zeroize();
    }
    let mut affine = affine;
    for a in &mut affine {
        a.x.zeroize();
        a.y.zeroize();
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn ids(n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| format!("sip:user{i}@example.org / period 3").into_bytes())
            .collect()
    }

    fn master() -> MasterSecret {
        MasterSecret::from_bytes(&[0x5A; 64]).expect("z")
    }

    /// The batch issue's RSKs for `refs`, each expected to exist.
    fn issued(z: &MasterSecret, refs: &[&[u8]]) -> Vec<ReceiverSecretKey> {
        z.issue_rsks(refs)
            .into_iter()
            .map(|r| r.expect("rsk"))
            .collect()
    }

    /// The batch issue gives the RSKs of the single issue; the batch check passes them.
    #[test]
    fn batch_issue_equals_single_issue_and_passes_the_batch_check() {
        let z = master();
        let ids = ids(7);
        let refs: Vec<&[u8]> = ids.iter().map(Vec::as_slice).collect();
        let rsks = issued(&z, &refs);
        for (rsk, id) in rsks.iter().zip(&refs) {
            assert_eq!(rsk.to_bytes(), z.issue_rsk(id).expect("rsk").to_bytes());
        }
        let batch: Vec<(&ReceiverSecretKey, &[u8])> = rsks.iter().zip(refs).collect();
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        assert_eq!(z.check_issued_rsks(&batch, &mut rng), Ok(()));
        assert_eq!(z.check_issued_rsks(&[], &mut rng), Ok(()));
    }

    /// An identifier with `a + z = 0`: that entry alone is refused.
    #[test]
    fn batch_issue_refuses_the_identifier_without_rsk() {
        let z = master();
        // a = q - z, as 128 big-endian octets
        let a = Fq::ZERO.sub(&z.z).to_bytes();
        let good = b"sip:alice@example.org";
        let got = z.issue_rsks(&[good.as_slice(), a.as_slice(), good.as_slice()]);
        assert!(got[0].is_ok() && got[2].is_ok());
        assert_eq!(got[1].as_ref().err(), Some(&IssueError::NoRskForIdentifier));
        assert!(z.issue_rsk(&a).is_err());
    }

    /// One planted bad RSK (another identity's, the negation, the double, a swap) is refused
    /// and exactly its position is named.
    #[test]
    fn a_planted_bad_rsk_is_named() {
        let z = master();
        let ids = ids(9);
        let refs: Vec<&[u8]> = ids.iter().map(Vec::as_slice).collect();
        let rsks = issued(&z, &refs);
        let k = ProjectivePoint::from(rsks[4].point);
        let plants = [
            rsks[5].clone(),
            ReceiverSecretKey {
                point: k.neg().to_affine(),
            },
            ReceiverSecretKey {
                point: k.double().to_affine(),
            },
        ];
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        for plant in &plants {
            let mut batch: Vec<(&ReceiverSecretKey, &[u8])> =
                rsks.iter().zip(refs.iter().copied()).collect();
            batch[4].0 = plant;
            let err = z.check_issued_rsks(&batch, &mut rng).expect_err("refused");
            assert_eq!(err.bad(), &[4]);
        }
        // the identity and a swap of two keys (two bad positions)
        let id_rsk = ReceiverSecretKey {
            point: AffinePoint::identity(),
        };
        let mut batch: Vec<(&ReceiverSecretKey, &[u8])> =
            rsks.iter().zip(refs.iter().copied()).collect();
        batch[0].0 = &id_rsk;
        batch[7].0 = &rsks[8];
        batch[8].0 = &rsks[7];
        let err = z.check_issued_rsks(&batch, &mut rng).expect_err("refused");
        assert_eq!(err.bad(), &[0, 7, 8]);
    }

    /// `s t != 1` is caught even when the point matches the wrong `t`, and the combination
    /// with the right inverses holds (the same verdict as the per-key check).
    #[test]
    fn a_wrong_inverse_is_caught() {
        let z = master();
        let ids = ids(4);
        let mut s: Vec<Fq> = ids
            .iter()
            .map(|id| Fq::from_be_bytes_reduced(id).add(&z.z))
            .collect();
        let mut t = s.clone();
        let _ = invert_all(&mut t);
        for (si, ti) in s.iter().zip(&t) {
            assert_eq!(si.mul(ti), Fq::ONE);
        }
        let points: Vec<AffinePoint> = t
            .iter()
            .map(|t| GeneratorTable52::get().mul(t).to_affine())
            .collect();
        let refs: Vec<&AffinePoint> = points.iter().collect();
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        assert!(bool::from(combination_holds(&s, &t, &refs, &mut rng)));
        // t_2 off by one, K_2 = [t_2]P consistent with it: only s t = 1 catches it.
        let mut t_bad = t.clone();
        t_bad[2] = t_bad[2].add(&Fq::ONE);
        let mut points_bad = points.clone();
        points_bad[2] = GeneratorTable52::get().mul(&t_bad[2]).to_affine();
        let refs_bad: Vec<&AffinePoint> = points_bad.iter().collect();
        assert!(!bool::from(combination_holds(
            &s, &t_bad, &refs_bad, &mut rng
        )));
        // a zero s: refused
        s[1] = Fq::ZERO;
        assert!(!bool::from(combination_holds(&s, &t, &refs, &mut rng)));
    }
}
