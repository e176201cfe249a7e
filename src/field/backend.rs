//! The backend switch of the long constant-time loops: the one place that picks how F_p
//! values are represented while a Miller loop, a variable-base scalar multiplication or a
//! fixed-base window loop runs.
//!
//! Two backends exist. [`Portable`] runs the loops on [`Fp`] (sixteen 64-bit limbs, each
//! operation fully reduced, its multiplication itself picking the portable or the IFMA
//! kernel). On x86_64 CPUs with AVX-512 IFMA, the proof type `Ifma` runs them on `Fe52`
//! (twenty 52-bit digits, Montgomery radix `2^1040`, lazily reduced), which skips the
//! conversions to and from limbs around every product. Code above `field` writes a loop once,
//! generic over [`LoopField`], wraps it in a [`Job`], and calls [`dispatch`]: the job's
//! `run::<B>` is monomorphised for each backend (no dynamic dispatch, the loop body is
//! inlined into a function compiled for the backend's CPU features) and [`dispatch`] chooses
//! one per call from a cached CPU check. Nothing outside `field` names a backend's type.
//!
//! A [`Backend`] converts values in and out ([`Backend::convert`], [`Backend::to_fp`]) and
//! reads precomputed tables. Tables of F_p values are stored as limbs in a [`TableForm`]: the
//! Montgomery form of [`Fp`], or `a 2^1040 mod p`, which the radix-2^52 backend re-cuts into
//! digits without a multiplication ([`Backend::load`] reads its own [`Backend::FORM`]; other
//! forms go through [`TableForm::to_fp`] and [`Backend::convert`]). Every backend computes the
//! same field elements, so results are identical bit for bit whichever runs.

#[cfg(target_arch = "x86_64")]
use super::ifma::{Fe52, Ifma};
use super::kernel::{Limbs, pow2_mod};
use super::{Fp, Fp2};

/// The F_p operations of the long constant-time loops (the Miller loops and the variable-base
/// scalar multiplication): [`Fp`] everywhere, and on CPUs with AVX-512 IFMA the radix-2^52
/// `Fe52`, which skips the conversions to and from 64-bit limbs around every multiplication
/// and reduces lazily. Both compute the same field elements, so a loop's result is the same
/// bit for bit on either.
///
/// For the lazy backend every subtraction names a bound: `a.sub_k::<K>(&b)` requires `b`
/// below `(K - 1) p`, where values are bounded as multiples of p: products and loaded values
/// are below `2p`, a sum's bound is the sum of the bounds, and `a.sub_k::<K>(&b)` is below
/// `a`'s bound plus `K p`. Every product's operands must stay below `300 p` each. The
/// formulas below annotate their bounds; [`Fp`] reduces fully and ignores them.
pub(crate) trait LoopField: Copy + zeroize::Zeroize {
    /// `self + rhs`.
    fn add(&self, rhs: &Self) -> Self;
    /// `self - rhs`, for `rhs` below `(K - 1) p` (`K` a power of two from 4 to 128).
    fn sub_k<const K: u64>(&self, rhs: &Self) -> Self;
    /// `self * rhs`.
    fn mul(&self, rhs: &Self) -> Self;
    /// `self^2`.
    fn square(&self) -> Self;
    /// `b` where `choice` is set, else `a`, without branching.
    fn select(a: &Self, b: &Self, choice: subtle::Choice) -> Self;
    /// `2 self`.
    #[inline(always)]
    fn double(&self) -> Self {
        self.add(self)
    }
    /// The same element below `2p` (`one` is the backend's 1): a lazily reduced value is
    /// multiplied by one, which [`Fp`] (always fully reduced) skips. For chains of additions
    /// and subtractions whose bounds would otherwise grow without end (the affine additions
    /// of the batched fixed-base multiplication).
    #[inline(always)]
    fn reduce(&self, one: &Self) -> Self {
        self.mul(one)
    }
    /// The F_p^2 product `(a0 + a1 i)(b0 + b1 i)`, Karatsuba, for components with the bounds
    /// of the Miller loops' values (subtrahends below 3p): [`Fp`] overrides it with
    /// [`Fp2::mul`], whose portable path reduces lazily.
    #[inline(always)]
    fn pair_mul(a: [&Self; 2], b: [&Self; 2]) -> [Self; 2] {
        let v0 = a[0].mul(b[0]);
        let v1 = a[1].mul(b[1]);
        let s = a[0].add(a[1]).mul(&b[0].add(b[1]));
        [v0.sub_k::<4>(&v1), s.sub_k::<4>(&v0).sub_k::<4>(&v1)]
    }
}

impl LoopField for Fp {
    #[inline(always)]
    fn add(&self, rhs: &Self) -> Self {
        Fp::add(self, rhs)
    }
    #[inline(always)]
    fn reduce(&self, _one: &Self) -> Self {
        *self
    }
    #[inline(always)]
    fn sub_k<const K: u64>(&self, rhs: &Self) -> Self {
        Fp::sub(self, rhs)
    }
    #[inline(always)]
    fn mul(&self, rhs: &Self) -> Self {
        Fp::mul(self, rhs)
    }
    #[inline(always)]
    fn square(&self) -> Self {
        Fp::square(self)
    }
    #[inline(always)]
    fn select(a: &Self, b: &Self, choice: subtle::Choice) -> Self {
        subtle::ConditionallySelectable::conditional_select(a, b, choice)
    }
    #[inline(always)]
    fn pair_mul(a: [&Self; 2], b: [&Self; 2]) -> [Self; 2] {
        let c = Fp2::new(*a[0], *a[1]).mul(&Fp2::new(*b[0], *b[1]));
        [c.c0, c.c1]
    }
}

/// A [`LoopField`] that carries only the bound of a lazily reduced value (as a multiple of p)
/// and checks the contract of every operation: running a loop generic over [`LoopField`] on
/// it proves the loop's bound annotations for every path through it (the loops branch only
/// on public constants), independently of the values.
#[cfg(test)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, zeroize::Zeroize)]
pub(crate) struct Bound(pub(crate) u64);

#[cfg(test)]
impl Bound {
    /// Largest product of two bounds with `A B < 2^1040 p` for `A < a p`, `B < b p`:
    /// `a b p^2 < 2^1040 p` iff `a b < 2^1040 / p`, and `2^1040 / p > 2^16 / 0.6 > 109 000`.
    pub(crate) const PRODUCT_LIMIT: u64 = 109_000;
}

#[cfg(test)]
impl LoopField for Bound {
    fn add(&self, rhs: &Self) -> Self {
        let b = self.0 + rhs.0;
        // The sum must stay below 2^1040 (a few hundred p is far below).
        assert!(b <= 1000, "sum bound {b} p");
        Bound(b)
    }
    fn sub_k<const K: u64>(&self, rhs: &Self) -> Self {
        assert!(K.is_power_of_two() && (4..=128).contains(&K), "K = {K}");
        assert!(rhs.0 < K, "subtrahend below {} p used with K = {K}", rhs.0);
        Bound(self.0 + K)
    }
    fn mul(&self, rhs: &Self) -> Self {
        assert!(
            self.0 * rhs.0 < Self::PRODUCT_LIMIT,
            "product of operands below {} p and {} p",
            self.0,
            rhs.0
        );
        Bound(2)
    }
    fn square(&self) -> Self {
        self.mul(self)
    }
    fn select(a: &Self, b: &Self, _choice: subtle::Choice) -> Self {
        Bound(a.0.max(b.0))
    }
}

#[cfg(target_arch = "x86_64")]
impl LoopField for Fe52 {
    #[inline(always)]
    fn add(&self, rhs: &Self) -> Self {
        Fe52::add(self, rhs)
    }
    #[inline(always)]
    fn sub_k<const K: u64>(&self, rhs: &Self) -> Self {
        Fe52::sub_k::<K>(self, rhs)
    }
    #[inline(always)]
    fn mul(&self, rhs: &Self) -> Self {
        Fe52::mul(self, rhs)
    }
    #[inline(always)]
    fn square(&self) -> Self {
        Fe52::square(self)
    }
    #[inline(always)]
    fn select(a: &Self, b: &Self, choice: subtle::Choice) -> Self {
        Fe52::select(a, b, choice)
    }
}

/// How a precomputed table stores F_p values (as 64-bit limbs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TableForm {
    /// The Montgomery form of [`Fp`], `a 2^1024 mod p`.
    Montgomery,
    /// `a 2^1040 mod p`, canonical: the radix-2^52 backend's storage form.
    Radix52,
}

/// `2^16` in Montgomery form (`2^1040 mod p`): a Montgomery multiplication by it moves
/// `a 2^1024` to `a 2^1040`.
const TO_R52: Fp = Fp(pow2_mod(1040, &Fp::MODULUS));
/// `2^1008 mod p` as limbs: a Montgomery multiplication by it moves `a 2^1040` back to
/// `a 2^1024`.
const FROM_R52: Fp = Fp(pow2_mod(1008, &Fp::MODULUS));

impl TableForm {
    /// The form that the backend [`dispatch`] picks at this moment reads directly.
    #[inline]
    pub(crate) fn current() -> Self {
        #[cfg(target_arch = "x86_64")]
        if Ifma::detect().is_some() {
            return Self::Radix52;
        }
        Self::Montgomery
    }

    /// `x` in this form (one multiplication for [`TableForm::Radix52`]).
    #[inline]
    pub(crate) fn store(self, x: &Fp) -> Limbs {
        match self {
            Self::Montgomery => x.0,
            Self::Radix52 => x.mul(&TO_R52).0,
        }
    }

    /// The element stored as `stored` in this form (one multiplication for
    /// [`TableForm::Radix52`]).
    #[inline]
    pub(crate) fn to_fp(self, stored: &Limbs) -> Fp {
        match self {
            Self::Montgomery => Fp(*stored),
            Self::Radix52 => Fp(*stored).mul(&FROM_R52),
        }
    }
}

/// An F_p representation the loops can run on, with its conversions. Implemented by
/// [`Portable`] and, on x86_64, by the IFMA proof; a value of the type proves that the CPU runs
/// the backend.
pub(crate) trait Backend: Copy {
    /// The loops' field type.
    type F: LoopField;
    /// The table form [`Backend::load`] reads without a multiplication.
    const FORM: TableForm;
    /// `x` in the backend's representation.
    fn convert(self, x: &Fp) -> Self::F;
    /// Back to [`Fp`], fully reduced.
    fn to_fp(self, x: &Self::F) -> Fp;
    /// A table value stored in [`Backend::FORM`].
    fn load(self, stored: &Limbs) -> Self::F;
}

/// The portable backend: the loops run on [`Fp`] itself.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Portable;

impl Backend for Portable {
    type F = Fp;
    const FORM: TableForm = TableForm::Montgomery;
    #[inline(always)]
    fn convert(self, x: &Fp) -> Fp {
        *x
    }
    #[inline(always)]
    fn to_fp(self, x: &Fp) -> Fp {
        *x
    }
    #[inline(always)]
    fn load(self, stored: &Limbs) -> Fp {
        Fp(*stored)
    }
}

#[cfg(target_arch = "x86_64")]
impl Backend for Ifma {
    type F = Fe52;
    const FORM: TableForm = TableForm::Radix52;
    #[inline(always)]
    fn convert(self, x: &Fp) -> Fe52 {
        Fe52::from_fp(self, x)
    }
    #[inline(always)]
    fn to_fp(self, x: &Fe52) -> Fp {
        x.to_fp()
    }
    #[inline(always)]
    fn load(self, stored: &Limbs) -> Fe52 {
        Fe52::from_limbs_r52(self, stored)
    }
}

/// A computation written once for every backend: [`dispatch`] calls `run` with the best one.
/// Implementations mark `run` `#[inline(always)]`, so that the loop is compiled into the
/// backend's feature-enabled function.
pub(crate) trait Job {
    /// The result.
    type Output;
    /// Runs the computation on `backend`.
    fn run<B: Backend>(self, backend: B) -> Self::Output;
}

/// Runs `job` on the fastest backend of this CPU: the radix-2^52 one (inside a function
/// compiled for AVX-512 IFMA) where the CPU has it and it is not disabled, else the portable
/// one. One relaxed atomic load once the CPU has been checked.
#[inline]
pub(crate) fn dispatch<J: Job>(job: J) -> J::Output {
    #[cfg(target_arch = "x86_64")]
    if let Some(ifma) = Ifma::detect() {
        #[cfg(feature = "ct-taint")]
        crate::ct::paths::hit(crate::ct::paths::Path::Radix52Job);
        return ifma.with_features(|| job.run(ifma));
    }
    job.run(Portable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_forms_round_trip() {
        for v in [0u64, 1, 2, 0xdead_beef, u64::MAX] {
            let x = Fp::from_u64(v).neg();
            for form in [TableForm::Montgomery, TableForm::Radix52] {
                assert_eq!(form.to_fp(&form.store(&x)), x, "{form:?}");
            }
            // The radix-2^52 form is a 2^1040: the Montgomery limbs times 2^16.
            let shifted = x.mul(&Fp::from_u64(1 << 16));
            assert_eq!(TableForm::Radix52.store(&x), shifted.0);
        }
    }

    /// Every backend of this CPU reads its own form and converts identically.
    #[test]
    fn backends_agree() {
        struct Probe(Fp, Fp);
        impl Job for Probe {
            type Output = (Fp, Fp, TableForm);
            #[inline(always)]
            fn run<B: Backend>(self, b: B) -> Self::Output {
                let x = b.convert(&self.0);
                let y = b.load(&B::FORM.store(&self.1));
                let r = x.add(&y).mul(&x.sub_k::<4>(&y));
                (
                    b.to_fp(&r),
                    b.to_fp(&LoopField::select(&x, &y, 1.into())),
                    B::FORM,
                )
            }
        }
        let (a, b) = (Fp::from_u64(12345).neg(), Fp::from_u64(987));
        let want = a.add(&b).mul(&a.sub(&b));
        let (got, sel, form) = dispatch(Probe(a, b));
        assert_eq!((got, sel, form), (want, b, TableForm::current()));
        assert_eq!(Probe(a, b).run(Portable), (want, b, TableForm::Montgomery));
    }
}
