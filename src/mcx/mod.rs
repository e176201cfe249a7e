//! The 3GPP MCX profile of MIKEY-SAKKE (TS 33.180): user identifiers, key identifiers, the
//! derived keys and the key-parameters payload.
//!
//! * [`kdf`]: the TS 33.220 Annex B key derivation function all of TS 33.180 uses.
//! * [`uid`]: the 256-bit UID of a user or group for a key period (Annex F.2.1) and key-period
//!   numbers.
//! * [`key_id`]: 32-bit key identifiers with their 4-bit purpose tag, and the GUK-ID (F.1.3).
//! * [`srtp`]: the RFC 3830 s4.1.3 PRF with PRF-HMAC-SHA-256 (RFC 6043), SRTP master key and
//!   salt from the distributed key, and the MKI (TS 33.180 7.4).
//! * [`key_params`]: the key-parameters payload (E.6) inside an MCData protected payload,
//!   AES-128-GCM under `DPCK = KDF(key, 0x53, key ID)`.
//! * [`imessage`]: building (one message or one key to many members), signing and receiving
//!   MIKEY-SAKKE I_MESSAGEs in this profile, on the generic steps of
//!   [`crate::mikey::sakke_steps`].

pub mod imessage;
pub mod kdf;
pub mod key_id;
pub mod key_params;
pub mod srtp;
pub mod uid;
