//! Writing files that hold key material: created readable by their owner only (mode 0600),
//! never through a symbolic link, and crash safe (a reader sees the old file or the new one,
//! never a partial one).
//!
//! Each file is written to a fresh temporary file beside it (created exclusively, which
//! refuses an existing path or a symbolic link), synced, and renamed over the target (a rename
//! replaces a symbolic link at the target instead of following it); then the directory is
//! synced. A batch ([`write_secret_files`]) writes every temporary file first, makes them all
//! durable with one call (`syncfs` on Linux, an `fsync` each elsewhere), then renames them and
//! syncs each directory once, so a thousand key files cost two syncs, not two thousand.
//!
//! A writer killed between creating its temporary file and the rename leaves that temporary
//! behind (mode 0600, named `.<file>.<pid>.<attempt>.<nonce>.tmp`). The next write into the
//! same directory removes such leftovers of processes that no longer run (on Linux, where
//! `/proc` tells; elsewhere they stay and are harmless to readers).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why a file could not be written. The message names the file, never its content.
#[derive(Debug)]
#[non_exhaustive]
pub enum WriteError {
    /// The operating system refused (disk full, permission, not a directory, ...).
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

impl core::fmt::Display for WriteError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Io { path, source } => write!(f, "cannot write {}: {source}", path.display()),
        }
    }
}

impl std::error::Error for WriteError {}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The directory a path lives in (`.` for a bare file name).
fn parent_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// A temporary file beside `path`, created exclusively with mode 0600.
fn create_temp(path: &Path) -> Result<(PathBuf, File), WriteError> {
    let dir = parent_of(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut last = None;
    for attempt in 0..16u32 {
        let mut nonce = [0u8; 8];
        // A collision only costs another attempt; the name need not be unpredictable.
        let _ = getrandom::fill(&mut nonce);
        let tmp = dir.join(format!(
            ".{name}.{}.{attempt}.{}.tmp",
            std::process::id(),
            hex::encode(nonce)
        ));
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        match opts.open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(io(path)(e)),
        }
    }
    Err(io(path)(last.unwrap_or_else(|| {
        std::io::Error::other("no free temporary file name")
    })))
}

/// The process id in a temporary file name made by [`create_temp`]
/// (`.<file>.<pid>.<attempt>.<16 hex digits>.tmp`), or `None` for any other name.
fn temp_owner(file_name: &str) -> Option<u32> {
    let inner = file_name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let mut parts = inner.rsplitn(4, '.');
    let nonce = parts.next()?;
    let attempt = parts.next()?;
    let pid = parts.next()?;
    parts.next().filter(|name| !name.is_empty())?;
    let hex_ok = nonce.len() == 16 && nonce.bytes().all(|b| b.is_ascii_hexdigit());
    let attempt_ok = !attempt.is_empty() && attempt.bytes().all(|b| b.is_ascii_digit());
    if !hex_ok || !attempt_ok {
        return None;
    }
    pid.parse().ok()
}

/// Removes the temporary files in `dir` left by writers that were killed before their rename
/// (their process no longer runs). Best effort: a directory that cannot be read, or a system
/// without `/proc`, leaves everything as it is.
fn remove_stale_temps(dir: &Path) {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return;
    }
    let own = std::process::id();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(temp_owner) else {
            continue;
        };
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if is_file && pid != own && !proc.join(pid.to_string()).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Writes `data` to a temporary file beside `path`, syncs it and renames it over `path`
/// (without syncing the directory).
fn write_one(path: &Path, data: &[u8]) -> Result<(), WriteError> {
    let (tmp, mut f) = create_temp(path)?;
    let result = (|| {
        #[cfg(unix)]
        f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io(path))
}

/// Syncs a directory, so that the renames into it survive a crash.
fn sync_dir(dir: &Path) -> Result<(), WriteError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io(dir))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Writes one file holding secrets: mode 0600, never through a symbolic link, atomically
/// replacing what was there, synced with its directory.
///
/// # Errors
/// [`WriteError`] naming the file (a full disk, a missing directory, ...); the previous file,
/// if any, is then unchanged.
pub fn write_secret_file(path: &Path, data: &[u8]) -> Result<(), WriteError> {
    remove_stale_temps(parent_of(path));
    write_one(path, data)?;
    sync_dir(parent_of(path))
}

/// Writes several files holding secrets as [`write_secret_file`] does (mode 0600, never
/// through a symbolic link, atomically replacing what was there), with one sync for the whole
/// batch instead of one per file: every file is written to its temporary file first, then all
/// of them are made durable at once (on Linux one `syncfs` of each directory's filesystem;
/// elsewhere an `fsync` of each file), then each is renamed over its target, then each
/// directory is synced once. Returns the number of files written.
///
/// Crash safety: a rename happens only after the data of every temporary file of the batch is
/// durable, so after a crash at any point each target holds its old content or its complete
/// new content, never a partial file (renames not yet synced with their directory may be
/// lost: those targets keep their old content). On an error, nothing has been renamed if the
/// error came before the renames (the temporary files are removed); during the renames, the
/// files renamed before it are complete and the rest unchanged.
///
/// # Errors
/// The first [`WriteError`].
pub fn write_secret_files<'a>(
    files: impl IntoIterator<Item = (&'a Path, &'a [u8])>,
) -> Result<usize, WriteError> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    // (temporary, target) of every file written so far, not yet renamed.
    let mut pending: Vec<(PathBuf, &'a Path)> = Vec::new();
    let result = (|| {
        for (path, data) in files {
            let dir = parent_of(path).to_path_buf();
            if !dirs.contains(&dir) {
                remove_stale_temps(&dir);
                dirs.push(dir);
            }
            let tmp = write_temp(path, data)?;
            pending.push((tmp, path));
        }
        make_durable(&dirs, &pending)
    })();
    if let Err(e) = result {
        for (tmp, _) in &pending {
            let _ = std::fs::remove_file(tmp);
        }
        return Err(e);
    }
    let n = pending.len();
    for (renamed, (tmp, path)) in pending.iter().enumerate() {
        if let Err(e) = std::fs::rename(tmp, path) {
            for (tmp, _) in &pending[renamed..] {
                let _ = std::fs::remove_file(tmp);
            }
            return Err(io(path)(e));
        }
    }
    for d in &dirs {
        sync_dir(d)?;
    }
    Ok(n)
}

/// Writes `data` to a fresh temporary file beside `path` (mode 0600), not synced; returns its
/// name. On an error the temporary file is removed.
fn write_temp(path: &Path, data: &[u8]) -> Result<PathBuf, WriteError> {
    let (tmp, mut f) = create_temp(path)?;
    let result = (|| {
        #[cfg(unix)]
        f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        f.write_all(data)
    })();
    drop(f);
    match result {
        Ok(()) => Ok(tmp),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(io(path)(e))
        }
    }
}

/// Makes the written temporary files durable: on Linux one `syncfs` per directory (each
/// flushes the whole filesystem the directory is on, so one call covers every file of the
/// batch there; since Linux 5.8 it also reports write-back errors of those files).
#[cfg(target_os = "linux")]
fn make_durable(dirs: &[PathBuf], _pending: &[(PathBuf, &Path)]) -> Result<(), WriteError> {
    for d in dirs {
        File::open(d)
            .and_then(|f| rustix::fs::syncfs(&f).map_err(std::io::Error::from))
            .map_err(io(d))?;
    }
    Ok(())
}

/// Makes the written temporary files durable: an `fsync` of each (no `syncfs` here).
#[cfg(not(target_os = "linux"))]
fn make_durable(_dirs: &[PathBuf], pending: &[(PathBuf, &Path)]) -> Result<(), WriteError> {
    for (tmp, path) in pending {
        OpenOptions::new()
            .write(true)
            .open(tmp)
            .and_then(|f| f.sync_all())
            .map_err(io(path))?;
    }
    Ok(())
}

/// Sets an existing file to mode 0600 (a store or key file created by an older version, or by
/// hand, with wider permissions). A missing file is not an error.
///
/// # Errors
/// [`WriteError`] if the file exists and its mode cannot be changed.
pub fn restrict_to_owner(path: &Path) -> Result<(), WriteError> {
    #[cfg(unix)]
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_file() => {
            std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
                .map_err(io(path))?;
        }
        Ok(_) | Err(_) => {}
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(unix)]
    use std::os::unix::fs::PermissionsExt;

    fn tmpdir(tag: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("mikey-sakke-output-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[cfg(unix)]
    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    #[cfg(unix)]
    fn new_and_existing_files_end_up_0600() {
        let d = tmpdir("mode");
        let p = d.join("keys.xml");
        write_secret_file(&p, b"one").unwrap();
        assert_eq!(mode(&p), 0o600);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_secret_file(&p, b"two").unwrap();
        assert_eq!(
            (std::fs::read(&p).unwrap(), mode(&p)),
            (b"two".to_vec(), 0o600)
        );
        std::fs::write(d.join("old.db"), b"x").unwrap();
        std::fs::set_permissions(d.join("old.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
        restrict_to_owner(&d.join("old.db")).unwrap();
        restrict_to_owner(&d.join("missing")).unwrap();
        assert_eq!(mode(&d.join("old.db")), 0o600);
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    #[cfg(unix)]
    fn a_symlink_is_replaced_not_followed() {
        let d = tmpdir("link");
        let victim = d.join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let link = d.join("keys.xml");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        write_secret_file(&link, b"secret").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert!(
            !std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(&link).unwrap(), b"secret");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn leftovers_of_killed_writers_are_removed() {
        let d = tmpdir("stale");
        let dead = d.join(format!(".k.xml.{}.0.0123456789abcdef.tmp", u32::MAX));
        let live = d.join(".k.xml.1.0.0123456789abcdef.tmp"); // pid 1 always runs
        let other = d.join(".k.xml.notes.tmp");
        for f in [&dead, &live, &other] {
            std::fs::write(f, b"x").unwrap();
        }
        assert_eq!(temp_owner(".k.xml.1.0.0123456789abcdef.tmp"), Some(1));
        assert_eq!(temp_owner(".k.xml.1.0.0123.tmp"), None);
        assert_eq!(temp_owner("..1.0.0123456789abcdef.tmp"), None);
        assert_eq!(
            write_secret_files([(d.join("k.xml").as_path(), &b"new"[..])]).unwrap(),
            1
        );
        assert!(!dead.exists(), "the temporary of a dead process stays");
        assert!(live.exists() && other.exists());
        std::fs::write(&dead, b"x").unwrap();
        write_secret_file(&d.join("k.xml"), b"again").unwrap();
        assert!(!dead.exists());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn batches_and_errors() {
        let d = tmpdir("batch");
        let a = d.join("a");
        let b = d.join("b");
        let n = write_secret_files([(a.as_path(), &b"1"[..]), (b.as_path(), &b"2"[..])]).unwrap();
        assert_eq!((n, std::fs::read(&b).unwrap()), (2, b"2".to_vec()));
        let e = write_secret_file(&d.join("no/such/dir/f"), b"x").unwrap_err();
        assert!(e.to_string().starts_with("cannot write "), "{e}");
        // A batch failing before its renames changes nothing and leaves no temporary file.
        let e = write_secret_files([
            (a.as_path(), &b"3"[..]),
            (d.join("no/such/dir/f").as_path(), &b"x"[..]),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("no/such/dir/f"), "{e}");
        assert_eq!(std::fs::read(&a).unwrap(), b"1");
        let names: Vec<_> = std::fs::read_dir(&d).unwrap().flatten().collect();
        assert_eq!(names.len(), 2, "{names:?}");
        // In a batch too, a symbolic link is replaced, not followed, and every file is 0600.
        #[cfg(unix)]
        {
            let victim = d.join("victim");
            std::fs::write(&victim, b"precious").unwrap();
            std::fs::remove_file(&b).unwrap();
            std::os::unix::fs::symlink(&victim, &b).unwrap();
            write_secret_files([(a.as_path(), &b"4"[..]), (b.as_path(), &b"5"[..])]).unwrap();
            assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
            assert!(
                !std::fs::symlink_metadata(&b)
                    .unwrap()
                    .file_type()
                    .is_symlink()
            );
            assert_eq!(std::fs::read(&b).unwrap(), b"5");
            assert_eq!((mode(&a), mode(&b)), (0o600, 0o600));
        }
        let _ = std::fs::remove_dir_all(&d);
    }
}
