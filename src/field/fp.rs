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
}
