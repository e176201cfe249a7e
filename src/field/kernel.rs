//! The limb kernel: 1024-bit Montgomery arithmetic on sixteen 64-bit limbs.
//!
//! Every F_p and F_q operation on 64-bit limbs ends here (the radix-2^52 values of the long
//! loops, `super::backend`, have their own operations in `super::ifma`). Everything in this file runs in time independent of the *values* of its operands; all
//! conditional steps are done with `subtle` selects, never with branches. Loop bounds are the
//! fixed limb count.
//!
//! Representation: little-endian limbs (`limbs[0]` is least significant). Montgomery form with
//! `R = 2^1024`.
//!
//! The field types call the Montgomery multiplication through [`Modulus::mul`] and
//! [`Modulus::sqr`], which pick the fastest backend once per process: on x86_64 CPUs with
//! AVX-512 IFMA the vector kernel of [`super::ifma`], elsewhere the portable kernel below.
//! Both return the same fully reduced limbs.

#![allow(clippy::needless_range_loop)] // index loops mirror the limb algorithms

use subtle::{Choice, ConditionallySelectable};

/// Counters of Montgomery multiplications and squarings on the current thread, compiled in
/// only with the `op-count` feature (for measuring algorithms in field operations).
#[cfg(feature = "op-count")]
pub mod op_count {
    use std::cell::Cell;

    thread_local! {
        static MULS: Cell<u64> = const { Cell::new(0) };
        static SQRS: Cell<u64> = const { Cell::new(0) };
    }

    pub(crate) fn bump_mul() {
        MULS.with(|c| c.set(c.get() + 1));
    }

    pub(crate) fn bump_sqr() {
        SQRS.with(|c| c.set(c.get() + 1));
    }

    /// Resets both counters of this thread to zero.
    pub fn reset() {
        MULS.with(|c| c.set(0));
        SQRS.with(|c| c.set(0));
    }

    /// `(multiplications, squarings)` done on this thread since the last reset.
    pub fn get() -> (u64, u64) {
        (MULS.with(Cell::get), SQRS.with(Cell::get))
    }
}

/// Number of 64-bit limbs of a 1024-bit number.
pub(crate) const LIMBS: usize = 16;

/// A 1024-bit number as little-endian 64-bit limbs.
pub(crate) type Limbs = [u64; LIMBS];

/// `a + b + carry`, returning (sum, carry out).
///
/// Written with two `overflowing_add` and a `bool` carry: LLVM turns a chain of these into
/// consecutive `adc` instructions (the `u128` form costs `add, adc, setb, movzx` per limb).
#[inline(always)]
const fn adc(a: u64, b: u64, carry: bool) -> (u64, bool) {
    let (s, c1) = a.overflowing_add(b);
    let (s, c2) = s.overflowing_add(carry as u64);
    (s, c1 | c2)
}

/// `a - b - borrow`, returning (difference, borrow out); compiles to `sbb` chains.
#[inline(always)]
const fn sbb(a: u64, b: u64, borrow: bool) -> (u64, bool) {
    let (d, b1) = a.overflowing_sub(b);
    let (d, b2) = d.overflowing_sub(borrow as u64);
    (d, b1 | b2)
}

/// `a + b * c + carry`, returning (low, high). Cannot overflow 128 bits.
#[inline(always)]
#[allow(clippy::cast_possible_truncation)]
const fn mac(a: u64, b: u64, c: u64, carry: u64) -> (u64, u64) {
    let t = (a as u128) + (b as u128) * (c as u128) + (carry as u128);
    (t as u64, (t >> 64) as u64)
}

/// A modulus with the constants of every backend, built at compile time.
pub(crate) struct Modulus {
    /// The modulus.
    pub(crate) m: Limbs,
    /// `-m^-1 mod 2^64`.
    pub(crate) minv: u64,
    /// `2 m^2` (2048 bits for the 1024-bit p; wraps modulo 2^2048 for larger moduli, which the
    /// F_p^2 product, the only user, never has), the offset that keeps the lazy Karatsuba
    /// product's imaginary part non-negative.
    two_m_sq: [u64; 2 * LIMBS],
    /// Constants of the IFMA kernel.
    #[cfg(target_arch = "x86_64")]
    pub(crate) ifma: super::ifma::Consts,
}

impl Modulus {
    /// The constants for the odd modulus `m`.
    pub(crate) const fn new(m: Limbs) -> Self {
        let minv = neg_inv64(m[0]);
        Modulus {
            m,
            minv,
            two_m_sq: two_sq_const(&m),
            #[cfg(target_arch = "x86_64")]
            ifma: super::ifma::Consts::new(&m, minv),
        }
    }

    /// Montgomery multiplication `a * b * 2^-1024 mod m`, fully reduced, on the fastest
    /// backend. Requires `a * b < 2^1024 * m`.
    #[inline(always)]
    pub(crate) fn mul(&self, a: &Limbs, b: &Limbs) -> Limbs {
        #[cfg(feature = "op-count")]
        op_count::bump_mul();
        #[cfg(target_arch = "x86_64")]
        if let Some(ifma) = super::ifma::Ifma::detect() {
            return ifma.mont_mul(a, b, &self.ifma);
        }
        mont_mul(a, b, &self.m, self.minv)
    }

    #[cfg(any(test, feature = "test-helpers"))]
    /// The IFMA kernel's multiplication, when this CPU has it, even while the backend is
    /// disabled for dispatch (for tests and benches).
    pub(crate) fn mul_ifma(&self, a: &Limbs, b: &Limbs) -> Option<Limbs> {
        #[cfg(target_arch = "x86_64")]
        if let Some(ifma) = super::ifma::Ifma::detect_cpu() {
            return Some(ifma.mont_mul(a, b, &self.ifma));
        }
        let _ = (a, b);
        None
    }

    /// The F_p^2 product `(a0 + a1 i)(b0 + b1 i)` with `i^2 = -1` in Montgomery form, all
    /// components below m. On the IFMA backend three multiplications (Karatsuba); on the
    /// portable one Karatsuba with lazy reduction: three 2048-bit products and two Montgomery
    /// reductions instead of three ([`fp2_mul_lazy`]). Counted as three multiplications by the
    /// `op-count` feature either way.
    #[inline(always)]
    pub(crate) fn fp2_mul(&self, a: [&Limbs; 2], b: [&Limbs; 2]) -> [Limbs; 2] {
        #[cfg(target_arch = "x86_64")]
        if super::ifma::Ifma::detect().is_some() {
            let v0 = self.mul(a[0], b[0]);
            let v1 = self.mul(a[1], b[1]);
            let s = self.mul(&add(a[0], a[1], &self.m), &add(b[0], b[1], &self.m));
            return [
                sub(&v0, &v1, &self.m),
                sub(&sub(&s, &v0, &self.m), &v1, &self.m),
            ];
        }
        #[cfg(feature = "op-count")]
        for _ in 0..3 {
            op_count::bump_mul();
        }
        fp2_mul_lazy(a, b, self)
    }

    /// Montgomery squaring `a^2 * 2^-1024 mod m` for `a < m`, on the fastest backend.
    #[inline(always)]
    pub(crate) fn sqr(&self, a: &Limbs) -> Limbs {
        #[cfg(feature = "op-count")]
        op_count::bump_sqr();
        #[cfg(target_arch = "x86_64")]
        if let Some(ifma) = super::ifma::Ifma::detect() {
            return ifma.mont_mul(a, a, &self.ifma);
        }
        mont_sqr(a, &self.m, self.minv)
    }
}

#[cfg(any(test, feature = "test-helpers"))]
/// Disables (`true`) or re-enables (`false`) the IFMA backend process-wide (benches, tests).
pub(crate) fn force_portable(portable: bool) {
    #[cfg(target_arch = "x86_64")]
    super::ifma::Ifma::force_disabled(portable);
    let _ = portable;
}

/// Turns a carry or borrow into a `Choice` (through `subtle`'s optimisation barrier).
#[inline(always)]
fn bit_to_choice(bit: bool) -> Choice {
    Choice::from(u8::from(bit))
}

/// Selects `b` where `choice` is set, else `a`, limb by limb, without branching.
#[inline(always)]
pub(crate) fn select(a: &Limbs, b: &Limbs, choice: Choice) -> Limbs {
    let mut r = [0u64; LIMBS];
    for i in 0..LIMBS {
        r[i] = u64::conditional_select(&a[i], &b[i], choice);
    }
    r
}

/// Given a value `hi * 2^1024 + lo` known to be `< 2m`, returns it reduced below `m`.
#[inline(always)]
fn final_subtract(lo: &Limbs, hi: u64, m: &Limbs) -> Limbs {
    let mut r = [0u64; LIMBS];
    let mut borrow = false;
    for i in 0..LIMBS {
        (r[i], borrow) = sbb(lo[i], m[i], borrow);
    }
    let (_, borrow) = sbb(hi, 0, borrow);
    // A borrow means the value was below m: keep it.
    select(&r, lo, bit_to_choice(borrow))
}

/// `(a + b) mod m` for `a, b < m`.
#[inline(always)]
pub(crate) fn add(a: &Limbs, b: &Limbs, m: &Limbs) -> Limbs {
    let mut s = [0u64; LIMBS];
    let mut carry = false;
    for i in 0..LIMBS {
        (s[i], carry) = adc(a[i], b[i], carry);
    }
    final_subtract(&s, u64::from(carry), m)
}

/// `(a - b) mod m` for `a, b < m`.
#[inline(always)]
pub(crate) fn sub(a: &Limbs, b: &Limbs, m: &Limbs) -> Limbs {
    let mut d = [0u64; LIMBS];
    let mut borrow = false;
    for i in 0..LIMBS {
        (d[i], borrow) = sbb(a[i], b[i], borrow);
    }
    // Add m back where the subtraction borrowed.
    let fix = select(&[0u64; LIMBS], m, bit_to_choice(borrow));
    let mut carry = false;
    for i in 0..LIMBS {
        (d[i], carry) = adc(d[i], fix[i], carry);
    }
    d
}

/// Portable Montgomery multiplication `a * b * 2^-1024 mod m` (CIOS).
///
/// Requires `a * b < 2^1024 * m` (true when both are below `m`, or `a < 2^1024` and `b < m`);
/// `minv = -m^-1 mod 2^64`. The result is fully reduced.
///
/// Kept out of line, like [`mont_sqr`]: one copy serves every call site (inlined into each
/// field operation, the kernels bloat the pairing's loop body and slow it down).
#[inline(never)]
pub(crate) fn mont_mul(a: &Limbs, b: &Limbs, m: &Limbs, minv: u64) -> Limbs {
    let mut t = [0u64; LIMBS];
    let mut t_hi = 0u64;
    for i in 0..LIMBS {
        // t += a * b[i]
        let mut c = 0;
        for j in 0..LIMBS {
            (t[j], c) = mac(t[j], a[j], b[i], c);
        }
        let (s, top) = adc(t_hi, c, false);
        // t += k * m, then shift down one limb
        let k = t[0].wrapping_mul(minv);
        let (_, mut c) = mac(t[0], k, m[0], 0);
        for j in 1..LIMBS {
            (t[j - 1], c) = mac(t[j], k, m[j], c);
        }
        let (s2, c2) = adc(s, c, false);
        t[LIMBS - 1] = s2;
        t_hi = u64::from(top) + u64::from(c2);
    }
    final_subtract(&t, t_hi, m)
}

/// Expands `$body` sixteen times with `$i` = 0, 1, ..., 15: the rows of the squaring are
/// unrolled so that every limb index is a constant (a plain loop leaves the triangular rows
/// rolled, with variable trip counts, and the squaring no faster than a multiplication).
macro_rules! rows16 {
    ($i:ident => $body:block) => {
        rows16!(@ $i $body 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15)
    };
    (@ $i:ident $body:block $($n:literal)*) => {
        $({
            const $i: usize = $n;
            $body
        })*
    };
}

/// The full 2048-bit square of `a` as 32 little-endian limbs.
#[inline(always)]
fn square_wide(a: &Limbs) -> [u64; 2 * LIMBS] {
    let mut w = [0u64; 2 * LIMBS];
    // Off-diagonal products a[i] * a[j], i < j.
    rows16!(I => {
        let mut c = 0;
        for j in 0..LIMBS {
            if j > I {
                (w[I + j], c) = mac(w[I + j], a[I], a[j], c);
            }
        }
        w[I + LIMBS] = c;
    });
    // Double them.
    let mut hi = 0;
    for limb in w.iter_mut() {
        let next = *limb >> 63;
        *limb = (*limb << 1) | hi;
        hi = next;
    }
    // Add the diagonal squares.
    let mut c = false;
    for i in 0..LIMBS {
        let (lo, hi) = mac(0, a[i], a[i], 0);
        (w[2 * i], c) = adc(w[2 * i], lo, c);
        (w[2 * i + 1], c) = adc(w[2 * i + 1], hi, c);
    }
    w
}

/// Montgomery reduction of a 2048-bit value `w < 2^1024 * m`: returns `w * 2^-1024 mod m`.
#[inline(always)]
fn mont_reduce(w: [u64; 2 * LIMBS], m: &Limbs, minv: u64) -> Limbs {
    let (lo, hi) = redc_rows(w, m, minv);
    final_subtract(&lo, hi, m)
}

/// The sixteen reduction rows of Montgomery reduction: `(w + k m) / 2^1024` for the `k` that
/// clears the low half, as 16 limbs and the carry above them (0 or 1 for `w < 2^2048`).
#[inline(always)]
fn redc_rows(mut w: [u64; 2 * LIMBS], m: &Limbs, minv: u64) -> (Limbs, u64) {
    let mut carry_hi = false;
    rows16!(I => {
        let k = w[I].wrapping_mul(minv);
        let mut c = 0;
        for j in 0..LIMBS {
            (w[I + j], c) = mac(w[I + j], k, m[j], c);
        }
        (w[I + LIMBS], carry_hi) = adc(w[I + LIMBS], c, carry_hi);
    });
    let mut lo = [0u64; LIMBS];
    lo.copy_from_slice(&w[LIMBS..]);
    (lo, u64::from(carry_hi))
}

/// The 2048-bit product `a * b` (operand scanning, rows unrolled).
#[inline(always)]
fn mul_wide(a: &Limbs, b: &Limbs) -> [u64; 2 * LIMBS] {
    let mut w = [0u64; 2 * LIMBS];
    rows16!(I => {
        let mut c = 0;
        for j in 0..LIMBS {
            (w[I + j], c) = mac(w[I + j], a[j], b[I], c);
        }
        w[I + LIMBS] = c;
    });
    w
}

/// `a -= b` on 2048-bit values; returns the borrow out.
#[inline(always)]
fn sub_wide(a: &mut [u64; 2 * LIMBS], b: &[u64; 2 * LIMBS]) -> bool {
    let mut borrow = false;
    for i in 0..2 * LIMBS {
        (a[i], borrow) = sbb(a[i], b[i], borrow);
    }
    borrow
}

/// `a += b` on 2048-bit values; returns the carry out.
#[inline(always)]
fn add_wide(a: &mut [u64; 2 * LIMBS], b: &[u64; 2 * LIMBS]) -> bool {
    let mut carry = false;
    for i in 0..2 * LIMBS {
        (a[i], carry) = adc(a[i], b[i], carry);
    }
    carry
}

/// For `hi 2^1024 + lo < 3m` (hi at most 1), subtracts m once if that does not borrow:
/// returns the result below `2m` as (lo, hi).
#[inline(always)]
fn subtract_once(lo: &Limbs, hi: u64, m: &Limbs) -> (Limbs, u64) {
    let mut r = [0u64; LIMBS];
    let mut borrow = false;
    for i in 0..LIMBS {
        (r[i], borrow) = sbb(lo[i], m[i], borrow);
    }
    let (rh, borrow) = sbb(hi, 0, borrow);
    let keep = bit_to_choice(borrow);
    (
        select(&r, lo, keep),
        u64::conditional_select(&rh, &hi, keep),
    )
}

/// Montgomery reduction of `top 2^2048 + w`, a value below `3 m 2^1024` (`top` at most 1),
/// fully reduced: the shifted value is below 3m, and two conditional subtractions finish it.
#[inline(always)]
fn mont_reduce_3m(w: [u64; 2 * LIMBS], top: u64, m: &Limbs, minv: u64) -> Limbs {
    let (lo, hi) = redc_rows(w, m, minv);
    let (lo, hi) = subtract_once(&lo, top + hi, m);
    final_subtract(&lo, hi, m)
}

/// The portable F_p^2 product with lazy reduction (for p, whose `3 p^2 < 2^2049`):
/// `v0 = a0 b0`, `v1 = a1 b1`, `s = (a0 + a1)(b0 + b1)` as 2048-bit integers (the sums reduced
/// mod m first), then `c0 = REDC(v0 - v1 + m 2^1024)` and `c1 = REDC(s - v0 - v1 + 2 m^2)`:
/// both offsets are multiples of m, both arguments lie in `(0, 3 m 2^1024)`, and one
/// reduction each replaces the three of three Montgomery multiplications.
#[inline(never)]
pub(crate) fn fp2_mul_lazy(a: [&Limbs; 2], b: [&Limbs; 2], md: &Modulus) -> [Limbs; 2] {
    let (m, minv) = (&md.m, md.minv);
    let v0 = mul_wide(a[0], b[0]);
    let v1 = mul_wide(a[1], b[1]);
    let s = mul_wide(&add(a[0], a[1], m), &add(b[0], b[1], m));
    // v0 - v1 + m 2^1024: lies in (0, 2^2048); a borrow of the subtraction is cancelled by
    // the carry of the addition.
    let mut d = v0;
    let _ = sub_wide(&mut d, &v1);
    let mut shifted_m = [0u64; 2 * LIMBS];
    shifted_m[LIMBS..].copy_from_slice(m);
    let _ = add_wide(&mut d, &shifted_m);
    // s - v0 - v1 + 2 m^2: in (0, 3 m^2), which may need bit 2048: the net of the two borrows
    // and the carry is that bit (0 or 1).
    let mut e = s;
    let b1 = sub_wide(&mut e, &v0);
    let b2 = sub_wide(&mut e, &v1);
    let c = add_wide(&mut e, &md.two_m_sq);
    let top = u64::from(c)
        .wrapping_sub(u64::from(b1))
        .wrapping_sub(u64::from(b2))
        .wrapping_add(2)
        & 1; // the true value is non-negative and below 2^2049
    [
        mont_reduce_3m(d, 0, m, minv),
        mont_reduce_3m(e, top, m, minv),
    ]
}

/// Portable Montgomery squaring `a^2 * 2^-1024 mod m` for `a < m`: a dedicated squaring (136 of
/// the 256 word products of [`mont_mul`] for the square, then the same reduction). Fully
/// unrolled (about 3 400 instructions) and kept out of line.
#[inline(never)]
pub(crate) fn mont_sqr(a: &Limbs, m: &Limbs, minv: u64) -> Limbs {
    mont_reduce(square_wide(a), m, minv)
}

/// `a < m` as a `Choice`, in constant time.
#[inline(always)]
pub(crate) fn lt(a: &Limbs, m: &Limbs) -> Choice {
    let mut borrow = false;
    for i in 0..LIMBS {
        (_, borrow) = sbb(a[i], m[i], borrow);
    }
    bit_to_choice(borrow)
}

// ---- compile-time helpers (public constants only; may branch) ------------------------------

/// Parses a big-endian hex string of at most 256 digits into limbs at compile time.
///
/// # Panics
/// At compile time on a non-hex digit or an over-long string (constants only).
pub(crate) const fn from_hex(s: &str) -> Limbs {
    let b = s.as_bytes();
    let mut r = [0u64; LIMBS];
    let mut i = 0;
    let mut nibble = 0usize;
    assert!(b.len() <= 4 * LIMBS * 4, "hex constant too long");
    while i < b.len() {
        let c = b[b.len() - 1 - i];
        let v = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => panic!("bad hex digit in constant"),
        };
        r[nibble / 16] |= (v as u64) << (4 * (nibble % 16));
        nibble += 1;
        i += 1;
    }
    r
}

/// `-m^-1 mod 2^64` for odd `m` (Newton iteration), at compile time.
pub(crate) const fn neg_inv64(m0: u64) -> u64 {
    let mut inv = 1u64;
    let mut i = 0;
    while i < 6 {
        inv = inv.wrapping_mul(2u64.wrapping_sub(m0.wrapping_mul(inv)));
        i += 1;
    }
    inv.wrapping_neg()
}

/// `2 m^2 mod 2^2048` at compile time.
#[allow(clippy::cast_possible_truncation)] // the low and high halves of a 128-bit product
const fn two_sq_const(m: &Limbs) -> [u64; 2 * LIMBS] {
    let mut w = [0u64; 2 * LIMBS];
    let mut i = 0;
    while i < LIMBS {
        let mut c = 0u64;
        let mut j = 0;
        while j < LIMBS {
            let t = (w[i + j] as u128) + (m[i] as u128) * (m[j] as u128) + (c as u128);
            w[i + j] = t as u64;
            c = (t >> 64) as u64;
            j += 1;
        }
        w[i + LIMBS] = c;
        i += 1;
    }
    // doubled
    let mut hi = 0;
    let mut k = 0;
    while k < 2 * LIMBS {
        let next = w[k] >> 63;
        w[k] = (w[k] << 1) | hi;
        hi = next;
        k += 1;
    }
    w
}

/// `2^k mod m` at compile time, by repeated modular doubling (for R, R^2, R^3).
pub(crate) const fn pow2_mod(k: usize, m: &Limbs) -> Limbs {
    let mut x = [0u64; LIMBS];
    x[0] = 1;
    let mut n = 0;
    while n < k {
        // x = 2x mod m
        let mut d = [0u64; LIMBS];
        let mut carry = 0;
        let mut i = 0;
        while i < LIMBS {
            d[i] = (x[i] << 1) | carry;
            carry = x[i] >> 63;
            i += 1;
        }
        // subtract m if d >= m (with the carry as bit 1024)
        let mut s = [0u64; LIMBS];
        let mut borrow = false;
        i = 0;
        while i < LIMBS {
            let (v, bo) = sbb(d[i], m[i], borrow);
            s[i] = v;
            borrow = bo;
            i += 1;
        }
        x = if carry == 1 || !borrow { s } else { d };
        n += 1;
    }
    x
}
