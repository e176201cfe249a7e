//! F_p, the 1024-bit base field of parameter set 1 (coordinates of E, components of F_p^2).

use subtle::{ConstantTimeEq, CtOption};
use zeroize::Zeroize;

/// An element of F_p in Montgomery form. Constant time in its value for every operation.
#[derive(Clone, Copy, Zeroize)]
pub struct Fp(pub(crate) crate::field::kernel::Limbs);

crate::field::mont_field!(Fp, crate::params::P_HEX, 1024);

impl Fp {
    /// Square root for `p = 3 mod 4`: `a^((p+1)/4) = a^q` (q = (p+1)/4 for this parameter set).
    /// `None` when `self` is not a square. Constant time in `self` (the exponent is public).
    pub fn sqrt(&self) -> CtOption<Self> {
        let r = self.pow_vartime(&crate::field::Fq::MODULUS);
        CtOption::new(r, r.square().ct_eq(self))
    }

    /// Replaces every element by its inverse with one inversion (Montgomery's trick: three
    /// multiplications per element). Constant time. All elements must be non-zero: one zero
    /// turns every result into zero.
    pub(crate) fn batch_invert(values: &mut [Fp]) {
        let mut prefix = Vec::with_capacity(values.len());
        let mut product = Fp::ONE;
        for v in values.iter() {
            prefix.push(product);
            product = product.mul(v);
        }
        let mut inv = product.invert().unwrap_or(Fp::ZERO);
        for (v, p) in values.iter_mut().zip(&prefix).rev() {
            // inv = 1 / (v_0 ... v_i); p = v_0 ... v_(i-1)
            let v_inv = inv.mul(p);
            inv = inv.mul(v);
            *v = v_inv;
        }
        prefix.zeroize();
        inv.zeroize();
    }
}
