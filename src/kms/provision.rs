//! Key provisioning (TS 33.180 Annex D KeyProvision): for a user or group URI and a key
//! period, compute the UID (F.2.1), issue the SAKKE RSK and an ECCSI (SSK, PVT), validate both
//! as a client would before handing them out, and record them in the store.
//!
//! Batches run the issuing on all cores (rayon) and record the results in transactions of a
//! few dozen sets, each set being reported only once its transaction has committed. A batch
//! interrupted at any point can simply be run again: sets already recorded are returned from
//! the store, the rest are issued.

use rayon::prelude::*;

use super::store::{IssuedKeySet, KmsStore, MasterKeys, PrincipalKind, Recorded, StoreError};
use crate::eccsi::{Pvt, SigningKey, Ssk};
use crate::mcx::uid::{KeyPeriods, uid};
use crate::sakke::ReceiverSecretKey;

/// Key sets recorded per transaction in a batch.
pub const CHUNK: usize = 32;

/// Why provisioning failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ProvisionError {
    /// The store failed.
    Store(StoreError),
    /// `id + z = 0 mod q` for this UID: no SAKKE RSK exists under this master key.
    NoRsk(String),
    /// A freshly issued key set did not validate (a bug or a hardware fault: nothing is
    /// recorded).
    SelfCheckFailed(String),
    /// The URI is too long for a UID.
    BadUri(String),
    /// The time lies before the first key period.
    BadTime,
}

impl core::fmt::Display for ProvisionError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Store(e) => write!(f, "{e}"),
            Self::NoRsk(u) => write!(f, "no RSK exists for {u} under this master key"),
            Self::SelfCheckFailed(u) => write!(
                f,
                "the key set issued for {u} failed validation; nothing recorded"
            ),
            Self::BadUri(u) => write!(f, "URI too long for a UID: {u}"),
            Self::BadTime => f.write_str("the time lies before the first key period"),
        }
    }
}

impl std::error::Error for ProvisionError {}

impl From<StoreError> for ProvisionError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// Issues and validates one key set (not recorded): the RSK by the master secret's
/// self-check ([`crate::sakke::MasterSecret::check_issued_rsk`]), the (SSK, PVT) pair by
/// building the signing key from it (RFC 6507 s5.1.2).
///
/// # Errors
/// [`ProvisionError::NoRsk`], [`ProvisionError::SelfCheckFailed`], [`ProvisionError::BadUri`].
pub fn issue_key_set(
    master: &MasterKeys,
    kms_uri: &str,
    periods: KeyPeriods,
    uri: &str,
    period_no: u64,
) -> Result<IssuedKeySet, ProvisionError> {
    let user_id = uid(uri.as_bytes(), kms_uri.as_bytes(), periods, period_no)
        .map_err(|_| ProvisionError::BadUri(uri.into()))?;
    let rsk = master
        .sakke
        .issue_rsk(&user_id)
        .map_err(|_| ProvisionError::NoRsk(uri.into()))?;
    // The self-check of the fresh RSK with z: `[a + z]RSK == P`, one scalar multiplication
    // instead of the receiver's pairing check (which RSKs from elsewhere still get).
    master
        .sakke
        .check_issued_rsk(&rsk, &user_id)
        .map_err(|_| ProvisionError::SelfCheckFailed(uri.into()))?;
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    let (ssk, pvt) = master
        .eccsi
        .issue(&user_id, &mut rng)
        .map_err(|_| ProvisionError::SelfCheckFailed(uri.into()))?;
    SigningKey::new(&master.kpak, &user_id, ssk.clone(), &pvt)
        .map_err(|_| ProvisionError::SelfCheckFailed(uri.into()))?;
    let issued_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    Ok(IssuedKeySet {
        uri: uri.to_string(),
        period_no,
        generation: master.generation,
        user_id,
        rsk,
        ssk,
        pvt,
        issued_at,
    })
}

/// [`issue_key_set`] for several URIs of one key period at once (a chunk of about
/// [`CHUNK`]): the UIDs, then the RSKs issued together with shared inversions
/// ([`crate::sakke::MasterSecret::issue_rsks`]) and self-checked together by one random linear
/// combination ([`crate::sakke::MasterSecret::check_issued_rsks`], which names a bad key by
/// falling back to the per-key check), then the (SSK, PVT) pairs, issued one by one and checked
/// together ([`crate::eccsi::KmsKeyPair::check_issued`], which names a bad pair the same way).
/// The results are in the order of `uris`, each with the error [`issue_key_set`] would give.
pub fn issue_key_sets(
    master: &MasterKeys,
    kms_uri: &str,
    periods: KeyPeriods,
    uris: &[&str],
    period_no: u64,
) -> Vec<Result<IssuedKeySet, ProvisionError>> {
    // Every entry starts as the refusal of a URI without a UID and is replaced once it has one.
    let mut out: Vec<Result<IssuedKeySet, ProvisionError>> = uris
        .iter()
        .map(|u| Err(ProvisionError::BadUri((*u).into())))
        .collect();
    // (position in `uris`, UID) of the URIs that have a UID
    let uids: Vec<(usize, [u8; 32])> = uris
        .iter()
        .enumerate()
        .filter_map(|(i, u)| {
            uid(u.as_bytes(), kms_uri.as_bytes(), periods, period_no)
                .ok()
                .map(|id| (i, id))
        })
        .collect();
    let ids: Vec<&[u8]> = uids.iter().map(|(_, u)| u.as_slice()).collect();
    let rsks = master.sakke.issue_rsks(&ids);
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    // The issued RSKs, with their positions in `uris`, checked together.
    let issued: Vec<(usize, &[u8], &ReceiverSecretKey)> = uids
        .iter()
        .zip(&rsks)
        .filter_map(|((i, u), r)| r.as_ref().ok().map(|r| (*i, u.as_slice(), r)))
        .collect();
    let batch: Vec<(&ReceiverSecretKey, &[u8])> = issued.iter().map(|(_, u, r)| (*r, *u)).collect();
    let bad: Vec<usize> = match master.sakke.check_issued_rsks(&batch, &mut rng) {
        Ok(()) => Vec::new(),
        Err(e) => e
            .bad()
            .iter()
            .filter_map(|&j| issued.get(j))
            .map(|x| x.0)
            .collect(),
    };
    // The (SSK, PVT) pairs of the URIs whose RSK passed, checked together.
    let pairs: Vec<Option<(Ssk, Pvt)>> = uids
        .iter()
        .zip(&rsks)
        .map(|((i, user_id), rsk)| match rsk {
            Ok(_) if !bad.contains(i) => master.eccsi.issue(user_id, &mut rng).ok(),
            _ => None,
        })
        .collect();
    let to_check: Vec<(usize, PairRef<'_>)> = uids
        .iter()
        .zip(&pairs)
        .filter_map(|((i, u), p)| p.as_ref().map(|(s, v)| (*i, (u.as_slice(), s, v))))
        .collect();
    let checked: Vec<PairRef<'_>> = to_check.iter().map(|(_, t)| *t).collect();
    // The batch check runs against the key pair's own KPAK; the published one must be it (a
    // store checks this when it opens the keys; `MasterKeys` built by hand may not match).
    let kpak_is_published = master.eccsi.kpak() == &master.kpak;
    let bad_pairs: Vec<usize> = match master.eccsi.check_issued(&checked, &mut rng) {
        Ok(()) if kpak_is_published => Vec::new(),
        Ok(()) => to_check.iter().map(|x| x.0).collect(),
        Err(positions) => positions
            .iter()
            .filter_map(|&j| to_check.get(j))
            .map(|x| x.0)
            .collect(),
    };
    let issued_at = now_secs();
    for (((i, user_id), rsk), pair) in uids.iter().zip(rsks).zip(pairs) {
        let uri = uris[*i];
        out[*i] = match (rsk, pair) {
            (Err(_), _) => Err(ProvisionError::NoRsk(uri.into())),
            (Ok(_), _) if bad.contains(i) || bad_pairs.contains(i) => {
                Err(ProvisionError::SelfCheckFailed(uri.into()))
            }
            (Ok(_), None) => Err(ProvisionError::SelfCheckFailed(uri.into())),
            (Ok(rsk), Some((ssk, pvt))) => Ok(IssuedKeySet {
                uri: uri.to_string(),
                period_no,
                generation: master.generation,
                user_id: *user_id,
                rsk,
                ssk,
                pvt,
                issued_at,
            }),
        };
    }
    out
}

/// An identifier with its freshly issued (SSK, PVT), as [`crate::eccsi::KmsKeyPair::check_issued`]
/// takes them.
type PairRef<'a> = (&'a [u8], &'a Ssk, &'a Pvt);

/// Seconds since the Unix epoch (0 before it).
fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// One result of a batch: the key set as recorded, and `new`: `true` if issued by this run,
/// `false` if it was recorded already.
pub type Provisioned = Recorded;

/// Provisions every (URI, period) pair: registers the URIs, returns recorded key sets as they
/// are and issues the missing ones on all cores. `on_progress` is called with the number of
/// sets done so far, after each commit.
///
/// # Errors
/// The first [`ProvisionError`]; sets committed before it stay recorded. A revoked URI is
/// [`StoreError::Revoked`] before anything is done.
pub fn provision(
    store: &dyn KmsStore,
    uris: &[String],
    kind: PrincipalKind,
    period_nos: &[u64],
    on_progress: &(dyn Fn(u64) + Sync),
) -> Result<Vec<Provisioned>, ProvisionError> {
    let config = store.config().clone();
    // A revoked URI refuses the batch before anything is registered or issued (the store's
    // `record` refuses it too, inside its transaction).
    for u in uris {
        super::store::refuse_revoked(store, u)?;
    }
    // One transaction for the batch (one fsync on SQLite instead of one per URI).
    store.register_all(uris, kind)?;
    let mut out = Vec::with_capacity(uris.len() * period_nos.len());
    let mut done = 0u64;
    for &period in period_nos {
        let master = store.master_keys(period)?;
        let mut todo = Vec::new();
        for u in uris {
            match store.issued(u, period)? {
                Some(set) => {
                    out.push(Provisioned { set, new: false });
                    done += 1;
                }
                None => todo.push(u.as_str()),
            }
        }
        on_progress(done);
        for chunk in todo.chunks(CHUNK * rayon::current_num_threads().max(1)) {
            let issued: Vec<Result<IssuedKeySet, ProvisionError>> = chunk
                .par_chunks(CHUNK)
                .flat_map_iter(|part| {
                    issue_key_sets(&master, &config.kms_uri, config.periods, part, period)
                })
                .collect();
            let issued: Vec<IssuedKeySet> = issued.into_iter().collect::<Result<_, _>>()?;
            let mut issued = issued.into_iter().peekable();
            while issued.peek().is_some() {
                let part: Vec<IssuedKeySet> = issued.by_ref().take(CHUNK).collect();
                let n = u64::try_from(part.len()).unwrap_or(0);
                // Insert-or-return: a set another process recorded first comes back in place
                // of ours, and that record is the one handed out.
                let recorded = store.record(part)?;
                done += n;
                on_progress(done);
                out.extend(recorded);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eccsi::KmsKeyPair;
    use crate::sakke::MasterSecret;

    /// A chunk gives, in the order of the URIs, the refusal of a URI too long for a UID and
    /// key sets that the receivers' own checks accept (RFC 6508 s6.1.2, RFC 6507 s5.1.2).
    #[test]
    fn a_chunk_keeps_its_order_and_validates() {
        let z = MasterSecret::from_bytes(&[0x5A; 64]).expect("z");
        let eccsi =
            KmsKeyPair::from_ksak(crate::eccsi::Ksak::from_bytes(&[0x17; 32]).expect("ksak"));
        let master = MasterKeys {
            generation: 1,
            first_period: 0,
            last_period: None,
            sakke_public: z.public_key(),
            sakke: z,
            kpak: eccsi.kpak().clone(),
            eccsi,
        };
        let periods = KeyPeriods {
            length: 2_592_000,
            offset: 0,
        };
        let long = format!("sip:{}@example.org", "x".repeat(70_000));
        let uris = ["sip:a@example.org", long.as_str(), "sip:b@example.org"];
        let got = issue_key_sets(&master, "kms.example.org", periods, &uris, 9);
        assert_eq!(got.len(), 3);
        assert!(matches!(&got[1], Err(ProvisionError::BadUri(u)) if u == &long));
        for (i, set) in [(0, &got[0]), (2, &got[2])] {
            let set = set.as_ref().expect("issued");
            assert_eq!(set.uri, uris[i]);
            set.rsk
                .validate(&master.sakke_public, &set.user_id)
                .expect("RSK");
            SigningKey::new(&master.kpak, &set.user_id, set.ssk.clone(), &set.pvt).expect("SSK");
        }
        // Keys whose published KPAK is not the key pair's: every pair fails its check, as
        // each would fail the receivers' validation against the published KPAK.
        let other =
            KmsKeyPair::from_ksak(crate::eccsi::Ksak::from_bytes(&[0x18; 32]).expect("ksak"));
        let mismatched = MasterKeys {
            kpak: other.kpak().clone(),
            ..master
        };
        let got = issue_key_sets(&mismatched, "kms.example.org", periods, &uris, 9);
        assert!(matches!(&got[0], Err(ProvisionError::SelfCheckFailed(u)) if u == uris[0]));
        assert!(matches!(&got[1], Err(ProvisionError::BadUri(_))));
        assert!(matches!(&got[2], Err(ProvisionError::SelfCheckFailed(u)) if u == uris[2]));
    }
}
