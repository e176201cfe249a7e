//! The `mikey-sakke eccsi` command line: RFC 6507 Appendix A values, the MCX key sets, and bad
//! input (exit status 1, exactly one line on stderr, never a panic).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::process::Command;

const RFC6507: &str = include_str!("../vectors/rfc6507.txt");
const MCX: &str = include_str!("../vectors/mcx-interop.txt");

fn vectors(text: &'static str) -> HashMap<&'static str, &'static str> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once(" = "))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect()
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn eccsi(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_mikey-sakke"))
        .arg("eccsi")
        .args(args)
        .output()
        .expect("run mikey-sakke");
    Run {
        code: out.status.code().expect("exit status"),
        stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
    }
}

/// Exit 0, nothing on stderr, and exactly these `name = value` lines.
fn assert_ok(r: &Run, lines: &[(&str, &str)]) {
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    assert_eq!(r.stderr, "");
    let expected: String = lines.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
    assert_eq!(r.stdout, expected);
}

/// Exit 1 with exactly one line on stderr and nothing on stdout.
fn assert_error(r: &Run, what: &str) {
    assert_ne!(r.code, 101, "{what}: panicked: {}", r.stderr);
    assert_eq!(
        r.code, 1,
        "{what}: stdout {:?} stderr {:?}",
        r.stdout, r.stderr
    );
    assert_eq!(r.stdout, "", "{what}");
    assert_eq!(r.stderr.lines().count(), 1, "{what}: stderr {:?}", r.stderr);
    assert!(r.stderr.ends_with('\n'), "{what}");
}

/// `valid = false`, exit 1, nothing on stderr.
fn assert_invalid(r: &Run) {
    assert_eq!(r.code, 1, "stderr: {}", r.stderr);
    assert_eq!(r.stdout, "valid = false\n");
    assert_eq!(r.stderr, "");
}

fn value<'a>(stdout: &'a str, name: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(" = ")))
        .unwrap_or_else(|| panic!("{name} not in {stdout}"))
}

#[test]
fn rfc6507_kms_side() {
    let t = vectors(RFC6507);
    assert_ok(
        &eccsi(&["public-key", "--ksak", t["KSAK"]]),
        &[("KPAK", t["KPAK"])],
    );
    assert_ok(
        &eccsi(&["issue", "--ksak", t["KSAK"], "--id", t["ID"], "--v", t["v"]]),
        &[("PVT", t["PVT"]), ("SSK", t["SSK"]), ("HS", t["HS"])],
    );
    // Lower-case input, upper-case output.
    let lower = t["KSAK"].to_lowercase();
    assert_ok(
        &eccsi(&["public-key", "--ksak", &lower]),
        &[("KPAK", t["KPAK"])],
    );
}

#[test]
fn rfc6507_user_side() {
    let t = vectors(RFC6507);
    let key = [
        "--kpak", t["KPAK"], "--id", t["ID"], "--ssk", t["SSK"], "--pvt", t["PVT"],
    ];
    assert_ok(
        &eccsi(&[&["validate"], &key[..]].concat()),
        &[("valid", "true")],
    );
    assert_ok(
        &eccsi(&[&["sign"], &key[..], &["--message", t["M"], "--j", t["j"]]].concat()),
        &[("SIG", t["SIG"])],
    );
    let verify = ["verify", "--kpak", t["KPAK"], "--id", t["ID"]];
    assert_ok(
        &eccsi(&[&verify[..], &["--message", t["M"], "--signature", t["SIG"]]].concat()),
        &[("valid", "true")],
    );
    // Another message: a negative verdict, not an error.
    assert_invalid(&eccsi(
        &[
            &verify[..],
            &["--message", "6D657373616765", "--signature", t["SIG"]],
        ]
        .concat(),
    ));
    // A wrong SSK: negative validation.
    let mut ssk = t["SSK"].to_string();
    ssk.replace_range(63.., "E");
    assert_invalid(&eccsi(&[
        "validate", "--kpak", t["KPAK"], "--id", t["ID"], "--ssk", &ssk, "--pvt", t["PVT"],
    ]));
}

#[test]
fn random_issue_sign_verify() {
    let t = vectors(RFC6507);
    let issued = eccsi(&["issue", "--ksak", "0ABCDEF1", "--id", "7573657231"]);
    assert_eq!(issued.code, 0);
    let kpak = value(&eccsi(&["public-key", "--ksak", "0ABCDEF1"]).stdout, "KPAK").to_string();
    let (ssk, pvt) = (value(&issued.stdout, "SSK"), value(&issued.stdout, "PVT"));
    let key = [
        "--kpak",
        &kpak,
        "--id",
        "7573657231",
        "--ssk",
        ssk,
        "--pvt",
        pvt,
    ];
    assert_ok(
        &eccsi(&[&["validate"], &key[..]].concat()),
        &[("valid", "true")],
    );
    for message in [t["M"], ""] {
        let signed = eccsi(&[&["sign"], &key[..], &["--message", message]].concat());
        assert_eq!(signed.code, 0, "{}", signed.stderr);
        let sig = value(&signed.stdout, "SIG");
        assert_eq!(sig.len(), 2 * 129);
        assert_eq!(sig, sig.to_uppercase());
        assert_ok(
            &eccsi(&[
                "verify",
                "--kpak",
                &kpak,
                "--id",
                "7573657231",
                "--message",
                message,
                "--signature",
                sig,
            ]),
            &[("valid", "true")],
        );
        // Under another identifier it fails.
        assert_invalid(&eccsi(&[
            "verify",
            "--kpak",
            &kpak,
            "--id",
            "7573657232",
            "--message",
            message,
            "--signature",
            sig,
        ]));
    }
}

#[test]
fn mcx_key_sets_validate() {
    let m = vectors(MCX);
    for user in ["gms", "alice", "bob", "iwf"] {
        let ssk = m[format!("{user}_UserSigningKeySSK").as_str()];
        let long_ssk = format!("0000{ssk}");
        for ssk in [ssk, &long_ssk] {
            assert_ok(
                &eccsi(&[
                    "validate",
                    "--kpak",
                    m["kms_PubAuthKey"],
                    "--id",
                    m[format!("{user}_UserID").as_str()],
                    "--ssk",
                    ssk,
                    "--pvt",
                    m[format!("{user}_UserPubTokenPVT").as_str()],
                ]),
                &[("valid", "true")],
            );
        }
    }
}

#[test]
fn bad_input_is_one_line_on_stderr() {
    let t = vectors(RFC6507);
    let (kpak, id, ssk, pvt, m, sig) = (t["KPAK"], t["ID"], t["SSK"], t["PVT"], t["M"], t["SIG"]);
    let q = t["q"];
    let short_point = &kpak[..128];
    let long_sig = format!("{sig}00");
    let off_curve_pvt = format!("{}{}", &pvt[..128], "00");
    let compressed = format!("02{}", &pvt[2..66]);
    let zero_r_sig = format!("{}{}", "00".repeat(32), &sig[64..]);
    let zero_s_sig = format!("{}{}{}", &sig[..64], "00".repeat(32), &sig[128..]);
    let q_s_sig = format!("{}{}{}", &sig[..64], q, &sig[128..]);
    let identity_pvt_sig = format!("{}{}", &sig[..128], "00".repeat(65));
    let over_ssk = format!("01{ssk}");
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("odd hex", vec!["public-key", "--ksak", "123"]),
        ("non-hex", vec!["public-key", "--ksak", "12G4"]),
        ("empty", vec!["public-key", "--ksak", ""]),
        ("zero ksak", vec!["public-key", "--ksak", "0000"]),
        ("ksak = q", vec!["public-key", "--ksak", q]),
        (
            "v zero",
            vec!["issue", "--ksak", "01", "--id", id, "--v", "00"],
        ),
        ("odd id", vec!["issue", "--ksak", "01", "--id", "ABC"]),
        (
            "short kpak",
            vec![
                "validate",
                "--kpak",
                short_point,
                "--id",
                id,
                "--ssk",
                ssk,
                "--pvt",
                pvt,
            ],
        ),
        (
            "non-hex kpak",
            vec![
                "validate", "--kpak", "XY", "--id", id, "--ssk", ssk, "--pvt", pvt,
            ],
        ),
        (
            "off-curve pvt",
            vec![
                "validate",
                "--kpak",
                kpak,
                "--id",
                id,
                "--ssk",
                ssk,
                "--pvt",
                &off_curve_pvt,
            ],
        ),
        (
            "compressed pvt",
            vec![
                "validate",
                "--kpak",
                kpak,
                "--id",
                id,
                "--ssk",
                ssk,
                "--pvt",
                &compressed,
            ],
        ),
        (
            "ssk >= 2^256",
            vec![
                "validate", "--kpak", kpak, "--id", id, "--ssk", &over_ssk, "--pvt", pvt,
            ],
        ),
        (
            "ssk = q",
            vec![
                "validate", "--kpak", kpak, "--id", id, "--ssk", q, "--pvt", pvt,
            ],
        ),
        (
            "sign, invalid pair",
            vec![
                "sign",
                "--kpak",
                kpak,
                "--id",
                "00",
                "--ssk",
                ssk,
                "--pvt",
                pvt,
                "--message",
                m,
            ],
        ),
        (
            "sign, odd message",
            vec![
                "sign",
                "--kpak",
                kpak,
                "--id",
                id,
                "--ssk",
                ssk,
                "--pvt",
                pvt,
                "--message",
                "123",
            ],
        ),
        (
            "sign, j zero",
            vec![
                "sign",
                "--kpak",
                kpak,
                "--id",
                id,
                "--ssk",
                ssk,
                "--pvt",
                pvt,
                "--message",
                m,
                "--j",
                "00",
            ],
        ),
        (
            "long signature",
            vec![
                "verify",
                "--kpak",
                kpak,
                "--id",
                id,
                "--message",
                m,
                "--signature",
                &long_sig,
            ],
        ),
        (
            "short signature",
            vec![
                "verify",
                "--kpak",
                kpak,
                "--id",
                id,
                "--message",
                m,
                "--signature",
                &sig[..256],
            ],
        ),
        (
            "r = 0",
            vec![
                "verify",
                "--kpak",
                kpak,
                "--id",
                id,
                "--message",
                m,
                "--signature",
                &zero_r_sig,
            ],
        ),
        (
            "s = 0",
            vec![
                "verify",
                "--kpak",
                kpak,
                "--id",
                id,
                "--message",
                m,
                "--signature",
                &zero_s_sig,
            ],
        ),
        (
            "s = q",
            vec![
                "verify",
                "--kpak",
                kpak,
                "--id",
                id,
                "--message",
                m,
                "--signature",
                &q_s_sig,
            ],
        ),
        (
            "PVT = 0",
            vec![
                "verify",
                "--kpak",
                kpak,
                "--id",
                id,
                "--message",
                m,
                "--signature",
                &identity_pvt_sig,
            ],
        ),
        (
            "non-hex message",
            vec![
                "verify",
                "--kpak",
                kpak,
                "--id",
                id,
                "--message",
                "zz",
                "--signature",
                sig,
            ],
        ),
    ];
    for (what, args) in cases {
        assert_error(&eccsi(&args), what);
    }
}

#[test]
fn help_documents_every_argument() {
    for sub in ["public-key", "issue", "validate", "sign", "verify"] {
        let r = eccsi(&[sub, "--help"]);
        assert_eq!(r.code, 0);
        for line in r
            .stdout
            .lines()
            .filter(|l| l.trim_start().starts_with("--"))
        {
            let line = line.trim();
            // `--name <HEX>  explanation`: every option carries a description.
            assert!(
                line.split("  ").filter(|s| !s.trim().is_empty()).count() >= 2,
                "{sub}: undocumented option {line:?}"
            );
        }
    }
}
