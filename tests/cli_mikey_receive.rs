//! `mikey-sakke mikey receive` on the published GMK message, and its failures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

const MCX: &str = include_str!("../vectors/mcx-interop.txt");

fn v(name: &str) -> String {
    MCX.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} = ")))
        .unwrap()
        .trim()
        .to_string()
}

fn receive(extra: &[&str], message: &str) -> Output {
    let (z, kpak, uid, rsk) = (
        v("kms_PubEncKey"),
        v("kms_PubAuthKey"),
        v("alice_UserID"),
        v("alice_UserDecryptKey"),
    );
    let mut args = vec![
        "mikey",
        "receive",
        "--message",
        "-",
        "--kms-public-key",
        &z,
        "--kpak",
        &kpak,
        "--uid",
        &uid,
    ];
    if !extra.contains(&"--rsk") {
        args.extend(["--rsk", &rsk]);
    }
    args.extend_from_slice(extra);
    let mut child = Command::new(env!("CARGO_BIN_EXE_mikey-sakke"))
        .args(&args)
        .env("XDG_DATA_HOME", common::fresh_state_home())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command refused before it reads its input (a usage error) closes the pipe.
    if let Err(e) = child.stdin.take().unwrap().write_all(message.as_bytes()) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

fn assert_one_line_error(o: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(needle), "{err}");
}

#[test]
fn receives_the_published_gmk_message() {
    let o = receive(
        &[
            "--now",
            "0xEC898DA8",
            "--user-uri",
            "sip:alice@streamwide.com",
            "--initiator-uid",
            &v("gms_UserID"),
        ],
        &v("gmk_I_MESSAGE_b64"),
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = String::from_utf8(o.stdout).unwrap();
    for (k, val) in [
        ("key", v("gmk_GMK")),
        ("key_id", v("gmk_GMK_ID")),
        ("csb_id", v("gmk_GUK_ID")),
        ("initiator_uid", v("gms_UserID")),
        ("srtp_master_key", v("gmk_srtp_master_key_derived_here")),
        ("srtp_master_salt", v("gmk_srtp_master_salt_derived_here")),
    ] {
        assert!(
            out.contains(&format!("{k} = {}\n", val.to_uppercase())),
            "{k} in\n{out}"
        );
    }
    assert!(out.contains("key_type = GMK\n"));
    assert!(out.contains("key_parameters_status = 00000001\n"));
    // The same clock in the other forms of the one time syntax.
    let ntp = 0xEC89_8DA8_u64;
    for now in [
        mikey_sakke::input::rfc3339(ntp),
        format!("ntp:{ntp}"),
        format!("0x{ntp:x}"),
    ] {
        let o = receive(&["--now", &now], &v("gmk_I_MESSAGE_b64"));
        assert_eq!(
            o.status.code(),
            Some(0),
            "{now}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    // A bare number is not one of them (it was taken as NTP seconds before).
    assert_one_line_error(
        &receive(&["--now", &ntp.to_string()], &v("gmk_I_MESSAGE_b64")),
        "--now: ",
    );
}

#[test]
fn failures_are_one_line() {
    let msg = v("gmk_I_MESSAGE_b64");
    assert_one_line_error(&receive(&[], &msg), "clock skew");
    assert_one_line_error(
        &receive(
            &["--no-time-check", "--initiator-uid", &v("bob_UserID")],
            &msg,
        ),
        "unexpected initiator",
    );
    assert_one_line_error(
        &receive(&["--no-time-check"], &v("pck_I_MESSAGE_b64")),
        "another receiver",
    );
    assert_one_line_error(&receive(&["--no-time-check"], "AAAA"), "malformed");
    assert_one_line_error(&receive(&["--no-time-check"], "not base64 !!"), "");
    assert_one_line_error(
        &receive(&["--no-time-check", "--now", "5"], &msg),
        "cannot be used with",
    );
    assert_one_line_error(&receive(&["--now", "yesterday"], &msg), "--now");
}

#[test]
fn the_state_refuses_a_replay_in_a_later_run_and_the_rsk_comes_from_a_file() {
    let home = common::fresh_state_home();
    let state = home.join("state");
    let rsk = home.join("rsk.hex");
    std::fs::write(&rsk, format!("{}\n", v("alice_UserDecryptKey"))).unwrap();
    let rsk_arg = format!("@{}", rsk.display());
    let msg = v("gmk_I_MESSAGE_b64");
    let run = |extra: &[&str]| {
        let mut args = vec!["--now", "0xEC898DA8", "--state", state.to_str().unwrap()];
        args.extend_from_slice(extra);
        receive(&args, &msg)
    };
    let first = run(&["--rsk", &rsk_arg]);
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        String::from_utf8_lossy(&first.stdout)
            .contains(&format!("key = {}\n", v("gmk_GMK").to_uppercase()))
    );
    assert_one_line_error(&run(&[]), "replayed message");
    // --no-state keeps nothing: the recorded message is accepted again.
    let o = receive(&["--now", "0xEC898DA8", "--no-state"], &msg);
    assert_eq!(o.status.code(), Some(0));
    assert_one_line_error(&run(&["--no-state"]), "cannot be used with");
}
