//! `mikey-sakke mikey inspect` on the MCX interop I_MESSAGEs as a raw file, base64 and hex text,
//! on standard input, and on bad input: every error is one line on stderr with exit status 1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{MCX, text_value};

fn b64(name: &str) -> &'static str {
    text_value(MCX, &format!("{name}_I_MESSAGE_b64"))
}

fn raw(name: &str) -> Vec<u8> {
    STANDARD.decode(b64(name)).unwrap()
}

fn inspect_file(contents: &[u8], tag: &str) -> Output {
    let path: PathBuf =
        std::env::temp_dir().join(format!("mikey-cli-test-{}-{tag}", std::process::id()));
    std::fs::write(&path, contents).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mikey-sakke"))
        .args(["mikey", "inspect", path.to_str().unwrap()])
        .output()
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    out
}

fn inspect_stdin(contents: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mikey-sakke"))
        .args(["mikey", "inspect", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(contents).unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.stderr.is_empty());
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// Asserts a clean failure: exit 1, one stderr line containing `needle`, nothing on stdout.
fn assert_clean_error(o: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "stderr: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(needle), "expected {needle:?} in {err:?}");
    assert!(o.stdout.is_empty());
}

#[test]
fn inspect_gmk_raw_file() {
    let out = stdout(&inspect_file(&raw("gmk"), "gmk-raw"));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "MIKEY message: 701 octets, HDR and 10 payload(s)");
    for expected in [
        "     0  01                                  version = 1",
        "     1  1a                                  data type = 26 (SAKKE msg)",
        "     3  01                                  V = 0, PRF func = 1 (PRF-HMAC-SHA-256)",
        "     4  06a12aea                            CSB ID = 0x06a12aea",
        "    10  04                                    CS ID = 4",
        "    17  0df9bc3906a12aea                      SPI (8 octets)",
        "    54  08                                  ID role = 8 (hashed initiator UID (IDRuidi))",
        "   132  6b6d732e6d796465762e73747265616d    ID data = \"kms.mydev.streamwide.com\"",
        "   148  776964652e636f6d",
        "   208  120104                                type 18 (SRTP authentication tag length), length 1, value 04",
        "   218  01                                  SAKKE params = 1 (parameter set 1)",
        "   219  02                                  ID scheme = 2 (3GPP MCX hashed UID)",
        "   220  0111                                SAKKE data length = 273",
        "   496  07                                  type = 7 (3GPP key parameters)",
        "   497  0047                                length = 71",
        "   570  2081                                S type = 2 (ECCSI) (high 4 bits), Signature len = 129",
        "   700  a2",
        "total 701 octets",
        "signed (RFC 3830 s5.2, through the SIGN header): octets 0 to 571 (572 octets)",
        "signed without the SIGN header (compatibility): octets 0 to 569 (570 octets)",
    ] {
        assert!(
            lines.contains(&expected),
            "missing line {expected:?} in\n{out}"
        );
    }
    assert!(out.contains("(NTP seconds 3968437672: 2025-10-02 23:47:52 UTC)"));
}

#[test]
fn raw_base64_hex_file_and_stdin_give_the_same_dump() {
    for name in ["gmk", "csk", "pck", "gmk_legacy_iwf"] {
        let m = raw(name);
        let expected = stdout(&inspect_file(&m, &format!("{name}-raw")));
        let b64_text = format!("{}\n", b64(name));
        let hex_upper = format!("{}\n", hex::encode_upper(&m));
        // Hex wrapped over lines, as pasted from a dump.
        let hex_wrapped: String = hex::encode(&m)
            .as_bytes()
            .chunks(64)
            .map(|c| format!("{}\n", std::str::from_utf8(c).unwrap()))
            .collect();
        let sdp = format!("a=key-mgmt:mikey {}\r\n", b64(name));
        for (tag, input) in [
            ("b64", b64_text.as_bytes()),
            ("hex", hex_upper.as_bytes()),
            ("hexw", hex_wrapped.as_bytes()),
            ("sdp", sdp.as_bytes()),
        ] {
            assert_eq!(
                stdout(&inspect_file(input, &format!("{name}-{tag}"))),
                expected,
                "{name} {tag} file"
            );
            assert_eq!(
                stdout(&inspect_stdin(input)),
                expected,
                "{name} {tag} stdin"
            );
        }
        assert_eq!(stdout(&inspect_stdin(&m)), expected, "{name} raw stdin");
    }
}

#[test]
fn other_maps_in_the_dump() {
    let out = stdout(&inspect_stdin(b64("pck").as_bytes()));
    assert!(
        out.contains("     9  01                                  CS ID map type = 1 (Empty map)")
    );
    let out = stdout(&inspect_stdin(b64("gmk_legacy_iwf").as_bytes()));
    assert!(out.contains("    11  cafebabe                              SSRC = 0xcafebabe"));
    assert!(out.contains("crypto session 2"));
}

#[test]
fn bad_input_is_one_line_and_exit_1() {
    let gmk = raw("gmk");
    // Truncated message, as raw octets and as base64.
    assert_clean_error(
        &inspect_file(&gmk[..600], "trunc"),
        "MIKEY SIGN payload at offset 570: Signature is 129 octet(s) long",
    );
    assert_clean_error(
        &inspect_stdin(STANDARD.encode(&gmk[..100]).as_bytes()),
        "MIKEY IDR payload at offset 93",
    );
    // Trailing garbage.
    let mut long = gmk.clone();
    long.push(0);
    assert_clean_error(&inspect_stdin(&long), "1 trailing octet(s)");
    // Unknown next payload.
    let mut bad = gmk.clone();
    bad[2] = 99;
    assert_clean_error(
        &inspect_stdin(hex::encode(&bad).as_bytes()),
        "MIKEY HDR at offset 2: unknown next payload type 99",
    );
    // Not a message at all.
    assert_clean_error(
        &inspect_stdin(b"hello, world!\n"),
        "neither a raw message, hex nor base64",
    );
    assert_clean_error(
        &inspect_stdin(b"abc\n"),
        "hex input has an odd number of digits (3)",
    );
    assert_clean_error(&inspect_stdin(b""), "empty input");
    assert_clean_error(
        &inspect_stdin(b"  \n"),
        "MIKEY HDR at offset 0: empty input",
    );
    assert_clean_error(&inspect_stdin(&[0x02, 0xff]), "version 2, expected 1");
    // Missing file, missing argument.
    let o = Command::new(env!("CARGO_BIN_EXE_mikey-sakke"))
        .args(["mikey", "inspect", "/nonexistent/mikey.bin"])
        .output()
        .unwrap();
    assert_clean_error(&o, "cannot read /nonexistent/mikey.bin");
    let o = Command::new(env!("CARGO_BIN_EXE_mikey-sakke"))
        .args(["mikey", "inspect"])
        .output()
        .unwrap();
    assert_clean_error(&o, "FILE|-");
}
