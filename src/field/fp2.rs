//! F_p^2 = F_p[i] with i^2 = -1 (RFC 6508 s2.1), the field the pairing values live in.

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq, CtOption};
use zeroize::Zeroize;

use super::Fp;

/// An element `c0 + c1 * i` of F_p^2. Constant time in its value for every operation.
#[derive(Clone, Copy, Default, PartialEq, Eq, Zeroize)]
pub struct Fp2 {
    /// Real part `x_1`.
    pub c0: Fp,
    /// Imaginary part `x_2`.
    pub c1: Fp,
}

impl Fp2 {
    /// Zero.
    pub const ZERO: Self = Self {
        c0: Fp::ZERO,
        c1: Fp::ZERO,
    };
    /// One.
    pub const ONE: Self = Self {
        c0: Fp::ONE,
        c1: Fp::ZERO,
    };

    /// Builds `c0 + c1 * i`.
    pub const fn new(c0: Fp, c1: Fp) -> Self {
        Self { c0, c1 }
    }

    /// The Montgomery-form limbs of `c0`, then those of `c1` (the layout of table lookups).
    pub(crate) fn to_limbs(self) -> [u64; 2 * super::kernel::LIMBS] {
        let mut out = [0u64; 2 * super::kernel::LIMBS];
        let (a, b) = out.split_at_mut(super::kernel::LIMBS);
        a.copy_from_slice(&self.c0.0);
        b.copy_from_slice(&self.c1.0);
        out
    }

    /// The inverse of [`Self::to_limbs`].
    pub(crate) fn from_limbs(limbs: &[u64; 2 * super::kernel::LIMBS]) -> Self {
        let mut c0 = [0u64; super::kernel::LIMBS];
        let mut c1 = [0u64; super::kernel::LIMBS];
        c0.copy_from_slice(&limbs[..super::kernel::LIMBS]);
        c1.copy_from_slice(&limbs[super::kernel::LIMBS..]);
        Self::new(Fp(c0), Fp(c1))
    }

    /// `self + rhs`.
    #[inline]
    pub fn add(&self, rhs: &Self) -> Self {
        Self {
            c0: self.c0.add(&rhs.c0),
            c1: self.c1.add(&rhs.c1),
        }
    }

    /// `self - rhs`.
    #[inline]
    pub fn sub(&self, rhs: &Self) -> Self {
        Self {
            c0: self.c0.sub(&rhs.c0),
            c1: self.c1.sub(&rhs.c1),
        }
    }

    /// `-self`.
    #[inline]
    pub fn neg(&self) -> Self {
        Self {
            c0: self.c0.neg(),
            c1: self.c1.neg(),
        }
    }

    /// The conjugate `c0 - c1 * i` (the p-power Frobenius).
    #[inline]
    pub fn conjugate(&self) -> Self {
        Self {
            c0: self.c0,
            c1: self.c1.neg(),
        }
    }

    /// `self * rhs`, Karatsuba: three F_p multiplications (on the portable kernel three
    /// 2048-bit products and two Montgomery reductions: lazy reduction).
    #[inline]
    pub fn mul(&self, rhs: &Self) -> Self {
        let [c0, c1] = Fp::MOD.fp2_mul([&self.c0.0, &self.c1.0], [&rhs.c0.0, &rhs.c1.0]);
        Self {
            c0: Fp(c0),
            c1: Fp(c1),
        }
    }

    /// `self^2`, two F_p multiplications: `(c0 + c1)(c0 - c1) + 2 c0 c1 i`.
    #[inline]
    pub fn square(&self) -> Self {
        let t = self.c0.mul(&self.c1);
        Self {
            c0: self.c0.add(&self.c1).mul(&self.c0.sub(&self.c1)),
            c1: t.double(),
        }
    }

    /// Multiplies both components by an F_p scalar.
    #[inline]
    pub fn mul_by_fp(&self, s: &Fp) -> Self {
        Self {
            c0: self.c0.mul(s),
            c1: self.c1.mul(s),
        }
    }

    /// Inverse `(c0 - c1 i) / (c0^2 + c1^2)`, constant time; `None` for zero.
    pub fn invert(&self) -> CtOption<Self> {
        let norm = self.c0.square().add(&self.c1.square());
        norm.invert().map(|n| Self {
            c0: self.c0.mul(&n),
            c1: self.c1.neg().mul(&n),
        })
    }

    /// Whether this is zero.
    pub fn is_zero(&self) -> Choice {
        self.c0.is_zero() & self.c1.is_zero()
    }
}

impl ConstantTimeEq for Fp2 {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.c0.ct_eq(&other.c0) & self.c1.ct_eq(&other.c1)
    }
}

impl ConditionallySelectable for Fp2 {
    fn conditional_select(a: &Self, b: &Self, choice: Choice) -> Self {
        Self {
            c0: Fp::conditional_select(&a.c0, &b.c0, choice),
            c1: Fp::conditional_select(&a.c1, &b.c1, choice),
        }
    }
}

impl core::fmt::Debug for Fp2 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Fp2")
            .field("c0", &self.c0)
            .field("c1", &self.c1)
            .finish()
    }
}

crate::field::impl_ops!(Fp2);
