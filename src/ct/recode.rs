//! Signed-digit recoding of secret scalars for fixed-window table methods: the 1024-bit
//! fixed-base and exponentiation tables (`curve::fixed_base`, `pairing::GtTable`) and ECCSI's
//! P-256 comb (`eccsi::base_mul`) share it.

use subtle::Choice;
use zeroize::Zeroize;

/// The signed w-bit digits of a scalar of any number of limbs (little-endian), least
/// significant first, in `n` windows: `k = sum d_i 2^(w i)` with every `d_i` in
/// [-2^(w-1), 2^(w-1) - 1], each returned as (|d|, d < 0). Branch-free (the carries are
/// arithmetic; the width and the window count are public), so it may be used on secret
/// scalars. The digits sum to `k` when the top window holds fewer than w - 1 bits of `k` (so
/// that it absorbs the carry without one of its own): `n * w >= bits(k) + 2`.
pub(crate) fn signed_digits(k: &[u64], w: usize, n: usize) -> Vec<(u64, Choice)> {
    // Zero limbs of headroom for windows that straddle or pass the top.
    let mut limbs = vec![0u64; k.len().max((n * w).div_ceil(64)) + 1];
    limbs[..k.len()].copy_from_slice(k);
    let mut out = vec![(0u64, Choice::from(0)); n];
    let mut carry = 0u64;
    for (i, o) in out.iter_mut().enumerate() {
        // Bit positions are public.
        let pos = i * w;
        let (idx, shift) = (pos / 64, pos % 64);
        let mut bits = limbs[idx] >> shift;
        if shift + w > 64 {
            bits |= limbs[idx + 1] << (64 - shift);
        }
        let raw = (bits & ((1 << w) - 1)) + carry; // 0..=2^w
        carry = (raw + (1 << (w - 1))) >> w; // 1 iff raw >= 2^(w-1)
        // d = raw - 2^w carry in [-2^(w-1), 2^(w-1) - 1]; |d| and the sign through masks, no
        // branch.
        #[allow(clippy::cast_possible_wrap)]
        let d = raw as i64 - ((carry as i64) << w);
        let m = d >> 63;
        #[allow(clippy::cast_sign_loss)]
        let (abs, neg) = (((d ^ m) - m) as u64, (m & 1) as u8);
        *o = (abs, Choice::from(neg));
    }
    limbs.zeroize();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The digits of small scalars of one limb (the P-256 shape: 4 limbs, 43 windows of 6 bits)
    /// sum back to the scalar, each in range.
    #[test]
    fn digits_sum_back() {
        let mut x = 0x0123_4567_89AB_CDEFu64;
        for _ in 0..100 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let k = [x, x.rotate_left(17), x.rotate_left(31), x >> 2];
            let d = signed_digits(&k, 6, 43);
            assert_eq!(d.len(), 43);
            // Recompose in i128 chunks of the low 64 bits: the sum mod 2^64 is the low limb.
            let mut low = 0i128;
            for (i, &(abs, neg)) in d.iter().enumerate().take(11) {
                let v = if bool::from(neg) {
                    -i128::from(abs)
                } else {
                    i128::from(abs)
                };
                low += v << (6 * i);
            }
            assert!(d.iter().all(|&(abs, _)| abs <= 32));
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let got = low as u64;
            // Digits above window 10 add multiples of 2^66: no effect on the low 64 bits.
            assert_eq!(got, x);
        }
    }
}
