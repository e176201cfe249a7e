//! The two hashes of RFC 6507 (SHA-256 for P-256, RFC 6509 s2.1.1) and their reduction mod q.

use p256::elliptic_curve::ops::Reduce;
use p256::{FieldBytes, Scalar};
use sha2::{Digest, Sha256};

use super::N;
use super::point::{G_BYTES, Kpak, Pvt};

/// HS = hash( G || KPAK || ID || PVT ) (RFC 6507 s5.1.1 step 3, s5.1.2 step 2, s5.2.2 step 2).
///
/// G, KPAK and PVT enter as their 65-octet encodings `0x04 || x || y`, ID as its octets. The
/// result is a 32-octet integer; the algorithms use it mod q.
#[must_use]
pub fn hash_hs(kpak: &Kpak, id: &[u8], pvt: &Pvt) -> [u8; N] {
    Sha256::new()
        .chain_update(G_BYTES)
        .chain_update(kpak.as_bytes())
        .chain_update(id)
        .chain_update(pvt.as_bytes())
        .finalize()
        .into()
}

/// HE = hash( HS || r || M ) (RFC 6507 s5.2.1 step 3, s5.2.2 step 3).
///
/// HS and r enter as 32-octet integers (r is Jx, not reduced mod q), M as its octets.
#[must_use]
pub fn hash_he(hs: &[u8; N], r: &[u8; N], message: &[u8]) -> [u8; N] {
    Sha256::new()
        .chain_update(hs)
        .chain_update(r)
        .chain_update(message)
        .finalize()
        .into()
}

/// A 32-octet big-endian integer reduced mod q. One conditional subtraction suffices because
/// 2^256 < 2q; constant time (p256's `Reduce`).
pub(crate) fn reduce_mod_q(bytes: &[u8; N]) -> Scalar {
    <Scalar as Reduce<FieldBytes>>::reduce(&FieldBytes::from(*bytes))
}
