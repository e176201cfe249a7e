//! What a client keeps between runs, in a state directory: a bounded replay cache (so that a
//! message received in one run is refused as a replay in the next, including a copy with the
//! signature altered into `(r, q - s)`: the cache keys on the signed octets without the
//! signature, [`crate::mikey::sakke_steps::ReplayKey`]) and the last GMK received for each
//! group.
//!
//! # Files
//!
//! * `replay-cache`: [`ReplayCache::to_bytes`] (at most [`MAX_REPLAY_FILE`] octets read);
//! * `group-keys`: `MSGK`, version 1, the entry count (4 octets, big-endian), then per group
//!   the group ID's length (2 octets) and octets (UTF-8, at most [`MAX_GROUP_ID`]), the
//!   GMK-ID (4), the message's NTP seconds (8) and the GMK (16); at most
//!   [`MAX_GROUPS`] groups;
//! * `lock`: held (an exclusive advisory lock) while a [`ClientState`] is open, so that two
//!   runs do not lose each other's entries.
//!
//! Both data files are written atomically with mode 0600 and never through a symbolic link
//! ([`crate::output::write_secret_file`]); the directory is created with mode 0700. A file
//! that does not decode is a [`StateError::Corrupt`] naming it: it is never silently replaced.
//!
//! # The GMKs are secret
//!
//! `group-keys` holds GMKs in the clear, protected like the key-set files (which hold the RSK
//! and SSK) by the file mode only: not sealed under a passphrase. In memory every GMK is an
//! [`Ssv`] (zeroized on drop), and the buffers the file is read into and encoded in are
//! zeroized too. Keep the state directory on a disk only its user can read.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::mcx::imessage::{ReceivedKey, ReplayCache, TimeCheck};
use crate::mcx::key_id::{KeyId, PurposeTag};
use crate::mikey::sakke_steps::MAX_REPLAY_CAPACITY;
use crate::sakke::Ssv;

/// The name of the state directory under the user's data directory.
pub const DIR_NAME: &str = "mikey-sakke";
/// The replay cache's file in the state directory.
pub const REPLAY_FILE: &str = "replay-cache";
/// The group keys' file in the state directory.
pub const GROUP_KEYS_FILE: &str = "group-keys";
/// The lock file in the state directory.
pub const LOCK_FILE: &str = "lock";
/// The capacity of a new replay cache: the messages one clock-skew window may bring to one
/// client, with a wide margin (400 KB on disk when full).
pub const DEFAULT_REPLAY_CAPACITY: usize = 10_000;
/// The largest replay-cache file read: a cache of [`MAX_REPLAY_CAPACITY`] entries.
pub const MAX_REPLAY_FILE: usize = 13 + 40 * MAX_REPLAY_CAPACITY;
/// The most groups whose last GMK is kept.
pub const MAX_GROUPS: usize = 4096;
/// The longest group ID kept (as a URI in a list, [`crate::input::caps::URI`]).
pub const MAX_GROUP_ID: usize = crate::input::caps::URI;
/// The largest group-keys file read.
pub const MAX_GROUP_KEYS_FILE: usize = 9 + MAX_GROUPS * (2 + MAX_GROUP_ID + 4 + 8 + 16);

const GROUP_MAGIC: [u8; 4] = *b"MSGK";
const GROUP_VERSION: u8 = 1;

/// The default state directory: `$XDG_DATA_HOME/mikey-sakke`, else
/// `$HOME/.local/share/mikey-sakke` (each only when set to an absolute path).
pub fn default_dir() -> Option<PathBuf> {
    let absolute = |v: std::ffi::OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    std::env::var_os("XDG_DATA_HOME")
        .and_then(absolute)
        .or_else(|| {
            std::env::var_os("HOME")
                .and_then(absolute)
                .map(|h| h.join(".local").join("share"))
        })
        .map(|d| d.join(DIR_NAME))
}

/// Why the state could not be opened or saved. Never shows a key.
#[derive(Debug)]
#[non_exhaustive]
pub enum StateError {
    /// The directory or a file could not be created, locked or read.
    Io {
        /// The path.
        path: PathBuf,
        /// The operating system's message.
        reason: String,
    },
    /// A file does not decode (or is larger than its cap).
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A file could not be written.
    Write(crate::output::WriteError),
}

impl core::fmt::Display for StateError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Io { path, reason } => write!(f, "client state {}: {reason}", path.display()),
            Self::Corrupt { path, reason } => write!(
                f,
                "client state {}: {reason} (move the file away to start afresh)",
                path.display()
            ),
            Self::Write(e) => write!(f, "client state: {e}"),
        }
    }
}

impl std::error::Error for StateError {}

/// The last GMK received for a group.
#[derive(Debug)]
pub struct GroupKeyEntry {
    /// The GMK-ID.
    pub gmk_id: KeyId,
    /// The message's NTP seconds.
    pub seconds: u64,
    /// The GMK (secret: zeroized on drop).
    pub gmk: Ssv,
}

// The GMK is an `Ssv`, zeroized on drop; the GMK-ID and the time are public.
impl zeroize::ZeroizeOnDrop for GroupKeyEntry {}

/// A client's state, loaded from its directory and locked there until dropped.
#[derive(Debug)]
pub struct ClientState {
    dir: PathBuf,
    replay: ReplayCache,
    groups: BTreeMap<String, GroupKeyEntry>,
    _lock: File,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |e| StateError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Reads a state file with a cap; `None` if it does not exist.
fn read_capped(path: &Path, cap: usize) -> Result<Option<Zeroizing<Vec<u8>>>, StateError> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(path)(e)),
        Ok(m) if !m.file_type().is_file() => {
            return Err(StateError::Corrupt {
                path: path.to_path_buf(),
                reason: "not a regular file".into(),
            });
        }
        Ok(_) => {}
    }
    match crate::input::read_bounded(path, cap) {
        Ok(b) => Ok(Some(Zeroizing::new(b))),
        Err(crate::input::InputError::TooLarge { cap, .. }) => Err(StateError::Corrupt {
            path: path.to_path_buf(),
            reason: format!("larger than its {cap}-octet limit"),
        }),
        Err(e) => Err(StateError::Io {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }),
    }
}

/// Decodes the group-keys file.
///
/// # Errors
/// What is wrong, for [`StateError::Corrupt`].
pub fn decode_group_keys(bytes: &[u8]) -> Result<BTreeMap<String, GroupKeyEntry>, String> {
    fn take<'b>(b: &mut &'b [u8], n: usize) -> Result<&'b [u8], String> {
        if b.len() < n {
            return Err("truncated".into());
        }
        let (h, t) = b.split_at(n);
        *b = t;
        Ok(h)
    }
    let mut b = bytes;
    if take(&mut b, 4)? != GROUP_MAGIC {
        return Err("not a group-keys file (bad magic)".into());
    }
    let version = take(&mut b, 1)?;
    if version != [GROUP_VERSION] {
        return Err(format!("unsupported version {}", version[0]));
    }
    let mut n4 = [0u8; 4];
    n4.copy_from_slice(take(&mut b, 4)?);
    let count = u32::from_be_bytes(n4) as usize;
    if count > MAX_GROUPS {
        return Err(format!("{count} groups, more than {MAX_GROUPS}"));
    }
    let mut groups = BTreeMap::new();
    for i in 0..count {
        let mut n2 = [0u8; 2];
        n2.copy_from_slice(take(&mut b, 2)?);
        let len = usize::from(u16::from_be_bytes(n2));
        if len == 0 || len > MAX_GROUP_ID {
            return Err(format!("entry {i}: group ID of {len} octets"));
        }
        let group = core::str::from_utf8(take(&mut b, len)?)
            .map_err(|_| format!("entry {i}: group ID not UTF-8"))?
            .to_string();
        let gmk_id = KeyId::from_bytes(
            take(&mut b, 4)?
                .try_into()
                .map_err(|_| "truncated".to_string())?,
        );
        if gmk_id.purpose() != Some(PurposeTag::Gmk) {
            return Err(format!("entry {i}: not a GMK-ID"));
        }
        let mut s8 = [0u8; 8];
        s8.copy_from_slice(take(&mut b, 8)?);
        let gmk = Ssv::from_slice(take(&mut b, 16)?).map_err(|_| "truncated".to_string())?;
        let entry = GroupKeyEntry {
            gmk_id,
            seconds: u64::from_be_bytes(s8),
            gmk,
        };
        if groups.insert(group, entry).is_some() {
            return Err(format!("entry {i}: a group named twice"));
        }
    }
    if !b.is_empty() {
        return Err(format!("{} octets after the last entry", b.len()));
    }
    Ok(groups)
}

/// Encodes the group keys (the inverse of [`decode_group_keys`]); the buffer is zeroized on
/// drop.
pub fn encode_group_keys(groups: &BTreeMap<String, GroupKeyEntry>) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(
        9 + groups.keys().map(|g| 30 + g.len()).sum::<usize>(),
    ));
    out.extend_from_slice(&GROUP_MAGIC);
    out.push(GROUP_VERSION);
    // At most MAX_GROUPS entries, each group ID at most MAX_GROUP_ID octets (record_group_key).
    out.extend_from_slice(&u32::try_from(groups.len()).unwrap_or(0).to_be_bytes());
    for (g, e) in groups {
        out.extend_from_slice(&u16::try_from(g.len()).unwrap_or(0).to_be_bytes());
        out.extend_from_slice(g.as_bytes());
        out.extend_from_slice(&e.gmk_id.to_bytes());
        out.extend_from_slice(&e.seconds.to_be_bytes());
        out.extend_from_slice(e.gmk.as_bytes());
    }
    out
}

impl ClientState {
    /// Opens (creating it, mode 0700, if missing) and locks the state directory `dir`, and
    /// loads its files; missing files start empty (a replay cache of
    /// [`DEFAULT_REPLAY_CAPACITY`]). Waits for another run holding the lock.
    ///
    /// # Errors
    /// [`StateError::Io`] if the directory cannot be made or locked, [`StateError::Corrupt`]
    /// for a file that does not decode or is over its cap.
    pub fn open(dir: &Path) -> Result<Self, StateError> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(io_err(dir))?;
        let lock_path = dir.join(LOCK_FILE);
        let mut options = std::fs::OpenOptions::new();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let lock = options.open(&lock_path).map_err(io_err(&lock_path))?;
        lock.lock().map_err(io_err(&lock_path))?;
        let replay_path = dir.join(REPLAY_FILE);
        let replay = match read_capped(&replay_path, MAX_REPLAY_FILE)? {
            Some(b) => ReplayCache::from_bytes(&b).map_err(|e| StateError::Corrupt {
                path: replay_path.clone(),
                reason: e.to_string(),
            })?,
            None => ReplayCache::new(DEFAULT_REPLAY_CAPACITY),
        };
        let groups_path = dir.join(GROUP_KEYS_FILE);
        let groups = match read_capped(&groups_path, MAX_GROUP_KEYS_FILE)? {
            Some(b) => decode_group_keys(&b).map_err(|reason| StateError::Corrupt {
                path: groups_path.clone(),
                reason,
            })?,
            None => BTreeMap::new(),
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            replay,
            groups,
            _lock: lock,
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The replay cache, to hand to a receive.
    pub fn replay_mut(&mut self) -> &mut ReplayCache {
        &mut self.replay
    }

    /// The replay cache.
    pub fn replay(&self) -> &ReplayCache {
        &self.replay
    }

    /// Keeps a received GMK as its group's last one, when the message carried a group ID in
    /// its key parameters and is not older than the group's current entry. Returns the group
    /// ID when kept. A GMK for a new group is not kept past [`MAX_GROUPS`] groups, nor for a
    /// group ID over [`MAX_GROUP_ID`] octets or not UTF-8.
    pub fn record_group_key(&mut self, got: &ReceivedKey) -> Option<String> {
        if got.purpose != Some(PurposeTag::Gmk) {
            return None;
        }
        let group = got
            .key_params
            .as_ref()?
            .group_ids
            .as_ref()?
            .first()
            .map(|g| g.value.clone())?;
        let group = String::from_utf8(group).ok()?;
        if group.is_empty() || group.len() > MAX_GROUP_ID {
            return None;
        }
        let seconds = got.ntp_time >> 32;
        match self.groups.get(&group) {
            Some(e) if e.seconds > seconds => return None,
            None if self.groups.len() >= MAX_GROUPS => return None,
            _ => {}
        }
        self.groups.insert(
            group.clone(),
            GroupKeyEntry {
                gmk_id: got.key_id,
                seconds,
                gmk: got.key.clone(),
            },
        );
        Some(group)
    }

    /// The last GMK of a group.
    pub fn group_key(&self, group: &str) -> Option<&GroupKeyEntry> {
        self.groups.get(group)
    }

    /// Every group with its last GMK, by group ID.
    pub fn group_keys(&self) -> impl Iterator<Item = (&str, &GroupKeyEntry)> {
        self.groups.iter().map(|(g, e)| (g.as_str(), e))
    }

    /// Drops the replay entries `time` no longer needs and writes both files (atomically,
    /// mode 0600).
    ///
    /// # Errors
    /// [`StateError::Write`].
    pub fn save(&mut self, time: TimeCheck) -> Result<(), StateError> {
        self.replay.expire(time);
        crate::output::write_secret_files([
            (
                self.dir.join(REPLAY_FILE).as_path(),
                self.replay.to_bytes().as_slice(),
            ),
            (
                self.dir.join(GROUP_KEYS_FILE).as_path(),
                encode_group_keys(&self.groups).as_slice(),
            ),
        ])
        .map_err(StateError::Write)?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn entry(id: u32, seconds: u64, key: u8) -> GroupKeyEntry {
        GroupKeyEntry {
            gmk_id: KeyId::new(PurposeTag::Gmk, id),
            seconds,
            gmk: Ssv::from_bytes([key; 16]),
        }
    }

    #[test]
    fn group_keys_round_trip_and_garbage_is_refused() {
        let mut m = BTreeMap::new();
        m.insert("sip:g1@example.org".to_string(), entry(7, 100, 1));
        m.insert("sip:g2@example.org".to_string(), entry(9, 200, 2));
        let b = encode_group_keys(&m);
        let d = decode_group_keys(&b).unwrap();
        assert_eq!(d.len(), 2);
        let e = &d["sip:g2@example.org"];
        assert_eq!((e.gmk_id, e.seconds), (KeyId::new(PurposeTag::Gmk, 9), 200));
        assert_eq!(e.gmk.as_bytes(), &[2; 16]);
        assert_eq!(*encode_group_keys(&d), *b);
        assert!(
            decode_group_keys(&encode_group_keys(&BTreeMap::new()))
                .unwrap()
                .is_empty()
        );
        // truncations, a trailing octet, bad magic, version, count, a PCK-ID, length 0
        for n in 0..b.len() {
            assert!(decode_group_keys(&b[..n]).is_err(), "{n}");
        }
        assert!(decode_group_keys(&[&b[..], &[0]].concat()).is_err());
        let with = |at: usize, v: u8| {
            let mut c = b.to_vec();
            c[at] = v;
            decode_group_keys(&c)
        };
        assert!(with(0, b'X').is_err());
        assert!(with(4, 2).is_err());
        assert!(with(5, 0xff).is_err());
        assert!(with(9, 0x7f).is_err() && with(10, 0).is_err());
        let id_at = 9 + 2 + "sip:g1@example.org".len();
        assert!(with(id_at, 0x10).is_err());
        // every single-octet change: an error or a valid map, never a panic
        for at in 0..b.len() {
            let _ = with(at, b[at] ^ 0x80);
        }
    }

    #[test]
    fn a_state_directory_round_trips_and_a_corrupt_file_is_named() {
        let dir =
            std::env::temp_dir().join(format!("mikey-sakke-state-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        {
            let mut st = ClientState::open(&dir).unwrap();
            assert!(st.replay().is_empty());
            let key = crate::mikey::sakke_steps::ReplayKey::from_bytes([5; 32]);
            assert!(st.replay_mut().insert(key, 1000, TimeCheck::Disabled));
            st.groups.insert("g".into(), entry(3, 1000, 4));
            st.save(TimeCheck::Disabled).unwrap();
        }
        {
            let st = ClientState::open(&dir).unwrap();
            assert_eq!(st.replay().len(), 1);
            assert_eq!(st.group_key("g").unwrap().gmk.as_bytes(), &[4; 16]);
            assert_eq!(st.group_keys().count(), 1);
        }
        std::fs::write(dir.join(GROUP_KEYS_FILE), b"MSGK\x01\0\0\0\x05").unwrap();
        let e = ClientState::open(&dir).unwrap_err().to_string();
        assert!(
            e.contains(GROUP_KEYS_FILE) && e.contains("truncated"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
