//! Constant-time building blocks shared by the 1024-bit SAKKE code and ECCSI's P-256 code.
//!
//! This module sits beside the layers rather than in them: it depends on nothing in the crate
//! (only `core`, `std`'s CPU-feature detection, `subtle` and `zeroize`), and `field`, `curve`,
//! `pairing` and `eccsi` all use it.
//!
//! * `lookup`: masked table lookups that read every entry (one index or a batch of
//!   indices), with an AVX-512F build selected at run time;
//! * `recode`: signed-digit recoding of secret scalars for fixed-window table methods;
//! * declassification: the points where a value computed from secrets becomes public by
//!   design (with the `ct-taint` feature, hooks for the valgrind taint test).

#[allow(unsafe_code)] // calls its AVX-512 build after detecting the CPU feature
pub(crate) mod lookup;
pub(crate) mod recode;

mod declassify;

#[cfg(feature = "kms")]
pub(crate) use declassify::classify_in_place;
#[cfg(feature = "ct-taint")]
pub use declassify::{DeclassifyHook, set_classify_hook, set_declassify_hook};
pub(crate) use declassify::{declassify, declassify_in_place};
pub(crate) use lookup::{lookup, lookup_many};
pub(crate) use recode::signed_digits;
