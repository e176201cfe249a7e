//! A constant-time multi-scalar multiplication `sum [k_i] X_i` of secret points by short
//! (128-bit) secret scalars, for the KMS's batch self-check of freshly issued RSKs
//! (`sakke::MasterSecret::check_issued_rsks`).
//!
//! Straus' interleaved windows: one table `[1]X_i .. [15]X_i` per point (affine, all tables
//! normalised with one shared inversion), then 32 windows of 4 bits, each four doublings of
//! the one accumulator shared by every point and one masked lookup and mixed addition per
//! point. 128-bit scalars need a quarter of the doublings of [`ProjectivePoint::mul`], and the
//! doublings are shared by the whole batch: a point costs about 46 additions instead of
//! 11 300 multiplications.
//!
//! The accumulator uses the incomplete Jacobian formulas of [`ProjectivePoint::mul`]. Unlike
//! there, their exceptions (the accumulator equal to `+-` the entry added, a doubling of a
//! point of order 2) are not excluded by an argument on the scalars, since the points are
//! independent; instead each exception is detected. An exception leaves Z = 0 (the mixed
//! addition's `Z3 = Z1 H` with `H = 0`, the doubling's `Z3 = 2 Y Z` with `Y = 0`), and Z = 0
//! stays 0 through every later doubling and addition, so a result with Z != 0 came from exact
//! group operations only. [`mul_sum_short`] reports that as `exact`, together with the tables
//! having been built without exception: when `exact` is set the sum is the true `sum [k_i] X_i`
//! in E(F_p); when it is not, the caller must not conclude anything from the result.

use subtle::Choice;
use zeroize::Zeroize;

use super::{
    AffinePoint, Jacobian, ProjectivePoint, add_digit, jacobian_to_fp, load_entry, store_tables,
};
use crate::field::backend::{Backend, Job, dispatch};
use crate::field::kernel::LIMBS;
use crate::field::{Fp, LoopField};

/// Entries of a point's table: `[1]X .. [15]X`.
const ENTRIES: usize = 15;
/// 4-bit windows of a 128-bit scalar.
const WINDOWS: usize = 32;

/// A point's table: per entry the limbs of x, then those of y.
type Table = [[u64; 2 * LIMBS]; ENTRIES];

/// `sum [k_i] X_i` for secret points `X_i` and secret 128-bit scalars `k_i` (two little-endian
/// limbs each), in constant time: every table entry of every point is read in every window,
/// the loops run over the public number of points and the 32 windows.
///
/// Returns the sum and `exact`: set when no exceptional case of the incomplete formulas
/// occurred, no point was the identity and some scalar was non-zero; only then is the sum
/// `sum [k_i] X_i` (see the module documentation). Both stay secret: the caller declassifies
/// its verdict only. `points` and `scalars` are paired up to the shorter of the two.
pub(crate) fn mul_sum_short(
    points: &[AffinePoint],
    scalars: &[[u64; 2]],
) -> (ProjectivePoint, Choice) {
    let n = points.len().min(scalars.len());
    let (mut tables, tables_exact) = tables(&points[..n]);
    let (acc, started) = dispatch(MsmJob {
        tables: &mut tables,
        scalars: &scalars[..n],
    });
    tables.zeroize();
    let p = acc.to_projective();
    let exact = tables_exact & started & !p.z.is_zero();
    (p, exact)
}

/// The tables `[1]X_i .. [15]X_i` of every point, built in Jacobian coordinates (a doubling,
/// then mixed additions of `X_i`) and normalised together with one inversion; and whether
/// every entry was computed without exception (Z != 0, which also refuses the identity).
fn tables(points: &[AffinePoint]) -> (Vec<Table>, Choice) {
    let mut ok = Choice::from(1);
    let mut jac = Vec::with_capacity(points.len() * ENTRIES);
    for a in points {
        ok &= !a.infinity;
        let first = Jacobian {
            x: a.x,
            y: a.y,
            z: Fp::ONE,
        };
        jac.push(first.to_projective());
        let mut cur = first.double();
        for d in 2..=ENTRIES {
            // (public: the entry number)
            if d > 2 {
                cur = cur.add_affine(&a.x, &a.y);
            }
            ok &= !cur.z.is_zero();
            jac.push(cur.to_projective());
        }
        cur.x.zeroize();
        cur.y.zeroize();
        cur.z.zeroize();
    }
    let mut affine = ProjectivePoint::batch_to_affine(&jac);
    for p in &mut jac {
        p.x.zeroize();
        p.y.zeroize();
        p.z.zeroize();
    }
    let mut out = vec![[[0u64; 2 * LIMBS]; ENTRIES]; points.len()];
    for (t, chunk) in out.iter_mut().zip(affine.chunks(ENTRIES)) {
        for (e, p) in t.iter_mut().zip(chunk) {
            e[..LIMBS].copy_from_slice(&p.x.0);
            e[LIMBS..].copy_from_slice(&p.y.0);
        }
    }
    for p in &mut affine {
        p.x.zeroize();
        p.y.zeroize();
    }
    (out, ok)
}

/// The interleaved window loop as a backend job (the tables move to the backend's storage
/// form first, as in [`ProjectivePoint::mul`]).
struct MsmJob<'a> {
    tables: &'a mut [Table],
    scalars: &'a [[u64; 2]],
}

impl Job for MsmJob<'_> {
    type Output = (Jacobian<Fp>, Choice);

    #[inline(always)]
    fn run<B: Backend>(self, b: B) -> Self::Output {
        store_tables::<B>(self.tables.iter_mut().flatten());
        let (acc, started) = msm_loop(
            self.tables,
            self.scalars,
            b.convert(&Fp::ONE),
            |l: &[u64]| load_entry(b, l),
        );
        (jacobian_to_fp(b, &acc), started)
    }
}

/// The loop of [`mul_sum_short`] over a [`LoopField`]; returns the Jacobian accumulator and
/// whether any digit was non-zero.
#[inline(always)]
fn msm_loop<F: LoopField>(
    tables: &[Table],
    scalars: &[[u64; 2]],
    one: F,
    load: impl Fn(&[u64]) -> F,
) -> (Jacobian<F>, Choice) {
    let zero = one.sub_k::<4>(&one);
    let mut acc = Jacobian {
        x: one,
        y: one,
        z: zero,
    };
    let mut started = Choice::from(0);
    for w in (0..WINDOWS).rev() {
        for _ in 0..4 {
            acc = acc.double();
        }
        for (table, k) in tables.iter().zip(scalars) {
            let digit = (k[w / 16] >> (4 * (w % 16))) & 0xf;
            add_digit(&mut acc, &mut started, table, digit, one, &load);
        }
    }
    (acc, started)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::Fq;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn short(k: &[u64; 2]) -> Fq {
        let mut limbs = [0u64; LIMBS];
        limbs[..2].copy_from_slice(k);
        Fq::from_canonical_limbs(&limbs).unwrap_or(Fq::ZERO)
    }

    #[test]
    fn equals_the_sum_of_single_multiplications() {
        let mut rng = ChaCha20Rng::seed_from_u64(21);
        let ks: Vec<Fq> = (0..5).map(|_| Fq::random(&mut rng)).collect();
        let points: Vec<AffinePoint> = ks
            .iter()
            .map(|k| ProjectivePoint::generator().mul(k).to_affine())
            .collect();
        let mut scalars: Vec<[u64; 2]> = (0..5u64)
            .map(|i| [0x9e37_79b9_7f4a_7c15 ^ i, 0xf39c_c060_5ced_c834 + i])
            .collect();
        // a digit pattern with zero windows and a short scalar
        scalars[1] = [0xf0, 0];
        scalars[3] = [0, 1 << 63];
        let (sum, exact) = mul_sum_short(&points, &scalars);
        assert!(bool::from(exact));
        let expected = points
            .iter()
            .zip(&scalars)
            .fold(ProjectivePoint::IDENTITY, |acc, (p, k)| {
                acc.add(&ProjectivePoint::from(*p).mul(&short(k)))
            });
        assert_eq!(sum, expected);
    }

    #[test]
    fn exceptions_are_reported_not_hidden() {
        let p = AffinePoint::generator();
        // X and -X with the same scalar: the accumulator meets -entry in the top window.
        let (_, exact) = mul_sum_short(&[p, p.neg()], &[[5, 0], [5, 0]]);
        assert!(!bool::from(exact));
        // the identity as a point, all-zero scalars
        let (_, exact) = mul_sum_short(&[AffinePoint::identity()], &[[3, 0]]);
        assert!(!bool::from(exact));
        let (_, exact) = mul_sum_short(&[p], &[[0, 0]]);
        assert!(!bool::from(exact));
        // the point of order 2: its table's doubling is the identity
        let t = AffinePoint::from_coordinates_unchecked(Fp::ZERO, Fp::ZERO);
        let t = t.unwrap_or(AffinePoint::identity());
        assert!(!bool::from(t.infinity));
        let (_, exact) = mul_sum_short(&[t], &[[1, 0]]);
        assert!(!bool::from(exact));
    }
}
