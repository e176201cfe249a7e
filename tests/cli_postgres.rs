//! The operator workflow through the CLI on a PostgreSQL store (as tests/cli_kms.rs does on a
//! SQLite file): init -> certificate -> provision -> distribute -> receive, the store given by
//! `--store postgres://...` or by `MIKEY_SAKKE_STORE`; several processes provisioning the same
//! user at once get one key set; migrate, and clear errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/pg.rs"]
mod pg;

use std::process::{Command, Stdio};

use mikey_sakke::kms::store::{StoreSpec, open_store};

const PASS: &str = "integration-test-passphrase";

#[path = "common/cli.rs"]
mod cli;

use cli::{Tmp, fails_with as fails, ok_cmd, s};

fn cmd(args: &[&str]) -> Command {
    cli::bin(args, Some(PASS))
}

fn ok(args: &[&str]) -> String {
    ok_cmd(cmd(args))
}

#[test]
fn operator_workflow_end_to_end_on_postgres() {
    if pg::skip_requested() {
        return;
    }
    let db = pg::unique_db_name("cliflow");
    let url = pg::shared().create_database(&db);
    let t = Tmp::new("flow");
    let (cert, members, keys, gms, out) = (
        t.path("cert.xml"),
        t.path("members.txt"),
        t.path("keys"),
        t.path("gms.xml"),
        t.path("out"),
    );
    // the store from the environment, without --store
    let mut init = cmd(&["kms", "init", "--kms-uri", "kms.example.org"]);
    init.env("MIKEY_SAKKE_STORE", &url);
    let shown = ok_cmd(init);
    assert!(shown.contains(&format!("store = {url}\n")), "{shown}");
    std::fs::write(&cert, ok(&["kms", "certificate", "--store", &url])).unwrap();
    std::fs::write(
        &members,
        "sip:a@example.org\nsip:b@example.org\n\n# c is on leave\nsip:d@example.org\n",
    )
    .unwrap();
    std::fs::create_dir(&keys).unwrap();
    ok(&[
        "kms",
        "provision",
        "--store",
        &url,
        "--users-file",
        s(&members),
        "--out",
        s(&keys),
    ]);
    ok(&[
        "kms",
        "provision",
        "--store",
        &url,
        "--user",
        "sip:gms@example.org",
        "--out",
        s(&gms),
    ]);
    let dist = ok(&[
        "gms",
        "distribute",
        "--cert",
        s(&cert),
        "--keys",
        s(&gms),
        "--group-id",
        "sip:g@example.org",
        "--members",
        s(&members),
        "--out",
        s(&out),
        "--gmk",
        "00112233445566778899aabbccddeeff",
        "--gmk-id",
        "0abcdef1",
    ]);
    assert!(dist.contains("members = 3"), "{dist}");
    for m in [
        "sip%3Aa%40example.org",
        "sip%3Ab%40example.org",
        "sip%3Ad%40example.org",
    ] {
        let got = ok(&[
            "ue",
            "receive",
            "--cert",
            s(&cert),
            "--keys",
            s(&keys.join(format!("{m}.xml"))),
            "--message",
            s(&out.join(format!("{m}.mikey"))),
        ]);
        assert!(
            got.contains("key = 00112233445566778899AABBCCDDEEFF\n"),
            "{got}"
        );
        assert!(got.contains("key_id = 0ABCDEF1\n"), "{got}");
    }
    // re-running a provisioning returns the recorded key sets: the same files
    let before = std::fs::read(keys.join("sip%3Aa%40example.org.xml")).unwrap();
    let again = t.path("again");
    std::fs::create_dir(&again).unwrap();
    let o = cmd(&[
        "kms",
        "provision",
        "--store",
        &url,
        "--users-file",
        s(&members),
        "--out",
        s(&again),
    ])
    .output()
    .unwrap();
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("(0 new, 6 already recorded)"), "{err}");
    let after = std::fs::read(again.join("sip%3Aa%40example.org.xml")).unwrap();
    // same key sets (the response's time stamp may differ)
    let key_part = |x: &[u8]| {
        let x = String::from_utf8_lossy(x).to_string();
        x[x.find("<KmsKeyProv").unwrap()..].to_string()
    };
    assert_eq!(key_part(&before), key_part(&after));
    // job status lists the three jobs
    let status = ok(&["kms", "job", "status", "--store", &url]);
    assert!(status.contains("jobs = 3"), "{status}");
    // migrate: up to date
    let m = ok(&["kms", "migrate", "--store", &url]);
    assert!(
        m.contains(&format!(
            "schema_to = {}",
            mikey_sakke::kms::store::postgres::SCHEMA_VERSION
        )) && m.contains("up to date"),
        "{m}"
    );
    // errors: an existing store, a wrong passphrase, a missing database, no store at all
    fails(
        &cmd(&["kms", "init", "--store", &url, "--kms-uri", "x"])
            .output()
            .unwrap(),
        "already exists",
    );
    fails(
        &cmd(&["kms", "certificate", "--store", &url])
            .env("MIKEY_SAKKE_PASSPHRASE", "nope")
            .output()
            .unwrap(),
        "wrong passphrase",
    );
    fails(
        &cmd(&[
            "kms",
            "certificate",
            "--store",
            &pg::shared().url("no_such_database"),
        ])
        .output()
        .unwrap(),
        "does not exist",
    );
    let o = cmd(&["kms", "certificate"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--store"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    pg::shared().drop_database(&db);
}

/// Several processes provisioning the same user at the same time: one key set per period,
/// and every process writes the same one.
#[test]
fn concurrent_processes_record_one_key_set() {
    if pg::skip_requested() {
        return;
    }
    let db = pg::unique_db_name("clirace");
    let url = pg::shared().create_database(&db);
    let t = Tmp::new("race");
    ok(&[
        "kms",
        "init",
        "--store",
        &url,
        "--kms-uri",
        "kms.example.org",
    ]);
    for round in 0..3 {
        let user = format!("sip:race{round}@example.org");
        let children: Vec<_> = (0..4)
            .map(|i| {
                cmd(&[
                    "kms",
                    "provision",
                    "--store",
                    &url,
                    "--user",
                    &user,
                    "--out",
                    s(&t.path(&format!("r{round}-{i}.xml"))),
                    "--time",
                    "2026-11-24T00:00:00Z",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
            })
            .collect();
        for c in children {
            let o = c.wait_with_output().unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        }
        let first = std::fs::read(t.path(&format!("r{round}-0.xml"))).unwrap();
        for i in 1..4 {
            assert_eq!(
                std::fs::read(t.path(&format!("r{round}-{i}.xml"))).unwrap(),
                first,
                "process {i} got another key set"
            );
        }
    }
    let store = open_store(&StoreSpec::parse(&url).unwrap(), PASS.as_bytes()).unwrap();
    assert_eq!(store.issued_count().unwrap(), 6);
    drop(store);
    pg::shared().drop_database(&db);
}

#[test]
fn lifecycle_on_postgres() {
    if pg::skip_requested() {
        return;
    }
    let db = pg::unique_db_name("clilife");
    let url = pg::shared().create_database(&db);
    let t = Tmp::new("life");
    ok(&[
        "kms",
        "init",
        "--store",
        &url,
        "--kms-uri",
        "kms.example.org",
    ]);
    let (a, b) = ("sip:a@example.org", "sip:b@example.org");
    let prov = |users: &[&str]| {
        let mut args = vec!["kms", "provision", "--store", &url, "--detach"];
        for u in users {
            args.extend(["--user", u]);
        }
        let o = cmd(&args).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        ok(&["kms", "worker", "--store", &url, "--once"]);
        String::from_utf8_lossy(&o.stderr).to_string()
    };
    prov(&[a, b]);
    ok(&[
        "kms", "revoke", "--store", &url, "--user", a, "--reason", "left",
    ]);
    let err = prov(&[a, b]);
    assert!(err.contains("skipped 1 revoked"), "{err}");
    let list = ok(&["kms", "users", "list", "--store", &url, "--json"]);
    let rows: Vec<serde_json::Value> = list
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (
            rows[0]["revoked"].clone(),
            rows[0]["revoked_reason"].clone()
        ),
        (serde_json::json!(true), serde_json::json!("left"))
    );
    let csv = ok(&["kms", "audit", "export", "--store", &url, "--format", "csv"]);
    assert_eq!(csv.lines().filter(|l| l.contains(",issued,")).count(), 4);
    assert_eq!(csv.lines().filter(|l| l.contains(",revoked,")).count(), 1);
    // backups of a PostgreSQL store are pg_dump's
    fails(
        &cmd(&["kms", "backup", "--store", &url, "--to", s(&t.path("b.db"))])
            .output()
            .unwrap(),
        "pg_dump",
    );
    assert!(!t.path("b.db").exists());
    // #19 item 8: writing the key files fails for lack of space (the files limited to 0 KiB;
    // the PostgreSQL store is another process's files): one error line, exit 1, no panic, and
    // no file in the directory, neither a partial key file nor a temporary one; over key files
    // written before, those stay as they were.
    let (fresh, full) = (t.path("keys-fresh"), t.path("keys-full"));
    std::fs::create_dir(&fresh).unwrap();
    std::fs::create_dir(&full).unwrap();
    let provision_into = |dir: &std::path::Path| {
        vec![
            "kms",
            "provision",
            "--store",
            &url,
            "--user",
            b,
            "--out",
            s(dir),
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>()
    };
    let limited = |dir: &std::path::Path| {
        let args = provision_into(dir);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        cli::bin_file_size_limited(&args, Some(PASS), 0)
            .output()
            .unwrap()
    };
    let o = limited(&fresh);
    fails(&o, "cannot write");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("File too large"), "{err}");
    assert_eq!(
        err.lines().filter(|l| l.starts_with("error")).count(),
        1,
        "{err}"
    );
    assert_eq!(std::fs::read_dir(&fresh).unwrap().count(), 0);
    let args = provision_into(&full);
    ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let file = full.join("sip%3Ab%40example.org.xml");
    let before = std::fs::read(&file).unwrap();
    fails(&limited(&full), "cannot write");
    assert_eq!(std::fs::read(&file).unwrap(), before);
    assert_eq!(std::fs::read_dir(&full).unwrap().count(), 1);
    // passphrase change in one transaction: old fails, new opens every key set
    let new = "a new postgres passphrase";
    std::fs::write(t.path("new.txt"), new).unwrap();
    ok(&[
        "kms",
        "passphrase",
        "change",
        "--store",
        &url,
        "--new-passphrase-file",
        s(&t.path("new.txt")),
    ]);
    fails(
        &cmd(&["kms", "users", "list", "--store", &url])
            .output()
            .unwrap(),
        "wrong passphrase",
    );
    let spec = StoreSpec::parse(&url).unwrap();
    let store = open_store(&spec, new.as_bytes()).unwrap();
    for e in store.issue_log(None).unwrap() {
        assert!(store.issued(&e.uri, e.period_no).unwrap().is_some());
    }
    assert!(store.revocation(a).unwrap().is_some());
    drop(store);
    // a new master-key generation from 100 days on
    let later = humantime::format_rfc3339_seconds(
        std::time::SystemTime::now() + std::time::Duration::from_secs(100 * 86_400),
    )
    .to_string();
    let mut c = cmd(&["kms", "rotate", "--store", &url, "--effective", &later]);
    c.env("MIKEY_SAKKE_PASSPHRASE", new);
    assert!(ok_cmd(c).contains("generation = 2"));
}
