//! What the CLI tests share: a temporary directory removed on drop, the binary, path text and
//! the one-line error check.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

// one copy per including module by design (see state.rs)
#[allow(clippy::duplicate_mod)]
#[path = "state.rs"]
mod state;
#[allow(unused_imports)]
pub use state::fresh_state_home;

/// A fresh temporary directory, removed on drop.
pub struct Tmp(pub PathBuf);

impl Tmp {
    /// `mikey-sakke-{name}-{random}` in the temporary directory.
    pub fn new(name: &str) -> Self {
        let nonce: u64 = rand_core::Rng::next_u64(&mut rand_core::UnwrapErr(getrandom::SysRng));
        let p = std::env::temp_dir().join(format!("mikey-sakke-{name}-{nonce:016x}"));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }

    /// The file `f` inside it.
    pub fn path(&self, f: &str) -> PathBuf {
        self.0.join(f)
    }
}

impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The `mikey-sakke` binary with `args`, the store passphrase `pass` in the environment (none:
/// removed), no store from the environment, a fresh client-state directory and no standard
/// input.
pub fn bin(args: &[&str], pass: Option<&str>) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mikey-sakke"));
    c.args(args)
        .env_remove("MIKEY_SAKKE_PASSPHRASE")
        .env_remove("MIKEY_SAKKE_STORE")
        .env("XDG_DATA_HOME", fresh_state_home())
        .stdin(Stdio::null());
    if let Some(p) = pass {
        c.env("MIKEY_SAKKE_PASSPHRASE", p);
    }
    c
}

/// [`bin`] run with its files limited to `kib` KiB (`RLIMIT_FSIZE`, through `bash`'s `ulimit
/// -f`), SIGXFSZ ignored so that a write past the limit fails with EFBIG (as a full disk fails
/// it with ENOSPC) instead of killing the process (Rust's runtime does not ignore SIGXFSZ).
/// Standard output and error are pipes (not subject to the limit).
pub fn bin_file_size_limited(args: &[&str], pass: Option<&str>, kib: u64) -> Command {
    let mut c = Command::new("bash");
    c.arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f {kib} && exec \"$0\" \"$@\""
        ))
        .arg(env!("CARGO_BIN_EXE_mikey-sakke"))
        .args(args)
        .env_remove("MIKEY_SAKKE_PASSPHRASE")
        .env_remove("MIKEY_SAKKE_STORE")
        .env("XDG_DATA_HOME", fresh_state_home())
        .stdin(Stdio::null());
    if let Some(p) = pass {
        c.env("MIKEY_SAKKE_PASSPHRASE", p);
    }
    c
}

/// Runs `c`, asserts exit status 0, returns standard output.
pub fn ok_cmd(mut c: Command) -> String {
    let o = c.output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{c:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// Asserts exit status 1 with `needle` in the last line of standard error.
pub fn fails_with(o: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.lines().last().unwrap_or("").contains(needle),
        "{needle:?} not in {err:?}"
    );
}

/// A path as text.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A command line: the words `head` (subcommands and plain options), then each `(option, path)`
/// pair, then `extra`.
pub fn args<'a>(
    head: &[&'a str],
    paths: &[(&'a str, &'a Path)],
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut a = head.to_vec();
    for (option, path) in paths {
        a.extend([*option, s(path)]);
    }
    a.extend(extra);
    a
}
