//! The reproducible test values of the field tests (xorshift64*): one generator for the
//! differential tests of the limb kernels (safegcd, IFMA), each of which adds the value shapes
//! it needs in its own `impl Rng`.

/// xorshift64*, seeded by the test.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    /// The next 64 bits.
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// 16 limbs (a 1024-bit value) of [`Self::next`].
    pub(crate) fn limbs(&mut self) -> [u64; 16] {
        core::array::from_fn(|_| self.next())
    }
}
