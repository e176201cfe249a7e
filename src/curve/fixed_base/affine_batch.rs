//! The batched affine window loop of [`FixedBaseTable::mul_many_affine`], written once over
//! [`LoopField`] and run on the backend the tables are stored for.

use subtle::{Choice, ConstantTimeEq};
use zeroize::Zeroize;

use super::{AffineCoords, FixedBaseTable};
use crate::ct::lookup_many;
use crate::field::backend::{Backend, Job};
use crate::field::kernel::LIMBS;
use crate::field::{Fp, Fq, LoopField};

/// The window loop of [`FixedBaseTable::mul_many_affine`] as a backend job: every lane's
/// affine accumulator, returned as `Fp` values with the lanes' identity flags.
pub(super) struct AffineBatch<'a> {
    pub(super) jobs: &'a [(&'a FixedBaseTable, &'a [Fq])],
    /// Every lane's digits (the jobs' lanes one after the other), `windows` each.
    pub(super) digits: &'a [Vec<(u64, Choice)>],
    pub(super) windows: usize,
}

impl Job for AffineBatch<'_> {
    type Output = (Vec<Fp>, Vec<Fp>, Vec<Choice>);

    #[inline(always)]
    fn run<B: Backend>(self, b: B) -> Self::Output {
        let (one, zero) = (b.convert(&Fp::ONE), b.convert(&Fp::ZERO));
        let (mut xs, mut ys, infinite) = affine_batch_loop(
            self.jobs,
            self.digits,
            self.windows,
            one,
            zero,
            |table, e| {
                if table.form == B::FORM {
                    (b.load(&e.x.0), b.load(&e.y.0))
                } else {
                    let c = table.coords(&e.to_entry());
                    (b.convert(&c.x), b.convert(&c.y))
                }
            },
            |a| b.convert(&b.to_fp(a).invert().unwrap_or(Fp::ZERO)),
        );
        let out_x = xs.iter().map(|x| b.to_fp(x)).collect();
        let out_y = ys.iter().map(|y| b.to_fp(y)).collect();
        xs.zeroize();
        ys.zeroize();
        (out_x, out_y, infinite)
    }
}

/// The affine additions of [`FixedBaseTable::mul_many_affine`] over a [`LoopField`]: per
/// window one batched scan per table (`load` turns an entry's limbs into field values, below
/// 2p), the lambdas' denominators inverted together (Montgomery's trick, `invert` for the one
/// inversion), then every lane's sum. Returns the lanes' `x`, `y` (below 2p) and identity
/// flags.
///
/// Lazy bounds (multiples of p; `Fp` ignores them): the entry's y negated is below 4p; with
/// the accumulator's `x1 < bx`, `y1 < by` a window computes `num = y2 - y1` (`K1 > by`),
/// `den = x2 - x1` (`K2 > bx`), `lambda` below 2p, `x3 = lambda^2 - x1 - x2` below
/// `6 + K2`, `x1 - x3` with `K3 > 6 + K2`, `y3 = lambda (x1 - x3) - y1` below `2 + K1`. The
/// bounds grow each window, so the windows go in rounds of four with `(K1, K2, K3)` = (8, 4,
/// 16), (16, 16, 32), (32, 32, 64), (64, 64, 128) from `(bx, by)` = (2, 4), (10, 10), (22,
/// 18), (38, 34) to (70, 66), after which `x` and `y` are reduced below 2p (one product each).
/// The unit test runs the loop on bounds.
#[inline(always)]
pub(super) fn affine_batch_loop<F: LoopField>(
    jobs: &[(&FixedBaseTable, &[Fq])],
    digits: &[Vec<(u64, Choice)>],
    windows: usize,
    one: F,
    zero: F,
    load: impl Fn(&FixedBaseTable, &AffineCoords) -> (F, F),
    invert: impl Fn(&F) -> F,
) -> (Vec<F>, Vec<F>, Vec<Choice>) {
    let n = digits.len();
    let mut s = Lanes {
        xs: vec![zero; n],
        ys: vec![zero; n],
        infinite: vec![Choice::from(1); n],
        x2s: vec![zero; n],
        y2s: vec![zero; n],
        nums: vec![zero; n],
        dens: vec![zero; n],
        prefix: Vec::with_capacity(n),
    };
    let mut idxs = Vec::with_capacity(n);
    let mut raw = Vec::with_capacity(n);
    for i in 0..windows {
        // The window's entries for every lane, one batched scan per table.
        let mut lane0 = 0;
        for (table, ks) in jobs {
            let lanes = lane0..lane0 + ks.len();
            lane0 += ks.len();
            // (public: the table's shape)
            let Some(window) = table.windows().nth(i) else {
                // past this table's top window: its lanes' digits are zero
                continue;
            };
            idxs.clear();
            idxs.extend(digits[lanes.clone()].iter().map(|d| d[i].0));
            raw.clear();
            raw.resize(ks.len(), [0u64; 2 * LIMBS]);
            lookup_many(window, 1, &idxs, &mut raw);
            for (l, r) in lanes.zip(&raw) {
                let mut e = AffineCoords::from_entry(r);
                let (ex, mut ey) = load(table, &e);
                e.zeroize();
                s.x2s[l] = ex;
                s.y2s[l] = F::select(&ey, &zero.sub_k::<4>(&ey), digits[l][i].1);
                ey.zeroize();
            }
        }
        // (public: the window index picks the round's bounds)
        match i % 4 {
            0 => affine_step::<F, 8, 4, 16>(i, digits, &mut s, one, &invert),
            1 => affine_step::<F, 16, 16, 32>(i, digits, &mut s, one, &invert),
            2 => affine_step::<F, 32, 32, 64>(i, digits, &mut s, one, &invert),
            _ => affine_step::<F, 64, 64, 128>(i, digits, &mut s, one, &invert),
        }
        // (public) after a round of four windows, and after the last window
        if i % 4 == 3 || i + 1 == windows {
            for (x, y) in s.xs.iter_mut().zip(s.ys.iter_mut()) {
                *x = x.reduce(&one);
                *y = y.reduce(&one);
            }
        }
    }
    for v in [
        &mut s.x2s,
        &mut s.y2s,
        &mut s.nums,
        &mut s.dens,
        &mut s.prefix,
    ] {
        v.zeroize();
    }
    idxs.zeroize();
    raw.zeroize();
    (s.xs, s.ys, s.infinite)
}

/// The per-lane state of [`affine_batch_loop`]: the accumulators, the window's entries and
/// lambda's parts.
struct Lanes<F> {
    xs: Vec<F>,
    ys: Vec<F>,
    infinite: Vec<Choice>,
    x2s: Vec<F>,
    y2s: Vec<F>,
    nums: Vec<F>,
    dens: Vec<F>,
    prefix: Vec<F>,
}

/// One window of [`affine_batch_loop`] with the round's subtraction bounds `K1` (for y1),
/// `K2` (for x1) and `K3` (for x3); see there.
#[inline(always)]
fn affine_step<F: LoopField, const K1: u64, const K2: u64, const K3: u64>(
    i: usize,
    digits: &[Vec<(u64, Choice)>],
    s: &mut Lanes<F>,
    one: F,
    invert: &impl Fn(&F) -> F,
) {
    let n = s.xs.len();
    // lambda's numerator and denominator; a lane that adds nothing real (zero digit or
    // identity accumulator) divides by one.
    for (l, d) in digits.iter().enumerate().take(n) {
        let real = !d[i].0.ct_eq(&0) & !s.infinite[l];
        s.nums[l] = s.y2s[l].sub_k::<K1>(&s.ys[l]);
        s.dens[l] = F::select(&one, &s.x2s[l].sub_k::<K2>(&s.xs[l]), real);
    }
    // Montgomery's trick: one inversion for the window.
    s.prefix.clear();
    let mut product = one;
    for den in s.dens.iter() {
        s.prefix.push(product);
        product = product.mul(den);
    }
    let mut inv = invert(&product);
    for (d, p) in s.dens.iter_mut().zip(s.prefix.iter()).rev() {
        // inv = 1 / (d_0 ... d_j); p = d_0 ... d_(j-1)
        let d_inv = inv.mul(p);
        inv = inv.mul(d);
        *d = d_inv;
    }
    inv.zeroize();
    product.zeroize();
    for (l, d) in digits.iter().enumerate().take(n) {
        let (x1, y1, x2, y2) = (s.xs[l], s.ys[l], s.x2s[l], s.y2s[l]);
        let lambda = s.nums[l].mul(&s.dens[l]);
        let x3 = lambda.square().sub_k::<K2>(&x1).sub_k::<4>(&x2);
        let y3 = lambda.mul(&x1.sub_k::<K3>(&x3)).sub_k::<K1>(&y1);
        let (abs, _) = d[i];
        let nonzero = !abs.ct_eq(&0);
        // A non-zero digit: the sum, or the entry itself on the identity.
        let x_new = F::select(&x3, &x2, s.infinite[l]);
        let y_new = F::select(&y3, &y2, s.infinite[l]);
        s.xs[l] = F::select(&x1, &x_new, nonzero);
        s.ys[l] = F::select(&y1, &y_new, nonzero);
        s.infinite[l] &= !nonzero;
    }
}
