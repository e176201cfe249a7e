//! Master-key rotation: a new generation of master secrets (SAKKE z, ECCSI KSAK) for the key
//! periods from a time on (RFC 6509 s3.2: master keys change only at a key period boundary).
//! Key sets of earlier periods keep being served from the generation that issued them; the
//! KMS certificate of each generation carries its `ValidFrom` and `ValidTo`
//! ([`super::documents::certificate`]), and the service serves it for its periods at
//! `/init/<NTP time>` ([`super::service`]; plain `/init` gives the current period's).

use rand_core::CryptoRng;

use super::store::{KmsStore, StoreError};

/// A generation started by [`rotate`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rotation {
    /// The new generation's number.
    pub generation: i64,
    /// The first key period it serves.
    pub first_period: u64,
    /// The NTP time (seconds) at which that period starts.
    pub starts_at: u64,
}

/// Starts a new master-key generation at the first key period that begins at or after
/// `effective` (NTP seconds). That period must lie after the current one (the period of `now`,
/// NTP seconds), so that no client has been given the old certificate for it, and no key set of
/// it (or later) may be recorded yet (checked by the store in its transaction).
///
/// # Errors
/// [`StoreError::Invalid`] naming the earliest acceptable time for an `effective` time too
/// early, or when key sets of those periods are recorded already; backend errors.
pub fn rotate(
    store: &dyn KmsStore,
    effective: u64,
    now: u64,
    rng: &mut dyn CryptoRng,
) -> Result<Rotation, StoreError> {
    let periods = store.config().periods;
    let bad = |why: String| StoreError::Invalid(why);
    let current = periods
        .period_number(now)
        .map_err(|e| bad(format!("the current time: {e}")))?;
    let mut first = periods
        .period_number(effective)
        .map_err(|e| bad(format!("the effective time: {e}")))?;
    if periods.period_start(first).is_some_and(|s| s < effective) {
        first = first.saturating_add(1);
    }
    let next = current.saturating_add(1);
    if first < next {
        let earliest = periods
            .period_start(next)
            .map_or_else(|| "later".to_string(), crate::input::rfc3339);
        return Err(bad(format!(
            "a new master-key generation must start after the current key period {current}: \
             give an effective time of {earliest} or later"
        )));
    }
    let starts_at = periods
        .period_start(first)
        .ok_or_else(|| bad("the effective time is too far in the future".into()))?;
    let generation = store.add_generation(first, rng)?;
    Ok(Rotation {
        generation,
        first_period: first,
        starts_at,
    })
}
