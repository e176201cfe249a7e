//! Constant-time building blocks shared by the 1024-bit SAKKE code and ECCSI's P-256 code.
//!
//! This module sits beside the layers rather than in them: it depends on nothing in the crate
//! (only `core`, `std`'s CPU-feature detection, `subtle` and `zeroize`), and `field`, `curve`,
//! `pairing` and `eccsi` all use it.
//!
//! * `lookup`: masked table lookups that read every entry (one index or a batch of
//!   indices), with an AVX-512F build selected at run time;
//! * `avx512`: the AVX-512 intrinsics of the vector code, or, with the `ct-taint` feature, a
//!   software stand-in with the same data flow that runs under valgrind (and `paths`, counters
//!   of the vector paths taken, for the taint test to check that it ran them);
//! * `recode`: signed-digit recoding of secret scalars for fixed-window table methods;
//! * declassification: the points where a value computed from secrets becomes public by
//!   design (with the `ct-taint` feature, hooks for the valgrind taint test).

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)] // the stand-in's unaligned loads and stores (ct-taint builds)
pub(crate) mod avx512;
#[allow(unsafe_code)] // calls its AVX-512 build after detecting the CPU feature
pub(crate) mod lookup;
#[cfg(feature = "ct-taint")]
pub mod paths;
pub(crate) mod recode;

mod declassify;

#[cfg(all(feature = "ct-taint", target_arch = "x86_64"))]
pub use avx512::set_stand_in;
#[cfg(feature = "kms")]
pub(crate) use declassify::classify_in_place;
#[cfg(feature = "ct-taint")]
pub use declassify::{DeclassifyHook, set_classify_hook, set_declassify_hook};
pub(crate) use declassify::{declassify, declassify_in_place};
pub(crate) use lookup::{lookup, lookup_many};
pub(crate) use recode::signed_digits;
