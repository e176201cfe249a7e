//! Secret options (`--master-secret`, `--rsk`, `--ssv`, `--ksak`, `--ssk`, `--v`, `--j`) take
//! `@FILE` or `-` (standard input), so that a secret never has to appear in the process table;
//! the plain hex form stays for tests. Errors name the option, never the value.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{RFC6507, RFC6508, get, parse};
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mikey-sakke"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn error(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(e.lines().count(), 1, "{e}");
    e
}

#[test]
fn secrets_from_files_and_stdin_match_the_hex_form() {
    let v = parse(RFC6508);
    let z = hex::encode_upper(get(&v, "z"));
    let b = hex::encode_upper(get(&v, "b"));
    let dir = std::env::temp_dir().join(format!("mikey-sakke-secret-args-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let zfile = dir.join("z.hex");
    // Wrapped over lines, with surrounding whitespace: whitespace is ignored.
    std::fs::write(&zfile, format!("  {}\n{}\n", &z[..20], &z[20..])).unwrap();
    let at = format!("@{}", zfile.display());

    let plain = stdout(&run(
        &["sakke", "issue-rsk", "--master-secret", &z, "--id", &b],
        None,
    ));
    let from_file = stdout(&run(
        &["sakke", "issue-rsk", "--master-secret", &at, "--id", &b],
        None,
    ));
    let from_stdin = stdout(&run(
        &["sakke", "issue-rsk", "--master-secret", "-", "--id", &b],
        Some(&z),
    ));
    assert!(
        plain.contains(&hex::encode_upper(get(&v, "RSK"))),
        "{plain}"
    );
    assert_eq!(plain, from_file);
    assert_eq!(plain, from_stdin);

    // ECCSI: the KSAK and the fixed v from files give the RFC 6507 pair as the hex form does.
    let ksak_file = dir.join("ksak.hex");
    let ksak = "012345";
    std::fs::write(&ksak_file, ksak).unwrap();
    let a = stdout(&run(&["eccsi", "public-key", "--ksak", ksak], None));
    let f = stdout(&run(
        &[
            "eccsi",
            "public-key",
            "--ksak",
            &format!("@{}", ksak_file.display()),
        ],
        None,
    ));
    assert_eq!(a, f);

    // Only one option may read standard input.
    let e6507 = parse(RFC6507);
    let (kpak, id, pvt) = (
        hex::encode_upper(get(&e6507, "KPAK")),
        hex::encode_upper(get(&e6507, "ID")),
        hex::encode_upper(get(&e6507, "PVT")),
    );
    let e = error(&run(
        &[
            "eccsi",
            "sign",
            "--kpak",
            &kpak,
            "--id",
            &id,
            "--ssk",
            "-",
            "--pvt",
            &pvt,
            "--message",
            "",
            "--j",
            "-",
        ],
        Some("01"),
    ));
    assert!(e.contains("standard input is already read"), "{e}");

    // A missing file, an oversized file and non-hex content: one line naming the option, no
    // secret octets in the message.
    let e = error(&run(
        &[
            "sakke",
            "issue-rsk",
            "--master-secret",
            "@/nonexistent/z",
            "--id",
            &b,
        ],
        None,
    ));
    assert!(
        e.contains("--master-secret") && e.contains("/nonexistent/z"),
        "{e}"
    );
    let big = dir.join("big.hex");
    std::fs::write(&big, "A".repeat(100_000)).unwrap();
    let e = error(&run(
        &[
            "sakke",
            "issue-rsk",
            "--master-secret",
            &format!("@{}", big.display()),
            "--id",
            &b,
        ],
        None,
    ));
    assert!(e.contains("--master-secret") && e.contains("limit"), "{e}");
    let bad = dir.join("bad.hex");
    std::fs::write(&bad, format!("{z}zz")).unwrap();
    let e = error(&run(
        &[
            "sakke",
            "issue-rsk",
            "--master-secret",
            &format!("@{}", bad.display()),
            "--id",
            &b,
        ],
        None,
    ));
    assert!(e.contains("--master-secret") && !e.contains(&z[..8]), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn help_says_how_to_keep_secrets_off_the_command_line() {
    for cmd in [
        &["sakke", "issue-rsk", "--help"][..],
        &["sakke", "decapsulate", "--help"],
        &["eccsi", "sign", "--help"],
        &["eccsi", "issue", "--help"],
    ] {
        let h = stdout(&run(cmd, None));
        assert!(h.contains("@FILE|-|HEX"), "{cmd:?}: {h}");
        assert!(h.contains("tests only"), "{cmd:?}: {h}");
    }
}
