//! HashToIntegerRange (RFC 6508 s5.1) with SHA-256, for the two ranges SAKKE uses.
//!
//! Inputs are always the fixed-width encodings of RFC 6508 (SSV as 16 octets, g^r and w as
//! 128 octets, identifiers as their own octets): a minimal-length big-integer encoding would
//! diverge from the RFC for inputs with leading zero octets.

use sha2::{Digest, Sha256};
use zeroize::Zeroize;

use crate::field::Fq;
use crate::params::SSV_LEN;

/// Octets of a SHA-256 output (`hashlen / 8`).
pub const HASH_LEN: usize = 32;

/// The per-block values of HashToIntegerRange(s, n, SHA-256) with `l` blocks (RFC 6508 s5.1
/// steps 1-5): `A = H(s)`, `h_i = H(h_(i-1))` from `h_0 = 0^256`, `v_i = H(h_i || A)`.
/// The value `v' = v_1 || ... || v_l` is then reduced modulo n.
///
/// The `h_i` do not depend on `s`; they are recomputed here to mirror the RFC (they cost `l`
/// hashes of 32 octets).
pub struct Blocks {
    /// `A = hashfn(s)`.
    pub a: [u8; HASH_LEN],
    /// `h_1 .. h_l`.
    pub h: Vec<[u8; HASH_LEN]>,
    /// `v_1 .. v_l`.
    pub v: Vec<[u8; HASH_LEN]>,
}

/// Prints the block count only: `A` and the `v_i` derive from a secret input (an SSV).
impl core::fmt::Debug for Blocks {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Blocks")
            .field("blocks", &self.v.len())
            .finish_non_exhaustive()
    }
}

impl Drop for Blocks {
    fn drop(&mut self) {
        self.a.zeroize();
        self.v.zeroize();
    }
}

/// Runs RFC 6508 s5.1 steps 1-4 with `l` blocks.
///
/// `A` and the `v_i` depend on `s` (a secret: SSV || b, or w): they are written in place in
/// the result (wiped on drop), and the hash states that saw them wipe themselves (sha2's
/// `zeroize` feature).
pub fn blocks(s: &[u8], l: usize) -> Blocks {
    let mut out = Blocks {
        a: [0u8; HASH_LEN],
        h: Vec::with_capacity(l),
        v: vec![[0u8; HASH_LEN]; l],
    };
    Sha256::new_with_prefix(s).finalize_into((&mut out.a).into());
    let mut h_prev = [0u8; HASH_LEN];
    for vi in &mut out.v {
        let hi: [u8; HASH_LEN] = Sha256::digest(h_prev).into();
        let mut ctx = Sha256::new();
        ctx.update(hi);
        ctx.update(out.a);
        ctx.finalize_into(vi.into());
        out.h.push(hi);
        h_prev = hi;
    }
    out
}

/// HashToIntegerRange(s, q, SHA-256): `l = 4` blocks (`lg q` is 1022 bits), `v' mod q`.
/// Constant time in `s` (the reduction is a Montgomery multiplication).
pub fn to_scalar(s: &[u8]) -> Fq {
    let b = blocks(s, 4);
    let mut wide = [0u8; 128];
    for (chunk, vi) in wide.chunks_exact_mut(HASH_LEN).zip(b.v.iter()) {
        chunk.copy_from_slice(vi);
    }
    let r = Fq::from_bytes_reduced(&wide);
    wide.zeroize();
    r
}

/// HashToIntegerRange(s, 2^n, SHA-256) for `n = 128`: `l = 1` block, `v_1 mod 2^128`, i.e. the
/// last 16 octets of `v_1`, as 16 big-endian octets.
pub fn to_mask(s: &[u8]) -> [u8; SSV_LEN] {
    let b = blocks(s, 1);
    let mut out = [0u8; SSV_LEN];
    out.copy_from_slice(&b.v[0][HASH_LEN - SSV_LEN..]);
    out
}
