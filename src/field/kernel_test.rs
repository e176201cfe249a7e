//! Field-level entry points for the differential tests (`tests/kernel.rs`), the machine-code
//! probes (`examples/kernel_probe.rs`) and the benches: the portable and the IFMA Montgomery
//! multiplication on raw limbs, a probe of the radix-2^52 operations, the switch to the portable
//! kernel. Compiled only with the `test-helpers` feature and re-exported by
//! `crate::test_helpers`; not a stable API.

use super::{Fp, Fq, kernel};

/// Little-endian 64-bit limbs.
pub type Limbs = [u64; 16];

/// Which modulus: the 1024-bit p or the 1022-bit q.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Modulus {
    /// p of parameter set 1.
    P,
    /// q of parameter set 1.
    Q,
}

fn md(m: Modulus) -> &'static kernel::Modulus {
    match m {
        Modulus::P => Fp::MOD,
        Modulus::Q => Fq::MOD,
    }
}

/// The modulus limbs.
pub fn modulus(m: Modulus) -> Limbs {
    md(m).m
}

/// The portable `a * b * 2^-1024 mod m` (requires `a * b < 2^1024 m`).
pub fn portable_mul(a: &Limbs, b: &Limbs, m: Modulus) -> Limbs {
    kernel::mont_mul(a, b, &md(m).m, md(m).minv)
}

/// The portable F_p^2 product with lazy reduction (`kernel::fp2_mul_lazy`): components as
/// Montgomery-form limbs below p.
pub fn portable_fp2_mul(a: [&Limbs; 2], b: [&Limbs; 2]) -> [Limbs; 2] {
    kernel::fp2_mul_lazy(a, b, Fp::MOD)
}

/// The portable dedicated squaring `a^2 * 2^-1024 mod m` (requires `a < m`).
pub fn portable_sqr(a: &Limbs, m: Modulus) -> Limbs {
    kernel::mont_sqr(a, &md(m).m, md(m).minv)
}

/// Whether this CPU runs the IFMA kernel (whatever [`force_portable`] says).
pub fn ifma_available() -> bool {
    md(Modulus::P).mul_ifma(&[0; 16], &[0; 16]).is_some()
}

/// The IFMA `a * b * 2^-1024 mod m`; `None` without IFMA.
pub fn ifma_mul(a: &Limbs, b: &Limbs, m: Modulus) -> Option<Limbs> {
    md(m).mul_ifma(a, b)
}

/// One sum, one lazy difference and one product of F_p elements in the radix-2^52 form of
/// the Miller loops (`Fe52`), back in limbs: `(a + b) * (a - b)`; `None` without IFMA. For
/// the machine-code review of its operations.
pub fn fe52_probe(a: &Fp, b: &Fp) -> Option<Fp> {
    #[cfg(target_arch = "x86_64")]
    if let Some(ifma) = super::ifma::Ifma::detect_cpu() {
        use super::ifma::Fe52;
        return Some(ifma.with_features(|| {
            let (x, y) = (Fe52::from_fp(ifma, a), Fe52::from_fp(ifma, b));
            x.add(&y).mul(&x.sub_k::<4>(&y)).to_fp()
        }));
    }
    let _ = (a, b);
    None
}

/// Makes every field operation of the process use the portable kernel (`true`), or the
/// fastest one again (`false`). Results are identical either way; only speed changes.
pub fn force_portable(portable: bool) {
    kernel::force_portable(portable);
}
