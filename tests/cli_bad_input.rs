//! The command-line tool on bad input (security issue #8, item 4, CLI part): every subcommand
//! that takes user input, with odd-length, non-hex, truncated and over-long hex, invalid
//! points and scalars, missing, empty, non-UTF-8 and malformed files, hostile XML, tampered
//! messages and a wrong passphrase.
//!
//! Every case must end as a normal failure: exit status 1 (not 101, Rust's panic status, and
//! not a signal), nothing on stdout, exactly one line on stderr starting with `error: ` and
//! containing a substring specific to the problem, and no `panicked` anywhere.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine as _;
use common::{MCX, RFC6507, RFC6508, get, parse, text_value};
use mikey_sakke::annex_d::{KmsCertificate, KmsKeyProv, KmsKeySet, KmsMessage, KmsResponse};
use mikey_sakke::eccsi::{Kpak, Pvt, Ssk};
use mikey_sakke::mcx::uid::KeyPeriods;
use mikey_sakke::sakke::{KmsPublicKey, ReceiverSecretKey};

const PASS: &str = "cli-bad-input-passphrase";

struct Tmp(PathBuf);

impl Tmp {
    fn new() -> Self {
        let nonce: u64 = rand_core::Rng::next_u64(&mut rand_core::UnwrapErr(getrandom::SysRng));
        let p = std::env::temp_dir().join(format!("mikey-sakke-cli-bad-input-{nonce:016x}"));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
    fn file(&self, name: &str, contents: impl AsRef<[u8]>) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, contents).unwrap();
        s(&p)
    }
    fn path(&self, name: &str) -> String {
        s(&self.0.join(name))
    }
}

impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

fn cmd(args: &[String]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mikey-sakke"));
    c.args(args)
        .env("MIKEY_SAKKE_PASSPHRASE", PASS)
        .env("XDG_DATA_HOME", common::fresh_state_home())
        .stdin(Stdio::null());
    c
}

/// One bad invocation.
struct Case {
    name: String,
    args: Vec<String>,
    /// Overrides of the environment (the passphrase).
    env: Vec<(&'static str, String)>,
    stdin: Option<Vec<u8>>,
    /// A substring the error line must contain.
    needle: String,
}

fn case(name: &str, args: &[&str], needle: &str) -> Case {
    Case {
        name: name.to_string(),
        args: args.iter().map(|a| (*a).to_string()).collect(),
        env: Vec::new(),
        stdin: None,
        needle: needle.to_string(),
    }
}

fn exec(c: &Case) -> Output {
    let mut command = cmd(&c.args);
    for (k, v) in &c.env {
        command.env(k, v);
    }
    match &c.stdin {
        None => command.output().unwrap(),
        Some(input) => {
            use std::io::Write as _;
            command.stdin(Stdio::piped());
            command.stdout(Stdio::piped());
            command.stderr(Stdio::piped());
            let mut child = command.spawn().unwrap();
            child.stdin.take().unwrap().write_all(input).unwrap();
            child.wait_with_output().unwrap()
        }
    }
}

/// Why `o` is not a clean, specific failure (`None` if it is).
fn verdict(o: &Output, needle: &str) -> Option<String> {
    let err = String::from_utf8_lossy(&o.stderr);
    let out = String::from_utf8_lossy(&o.stdout);
    if o.status.code().is_none() {
        return Some(format!(
            "killed by a signal: {:?}; stderr {err:?}",
            o.status
        ));
    }
    if o.status.code() == Some(101) {
        return Some(format!("exit 101 (a panic); stderr {err:?}"));
    }
    if o.status.code() != Some(1) {
        return Some(format!(
            "exit {:?}, want 1; stderr {err:?}",
            o.status.code()
        ));
    }
    if err.contains("panicked") || out.contains("panicked") {
        return Some(format!("panicked: {err:?}"));
    }
    if !out.is_empty() {
        return Some(format!("stdout is not empty: {out:?}"));
    }
    let lines: Vec<&str> = err.lines().collect();
    let [last] = lines.as_slice() else {
        return Some(format!("stderr is not exactly one line: {err:?}"));
    };
    if !last.starts_with("error: ") {
        return Some(format!("stderr is not one `error: ` line: {err:?}"));
    }
    if !last.contains(needle) {
        return Some(format!("{needle:?} not in {err:?}"));
    }
    None
}

fn run_all(cases: &[Case]) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| {
            verdict(&exec(c), &c.needle).map(|why| format!("{} {:?}: {why}", c.name, c.args))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} case(s) failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn hx(b: &[u8]) -> String {
    hex::encode_upper(b)
}

// ----------------------------------------------------------------------------------------------
// Fixtures from the published vectors

const PERIOD: u64 = 236;
const PERIOD_LEN: u64 = 16_777_215;
const NTP_UNIX: u64 = 2_208_988_800;

/// An RFC 3339 time inside key period 236 of the published KMS.
fn time_in_period() -> String {
    let unix = PERIOD * PERIOD_LEN + 1_000 - NTP_UNIX;
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix))
        .to_string()
}

fn certificate_xml() -> String {
    let v = parse(MCX);
    let kms_uri = text_value(MCX, "kms_KmsUri");
    let cert = KmsCertificate::new(
        kms_uri,
        &KmsPublicKey::from_bytes(get(&v, "kms_PubEncKey")).unwrap(),
        &Kpak::from_bytes(get(&v, "kms_PubAuthKey")).unwrap(),
        KeyPeriods {
            length: PERIOD_LEN,
            offset: 0,
        },
    );
    KmsResponse::new(
        kms_uri,
        kms_uri,
        "2025-01-01T00:00:00Z",
        "https://kms/init",
        Some(KmsMessage::Init(Box::new(cert))),
    )
    .to_xml()
}

fn keys_xml(who: &str) -> String {
    let v = parse(MCX);
    let kms_uri = text_value(MCX, "kms_KmsUri");
    let ks = KmsKeySet::new(
        kms_uri,
        text_value(MCX, &format!("{who}_UserUri")),
        get(&v, &format!("{who}_UserID")).try_into().unwrap(),
        PERIOD,
        &ReceiverSecretKey::from_bytes(get(&v, &format!("{who}_UserDecryptKey"))).unwrap(),
        &Ssk::from_bytes(get(&v, &format!("{who}_UserSigningKeySSK"))).unwrap(),
        &Pvt::from_bytes(get(&v, &format!("{who}_UserPubTokenPVT"))).unwrap(),
    );
    KmsResponse::new(
        text_value(MCX, &format!("{who}_UserUri")),
        kms_uri,
        "2025-01-01T00:00:00Z",
        "https://kms/keyprov",
        Some(KmsMessage::KeyProv(KmsKeyProv { key_sets: vec![ks] })),
    )
    .to_xml()
}

fn gmk_message() -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text_value(MCX, "gmk_I_MESSAGE_b64"))
        .unwrap()
}

fn billion_laughs() -> String {
    let mut d = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_string()
        } else {
            format!("lol{}", i - 1)
        };
        d.push_str(&format!(
            "<!ENTITY lol{i} \"{}\">\n",
            format!("&{prev};").repeat(10)
        ));
    }
    d.push_str("]>\n<KmsResponse xmlns=\"urn:3gpp:ns:mcsecKMSInterface:1.0\">&lol9;</KmsResponse>");
    d
}

// ----------------------------------------------------------------------------------------------
// sakke, eccsi: hex arguments

#[test]
fn sakke_commands_on_bad_hex_points_and_scalars() {
    let v = parse(RFC6508);
    let z = hx(get(&v, "z"));
    let zz = hx(get(&v, "Z"));
    let rsk = hx(get(&v, "RSK"));
    let ed = hx(get(&v, "ED"));
    let id = hx(get(&v, "b"));
    let q = mikey_sakke::params::Q_HEX;
    let identity = "00".repeat(257);
    let order2 = format!("04{}", "00".repeat(256));
    let off_curve = format!("{}{:02X}", &zz[..512], get(&v, "Z")[256] ^ 1);
    let prefix02 = format!("02{}", &zz[2..]);
    let ms = |m: &str, needle: &str, name: &str| {
        case(name, &["sakke", "public-key", "--master-secret", m], needle)
    };
    let validate = |k: &str, r: &str, needle: &str, name: &str| {
        case(
            name,
            &[
                "sakke",
                "validate-rsk",
                "--kms-public-key",
                k,
                "--id",
                &id,
                "--rsk",
                r,
            ],
            needle,
        )
    };
    let decap = |e: &str, needle: &str, name: &str| {
        case(
            name,
            &[
                "sakke",
                "decapsulate",
                "--kms-public-key",
                &zz,
                "--id",
                &id,
                "--rsk",
                &rsk,
                "--ed",
                e,
            ],
            needle,
        )
    };
    let cases = vec![
        ms(
            "abc",
            "odd number of hex digits (3)",
            "master secret: odd-length hex",
        ),
        ms(
            "zz",
            "not a hex digit 'z' at position 0",
            "master secret: non-hex",
        ),
        ms("", "--master-secret: empty value", "master secret: empty"),
        ms(
            "00",
            "--master-secret: value is out of range",
            "master secret: 0",
        ),
        ms(
            q,
            "--master-secret: value is out of range",
            "master secret: q",
        ),
        ms(
            &"FF".repeat(128),
            "--master-secret: value is out of range",
            "master secret: all-0xFF",
        ),
        ms(
            &format!("01{}", "00".repeat(128)),
            "--master-secret: value must be at most 128 octets, got 129",
            "master secret: over-long",
        ),
        case(
            "issue-rsk: odd-length id",
            &["sakke", "issue-rsk", "--master-secret", &z, "--id", "123"],
            "--id: odd number of hex digits",
        ),
        case(
            "issue-rsk: missing id",
            &["sakke", "issue-rsk", "--master-secret", &z],
            "--id",
        ),
        validate(
            &zz[..512],
            &rsk,
            "--kms-public-key: encoding must be 257 octets, got 256",
            "validate: Z truncated by one octet",
        ),
        validate(
            &format!("{zz}00"),
            &rsk,
            "--kms-public-key: encoding must be 257 octets, got 258",
            "validate: Z over-long by one octet",
        ),
        validate(
            &prefix02,
            &rsk,
            "--kms-public-key: point must start with 0x04, got 0x02",
            "validate: Z with prefix 0x02",
        ),
        validate(
            &off_curve,
            &rsk,
            "--kms-public-key: point is not on the curve",
            "validate: Z off the curve",
        ),
        validate(
            &zz,
            &identity,
            "--rsk: point is the identity",
            "validate: RSK the identity",
        ),
        validate(
            &zz,
            &order2,
            "--rsk: point is not in the order-q subgroup",
            "validate: RSK (0, 0)",
        ),
        validate(
            &zz,
            &format!("04{}", "FF".repeat(256)),
            "--rsk: point coordinate is not below p",
            "validate: RSK coordinates 2^1024 - 1",
        ),
        validate(
            &zz,
            &rsk[1..],
            "--rsk: odd number of hex digits",
            "validate: RSK odd hex",
        ),
        case(
            "encapsulate: SSV of 15 octets",
            &[
                "sakke",
                "encapsulate",
                "--kms-public-key",
                &zz,
                "--id",
                &id,
                "--ssv",
                &"11".repeat(15),
            ],
            "--ssv: value must be 16 octets, got 15",
        ),
        case(
            "encapsulate: SSV of 17 octets",
            &[
                "sakke",
                "encapsulate",
                "--kms-public-key",
                &zz,
                "--id",
                &id,
                "--ssv",
                &"11".repeat(17),
            ],
            "--ssv: value must be at most 16 octets, got 17",
        ),
        decap(
            &ed[..544],
            "--ed: encoding must be 273 octets, got 272",
            "decapsulate: ED truncated by one octet",
        ),
        decap(
            &format!("{ed}00"),
            "--ed: encoding must be 273 octets, got 274",
            "decapsulate: ED over-long by one octet",
        ),
        decap(
            &format!("{order2}{}", &ed[514..]),
            "--ed: point is not in the order-q subgroup",
            "decapsulate: R = (0, 0)",
        ),
        decap(
            &format!("{}{:02X}", &ed[..544], get(&v, "ED")[272] ^ 1),
            "decapsulation failed",
            "decapsulate: H tampered",
        ),
        decap("0x", "--ed: empty value", "decapsulate: ED just 0x"),
        decap(
            "04 zz",
            "--ed: not a hex digit 'z'",
            "decapsulate: ED non-hex",
        ),
    ];
    run_all(&cases);
}

#[test]
fn eccsi_commands_on_bad_hex_points_and_scalars() {
    let v = parse(RFC6507);
    let kpak = hx(get(&v, "KPAK"));
    let pvt = hx(get(&v, "PVT"));
    let ssk = hx(get(&v, "SSK"));
    let id = hx(get(&v, "ID"));
    let m = hx(get(&v, "M"));
    let sig = hx(get(&v, "SIG"));
    let q = hx(get(&v, "q"));
    let p = hx(get(&v, "p"));
    let sign = |kpak: &str, ssk: &str, pvt: &str, extra: &[&str], needle: &str, name: &str| {
        let mut a = vec![
            "eccsi", "sign", "--kpak", kpak, "--id", &id, "--ssk", ssk, "--pvt", pvt,
        ];
        if !extra.contains(&"--message") {
            a.extend(["--message", &m]);
        }
        a.extend_from_slice(extra);
        case(name, &a, needle)
    };
    let verify = |signature: &str, needle: &str, name: &str| {
        case(
            name,
            &[
                "eccsi",
                "verify",
                "--kpak",
                &kpak,
                "--id",
                &id,
                "--message",
                &m,
                "--signature",
                signature,
            ],
            needle,
        )
    };
    let r_s = &sig[..128];
    let cases = vec![
        case(
            "public-key: KSAK 0",
            &["eccsi", "public-key", "--ksak", "00"],
            "--ksak: KSAK: value is zero",
        ),
        case(
            "public-key: KSAK q",
            &["eccsi", "public-key", "--ksak", &q],
            "--ksak: KSAK: value is not below q",
        ),
        case(
            "public-key: KSAK all-0xFF",
            &["eccsi", "public-key", "--ksak", &"FF".repeat(32)],
            "--ksak: KSAK: value is not below q",
        ),
        case(
            "public-key: KSAK odd hex",
            &["eccsi", "public-key", "--ksak", "12345"],
            "--ksak: odd number of hex digits (5)",
        ),
        case(
            "issue: v = 0",
            &[
                "eccsi", "issue", "--ksak", "012345", "--id", &id, "--v", "00",
            ],
            "--v: nonce: value is zero",
        ),
        sign(
            &kpak[..128],
            &ssk,
            &pvt,
            &[],
            "--kpak: KPAK: must be 65 octets, got 64",
            "sign: KPAK truncated by one octet",
        ),
        sign(
            &format!("{kpak}00"),
            &ssk,
            &pvt,
            &[],
            "--kpak: KPAK: must be 65 octets, got 66",
            "sign: KPAK over-long by one octet",
        ),
        sign(
            &kpak,
            &ssk,
            &format!("03{}", &pvt[2..]),
            &[],
            "--pvt: PVT: point must start with 0x04, got 0x03",
            "sign: PVT prefix 0x03",
        ),
        sign(
            &kpak,
            &ssk,
            &format!("04{p}{}", &pvt[66..]),
            &[],
            "--pvt: PVT: point coordinate is not below p",
            "sign: PVT x = p",
        ),
        sign(
            &kpak,
            &ssk,
            &format!("04{}", "00".repeat(64)),
            &[],
            "--pvt: PVT: point is not on the curve P-256",
            "sign: PVT (0, 0)",
        ),
        sign(
            &kpak,
            "",
            &pvt,
            &[],
            "--ssk: empty value",
            "sign: SSK empty",
        ),
        sign(
            &kpak,
            &"00".repeat(32),
            &pvt,
            &[],
            "--ssk: SSK: value is zero",
            "sign: SSK 0",
        ),
        sign(
            &kpak,
            &"FF".repeat(32),
            &pvt,
            &[],
            "--ssk: SSK: value is not below q",
            "sign: SSK all-0xFF",
        ),
        sign(
            &kpak,
            "0123456789ABCDEF",
            &pvt,
            &[],
            "the (SSK, PVT) pair does not validate",
            "sign: SSK that does not match the PVT",
        ),
        sign(
            &kpak,
            &ssk,
            &pvt,
            &["--j", "00"],
            "--j: nonce: value is zero",
            "sign: j = 0",
        ),
        sign(
            &kpak,
            &ssk,
            &pvt,
            &["--message", "abc"],
            "--message: odd number of hex digits",
            "sign: odd-length message",
        ),
        verify(
            &sig[..256],
            "--signature: signature: must be 129 octets, got 128",
            "verify: truncated",
        ),
        verify(
            &format!("{sig}00"),
            "--signature: signature: must be 129 octets, got 130",
            "verify: over-long",
        ),
        verify(
            &format!("{}{}{}", "00".repeat(32), &sig[64..128], &sig[128..]),
            "--signature: r: value is zero",
            "verify: r = 0",
        ),
        verify(
            &format!("{}{q}{}", &sig[..64], &sig[128..]),
            "--signature: s: value is not below q",
            "verify: s = q",
        ),
        verify(
            &format!("{r_s}{}", "00".repeat(65)),
            "--signature: PVT: point must start with 0x04, got 0x00",
            "verify: PVT the identity",
        ),
        verify("xyz", "--signature: not a hex digit 'x'", "verify: non-hex"),
    ];
    run_all(&cases);
}

// ----------------------------------------------------------------------------------------------
// mikey inspect / receive: message files and standard input

#[test]
fn mikey_commands_on_bad_messages() {
    let t = Tmp::new();
    let msg = gmk_message();
    let v = parse(MCX);
    let good = t.file("gmk.mikey", &msg);
    let truncated = t.file("truncated.mikey", &msg[..msg.len() - 1]);
    let trailing = t.file("trailing.mikey", [msg.as_slice(), &[0]].concat());
    let mut bad_sig = msg.clone();
    let n = bad_sig.len();
    bad_sig[n - 70] ^= 1;
    let bad_sig = t.file("badsig.mikey", &bad_sig);
    let empty = t.file("empty.mikey", b"");
    let odd = t.file("odd.txt", b"0123456789abcdef0");
    let junk = t.file("junk.txt", b"!!! not a message !!!");
    let version2 = t.file("v2.mikey", [&[2u8][..], &msg[1..]].concat());
    let missing = t.path("does-not-exist.mikey");
    let receive =
        |message: &str, rsk: &str, uid: &str, extra: &[&str], needle: &str, name: &str| {
            let z = hx(get(&v, "kms_PubEncKey"));
            let kpak = hx(get(&v, "kms_PubAuthKey"));
            let mut a = vec![
                "mikey",
                "receive",
                "--message",
                message,
                "--kms-public-key",
                &z,
                "--kpak",
                &kpak,
                "--uid",
                uid,
                "--rsk",
                rsk,
                "--no-time-check",
            ];
            a.extend_from_slice(extra);
            case(name, &a, needle)
        };
    let alice_rsk = hx(get(&v, "alice_UserDecryptKey"));
    let bob_rsk = hx(get(&v, "bob_UserDecryptKey"));
    let alice_uid = hx(get(&v, "alice_UserID"));
    let mut stdin_empty = case(
        "inspect: empty stdin",
        &["mikey", "inspect", "-"],
        "empty input",
    );
    stdin_empty.stdin = Some(Vec::new());
    let mut stdin_odd = case(
        "inspect: odd hex on stdin",
        &["mikey", "inspect", "-"],
        "odd number of digits",
    );
    stdin_odd.stdin = Some(b"abc\n".to_vec());
    let cases = vec![
        case(
            "inspect: no such file",
            &["mikey", "inspect", &missing],
            "cannot read",
        ),
        case(
            "inspect: empty file",
            &["mikey", "inspect", &empty],
            "empty input",
        ),
        case(
            "inspect: odd-length hex text",
            &["mikey", "inspect", &odd],
            "hex input has an odd number of digits (17)",
        ),
        case(
            "inspect: neither hex nor base64",
            &["mikey", "inspect", &junk],
            "neither a raw message, hex nor base64",
        ),
        case(
            "inspect: truncated by one octet",
            &["mikey", "inspect", &truncated],
            "Signature is 129 octet(s) long by its length field, but only 128 left",
        ),
        case(
            "inspect: trailing garbage",
            &["mikey", "inspect", &trailing],
            "1 trailing octet(s) after the last payload",
        ),
        case(
            "inspect: version 2",
            &["mikey", "inspect", &version2],
            "MIKEY HDR at offset 0: version 2, expected 1",
        ),
        case(
            "inspect: a directory",
            &["mikey", "inspect", &s(&t.0)],
            "cannot read",
        ),
        stdin_empty,
        stdin_odd,
        receive(
            &missing,
            &alice_rsk,
            &alice_uid,
            &[],
            "cannot read",
            "receive: no such file",
        ),
        receive(
            &empty,
            &alice_rsk,
            &alice_uid,
            &[],
            "empty input",
            "receive: empty file",
        ),
        receive(
            &truncated,
            &alice_rsk,
            &alice_uid,
            &[],
            "message rejected: malformed message",
            "receive: truncated",
        ),
        receive(
            &bad_sig,
            &alice_rsk,
            &alice_uid,
            &[],
            "message rejected: ECCSI signature verification failed",
            "receive: flipped signature bit",
        ),
        receive(
            &good,
            &bob_rsk,
            &alice_uid,
            &[],
            "--rsk: the RSK does not validate for this UID",
            "receive: someone else's RSK",
        ),
        receive(
            &good,
            &alice_rsk[..512],
            &alice_uid,
            &[],
            "--rsk: encoding must be 257 octets, got 256",
            "receive: RSK truncated",
        ),
        receive(
            &good,
            &alice_rsk,
            &alice_uid[..62],
            &[],
            "--uid: must be 32 octets, got 31",
            "receive: UID truncated",
        ),
        receive(
            &good,
            &alice_rsk,
            &format!("{alice_uid}00"),
            &[],
            "--uid: must be 32 octets, got 33",
            "receive: UID over-long",
        ),
        case(
            "receive: --now not a number",
            &[
                "mikey",
                "receive",
                "--message",
                &good,
                "--kms-public-key",
                &hx(get(&v, "kms_PubEncKey")),
                "--kpak",
                &hx(get(&v, "kms_PubAuthKey")),
                "--uid",
                &alice_uid,
                "--rsk",
                &alice_rsk,
                "--now",
                "yesterday",
            ],
            "--now: ",
        ),
        receive(
            &good,
            &alice_rsk,
            &alice_uid,
            &["--initiator-uid", "0102"],
            "--initiator-uid: must be 32 octets, got 2",
            "receive: initiator UID of 2 octets",
        ),
    ];
    run_all(&cases);
}

// ----------------------------------------------------------------------------------------------
// kms, gms, ue: files, XML documents and the store passphrase

#[test]
fn document_commands_on_bad_files() {
    let t = Tmp::new();
    let cert = t.file("cert.xml", certificate_xml());
    let gms = t.file("gms.xml", keys_xml("gms"));
    let alice = t.file("alice.xml", keys_xml("alice"));
    let bob = t.file("bob.xml", keys_xml("bob"));
    let msg = t.file("gmk.mikey", gmk_message());
    let members = t.file("members.txt", "sip:alice@streamwide.com\n");
    let empty = t.file("empty.xml", b"");
    let non_utf8 = t.file("latin1.xml", b"<KmsResponse>caf\xe9</KmsResponse>");
    let malformed = t.file(
        "malformed.xml",
        "<KmsResponse xmlns=\"urn:3gpp:ns:mcsecKMSInterface:1.0\"><UserUri>u</KmsUri>",
    );
    let unclosed = t.file(
        "unclosed.xml",
        "<KmsResponse xmlns=\"urn:3gpp:ns:mcsecKMSInterface:1.0\"><UserUri>u</UserUri>",
    );
    let lol = t.file("lol.xml", billion_laughs());
    let deep = t.file(
        "deep.xml",
        format!(
            "<KmsResponse xmlns=\"urn:3gpp:ns:mcsecKMSInterface:1.0\">{}{}</KmsResponse>",
            "<x:a xmlns:x=\"urn:o\">".repeat(10_000),
            "</x:a>".repeat(10_000)
        ),
    );
    let huge = t.file(
        "huge.xml",
        format!(
            "<KmsResponse xmlns=\"urn:3gpp:ns:mcsecKMSInterface:1.0\"><KmsId>{}</KmsId></KmsResponse>",
            "a".repeat(10 << 20)
        ),
    );
    let missing = t.path("missing.xml");
    // bob's key set, relabelled with the GMS's UserID: well-formed, but its SSK/PVT belong to
    // another identifier.
    let v = parse(MCX);
    let bob_as_gms = t.file(
        "bob-as-gms.xml",
        keys_xml("bob").replace(&hx(get(&v, "bob_UserID")), &hx(get(&v, "gms_UserID"))),
    );
    let out = t.path("out");
    let time = time_in_period();
    let distribute =
        |cert: &str, keys: &str, members: &str, extra: &[&str], needle: &str, name: &str| {
            let mut a = vec![
                "gms",
                "distribute",
                "--cert",
                cert,
                "--keys",
                keys,
                "--group-id",
                "sip:group@example.org",
                "--members",
                members,
                "--out",
                &out,
                "--time",
                &time,
            ];
            a.extend_from_slice(extra);
            case(name, &a, needle)
        };
    let receive = |cert: &str, keys: &str, message: &str, needle: &str, name: &str| {
        case(
            name,
            &[
                "ue",
                "receive",
                "--cert",
                cert,
                "--keys",
                keys,
                "--message",
                message,
                "--no-time-check",
            ],
            needle,
        )
    };
    let mut cases = Vec::new();
    // The same bad documents as certificate and as key set, for both commands.
    for (what, file, needle) in [
        ("missing", &missing, "cannot read"),
        ("empty", &empty, "document has no root element"),
        ("not UTF-8", &non_utf8, "not UTF-8 text"),
        ("malformed", &malformed, "malformed XML"),
        ("unclosed", &unclosed, "document ends inside KmsResponse"),
        (
            "billion laughs",
            &lol,
            "DOCTYPE declarations are not allowed",
        ),
        (
            "10 000 levels deep",
            &deep,
            "elements nest deeper than 64 levels",
        ),
        ("10 MB", &huge, "larger than the 1048576-octet limit"),
    ] {
        cases.push(distribute(
            file,
            &gms,
            &members,
            &[],
            needle,
            &format!("distribute: {what} certificate"),
        ));
        cases.push(distribute(
            &cert,
            file,
            &members,
            &[],
            needle,
            &format!("distribute: {what} key set"),
        ));
        cases.push(receive(
            file,
            &alice,
            &msg,
            needle,
            &format!("receive: {what} certificate"),
        ));
        cases.push(receive(
            &cert,
            file,
            &msg,
            needle,
            &format!("receive: {what} key set"),
        ));
    }
    cases.extend([
        distribute(
            &gms,
            &gms,
            &members,
            &[],
            "no KmsCertificate",
            "distribute: key set as certificate",
        ),
        distribute(
            &cert,
            &gms,
            &missing,
            &[],
            "cannot read",
            "distribute: no members file",
        ),
        distribute(
            &cert,
            &gms,
            &empty,
            &[],
            "the members file lists no URI",
            "distribute: empty members file",
        ),
        distribute(
            &cert,
            &gms,
            &non_utf8,
            &[],
            "latin1.xml:1: not UTF-8",
            "distribute: non-UTF-8 members file",
        ),
        distribute(
            &cert,
            &gms,
            &members,
            &["--gmk", "abc", "--gmk-id", "0abcdef1"],
            "--gmk: odd number of hex digits",
            "distribute: odd-length GMK",
        ),
        distribute(
            &cert,
            &gms,
            &members,
            &["--gmk", &"11".repeat(15), "--gmk-id", "0abcdef1"],
            "--gmk: value must be 16 octets, got 15",
            "distribute: GMK of 15 octets",
        ),
        distribute(
            &cert,
            &gms,
            &members,
            &["--gmk", &"11".repeat(16), "--gmk-id", "0abcde"],
            "--gmk-id: must be 4 octets",
            "distribute: GMK-ID of 3 octets",
        ),
        distribute(
            &cert,
            &gms,
            &members,
            &["--gmk", &"11".repeat(16), "--gmk-id", "1abcdef1"],
            "--gmk-id: the purpose tag (top 4 bits) must be 0 (GMK)",
            "distribute: GMK-ID with purpose tag 1",
        ),
        distribute(
            &cert,
            &gms,
            &members,
            &["--gmk", &"11".repeat(16)],
            "--gmk-id",
            "distribute: GMK without GMK-ID",
        ),
        case(
            "distribute: --time not RFC 3339",
            &[
                "gms",
                "distribute",
                "--cert",
                &cert,
                "--keys",
                &gms,
                "--group-id",
                "g",
                "--members",
                &members,
                "--out",
                &out,
                "--time",
                "soon",
            ],
            "--time: timestamp format is invalid",
        ),
        distribute(
            &cert,
            &bob_as_gms,
            &members,
            &[],
            "the signer's SSK/PVT do not validate",
            "distribute: a key set whose UserID does not match its SSK/PVT",
        ),
        receive(
            &cert,
            &bob,
            &msg,
            "message is addressed to another receiver",
            "receive: bob's keys for alice's message",
        ),
        receive(
            &cert,
            &alice,
            &missing,
            "cannot read",
            "receive: no message file",
        ),
        receive(
            &cert,
            &alice,
            &empty,
            "empty input",
            "receive: empty message file",
        ),
    ]);
    run_all(&cases);
}

#[test]
fn kms_commands_on_bad_stores_files_and_passphrases() {
    let t = Tmp::new();
    let db = t.path("kms.db");
    let o = cmd(&[
        "kms".into(),
        "init".into(),
        "--store".into(),
        db.clone(),
        "--kms-uri".into(),
        "kms.example.org".into(),
    ])
    .output()
    .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let empty = t.file("empty.db", b"");
    let xml = t.file("not-a-db.xml", "<KmsResponse/>");
    let junk = t.file("junk.db", vec![0x5au8; 8192]);
    let missing = t.path("missing.db");
    let users_empty = t.file("users-empty.txt", "\n# nobody\n");
    let users_latin1 = t.file("users-latin1.txt", b"sip:jos\xe9@example.org\n");
    let two_users = t.file("users.txt", "sip:a@example.org\nsip:b@example.org\n");
    let with_pass = |mut c: Case, pass: &str| {
        c.env.push(("MIKEY_SAKKE_PASSPHRASE", pass.to_string()));
        c
    };
    let cases = vec![
        case(
            "init: the store exists",
            &["kms", "init", "--store", &db, "--kms-uri", "x"],
            "the store already exists",
        ),
        case(
            "init: directory does not exist",
            &[
                "kms",
                "init",
                "--store",
                &t.path("no/such/dir/kms.db"),
                "--kms-uri",
                "x",
            ],
            "store database error: unable to open database file",
        ),
        with_pass(
            case(
                "init: empty passphrase",
                &[
                    "kms",
                    "init",
                    "--store",
                    &t.path("new.db"),
                    "--kms-uri",
                    "x",
                ],
                "the passphrase is empty",
            ),
            "",
        ),
        case(
            "init: key period 0",
            &[
                "kms",
                "init",
                "--store",
                &t.path("zero.db"),
                "--kms-uri",
                "x",
                "--key-period",
                "0",
            ],
            "the key period length must be at least one second",
        ),
        case(
            "init: key period not a number",
            &[
                "kms",
                "init",
                "--store",
                &t.path("nan.db"),
                "--kms-uri",
                "x",
                "--key-period",
                "month",
            ],
            "invalid value 'month'",
        ),
        with_pass(
            case(
                "certificate: wrong passphrase",
                &["kms", "certificate", "--store", &db],
                "wrong passphrase for this store",
            ),
            "not the passphrase",
        ),
        with_pass(
            case(
                "provision: wrong passphrase",
                &[
                    "kms",
                    "provision",
                    "--store",
                    &db,
                    "--user",
                    "sip:a@example.org",
                ],
                "wrong passphrase for this store",
            ),
            "not the passphrase",
        ),
        case(
            "certificate: missing store",
            &["kms", "certificate", "--store", &missing],
            "does not exist",
        ),
        case(
            "certificate: empty file as store",
            &["kms", "certificate", "--store", &empty],
            "not a mikey-sakke KMS store: no such table: meta",
        ),
        case(
            "certificate: XML file as store",
            &["kms", "certificate", "--store", &xml],
            "store database error: file is not a database",
        ),
        case(
            "certificate: junk file as store",
            &["kms", "certificate", "--store", &junk],
            "store database error: file is not a database",
        ),
        case(
            "certificate: --time not RFC 3339",
            &["kms", "certificate", "--store", &db, "--time", "tomorrow"],
            "--time: timestamp format is invalid",
        ),
        case(
            "certificate: --time before 1970",
            &[
                "kms",
                "certificate",
                "--store",
                &db,
                "--time",
                "1900-01-01T00:00:00Z",
            ],
            "--time: numeric component is out of range",
        ),
        case(
            "provision: no users file",
            &["kms", "provision", "--store", &db, "--users-file", &missing],
            "cannot read",
        ),
        case(
            "provision: users file lists nobody",
            &[
                "kms",
                "provision",
                "--store",
                &db,
                "--users-file",
                &users_empty,
            ],
            "no URIs to provision",
        ),
        case(
            "provision: users file not UTF-8",
            &[
                "kms",
                "provision",
                "--store",
                &db,
                "--users-file",
                &users_latin1,
            ],
            "users-latin1.txt:1: not UTF-8",
        ),
        case(
            "provision: several users without --out DIR",
            &[
                "kms",
                "provision",
                "--store",
                &db,
                "--users-file",
                &two_users,
            ],
            "--out DIR",
        ),
        case(
            "provision: --periods 0",
            &[
                "kms",
                "provision",
                "--store",
                &db,
                "--user",
                "sip:a@e",
                "--periods",
                "0",
            ],
            "--periods",
        ),
        case(
            "provision: --periods 13",
            &[
                "kms",
                "provision",
                "--store",
                &db,
                "--user",
                "sip:a@e",
                "--periods",
                "13",
            ],
            "--periods",
        ),
        case(
            "provision: no user at all",
            &["kms", "provision", "--store", &db],
            "--user",
        ),
        // Checked before any key set is issued or recorded.
        case(
            "provision: output into a missing directory",
            &[
                "kms",
                "provision",
                "--store",
                &db,
                "--user",
                "sip:a@e",
                "--out",
                &t.path("no/dir/a.xml"),
            ],
            "is not a directory",
        ),
        case(
            "demo: --members 0",
            &["demo", "--members", "0"],
            "--members",
        ),
        case(
            "demo: --members not a number",
            &["demo", "--members", "many"],
            "invalid value 'many'",
        ),
        case(
            "bench: unknown option",
            &["bench", "--fast"],
            "unexpected argument '--fast'",
        ),
        case(
            "unknown subcommand",
            &["kms", "destroy"],
            "unrecognized subcommand 'destroy'",
        ),
    ];
    run_all(&cases);
}
