//! The operator workflow through the CLI on real store files: init -> certificate -> provision
//! -> distribute -> receive; failures; SIGKILL in the middle of a provisioning batch.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use mikey_sakke::eccsi::SigningKey;
use mikey_sakke::kms::store::{KmsStore, Store};

const PASS: &str = "integration-test-passphrase";

#[path = "common/cli.rs"]
mod cli;

use cli::{Tmp, fails_with as fails, ok_cmd, s};

fn cmd(args: &[&str]) -> Command {
    cli::bin(args, Some(PASS))
}

fn run(args: &[&str]) -> Output {
    cmd(args).output().unwrap()
}

fn ok(args: &[&str]) -> String {
    ok_cmd(cmd(args))
}

#[test]
fn operator_workflow_end_to_end() {
    let t = Tmp::new("flow");
    let (db, cert, members, keys, gms, out) = (
        t.path("kms.db"),
        t.path("cert.xml"),
        t.path("members.txt"),
        t.path("keys"),
        t.path("gms.xml"),
        t.path("out"),
    );
    ok(&[
        "kms",
        "init",
        "--store",
        s(&db),
        "--kms-uri",
        "kms.example.org",
    ]);
    std::fs::write(&cert, ok(&["kms", "certificate", "--store", s(&db)])).unwrap();
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
        s(&db),
        "--users-file",
        s(&members),
        "--out",
        s(&keys),
    ]);
    ok(&[
        "kms",
        "provision",
        "--store",
        s(&db),
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
        assert!(
            got.contains("key_parameters_group_id = sip:g@example.org\n"),
            "{got}"
        );
    }
    // a message for another member
    fails(
        &run(&[
            "ue",
            "receive",
            "--cert",
            s(&cert),
            "--keys",
            s(&keys.join("sip%3Aa%40example.org.xml")),
            "--message",
            s(&out.join("sip%3Ab%40example.org.mikey")),
        ]),
        "another receiver",
    );
    // the key set of the wrong period: provision for a time far ahead, receive today's message
    let future = t.path("future.xml");
    ok(&[
        "kms",
        "provision",
        "--store",
        s(&db),
        "--user",
        "sip:a@example.org",
        "--time",
        "2031-01-01T00:00:00Z",
        "--periods",
        "1",
        "--out",
        s(&future),
    ]);
    fails(
        &run(&[
            "ue",
            "receive",
            "--cert",
            s(&cert),
            "--keys",
            s(&future),
            "--message",
            s(&out.join("sip%3Aa%40example.org.mikey")),
        ]),
        "no key set for key period",
    );
    // a wrong passphrase
    let o = cmd(&["kms", "certificate", "--store", s(&db)])
        .env("MIKEY_SAKKE_PASSPHRASE", "nope")
        .output()
        .unwrap();
    fails(&o, "wrong passphrase");
    // no passphrase and no terminal
    let o = cmd(&["kms", "certificate", "--store", s(&db)])
        .env_remove("MIKEY_SAKKE_PASSPHRASE")
        .output()
        .unwrap();
    fails(&o, "passphrase");
    // init on an existing store, several URIs without --out DIR, a missing store
    fails(
        &run(&["kms", "init", "--store", s(&db), "--kms-uri", "x"]),
        "already exists",
    );
    fails(
        &run(&[
            "kms",
            "provision",
            "--store",
            s(&db),
            "--user",
            "sip:x@e",
            "--user",
            "sip:y@e",
        ]),
        "--out DIR",
    );
    fails(
        &run(&["kms", "certificate", "--store", s(&t.path("none.db"))]),
        "does not exist",
    );
    // a GMK-ID with the wrong purpose tag; a corrupt certificate
    fails(
        &run(&[
            "gms",
            "distribute",
            "--cert",
            s(&cert),
            "--keys",
            s(&gms),
            "--group-id",
            "g",
            "--members",
            s(&members),
            "--out",
            s(&out),
            "--gmk",
            "00112233445566778899aabbccddeeff",
            "--gmk-id",
            "1abcdef1",
        ]),
        "purpose tag",
    );
    std::fs::write(t.path("bad.xml"), "<KmsResponse><oops").unwrap();
    fails(
        &run(&[
            "ue",
            "receive",
            "--cert",
            s(&t.path("bad.xml")),
            "--keys",
            s(&gms),
            "--message",
            s(&out.join("sip%3Aa%40example.org.mikey")),
        ]),
        "bad.xml",
    );
}

#[test]
fn tampered_sealed_secret_is_a_clear_error() {
    let t = Tmp::new("tamper");
    let db = t.path("kms.db");
    ok(&[
        "kms",
        "init",
        "--store",
        s(&db),
        "--kms-uri",
        "kms.example.org",
    ]);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut z: Vec<u8> = conn
        .query_row("SELECT eccsi_ksak_sealed FROM master_keys", [], |r| {
            r.get(0)
        })
        .unwrap();
    let n = z.len();
    z[n - 3] ^= 0x40;
    conn.execute("UPDATE master_keys SET eccsi_ksak_sealed = ?1", [&z])
        .unwrap();
    drop(conn);
    fails(
        &run(&["kms", "certificate", "--store", s(&db)]),
        "failed authentication",
    );
}

/// SIGKILL at random points of a provisioning batch, several times: the store stays
/// consistent, keeps every committed key set unchanged, and a re-run completes the batch
/// without duplicates.
#[test]
fn sigkill_mid_batch_then_rerun_completes() {
    let t = Tmp::new("kill");
    let (db, users, out) = (t.path("kms.db"), t.path("users.txt"), t.path("out"));
    ok(&[
        "kms",
        "init",
        "--store",
        s(&db),
        "--kms-uri",
        "kms.example.org",
    ]);
    let uris: Vec<String> = (0..120).map(|i| format!("sip:u{i}@example.org")).collect();
    std::fs::write(&users, uris.join("\n")).unwrap();
    std::fs::create_dir(&out).unwrap();
    let args = [
        "kms",
        "provision",
        "--store",
        s(&db),
        "--users-file",
        s(&users),
        "--out",
        s(&out),
        "--time",
        "2026-11-24T00:00:00Z",
    ];
    let mut seen: std::collections::HashMap<(String, u64), [u8; 65]> = Default::default();
    // Round 0 kills before anything is committed; the others once the store holds more key
    // sets than before, i.e. in the middle of the batch.
    for (round, target) in [0u64, 32, 96, 160].into_iter().enumerate() {
        let mut child = cmd(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = std::time::Instant::now();
        loop {
            std::thread::sleep(std::time::Duration::from_millis(20));
            let count: i64 = rusqlite::Connection::open(&db)
                .and_then(|c| c.query_row("SELECT count(*) FROM issued", [], |r| r.get(0)))
                .unwrap_or(0);
            let done = child.try_wait().unwrap().is_some();
            if done || u64::try_from(count).unwrap() >= target || start.elapsed().as_secs() > 60 {
                break;
            }
        }
        // A random extra delay (0-39 ms, from the clock), so that each run kills at a
        // different point inside a chunk: while issuing, sealing or committing.
        let jitter = u64::from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
                % 40,
        );
        std::thread::sleep(std::time::Duration::from_millis(jitter));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        eprintln!("round {round}: killed at >= {target} key sets + {jitter} ms");
        // consistent: opens, every recorded set unseals and validates, earlier ones unchanged
        let store = Store::open(&db, PASS.as_bytes()).unwrap();
        let period = store.config().periods.period_number(4_004_467_200).unwrap();
        let keys = store.master_keys(period).unwrap();
        for u in &uris {
            for p in [period, period + 1] {
                if let Some(set) = store.issued(u, p).unwrap() {
                    set.rsk.validate(&keys.sakke_public, &set.user_id).unwrap();
                    SigningKey::new(&keys.kpak, &set.user_id, set.ssk.clone(), &set.pvt).unwrap();
                    let pvt = set.pvt.to_bytes();
                    if let Some(before) = seen.insert((u.clone(), p), pvt) {
                        assert_eq!(before, pvt, "round {round}: a committed key set changed");
                    }
                }
            }
        }
    }
    eprintln!("{} key sets committed before the last kill", seen.len());
    // the re-run completes the batch without duplicates
    ok(&args);
    let store = Store::open(&db, PASS.as_bytes()).unwrap();
    assert_eq!(store.issued_count().unwrap(), 240);
    let period = store.config().periods.period_number(4_004_467_200).unwrap();
    for ((u, p), pvt) in &seen {
        assert_eq!(&store.issued(u, *p).unwrap().unwrap().pvt.to_bytes(), pvt);
    }
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 120);
    let _ = period;
}

#[test]
fn group_managers_and_the_certificate_cache() {
    let t = Tmp::new("groups");
    let (db, other, other_cert, own_cert, junk) = (
        t.path("kms.db"),
        t.path("other.db"),
        t.path("other.xml"),
        t.path("own.xml"),
        t.path("junk.xml"),
    );
    for (store, uri) in [(&db, "kms.example.org"), (&other, "kms.other.org")] {
        ok(&["kms", "init", "--store", s(store), "--kms-uri", uri]);
    }
    let g = "sip:group1@example.org";
    let add = |m: &str| {
        ok(&[
            "kms",
            "group",
            "add-manager",
            "--store",
            s(&db),
            "--group",
            g,
            "--manager",
            m,
        ])
    };
    assert!(add("sip:gms1@example.org").contains("managers = sip:gms1@example.org"));
    assert!(
        add("sip:gms2@example.org")
            .contains("managers = sip:gms1@example.org sip:gms2@example.org")
    );
    let remove = |m: &str| {
        run(&[
            "kms",
            "group",
            "remove-manager",
            "--store",
            s(&db),
            "--group",
            g,
            "--manager",
            m,
        ])
    };
    let o = remove("sip:gms1@example.org");
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("managers = sip:gms2@example.org\n"));
    fails(&remove("sip:gms1@example.org"), "is not a manager of");
    // a user is no group
    ok(&[
        "kms",
        "provision",
        "--store",
        s(&db),
        "--user",
        "sip:alice@example.org",
        "--out",
        s(&t.path("alice.xml")),
    ]);
    fails(
        &run(&[
            "kms",
            "group",
            "add-manager",
            "--store",
            s(&db),
            "--group",
            "sip:alice@example.org",
            "--manager",
            "sip:gms1@example.org",
        ]),
        "not a group",
    );
    let store = Store::open(&db, PASS.as_bytes()).unwrap();
    assert!(store.is_group_manager(g, "sip:gms2@example.org").unwrap());
    assert!(!store.is_group_manager(g, "sip:gms1@example.org").unwrap());
    drop(store);

    // the certificate of another KMS
    std::fs::write(
        &other_cert,
        ok(&["kms", "certificate", "--store", s(&other)]),
    )
    .unwrap();
    let add_cert = |f: &Path| run(&["kms", "certcache", "add", "--store", s(&db), "--cert", s(f)]);
    let o = add_cert(&other_cert);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("cache_num = 1"));
    // again: nothing changes
    assert!(String::from_utf8_lossy(&add_cert(&other_cert).stdout).contains("cache_num = 1"));
    // our own certificate, junk, a missing file
    std::fs::write(&own_cert, ok(&["kms", "certificate", "--store", s(&db)])).unwrap();
    fails(&add_cert(&own_cert), "this KMS's own");
    std::fs::write(&junk, "<KmsResponse").unwrap();
    fails(&add_cert(&junk), "not a KMS certificate document");
    fails(&add_cert(&t.path("missing.xml")), "cannot read");
    let store = Store::open(&db, PASS.as_bytes()).unwrap();
    assert_eq!(store.cache_num().unwrap(), 1);
    let certs = store.external_certificates().unwrap();
    assert_eq!(certs.len(), 1);
    let cert = mikey_sakke::annex_d::KmsCertificate::from_xml(&certs[0].xml).unwrap();
    assert_eq!(cert.kms_uri, "kms.other.org");
    assert_eq!(cert.role, Some(mikey_sakke::annex_d::Role::External));
}

/// The `key = HEX` value of a command's output.
fn value<'a>(out: &'a str, name: &str) -> &'a str {
    common::text_value(out, name)
}

#[test]
fn client_state_send_and_receive_across_runs_and_domains() {
    let t = Tmp::new("client");
    let (a_db, b_db, a_cert, b_cert, a_keys, b_keys) = (
        t.path("a.db"),
        t.path("b.db"),
        t.path("a-cert.xml"),
        t.path("b-cert.xml"),
        t.path("a-keys"),
        t.path("b-keys"),
    );
    for (db, uri, cert, keys, users) in [
        (
            &a_db,
            "kms.a.example.org",
            &a_cert,
            &a_keys,
            &[
                "sip:alice@a.example.org",
                "sip:bob@a.example.org",
                "sip:gms@a.example.org",
            ][..],
        ),
        (
            &b_db,
            "kms.b.example.org",
            &b_cert,
            &b_keys,
            &["sip:carol@b.example.org"][..],
        ),
    ] {
        ok(&["kms", "init", "--store", s(db), "--kms-uri", uri]);
        std::fs::write(cert, ok(&["kms", "certificate", "--store", s(db)])).unwrap();
        std::fs::create_dir(keys).unwrap();
        let mut args = vec!["kms", "provision", "--store", s(db), "--out", s(keys)];
        for u in users {
            args.extend(["--user", u]);
        }
        ok(&args);
    }
    let keys_of = |dir: &Path, who: &str| dir.join(format!("sip%3A{who}.xml"));
    let (alice, bob, gms, carol) = (
        keys_of(&a_keys, "alice%40a.example.org"),
        keys_of(&a_keys, "bob%40a.example.org"),
        keys_of(&a_keys, "gms%40a.example.org"),
        keys_of(&b_keys, "carol%40b.example.org"),
    );
    let state = t.path("bob-state");
    let receive = |cert: &Path, keys: &Path, msg: &Path, extra: &[&str]| {
        let mut a = vec![
            "ue",
            "receive",
            "--cert",
            s(cert),
            "--keys",
            s(keys),
            "--message",
            s(msg),
        ];
        if !extra.contains(&"--no-state") {
            a.extend(["--state", s(&state)]);
        }
        a.extend_from_slice(extra);
        run(&a)
    };
    let stdout = |o: &Output| {
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout.clone()).unwrap()
    };

    // alice sends (her KMS a)
    let send = |kind: &str, to: &str, out: &Path, extra: &[&str]| {
        let mut a = vec![
            "ue",
            "send",
            "--type",
            kind,
            "--to",
            to,
            "--cert",
            s(&a_cert),
            "--keys",
            s(&alice),
            "--out",
            s(out),
        ];
        a.extend_from_slice(extra);
        ok(&a)
    };
    // PCK alice -> bob, same KMS: bob gets the key printed with --show-key.
    let pck = t.path("pck.mikey");
    let sent = send("pck", "sip:bob@a.example.org", &pck, &["--show-key"]);
    assert_eq!(value(&sent, "key_type"), "PCK");
    let got = stdout(&receive(&a_cert, &bob, &pck, &[]));
    assert_eq!(value(&got, "key"), value(&sent, "key"));
    assert_eq!(value(&got, "key_id"), value(&sent, "key_id"));
    assert_eq!(value(&got, "csb_id"), value(&sent, "key_id"));
    assert_eq!(value(&got, "key_type"), "PCK");
    assert_eq!(value(&got, "cs_id"), "0");
    // The next run with the same state refuses it, and the (r, q - s) copy too.
    fails(&receive(&a_cert, &bob, &pck, &[]), "replayed message");
    let altered = t.path("pck-altered.mikey");
    std::fs::write(
        &altered,
        common::with_negated_s(&std::fs::read(&pck).unwrap()),
    )
    .unwrap();
    fails(&receive(&a_cert, &bob, &altered, &[]), "replayed message");
    // A fresh state accepts the copy (a high s is not refused) ...
    let fresh = t.path("fresh-state");
    let got = stdout(&run(&[
        "ue",
        "receive",
        "--cert",
        s(&a_cert),
        "--keys",
        s(&bob),
        "--message",
        s(&altered),
        "--state",
        s(&fresh),
    ]));
    assert_eq!(value(&got, "key"), value(&sent, "key"));
    // ... and without --show-key the key is not printed.
    let sent2 = send("pck", "sip:bob@a.example.org", &pck, &[]);
    assert!(
        !sent2.contains("\nkey = ") && !sent2.starts_with("key = "),
        "{sent2}"
    );
    // The wrong peer: alice and carol cannot open bob's message.
    fails(
        &receive(&a_cert, &alice, &pck, &["--no-state"]),
        "another receiver",
    );
    fails(
        &receive(&b_cert, &carol, &pck, &["--no-state"]),
        "message rejected",
    );
    // A named peer profile receives a fresh message; an unknown one is refused.
    stdout(&receive(&a_cert, &bob, &pck, &["--profile", "streamwide"]));
    let o = receive(&a_cert, &bob, &pck, &["--profile", "nobody"]);
    assert_ne!(o.status.code(), Some(0));

    // CSK alice (KMS a) -> carol (KMS b): carol needs KMS a's certificate to verify.
    let csk = t.path("csk.mikey");
    let sent = send(
        "csk",
        "sip:carol@b.example.org",
        &csk,
        &["--peer-cert", s(&b_cert), "--show-key"],
    );
    fails(
        &receive(&b_cert, &carol, &csk, &["--no-state"]),
        "ECCSI signature verification failed",
    );
    let got = stdout(&receive(
        &b_cert,
        &carol,
        &csk,
        &["--peer-cert", s(&a_cert), "--no-state"],
    ));
    assert_eq!(value(&got, "key"), value(&sent, "key"));
    assert_eq!(value(&got, "key_type"), "CSK");
    assert_eq!(value(&got, "cs_id"), "6");
    // Sent without --peer-cert, it is encapsulated to carol under KMS a: carol cannot open it.
    send("csk", "sip:carol@b.example.org", &csk, &[]);
    assert_ne!(
        receive(
            &b_cert,
            &carol,
            &csk,
            &["--peer-cert", s(&a_cert), "--no-state"]
        )
        .status
        .code(),
        Some(0)
    );

    // The last GMK of a group is kept in the state, 0600.
    let out = t.path("gmk");
    std::fs::write(t.path("members.txt"), "sip:bob@a.example.org\n").unwrap();
    let dist = ok(&[
        "gms",
        "distribute",
        "--cert",
        s(&a_cert),
        "--keys",
        s(&gms),
        "--group-id",
        "sip:g@a.example.org",
        "--members",
        s(&t.path("members.txt")),
        "--out",
        s(&out),
    ]);
    let gmk = out.join("sip%3Abob%40a.example.org.mikey");
    let got = stdout(&receive(&a_cert, &bob, &gmk, &[]));
    assert_eq!(value(&got, "key_id"), value(&dist, "gmk_id"));
    {
        let st = mikey_sakke::ue::state::ClientState::open(&state).unwrap();
        let e = st.group_key("sip:g@a.example.org").unwrap();
        assert_eq!(
            hex::encode_upper(e.gmk_id.to_bytes()),
            value(&dist, "gmk_id")
        );
        assert_eq!(hex::encode_upper(e.gmk.as_bytes()), value(&got, "key"));
        assert!(st.replay().len() >= 3);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&state), 0o700);
        for f in ["replay-cache", "group-keys", "lock"] {
            assert_eq!(mode(&state.join(f)), 0o600, "{f}");
        }
    }
    fails(&receive(&a_cert, &bob, &gmk, &[]), "replayed message");

    // Times out of range; a corrupt state file is a clear error, and is left alone.
    for now in ["2099-01-01T00:00:00Z", "ntp:4294967296"] {
        let o = receive(&a_cert, &bob, &pck, &["--now", now]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains("--now"), "{err}");
    }
    std::fs::write(state.join("replay-cache"), b"MSRC\x07garbage").unwrap();
    fails(&receive(&a_cert, &bob, &pck, &[]), "replay-cache");
    assert_eq!(
        std::fs::read(state.join("replay-cache")).unwrap(),
        b"MSRC\x07garbage"
    );

    // The persistent replay cache is bounded: a new state gets the default capacity, and a
    // cache never holds more than its capacity across runs (here a state whose cache was
    // made with capacity 2): the oldest entry goes first.
    use mikey_sakke::mcx::imessage::ReplayCache;
    let cache_of = |dir: &Path| {
        ReplayCache::from_bytes(&std::fs::read(dir.join("replay-cache")).unwrap()).unwrap()
    };
    assert_eq!(
        cache_of(&fresh).capacity(),
        mikey_sakke::ue::state::DEFAULT_REPLAY_CAPACITY
    );
    let bounded = t.path("bounded-state");
    std::fs::create_dir(&bounded).unwrap();
    std::fs::write(bounded.join("replay-cache"), ReplayCache::new(2).to_bytes()).unwrap();
    let receive_bounded = |msg: &Path| {
        run(&[
            "ue",
            "receive",
            "--cert",
            s(&a_cert),
            "--keys",
            s(&bob),
            "--message",
            s(msg),
            "--state",
            s(&bounded),
        ])
    };
    let msgs: Vec<_> = (0..3)
        .map(|i| {
            let m = t.path(&format!("bounded-{i}.mikey"));
            send("pck", "sip:bob@a.example.org", &m, &[]);
            m
        })
        .collect();
    for (i, m) in msgs.iter().enumerate() {
        stdout(&receive_bounded(m));
        let c = cache_of(&bounded);
        assert_eq!(
            (c.capacity(), c.len()),
            (2, (i + 1).min(2)),
            "after message {i}"
        );
    }
    // The newest is still refused; the oldest, evicted, is not remembered any more.
    fails(&receive_bounded(&msgs[2]), "replayed message");
    stdout(&receive_bounded(&msgs[0]));
    assert_eq!(cache_of(&bounded).len(), 2);
    fails(&receive_bounded(&msgs[0]), "replayed message");
}
