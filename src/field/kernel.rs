//! The limb kernel: 1024-bit Montgomery arithmetic on sixteen 64-bit limbs.
//!
//! This is the one seam the algebra above it depends on: every F_p and F_q operation ends here.
//! Everything in this file runs in time independent of the *values* of its operands; all
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
fn mont_reduce(mut w: [u64; 2 * LIMBS], m: &Limbs, minv: u64) -> Limbs {
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
    final_subtract(&lo, u64::from(carry_hi), m)
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
