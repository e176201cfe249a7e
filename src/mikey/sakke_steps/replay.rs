//! The replay cache of authenticated I_MESSAGEs (RFC 3830 s5.4) and its stable encoding.

use std::collections::{HashSet, VecDeque};

use super::{StepError, TimeCheck, Verified};

/// The largest capacity a [`ReplayCache`] takes (and [`ReplayCache::from_bytes`] reads):
/// about 40 MB of entries.
pub const MAX_REPLAY_CAPACITY: usize = 1 << 20;

/// What the replay cache records of a message: SHA-256 of its signed octets without the
/// signature (HDR through the two SIGN header octets, RFC 3830 s5.2). Changing any of these
/// octets needs the signer's key; changing the signature (e.g. `s` into `q - s`) does not
/// change the key. Public data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ReplayKey([u8; 32]);

impl ReplayKey {
    /// The key with these 32 octets (as [`Self::as_bytes`] gives them).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 octets.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// A bounded replay cache of authenticated messages (RFC 3830 s5.4), keyed on [`ReplayKey`].
///
/// * At most `capacity` entries: when full, the oldest entry (first recorded) is evicted. A
///   message evicted while its timestamp is still inside the clock-skew window could be
///   replayed, so size the cache for the messages one window can bring.
/// * Entries whose message time is older than the window (`now - max_skew`) are dropped from
///   the oldest end on every insertion ([`Self::expire`] drops all of them): the timestamp
///   check refuses such messages anyway, so they can never match again.
/// * [`Self::to_bytes`] / [`Self::from_bytes`] give it a stable encoding, for keeping it
///   across restarts.
#[derive(Clone, Debug)]
pub struct ReplayCache {
    capacity: usize,
    order: VecDeque<(u64, ReplayKey)>,
    seen: HashSet<ReplayKey>,
}

/// Magic of the encoding: "MIKEY-SAKKE replay cache".
const MAGIC: [u8; 4] = *b"MSRC";
/// Version of the encoding.
const VERSION: u8 = 1;
/// Magic, version, capacity, count.
const HEADER_LEN: usize = 4 + 1 + 4 + 4;
/// Message seconds and key.
const ENTRY_LEN: usize = 8 + 32;

/// Why [`ReplayCache::from_bytes`] refused its input.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplayCacheError {
    /// Shorter than the 13-octet header.
    TooShort(usize),
    /// The first four octets are not `MSRC`.
    BadMagic,
    /// An encoding version this crate does not know.
    UnsupportedVersion(u8),
    /// The capacity is 0 or above [`MAX_REPLAY_CAPACITY`].
    BadCapacity(u64),
    /// More entries than the capacity.
    TooManyEntries {
        /// The entry count.
        count: u64,
        /// The capacity.
        capacity: u64,
    },
    /// The length does not match the entry count.
    BadLength {
        /// The length the count implies.
        expected: u64,
        /// The length given.
        actual: usize,
    },
    /// An entry's key appears twice (at this entry index).
    DuplicateEntry(usize),
}

impl core::fmt::Display for ReplayCacheError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::TooShort(n) => write!(f, "replay cache: {n} octets, shorter than its header"),
            Self::BadMagic => f.write_str("not a replay cache (bad magic)"),
            Self::UnsupportedVersion(v) => write!(f, "replay cache: unsupported version {v}"),
            Self::BadCapacity(c) => write!(
                f,
                "replay cache: capacity {c} not in 1..={MAX_REPLAY_CAPACITY}"
            ),
            Self::TooManyEntries { count, capacity } => write!(
                f,
                "replay cache: {count} entries for a capacity of {capacity}"
            ),
            Self::BadLength { expected, actual } => write!(
                f,
                "replay cache: {actual} octets, its entry count needs {expected}"
            ),
            Self::DuplicateEntry(i) => write!(f, "replay cache: entry {i} is a duplicate"),
        }
    }
}

impl std::error::Error for ReplayCacheError {}

impl ReplayCache {
    /// A cache holding at most `capacity` messages (at least 1, at most
    /// [`MAX_REPLAY_CAPACITY`]).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.clamp(1, MAX_REPLAY_CAPACITY),
            order: VecDeque::new(),
            seen: HashSet::new(),
        }
    }

    /// The capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether there is no entry.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Whether `key` is recorded.
    pub fn contains(&self, key: &ReplayKey) -> bool {
        self.seen.contains(key)
    }

    /// Records `key` of a message sent at `seconds` (NTP seconds) under the clock of `time`:
    /// drops expired entries from the oldest end, then `false` if `key` is already recorded
    /// (a replay), else evicts the oldest entries down to the capacity and records it.
    pub fn insert(&mut self, key: ReplayKey, seconds: u64, time: TimeCheck) -> bool {
        let oldest = time.oldest_allowed();
        while let Some(&(t, k)) = self.order.front() {
            if t >= oldest {
                break;
            }
            self.order.pop_front();
            self.seen.remove(&k);
        }
        if self.seen.contains(&key) {
            return false;
        }
        while self.order.len() >= self.capacity {
            match self.order.pop_front() {
                Some((_, k)) => {
                    self.seen.remove(&k);
                }
                None => break,
            }
        }
        self.seen.insert(key);
        self.order.push_back((seconds, key));
        true
    }

    /// The replay step (RFC 3830 s5.4) for an authenticated message: records it, or refuses
    /// it if it was seen before (with any encoding of its signature).
    ///
    /// # Errors
    /// [`StepError::Replay`].
    pub fn check_and_record(
        &mut self,
        verified: &Verified<'_, '_>,
        time: TimeCheck,
    ) -> Result<(), StepError> {
        if self.insert(*verified.replay_key(), verified.message().seconds(), time) {
            Ok(())
        } else {
            Err(StepError::Replay)
        }
    }

    /// Drops every entry whose message time is older than `time` allows (e.g. before
    /// [`Self::to_bytes`]).
    pub fn expire(&mut self, time: TimeCheck) {
        let oldest = time.oldest_allowed();
        let seen = &mut self.seen;
        self.order.retain(|&(t, k)| {
            let keep = t >= oldest;
            if !keep {
                seen.remove(&k);
            }
            keep
        });
    }

    /// The stable encoding: `MSRC`, version 1, the capacity and the entry count (4 octets
    /// each, big-endian), then per entry, oldest first, the message seconds (8 octets,
    /// big-endian) and the 32-octet key.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + ENTRY_LEN * self.order.len());
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        // Both are at most MAX_REPLAY_CAPACITY, which fits in 32 bits.
        out.extend_from_slice(
            &u32::try_from(self.capacity)
                .unwrap_or(u32::MAX)
                .to_be_bytes(),
        );
        out.extend_from_slice(
            &u32::try_from(self.order.len())
                .unwrap_or(u32::MAX)
                .to_be_bytes(),
        );
        for (t, k) in &self.order {
            out.extend_from_slice(&t.to_be_bytes());
            out.extend_from_slice(k.as_bytes());
        }
        out
    }

    /// Reads [`Self::to_bytes`]'s encoding. Bounded: the capacity must be at most
    /// [`MAX_REPLAY_CAPACITY`], the entry count at most the capacity, and the length exactly
    /// what the count implies, before anything is allocated.
    ///
    /// # Errors
    /// [`ReplayCacheError`] for anything else, including a duplicate key.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ReplayCacheError> {
        let (header, body) = bytes
            .split_first_chunk::<HEADER_LEN>()
            .ok_or(ReplayCacheError::TooShort(bytes.len()))?;
        let (magic, rest) = header.split_at(4);
        if magic != MAGIC {
            return Err(ReplayCacheError::BadMagic);
        }
        let (version, rest) = rest.split_at(1);
        if version != [VERSION] {
            return Err(ReplayCacheError::UnsupportedVersion(
                version.first().copied().unwrap_or(0),
            ));
        }
        let (cap, count) = rest.split_at(4);
        let be32 = |b: &[u8]| u64::from(u32::from_be_bytes(b.try_into().unwrap_or([0xff; 4])));
        let (capacity, count) = (be32(cap), be32(count));
        let max = u64::try_from(MAX_REPLAY_CAPACITY).unwrap_or(u64::MAX);
        if capacity == 0 || capacity > max {
            return Err(ReplayCacheError::BadCapacity(capacity));
        }
        if count > capacity {
            return Err(ReplayCacheError::TooManyEntries { count, capacity });
        }
        let expected = count * ENTRY_LEN as u64;
        if u64::try_from(body.len()).ok() != Some(expected) {
            return Err(ReplayCacheError::BadLength {
                expected: expected + HEADER_LEN as u64,
                actual: bytes.len(),
            });
        }
        let mut cache = Self::new(usize::try_from(capacity).unwrap_or(MAX_REPLAY_CAPACITY));
        for (i, entry) in body.chunks_exact(ENTRY_LEN).enumerate() {
            let (t, k) = entry.split_at(8);
            let t = u64::from_be_bytes(t.try_into().unwrap_or([0; 8]));
            let k = ReplayKey(k.try_into().unwrap_or([0; 32]));
            if !cache.seen.insert(k) {
                return Err(ReplayCacheError::DuplicateEntry(i));
            }
            cache.order.push_back((t, k));
        }
        Ok(cache)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn key(i: u32) -> ReplayKey {
        let mut k = [0u8; 32];
        k[..4].copy_from_slice(&i.to_be_bytes());
        ReplayKey::from_bytes(k)
    }

    #[test]
    fn capacity_bound_evicts_the_oldest() {
        let mut c = ReplayCache::new(4);
        for i in 0..10 {
            assert!(c.insert(key(i), 1000, TimeCheck::Disabled));
            assert!(c.len() <= 4);
        }
        assert_eq!(c.len(), 4);
        for i in 0..6 {
            assert!(!c.contains(&key(i)), "{i} evicted");
        }
        for i in 6..10 {
            assert!(c.contains(&key(i)));
            assert!(
                !c.insert(key(i), 1000, TimeCheck::Disabled),
                "{i} is a replay"
            );
        }
        // A replay of a recorded entry does not evict anything.
        assert_eq!(c.len(), 4);
        assert_eq!(ReplayCache::new(0).capacity(), 1);
        assert_eq!(ReplayCache::new(usize::MAX).capacity(), MAX_REPLAY_CAPACITY);
    }

    #[test]
    fn entries_older_than_the_window_are_dropped() {
        let mut c = ReplayCache::new(16);
        let at = |now| TimeCheck::Window { now, max_skew: 60 };
        assert!(c.insert(key(1), 1000, at(1000)));
        assert!(c.insert(key(2), 1030, at(1030)));
        assert!(!c.insert(key(1), 1000, at(1059)));
        // key(1)'s time 1000 is older than 1061 - 60.
        assert!(c.insert(key(3), 1061, at(1061)));
        assert!(!c.contains(&key(1)));
        assert!(c.contains(&key(2)));
        // Out-of-order times: expire() drops every stale entry.
        assert!(c.insert(key(4), 1200, at(1200)));
        assert!(c.insert(key(5), 1150, at(1200)));
        c.expire(at(1250));
        assert!(!c.contains(&key(5)) && !c.contains(&key(3)) && c.contains(&key(4)));
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn encoding_round_trips() {
        let mut c = ReplayCache::new(5);
        for i in 0..7 {
            c.insert(key(i), 4000 + u64::from(i), TimeCheck::Disabled);
        }
        let b = c.to_bytes();
        assert_eq!(b.len(), HEADER_LEN + 5 * ENTRY_LEN);
        let d = ReplayCache::from_bytes(&b).unwrap();
        assert_eq!(d.capacity(), 5);
        assert_eq!(d.order, c.order);
        assert_eq!(d.seen, c.seen);
        assert_eq!(d.to_bytes(), b);
        let e = ReplayCache::from_bytes(&ReplayCache::new(3).to_bytes()).unwrap();
        assert!(e.is_empty() && e.capacity() == 3);
        // Oldest-first order survives: the next insertion evicts key(2).
        let mut d = d;
        d.insert(key(100), 5000, TimeCheck::Disabled);
        assert!(!d.contains(&key(2)) && d.contains(&key(3)));
    }

    #[test]
    fn encoding_rejects_garbage() {
        let mut c = ReplayCache::new(4);
        c.insert(key(1), 1, TimeCheck::Disabled);
        c.insert(key(2), 2, TimeCheck::Disabled);
        let good = c.to_bytes();
        let with = |at: usize, v: u8| {
            let mut b = good.clone();
            b[at] = v;
            b
        };
        use ReplayCacheError as E;
        assert_eq!(ReplayCache::from_bytes(&[]).unwrap_err(), E::TooShort(0));
        assert_eq!(
            ReplayCache::from_bytes(&good[..12]).unwrap_err(),
            E::TooShort(12)
        );
        assert_eq!(
            ReplayCache::from_bytes(&with(0, b'X')).unwrap_err(),
            E::BadMagic
        );
        assert_eq!(
            ReplayCache::from_bytes(&with(4, 2)).unwrap_err(),
            E::UnsupportedVersion(2)
        );
        // capacity 0, and 0xFF000004 > MAX
        let mut b = good.clone();
        b[5..9].copy_from_slice(&[0, 0, 0, 0]);
        assert_eq!(ReplayCache::from_bytes(&b).unwrap_err(), E::BadCapacity(0));
        assert_eq!(
            ReplayCache::from_bytes(&with(5, 0xff)).unwrap_err(),
            E::BadCapacity(0xff00_0004)
        );
        // count above the capacity: refused before any allocation
        let mut b = good.clone();
        b[9..13].copy_from_slice(&[0, 0, 0, 5]);
        assert_eq!(
            ReplayCache::from_bytes(&b).unwrap_err(),
            E::TooManyEntries {
                count: 5,
                capacity: 4
            }
        );
        // truncated and over-long bodies
        for b in [
            &good[..good.len() - 1],
            &[good.as_slice(), &[0]].concat()[..],
        ] {
            assert!(matches!(
                ReplayCache::from_bytes(b).unwrap_err(),
                E::BadLength { .. }
            ));
        }
        // a duplicated key
        let mut b = good.clone();
        let (first, second) = (HEADER_LEN + 8, HEADER_LEN + ENTRY_LEN + 8);
        let k: Vec<u8> = b[first..first + 32].to_vec();
        b[second..second + 32].copy_from_slice(&k);
        assert_eq!(
            ReplayCache::from_bytes(&b).unwrap_err(),
            E::DuplicateEntry(1)
        );
        // every single-octet corruption of the header: an error or a valid cache, no panic
        for i in 0..HEADER_LEN {
            for v in [0u8, 1, 0x7f, 0xff] {
                let _ = ReplayCache::from_bytes(&with(i, v));
            }
        }
    }
}
