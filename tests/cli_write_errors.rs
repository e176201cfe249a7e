//! A command whose standard output cannot be written (a full device, a closed pipe) reports one
//! error line and exits 1; it never panics (exit 101), not even when standard error cannot be
//! written either.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};

#[test]
#[cfg(target_os = "linux")]
fn full_device_is_one_error_line() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mikey-sakke"))
        .args(["eccsi", "public-key", "--ksak", "012345"])
        .stdout(Stdio::from(full))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: cannot write standard output"),
        "{err}"
    );
}

#[test]
fn closed_pipe_is_one_error_line() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mikey-sakke"))
        .args(["eccsi", "public-key", "--ksak", "012345"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    // Rust ignores SIGPIPE, so the write fails with EPIPE: one line, exit 1 (or exit 0 if the
    // output reached the pipe before it closed); never a panic.
    match out.status.code() {
        Some(0) => assert!(err.is_empty(), "{err}"),
        Some(1) => {
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(
                err.starts_with("error: cannot write standard output"),
                "{err}"
            );
        }
        other => panic!("exit {other:?}: {err}"),
    }
}

#[test]
#[cfg(target_os = "linux")]
fn an_error_with_standard_error_on_a_full_device_is_still_exit_1() {
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
    };
    for (args, code) in [
        (&["eccsi", "public-key", "--ksak", "zz"][..], 1),
        (&["eccsi", "public-key", "--no-such-option"][..], 1),
        (&["eccsi", "public-key", "--ksak", "012345"][..], 0),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_mikey-sakke"))
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::from(full()))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code), "{args:?}");
    }
    // Both full: the output error cannot be reported, exit 1 all the same.
    let out = Command::new(env!("CARGO_BIN_EXE_mikey-sakke"))
        .args(["eccsi", "public-key", "--ksak", "012345"])
        .stdout(Stdio::from(full()))
        .stderr(Stdio::from(full()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}
