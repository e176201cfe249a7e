//! F_q, the scalar field: integers modulo the 1022-bit prime order q of the subgroup `<P>`.

use zeroize::Zeroize;

/// An element of F_q (a scalar) in Montgomery form. Constant time in its value for every
/// operation. Secret scalars are wrapped by types that zeroize on drop (this math type is `Copy`).
#[derive(Clone, Copy, Zeroize)]
pub struct Fq(pub(crate) crate::field::kernel::Limbs);

crate::field::mont_field!(Fq, crate::params::Q_HEX, 1022);

impl Fq {
    /// Reduces a big-endian integer of any length modulo q (Horner's rule over 128-octet
    /// chunks). Used for identifiers, whose value only matters modulo q (`[b]P = [b mod q]P`).
    pub fn from_be_bytes_reduced(bytes: &[u8]) -> Self {
        // 2^1024 in Montgomery form is R * R mod q = R2.
        let shift = Fq(Self::R2);
        let mut acc = Fq::ZERO;
        let first = bytes.len() % 128;
        let (head, rest) = bytes.split_at(first);
        if !head.is_empty() {
            let mut buf = [0u8; 128];
            buf[128 - head.len()..].copy_from_slice(head);
            acc = Self::from_bytes_reduced(&buf);
        }
        for chunk in rest.chunks_exact(128) {
            let mut buf = [0u8; 128];
            buf.copy_from_slice(chunk);
            acc = acc.mul(&shift).add(&Self::from_bytes_reduced(&buf));
        }
        acc
    }
}
