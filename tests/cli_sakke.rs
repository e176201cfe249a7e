//! The `mikey-sakke sakke` commands on the RFC 6508 vectors, and on bad input: every error is
//! one line on stderr with exit status 1, never a panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{RFC6508, get, parse};
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mikey-sakke"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn h(v: &[u8]) -> String {
    hex::encode_upper(v)
}

/// Asserts a clean failure: exit 1, one stderr line, nothing on stdout.
fn assert_clean_error(o: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "stderr: {err}");
    assert!(err.contains(needle), "expected {needle:?} in {err:?}");
    assert!(o.stdout.is_empty());
}

#[test]
fn rfc6508_through_the_cli() {
    let v = parse(RFC6508);
    let (z, b, zz, rsk, ssv, ed) = (
        h(get(&v, "z")),
        h(get(&v, "b")),
        h(get(&v, "Z")),
        h(get(&v, "RSK")),
        h(get(&v, "SSV")),
        h(get(&v, "ED")),
    );
    let o = run(&["sakke", "public-key", "--master-secret", &z]);
    assert_eq!(stdout(&o), format!("Z = {zz}\n"));
    let o = run(&[
        "sakke",
        "issue-rsk",
        "--master-secret",
        &z.to_lowercase(),
        "--id",
        &b,
    ]);
    assert_eq!(stdout(&o), format!("RSK = {rsk}\n"));
    let o = run(&[
        "sakke",
        "validate-rsk",
        "--kms-public-key",
        &zz,
        "--id",
        &b,
        "--rsk",
        &rsk,
    ]);
    assert_eq!(
        (stdout(&o).as_str(), o.status.code()),
        ("valid = true\n", Some(0))
    );
    let o = run(&[
        "sakke",
        "encapsulate",
        "--kms-public-key",
        &zz,
        "--id",
        &b,
        "--ssv",
        &ssv,
    ]);
    assert_eq!(stdout(&o), format!("SSV = {ssv}\nED = {ed}\n"));
    let o = run(&[
        "sakke",
        "decapsulate",
        "--kms-public-key",
        &zz,
        "--id",
        &b,
        "--rsk",
        &rsk,
        "--ed",
        &ed,
    ]);
    assert_eq!(stdout(&o), format!("SSV = {ssv}\n"));
}

#[test]
fn random_encapsulation_decapsulates() {
    let v = parse(RFC6508);
    let (b, zz, rsk) = (h(get(&v, "b")), h(get(&v, "Z")), h(get(&v, "RSK")));
    let o = run(&["sakke", "encapsulate", "--kms-public-key", &zz, "--id", &b]);
    let out = stdout(&o);
    let ssv = out
        .lines()
        .next()
        .unwrap()
        .strip_prefix("SSV = ")
        .unwrap()
        .to_string();
    let ed = out
        .lines()
        .nth(1)
        .unwrap()
        .strip_prefix("ED = ")
        .unwrap()
        .to_string();
    assert_eq!(ed.len(), 546);
    let o = run(&[
        "sakke",
        "decapsulate",
        "--kms-public-key",
        &zz,
        "--id",
        &b,
        "--rsk",
        &rsk,
        "--ed",
        &ed,
    ]);
    assert_eq!(stdout(&o), format!("SSV = {ssv}\n"));
}

#[test]
fn negative_validation_exits_1() {
    let v = parse(RFC6508);
    let (zz, rsk) = (h(get(&v, "Z")), h(get(&v, "RSK")));
    let o = run(&[
        "sakke",
        "validate-rsk",
        "--kms-public-key",
        &zz,
        "--id",
        "00",
        "--rsk",
        &rsk,
    ]);
    assert_eq!(
        (stdout(&o).as_str(), o.status.code()),
        ("valid = false\n", Some(1))
    );
}

#[test]
fn bad_inputs_fail_cleanly() {
    let v = parse(RFC6508);
    let (z, b, zz, rsk, ed) = (
        h(get(&v, "z")),
        h(get(&v, "b")),
        h(get(&v, "Z")),
        h(get(&v, "RSK")),
        h(get(&v, "ED")),
    );
    let order2 = format!("04{}", "00".repeat(256));
    let mut off_curve = zz.clone();
    off_curve.replace_range(512.., "00");
    let (ff128, ff129) = ("ff".repeat(128), "ff".repeat(129));
    let bad_prefix = format!("05{}", &zz[2..]);
    let identity = format!("00{}", "00".repeat(256));
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["sakke", "public-key", "--master-secret", "abc"],
            "odd number of hex digits",
        ),
        (
            vec!["sakke", "public-key", "--master-secret", "zz"],
            "not a hex digit",
        ),
        (vec!["sakke", "public-key", "--master-secret", ""], "empty"),
        (
            vec!["sakke", "public-key", "--master-secret", "00"],
            "out of range",
        ),
        (
            vec!["sakke", "public-key", "--master-secret", &ff128],
            "out of range",
        ),
        (
            vec!["sakke", "public-key", "--master-secret", &ff129],
            "at most 128",
        ),
        (vec!["sakke", "issue-rsk", "--master-secret", &z], "--id"),
        (
            vec![
                "sakke",
                "validate-rsk",
                "--kms-public-key",
                &zz[..100],
                "--id",
                &b,
                "--rsk",
                &rsk,
            ],
            "257 octets",
        ),
        (
            vec![
                "sakke",
                "validate-rsk",
                "--kms-public-key",
                &order2,
                "--id",
                &b,
                "--rsk",
                &rsk,
            ],
            "subgroup",
        ),
        (
            vec![
                "sakke",
                "validate-rsk",
                "--kms-public-key",
                &off_curve,
                "--id",
                &b,
                "--rsk",
                &rsk,
            ],
            "not on the curve",
        ),
        (
            vec![
                "sakke",
                "validate-rsk",
                "--kms-public-key",
                &bad_prefix,
                "--id",
                &b,
                "--rsk",
                &rsk,
            ],
            "0x04",
        ),
        (
            vec![
                "sakke",
                "validate-rsk",
                "--kms-public-key",
                &identity,
                "--id",
                &b,
                "--rsk",
                &rsk,
            ],
            "identity",
        ),
        (
            vec![
                "sakke",
                "validate-rsk",
                "--kms-public-key",
                &zz,
                "--id",
                &b,
                "--rsk",
                &order2,
            ],
            "--rsk",
        ),
        (
            vec![
                "sakke",
                "encapsulate",
                "--kms-public-key",
                &zz,
                "--id",
                &b,
                "--ssv",
                "0011",
            ],
            "16 octets",
        ),
        (
            vec![
                "sakke",
                "decapsulate",
                "--kms-public-key",
                &zz,
                "--id",
                &b,
                "--rsk",
                &rsk,
                "--ed",
                &ed[..544],
            ],
            "273 octets",
        ),
        (
            vec![
                "sakke",
                "decapsulate",
                "--kms-public-key",
                &zz,
                "--id",
                "01",
                "--rsk",
                &rsk,
                "--ed",
                &ed,
            ],
            "decapsulation failed",
        ),
        (vec!["sakke", "frobnicate"], "unrecognized subcommand"),
        (
            vec!["sakke", "public-key", "--bogus", "1"],
            "unexpected argument",
        ),
    ];
    for (args, needle) in cases {
        let o = run(&args);
        assert_clean_error(&o, needle);
    }
}
