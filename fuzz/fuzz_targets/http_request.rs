//! The KMS service's transport-free request path: `KmsService::respond` (which runs
//! `Request::parse` on the path and body, authorises the caller and handles the request) on
//! a small SQLite store in a temporary file (tmpfs when there is one). The first octet picks
//! the caller (none, alice, bob, the GMS managing group g, an unregistered URI); the rest is
//! the path, a newline, and the body. Never panics; never answers 500 (the store is healthy);
//! a 200 body is a KmsResponse that reads back.
//!
//! The store holds key sets for alice and group g for the current and the next key period;
//! a key-provision request for any other period would issue a key set (half a second of
//! SAKKE and ECCSI work per input), so it is only parsed. The store is made afresh every
//! 20 000 served requests, which each log a delivery.
#![no_main]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use mikey_sakke::annex_d::KmsResponse;
use mikey_sakke::kms::service::{Context, KmsService, Principal, Request};
use mikey_sakke::kms::store::{KdfParams, KmsConfig, KmsStore, PrincipalKind, SqliteStore};
use mikey_sakke::mcx::uid::KeyPeriods;
use rand_core::SeedableRng;

const ALICE: &str = "sip:alice@example.org";
const BOB: &str = "sip:bob@example.org";
const GMS: &str = "sip:gms@example.org";
const GROUP: &str = "sip:g@example.org";
const PERIODS: KeyPeriods = KeyPeriods {
    length: 2_592_000,
    offset: 0,
};
/// 2026-01-01T00:00:00Z.
const NOW_UNIX: u64 = 1_767_225_600;
const NTP_UNIX: u64 = 2_208_988_800;
const FRESH_AFTER: u64 = 20_000;

struct Fixture {
    svc: KmsService,
    served: u64,
    path: PathBuf,
}

fn ctx() -> Context {
    Context {
        peer: None,
        now: UNIX_EPOCH + Duration::from_secs(NOW_UNIX),
    }
}

fn current_period() -> u64 {
    PERIODS.period_number(NOW_UNIX + NTP_UNIX).unwrap()
}

fn remove(path: &PathBuf) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

fn fixture() -> Fixture {
    let dir = if std::path::Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let path = dir.join(format!("mikey-sakke-fuzz-http-{}.db", std::process::id()));
    remove(&path);
    let config = KmsConfig {
        kms_uri: "kms.example.org".into(),
        periods: PERIODS,
        parameter_set: 1,
    };
    let store = SqliteStore::create(
        &path,
        b"fuzz",
        &config,
        KdfParams::TEST_ONLY,
        &mut rand_chacha::ChaCha20Rng::seed_from_u64(1),
    )
    .unwrap();
    store.register(ALICE, PrincipalKind::User).unwrap();
    store.register(BOB, PrincipalKind::User).unwrap();
    store.register(GROUP, PrincipalKind::Group).unwrap();
    store.add_group_manager(GROUP, GMS).unwrap();
    let svc = KmsService::new(Arc::new(store)).unwrap();
    let p = current_period();
    for (who, uri) in [(ALICE, None), (GMS, Some(GROUP.to_string()))] {
        for period in [p, p + 1] {
            let time = Some((PERIODS.period_start(period).unwrap()) << 32);
            let req = Request::KeyProv {
                uri: uri.clone(),
                time,
            };
            svc.handle(&Principal { uri: who.into() }, &req, &ctx())
                .unwrap();
        }
    }
    Fixture {
        svc,
        served: 0,
        path,
    }
}

static FIXTURE: Mutex<Option<Fixture>> = Mutex::new(None);

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let (path, body) = match rest.iter().position(|&b| b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &rest[..0]),
    };
    let Ok(path) = std::str::from_utf8(path) else {
        return;
    };
    let who = match which % 5 {
        0 => None,
        1 => Some(ALICE),
        2 => Some(BOB),
        3 => Some(GMS),
        _ => Some("sip:mallory@example.org"),
    }
    .map(|uri| Principal { uri: uri.into() });
    // A key-provision request for a period without a recorded key set would issue one.
    if let Ok(Request::KeyProv { time, .. }) = Request::parse(path, body) {
        let secs = time.map_or(NOW_UNIX + NTP_UNIX, |t| t >> 32);
        let p = current_period();
        if !matches!(PERIODS.period_number(secs), Ok(n) if n == p || n == p + 1) {
            return;
        }
    }
    let mut guard = FIXTURE.lock().unwrap_or_else(|e| e.into_inner());
    if guard.as_ref().is_some_and(|f| f.served >= FRESH_AFTER) {
        if let Some(old) = guard.take() {
            let path = old.path.clone();
            drop(old);
            remove(&path);
        }
    }
    let f = guard.get_or_insert_with(fixture);
    let reply = f.svc.respond(who.as_ref(), path, body, &ctx());
    f.served += reply.served;
    assert_ne!(reply.status, 500, "{path:?}: {}", reply.body);
    if reply.status == 200 {
        KmsResponse::from_xml(&reply.body).unwrap();
    } else {
        assert!(reply.body.contains("KmsError"), "{}", reply.body);
    }
    let _ = SystemTime::now();
});
