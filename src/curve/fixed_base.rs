//! Fixed-base scalar multiplication with a precomputed table.
//!
//! For a base point B the table holds `[j * 64^i] B` in affine coordinates for every 6-bit
//! window i (171 of them, covering 1026 bits) and j = 1..32. The scalar is recoded into signed
//! digits in [-32, 31] (branch-free carries), so `[k]B` is one mixed addition per window and no
//! doubling: 171 additions (about 1 900 field multiplications) instead of 1 022 doublings and
//! hundreds of additions. The constant-time variant reads all 32 entries of every window (the
//! masked lookup of `crate::ct::lookup`, AVX-512 where the CPU has it) and negates the
//! selected one by a masked select; the variable-time one (public scalars only) indexes
//! directly and skips zero digits.
//!
//! A table takes 171 x 32 x 256 octets (about 1.4 MB) and costs about 5 500 point additions and
//! one inversion to build; the table of the generator P is built once per process on first use.
//! (Measured against 4-bit unsigned windows, 256 additions and 15 entries per window: the
//! signed 6-bit windows need a third fewer additions for a slightly longer scan.)
//!
//! Wide tables (8-bit windows: 129 windows x 128 entries, about 4 MB, about 16 500 additions
//! to build) serve batches ([`FixedBaseTable::mul_many`]): 129 additions per scalar instead of
//! 171, and the four times longer scans are shared by the batch.

use std::sync::OnceLock;

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroize;

use super::{AffinePoint, Jacobian, ProjectivePoint};
use crate::ct::{lookup, lookup_many};
use crate::field::backend::{Backend, Job, Portable, TableForm, dispatch};
use crate::field::kernel::{LIMBS, Limbs};
use crate::field::{Fp, Fq, LoopField};

mod affine_batch;
use affine_batch::AffineBatch;
#[cfg(test)]
use affine_batch::affine_batch_loop;

/// Window width in bits of the default tables.
const W: usize = 6;

/// Window width of the wide tables for batches ([`FixedBaseTable::generator_wide`]): a quarter
/// fewer additions than 6-bit windows, four times the entries per window (4 MB a table), which
/// pays off only when one pass over the table serves several scalars.
const W_WIDE: usize = 8;

/// Number of w-bit windows: enough for a scalar below 2^1024 plus the carry out of the signed
/// recoding (171 for w = 6, 129 for w = 8).
const fn windows(w: usize) -> usize {
    (LIMBS * 64 + 1).div_ceil(w)
}

/// `[j * 2^(w i)] B` for every w-bit window i and j in 1..=2^(w-1), affine (never the identity
/// for B in the order-q subgroup: `j * 2^(w i)` is never a multiple of the prime q).
#[derive(Clone)]
pub struct FixedBaseTable {
    /// Window width in bits (public).
    w: usize,
    /// The windows one after the other, `2^(w-1)` entries each; each entry is `x || y` as
    /// limbs (in `form`), the layout of the constant-time lookup.
    entries: Vec<Entry>,
    /// How the entries store F_p values: the Montgomery form of [`Fp`], or for the wide
    /// tables on IFMA CPUs the radix-2^52 backend's form, which the batched affine loop reads
    /// without a conversion (public).
    form: TableForm,
}

/// A table entry: the limbs of x, then those of y.
type Entry = [u64; 2 * LIMBS];

/// The fixed-base table of the generator P stored for the radix-2^52 backend (entries as
/// `a 2^1040 mod p`, so a lookup is re-cut into digits without a multiplication), for the
/// single constant-time multiplications of key generation and RSK issue. Built on first use on
/// CPUs with AVX-512 IFMA (1.4 MB, besides the ordinary table); elsewhere it is the ordinary
/// table. Only [`Self::mul`] reads it.
pub struct GeneratorTable52 {
    table: FixedBaseTable,
    /// The form of the entries (the radix-2^52 storage form where the CPU has IFMA).
    form: TableForm,
}

impl core::fmt::Debug for GeneratorTable52 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("GeneratorTable52")
            .field("form", &self.form)
            .finish_non_exhaustive()
    }
}

impl GeneratorTable52 {
    /// The process-wide table.
    pub fn get() -> &'static Self {
        static TABLE: OnceLock<GeneratorTable52> = OnceLock::new();
        TABLE.get_or_init(|| {
            let mut table = FixedBaseTable::generator().clone();
            let form = TableForm::current();
            table.store_in(form);
            GeneratorTable52 { table, form }
        })
    }

    /// `[k]P` for a secret scalar, in constant time: [`FixedBaseTable::mul`] on this table.
    pub fn mul(&self, k: &Fq) -> ProjectivePoint {
        self.table.mul_with(k, self.form)
    }
}

/// Affine coordinates without an identity flag (table entries are never the identity).
#[derive(Clone, Copy, Default, Zeroize)]
struct AffineCoords {
    x: Fp,
    y: Fp,
}

impl AffineCoords {
    fn to_entry(self) -> Entry {
        let mut e = [0u64; 2 * LIMBS];
        e[..LIMBS].copy_from_slice(&self.x.0);
        e[LIMBS..].copy_from_slice(&self.y.0);
        e
    }

    fn from_entry(e: &Entry) -> Self {
        let (mut x, mut y) = ([0u64; LIMBS], [0u64; LIMBS]);
        x.copy_from_slice(&e[..LIMBS]);
        y.copy_from_slice(&e[LIMBS..]);
        Self { x: Fp(x), y: Fp(y) }
    }
}

/// The signed w-bit digits of a scalar below 2^1024, least significant first: `k = sum d_i
/// 2^(w i)` with every `d_i` in [-2^(w-1), 2^(w-1) - 1]. Branch-free (the carries are
/// arithmetic; the width is public), so it may be used on secret scalars; each digit is
/// returned as (|d|, d < 0).
fn signed_digits(k: &Limbs, w: usize) -> Vec<(u64, Choice)> {
    crate::ct::signed_digits(k, w, windows(w))
}

impl Drop for FixedBaseTable {
    fn drop(&mut self) {
        // Tables of secret-derived points (a recipient's [b]P + Z is public, but callers may
        // build tables of secret points) are wiped.
        self.entries.zeroize();
    }
}

impl core::fmt::Debug for FixedBaseTable {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FixedBaseTable").finish_non_exhaustive()
    }
}

impl FixedBaseTable {
    /// Builds the table of `base`, which must be a point of the order-q subgroup other than
    /// the identity. Constant time in `base`.
    pub fn new(base: &AffinePoint) -> Self {
        Self::with_width(base, W)
    }

    /// The wide table of `base` (8-bit windows, 4 MB) for batches ([`Self::mul_many`]),
    /// stored in the form that the backend of this CPU reads directly (the radix-2^52 form on
    /// IFMA CPUs: `Self::mul_many_affine` then loads entries without a multiplication; the
    /// other readers convert).
    pub(crate) fn new_wide(base: &AffinePoint) -> Self {
        let mut table = Self::with_width(base, W_WIDE);
        table.store_in(TableForm::current());
        table
    }

    /// Re-stores the (Montgomery form) entries in `form`.
    fn store_in(&mut self, form: TableForm) {
        if form != self.form {
            for e in &mut self.entries {
                let mut c = AffineCoords::from_entry(e);
                e[..LIMBS].copy_from_slice(&form.store(&c.x));
                e[LIMBS..].copy_from_slice(&form.store(&c.y));
                c.zeroize();
            }
            self.form = form;
        }
    }

    /// An entry's coordinates as [`Fp`] values (a multiplication each unless the table is in
    /// the Montgomery form; the form is public).
    #[inline]
    fn coords(&self, e: &Entry) -> AffineCoords {
        let c = AffineCoords::from_entry(e);
        match self.form {
            TableForm::Montgomery => c,
            form => AffineCoords {
                x: form.to_fp(&c.x.0),
                y: form.to_fp(&c.y.0),
            },
        }
    }

    /// [`Self::new`] with w-bit windows (w in 2..=10, public).
    pub(crate) fn with_width(base: &AffinePoint, w: usize) -> Self {
        let digits = 1 << (w - 1);
        let mut proj = Vec::with_capacity(windows(w) * digits);
        let mut b = ProjectivePoint::from(*base);
        for _ in 0..windows(w) {
            let mut acc = b;
            proj.push(acc);
            for _ in 1..digits {
                acc = acc.add(&b);
                proj.push(acc);
            }
            // next window base: 2^w b = 2 (2^(w-1) b)
            b = acc.double();
        }
        let entries = batch_to_affine(&proj)
            .into_iter()
            .map(AffineCoords::to_entry)
            .collect();
        Self {
            w,
            entries,
            form: TableForm::Montgomery,
        }
    }

    /// The windows of the table, `2^(w-1)` entries each.
    fn windows(&self) -> core::slice::Chunks<'_, Entry> {
        self.entries.chunks(1 << (self.w - 1))
    }

    /// `[k]B` for a secret scalar, in constant time (every entry of every window is read).
    ///
    /// The accumulator is in Jacobian coordinates and each window's entry is added by the
    /// incomplete mixed addition (8M + 3S and 7 additions, against 11M and 22 additions for
    /// the complete projective formula): as in the crate's batched `mul_many_affine`, a scalar above
    /// (q - 1) / 2 is replaced by q - k (the result negated at the end), which rules out the
    /// formula's exceptions `acc = +-entry`; an accumulator that is still the identity and a
    /// zero digit are resolved by selects.
    pub fn mul(&self, k: &Fq) -> ProjectivePoint {
        self.mul_with(k, self.form)
    }

    /// [`Self::mul`] for entries stored in `form` (the radix-2^52 storage form for
    /// [`GeneratorTable52`] on IFMA CPUs).
    fn mul_with(&self, k: &Fq, form: TableForm) -> ProjectivePoint {
        let mut limbs = k.to_canonical_limbs();
        let flip = exceeds_half_q(&limbs);
        let mut k2 = Fq::conditional_select(k, &k.neg(), flip);
        limbs = k2.to_canonical_limbs();
        let mut digits = signed_digits(&limbs, self.w);
        limbs.zeroize();
        k2.zeroize();
        let (x, y, z, infinite) = dispatch(FixedWindowMul {
            table: self,
            digits: &digits,
            form,
        });
        for d in &mut digits {
            d.0.zeroize();
            d.1 = Choice::from(0);
        }
        // Undo the flip.
        let y = Fp::conditional_select(&y, &y.neg(), flip);
        let p = Jacobian { x, y, z }.to_projective();
        ProjectivePoint::conditional_select(&p, &ProjectivePoint::IDENTITY, infinite)
    }

    /// `[k]B` for each of several secret scalars, in constant time: the same additions as
    /// [`Self::mul`] for each, but every window of the table is read once for the whole batch
    /// (`ct::lookup_many`), so a batch costs one pass over the table instead of one
    /// per scalar. For a sender encapsulating to many recipients (best with the wide tables).
    pub fn mul_many(&self, ks: &[Fq]) -> Vec<ProjectivePoint> {
        let mut digits: Vec<Vec<(u64, Choice)>> = ks
            .iter()
            .map(|k| {
                let mut limbs = k.to_canonical_limbs();
                let d = signed_digits(&limbs, self.w);
                limbs.zeroize();
                d
            })
            .collect();
        let mut accs = vec![ProjectivePoint::IDENTITY; ks.len()];
        let mut idxs = vec![0u64; ks.len()];
        let mut raw = vec![[0u64; 2 * LIMBS]; ks.len()];
        for (i, window) in self.windows().enumerate() {
            for (idx, d) in idxs.iter_mut().zip(&digits) {
                *idx = d[i].0;
            }
            lookup_many(window, 1, &idxs, &mut raw);
            for ((acc, r), d) in accs.iter_mut().zip(&raw).zip(&digits) {
                let (abs, neg) = d[i];
                let entry = self.coords(r);
                let y = Fp::conditional_select(&entry.y, &entry.y.neg(), neg);
                let sum = acc.add_mixed(&entry.x, &y);
                *acc = ProjectivePoint::conditional_select(acc, &sum, !abs.ct_eq(&0));
            }
        }
        idxs.zeroize();
        raw.zeroize();
        for d in digits.iter_mut().flatten() {
            d.0.zeroize();
            d.1 = Choice::from(0);
        }
        accs
    }

    /// `[k]B` for a public scalar given as little-endian limbs: variable time.
    pub fn mul_vartime(&self, k: &Limbs) -> ProjectivePoint {
        let mut acc = ProjectivePoint::IDENTITY;
        for (window, &(abs, neg)) in self.windows().zip(signed_digits(k, self.w).iter()) {
            if let Some(e) = usize::try_from(abs)
                .ok()
                .and_then(|d| d.checked_sub(1))
                .and_then(|d| window.get(d))
            {
                let e = self.coords(e);
                let y = if bool::from(neg) { e.y.neg() } else { e.y };
                acc = acc.add_mixed(&e.x, &y);
            }
        }
        acc
    }

    /// The table of the generator P, built on first use and shared by the whole process.
    pub fn generator() -> &'static Self {
        static TABLE: OnceLock<FixedBaseTable> = OnceLock::new();
        TABLE.get_or_init(|| Self::new(&AffinePoint::generator()))
    }

    /// The wide (8-bit windows, 4 MB) table of the generator P for batches
    /// ([`Self::mul_many`]), built on first use and shared by the whole process.
    pub fn generator_wide() -> &'static Self {
        static TABLE: OnceLock<FixedBaseTable> = OnceLock::new();
        TABLE.get_or_init(|| Self::new_wide(&AffinePoint::generator()))
    }
}

/// [`FixedBaseTable::mul`]'s window loop as a backend job: on radix-2^52 values a table entry
/// costs two conversions (multiplications) unless the table is stored for them, and the 11 of
/// each addition are cheaper by more.
struct FixedWindowMul<'a> {
    table: &'a FixedBaseTable,
    digits: &'a [(u64, Choice)],
    /// The form of the table's entries.
    form: TableForm,
}

impl Job for FixedWindowMul<'_> {
    type Output = (Fp, Fp, Fp, Choice);

    #[inline(always)]
    fn run<B: Backend>(self, b: B) -> Self::Output {
        let (one, zero) = (b.convert(&Fp::ONE), b.convert(&Fp::ZERO));
        let windows = self.table.windows();
        // One loop per (backend, table form): the entries' conversion is fixed per loop.
        let (x, y, z, infinite) = match self.form {
            form if form == B::FORM => jacobian_window_loop(windows, self.digits, one, zero, |e| {
                (b.load(&e.x.0), b.load(&e.y.0))
            }),
            TableForm::Montgomery => jacobian_window_loop(windows, self.digits, one, zero, |e| {
                (b.convert(&e.x), b.convert(&e.y))
            }),
            TableForm::Radix52 => jacobian_window_loop(windows, self.digits, one, zero, |e| {
                let f = TableForm::Radix52;
                (b.convert(&f.to_fp(&e.x.0)), b.convert(&f.to_fp(&e.y.0)))
            }),
        };
        (b.to_fp(&x), b.to_fp(&y), b.to_fp(&z), infinite)
    }
}

/// The window loop of [`FixedBaseTable::mul`] over a [`LoopField`]: one signed digit per
/// window, the entry read by a full masked scan and turned into field values by `load`,
/// added to the Jacobian accumulator by the incomplete mixed addition (exceptions excluded by
/// the caller's scalar flip). Returns `(X, Y, Z)` and whether every digit was zero.
#[inline(always)]
fn jacobian_window_loop<'a, F: LoopField>(
    windows: impl Iterator<Item = &'a [Entry]>,
    digits: &[(u64, Choice)],
    one: F,
    zero: F,
    load: impl Fn(&AffineCoords) -> (F, F),
) -> (F, F, F, Choice) {
    let (mut x, mut y, mut z) = (one, one, zero);
    let mut infinite = Choice::from(1);
    for (window, &(abs, neg)) in windows.zip(digits.iter()) {
        let mut raw = lookup(window, 1, abs);
        let mut entry = AffineCoords::from_entry(&raw);
        raw.zeroize();
        let (ex, mut ey) = load(&entry);
        entry.zeroize();
        // The entry's y (below 2p) negated: below 4p.
        let mut y2 = F::select(&ey, &zero.sub_k::<4>(&ey), neg);
        ey.zeroize();
        // valid for an accumulator other than the identity and +-(x2, y2)
        let Jacobian {
            x: x3,
            y: y3,
            z: z3,
        } = Jacobian { x, y, z }.add_affine(&ex, &y2);
        // A non-zero digit: the sum, or the entry itself on the identity.
        let nonzero = !abs.ct_eq(&0);
        let x_new = F::select(&x3, &ex, infinite);
        let y_new = F::select(&y3, &y2, infinite);
        let z_new = F::select(&z3, &one, infinite);
        x = F::select(&x, &x_new, nonzero);
        y = F::select(&y, &y_new, nonzero);
        z = F::select(&z, &z_new, nonzero);
        infinite &= !nonzero;
        y2.zeroize();
    }
    (x, y, z, infinite)
}

/// `(q - 1) / 2`, the largest scalar the affine batch multiplication uses as it is (larger
/// ones are replaced by `q - k`).
const HALF_Q: Limbs = {
    let mut h = Fq::MODULUS;
    let mut i = 0;
    while i < LIMBS {
        let hi = if i + 1 < LIMBS { h[i + 1] << 63 } else { 0 };
        h[i] = (h[i] >> 1) | hi;
        i += 1;
    }
    h
};

/// Whether `k > (q - 1) / 2`, in constant time (the borrow out of `(q - 1) / 2 - k`).
fn exceeds_half_q(k: &Limbs) -> Choice {
    let mut borrow = 0u64;
    for (h, l) in HALF_Q.iter().zip(k) {
        let (d, b1) = h.overflowing_sub(*l);
        let (_, b2) = d.overflowing_sub(borrow);
        borrow = u64::from(b1) | u64::from(b2);
    }
    #[allow(clippy::cast_possible_truncation)]
    Choice::from(borrow as u8)
}

impl FixedBaseTable {
    /// `[k]B` in affine coordinates for every scalar of every job `(table of B, scalars)`, in
    /// constant time, for large batches (a group manager's fan-out: the tables of P and Z with
    /// about a hundred recipients each).
    ///
    /// The same windows and lookups as [`Self::mul_many`], but each window's point is added by
    /// an *affine* addition, `lambda = (y2 - y1) / (x2 - x1)`, whose divisions are shared by
    /// every lane of the batch (Montgomery's trick: three multiplications per lane and one
    /// inversion per window), so a window costs about six multiplications per lane instead of
    /// eleven, and the result needs no conversion.
    ///
    /// The affine formula is incomplete; its exceptions cannot occur here. A scalar above
    /// (q - 1) / 2 is replaced by q - k (the result negated at the end), so k < q / 2 < 2^1021.
    /// Before window i the accumulator is `[A]B`, A the signed recoding's partial sum: either
    /// `0 <= A <= k` (no carry into window i) or `-2^(w i - 1) - 2^(w (i - 1)) <= A < 0`; the
    /// window adds `[D]B` with `|D| >= 2^(w i) > |A|`. `x2 = x1` would need `A = +-D mod q`.
    /// `A + D` is the next partial sum P, non-zero (|D| > |A|) and below q in absolute value
    /// (`|P| < 2^(w (i + 1))` below the top window, `P = k` after it). `A - D = 2A - P` is
    /// non-zero too, and below q: below the top window
    /// `|2A - P| < 2^(w i) + 2^(w (i - 1) + 1) + 2^(w (i + 1))`; at the top one `P = k`, and
    /// `|2A - k| <= k` when `A >= 0`, `|2A - k| < 2^(w i) + 2^(w (i - 1) + 1) + k` when
    /// `A < 0`. With `q > 2^1021` and the top window that is ever non-zero starting at bit 1020
    /// or lower, every bound is below q (the unit test checks them for both widths). What
    /// remains, an accumulator that is still the identity and a zero digit, is resolved by
    /// selects, and a lane in either state divides by one instead.
    pub(crate) fn mul_many_affine(jobs: &[(&FixedBaseTable, &[Fq])]) -> Vec<Vec<AffinePoint>> {
        let n: usize = jobs.iter().map(|(_, ks)| ks.len()).sum();
        // Per lane: the (possibly flipped) scalar's digits, the flip, the accumulator.
        let mut digits = Vec::with_capacity(n);
        let mut flips = Vec::with_capacity(n);
        for (table, ks) in jobs {
            for k in *ks {
                let mut limbs = k.to_canonical_limbs();
                let flip = exceeds_half_q(&limbs);
                let mut k2 = Fq::conditional_select(k, &k.neg(), flip);
                limbs = k2.to_canonical_limbs();
                digits.push(signed_digits(&limbs, table.w));
                flips.push(flip);
                limbs.zeroize();
                k2.zeroize();
            }
        }
        let windows = jobs.iter().map(|(t, _)| windows(t.w)).max().unwrap_or(0);
        for d in &mut digits {
            d.resize(windows, (0, Choice::from(0)));
        }
        let all_direct = jobs.iter().all(|(t, _)| t.form == TableForm::current());
        let batch = AffineBatch {
            jobs,
            digits: &digits,
            windows,
        };
        // On the radix-2^52 backend when every table is stored for it (the wide tables);
        // otherwise on `Fp`, whose products need no conversion of Montgomery-form entries.
        let (mut xs, mut ys, infinite) = if all_direct {
            dispatch(batch)
        } else {
            batch.run(Portable)
        };
        let mut out = Vec::with_capacity(jobs.len());
        let mut lane = 0;
        for (_, ks) in jobs {
            let mut points = Vec::with_capacity(ks.len());
            for _ in 0..ks.len() {
                let y = Fp::conditional_select(&ys[lane], &ys[lane].neg(), flips[lane]);
                let p = AffinePoint {
                    x: xs[lane],
                    y,
                    infinity: Choice::from(0),
                };
                points.push(AffinePoint::conditional_select(
                    &p,
                    &AffinePoint::identity(),
                    infinite[lane],
                ));
                lane += 1;
            }
            out.push(points);
        }
        xs.zeroize();
        ys.zeroize();
        for d in digits.iter_mut().flatten() {
            d.0.zeroize();
            d.1 = Choice::from(0);
        }
        out
    }
}

/// Highest bit position below which the windows of [`FixedBaseTable::mul_affine_many`] are
/// summed by the tree of affine additions: windows `i` with `w (i + 1) <= 1020`.
const TREE_BITS: usize = 1020;

/// A node of the addition tree: the affine sum of a range of windows, or the identity.
#[derive(Clone, Copy)]
struct Node {
    x: Fp,
    y: Fp,
    identity: Choice,
}

impl FixedBaseTable {
    /// `[k]B` in affine coordinates, in constant time, by a balanced tree of affine additions:
    /// the windows' entries summed pairwise, level by level, with one inversion per level
    /// (169 additions of about 6 multiplications and 8 inversions for the 171 windows of a
    /// 6-bit table, against 171 Jacobian mixed additions of 11 and a final inversion in
    /// [`Self::mul`]). The argument that the affine formula's exceptions cannot occur is in
    /// the crate's `mul_affine_many`.
    pub fn mul_affine(&self, k: &Fq) -> AffinePoint {
        Self::mul_affine_many(&[(self, k)])
            .pop()
            .unwrap_or_else(AffinePoint::identity)
    }

    /// `[k]B` in affine coordinates for each `(table of B, k)`, in constant time.
    ///
    /// The windows' entries are summed pairwise, level by level, as a balanced tree of affine
    /// additions (about 6 multiplications each, against 11 for a Jacobian mixed addition), the
    /// divisions of one level shared by every addition of every job (Montgomery's trick): 169
    /// additions and 8 inversions for the 171 windows of a 6-bit table, instead of 171 mixed
    /// additions, and no final conversion. The window(s) from bit 1020 up are added at the end by
    /// the complete projective formula, and the results converted with one shared inversion.
    ///
    /// Why the affine formula's exceptions cannot occur: a node covering windows `[lo, hi)` is
    /// `[V]B` with `V = P_hi - P_lo`, the difference of two partial sums of the signed
    /// recoding, which satisfy `|P_j| < 2^(w j)`; a node is flagged as the identity exactly
    /// when all its digits are zero (then `V = 0`; otherwise `V` is a non-zero multiple of
    /// `2^(w lo)` bounded by `2^(w hi) + 2^(w lo) < q`, so not 0 mod q). Two adjacent nodes
    /// `[lo, mid)` and `[mid, hi)`, neither the identity, have `|V_lo| < 2^(w mid) <= |V_hi|`,
    /// so `V_lo != +-V_hi` as integers, and `|V_lo| + |V_hi| < 2^(w mid + 1) + 2^(w hi) < q`
    /// (every `w hi <= 1020`, `q > 2^1021`), so not mod q either: `x1 != x2`. An identity
    /// operand is resolved by selects, its lane dividing by one.
    pub(crate) fn mul_affine_many(jobs: &[(&FixedBaseTable, &Fq)]) -> Vec<AffinePoint> {
        ProjectivePoint::batch_to_affine(&Self::tree_projective(jobs))
    }

    /// `sum [k]B` over the jobs, in affine coordinates, in constant time: the trees of
    /// [`Self::mul_affine_many`] (sharing their inversions), the results added by the complete
    /// formula and converted once. For `[r b]P + [r]Z` of an encapsulation.
    pub(crate) fn mul_affine_sum(jobs: &[(&FixedBaseTable, &Fq)]) -> AffinePoint {
        Self::tree_projective(jobs)
            .iter()
            .fold(ProjectivePoint::IDENTITY, |acc, p| acc.add(p))
            .to_affine()
    }

    /// The trees of [`Self::mul_affine_many`] and the complete additions of the top windows,
    /// before the conversion to affine coordinates.
    pub(crate) fn tree_projective(jobs: &[(&FixedBaseTable, &Fq)]) -> Vec<ProjectivePoint> {
        // Level 0: every window's entry; the windows from bit TREE_BITS up kept apart.
        let mut lanes: Vec<Vec<Node>> = Vec::with_capacity(jobs.len());
        let mut tops: Vec<Vec<Node>> = Vec::with_capacity(jobs.len());
        for (table, k) in jobs {
            let mut limbs = k.to_canonical_limbs();
            let mut digits = signed_digits(&limbs, table.w);
            limbs.zeroize();
            let tree_windows = TREE_BITS / table.w;
            let mut nodes = Vec::with_capacity(tree_windows);
            let mut top = Vec::new();
            for (i, (window, &(abs, neg))) in table.windows().zip(digits.iter()).enumerate() {
                let mut raw = lookup(window, 1, abs);
                let e = table.coords(&raw);
                raw.zeroize();
                let node = Node {
                    x: e.x,
                    y: Fp::conditional_select(&e.y, &e.y.neg(), neg),
                    identity: abs.ct_eq(&0),
                };
                // (public: the window index)
                if i < tree_windows {
                    nodes.push(node);
                } else {
                    top.push(node);
                }
            }
            for d in &mut digits {
                d.0.zeroize();
                d.1 = Choice::from(0);
            }
            lanes.push(nodes);
            tops.push(top);
        }
        // The levels: adjacent pairs of every lane, one inversion per level.
        let mut dens = Vec::new();
        let mut nums = Vec::new();
        loop {
            dens.clear();
            nums.clear();
            for nodes in &lanes {
                for pair in nodes.chunks_exact(2) {
                    let (a, b) = (&pair[0], &pair[1]);
                    let real = !a.identity & !b.identity;
                    dens.push(Fp::conditional_select(&Fp::ONE, &b.x.sub(&a.x), real));
                    nums.push(b.y.sub(&a.y));
                }
            }
            if dens.is_empty() {
                break;
            }
            // dens[j] becomes 1 / dens[j]
            Fp::batch_invert(&mut dens);
            let mut j = 0;
            for nodes in &mut lanes {
                let mut next = Vec::with_capacity(nodes.len().div_ceil(2));
                for pair in nodes.chunks(2) {
                    let [a, b] = pair else {
                        // an odd last node (the top range) moves up as it is
                        next.extend_from_slice(pair);
                        continue;
                    };
                    let lambda = nums[j].mul(&dens[j]);
                    j += 1;
                    let x3 = lambda.square().sub(&a.x).sub(&b.x);
                    let y3 = lambda.mul(&a.x.sub(&x3)).sub(&a.y);
                    let mut sum = Node {
                        x: x3,
                        y: y3,
                        identity: a.identity & b.identity,
                    };
                    // An identity operand: the other one.
                    sum.x = Fp::conditional_select(&sum.x, &a.x, b.identity);
                    sum.y = Fp::conditional_select(&sum.y, &a.y, b.identity);
                    sum.x = Fp::conditional_select(&sum.x, &b.x, a.identity);
                    sum.y = Fp::conditional_select(&sum.y, &b.y, a.identity);
                    next.push(sum);
                }
                nodes.zeroize_nodes();
                *nodes = next;
            }
        }
        // The top windows by the complete formula, then one shared conversion.
        let mut points = Vec::with_capacity(jobs.len());
        for (nodes, top) in lanes.iter_mut().zip(&mut tops) {
            let mut acc = match nodes.first() {
                Some(n) => ProjectivePoint::conditional_select(
                    &ProjectivePoint {
                        x: n.x,
                        y: n.y,
                        z: Fp::ONE,
                    },
                    &ProjectivePoint::IDENTITY,
                    n.identity,
                ),
                None => ProjectivePoint::IDENTITY,
            };
            for e in top.iter() {
                let sum = acc.add_mixed(&e.x, &e.y);
                acc = ProjectivePoint::conditional_select(&sum, &acc, e.identity);
            }
            nodes.zeroize_nodes();
            top.zeroize_nodes();
            points.push(acc);
        }
        dens.zeroize();
        nums.zeroize();
        points
    }
}

/// Wiping a list of tree nodes (secret-derived partial sums).
trait ZeroizeNodes {
    fn zeroize_nodes(&mut self);
}

impl ZeroizeNodes for Vec<Node> {
    fn zeroize_nodes(&mut self) {
        for n in self.iter_mut() {
            n.x.zeroize();
            n.y.zeroize();
            n.identity = Choice::from(0);
        }
    }
}

/// Converts projective points (none the identity) to affine with one inversion (Montgomery's
/// trick). Constant time.
fn batch_to_affine(points: &[ProjectivePoint]) -> Vec<AffineCoords> {
    let mut prefix = Vec::with_capacity(points.len());
    let mut acc = Fp::ONE;
    for p in points {
        prefix.push(acc);
        acc = acc.mul(&p.z);
    }
    let mut inv = acc.invert().unwrap_or(Fp::ZERO);
    let mut out = vec![AffineCoords::default(); points.len()];
    for i in (0..points.len()).rev() {
        // inv = 1 / (z_0 ... z_i); prefix[i] = z_0 ... z_(i-1)
        let zinv = inv.mul(&prefix[i]);
        inv = inv.mul(&points[i].z);
        out[i] = AffineCoords {
            x: points[i].x.mul(&zinv),
            y: points[i].y.mul(&zinv),
        };
    }
    out
}

impl ProjectivePoint {
    /// `self + (x, y)` for an affine point that is not the identity: complete mixed addition
    /// (RCB algorithm 5 with b = 0), 11 multiplications.
    pub(crate) fn add_mixed(&self, x2: &Fp, y2: &Fp) -> Self {
        let xx = self.x.mul(x2);
        let yy = self.y.mul(y2);
        let xy = self.x.add(&self.y).mul(&x2.add(y2)).sub(&xx.add(&yy));
        let yz = y2.mul(&self.z).add(&self.y);
        let xz = x2.mul(&self.z).add(&self.x);
        let t = xz.double().add(&xz);
        let ym = yy.sub(&t);
        let yp = yy.add(&t);
        let z3 = self.z.double().add(&self.z);
        let s = z3.add(&xx);
        let u = s.double().add(&s).neg();
        let w = xx.double().add(&xx).sub(&z3);
        Self {
            x: yp.mul(&xy).sub(&yz.mul(&u)),
            y: yp.mul(&ym).add(&w.mul(&u)),
            z: ym.mul(&yz).add(&xy.mul(&w)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_bigint::BigInt;

    /// The bound annotations of the Jacobian mixed addition hold through the whole fixed-base
    /// window loop on lazily reduced values (entries below 2p, as converted).
    #[test]
    fn jacobian_window_loop_keeps_its_lazy_bounds() {
        // The radix-2^52 table gives the ordinary table's results.
        for k in [1u64, 2, 33, u64::MAX] {
            let k = Fq::from_u64(k)
                .mul(&Fq::from_u64(0x9E37_79B9_7F4A_7C15))
                .neg();
            assert_eq!(
                GeneratorTable52::get().mul(&k),
                FixedBaseTable::generator().mul(&k)
            );
            assert_eq!(
                GeneratorTable52::get().mul(&k),
                ProjectivePoint::generator().mul(&k)
            );
        }
        use crate::field::Bound;
        let table = FixedBaseTable::generator();
        let digits = vec![(1u64, Choice::from(1)); table.entries.len() >> (table.w - 1)];
        let (x, y, z, _) =
            jacobian_window_loop(table.windows(), &digits, Bound(2), Bound(0), |_| {
                (Bound(2), Bound(2))
            });
        assert!(x.0 <= 34 && y.0 <= 34 && z.0 <= 10, "{x:?} {y:?} {z:?}");
    }

    /// The bound annotations of the batched affine additions hold through every window of
    /// the wide and the 6-bit tables on lazily reduced values.
    #[test]
    fn affine_batch_loop_keeps_its_lazy_bounds() {
        use crate::field::Bound;
        for table in [
            FixedBaseTable::generator(),
            FixedBaseTable::generator_wide(),
        ] {
            let windows = windows(table.w);
            let digits = vec![vec![(1u64, Choice::from(1)); windows]; 3];
            let ks = [Fq::ONE; 3];
            let (xs, ys, _) = affine_batch_loop(
                &[(table, &ks[..])],
                &digits,
                windows,
                Bound(2),
                Bound(0),
                |_, _| (Bound(2), Bound(2)),
                |_| Bound(2),
            );
            for (x, y) in xs.iter().zip(&ys) {
                assert!(x.0 <= 2 && y.0 <= 2, "{x:?} {y:?}");
            }
        }
    }

    fn value(digits: &[(u64, Choice)], w: usize) -> BigInt {
        digits
            .iter()
            .rev()
            .fold(BigInt::from(0), |acc, &(abs, neg)| {
                let d = BigInt::from(abs);
                (acc << w) + if bool::from(neg) { -d } else { d }
            })
    }

    fn to_big(k: &Limbs) -> BigInt {
        k.iter()
            .rev()
            .fold(BigInt::from(0), |acc, &l| (acc << 64) + BigInt::from(l))
    }

    #[test]
    fn tree_exceptions_are_excluded() {
        // The argument of `mul_affine_many`, on the actual tree: every combination of adjacent
        // ranges [lo, mid) + [mid, hi) has 2^(w mid + 1) + 2^(w hi) < q and
        // 2^(w hi) + 2^(w lo) < q, and every leaf |d| 2^(w i) <= 2^(w i + w - 1) < q.
        let q = to_big(&Fq::MODULUS);
        let one = || BigInt::from(1);
        for w in [W, W_WIDE] {
            let t = TREE_BITS / w;
            assert!(w * t <= TREE_BITS && w * (t + 1) > TREE_BITS);
            let mut nodes: Vec<(usize, usize)> = (0..t).map(|i| (i, i + 1)).collect();
            for &(lo, _) in &nodes {
                assert!((one() << (w * lo + w - 1)) < q);
            }
            let mut combinations = 0;
            while nodes.len() > 1 {
                let mut next = Vec::new();
                for pair in nodes.chunks(2) {
                    if let [(lo, mid), (mid2, hi)] = *pair {
                        assert_eq!(mid, mid2);
                        assert!((one() << (w * mid + 1)) + (one() << (w * hi)) < q);
                        assert!((one() << (w * hi)) + (one() << (w * lo)) < q);
                        assert!(w * hi <= TREE_BITS);
                        combinations += 1;
                        next.push((lo, hi));
                    } else {
                        next.extend_from_slice(pair);
                    }
                }
                nodes = next;
            }
            assert_eq!(combinations, t - 1);
            assert_eq!(nodes, vec![(0, t)]);
        }
    }

    #[test]
    fn affine_batch_exceptions_are_excluded() {
        // The argument of `mul_many_affine` (and of the Jacobian `mul`): q > 2^1021 and, for
        // every window i >= 1 that can be non-zero for k <= (q - 1) / 2,
        // 2^(w i) + 2^(w (i - 1) + 1) + |P| < q, with |P| < 2^(w (i + 1)) below the top
        // window and P = k <= (q - 1) / 2 at the top one (which carries out nothing).
        let q = to_big(&Fq::MODULUS);
        let half = to_big(&HALF_Q);
        assert_eq!(&half * 2 + 1, q);
        assert!(q > BigInt::from(1) << 1021);
        let one = || BigInt::from(1);
        for w in [W, W_WIDE] {
            // The highest window holding a bit of a scalar below 2^1021; its digit is at most
            // 2^(1021 - w top) <= 2^(w-1) - 1 plus a carry, so it carries out nothing.
            let top = 1020 / w;
            assert!(1021 - w * top < w - 1);
            for i in 1..=top {
                let p = if i == top {
                    half.clone()
                } else {
                    one() << (w * (i + 1))
                };
                let a2 = (one() << (w * i)) + (one() << (w * (i - 1) + 1));
                assert!(a2 + p < q, "w = {w}, window {i}");
                // |A| < |D|
                assert!((one() << (w * i - 1)) + (one() << (w * (i - 1))) < one() << (w * i));
            }
        }
        // and the flip
        let mut k = HALF_Q;
        assert!(!bool::from(exceeds_half_q(&k)));
        k[0] += 1;
        assert!(bool::from(exceeds_half_q(&k)));
        assert!(!bool::from(exceeds_half_q(&[0; LIMBS])));
        assert!(bool::from(exceeds_half_q(&Fq::MODULUS)));
    }

    #[test]
    fn affine_batches_agree_with_single_multiplications() {
        let from_big = |v: &BigInt| {
            let q = to_big(&Fq::MODULUS);
            let v = ((v % &q) + &q) % &q;
            let (_, bytes) = v.to_bytes_be();
            let mut buf = [0u8; 128];
            buf[128 - bytes.len()..].copy_from_slice(&bytes);
            Fq::from_bytes_reduced(&buf)
        };
        let q = to_big(&Fq::MODULUS);
        let half = to_big(&HALF_Q);
        let mut ks: Vec<BigInt> = vec![
            BigInt::from(0),
            BigInt::from(1),
            BigInt::from(2),
            &q - 1,
            &q - 2,
            half.clone(),
            &half + 1,
            &half - 1,
            &half + 2,
            BigInt::from(1) << 1020,
            (BigInt::from(1) << 1021) - 1,
            (BigInt::from(1) << 1021) + 1,
            &q - (BigInt::from(1) << 1020),
        ];
        for e in (0..1021).step_by(37) {
            ks.push(BigInt::from(1) << e);
            ks.push((BigInt::from(1) << e) - 1);
            ks.push(&q - (BigInt::from(1) << e));
        }
        // digits of +-2^(w-1) everywhere (long carry chains)
        let mut pattern = BigInt::from(0);
        for i in 0..170 {
            pattern += BigInt::from(0x20) << (6 * i);
        }
        ks.push(pattern.clone() % &q);
        ks.push(&q - pattern % &q);
        let mut x = 0x0123_4567_89ab_cdefu64;
        for _ in 0..12 {
            let mut v = BigInt::from(0);
            for _ in 0..16 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                v = (v << 64) + BigInt::from(x);
            }
            ks.push(v % &q);
        }
        let scalars: Vec<Fq> = ks.iter().map(from_big).collect();
        let narrow = FixedBaseTable::generator();
        let wide = FixedBaseTable::generator_wide();
        let other = FixedBaseTable::new(&narrow.mul(&Fq::from_u64(77)).to_affine());
        let (a, b) = scalars.split_at(scalars.len() / 2);
        for jobs in [
            vec![(narrow, &scalars[..])],
            vec![(wide, a), (wide, b)],
            vec![(narrow, a), (&other, b)],
            vec![(wide, b), (narrow, a)],
            vec![(narrow, &scalars[..0]), (wide, &scalars[..1])],
        ] {
            // the tree, one job per scalar (all sharing the inversions)
            let singles: Vec<(&FixedBaseTable, &Fq)> = jobs
                .iter()
                .flat_map(|(t, ks)| ks.iter().map(move |k| (*t, k)))
                .collect();
            let tree = FixedBaseTable::mul_affine_many(&singles);
            assert_eq!(tree.len(), singles.len());
            for ((table, k), p) in singles.iter().zip(&tree) {
                assert_eq!(*p, table.mul(k).to_affine());
            }
            let got = FixedBaseTable::mul_many_affine(&jobs);
            // (and the single multiplication against the complete variable-base one)
            for (table, ks) in &jobs {
                let base = table.mul(&Fq::ONE);
                for k in *ks {
                    assert_eq!(table.mul(k), base.mul(k));
                }
            }
            assert_eq!(got.len(), jobs.len());
            for ((table, ks), points) in jobs.iter().zip(&got) {
                assert_eq!(points.len(), ks.len());
                for (k, p) in ks.iter().zip(points) {
                    assert_eq!(*p, table.mul(k).to_affine());
                }
            }
        }
    }

    #[test]
    fn signed_digits_recode_the_scalar() {
        let mut cases: Vec<Limbs> = vec![
            [0; LIMBS],
            [u64::MAX; LIMBS],
            [0x2020_2020_2020_2020; LIMBS],
        ];
        cases[1][LIMBS - 1] = u64::MAX >> 1; // 2^1023 - 1
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..200 {
            let mut k = [0u64; LIMBS];
            for l in &mut k {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *l = x;
            }
            k[LIMBS - 1] >>= 1;
            cases.push(k);
        }
        // Fq's modulus minus one: the largest scalar.
        let mut q1 = Fq::MODULUS;
        q1[0] -= 1;
        cases.push(q1);
        // and the largest 1024-bit value (for the public multiplication's limbs)
        cases.push([u64::MAX; LIMBS]);
        for w in [W, W_WIDE] {
            let half = 1u64 << (w - 1);
            for k in &cases {
                let digits = signed_digits(k, w);
                assert_eq!(value(&digits, w), to_big(k), "w = {w}");
                for &(abs, neg) in &digits {
                    assert!(abs <= half);
                    assert!(abs != half || bool::from(neg), "digit +2^(w-1)");
                    assert!(abs != 0 || !bool::from(neg), "digit -0");
                }
            }
        }
    }
}
