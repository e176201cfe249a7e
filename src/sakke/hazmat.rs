//! Raw SAKKE steps, for known-answer tests and protocol layers that must control the SSV.
//!
//! # Security
//! [`encapsulate_with_ssv`] takes the SSV from the caller: reusing an SSV, or choosing it from
//! anything but a cryptographic RNG, destroys the security of SAKKE. Use
//! [`super::encapsulate`] unless the SSV is an externally generated key that must be
//! distributed (as a GMK sent to every group member, RFC 6508 s6.3).

use zeroize::Zeroize;

use super::{EncapsulatedData, KmsPublicKey, PreparedKms, PreparedRecipient, Ssv};
use crate::curve::{AffinePoint, ProjectivePoint};
use crate::field::Fq;
use crate::pairing::Gt;
use crate::params::SSV_LEN;

/// A secret scalar (the SAKKE ephemeral `r`): not `Copy`, `Debug` prints no value, zeroized
/// on drop.
#[derive(Clone)]
pub struct SecretScalar(Fq);

impl SecretScalar {
    /// The value, for the arithmetic that needs it. Do not copy it out of the wrapper for
    /// longer than that.
    pub fn expose(&self) -> &Fq {
        &self.0
    }
}

impl Drop for SecretScalar {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl zeroize::ZeroizeOnDrop for SecretScalar {}

impl core::fmt::Debug for SecretScalar {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SecretScalar").finish_non_exhaustive()
    }
}

/// `r = HashToIntegerRange(SSV || b, q, SHA-256)` (RFC 6508 s6.2.1 step 2): SSV as its 16
/// octets, the identifier as its own octets.
pub fn derive_r(ssv: &Ssv, id: &[u8]) -> SecretScalar {
    let mut input = Vec::with_capacity(SSV_LEN + id.len());
    input.extend_from_slice(ssv.as_bytes());
    input.extend_from_slice(id);
    let r = crate::hash::to_scalar(&input);
    input.zeroize();
    SecretScalar(r)
}

/// `HashToIntegerRange(x, 2^n, SHA-256)` of a PF_p element's 128-octet representative: the
/// mask XORed onto the SSV (RFC 6508 s6.2.1 step 4, s6.2.2 step 3).
pub fn mask(x: &Gt) -> [u8; SSV_LEN] {
    crate::hash::to_mask(&x.to_bytes())
}

/// RFC 6508 s6.2.1 steps 2-5 with a caller-chosen SSV. See the module's security note.
pub fn encapsulate_with_ssv(ssv: &Ssv, kms: &KmsPublicKey, id: &[u8]) -> EncapsulatedData {
    let base = ProjectivePoint::from(kms.identity_point_vartime(id));
    encapsulate_with(ssv, id, |r| base.mul(r).to_affine())
}

/// [`encapsulate_with_ssv`] with a [`PreparedKms`] (many identifiers, one KMS). See the
/// module's security note.
pub fn encapsulate_with_ssv_kms(ssv: &Ssv, kms: &PreparedKms, id: &[u8]) -> EncapsulatedData {
    encapsulate_with(ssv, id, |r| kms.times_identity_point(r, id))
}

/// [`encapsulate_with_ssv_kms`] to each of `ids` (one SSV for many recipients of one KMS: a
/// group manager's fan-out of a GMK). The result equals one call per identifier. Below 32
/// recipients the fixed-base multiplications are addition trees sharing their inversions
/// (`FixedBaseTable::mul_affine_many`); from 32 on every window of the tables of P and Z is
/// read once for the whole batch and added by affine additions with one shared inversion per
/// window (`FixedBaseTable::mul_many_affine`). g^r reads each window of g's table once per
/// batch, and the points are converted to affine with one inversion. After
/// [`PreparedKms::prepare_batches`] the wide tables are used (129 instead of 171 windows per
/// fixed-base multiplication, 128 instead of 205 multiplications in PF_p for g^r). See the
/// module's security note.
pub fn encapsulate_many_with_ssv_kms(
    ssv: &Ssv,
    kms: &PreparedKms,
    ids: &[&[u8]],
) -> Vec<EncapsulatedData> {
    let rs: Vec<SecretScalar> = ids.iter().map(|id| derive_r(ssv, id)).collect();
    let mut scalars: Vec<Fq> = rs.iter().map(|r| *r.expose()).collect();
    // Step 3: R = [r]([b]P + Z) = [r b]P + [r]Z.
    let points = kms.times_identity_points(&scalars, ids);
    let big_rs = ProjectivePoint::batch_to_affine(&points);
    // Step 4: H = SSV XOR HashToIntegerRange(g^r, 2^n).
    let grs = kms.g_table().pow_many(&scalars);
    scalars.zeroize();
    drop(rs);
    big_rs
        .into_iter()
        .zip(grs)
        .map(|(big_r, mut gr)| {
            let ed = masked(ssv, big_r, &gr);
            gr.0.zeroize();
            ed
        })
        .collect()
}

/// [`encapsulate_with_ssv`] for a [`PreparedRecipient`]. See the module's security note.
pub fn encapsulate_with_ssv_prepared(ssv: &Ssv, recipient: &PreparedRecipient) -> EncapsulatedData {
    encapsulate_with(ssv, recipient.id(), |r| recipient.times_base(r))
}

fn encapsulate_with(
    ssv: &Ssv,
    id: &[u8],
    times_base: impl FnOnce(&Fq) -> AffinePoint,
) -> EncapsulatedData {
    let r = derive_r(ssv, id);
    // Step 3: R = [r]([b]P + Z).
    let big_r = times_base(r.expose());
    let mut gr = Gt::g_pow(r.expose());
    drop(r);
    let ed = masked(ssv, big_r, &gr);
    gr.0.zeroize();
    ed
}

/// Step 4, `H = SSV XOR HashToIntegerRange(g^r, 2^n)`, and the Encapsulated Data `R || H`,
/// declassified: R and H are public by design (they are sent).
fn masked(ssv: &Ssv, big_r: AffinePoint, gr: &Gt) -> EncapsulatedData {
    let mut m = mask(gr);
    let mut h = [0u8; SSV_LEN];
    for i in 0..SSV_LEN {
        h[i] = ssv.as_bytes()[i] ^ m[i];
    }
    m.zeroize();
    let mut ed = EncapsulatedData { r: big_r, h };
    crate::ct::declassify_in_place(&mut ed);
    ed
}

/// Whether `g^r` for this SSV and identifier has a leading zero octet in its 128-octet form,
/// the case in which RFC-correct and minimal-length hashing of g^r disagree (about 1 in 153).
/// The answer is declassified: callers branch on it to discard the SSV.
pub fn gr_has_leading_zero_octet(ssv: &Ssv, id: &[u8]) -> bool {
    let r = derive_r(ssv, id);
    let mut gr = Gt::g_pow(r.expose()).to_bytes();
    let zero = subtle::ConstantTimeEq::ct_eq(&gr[0], &0u8);
    gr.zeroize();
    crate::ct::declassify(zero)
}

/// Encapsulation as a sender with the minimal-length g^r bug does it (H masked with the hash of
/// g^r stripped of leading zero octets). For interoperability tests only: it is not RFC 6508.
pub fn encapsulate_minimal_gr(ssv: &Ssv, kms: &KmsPublicKey, id: &[u8]) -> EncapsulatedData {
    let r = derive_r(ssv, id);
    let base = ProjectivePoint::from(kms.identity_point_vartime(id));
    let big_r = base.mul(r.expose()).to_affine();
    let mut gr = Gt::g_pow(r.expose()).to_bytes();
    let start = gr.iter().position(|&b| b != 0).unwrap_or(gr.len());
    let mut m = crate::hash::to_mask(&gr[start..]);
    gr.zeroize();
    let mut h = [0u8; SSV_LEN];
    for i in 0..SSV_LEN {
        h[i] = ssv.as_bytes()[i] ^ m[i];
    }
    m.zeroize();
    let mut ed = EncapsulatedData { r: big_r, h };
    crate::ct::declassify_in_place(&mut ed);
    ed
}
