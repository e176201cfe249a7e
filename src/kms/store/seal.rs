//! Sealing of the store's secrets, independent of any database.
//!
//! Secrets (the SAKKE master secret z, the ECCSI KSAK, issued RSKs and SSKs) are sealed with
//! AES-256-GCM under a key derived with Argon2id from the operator's passphrase and a random
//! salt kept in the store. Each sealed value binds its place in the store as additional data
//! (`master/{first_period}/z`, `master/{first_period}/ksak`, `issued/{uri}/{period}/rsk`,
//! `issued/{uri}/{period}/ssk`, `check`), so a value copied to another row does not open. A
//! known value sealed at creation tells a wrong passphrase apart from a tampered row.
//!
//! A sealed value is `nonce (12 octets) || ciphertext || tag (16 octets)`.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::{KdfParams, StoreError};

/// The plaintext sealed at creation to check the passphrase.
const CHECK_PLAINTEXT: &[u8] = b"mikey-sakke KMS store passphrase check";

/// The additional data of the passphrase check value of a store written before its settings
/// were authenticated ([`super::settings`]).
const CHECK_AAD: &str = "check";

/// The additional data of the passphrase check value of a store whose settings are
/// authenticated (its `settings_tag` is required).
const CHECK_SETTINGS_AAD: &str = "check/settings";

/// The additional data binding the SAKKE master secret of the generation starting at `first`.
pub fn master_z_aad(first_period: i64) -> String {
    format!("master/{first_period}/z")
}

/// The additional data binding the ECCSI KSAK of the generation starting at `first`.
pub fn master_ksak_aad(first_period: i64) -> String {
    format!("master/{first_period}/ksak")
}

/// The additional data binding one secret (`rsk` or `ssk`) of an issued key set.
pub fn issued_aad(uri: &str, period_no: u64, what: &str) -> String {
    format!("issued/{uri}/{period_no}/{what}")
}

/// The largest Argon2 memory cost accepted, in KiB (1 GiB, 16 times the default): a store
/// file whose settings ask for more is refused before any memory is allocated.
pub const MAX_KDF_M_COST: u32 = 1024 * 1024;
/// The largest Argon2 time cost (iterations) accepted (about ten times the default's work at
/// the default memory).
pub const MAX_KDF_T_COST: u32 = 32;
/// The largest Argon2 parallelism (lanes) accepted.
pub const MAX_KDF_P_COST: u32 = 16;

/// Refuses key-derivation parameters outside the bounds (a store whose settings were edited
/// to make opening it allocate terabytes or run for days).
fn check_kdf(kdf: KdfParams) -> Result<(), StoreError> {
    let bad = |what: &str, value: u32, max: u32| {
        StoreError::Invalid(format!(
            "key derivation parameters: {what} {value} is outside 1..={max}"
        ))
    };
    if kdf.m_cost == 0 || kdf.m_cost > MAX_KDF_M_COST {
        return Err(bad("memory cost (KiB)", kdf.m_cost, MAX_KDF_M_COST));
    }
    if kdf.t_cost == 0 || kdf.t_cost > MAX_KDF_T_COST {
        return Err(bad("time cost", kdf.t_cost, MAX_KDF_T_COST));
    }
    if kdf.p_cost == 0 || kdf.p_cost > MAX_KDF_P_COST {
        return Err(bad("parallelism", kdf.p_cost, MAX_KDF_P_COST));
    }
    Ok(())
}

/// The sealing key of one store, derived from its passphrase; wiped on drop.
pub struct Sealer {
    key: Zeroizing<[u8; 32]>,
}

impl core::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Sealer").finish_non_exhaustive()
    }
}

/// The key lives in a `Zeroizing` buffer.
impl zeroize::ZeroizeOnDrop for Sealer {}

impl Sealer {
    /// Derives the sealing key from `passphrase` and the store's `salt` with Argon2id.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for key-derivation parameters outside the bounds
    /// ([`MAX_KDF_M_COST`], [`MAX_KDF_T_COST`], [`MAX_KDF_P_COST`]; checked before anything
    /// is allocated or derived) or that Argon2 refuses.
    pub fn derive(passphrase: &[u8], salt: &[u8], kdf: KdfParams) -> Result<Self, StoreError> {
        check_kdf(kdf)?;
        #[cfg(fuzzing)]
        if let Some(key) = fuzzing_memo::get(passphrase, salt, kdf) {
            return Ok(Self { key });
        }
        let params = argon2::Params::new(kdf.m_cost, kdf.t_cost, kdf.p_cost, Some(32))
            .map_err(|e| StoreError::Invalid(format!("key derivation parameters: {e}")))?;
        let block_count = params.block_count();
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut key = Zeroizing::new([0u8; 32]);
        // Argon2's memory (derived from the passphrase, and holding the key's last block) is
        // wiped before it is freed: one pass over m_cost KiB, small beside the derivation.
        let mut memory = Zeroizing::new(vec![argon2::Block::default(); block_count]);
        argon
            .hash_password_into_with_memory(passphrase, salt, key.as_mut_slice(), &mut *memory)
            .map_err(|e| StoreError::Invalid(format!("key derivation: {e}")))?;
        drop(memory);
        // From here on the key is a secret: everything that uses it (AES-GCM key schedule,
        // sealing and unsealing) must be constant time in it. Argon2id itself indexes memory by
        // passphrase-derived data by design (its second half is data-dependent), which is why
        // the taint test treats the passphrase as given and this output as the secret.
        crate::ct::classify_in_place(key.as_mut_slice());
        #[cfg(fuzzing)]
        fuzzing_memo::put(passphrase, salt, kdf, &key);
        Ok(Self { key })
    }

    /// Seals `plain` bound to `aad` under a nonce from the OS generator.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] if the OS generator fails.
    pub fn seal(&self, aad: &str, plain: &[u8]) -> Result<Vec<u8>, StoreError> {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce)
            .map_err(|e| StoreError::Invalid(format!("OS random number generator: {e}")))?;
        self.seal_with(nonce, aad, plain)
    }

    /// Seals `plain` bound to `aad` under a nonce drawn from `rng`.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] if sealing fails.
    pub fn seal_rng<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        aad: &str,
        plain: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        let mut nonce = [0u8; 12];
        rng.fill_bytes(&mut nonce);
        // The nonce is stored in clear: public by design.
        crate::ct::declassify_in_place(&mut nonce);
        self.seal_with(nonce, aad, plain)
    }

    fn seal_with(&self, nonce: [u8; 12], aad: &str, plain: &[u8]) -> Result<Vec<u8>, StoreError> {
        let cipher = Aes256Gcm::new_from_slice(self.key.as_slice())
            .map_err(|_| StoreError::Invalid("seal key".into()))?;
        let ct = cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plain,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| StoreError::Invalid("sealing failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        // The sealed value (nonce, ciphertext, tag) is public by design: it is what the file
        // holds.
        crate::ct::declassify_in_place(out.as_mut_slice());
        Ok(out)
    }

    /// Opens a value sealed with [`Self::seal`] and the same `aad`, or `None` if it does not
    /// authenticate (a wrong key, a modified value or one moved from another place).
    pub fn try_unseal(&self, aad: &str, sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        if sealed.len() < 12 + 16 {
            return None;
        }
        let (nonce, ct) = sealed.split_at(12);
        let mut n = [0u8; 12];
        n.copy_from_slice(nonce);
        let cipher = Aes256Gcm::new_from_slice(self.key.as_slice()).ok()?;
        cipher
            .decrypt(
                &Nonce::from(n),
                Payload {
                    msg: ct,
                    aad: aad.as_bytes(),
                },
            )
            .ok()
            .map(Zeroizing::new)
    }

    /// [`Self::try_unseal`] with a failure reported as tampering with the value at `aad`.
    ///
    /// # Errors
    /// [`StoreError::Tampered`] naming `aad` (never the value).
    pub fn unseal(&self, aad: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        self.try_unseal(aad, sealed)
            .ok_or_else(|| StoreError::Tampered(aad.to_string()))
    }

    /// The passphrase check value to keep in a new store.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] if sealing fails.
    pub fn check_value<R: CryptoRng + ?Sized>(&self, rng: &mut R) -> Result<Vec<u8>, StoreError> {
        self.seal_rng(rng, CHECK_SETTINGS_AAD, CHECK_PLAINTEXT)
    }

    /// Checks the store's passphrase check value.
    ///
    /// # Errors
    /// [`StoreError::WrongPassphrase`] if it does not open to the known constant.
    pub fn verify_check(&self, sealed: &[u8]) -> Result<(), StoreError> {
        self.verify_check_kind(sealed).map(|_| ())
    }

    /// [`Self::verify_check`], telling a store whose settings are authenticated from an older
    /// one.
    pub(crate) fn verify_check_kind(
        &self,
        sealed: &[u8],
    ) -> Result<super::settings::CheckKind, StoreError> {
        use super::settings::CheckKind;
        // An authentic check value decrypts to the public constant: public by design.
        let (mut check, kind) = match self.try_unseal(CHECK_SETTINGS_AAD, sealed) {
            Some(c) => (c, CheckKind::Authenticated),
            None => (
                self.try_unseal(CHECK_AAD, sealed)
                    .ok_or(StoreError::WrongPassphrase)?,
                CheckKind::Legacy,
            ),
        };
        crate::ct::declassify_in_place(check.as_mut_slice());
        if check.as_slice() == CHECK_PLAINTEXT {
            Ok(kind)
        } else {
            Err(StoreError::WrongPassphrase)
        }
    }
}

/// Fuzz builds only (`cargo fuzz` sets `cfg(fuzzing)`): the last derivation is remembered, so
/// that a fuzz target opening thousands of mutated stores made with one passphrase and salt
/// pays Argon2id once instead of once per input (30 ms of 35 under the sanitizer). Argon2id is
/// a pure function of its inputs, so the result is the same; a mutated salt or parameter
/// misses the memo and derives anew. Never compiled into a shipped build.
#[cfg(fuzzing)]
mod fuzzing_memo {
    use std::sync::Mutex;

    use zeroize::Zeroizing;

    use super::KdfParams;

    type Entry = (Vec<u8>, Vec<u8>, KdfParams, Zeroizing<[u8; 32]>);

    static LAST: Mutex<Option<Entry>> = Mutex::new(None);

    pub(super) fn get(
        passphrase: &[u8],
        salt: &[u8],
        kdf: KdfParams,
    ) -> Option<Zeroizing<[u8; 32]>> {
        let last = LAST.lock().ok()?;
        let (p, s, k, key) = last.as_ref()?;
        (p.as_slice() == passphrase && s.as_slice() == salt && *k == kdf).then(|| key.clone())
    }

    pub(super) fn put(passphrase: &[u8], salt: &[u8], kdf: KdfParams, key: &Zeroizing<[u8; 32]>) {
        if let Ok(mut last) = LAST.lock() {
            *last = Some((passphrase.to_vec(), salt.to_vec(), kdf, key.clone()));
        }
    }
}
