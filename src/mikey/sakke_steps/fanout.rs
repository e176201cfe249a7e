//! One key to many recipients of one KMS (a group manager's GMK fan-out): batched SAKKE
//! encapsulation and the parallel loop, with the batch-size rules in one place.

#[cfg(feature = "parallel")]
use rayon::prelude::*;

use crate::sakke::{self, EncapsulatedData, PreparedKms, Ssv};

/// The RNG each batch of [`fan_out`] draws from: the operating system's, one handle per
/// batch (batches run on different threads).
pub type FanOutRng = rand_core::UnwrapErr<getrandom::SysRng>;

/// Group size from which the fan-out builds the wide tables (their cost, about 60
/// encapsulations, is then repaid by the quarter fewer additions per member).
const WIDE_TABLES_FROM: usize = 128;

/// Members per batch of the fan-out: about four batches per core, so that the cores stay
/// busy to the end, but at least 8 (one pass over the KMS tables serves the whole batch) and
/// at most 128. Large groups get batches of 32 or more, which encapsulate with affine
/// additions and one shared inversion per window (`FixedBaseTable::mul_many_affine`).
fn batch_size(members: usize) -> usize {
    #[cfg(feature = "parallel")]
    let threads = rayon::current_num_threads().max(1);
    #[cfg(not(feature = "parallel"))]
    let threads = 1;
    members.div_ceil(4 * threads).clamp(8, 128)
}

/// Encapsulates `key` to every member and builds one message each, on all cores: members go
/// in batches, each batch derives its members' SAKKE identifiers with `identity`,
/// encapsulates to all of them in one pass over the KMS tables
/// ([`sakke::hazmat::encapsulate_many_with_ssv_kms`]), then calls `build` per member with the
/// batch's RNG, the member, its identifier and its Encapsulated Data. From 128 members on,
/// the wide tables of `kms` are built first ([`PreparedKms::prepare_batches`]). The results
/// come in the order of `members`. This is the one parallel loop of message building (on one
/// thread without the `parallel` feature).
///
/// # Errors
/// The first error of `identity` or `build`.
///
/// # Security
/// `key` is sent to every member (RFC 6508 s6.3): it must be a fresh key from a
/// cryptographic RNG.
pub fn fan_out<M, I, T, E, F, B>(
    key: &Ssv,
    kms: &PreparedKms,
    members: &[M],
    identity: F,
    build: B,
) -> Result<Vec<T>, E>
where
    M: Sync,
    I: AsRef<[u8]>,
    T: Send,
    E: Send,
    F: Fn(&M) -> Result<I, E> + Sync,
    B: Fn(&mut FanOutRng, &M, &I, &EncapsulatedData) -> Result<T, E> + Sync,
{
    if members.len() >= WIDE_TABLES_FROM {
        kms.prepare_batches();
    }
    let one_batch = |batch: &[M]| -> Result<Vec<T>, E> {
        let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
        let ids = batch.iter().map(&identity).collect::<Result<Vec<I>, E>>()?;
        let refs: Vec<&[u8]> = ids.iter().map(AsRef::as_ref).collect();
        let eds = sakke::hazmat::encapsulate_many_with_ssv_kms(key, kms, &refs);
        batch
            .iter()
            .zip(&ids)
            .zip(&eds)
            .map(|((member, id), ed)| build(&mut rng, member, id, ed))
            .collect()
    };
    #[cfg(feature = "parallel")]
    let batches: Vec<Vec<T>> = members
        .par_chunks(batch_size(members.len()))
        .map(one_batch)
        .collect::<Result<_, E>>()?;
    #[cfg(not(feature = "parallel"))]
    let batches: Vec<Vec<T>> = members
        .chunks(batch_size(members.len()))
        .map(one_batch)
        .collect::<Result<_, E>>()?;
    Ok(batches.into_iter().flatten().collect())
}
