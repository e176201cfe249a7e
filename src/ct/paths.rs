//! Counters of the vector code paths taken, in `ct-taint` builds only: the taint test checks
//! that its workload ran every function that runs on an IFMA CPU (through the software
//! stand-in of `ct::avx512`), not only the portable ones.

use core::sync::atomic::{AtomicU64, Ordering};

/// A vector code path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// A long loop (Miller loop, scalar multiplication) dispatched to the radix-2^52 backend.
    Radix52Job,
    /// A Montgomery multiplication of 64-bit limbs on the IFMA kernel.
    IfmaProduct,
    /// A product or square of radix-2^52 values.
    Fe52Product,
    /// A constant-time select of radix-2^52 values.
    Fe52Select,
    /// A table lookup on the AVX-512 build.
    Avx512Lookup,
    /// A batched table lookup on the AVX-512 build.
    Avx512LookupMany,
}

impl Path {
    /// Every path.
    pub const ALL: [Path; 6] = [
        Path::Radix52Job,
        Path::IfmaProduct,
        Path::Fe52Product,
        Path::Fe52Select,
        Path::Avx512Lookup,
        Path::Avx512LookupMany,
    ];
}

static COUNTS: [AtomicU64; 6] = [const { AtomicU64::new(0) }; 6];

/// Counts one use of `path`.
#[inline(always)]
pub(crate) fn hit(path: Path) {
    COUNTS[path as usize].fetch_add(1, Ordering::Relaxed);
}

/// How often `path` ran in this process.
pub fn count(path: Path) -> u64 {
    COUNTS[path as usize].load(Ordering::Relaxed)
}
