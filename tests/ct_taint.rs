//! Constant-time taint test (the valgrind method of BoringSSL and libsodium).
//!
//! Every secret (random octets from the RNG, master secrets, RSKs, SSKs, SSVs) is marked as
//! *undefined* memory through memcheck's client requests. Memcheck then reports any conditional
//! jump, conditional move or memory address that depends on it. The library declassifies its
//! public-by-design results through `mikey_sakke::ct` (accept/reject verdicts, public keys,
//! signatures, Encapsulated Data); the hook installed here marks exactly those octets defined.
//!
//! The `ct-taint` build replaces the AVX-512 intrinsics by a software stand-in with the same
//! data flow (`mikey_sakke::ct::set_stand_in`), so the workload runs twice: once on the vector
//! paths of an IFMA CPU (the IFMA kernel, the radix-2^52 loops, the AVX-512 lookups; counters
//! prove that they ran) and once on the portable ones.
//!
//! `cargo test --features ct-taint --test ct_taint` runs the workload natively (checking its
//! results), then re-runs this test binary under valgrind and fails if memcheck reports anything
//! in the workload, or nothing in any of the canaries (a deliberate leak of each kind: a
//! branch, a memory index and an early exit on a secret).
#![cfg(all(feature = "ct-taint", target_arch = "x86_64", target_os = "linux"))]
#![allow(unsafe_code, clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::process::Command;

use mikey_sakke::eccsi::{KmsKeyPair, SigningKey, Ssk, VerifyingKey};
use mikey_sakke::field::{Fp, Fq};
use mikey_sakke::kms::provision::{issue_key_set, issue_key_sets};
use mikey_sakke::kms::store::{KdfParams, KmsConfig, KmsStore, PrincipalKind, Store};
use mikey_sakke::mcx::imessage::{
    self, Initiator, KeyKind, KeyParamsSpec, MessageSpec, Receiver, Responder, TimeCheck,
};
use mikey_sakke::mcx::key_id::{KeyId, PurposeTag, guk_id};
use mikey_sakke::mcx::key_params::KeyParameters;
use mikey_sakke::mcx::uid::KeyPeriods;
use mikey_sakke::sakke::{
    self, MasterSecret, PreparedReceiver, PreparedRecipient, ReceiverSecretKey, Ssv,
};
use rand_chacha::ChaCha20Rng;
use rand_core::{SeedableRng, TryCryptoRng, TryRng};
use signature::Verifier;
use subtle::ConstantTimeEq;

const RUNNING_ON_VALGRIND: u64 = 0x1001;
const MAKE_MEM_UNDEFINED: u64 = 0x4D43_0001;
const MAKE_MEM_DEFINED: u64 = 0x4D43_0002;

/// A valgrind client request (amd64 "special instruction" sequence); returns 0 natively.
fn client_request(request: u64, arg1: u64, arg2: u64) -> u64 {
    let args: [u64; 6] = [request, arg1, arg2, 0, 0, 0];
    let mut result: u64 = 0;
    // SAFETY: the rotations of rdi sum to 128 bits (rdi is restored, and declared clobbered),
    // `xchg rbx, rbx` is a no-op natively; under valgrind the sequence reads the six words at
    // rax, which point to `args`, alive for the whole block.
    unsafe {
        core::arch::asm!(
            "rol rdi, 3",
            "rol rdi, 13",
            "rol rdi, 61",
            "rol rdi, 51",
            "xchg rbx, rbx",
            inout("rdx") result,
            in("rax") args.as_ptr(),
            inout("rdi") 0u64 => _,
            options(nostack),
        );
    }
    result
}

fn mark<T: ?Sized>(request: u64, v: &T) {
    client_request(
        request,
        core::ptr::from_ref(v).cast::<u8>() as u64,
        size_of_val(v) as u64,
    );
}

/// Marks `v` as secret (undefined) for memcheck.
fn secret<T: ?Sized>(v: &T) {
    mark(MAKE_MEM_UNDEFINED, v);
}

/// Marks `v` as public (defined) for memcheck: results the test itself inspects.
fn public<T: ?Sized>(v: &T) {
    mark(MAKE_MEM_DEFINED, v);
}

/// Marks a copy of `v` public and returns it read back through memory, so that the value used
/// afterwards is the defined copy (not a register the compiler kept).
fn reveal<T: Copy>(v: T) -> T {
    let x = v;
    public(&x);
    // SAFETY: `x` is a live, initialised local.
    unsafe { core::ptr::read_volatile(&x) }
}

fn declassify_hook(p: *mut u8, n: usize) {
    client_request(MAKE_MEM_DEFINED, p as u64, n as u64);
}

fn classify_hook(p: *mut u8, n: usize) {
    client_request(MAKE_MEM_UNDEFINED, p as u64, n as u64);
}

/// The sealed store: the key Argon2id derives from the (given) passphrase is marked secret by
/// the store itself; master secrets drawn from the tainted RNG are sealed into the file, a key
/// set is issued, sealed and recorded; the store is reopened (passphrase check), and the
/// master keys and the key set are unsealed and used.
fn store_workload(rng: &mut TaintedRng) {
    let dir = std::env::temp_dir().join(format!("mikey-sakke-ct-taint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("store.db");
    let _ = std::fs::remove_file(&path);
    let config = KmsConfig {
        kms_uri: "kms.example.org".into(),
        periods: KeyPeriods {
            length: 2_592_000,
            offset: 0,
        },
        parameter_set: 1,
    };
    let store = Store::create(&path, b"passphrase", &config, KdfParams::TEST_ONLY, rng).unwrap();
    let uri = "sip:alice@example.org";
    store.register(uri, PrincipalKind::User).unwrap();
    let master = store.master_keys(5).unwrap();
    let set = issue_key_set(&master, &config.kms_uri, config.periods, uri, 5).unwrap();
    // A chunk as provisioning issues it (RSKs from the unsealed z, batch-checked).
    let chunk = issue_key_sets(
        &master,
        &config.kms_uri,
        config.periods,
        &["sip:bob@example.org", "sip:carol@example.org"],
        5,
    );
    assert!(chunk.iter().all(Result::is_ok));
    let recorded = store.record(vec![set]).unwrap();
    assert_eq!(
        recorded.iter().map(|r| r.new).collect::<Vec<_>>(),
        vec![true]
    );
    drop(store);
    let store = Store::open(&path, b"passphrase").unwrap();
    let master = store.master_keys(5).unwrap();
    let again = store.issued(uri, 5).unwrap().unwrap();
    // Use the unsealed secrets: validate the RSK, sign with the SSK.
    again
        .rsk
        .validate(&master.sakke_public, &again.user_id)
        .unwrap();
    let rsk = master.sakke.issue_rsk(&again.user_id).unwrap();
    let same = bool::from(rsk.to_bytes().ct_eq(&again.rsk.to_bytes()));
    let same = reveal(same);
    assert!(same);
    let signer =
        SigningKey::new(&master.kpak, &again.user_id, again.ssk.clone(), &again.pvt).unwrap();
    let sig = signer.try_sign_with_rng(rng, b"m").unwrap();
    VerifyingKey::new(&master.kpak, &again.user_id)
        .verify(b"m", &sig)
        .unwrap();
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A deterministic RNG whose every output octet is marked secret.
struct TaintedRng(ChaCha20Rng);

impl TryRng for TaintedRng {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.0.try_fill_bytes(dst)?;
        secret(dst);
        Ok(())
    }
}

impl TryCryptoRng for TaintedRng {}

/// The two halves of the workload: each vector one runs in its own valgrind process.
const PARTS: [fn(); 2] = [workload_keys, workload_batches];

/// Prints how often each counted vector path ran in this process, for the parent to sum.
fn print_paths() {
    use mikey_sakke::ct::paths::{Path, count};
    println!("ct_taint paths: {:?}", Path::ALL.map(count));
}

/// The workload on the portable paths (both halves): none of the counted vector paths may run.
fn workload_portable() {
    use mikey_sakke::ct::paths::{Path, count};
    mikey_sakke::test_helpers::force_portable(true);
    mikey_sakke::ct::set_stand_in(false);
    let before = Path::ALL.map(count);
    for part in PARTS {
        part();
    }
    assert_eq!(
        Path::ALL.map(count),
        before,
        "a vector path ran on the portable build"
    );
    mikey_sakke::ct::set_stand_in(true);
    mikey_sakke::test_helpers::force_portable(false);
}

/// Installs the hooks that tell memcheck what the library declassifies or classifies.
fn hooks() {
    mikey_sakke::ct::set_declassify_hook(declassify_hook);
    mikey_sakke::ct::set_classify_hook(classify_hook);
}

/// The identifier every key is issued to.
const ID: [u8; 24] = *b"sip:alice@example.org\0\x80\xff";

/// A group manager's batches: to several members (batched table reads, one inversion), on the
/// wide tables of a large group's fan-out, and large enough for the affine additions with
/// shared inversions.
fn workload_batches() {
    hooks();
    let mut rng = TaintedRng(ChaCha20Rng::seed_from_u64(11));
    let id = ID;
    let z = MasterSecret::random(&mut rng);
    let kms = z.public_key();
    let rsk = z.issue_rsk(&id).unwrap();
    let receiver = PreparedReceiver::new(&kms, &id, &rsk).unwrap();
    let mut fixed = [0x11u8; 16];
    secret(&fixed);
    let ssv3 = Ssv::from_bytes(fixed);
    fixed.fill(0);
    let prepared_kms = sakke::PreparedKms::new(&kms);
    let other: &[u8] = b"2011-02\0tel:+447700900999\0";
    let batch =
        sakke::hazmat::encapsulate_many_with_ssv_kms(&ssv3, &prepared_kms, &[&id[..], other]);
    assert!(receiver.decapsulate(&batch[0]).is_ok());
    // and on the wide tables of a large group's fan-out
    prepared_kms.prepare_batches();
    let batch =
        sakke::hazmat::encapsulate_many_with_ssv_kms(&ssv3, &prepared_kms, &[&id[..], other]);
    assert!(receiver.decapsulate(&batch[0]).is_ok());
    // and a batch large enough for the affine additions with shared inversions (from 32 on)
    let mut ids: Vec<&[u8]> = vec![other; 32];
    ids[17] = &id[..];
    let batch = sakke::hazmat::encapsulate_many_with_ssv_kms(&ssv3, &prepared_kms, &ids);
    assert!(receiver.decapsulate(&batch[17]).is_ok());
}

/// Every other operation on secrets the crate offers: field inversions, the SAKKE KMS,
/// encapsulation and decapsulation, ECCSI, a GMK I_MESSAGE and the sealed store.
fn workload_keys() {
    hooks();
    let mut rng = TaintedRng(ChaCha20Rng::seed_from_u64(7));
    let id = ID;
    let mut ok = 0;

    // Field inversion of a secret.
    let x = Fp::random(&mut rng);
    let inv = x.invert().unwrap_or(Fp::ZERO);
    let one = x.mul(&inv);
    let one = reveal(one);
    assert_eq!(one, Fp::ONE);

    // SAKKE KMS: master secret from the RNG and from octets, public key, RSK issue.
    let z = MasterSecret::random(&mut rng);
    let kms = z.public_key();
    let mut z_bytes = z.to_bytes();
    secret(&z_bytes);
    let z2 = MasterSecret::from_bytes(&z_bytes).unwrap();
    z_bytes.fill(0);
    let rsk = z2.issue_rsk(&id).unwrap();
    // RSK import (constant-time decoder) and validation.
    let rsk_bytes = rsk.to_bytes();
    secret(&rsk_bytes);
    let rsk2 = ReceiverSecretKey::from_bytes(&rsk_bytes).unwrap();
    rsk2.validate(&kms, &id).unwrap();
    // The KMS's batch validation with Z's pairing tables.
    sakke::PreparedKms::new(&kms)
        .validate_rsk(&rsk2, &id)
        .unwrap();
    // The KMS's self-check of an RSK it issued, with z: [a + z]RSK == P (secret z, secret
    // RSK octets).
    z2.check_issued_rsk(&rsk2, &id).unwrap();
    // The batch issue (shared inversions) and the batch self-check (one random combination
    // by a multi-scalar multiplication over the secret RSKs, secret 128-bit weights from the
    // tainted RNG); then a batch with a bad key, which falls back to the per-key check.
    let ids: [&[u8]; 3] = [&id, b"sip:bob@example.org", b"sip:carol@example.org"];
    let rsks: Vec<ReceiverSecretKey> = z2
        .issue_rsks(&ids)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let mut batch: Vec<(&ReceiverSecretKey, &[u8])> =
        rsks.iter().zip(ids.iter().copied()).collect();
    z2.check_issued_rsks(&batch, &mut rng).unwrap();
    batch[1].0 = &rsk2;
    assert_eq!(
        z2.check_issued_rsks(&batch, &mut rng).unwrap_err().bad(),
        &[1]
    );

    // Encapsulation (secret SSV and r), decapsulation (secret RSK), with and without tables.
    let (ssv, ed) = sakke::encapsulate(&mut rng, &kms, &id);
    let got = sakke::decapsulate(&kms, &id, &rsk2, &ed).unwrap();
    let same = got == ssv;
    let same = reveal(same);
    ok += usize::from(same);
    let receiver = PreparedReceiver::new(&kms, &id, &rsk2).unwrap();
    let recipient = PreparedRecipient::new(&kms, &id);
    let (ssv2, ed2) = recipient.encapsulate(&mut rng);
    let got2 = receiver.decapsulate(&ed2).unwrap();
    let same = got2 == ssv2;
    let same = reveal(same);
    ok += usize::from(same);
    // A fixed SSV given as secret octets.
    let mut fixed = [0x11u8; 16];
    secret(&fixed);
    let ssv3 = Ssv::from_bytes(fixed);
    fixed.fill(0);
    let ed3 = sakke::hazmat::encapsulate_with_ssv(&ssv3, &kms, &id);
    assert!(receiver.decapsulate(&ed3).is_ok());

    // ECCSI: KSAK and v from the RNG, SSK import and validation, signing with a secret j.
    let eccsi = KmsKeyPair::generate(&mut rng).unwrap();
    let (ssk, pvt) = eccsi.issue(&id, &mut rng).unwrap();
    let ssk_bytes = ssk.to_bytes();
    secret(ssk_bytes.as_slice());
    let ssk2 = Ssk::from_bytes(ssk_bytes.as_slice()).unwrap();
    let signer = SigningKey::new(eccsi.kpak(), &id, ssk2, &pvt).unwrap();
    let msg = b"MIKEY I_MESSAGE";
    let sig = signer.try_sign_with_rng(&mut rng, msg).unwrap();
    VerifyingKey::new(eccsi.kpak(), &id)
        .verify(msg, &sig)
        .unwrap();

    // A GMK I_MESSAGE: built with a secret GMK (SAKKE to the member and to self, key
    // parameters sealed with AES-GCM under DPCK = KDF(GMK), ECCSI signature) and received.
    let mut gmk_bytes = [0u8; 16];
    rand_core::Rng::fill_bytes(&mut rng, &mut gmk_bytes);
    let gmk = Ssv::from_bytes(gmk_bytes);
    let gmk_id = KeyId::new(PurposeTag::Gmk, 0x0123_4567);
    let guk = guk_id(gmk.as_bytes(), gmk_id, b"sip:alice@example.org").unwrap();
    let to_self = sakke::hazmat::encapsulate_with_ssv(&gmk, &kms, signer.id());
    let params = KeyParameters {
        key_type: 0,
        status: 1,
        activation_time: [0; 5],
        expiry_time: [0; 5],
        text: b"g".to_vec(),
        group_ids: Some(vec![]),
    };
    let spec = MessageSpec {
        key: &gmk,
        kind: KeyKind::Gmk {
            gmk_id,
            guk_id: guk,
        },
        cs_id: Some(4),
        ntp_time: 1 << 40,
        rand: [1; 16],
        key_params: Some(KeyParamsSpec {
            params,
            date_time: [0; 5],
            iv: [2; 16],
        }),
        sakke_to_self: Some(&to_self),
    };
    let uid = [0x42u8; 32];
    let member_rsk = z2.issue_rsk(&uid).unwrap();
    let member = PreparedReceiver::new(&kms, &uid, &member_rsk).unwrap();
    let msg = imessage::build(
        &mut rng,
        &Initiator {
            signer: &signer,
            kms_uri: b"kms",
        },
        &Responder {
            uid: &uid,
            kms_uri: b"kms",
            kms_public_key: &kms,
            prepared_kms: None,
        },
        &spec,
    )
    .unwrap();
    public(msg.as_slice());
    let receiver = Receiver {
        uid: &uid,
        user_uri: Some(b"sip:alice@example.org"),
        kms_public_key: &kms,
        rsk: &member,
        kpak: eccsi.kpak(),
        key_period: None,
        expected_initiator: None,
        compat_signature: false,
        compat_minimal_w: false,
        compat_legacy_key_params: false,
    };
    let got = imessage::receive(&receiver, TimeCheck::Disabled, None, &msg).unwrap();
    let same = got.key == gmk;
    let same = reveal(same);
    assert!(same);

    // A secret scalar through the F_q inversion (as RSK issue does).
    let k = Fq::random(&mut rng);
    let kinv = k.invert().unwrap_or(Fq::ZERO);
    let one = k.mul(&kinv);
    let one = reveal(one);
    assert_eq!(one, Fq::ONE);
    assert_eq!(ok, 2);

    store_workload(&mut rng);
}

#[test]
fn workload_runs_natively() {
    // Natively the client requests are no-ops: this checks the workload's results.
    use mikey_sakke::ct::paths::{Path, count};
    if client_request(RUNNING_ON_VALGRIND, 0, 0) == 0 {
        for part in PARTS {
            part();
        }
        for path in Path::ALL {
            assert!(count(path) > 0, "the workload did not run {path:?}");
        }
        workload_portable();
    }
}

/// Runs `workload` when started under valgrind by `no_secret_dependent_branches_under_valgrind`.
fn inner(workload: fn()) {
    if std::env::var_os("MIKEY_SAKKE_CT_INNER").is_some() {
        assert_ne!(
            client_request(RUNNING_ON_VALGRIND, 0, 0),
            0,
            "not running under valgrind"
        );
        workload();
        print_paths();
    }
}

#[test]
fn inner_keys_under_valgrind() {
    inner(workload_keys);
}

#[test]
fn inner_batches_under_valgrind() {
    inner(workload_batches);
}

#[test]
fn inner_portable_under_valgrind() {
    inner(workload_portable);
}

/// The workloads, each run by its own valgrind process, all at once (the machine's cores
/// share them): the two halves on the stand-in of the AVX-512 paths, whose path counts must
/// together cover every counted path, and the whole workload on the portable paths.
const WORKLOADS: [(&str, bool); 3] = [
    ("inner_keys_under_valgrind", true),
    ("inner_batches_under_valgrind", true),
    ("inner_portable_under_valgrind", false),
];

/// A deliberate leak of each kind: the harness must catch every one, or a clean run of the
/// real workload would prove nothing.
const CANARIES: [&str; 3] = [
    "canary_under_valgrind",
    "canary_index_under_valgrind",
    "canary_early_exit_under_valgrind",
];

/// A secret-dependent memory index without a branch: a table read at a secret offset.
#[test]
fn canary_index_under_valgrind() {
    if std::env::var_os("MIKEY_SAKKE_CT_INNER").is_some() {
        let mut rng = TaintedRng(ChaCha20Rng::seed_from_u64(9));
        let mut k = [0u8; 1];
        rand_core::Rng::fill_bytes(&mut rng, &mut k);
        let table: [u64; 256] = core::array::from_fn(|i| i as u64);
        let table = std::hint::black_box(table);
        std::hint::black_box(table[usize::from(k[0])]);
    }
}

/// An early exit on a secret: a scan that stops at the first differing octet (the classic
/// variable-time comparison), of slices whose length the compiler cannot see.
#[test]
fn canary_early_exit_under_valgrind() {
    #[inline(never)]
    fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
        a.iter().zip(b).position(|(x, y)| x != y)
    }
    if std::env::var_os("MIKEY_SAKKE_CT_INNER").is_some() {
        let mut rng = TaintedRng(ChaCha20Rng::seed_from_u64(10));
        let mut k = [0u8; 16];
        rand_core::Rng::fill_bytes(&mut rng, &mut k);
        let public = [0x5au8; 16];
        let n = std::hint::black_box(16);
        std::hint::black_box(first_difference(&k[..n], &public[..n]));
    }
}

/// A secret-dependent branch: a variable-time multiplication by a secret scalar.
#[test]
fn canary_under_valgrind() {
    if std::env::var_os("MIKEY_SAKKE_CT_INNER").is_some() {
        let mut rng = TaintedRng(ChaCha20Rng::seed_from_u64(8));
        let k = Fq::random(&mut rng);
        let mut limbs = [0u64; 16];
        for (i, c) in k.to_bytes().rchunks_exact(8).enumerate() {
            limbs[i] = u64::from_be_bytes(c.try_into().unwrap());
        }
        let p = mikey_sakke::curve::ProjectivePoint::generator().mul_vartime(&limbs);
        std::hint::black_box(p);
    }
}

/// Runs one inner test of this binary under memcheck; returns (passed, error summary, log,
/// standard output). Origins of undefined values are tracked only when
/// `MIKEY_SAKKE_CT_ORIGINS` is set (it doubles memcheck's time): a report without them still
/// gives the stack of the secret-dependent branch or address.
fn under_valgrind(test: &str) -> (bool, String, String, String) {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("valgrind")
        .args(["--tool=memcheck", "--leak-check=no", "--num-callers=30"])
        .args(
            std::env::var_os("MIKEY_SAKKE_CT_ORIGINS")
                .is_some()
                .then_some("--track-origins=yes"),
        )
        .arg(format!("--suppressions={}/tests/ct_taint.supp", env!("CARGO_MANIFEST_DIR")))
        .arg(&exe)
        .args(["--exact", test, "--test-threads=1", "--nocapture"])
        .env("MIKEY_SAKKE_CT_INNER", "1")
        .output()
        .expect("valgrind must be installed for the constant-time taint test (apt-get install valgrind)");
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let summary = log
        .lines()
        .find(|l| l.contains("ERROR SUMMARY"))
        .unwrap_or("")
        .to_string();
    (stdout.contains("1 passed"), summary, log, stdout)
}

#[test]
fn no_secret_dependent_branches_under_valgrind() {
    if std::env::var_os("MIKEY_SAKKE_CT_INNER").is_some() {
        return;
    }
    if cfg!(debug_assertions) {
        // Debug assertions and overflow checks (in this crate and in `subtle`) branch on values
        // by design; the taint test is meaningful for the shipped code generation only:
        // `cargo test --profile ct-taint --features ct-taint --test ct_taint`.
        eprintln!("ct_taint: skipped in a build with debug assertions; use --profile ct-taint");
        return;
    }
    // The workloads take minutes under memcheck: each runs in its own valgrind process, all
    // at once, while the canaries run.
    let workloads = WORKLOADS.map(|(test, vector)| {
        (
            test,
            vector,
            std::thread::spawn(move || under_valgrind(test)),
        )
    });
    // The harness must see a deliberate leak of every kind...
    for canary in CANARIES {
        let (passed, summary, log, _) = under_valgrind(canary);
        assert!(passed, "{canary} did not run:\n{log}");
        assert!(
            !summary.contains(" 0 errors"),
            "the taint harness missed the known leak of {canary}:\n{log}"
        );
    }
    // ...and none in the real workload, on either build of the vector code...
    let mut vector_paths = [0u64; mikey_sakke::ct::paths::Path::ALL.len()];
    for (test, vector, handle) in workloads {
        let (passed, summary, log, stdout) = handle.join().unwrap();
        assert!(passed, "{test} did not pass:\n{stdout}\n{log}");
        assert!(
            summary.contains("ERROR SUMMARY: 0 errors"),
            "memcheck found secret-dependent behaviour in {test}:\n{log}"
        );
        if vector {
            let counts = stdout
                .lines()
                .find_map(|l| l.split_once("ct_taint paths: ").map(|(_, counts)| counts))
                .unwrap_or_else(|| panic!("{test} printed no path counts:\n{stdout}"));
            let counts: Vec<u64> = counts
                .trim_matches(|c| c == '[' || c == ']')
                .split(", ")
                .map(|n| n.parse().unwrap())
                .collect();
            for (sum, n) in vector_paths.iter_mut().zip(counts) {
                *sum += n;
            }
        }
    }
    // ...which ran every counted vector path under memcheck.
    for (path, n) in mikey_sakke::ct::paths::Path::ALL.iter().zip(vector_paths) {
        assert!(n > 0, "the workload did not run {path:?} under valgrind");
    }
}
