//! The operator's safety rails through the CLI on real stores: collision-free key and message
//! file names planned before anything is issued, URI lists checked line by line with nothing
//! registered from a rejected batch, passphrase rules, and 0600 key files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mikey_sakke::annex_d::KmsResponse;
use mikey_sakke::kms::store::{KmsStore, Store};

const PASS: &str = "operator-test-passphrase";

#[path = "common/cli.rs"]
mod cli;

use cli::{Tmp as Dir, fails_with, s};

fn run_env(args: &[&str], pass: Option<&str>) -> Output {
    cli::bin(args, pass).output().unwrap()
}

fn ok(args: &[&str]) -> String {
    let o = run_env(args, Some(PASS));
    assert_eq!(
        o.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn fails(args: &[&str], pass: Option<&str>, needle: &str) -> String {
    let o = run_env(args, pass);
    let e = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(1), "{args:?}: {e}");
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.contains(needle), "{needle:?} not in {e:?}");
    e
}

/// The arguments of `kms init` of the store `db` for kms.example.org.
fn init_args(db: &Path) -> Vec<&str> {
    cli::args(
        &["kms", "init", "--kms-uri", "kms.example.org"],
        &[("--store", db)],
        &[],
    )
}

fn init(d: &Dir) -> PathBuf {
    let db = d.path("kms.db");
    ok(&init_args(&db));
    db
}

#[test]
fn file_names_never_collide_and_existing_files_are_checked_first() {
    let d = Dir::new("names");
    let db = init(&d);
    let users = [
        "sip:a_b@c.org",
        "sip:a:b@c.org",
        "sip:a/b@c.org",
        "sip:a@b_c.org",
    ];
    std::fs::write(d.path("users.txt"), users.join("\n")).unwrap();
    let keys = d.path("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let out = ok(&[
        "kms",
        "provision",
        "--store",
        s(&db),
        "--users-file",
        s(&d.path("users.txt")),
        "--out",
        s(&keys),
    ]);
    assert!(out.contains("written = 4 files"), "{out}");
    let mut found = Vec::new();
    for e in std::fs::read_dir(&keys).unwrap().flatten() {
        let name = e.file_name().into_string().unwrap();
        let stem = name.strip_suffix(".xml").unwrap();
        let uri = mikey_sakke::input::uri_for_file_name(stem).unwrap();
        let doc = KmsResponse::from_xml(&std::fs::read_to_string(e.path()).unwrap()).unwrap();
        assert_eq!(doc.user_uri, uri);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(e.metadata().unwrap().permissions().mode() & 0o777, 0o600);
        }
        found.push(uri);
    }
    found.sort();
    let mut want: Vec<String> = users.iter().map(|u| u.to_string()).collect();
    want.sort();
    assert_eq!(found, want);

    // Re-running rewrites the same users' files (and fixes a widened mode).
    let a = keys.join(format!(
        "{}.xml",
        mikey_sakke::input::file_name_for(users[0])
    ));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    ok(&[
        "kms",
        "provision",
        "--store",
        s(&db),
        "--users-file",
        s(&d.path("users.txt")),
        "--out",
        s(&keys),
    ]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&a).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    // A very long URI: a capped name with a hash suffix, still its own file.
    let long = format!("sip:{}@c.org", "x/".repeat(300));
    let before: Vec<_> = std::fs::read_dir(&keys).unwrap().flatten().collect();
    ok(&provision_args(&db, &[&long], &keys, &[]));
    let stem = mikey_sakke::input::file_name_for(&long);
    assert!(
        stem.len() <= mikey_sakke::input::MAX_FILE_STEM && stem.contains('~'),
        "{stem}"
    );
    let doc = std::fs::read_to_string(keys.join(format!("{stem}.xml"))).unwrap();
    assert_eq!(KmsResponse::from_xml(&doc).unwrap().user_uri, long);
    assert_eq!(std::fs::read_dir(&keys).unwrap().count(), before.len() + 1);
    // A file in the way that holds someone else's documents stops the batch before anything is
    // issued or registered.
    let newcomer = "sip:new@c.org";
    let theirs = keys.join(format!(
        "{}.xml",
        mikey_sakke::input::file_name_for(newcomer)
    ));
    std::fs::copy(&a, &theirs).unwrap();
    fails(
        &[
            "kms",
            "provision",
            "--store",
            s(&db),
            "--user",
            newcomer,
            "--user",
            users[1],
            "--out",
            s(&keys),
        ],
        Some(PASS),
        "does not hold the documents of sip:new@c.org",
    );
    let store = Store::open(&db, PASS.as_bytes()).unwrap();
    assert!(!store.is_registered(newcomer).unwrap());
}

#[test]
fn uri_lists_are_validated_before_anything_is_registered() {
    let d = Dir::new("lists");
    let db = init(&d);
    let long = format!("sip:{}@example.org", "x".repeat(70_000));
    let list = format!(
        "# team\nsip:alice@example.org   # lead\n\nsip:alice@example.org\nhello world\n!!!\n{long}\n"
    );
    std::fs::write(d.path("users.txt"), list).unwrap();
    let e = fails(
        &[
            "kms",
            "provision",
            "--store",
            s(&db),
            "--users-file",
            s(&d.path("users.txt")),
            "--out",
            s(&d.0),
        ],
        Some(PASS),
        "3 invalid line(s), nothing done",
    );
    assert!(
        e.contains("users.txt:5:") && e.contains("users.txt:6:") && e.contains("users.txt:7:"),
        "{e}"
    );
    assert!(e.len() < 1000, "the 70 KB line is cut: {} octets", e.len());
    let store = Store::open(&db, PASS.as_bytes()).unwrap();
    assert!(!store.is_registered("sip:alice@example.org").unwrap());
    drop(store);
    // A valid list: the duplicate is provisioned once.
    std::fs::write(
        d.path("ok.txt"),
        "sip:alice@example.org # lead\nsip:alice@example.org\nsip:bob@example.org\n",
    )
    .unwrap();
    let keys = d.path("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let out = ok(&[
        "kms",
        "provision",
        "--store",
        s(&db),
        "--users-file",
        s(&d.path("ok.txt")),
        "--out",
        s(&keys),
    ]);
    assert!(out.contains("written = 2 files"), "{out}");
    // Standard input as the list.
    let o = Command::new(env!("CARGO_BIN_EXE_mikey-sakke"))
        .args([
            "kms",
            "provision",
            "--store",
            s(&db),
            "--users-file",
            "-",
            "--out",
            s(&keys),
        ])
        .env("MIKEY_SAKKE_PASSPHRASE", PASS)
        .stdin(std::fs::File::open(d.path("ok.txt")).unwrap())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn passphrase_rules() {
    let d = Dir::new("pass");
    let db = d.path("kms.db");
    let args = init_args(&db);
    fails(&args, Some("short"), "shorter than 12 characters");
    assert!(!db.exists());
    let mut weak = args.to_vec();
    weak.push("--allow-weak-passphrase");
    let o = run_env(&weak, Some("short"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The same store opened with the passphrase from a file (first line).
    std::fs::write(d.path("pass.txt"), "short\nignored second line\n").unwrap();
    let o = run_env(
        &[
            "kms",
            "certificate",
            "--store",
            s(&db),
            "--passphrase-file",
            s(&d.path("pass.txt")),
        ],
        None,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    fails(
        &["kms", "certificate", "--store", s(&db)],
        Some("another passphrase"),
        "wrong passphrase",
    );
    // No source at all (no terminal in tests): one clear line.
    fails(
        &["kms", "certificate", "--store", s(&db)],
        None,
        "--passphrase-file",
    );
    for cmd in ["init", "certificate", "provision"] {
        let h = ok(&["kms", cmd, "--help"]);
        assert!(
            h.contains("MIKEY_SAKKE_PASSPHRASE") && h.contains("--passphrase-file"),
            "{cmd}: {h}"
        );
    }
}

#[test]
fn gms_distribute_names_files_by_member_and_reports_the_gmk() {
    let d = Dir::new("gms");
    let db = init(&d);
    std::fs::write(d.path("members.txt"), "sip:a_b@c.org\nsip:a:b@c.org\n").unwrap();
    let cert = ok(&["kms", "certificate", "--store", s(&db)]);
    std::fs::write(d.path("cert.xml"), cert).unwrap();
    ok(&[
        "kms",
        "provision",
        "--store",
        s(&db),
        "--user",
        "sip:gms@c.org",
        "--out",
        s(&d.path("gms.xml")),
    ]);
    let out = ok(&[
        "gms",
        "distribute",
        "--cert",
        s(&d.path("cert.xml")),
        "--keys",
        s(&d.path("gms.xml")),
        "--group-id",
        "sip:g@c.org",
        "--members",
        s(&d.path("members.txt")),
        "--out",
        s(&d.path("out")),
        "--show-key",
    ]);
    assert!(
        out.contains("gmk_id = ") && out.contains("gmk = ") && out.contains("written = 2"),
        "{out}"
    );
    let quiet = ok(&[
        "gms",
        "distribute",
        "--cert",
        s(&d.path("cert.xml")),
        "--keys",
        s(&d.path("gms.xml")),
        "--group-id",
        "sip:g@c.org",
        "--members",
        s(&d.path("members.txt")),
        "--out",
        s(&d.path("out2")),
    ]);
    assert!(
        quiet.contains("gmk_id = ") && !quiet.contains("gmk = "),
        "{quiet}"
    );
    assert_eq!(std::fs::read_dir(d.path("out")).unwrap().count(), 2);
    fails(
        &[
            "gms",
            "distribute",
            "--cert",
            s(&d.path("cert.xml")),
            "--keys",
            s(&d.path("gms.xml")),
            "--group-id",
            " ",
            "--members",
            s(&d.path("members.txt")),
            "--out",
            s(&d.path("out3")),
        ],
        Some(PASS),
        "--group-id: empty",
    );
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// The store file and those of its journal files that exist (SQLite removes them when the last
/// connection closes).
fn store_files(db: &Path) -> Vec<PathBuf> {
    ["", "-wal", "-shm"]
        .iter()
        .map(|x| PathBuf::from(format!("{}{x}", db.display())))
        .filter(|p| p.exists())
        .collect()
}

#[test]
fn lifecycle_revoke_list_audit_backup_and_passphrase_change() {
    let d = Dir::new("lifecycle");
    let db = init(&d);
    let (alice, bob) = ("sip:alice@example.org", "sip:bob@example.org");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in store_files(&db) {
            assert_eq!(mode(&f), 0o600, "{}", f.display());
        }
        // a store left 0644 (an older release) is set 0600 on its next use, WAL and SHM too
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let out = d.path("keys");
    std::fs::create_dir(&out).unwrap();
    let t = "2026-01-01T00:00:00Z";
    let prov = |users: &[&str], time: &str| {
        let mut a = vec!["kms", "provision", "--store", s(&db), "--time", time];
        for u in users {
            a.extend(["--user", u]);
        }
        a.extend(["--out", s(&out)]);
        run_env(&a, Some(PASS))
    };
    let o = prov(&[alice, bob], t);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    #[cfg(unix)]
    for f in store_files(&db) {
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
    // revoke
    let r = ok(&[
        "kms",
        "revoke",
        "--store",
        s(&db),
        "--user",
        alice,
        "--reason",
        "lost device",
    ]);
    assert!(r.contains("changed = yes"), "{r}");
    let r = ok(&["kms", "revoke", "--store", s(&db), "--user", alice]);
    assert!(r.contains("changed = no"), "{r}");
    fails(
        &[
            "kms",
            "revoke",
            "--store",
            s(&db),
            "--user",
            "sip:nobody@example.org",
        ],
        Some(PASS),
        "not registered",
    );
    // provisioning skips the revoked user and says so; alone it is refused
    for f in std::fs::read_dir(&out).unwrap() {
        std::fs::remove_file(f.unwrap().path()).unwrap();
    }
    let o = prov(&[alice, bob], "2026-03-01T00:00:00Z");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("skipped 1 revoked"), "{err}");
    let written: Vec<_> = std::fs::read_dir(&out).unwrap().collect();
    assert_eq!(written.len(), 1);
    let o = prov(&[alice], "2026-03-01T00:00:00Z");
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("revoked"));
    // listings
    let list = ok(&["kms", "users", "list", "--store", s(&db)]);
    assert_eq!(list.lines().count(), 2, "{list}");
    assert!(
        list.lines()
            .next()
            .unwrap()
            .starts_with("sip:alice@example.org user revoked"),
        "{list}"
    );
    assert!(list.contains("lost device"), "{list}");
    let json = ok(&["kms", "users", "list", "--store", s(&db), "--json"]);
    let rows: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows[0]["revoked"], true);
    assert_eq!(rows[0]["key_sets"], 2);
    assert_eq!(rows[1]["revoked"], false);
    assert_eq!(rows[1]["key_sets"], 4);
    let show = ok(&[
        "kms",
        "users",
        "show",
        "--store",
        s(&db),
        "--user",
        bob,
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(show.trim()).unwrap();
    assert_eq!(v["issued"].as_array().unwrap().len(), 4);
    assert_eq!(v["issued"][0]["generation"], 1);
    let show = ok(&["kms", "users", "show", "--store", s(&db), "--user", alice]);
    assert!(show.contains("status = revoked"), "{show}");
    fails(
        &[
            "kms",
            "users",
            "show",
            "--store",
            s(&db),
            "--user",
            "sip:x@example.org",
        ],
        Some(PASS),
        "not registered",
    );
    // the audit trail: 6 key sets issued, one revocation; no secret
    let csv = ok(&[
        "kms",
        "audit",
        "export",
        "--store",
        s(&db),
        "--format",
        "csv",
    ]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "at,event,uri,period,generation,principal,peer,detail"
    );
    assert_eq!(lines.len(), 1 + 6 + 1, "{csv}");
    assert_eq!(lines.iter().filter(|l| l.contains(",issued,")).count(), 6);
    assert!(
        lines
            .iter()
            .any(|l| l.contains(",revoked,sip:alice@example.org,,,,,lost device"))
    );
    let jsonl = ok(&["kms", "audit", "export", "--store", s(&db)]);
    for l in jsonl.lines() {
        let e: serde_json::Value = serde_json::from_str(l).unwrap();
        assert!(e["event"].is_string());
    }
    assert_eq!(jsonl.lines().count(), 7);
    assert!(!jsonl.contains("UserDecryptKey") && !jsonl.contains("rsk"));
    // its report line goes to standard error: a standard error that cannot be written drops
    // the line, the export itself succeeds (exit 0, never a panic)
    #[cfg(target_os = "linux")]
    {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let o = cli::bin(&["kms", "audit", "export", "--store", s(&db)], Some(PASS))
            .stderr(std::process::Stdio::from(full))
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0));
        assert_eq!(String::from_utf8(o.stdout).unwrap(), jsonl);
    }
    let later = ok(&[
        "kms",
        "audit",
        "export",
        "--store",
        s(&db),
        "--since",
        "2100-01-01T00:00:00Z",
    ]);
    assert_eq!(later, "");
    // a backup: a new 0600 file that opens as a store and holds the key sets
    let copy = d.path("backup.db");
    ok(&["kms", "backup", "--store", s(&db), "--to", s(&copy)]);
    #[cfg(unix)]
    assert_eq!(mode(&copy), 0o600);
    fails(
        &["kms", "backup", "--store", s(&db), "--to", s(&copy)],
        Some(PASS),
        "backup.db",
    );
    {
        let restored = Store::open(&copy, PASS.as_bytes()).unwrap();
        let orig = Store::open(&db, PASS.as_bytes()).unwrap();
        let p = orig.issue_log(Some(bob)).unwrap()[0].period_no;
        assert_eq!(
            restored.issued(bob, p).unwrap().unwrap().rsk.to_bytes(),
            orig.issued(bob, p).unwrap().unwrap().rsk.to_bytes()
        );
    }
    // the passphrase change: from a file, weak ones refused, then old fails and new works
    let new = "the operator's new passphrase";
    std::fs::write(d.path("new.txt"), format!("{new}\n")).unwrap();
    std::fs::write(d.path("weak.txt"), "short\n").unwrap();
    let change = |file: &Path| {
        vec![
            "kms".to_string(),
            "passphrase".into(),
            "change".into(),
            "--store".into(),
            s(&db).into(),
            "--new-passphrase-file".into(),
            s(file).into(),
        ]
    };
    let weak = change(&d.path("weak.txt"));
    let weak: Vec<&str> = weak.iter().map(String::as_str).collect();
    fails(&weak, Some(PASS), "shorter than 12");
    let args = change(&d.path("new.txt"));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    fails(&args, Some("not the passphrase"), "wrong passphrase");
    let r = ok(&args);
    assert!(r.contains("passphrase = changed"), "{r}");
    fails(
        &["kms", "users", "list", "--store", s(&db)],
        Some(PASS),
        "wrong passphrase",
    );
    let o = run_env(
        &["kms", "users", "show", "--store", s(&db), "--user", bob],
        Some(new),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    {
        let st = Store::open(&db, new.as_bytes()).unwrap();
        let p = st.issue_log(Some(bob)).unwrap()[0].period_no;
        assert!(st.issued(bob, p).unwrap().is_some());
    }
    // no terminal for the new passphrase: one clear line
    let o = run_env(
        &["kms", "passphrase", "change", "--store", s(&db)],
        Some(new),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--new-passphrase-file"));
    // reinstated: provisioned again
    let o = run_env(
        &["kms", "unrevoke", "--store", s(&db), "--user", alice],
        Some(new),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run_env(
        &[
            "kms",
            "provision",
            "--store",
            s(&db),
            "--user",
            alice,
            "--time",
            "2026-03-01T00:00:00Z",
        ],
        Some(new),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for cmd in [
        vec!["kms", "revoke", "--help"],
        vec!["kms", "users", "list", "--help"],
        vec!["kms", "audit", "export", "--help"],
        vec!["kms", "backup", "--help"],
        vec!["kms", "passphrase", "change", "--help"],
    ] {
        let h = ok(&cmd);
        assert!(h.contains("MIKEY_SAKKE_PASSPHRASE"), "{cmd:?}: {h}");
    }
}

#[test]
fn rotate_starts_a_generation_whose_certificates_carry_their_validity() {
    let d = Dir::new("rotate");
    let db = init(&d);
    let at = |days: u64| {
        humantime::format_rfc3339_seconds(
            std::time::SystemTime::now() + std::time::Duration::from_secs(days * 86_400),
        )
        .to_string()
    };
    let now = at(0);
    let before = ok(&[
        "kms",
        "provision",
        "--store",
        s(&db),
        "--user",
        "sip:a@example.org",
        "--time",
        &now,
    ]);
    let past = humantime::format_rfc3339_seconds(
        std::time::SystemTime::now() - std::time::Duration::from_secs(40 * 86_400),
    )
    .to_string();
    fails(
        &["kms", "rotate", "--store", s(&db), "--effective", &past],
        Some(PASS),
        "after the current key period",
    );
    // the next period boundary: its key sets are issued already (provision gives two periods)
    fails(
        &["kms", "rotate", "--store", s(&db), "--effective", &now],
        Some(PASS),
        "recorded under the current master-key generation",
    );
    fails(
        &[
            "kms",
            "rotate",
            "--store",
            s(&db),
            "--effective",
            "tomorrow",
        ],
        Some(PASS),
        "effective",
    );
    let r = ok(&["kms", "rotate", "--store", s(&db), "--effective", &at(100)]);
    assert!(r.contains("generation = 2"), "{r}");
    let cert_at = |t: &str| {
        let xml = ok(&["kms", "certificate", "--store", s(&db), "--time", t]);
        KmsResponse::from_xml(&xml)
            .unwrap()
            .certificate()
            .unwrap()
            .clone()
    };
    let (old, new) = (cert_at(&now), cert_at(&at(200)));
    assert!(
        old.valid_from.is_some() && old.valid_to.is_some(),
        "{old:?}"
    );
    assert!(
        new.valid_from.is_some() && new.valid_to.is_none(),
        "{new:?}"
    );
    assert!(new.valid_from.as_deref().unwrap() > old.valid_to.as_deref().unwrap());
    assert_ne!(old.pub_enc_key, new.pub_enc_key);
    // the key sets of the old periods are still the old generation's
    let again = ok(&[
        "kms",
        "provision",
        "--store",
        s(&db),
        "--user",
        "sip:a@example.org",
        "--time",
        &now,
    ]);
    let keys = |xml: &str| {
        KmsResponse::from_xml(xml)
            .unwrap()
            .key_sets()
            .iter()
            .map(|k| k.key_period_no)
            .collect::<Vec<_>>()
    };
    assert_eq!(keys(&before), keys(&again));
    let st = Store::open(&db, PASS.as_bytes()).unwrap();
    for e in st.issue_log(None).unwrap() {
        assert_eq!(e.generation, 1);
    }
}

#[test]
fn an_edited_setting_is_one_clear_error() {
    let d = Dir::new("settings");
    let db = init(&d);
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute(
        "UPDATE meta SET value = CAST('3600' AS BLOB) WHERE key = 'key_period'",
        [],
    )
    .unwrap();
    drop(conn);
    fails(
        &["kms", "certificate", "--store", s(&db)],
        Some(PASS),
        "setting key_period failed authentication: the store was modified",
    );
}

/// Asserts that a `--skip-invalid` run of the list `list` succeeded and reported exactly the
/// lines `skipped` (as `skipped FILE:LINE:`) and the summary `summary`; returns its stderr.
fn assert_skipped(o: &Output, list: &Path, skipped: &[usize], summary: &str) -> String {
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(0), "{err}");
    let reported: Vec<usize> = err
        .lines()
        .filter_map(|l| l.strip_prefix(&format!("skipped {}:", list.display())))
        .map(|rest| rest.split(':').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(reported, skipped, "{err}");
    assert!(err.contains(summary), "{summary:?} not in {err}");
    err
}

#[test]
fn skip_invalid_schemes_and_ranges() {
    let d = Dir::new("ranges");
    let db = init(&d);
    let users = d.path("users.txt");
    std::fs::write(
        &users,
        "sip:a@example.org\nhello world\n!!!\ntel:+4412345\nmcx:team-1@example.org\n",
    )
    .unwrap();
    let out = d.path("keys");
    std::fs::create_dir(&out).unwrap();
    let t = "2026-01-01T00:00:00Z";
    let prov = |extra: &[&str]| {
        let mut a = vec![
            "kms",
            "provision",
            "--store",
            s(&db),
            "--users-file",
            s(&users),
            "--out",
            s(&out),
            "--time",
            t,
        ];
        a.extend(extra);
        run_env(&a, Some(PASS))
    };
    // without --skip-invalid nothing is done
    let o = prov(&[]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0);
    // with it: the valid lines are issued, the rest reported with file:line
    assert_skipped(
        &prov(&["--skip-invalid"]),
        &users,
        &[2, 3, 5],
        "3 invalid line(s) skipped, 2 URI(s) used",
    );
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 2);
    // another scheme set: tel is refused now, mcx accepted
    assert_skipped(
        &prov(&["--skip-invalid", "--schemes", "sip,mcx"]),
        &users,
        &[2, 3, 4],
        "3 invalid line(s) skipped, 2 URI(s) used",
    );
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 3);
    let o = prov(&["--schemes", "sip,1x"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--schemes"));
    // provisioning times and key periods outside their ranges, named in --help
    for time in ["1999-12-31T23:59:59Z", "2100-01-01T00:00:00Z"] {
        fails(
            &[
                "kms",
                "provision",
                "--store",
                s(&db),
                "--user",
                "sip:a@example.org",
                "--time",
                time,
            ],
            Some(PASS),
            "outside",
        );
    }
    fails(
        &[
            "kms",
            "init",
            "--store",
            s(&d.path("p.db")),
            "--kms-uri",
            "k.example.org",
            "--key-period",
            "1",
        ],
        Some(PASS),
        "--key-period 1: outside 3600..=315360000 seconds",
    );
    assert!(!d.path("p.db").exists());
    assert!(ok(&["kms", "init", "--help"]).contains("3600"));
    let h = ok(&["kms", "provision", "--help"]);
    assert!(h.contains("ten years") && h.contains("--skip-invalid") && h.contains("--schemes"));
}

/// A certificate file and a group manager's key sets, from a fresh store.
fn gms_setup(d: &Dir) -> (PathBuf, PathBuf, PathBuf) {
    let db = init(d);
    let cert = d.path("cert.xml");
    std::fs::write(&cert, ok(&["kms", "certificate", "--store", s(&db)])).unwrap();
    let keys = d.path("gms.xml");
    ok(&provision_args(&db, &["sip:gms@c.org"], &keys, &[]));
    (db, cert, keys)
}

/// The arguments of `gms distribute` with the files `[cert, keys, members, out]` and `extra`.
fn distribute_args<'a>(
    [cert, keys, members, out]: [&'a Path; 4],
    extra: &[&'a str],
) -> Vec<&'a str> {
    let files = [
        ("--cert", cert),
        ("--keys", keys),
        ("--members", members),
        ("--out", out),
    ];
    cli::args(
        &["gms", "distribute", "--group-id", "sip:g@c.org"],
        &files,
        extra,
    )
}

/// Runs [`distribute_args`].
fn distribute(cert: &Path, keys: &Path, members: &Path, out: &Path, extra: &[&str]) -> Output {
    run_env(&distribute_args([cert, keys, members, out], extra), None)
}

/// The arguments of `kms provision` of `users` on the store `db` into `out`, with `extra`.
fn provision_args<'a>(
    db: &'a Path,
    users: &[&'a str],
    out: &'a Path,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut a = cli::args(
        &["kms", "provision"],
        &[("--store", db), ("--out", out)],
        extra,
    );
    for u in users {
        a.extend(["--user", u]);
    }
    a
}

/// The arguments of `ue send --type TYPE --to PEER` with the files `[cert, keys, out]`.
fn send_args<'a>(
    [kind, to]: [&'a str; 2],
    [cert, keys, out]: [&'a Path; 3],
    extra: &[&'a str],
) -> Vec<&'a str> {
    let files = [("--cert", cert), ("--keys", keys), ("--out", out)];
    cli::args(&["ue", "send", "--type", kind, "--to", to], &files, extra)
}

/// The arguments of `ue receive` of `message` with `cert` and `keys`.
fn receive_args<'a>(
    cert: &'a Path,
    keys: &'a Path,
    message: &'a Path,
    extra: &[&'a str],
) -> Vec<&'a str> {
    cli::args(
        &["ue", "receive"],
        &[("--cert", cert), ("--keys", keys), ("--message", message)],
        extra,
    )
}

/// The arguments of `ue fetch` of `sip:a@c.org`'s key sets from an address where no KMS
/// listens, with the token file `token`.
fn fetch_nowhere_args<'a>(token: &'a Path, out: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let head = [
        "ue",
        "fetch",
        "--kms",
        "https://127.0.0.1:9",
        "--user",
        "sip:a@c.org",
    ];
    cli::args(&head, &[("--token", token), ("--out", out)], extra)
}

#[test]
fn gms_distribute_checks_its_members_file_and_the_files_in_the_way() {
    let d = Dir::new("gms-list");
    let (_db, cert, keys) = gms_setup(&d);
    let lines = [
        "# group g",
        "sip:a@c.org",
        "hello world",
        "sip:a@c.org # again",
        "tel:+4412345",
        "mcptt:b@c.org",
        "ftp:x",
    ];
    let (members, out) = (d.path("members.txt"), d.path("msgs"));
    std::fs::write(&members, lines.join("\n")).unwrap();
    // Refused as a whole: nothing built, the directory not even created.
    let o = distribute(&cert, &keys, &members, &out, &[]);
    fails_with(&o, "2 invalid line(s), nothing done");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("members.txt:3:") && err.contains("members.txt:7:"),
        "{err}"
    );
    assert!(!out.exists());
    // --skip-invalid: the valid lines, the repeat once, the rest reported with file:line.
    let o = distribute(&cert, &keys, &members, &out, &["--skip-invalid"]);
    let err = assert_skipped(
        &o,
        &members,
        &[3, 7],
        "2 invalid line(s) skipped, 3 URI(s) used",
    );
    assert!(err.contains("repeated on line(s) 4; used once"), "{err}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("members = 3") && stdout.contains("written = 3"),
        "{stdout}"
    );
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 3);
    // --schemes: tel and mcptt refused now, ftp accepted.
    let out2 = d.path("msgs2");
    let o = distribute(
        &cert,
        &keys,
        &members,
        &out2,
        &["--skip-invalid", "--schemes", "sip,ftp"],
    );
    assert_skipped(
        &o,
        &members,
        &[3, 5, 6],
        "3 invalid line(s) skipped, 2 URI(s) used",
    );
    fails_with(
        &distribute(&cert, &keys, &members, &out2, &["--schemes", "sip,1x"]),
        "--schemes",
    );
    // Every line invalid under --skip-invalid: an error, nothing written.
    std::fs::write(d.path("bad.txt"), "hello world\n").unwrap();
    fails_with(
        &distribute(
            &cert,
            &keys,
            &d.path("bad.txt"),
            &d.path("msgs3"),
            &["--skip-invalid"],
        ),
        "no valid URI left",
    );
    // Again into the same directory: the members' own messages are replaced.
    let o = distribute(&cert, &keys, &members, &out, &["--skip-invalid"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // A file in the way holding another member's message, or a symbolic link, stops the batch
    // before any message is built.
    let name = |u: &str| out.join(format!("{}.mikey", mikey_sakke::input::file_name_for(u)));
    std::fs::copy(name("sip:a@c.org"), name("tel:+4412345")).unwrap();
    let o = distribute(&cert, &keys, &members, &out, &["--skip-invalid"]);
    fails_with(&o, "does not hold the documents of tel:+4412345");
    std::fs::remove_file(name("tel:+4412345")).unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(name("sip:a@c.org"), name("tel:+4412345")).unwrap();
        let o = distribute(&cert, &keys, &members, &out, &["--skip-invalid"]);
        fails_with(&o, "does not hold the documents of tel:+4412345");
    }
}

/// #19 items 2 and 8: `gms distribute --members -` reads the list from standard input (the
/// same rules as a file); writing the messages fails for lack of space (files limited to 0 KiB):
/// one error line, exit 1, and no message file left, partial or temporary; messages written
/// before stay as they were.
#[test]
#[cfg(unix)]
fn gms_distribute_members_from_stdin_and_a_failing_write() {
    use std::io::Write as _;
    let d = Dir::new("gms-stdin");
    let (_db, cert, keys) = gms_setup(&d);
    let (dash, out) = (Path::new("-"), d.path("msgs"));
    let mut child = cli::bin(&distribute_args([&cert, &keys, dash, &out], &[]), None)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"# the group\nsip:a@c.org\n\ntel:+4412345 # desk\nsip:a@c.org\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout.contains("members = 2") && stdout.contains("written = 2"),
        "{stdout}"
    );
    let name = |u: &str| out.join(format!("{}.mikey", mikey_sakke::input::file_name_for(u)));
    let before = std::fs::read(name("sip:a@c.org")).unwrap();
    assert!(name("tel:+4412345").exists());
    // An invalid line from standard input is reported as such, with its line number.
    let mut child = cli::bin(
        &distribute_args([&cert, &keys, dash, &d.path("m2")], &[]),
        None,
    )
    .stdin(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"sip:a@c.org\nhello world\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    fails_with(&o, "1 invalid line(s), nothing done");
    assert!(String::from_utf8_lossy(&o.stderr).contains(":2:"));
    // Writes failing for lack of space, into a new directory and over the earlier messages.
    std::fs::write(d.path("members.txt"), "sip:a@c.org\ntel:+4412345\n").unwrap();
    let members = d.path("members.txt");
    let fresh = d.path("msgs-full");
    for dir in [&fresh, &out] {
        let o = cli::bin_file_size_limited(
            &distribute_args([&cert, &keys, &members, dir], &[]),
            None,
            0,
        )
        .output()
        .unwrap();
        fails_with(&o, "cannot write");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("File too large"), "{err}");
    }
    assert_eq!(std::fs::read_dir(&fresh).unwrap().count(), 0);
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 2);
    assert_eq!(std::fs::read(name("sip:a@c.org")).unwrap(), before);
}

#[test]
fn out_dir_is_created_alike_by_provision_and_distribute() {
    let d = Dir::new("outdir");
    let (db, cert, keys) = gms_setup(&d);
    let list = d.path("users.txt");
    std::fs::write(&list, "sip:a@c.org\nsip:b@c.org\n").unwrap();
    let prov = |out: &Path, extra: &[&str]| {
        let mut a = vec!["kms", "provision", "--store", s(&db), "--out", s(out)];
        a.extend(extra);
        run_env(&a, Some(PASS))
    };
    let kms_out = d.path("new/kms-keys");
    let gms_out = d.path("new/gms-msgs");
    // A missing directory (and its missing parent) is created by both, mode 0700.
    let o = prov(&kms_out, &["--users-file", s(&list)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("written = 2 files"));
    let o = distribute(&cert, &keys, &list, &gms_out, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for dir in [&kms_out, &gms_out] {
        assert_eq!(std::fs::read_dir(dir).unwrap().count(), 2);
        #[cfg(unix)]
        assert_eq!(mode(dir), 0o700, "{}", dir.display());
    }
    // Several --user options: a directory too; one user without --users-file: a file.
    let o = prov(
        &d.path("two"),
        &["--user", "sip:a@c.org", "--user", "sip:b@c.org"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(d.path("two").is_dir());
    let o = prov(&d.path("one.xml"), &["--user", "sip:a@c.org"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(d.path("one.xml").is_file());
    // A symbolic link given as the output file is replaced, never followed.
    #[cfg(unix)]
    {
        std::fs::write(d.path("victim"), "precious").unwrap();
        std::os::unix::fs::symlink(d.path("victim"), d.path("link.xml")).unwrap();
        let o = prov(&d.path("link.xml"), &["--user", "sip:a@c.org"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(
            std::fs::read_to_string(d.path("victim")).unwrap(),
            "precious"
        );
        let m = std::fs::symlink_metadata(d.path("link.xml")).unwrap();
        assert!(m.file_type().is_file());
        assert_eq!(mode(&d.path("link.xml")), 0o600);
    }
    // A regular file where the directory should be: one line from both, nothing registered.
    std::fs::write(d.path("plain"), "x").unwrap();
    fails_with(
        &prov(
            &d.path("plain"),
            &["--user", "sip:c@c.org", "--user", "sip:d@c.org"],
        ),
        "cannot create",
    );
    fails_with(
        &distribute(&cert, &keys, &list, &d.path("plain"), &[]),
        "cannot create",
    );
    let st = Store::open(&db, PASS.as_bytes()).unwrap();
    assert!(!st.is_registered("sip:c@c.org").unwrap());
    for h in [
        ok(&["kms", "provision", "--help"]),
        ok(&["gms", "distribute", "--help"]),
    ] {
        assert!(h.contains("created, mode 0700, if missing"), "{h}");
    }
}

/// `t` seconds from now, as RFC 3339, `ntp:SECONDS` and `0xHEX`.
fn time_forms(secs_from_now: i64) -> [String; 3] {
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .checked_add_signed(secs_from_now)
        .unwrap();
    let ntp = unix + mikey_sakke::input::NTP_UNIX_OFFSET;
    [
        mikey_sakke::input::rfc3339(ntp),
        format!("ntp:{ntp}"),
        format!("0x{ntp:08X}"),
    ]
}

#[test]
fn every_time_option_takes_one_syntax_and_states_its_range() {
    let d = Dir::new("times");
    let db = init(&d);
    let (alice, bob) = ("sip:alice@c.org", "sip:bob@c.org");
    let keys = d.path("keys");
    let key_file = |u: &str| keys.join(format!("{}.xml", mikey_sakke::input::file_name_for(u)));
    let cert = d.path("cert.xml");
    let (alice_keys, bob_keys) = (key_file(alice), key_file(bob));
    let (members, gx, x, pck0, pck1, f) = (
        d.path("members.txt"),
        d.path("gx"),
        d.path("x.mikey"),
        d.path("pck0.mikey"),
        d.path("pck1.mikey"),
        d.path("f"),
    );
    for (i, t) in time_forms(0).iter().enumerate() {
        // kms provision --time and kms certificate --time
        let out = ok(&provision_args(&db, &[alice, bob], &keys, &["--time", t]));
        assert!(out.contains("written = 2 files"), "{t}: {out}");
        std::fs::write(
            &cert,
            ok(&["kms", "certificate", "--store", s(&db), "--time", t]),
        )
        .unwrap();
        // ue send --time and ue receive --now
        let msg = d.path(&format!("pck{i}.mikey"));
        let sent = ok(&send_args(
            ["pck", bob],
            [&cert, &alice_keys, &msg],
            &["--time", t],
        ));
        assert!(sent.contains("key_id = "), "{sent}");
        let got = ok(&receive_args(&cert, &bob_keys, &msg, &["--now", t]));
        assert!(got.contains("key_type = PCK"), "{t}: {got}");
        // gms distribute --time and kms audit export --since
        std::fs::write(&members, format!("{bob}\n")).unwrap();
        let o = distribute(
            &cert,
            &alice_keys,
            &members,
            &d.path(&format!("g{i}")),
            &["--time", t],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let since = ok(&["kms", "audit", "export", "--store", s(&db), "--since", t]);
        assert!(since.lines().count() <= 4, "{since}");
    }
    // kms rotate --effective in every form (the first one rotates; the others then find the
    // generation started already, which is not a syntax error).
    for t in time_forms(200 * 86_400) {
        let o = run_env(
            &["kms", "rotate", "--store", s(&db), "--effective", &t],
            Some(PASS),
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains("expected RFC 3339"), "{t}: {err}");
    }
    // One refusal of bad text, naming the option, for every time option.
    let bad = "tomorrow";
    let token = d.path("token");
    std::fs::write(&token, "a.b.c\n").unwrap();
    for (args, option) in [
        (
            provision_args(&db, &[alice], &keys, &["--time", bad]),
            "--time",
        ),
        (
            vec!["kms", "certificate", "--store", s(&db), "--time", bad],
            "--time",
        ),
        (
            vec!["kms", "rotate", "--store", s(&db), "--effective", bad],
            "--effective",
        ),
        (
            vec!["kms", "audit", "export", "--store", s(&db), "--since", bad],
            "--since",
        ),
        (
            distribute_args([&cert, &alice_keys, &members, &gx], &["--time", bad]),
            "--time",
        ),
        (
            send_args(["csk", bob], [&cert, &alice_keys, &x], &["--time", bad]),
            "--time",
        ),
        (
            receive_args(&cert, &bob_keys, &pck0, &["--now", bad]),
            "--now",
        ),
        (fetch_nowhere_args(&token, &f, &["--time", bad]), "--time"),
    ] {
        let e = fails(
            &args,
            Some(PASS),
            "(expected RFC 3339 such as 2026-11-24T12:00:00Z, ntp:SECONDS or 0xHEX NTP seconds)",
        );
        assert!(e.contains(&format!("{option}: ")), "{args:?}: {e}");
    }
    // ue fetch takes every form (it then fails to connect, not on the time).
    for t in time_forms(0) {
        let o = run_env(&fetch_nowhere_args(&token, &f, &["--time", &t]), None);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(!err.contains("--time"), "{t}: {err}");
    }
    // Out of range: before the KMS's ValidFrom, or too far ahead.
    for (args, needle) in [
        (
            vec![
                "kms",
                "certificate",
                "--store",
                s(&db),
                "--time",
                "1999-12-31T23:59:59Z",
            ],
            "--time 1999-12-31T23:59:59Z: outside",
        ),
        (
            vec![
                "kms",
                "rotate",
                "--store",
                s(&db),
                "--effective",
                "2100-01-01T00:00:00Z",
            ],
            "--effective 2100-01-01T00:00:00Z: outside",
        ),
    ] {
        fails(&args, Some(PASS), needle);
    }
    // Without --state, ue receive keeps its state in the user's data directory: a message
    // received there once is a replay in a later run.
    let home = d.path("xdg");
    let receive_default = || {
        cli::bin(&receive_args(&cert, &bob_keys, &pck1, &[]), None)
            .env("XDG_DATA_HOME", &home)
            .output()
            .unwrap()
    };
    let o = receive_default();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(home.join("mikey-sakke").is_dir());
    fails_with(&receive_default(), "replayed message");
    // ue receive has the interoperability and state options of mikey receive.
    let (ue, mikey) = (
        ok(&["ue", "receive", "--help"]),
        ok(&["mikey", "receive", "--help"]),
    );
    for option in [
        "--profile",
        "--compat-signature",
        "--compat-minimal-w",
        "--compat-legacy-key-params",
        "--state",
        "--no-state",
        "--max-skew",
        "--no-time-check",
    ] {
        assert!(ue.contains(option) && mikey.contains(option), "{option}");
    }
    // The forms are named in every time option's --help.
    for cmd in [
        vec!["kms", "provision"],
        vec!["kms", "certificate"],
        vec!["kms", "rotate"],
        vec!["kms", "audit", "export"],
        vec!["gms", "distribute"],
        vec!["ue", "send"],
        vec!["ue", "receive"],
        vec!["ue", "fetch"],
        vec!["mikey", "receive"],
    ] {
        let mut a = cmd.clone();
        a.push("--help");
        let h = ok(&a);
        assert!(
            h.contains("RFC 3339") && h.contains("ntp:SECONDS") && h.contains("0xHEX"),
            "{cmd:?}: {h}"
        );
    }
    for (cmd, range) in [
        (vec!["kms", "provision", "--help"], "ten years"),
        (vec!["kms", "certificate", "--help"], "ten years"),
        (vec!["kms", "rotate", "--help"], "ten years"),
        (vec!["ue", "receive", "--help"], "2036-02-07"),
        (vec!["ue", "fetch", "--help"], "2036-02-07"),
        (vec!["mikey", "receive", "--help"], "not before 1970"),
    ] {
        assert!(ok(&cmd).contains(range), "{cmd:?}");
    }
}

/// A sparse file of `len` octets (no disk space used).
fn sparse(path: &Path, len: u64) -> &Path {
    std::fs::File::create(path).unwrap().set_len(len).unwrap();
    path
}

#[test]
fn every_kind_of_input_file_is_read_with_a_cap() {
    use mikey_sakke::input::caps;
    let d = Dir::new("caps");
    let (db, cert, keys) = gms_setup(&d);
    let over = |name: &str, cap: usize| {
        let p = d.path(name);
        sparse(&p, u64::try_from(cap).unwrap() + 1);
        p
    };
    let list = over("users.txt", caps::URI_LIST);
    let xml = over("big.xml", caps::ANNEX_D_DOCUMENT);
    let message = over("big.mikey", caps::MIKEY_MESSAGE);
    let secret = over("big.hex", caps::KEY_TEXT);
    let token = over("big.token", caps::TOKEN);
    let pem = over("big.pem", caps::PEM);
    let toml = over("big.toml", caps::ANNEX_D_DOCUMENT);
    let small_token = d.path("token");
    std::fs::write(&small_token, "a.b.c\n").unwrap();
    let gmk = format!("@{}", secret.display());
    let (out, fetched) = (d.path("o"), d.path("f"));
    let limit = |cap: usize| format!("larger than the {cap}-octet limit for this input");
    for (args, cap) in [
        // URI lists
        (
            provision_args(&db, &[], &out, &["--users-file", s(&list)]),
            caps::URI_LIST,
        ),
        (
            distribute_args([&cert, &keys, &list, &out], &[]),
            caps::URI_LIST,
        ),
        // XML documents
        (
            vec![
                "kms",
                "certcache",
                "add",
                "--store",
                s(&db),
                "--cert",
                s(&xml),
            ],
            caps::ANNEX_D_DOCUMENT,
        ),
        // MIKEY messages
        (vec!["mikey", "inspect", s(&message)], caps::MIKEY_MESSAGE),
        (
            receive_args(&cert, &keys, &message, &[]),
            caps::MIKEY_MESSAGE,
        ),
        // secrets and passphrases
        (
            distribute_args(
                [&cert, &keys, &list, &out],
                &["--gmk", &gmk, "--gmk-id", "0ABCDEF1"],
            ),
            caps::KEY_TEXT,
        ),
        (
            vec![
                "kms",
                "certificate",
                "--store",
                s(&db),
                "--passphrase-file",
                s(&secret),
            ],
            caps::KEY_TEXT,
        ),
        (
            cli::args(
                &["kms", "passphrase", "change"],
                &[("--store", &db), ("--new-passphrase-file", &secret)],
                &[],
            ),
            caps::KEY_TEXT,
        ),
        // access tokens and PEM files
        (fetch_nowhere_args(&token, &fetched, &[]), caps::TOKEN),
        (
            fetch_nowhere_args(&small_token, &fetched, &["--ca", s(&pem)]),
            caps::PEM,
        ),
        (
            vec![
                "kms",
                "serve",
                "--store",
                s(&db),
                "--listen",
                "127.0.0.1:0",
                "--tls-cert",
                s(&pem),
                "--tls-key",
                s(&pem),
                "--idms-keys",
                s(&pem),
            ],
            caps::PEM,
        ),
        (
            vec!["idms", "token", "--key", s(&pem), "--user", "sip:a@c.org"],
            caps::PEM,
        ),
        // the server's configuration file
        (
            vec!["kms", "serve", "--config", s(&toml)],
            caps::ANNEX_D_DOCUMENT,
        ),
    ] {
        let e = fails(&args, Some(PASS), &limit(cap));
        assert!(e.len() < 400, "{e}");
    }
    // Standard input and devices stop at the cap too, however much they hold.
    let o = cli::bin(&["mikey", "inspect", "-"], None)
        .stdin(std::fs::File::open("/dev/zero").unwrap())
        .output()
        .unwrap();
    fails_with(
        &o,
        &format!("standard input: {}", limit(caps::MIKEY_MESSAGE)),
    );
    let o = cli::bin(&["mikey", "inspect", "/dev/zero"], None)
        .output()
        .unwrap();
    fails_with(&o, &limit(caps::MIKEY_MESSAGE));
    // Nothing was registered from the oversize list.
    let st = Store::open(&db, PASS.as_bytes()).unwrap();
    assert_eq!(st.issue_log(None).unwrap().len(), 2);
}

#[test]
fn every_store_command_names_its_passphrase_sources_and_checks_its_values() {
    for cmd in [
        &["kms", "init"][..],
        &["kms", "certificate"],
        &["kms", "provision"],
        &["kms", "worker"],
        &["kms", "job", "status"],
        &["kms", "job", "prune"],
        &["kms", "serve"],
        &["kms", "group", "add-manager"],
        &["kms", "group", "remove-manager"],
        &["kms", "certcache", "add"],
        &["kms", "rotate"],
        &["kms", "revoke"],
        &["kms", "unrevoke"],
        &["kms", "users", "list"],
        &["kms", "users", "show"],
        &["kms", "audit", "export"],
        &["kms", "backup"],
        &["kms", "passphrase", "change"],
    ] {
        let mut a = cmd.to_vec();
        a.push("--help");
        let h = ok(&a);
        assert!(
            h.contains("MIKEY_SAKKE_PASSPHRASE")
                && h.contains("--passphrase-file")
                && h.contains("--allow-weak-passphrase"),
            "{cmd:?}: {h}"
        );
    }
    // A KMS URI with white space (or a control character) is refused before any passphrase is
    // asked for, and no store is made.
    let d = Dir::new("kms-uri");
    let db = d.path("kms.db");
    for uri in ["kms example.org", "kms.example.org\t", "kms\u{7}.org"] {
        fails(
            &["kms", "init", "--store", s(&db), "--kms-uri", uri],
            None,
            "the KMS URI",
        );
        assert!(!db.exists());
    }
}

#[test]
#[cfg(target_os = "linux")]
fn store_commands_writing_to_a_full_device_are_one_error_line() {
    let d = Dir::new("full");
    let db = init(&d);
    ok(&provision_args(
        &db,
        &["sip:a@c.org"],
        &d.path("a.xml"),
        &[],
    ));
    for words in [
        &["kms", "audit", "export"][..],
        &["kms", "audit", "export", "--format", "csv"],
        &["kms", "users", "list", "--json"],
        &["kms", "certificate"],
        &["kms", "provision", "--user", "sip:a@c.org"],
    ] {
        let args = cli::args(words, &[("--store", &db)], &[]);
        let args = args.as_slice();
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let o = cli::bin(args, Some(PASS))
            .stdout(std::process::Stdio::from(full))
            .output()
            .unwrap();
        // One error line, the last (provisioning reports its progress before it).
        let err = String::from_utf8_lossy(&o.stderr);
        let errors = err.lines().filter(|l| l.starts_with("error")).count();
        assert_eq!(errors, 1, "{args:?}: {err}");
        fails_with(&o, "error: cannot write standard output");
    }
}

/// Whether `pass` opens the store (through the CLI) and every key set in it decrypts.
fn opens_with(db: &Path, pass: &str) -> bool {
    let o = run_env(&["kms", "users", "list", "--store", s(db)], Some(pass));
    o.status.success() && {
        let st = Store::open(db, pass.as_bytes()).unwrap();
        st.issue_log(None)
            .unwrap()
            .iter()
            .all(|e| st.issued(&e.uri, e.period_no).unwrap().is_some())
    }
}

/// SIGKILL at points spread over `kms passphrase change`: afterwards the store opens with the old
/// passphrase or with the new one (every key set with it), never with neither or both.
#[test]
#[cfg(unix)]
fn a_killed_passphrase_change_leaves_the_old_or_the_new_one() {
    let d = Dir::new("repass-kill");
    let db = init(&d);
    ok(&provision_args(
        &db,
        &["sip:a@c.org", "sip:b@c.org", "sip:c@c.org"],
        &d.path("keys"),
        &[],
    ));
    let passes = [PASS, "the second passphrase of the store"];
    for (i, p) in passes.iter().enumerate() {
        std::fs::write(d.path(&format!("p{i}")), format!("{p}\n")).unwrap();
    }
    let files = [d.path("p0"), d.path("p1")];
    let change = |from: usize| {
        let new = [
            ("--store", db.as_path()),
            ("--new-passphrase-file", &files[1 - from]),
        ];
        cli::bin(
            &cli::args(&["kms", "passphrase", "change"], &new, &[]),
            Some(passes[from]),
        )
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
    };
    // A whole change, to know how long one takes.
    let t = std::time::Instant::now();
    assert!(change(0).wait().unwrap().success());
    let whole = t.elapsed();
    let mut current = 1;
    let (mut killed, mut completed) = (0, 0);
    for round in 0..8u32 {
        let mut child = change(current);
        // from 0 to 7/6 of a whole change: some rounds are killed after the commit
        std::thread::sleep(whole * round / 6);
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        let (old, new) = (
            opens_with(&db, passes[current]),
            opens_with(&db, passes[1 - current]),
        );
        assert!(old != new, "round {round} ({status}): old {old}, new {new}");
        if new {
            current = 1 - current;
            completed += 1;
        } else {
            killed += 1;
        }
    }
    eprintln!("{killed} changes stopped before their commit, {completed} after");
}

/// Runs the binary with `args` on a terminal (util-linux `script`), typing `typed` lines;
/// `pass` in the environment. Returns the exit status and everything the terminal showed.
#[cfg(target_os = "linux")]
fn on_terminal(args: &[&str], pass: Option<&str>, typed: &[&str]) -> (Option<i32>, String) {
    use std::io::Write as _;
    let line = format!("{} {}", env!("CARGO_BIN_EXE_mikey-sakke"), args.join(" "));
    let mut c = Command::new("script");
    c.args(["-qec", &line, "/dev/null"])
        .env_remove("MIKEY_SAKKE_PASSPHRASE")
        .env_remove("MIKEY_SAKKE_STORE")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if let Some(p) = pass {
        c.env("MIKEY_SAKKE_PASSPHRASE", p);
    }
    let mut child = c.spawn().expect("util-linux script");
    let mut input = child.stdin.take().unwrap();
    for t in typed {
        writeln!(input, "{t}").unwrap();
    }
    drop(input);
    let o = child.wait_with_output().unwrap();
    let shown =
        String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    (o.status.code(), shown)
}

/// On a terminal, a new passphrase is asked twice (kms init, kms passphrase change) and must
/// be strong enough; two different entries change nothing.
#[test]
#[cfg(target_os = "linux")]
fn a_new_passphrase_on_a_terminal_is_asked_twice() {
    let d = Dir::new("tty");
    let db = d.path("kms.db");
    let init = init_args(&db);
    let (code, shown) = on_terminal(&init, None, &["first passphrase 1", "other passphrase 2"]);
    assert_eq!(code, Some(1), "{shown}");
    assert!(
        shown.contains("the same passphrase again") && shown.contains("the two passphrases differ"),
        "{shown}"
    );
    assert!(!db.exists());
    let (code, shown) = on_terminal(&init, None, &["short", "short"]);
    assert_eq!(code, Some(1), "{shown}");
    assert!(shown.contains("shorter than 12 characters"), "{shown}");
    assert!(!db.exists());
    let typed = "typed on the terminal";
    let (code, shown) = on_terminal(&init, None, &[typed, typed]);
    assert_eq!(code, Some(0), "{shown}");
    assert!(opens_with(&db, typed));
    // The new passphrase of a change, twice; the current one from the environment.
    let change = ["kms", "passphrase", "change", "--store", s(&db)];
    let new = "the changed passphrase";
    let (code, shown) = on_terminal(&change, Some(typed), &[new, "not the same"]);
    assert_eq!(code, Some(1), "{shown}");
    assert!(opens_with(&db, typed));
    let (code, shown) = on_terminal(&change, Some(typed), &[new, new]);
    assert_eq!(code, Some(0), "{shown}");
    assert!(shown.contains("passphrase = changed"), "{shown}");
    assert!(opens_with(&db, new) && !opens_with(&db, typed));
}
