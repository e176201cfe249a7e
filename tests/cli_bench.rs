//! `mikey-sakke bench`: the JSON output format and the operation names.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[test]
fn json_lines_name_every_requested_operation() {
    let o = Command::new(env!("CARGO_BIN_EXE_mikey-sakke"))
        .args([
            "bench",
            "--json",
            "--no-openssl",
            "--rounds",
            "1",
            "--round-ms",
            "1",
            "--only",
            "fp_mul",
        ])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "{out}");
    let line = lines[0];
    assert!(line.starts_with("{\"op\": \"fp_mul\", \"ns\": "), "{line}");
    let ns: f64 = line
        .trim_end_matches('}')
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(ns > 0.0);
}

#[test]
fn bad_arguments_fail_cleanly() {
    let o = Command::new(env!("CARGO_BIN_EXE_mikey-sakke"))
        .args(["bench", "--rounds", "0"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&o.stderr).lines().count(), 1);
}
