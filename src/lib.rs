//! Identity-based key management for 3GPP mission-critical services: SAKKE (RFC 6508), ECCSI
//! (RFC 6507) and MIKEY-SAKKE (RFC 6509) in the TS 33.180 profile, with the KMS, group manager
//! and client roles built on them.
//!
//! # Layers
//!
//! Data flows one way; a module uses only the modules above it in this list.
//!
//! * [`params`]: RFC 6509 parameter set 1 (the 1024-bit p, q, P, g).
//! * [`field`]: F_p, F_q and F_p^2, constant time, with the one backend switch (portable limbs
//!   or AVX-512 IFMA radix-2^52 digits, chosen at run time).
//! * [`ct`]: constant-time utilities (declassification points).
//! * [`curve`], [`pairing`]: the supersingular curve, fixed-base tables, the Tate pairing.
//! * [`sakke`], [`eccsi`], [`hash`]: the two identity-based schemes.
//! * [`mikey`]: the MIKEY payload codec (RFC 3830/6043/4563/6509).
//! * [`mcx`]: the TS 33.180 profile: UIDs, key periods, key identifiers, key parameters, SRTP
//!   keys, and the MCX I_MESSAGE.
//! * [`annex_d`]: the TS 33.180 Annex D documents a KMS serves and a client reads.
//! * [`input`]: operator inputs bounded and validated before any work (caps per kind of
//!   input, one time syntax, URI lists, collision-free file names); [`output`]: files holding
//!   key material written 0600, atomically, never through a symbolic link.
//! * [`kms`], [`gms`], [`ue`]: the roles: the KMS (store, provisioning), the group manager, the
//!   receiving client.
//!
//! The layout, one line per module, and the seams for a new storage backend, transport or
//! message profile are described in `docs/architecture.md`; guarantees and their tests in
//! `SECURITY.md`; the README shows the command-line workflow.
//!
//! # Example
//!
//! ```
//! use mikey_sakke::sakke::{self, MasterSecret};
//!
//! let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
//! let z = MasterSecret::random(&mut rng);
//! let kms = z.public_key();
//! let id = b"sip:alice@example.org";
//! let rsk = z.issue_rsk(id).expect("id + z != 0 mod q");
//! rsk.validate(&kms, id).expect("valid RSK");
//! let (ssv, ed) = sakke::encapsulate(&mut rng, &kms, id);
//! assert_eq!(sakke::decapsulate(&kms, id, &rsk, &ed).expect("decapsulates"), ssv);
//! ```
#![deny(unsafe_code)]

pub mod annex_d;
#[cfg(feature = "cli")]
pub mod bench;
pub mod ct;
pub mod curve;
pub mod eccsi;
pub mod error;
#[cfg(feature = "fetch")]
pub mod fetch;
pub mod field;
pub mod gms;
pub mod hash;
#[cfg(feature = "server")]
pub mod idms;
pub mod input;
#[cfg(feature = "kms")]
pub mod kms;
pub mod mcx;
pub mod mikey;
pub mod output;
pub mod pairing;
pub mod params;
pub mod sakke;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "test-helpers")]
#[doc(hidden)]
pub mod test_helpers;
pub mod ue;

pub use error::{Error, IssueError, PointError, ScalarError};

/// The README's code blocks, compiled and run as doctests (`cargo test --doc`), so that the
/// library example it shows keeps working as written.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
