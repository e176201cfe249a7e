//! SAKKE (RFC 6508) with parameter set 1 (RFC 6509 Appendix A).
//!
//! * KMS side: [`MasterSecret`] `z`, [`KmsPublicKey`] `Z = [z]P`, and per identifier the
//!   [`ReceiverSecretKey`] `K = [(a + z)^-1]P` (RFC 6508 s6.1).
//! * Receiver: [`ReceiverSecretKey::validate`] (`<[a]P + Z, K> == g`, s6.1.2) before use, then
//!   [`decapsulate`] (s6.2.2).
//! * Sender: [`encapsulate`] (s6.2.1) draws a fresh 16-octet [`Ssv`] and makes the 273-octet
//!   [`EncapsulatedData`] for the receiver's identifier.
//!
//! Identifiers are arbitrary octet strings: the octets are hashed as given, and their
//! big-endian integer value is used modulo q as the scalar `b` (`[b]P` depends only on
//! `b mod q`; MCX UIDs of 32 octets are always below q).
//!
//! Every operation on a secret (z, the RSK, the SSV, r) is constant time. Cryptographic failures
//! return the opaque [`Error`].

mod batch;
pub mod hazmat;

pub use batch::RskBatchError;

use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::curve::{AffinePoint, FixedBaseTable, GeneratorTable52, ProjectivePoint};
use crate::error::{Error, IssueError, PointError, ScalarError};
use crate::field::Fq;
use crate::pairing::{Gt, PreparedPoint, pairing};
use crate::params::{ENCAPSULATED_DATA_LEN, FP_LEN, POINT_LEN, SSV_LEN};

/// The KMS master secret `z` (RFC 6508 s6.1), an integer in `[2, q-1]`.
///
/// Not `Copy`; `Debug` prints no value; zeroized on drop.
#[derive(Clone)]
pub struct MasterSecret {
    z: Fq,
}

impl Drop for MasterSecret {
    fn drop(&mut self) {
        self.z.zeroize();
    }
}

impl ZeroizeOnDrop for MasterSecret {}

impl core::fmt::Debug for MasterSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MasterSecret").finish_non_exhaustive()
    }
}

impl MasterSecret {
    /// Draws `z` uniformly from `[2, q-1]` (RFC 6508 s6.1: "randomly select").
    pub fn random<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        loop {
            let z = Fq::random(rng);
            // Reject 0 and 1 (a public event of probability 2^-1021).
            let small = z.is_zero() | z.ct_eq(&Fq::ONE);
            if !crate::ct::declassify(small) {
                return Self { z };
            }
        }
    }

    /// Decodes `z` from a big-endian integer of at most 128 octets; longer inputs are accepted
    /// when the excess is leading zero octets.
    ///
    /// # Errors
    /// [`ScalarError::WrongLength`] for more than 128 significant octets,
    /// [`ScalarError::OutOfRange`] unless `2 <= z <= q - 1`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ScalarError> {
        let z = scalar_from_be(bytes)?;
        if crate::ct::declassify(z.is_zero() | z.ct_eq(&Fq::ONE)) {
            return Err(ScalarError::OutOfRange);
        }
        Ok(Self { z })
    }

    /// `z` as 128 big-endian octets.
    pub fn to_bytes(&self) -> [u8; FP_LEN] {
        self.z.to_bytes()
    }

    /// The KMS public key `Z = [z]P` (RFC 6508 s6.1). Constant time in `z`.
    pub fn public_key(&self) -> KmsPublicKey {
        // Z is public by design.
        let mut point = GeneratorTable52::get().mul(&self.z).to_affine();
        crate::ct::declassify_in_place(&mut point);
        KmsPublicKey { point }
    }

    /// Issues the Receiver Secret Key `K_(a,S) = [(a + z)^-1 mod q]P` for identifier `id`
    /// (RFC 6508 s6.1.1). Constant time in `z`; the inversion is the constant-time safegcd.
    ///
    /// # Errors
    /// [`IssueError::NoRskForIdentifier`] when `a + z = 0 (mod q)`.
    pub fn issue_rsk(&self, id: &[u8]) -> Result<ReceiverSecretKey, IssueError> {
        let a = Fq::from_be_bytes_reduced(id);
        // k = a + z, then (a + z)^-1 in the same place: one secret temporary, wiped on every
        // path.
        let mut k = a.add(&self.z);
        let nonzero = k.invert_in_place();
        if !crate::ct::declassify(nonzero) {
            k.zeroize();
            return Err(IssueError::NoRskForIdentifier);
        }
        let point = GeneratorTable52::get().mul(&k).to_affine();
        k.zeroize();
        Ok(ReceiverSecretKey { point })
    }

    /// The KMS's self-check of an RSK it has just issued with [`Self::issue_rsk`]: with the
    /// master secret at hand, `K = [(a + z)^-1]P` (RFC 6508 s6.1.1) is checked as
    /// `[a + z]K == P`, one constant-time variable-base multiplication (about 11 300 field
    /// multiplications, on the radix-2^52 backend on IFMA CPUs) instead of the two pairings
    /// of [`PreparedKms::validate_rsk`] or the one of [`ReceiverSecretKey::validate`].
    ///
    /// What it proves: `K` is a point of the curve other than the identity, and `[s]K = P` for
    /// `s = a + z mod q` (refused when s is 0). Writing `K = K_q + T` with `K_q` in the order-q
    /// subgroup and `T` in the 4-torsion (`#E(F_p) = 4q`), that is `K_q = [s^-1]P`, the RSK of
    /// `a`, and `[s]T = O`. The receiver's check `<[a]P + Z, K> = g` (s6.1.2) proves exactly
    /// `K_q = [s^-1]P` and nothing about `T` (the pairing of an order-q point with `T` is 1), so
    /// on curve points this check accepts a subset of what [`ReceiverSecretKey::validate`]
    /// accepts. Sufficient for a key this KMS just computed from the table of P (a point of
    /// the subgroup unless the computation went wrong): it catches a fault or a bug in the
    /// issue before the key is recorded, as the pairing check did. (A faulty `K` outside the
    /// subgroup can hit an exceptional case of the multiplication's incomplete additions;
    /// those leave Z = 0 for the rest of the loop, and Z = 0 is refused.)
    ///
    /// It does not replace the receiver's validation: an RSK from anywhere else (a file, a
    /// network peer, a store that is not authenticated) must be decoded with
    /// [`ReceiverSecretKey::from_bytes`] (subgroup check) and checked with
    /// [`ReceiverSecretKey::validate`] or [`PreparedKms::validate_rsk`], which need only the
    /// public key.
    ///
    /// # Errors
    /// The opaque [`Error`] when `rsk` is not the RSK of `id` under this master secret.
    ///
    /// # Security
    /// Constant time in z and the RSK: the scalar `a + z` is wiped after use, and only the
    /// verdict is declassified.
    pub fn check_issued_rsk(&self, rsk: &ReceiverSecretKey, id: &[u8]) -> Result<(), Error> {
        let mut s = Fq::from_be_bytes_reduced(id).add(&self.z);
        let mut t = ProjectivePoint::from(rsk.point).mul(&s);
        s.zeroize();
        // t == P with P affine: X = Px Z and Y = Py Z, and Z != 0 (which also refuses the
        // invalid triple (0 : 0 : 0) that compares equal to every point projectively).
        let p = AffinePoint::generator();
        let ok = rsk.point.is_on_curve()
            & !rsk.point.is_identity()
            & !t.z.is_zero()
            & t.x.ct_eq(&p.x.mul(&t.z))
            & t.y.ct_eq(&p.y.mul(&t.z));
        t.x.zeroize();
        t.y.zeroize();
        t.z.zeroize();
        if crate::ct::declassify(ok) {
            Ok(())
        } else {
            Err(Error)
        }
    }
}

/// Decodes a big-endian integer as a scalar below q, allowing leading zero octets beyond 128.
/// Constant time in the value (the length is public); one branch on the verdict.
fn scalar_from_be(bytes: &[u8]) -> Result<Fq, ScalarError> {
    let split = bytes.len().saturating_sub(FP_LEN);
    let (excess, tail) = bytes.split_at(split);
    let mut excess_or = 0u8;
    for &b in excess {
        excess_or |= b;
    }
    let mut buf = [0u8; FP_LEN];
    buf[FP_LEN - tail.len()..].copy_from_slice(tail);
    let v = Fq::from_bytes(&buf);
    buf.zeroize();
    if !crate::ct::declassify(excess_or.ct_eq(&0)) {
        return Err(ScalarError::WrongLength {
            expected: FP_LEN,
            got: bytes.len(),
        });
    }
    if crate::ct::declassify(v.is_some()) {
        Ok(v.unwrap_or(Fq::ZERO))
    } else {
        Err(ScalarError::OutOfRange)
    }
}

/// The KMS public key `Z_S = [z]P` (RFC 6508 s6.1), a point of the order-q subgroup.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct KmsPublicKey {
    point: AffinePoint,
}

impl core::fmt::Debug for KmsPublicKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "KmsPublicKey(0x{})", hex::encode_upper(self.to_bytes()))
    }
}

impl KmsPublicKey {
    /// Decodes and validates a 257-octet point (length, prefix, range, on the curve, not the
    /// identity, in the order-q subgroup).
    ///
    /// # Errors
    /// The [`PointError`] of the first failed check.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PointError> {
        Ok(Self {
            point: AffinePoint::from_bytes(bytes)?,
        })
    }

    /// `0x04 || Zx || Zy`, 257 octets.
    pub fn to_bytes(&self) -> [u8; POINT_LEN] {
        self.point.to_bytes()
    }

    /// The point `Z`.
    pub fn point(&self) -> AffinePoint {
        self.point
    }

    /// `[b]P + Z` for identifier `b`: the point every encapsulation to `b` and every validation
    /// of `b`'s RSK starts from (RFC 6508 s6.1.2, s6.2.1 step 3). Public data, variable time.
    pub fn identity_point_vartime(&self, id: &[u8]) -> AffinePoint {
        let b = Fq::from_be_bytes_reduced(id).to_canonical_limbs();
        FixedBaseTable::generator()
            .mul_vartime(&b)
            .add(&ProjectivePoint::from(self.point))
            .to_affine()
    }
}

/// A Receiver Secret Key `K_(a,S)` (RFC 6508 s6.1.1): the SAKKE private key of one identifier
/// for one KMS key period.
///
/// Not `Copy`; `Debug` prints no value; zeroized on drop.
#[derive(Clone)]
pub struct ReceiverSecretKey {
    point: AffinePoint,
}

impl Drop for ReceiverSecretKey {
    fn drop(&mut self) {
        self.point.x.zeroize();
        self.point.y.zeroize();
    }
}

impl ZeroizeOnDrop for ReceiverSecretKey {}

impl core::fmt::Debug for ReceiverSecretKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ReceiverSecretKey").finish_non_exhaustive()
    }
}

impl ReceiverSecretKey {
    /// Decodes a 257-octet RSK and checks it is a point of the order-q subgroup (not the
    /// identity). This does not yet tie it to an identifier: call [`Self::validate`] before use.
    ///
    /// # Errors
    /// The [`PointError`] of the first failed check.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PointError> {
        Ok(Self {
            point: AffinePoint::from_bytes_ct(bytes)?,
        })
    }

    /// Decodes a 257-octet RSK that the KMS itself wrote to its store and read back from a row
    /// whose AES-GCM seal (bound to that row) opened: **not for untrusted input**.
    ///
    /// It checks the length, the `0x04` prefix, both coordinates below p and the curve equation
    /// (cheap, in constant time, one declassified verdict), and skips the order-q subgroup check
    /// of [`Self::from_bytes`] (a scalar multiplication by q, most of the cost of serving a
    /// stored key set). That is sound only because the octets are authentic: they were the
    /// encoding of an RSK that was validated against its identifier (RFC 6508 s6.1.2) when it
    /// was issued, before it was sealed. An RSK from anywhere else (a file, a network peer)
    /// must go through [`Self::from_bytes`] and [`Self::validate`].
    ///
    /// # Errors
    /// [`PointError::WrongLength`] for a length other than 257, else
    /// [`PointError::NotOnCurve`] for any other failed check (which an authentic row never
    /// gives).
    #[cfg(any(feature = "kms", test))]
    pub(crate) fn from_store_authenticated_bytes_unchecked(
        bytes: &[u8],
    ) -> Result<Self, PointError> {
        let (x, y) = AffinePoint::coordinates_ct(bytes)?;
        let point = AffinePoint::from_coordinates_unchecked(
            x.unwrap_or(crate::field::Fp::ZERO),
            y.unwrap_or(crate::field::Fp::ZERO),
        );
        let ok = bytes[0].ct_eq(&0x04) & x.is_some() & y.is_some() & point.is_some();
        // Only the verdict is declassified, never the coordinates.
        if !crate::ct::declassify(ok) {
            return Err(PointError::NotOnCurve);
        }
        Ok(Self {
            point: point.unwrap_or(AffinePoint::generator()),
        })
    }

    /// `0x04 || Kx || Ky`, 257 octets (secret: handle with care).
    pub fn to_bytes(&self) -> [u8; POINT_LEN] {
        self.point.to_bytes()
    }

    /// The RSK validation of RFC 6508 s6.1.2: `<[a]P + Z, K_(a,S)> == g`. Receivers MUST do
    /// this before using an RSK. Constant time in the RSK.
    ///
    /// # Errors
    /// The opaque [`Error`] when the RSK does not belong to `id` under `kms`.
    pub fn validate(&self, kms: &KmsPublicKey, id: &[u8]) -> Result<(), Error> {
        let base = kms.identity_point_vartime(id);
        let ok = !base.is_identity() & pairing(&base, &self.point).ct_eq(&Gt::g());
        if crate::ct::declassify(ok) {
            Ok(())
        } else {
            Err(Error)
        }
    }

    pub(crate) fn point(&self) -> &AffinePoint {
        &self.point
    }
}

/// A Shared Secret Value (RFC 6508 s2.1): `n = 128` bits, 16 octets. In MIKEY-SAKKE it is the
/// distributed key (GMK, PCK, CSK).
///
/// Not `Copy`; `Debug` prints no value; zeroized on drop; compared in constant time.
///
/// The octets live in one heap block of their own, written in place and wiped on drop: moving
/// an `Ssv` (into a `Result`, a struct, out of a function) copies only the pointer, so no stale
/// copy of the key is left in the stack frames it passes through.
#[derive(Clone)]
pub struct Ssv(Box<[u8; SSV_LEN]>);

impl Zeroize for Ssv {
    fn zeroize(&mut self) {
        self.0.as_mut().zeroize();
    }
}

impl Drop for Ssv {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for Ssv {}

impl core::fmt::Debug for Ssv {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Ssv").finish_non_exhaustive()
    }
}

impl ConstantTimeEq for Ssv {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0[..].ct_eq(&other.0[..])
    }
}

impl PartialEq for Ssv {
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.ct_eq(other))
    }
}

impl Eq for Ssv {}

impl Ssv {
    /// Wraps 16 octets.
    pub fn from_bytes(bytes: [u8; SSV_LEN]) -> Self {
        Self(Box::new(bytes))
    }

    /// All zero, to be written in place.
    fn zero() -> Self {
        Self(Box::new([0u8; SSV_LEN]))
    }

    /// Wraps a slice that must be exactly 16 octets.
    ///
    /// # Errors
    /// [`ScalarError::WrongLength`] for any other length.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, ScalarError> {
        if bytes.len() != SSV_LEN {
            return Err(ScalarError::WrongLength {
                expected: SSV_LEN,
                got: bytes.len(),
            });
        }
        let mut ssv = Self::zero();
        ssv.0.copy_from_slice(bytes);
        Ok(ssv)
    }

    /// Draws a uniformly random SSV (RFC 6508 s6.2.1 step 1), written in place.
    pub fn random<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut ssv = Self::zero();
        rng.fill_bytes(ssv.0.as_mut());
        ssv
    }

    /// The 16 octets.
    pub fn as_bytes(&self) -> &[u8; SSV_LEN] {
        &self.0
    }
}

/// SAKKE Encapsulated Data `R_(b,S) || H` (RFC 6508 s6.2.1 step 5): a 257-octet point and a
/// 16-octet masked SSV, 273 octets in all. Public.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EncapsulatedData {
    r: AffinePoint,
    h: [u8; SSV_LEN],
}

impl core::fmt::Debug for EncapsulatedData {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "EncapsulatedData(0x{})",
            hex::encode_upper(self.to_bytes())
        )
    }
}

impl EncapsulatedData {
    /// Decodes 273 octets, validating the point `R` fully (on the curve, not the identity, in
    /// the order-q subgroup).
    ///
    /// # Errors
    /// [`PointError::WrongLength`] for a length other than 273, else the point's error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PointError> {
        if bytes.len() != ENCAPSULATED_DATA_LEN {
            return Err(PointError::WrongLength {
                expected: ENCAPSULATED_DATA_LEN,
                got: bytes.len(),
            });
        }
        let (rb, hb) = bytes.split_at(POINT_LEN);
        let r = AffinePoint::from_bytes(rb)?;
        let mut h = [0u8; SSV_LEN];
        h.copy_from_slice(hb);
        Ok(Self { r, h })
    }

    /// `R || H`, 273 octets.
    pub fn to_bytes(&self) -> [u8; ENCAPSULATED_DATA_LEN] {
        let mut out = [0u8; ENCAPSULATED_DATA_LEN];
        out[..POINT_LEN].copy_from_slice(&self.r.to_bytes());
        out[POINT_LEN..].copy_from_slice(&self.h);
        out
    }

    /// The point `R_(b,S)`.
    pub fn r(&self) -> AffinePoint {
        self.r
    }

    /// The masked SSV `H`.
    pub fn h(&self) -> &[u8; SSV_LEN] {
        &self.h
    }
}

/// Sender side (RFC 6508 s6.2.1): draws a fresh SSV and encapsulates it for identifier `id`
/// under the KMS public key `kms`. Returns the SSV (to be used as the shared key) and the
/// Encapsulated Data to send. Constant time in the SSV and r.
pub fn encapsulate<R: CryptoRng + ?Sized>(
    rng: &mut R,
    kms: &KmsPublicKey,
    id: &[u8],
) -> (Ssv, EncapsulatedData) {
    let ssv = Ssv::random(rng);
    let ed = hazmat::encapsulate_with_ssv(&ssv, kms, id);
    (ssv, ed)
}

/// [`encapsulate`] for receivers that hash g^r in minimal length (a deployed interoperability
/// bug, spec notes s6): draws SSVs until g^r has no leading zero octet, so that both hashing
/// conventions agree. For keys the sender generates itself (PCK, CSK); a GMK, one value for
/// many members, cannot avoid it this way.
///
/// # Security
/// The number of draws (about 1 in 153 SSVs is discarded) shows in the timing; discarded SSVs
/// are never used.
pub fn encapsulate_interop_safe<R: CryptoRng + ?Sized>(
    rng: &mut R,
    kms: &KmsPublicKey,
    id: &[u8],
) -> (Ssv, EncapsulatedData) {
    loop {
        let ssv = Ssv::random(rng);
        if !hazmat::gr_has_leading_zero_octet(&ssv, id) {
            let ed = hazmat::encapsulate_with_ssv(&ssv, kms, id);
            return (ssv, ed);
        }
    }
}

/// Receiver side (RFC 6508 s6.2.2): recovers the SSV from Encapsulated Data with the receiver's
/// RSK, and checks the RFC's `TEST == R` (step 5) before releasing it. Constant time in the RSK
/// and the SSV; the only branch is on the final accept/reject.
///
/// For many decapsulations with one RSK, [`PreparedReceiver`] is about three times faster.
///
/// # Errors
/// The opaque [`Error`] when the check fails (tampered data, wrong RSK, wrong identifier, wrong
/// KMS key): which of these it was is not revealed.
pub fn decapsulate(
    kms: &KmsPublicKey,
    id: &[u8],
    rsk: &ReceiverSecretKey,
    ed: &EncapsulatedData,
) -> Result<Ssv, Error> {
    let base = ProjectivePoint::from(kms.identity_point_vartime(id));
    decapsulate_with(
        id,
        ed,
        false,
        || pairing(&ed.r, rsk.point()),
        |r, _| test_equals_r(ed, r, |r| base.mul(r)),
    )
}

/// RFC 6508 s6.2.2 steps 2-6 with the pairing and the final check supplied: `check(r, w)`
/// decides (in constant time) whether `TEST = [r]([b]P + Z)` equals R. With `minimal_w`, w is
/// hashed without its leading zero octets (the interoperability retry).
fn decapsulate_with(
    id: &[u8],
    ed: &EncapsulatedData,
    minimal_w: bool,
    w: impl FnOnce() -> Gt,
    check: impl FnOnce(&Fq, &Gt) -> subtle::Choice,
) -> Result<Ssv, Error> {
    // Step 2: w = <R, K>.
    let mut w = w();
    // Step 3: SSV = H XOR HashToIntegerRange(w, 2^n).
    let mut w_bytes = w.to_bytes();
    let start = if minimal_w {
        // Variable time in the number of leading zero octets of w: only in the opt-in retry.
        w_bytes
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(w_bytes.len())
    } else {
        0
    };
    let mut mask = crate::hash::to_mask(&w_bytes[start..]);
    w_bytes.zeroize();
    // The SSV is built in place in its heap block (wiped on drop, on either path): no stack
    // copy of a bare array.
    let mut ssv = Ssv::zero();
    for ((s, h), m) in ssv.0.iter_mut().zip(&ed.h).zip(&mask) {
        *s = h ^ m;
    }
    mask.zeroize();
    // Steps 4-5: r = HashToIntegerRange(SSV || b, q); TEST = [r]([b]P + Z); TEST == R?
    let r = hazmat::derive_r(&ssv, id);
    let ok = check(r.expose(), &w);
    drop(r);
    w.0.zeroize();
    if crate::ct::declassify(ok) {
        Ok(ssv)
    } else {
        Err(Error)
    }
}

/// The RFC's step 5 as it is written: `TEST = [r]([b]P + Z)` (by `times_base`), accepted when
/// it equals R and is not the identity.
fn test_equals_r(
    ed: &EncapsulatedData,
    r: &Fq,
    times_base: impl FnOnce(&Fq) -> ProjectivePoint,
) -> subtle::Choice {
    let test = times_base(r);
    test.ct_eq(&ProjectivePoint::from(ed.r)) & !test.is_identity()
}

/// A receiver's RSK prepared for many decapsulations in one key period: the pairing's line
/// table for the RSK (about 350 kB). The RSK is validated on construction, which lets every
/// decapsulation replace the TEST multiplication `[r]([b]P + Z)` by `g^r` on the process-wide
/// table of g (about 400 instead of 1 900 field multiplications with a table of `[b]P + Z`,
/// or 11 000 without one); see [`Self::decapsulate`].
///
/// Holds secret-derived tables: not `Copy`, `Debug` prints no value, zeroized on drop.
pub struct PreparedReceiver {
    id: Vec<u8>,
    lines: PreparedPoint,
}

// The secret-derived part wipes itself when dropped: the RSK's line table (`PreparedPoint`);
// the identifier is public.
impl ZeroizeOnDrop for PreparedReceiver {}

impl core::fmt::Debug for PreparedReceiver {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PreparedReceiver").finish_non_exhaustive()
    }
}

impl PreparedReceiver {
    /// Validates `rsk` for `id` under `kms` (RFC 6508 s6.1.2: `<[b]P + Z, RSK> = g`, and
    /// `[b]P + Z` is not the identity) and builds the pairing table (about the cost of one
    /// plain pairing).
    ///
    /// # Errors
    /// The opaque [`Error`] if the RSK does not validate.
    pub fn new(kms: &KmsPublicKey, id: &[u8], rsk: &ReceiverSecretKey) -> Result<Self, Error> {
        let base = kms.identity_point_vartime(id);
        let lines = PreparedPoint::new(rsk.point());
        let ok = !base.is_identity() & lines.pairing(&base).ct_eq(&Gt::g());
        if !crate::ct::declassify(ok) {
            return Err(Error);
        }
        Ok(Self {
            id: id.to_vec(),
            lines,
        })
    }

    /// The check of step 5 for a validated RSK K: `w == g^r` (and `w != 1`) instead of
    /// `[r]([b]P + Z) == R`. The two are equivalent here. Write `Q = [b]P + Z`; construction
    /// checked `Q != O` and `<Q, K> = g`, and R (decoded with the subgroup check, or computed)
    /// lies in the order-q group generated by P, so `R = [s]Q` for one s mod q, and
    /// `w = <R, K> = <Q, K>^s = g^s`. As g has the prime order q, `w = g^r` exactly when
    /// `s = r (mod q)`, that is when `R = [r]Q = TEST`; and `w != 1` exactly when `TEST != O`.
    fn check(r: &Fq, w: &Gt) -> subtle::Choice {
        let mut g_r = Gt::g_pow(r);
        let ok = w.ct_eq(&g_r) & !w.ct_eq(&Gt::identity());
        // g^r is w (the secret the mask comes from) for an authentic message.
        g_r.0.zeroize();
        ok
    }

    /// [`decapsulate`] with the precomputed line table, and with step 5 checked as `w == g^r`
    /// (equivalent to the RFC's `TEST == R` for the validated RSK; see the type's notes).
    ///
    /// # Errors
    /// The opaque [`Error`] when the RFC's check fails.
    pub fn decapsulate(&self, ed: &EncapsulatedData) -> Result<Ssv, Error> {
        decapsulate_with(
            &self.id,
            ed,
            false,
            || self.lines.pairing(&ed.r),
            Self::check,
        )
    }

    /// [`Self::decapsulate`] for Encapsulated Data from a sender that hashed g^r without its
    /// leading zero octets (a deployed interoperability bug, about 1 key in 153): w is hashed in
    /// minimal length. Use only as a retry after [`Self::decapsulate`] failed; the RFC's
    /// `TEST == R` check (as `w == g^r`) still decides, so nothing false is accepted.
    ///
    /// # Security
    /// Variable time in the number of leading zero octets of w.
    ///
    /// # Errors
    /// The opaque [`Error`] when the check fails (always, when w has no leading zero octet).
    pub fn decapsulate_minimal_w(&self, ed: &EncapsulatedData) -> Result<Ssv, Error> {
        decapsulate_with(
            &self.id,
            ed,
            true,
            || self.lines.pairing(&ed.r),
            Self::check,
        )
    }
}

/// A recipient prepared for repeated encapsulations (a group member who receives key after
/// key): `[b]P + Z` and its fixed-base table (about 1.4 MB; building it costs about three
/// encapsulations).
pub struct PreparedRecipient {
    id: Vec<u8>,
    table: FixedBaseTable,
}

impl core::fmt::Debug for PreparedRecipient {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "PreparedRecipient(id = {})", hex::encode_upper(&self.id))
    }
}

impl PreparedRecipient {
    /// Precomputes for identifier `id` under `kms`.
    pub fn new(kms: &KmsPublicKey, id: &[u8]) -> Self {
        Self {
            id: id.to_vec(),
            table: FixedBaseTable::new(&kms.identity_point_vartime(id)),
        }
    }

    /// The identifier.
    pub fn id(&self) -> &[u8] {
        &self.id
    }

    /// [`encapsulate`] with the precomputed table.
    pub fn encapsulate<R: CryptoRng + ?Sized>(&self, rng: &mut R) -> (Ssv, EncapsulatedData) {
        let ssv = Ssv::random(rng);
        let ed = hazmat::encapsulate_with_ssv_prepared(&ssv, self);
        (ssv, ed)
    }

    pub(crate) fn times_base(&self, r: &Fq) -> AffinePoint {
        self.table.mul_affine(r)
    }
}

/// Batch size (recipients) from which [`PreparedKms::times_identity_points`] reads the table
/// windows once per batch and adds them by affine additions with one shared inversion per
/// window ([`FixedBaseTable::mul_many_affine`]); smaller batches use addition trees with nine
/// shared inversions in all ([`FixedBaseTable::mul_affine_many`]). The batched scans pay off
/// once enough lanes share each window's inversion.
const AFFINE_BATCH_FROM: usize = 32;

/// A KMS public key prepared for encapsulating to many different identifiers (a group manager
/// distributing a GMK) and for validating many RSKs (a KMS provisioning a batch):
///
/// * with a fixed-base table for Z, `[r]([b]P + Z)` is computed as `[r b]P + [r]Z`, two table
///   lookups instead of a variable-base multiplication;
/// * with the pairing line tables of P and Z, RSK validation `<[b]P + Z, RSK> = g` is computed
///   as `<P, RSK>^b <Z, RSK>`: two precomputed pairings instead of a plain one.
///
/// Holds about 1.8 MB (the Z table and Z's lines; P's are shared by the process); building it
/// costs about four encapsulations. [`PreparedKms::prepare_batches`] adds a wide table of Z
/// (8-bit windows, 4 MB, about 30 encapsulations' worth of work) for batched encapsulation
/// ([`hazmat::encapsulate_many_with_ssv_kms`]) to large groups.
pub struct PreparedKms {
    kms: KmsPublicKey,
    z_table: FixedBaseTable,
    z_wide: std::sync::OnceLock<FixedBaseTable>,
    z_lines: PreparedPoint,
}

impl core::fmt::Debug for PreparedKms {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PreparedKms")
            .field("kms", &self.kms)
            .finish_non_exhaustive()
    }
}

impl PreparedKms {
    /// Precomputes for `kms`.
    pub fn new(kms: &KmsPublicKey) -> Self {
        Self {
            kms: *kms,
            z_table: FixedBaseTable::new(&kms.point),
            z_wide: std::sync::OnceLock::new(),
            z_lines: PreparedPoint::new(&kms.point),
        }
    }

    /// The KMS public key.
    pub fn public_key(&self) -> &KmsPublicKey {
        &self.kms
    }

    /// [`encapsulate`] to `id` with the precomputed table.
    pub fn encapsulate<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        id: &[u8],
    ) -> (Ssv, EncapsulatedData) {
        let ssv = Ssv::random(rng);
        let ed = hazmat::encapsulate_with_ssv_kms(&ssv, self, id);
        (ssv, ed)
    }

    /// [`ReceiverSecretKey::validate`] with the precomputed tables: checks `<P, RSK>^b <Z, RSK>
    /// = g` (bilinearity; the pairing is symmetric on the order-q subgroup). Constant time in
    /// the RSK; variable time only in the public identifier b.
    ///
    /// # Errors
    /// The opaque [`Error`] when the RSK does not belong to `id` under this KMS key.
    pub fn validate_rsk(&self, rsk: &ReceiverSecretKey, id: &[u8]) -> Result<(), Error> {
        let b = Fq::from_be_bytes_reduced(id);
        let e_p = PreparedPoint::generator().pairing(rsk.point());
        let e_z = self.z_lines.pairing(rsk.point());
        let w = e_p.pow_public_exponent_vartime(&b).mul(&e_z);
        let ok = w.ct_eq(&Gt::g());
        if crate::ct::declassify(ok) {
            Ok(())
        } else {
            Err(Error)
        }
    }

    /// Builds the wide (8-bit window) tables of P, Z and g that batched encapsulation uses
    /// from then on: a quarter fewer point additions and 40% fewer multiplications in PF_p per
    /// recipient, for about 60 encapsulations' worth of work once (the tables of P and g are
    /// shared by the process) and 10 MB. Worth it for a fan-out to more than about a hundred
    /// members; idempotent.
    pub fn prepare_batches(&self) {
        let _ = FixedBaseTable::generator_wide();
        let _ = crate::pairing::GtTable::g_wide();
        let _ = self
            .z_wide
            .get_or_init(|| FixedBaseTable::new_wide(&self.kms.point));
    }

    /// The table of g for batched encapsulation: the wide one once [`Self::prepare_batches`]
    /// has built the wide tables.
    pub(crate) fn g_table(&self) -> &'static crate::pairing::GtTable {
        if self.z_wide.get().is_some() {
            crate::pairing::GtTable::g_wide()
        } else {
            crate::pairing::GtTable::g()
        }
    }

    /// [`Self::times_identity_point`] for several `(r, id)` pairs, with batched table reads
    /// (on the wide tables once [`Self::prepare_batches`] has built them).
    pub(crate) fn times_identity_points(&self, rs: &[Fq], ids: &[&[u8]]) -> Vec<ProjectivePoint> {
        let mut rbs: Vec<Fq> = rs
            .iter()
            .zip(ids)
            .map(|(r, id)| r.mul(&Fq::from_be_bytes_reduced(id)))
            .collect();
        let (p_table, z_table) = match self.z_wide.get() {
            Some(z_wide) => (FixedBaseTable::generator_wide(), z_wide),
            None => (FixedBaseTable::generator(), &self.z_table),
        };
        if rs.len() >= AFFINE_BATCH_FROM {
            let parts = FixedBaseTable::mul_many_affine(&[(p_table, &rbs), (z_table, rs)]);
            rbs.zeroize();
            return match parts.as_slice() {
                [rb_p, r_z] => rb_p
                    .iter()
                    .zip(r_z)
                    .map(|(a, b)| ProjectivePoint::from(*a).add(&ProjectivePoint::from(*b)))
                    .collect(),
                _ => Vec::new(),
            };
        }
        // Smaller batches: the addition trees of every scalar, sharing their inversions, on
        // the 6-bit tables (the wide ones may be stored for the radix-2^52 loop of
        // `mul_many_affine`, and for single lookups their longer scans eat the saved additions).
        let (p_table, z_table) = (FixedBaseTable::generator(), &self.z_table);
        let jobs: Vec<(&FixedBaseTable, &Fq)> = rbs
            .iter()
            .map(|rb| (p_table, rb))
            .chain(rs.iter().map(|r| (z_table, r)))
            .collect();
        let parts = FixedBaseTable::tree_projective(&jobs);
        drop(jobs);
        rbs.zeroize();
        let (rb_p, r_z) = parts.split_at(rs.len());
        rb_p.iter().zip(r_z).map(|(a, b)| a.add(b)).collect()
    }

    /// `[r]([b]P + Z) = [r b]P + [r]Z`, constant time in r.
    pub(crate) fn times_identity_point(&self, r: &Fq, id: &[u8]) -> AffinePoint {
        let b = Fq::from_be_bytes_reduced(id);
        let mut rb = r.mul(&b);
        let p = FixedBaseTable::mul_affine_sum(&[
            (FixedBaseTable::generator(), &rb),
            (&self.z_table, r),
        ]);
        rb.zeroize();
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `check_issued_rsk` accepts the RSK just issued and refuses what the pairing check
    /// refuses: the negated and the doubled RSK, another identity's RSK, the identity, the
    /// right RSK for another identifier or under another master secret; and an off-curve point.
    #[test]
    fn kms_check_of_an_issued_rsk_agrees_with_the_pairing_check() {
        let z = MasterSecret::from_bytes(&[0x5A; 64]).expect("z");
        let kms = z.public_key();
        let prepared = PreparedKms::new(&kms);
        let id = b"sip:alice@example.org / period 7";
        let other = b"sip:bob@example.org / period 7";
        let rsk = z.issue_rsk(id).expect("rsk");
        assert!(z.check_issued_rsk(&rsk, id).is_ok());
        assert!(prepared.validate_rsk(&rsk, id).is_ok());

        let k = ProjectivePoint::from(rsk.point);
        let wrap = |point: AffinePoint| ReceiverSecretKey { point };
        let bad = [
            ("-RSK", wrap(k.neg().to_affine())),
            ("[2]RSK", wrap(k.double().to_affine())),
            ("another identity's RSK", z.issue_rsk(other).expect("rsk")),
            ("the identity", wrap(AffinePoint::identity())),
        ];
        for (what, bad) in &bad {
            assert!(z.check_issued_rsk(bad, id).is_err(), "{what}");
            assert!(prepared.validate_rsk(bad, id).is_err(), "{what}");
            assert!(bad.validate(&kms, id).is_err(), "{what}");
        }
        assert!(z.check_issued_rsk(&rsk, other).is_err());
        assert!(prepared.validate_rsk(&rsk, other).is_err());
        let z2 = MasterSecret::from_bytes(&[0x33; 64]).expect("z2");
        assert!(z2.check_issued_rsk(&rsk, id).is_err());
        assert!(
            PreparedKms::new(&z2.public_key())
                .validate_rsk(&rsk, id)
                .is_err()
        );
        let off_curve = wrap(AffinePoint {
            x: rsk.point.x,
            y: rsk.point.y.add(&crate::field::Fp::ONE),
            infinity: subtle::Choice::from(0),
        });
        assert!(!bool::from(off_curve.point.is_on_curve()));
        assert!(z.check_issued_rsk(&off_curve, id).is_err());
    }

    /// What the check does not see, as its documentation says: `K + T` with `T = (0, 0)` of
    /// order 2 passes exactly when `a + z mod q` is even (`[s]T = O`). The receiver's pairing
    /// check is blind to `T` altogether; decoders refuse such points by the subgroup check.
    #[test]
    fn kms_check_sees_the_two_torsion_component_when_a_plus_z_is_odd() {
        let z = MasterSecret::from_bytes(&[0x5A; 64]).expect("z");
        let t = ProjectivePoint::from(AffinePoint {
            x: crate::field::Fp::ZERO,
            y: crate::field::Fp::ZERO,
            infinity: subtle::Choice::from(0),
        });
        let mut seen = [false; 2];
        for i in 0u8..16 {
            let id = [i; 32];
            let s = Fq::from_be_bytes_reduced(&id).add(&z.z);
            let even = s.to_canonical_limbs()[0] & 1 == 0;
            if seen[usize::from(even)] {
                continue;
            }
            seen[usize::from(even)] = true;
            let rsk = z.issue_rsk(&id).expect("rsk");
            let shifted = ReceiverSecretKey {
                point: ProjectivePoint::from(rsk.point).add(&t).to_affine(),
            };
            assert!(bool::from(shifted.point.is_on_curve()));
            assert!(!shifted.point.is_torsion_free_vartime());
            assert_eq!(z.check_issued_rsk(&shifted, &id).is_ok(), even, "id {i}");
            if seen == [true; 2] {
                return;
            }
        }
        panic!("no identifier of each parity among 16");
    }

    #[test]
    fn store_authenticated_rsk_decoder_round_trips_and_refuses_malformed_octets() {
        let z = MasterSecret::from_bytes(&[0x5A; 64]).expect("z");
        let id = b"sip:alice@example.org / period 7";
        let rsk = z.issue_rsk(id).expect("rsk");
        let bytes = rsk.to_bytes();
        let back = ReceiverSecretKey::from_store_authenticated_bytes_unchecked(&bytes)
            .expect("an authentic RSK decodes");
        assert_eq!(back.to_bytes(), bytes);
        assert!(back.validate(&z.public_key(), id).is_ok());

        assert!(matches!(
            ReceiverSecretKey::from_store_authenticated_bytes_unchecked(&bytes[1..]),
            Err(PointError::WrongLength { got: 256, .. })
        ));
        let mut bad_prefix = bytes;
        bad_prefix[0] = 0x02;
        let mut off_curve = bytes;
        off_curve[POINT_LEN - 1] ^= 1;
        let mut x_too_big = bytes;
        x_too_big[1..=FP_LEN].fill(0xFF);
        for bad in [bad_prefix, off_curve, x_too_big] {
            assert!(matches!(
                ReceiverSecretKey::from_store_authenticated_bytes_unchecked(&bad),
                Err(PointError::NotOnCurve)
            ));
            // The full decoder refuses them too.
            assert!(ReceiverSecretKey::from_bytes(&bad).is_err());
        }
    }
}
