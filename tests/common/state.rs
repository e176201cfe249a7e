//! A fresh client-state directory per CLI run (included by `common/mod.rs`, `common/cli.rs`
//! and `e2e/mod.rs`).
#![allow(dead_code, clippy::unwrap_used)]

/// A fresh, empty directory to use as `XDG_DATA_HOME` for one CLI run, so that the client
/// state (`ue receive`, `mikey receive`: the persistent replay cache) of one run never makes
/// another run's message a replay. Under the test binary's own directory of
/// `CARGO_TARGET_TMPDIR` (one per module that includes this file, so that two copies in one test binary never empty each other's), which is emptied on its first use in each run.
pub fn fresh_state_home() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    static CLEAN: std::sync::Once = std::sync::Once::new();
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "tests".into());
    let base = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("state-{exe}-{}", module_path!().replace("::", "-")));
    CLEAN.call_once(|| {
        let _ = std::fs::remove_dir_all(&base);
    });
    let dir = base.join(NEXT.fetch_add(1, Ordering::Relaxed).to_string());
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
