//! No residue of a delivered key in the process memory after use (issue 20 item 8): after a
//! decapsulation (plain and prepared) and after receiving an MCX I_MESSAGE, and after the
//! caller dropped what it got, no writable page of the process (every thread stack, the heap
//! and every anonymous mapping, freed blocks included) holds the SSV / GMK octets.
//!
//! How: the process reads its own memory through `/proc/self/mem` (safe code, no undefined
//! behaviour: the kernel copies the pages, whatever Rust thinks of their contents), over every
//! writable mapping listed in `/proc/self/maps`. Stack frames of the library's functions stay
//! below the caller's stack pointer after they return, and freed heap blocks keep their
//! contents (glibc overwrites only their first 16 octets), so a temporary that is not wiped is
//! found there, whatever its lifetime was.
//!
//! The searched values never exist in plain form in the test: they are compile-time
//! complements of the published keys, compared octet by octet, so the test itself leaves no
//! copy to find. Inputs are decoded by a reader that skips the SSV lines of the vector files.
//!
//! A freed block of 16 octets (the `Ssv`'s own) has its octets overwritten by the allocator's
//! free-list pointers, so the scan after the fact cannot see whether it was wiped: the test
//! binary's global allocator also checks every block as it is freed (reading it through
//! `/proc/self/mem` too), while a scenario runs.
//!
//! It can fail (each planted once): with the SSV's stack array of the former
//! `sakke::decapsulate_with` (`let ssv = [..]; Ssv(ssv)`, moved into the result) it reports the
//! stack copy; with the wipe removed from `Ssv`'s `Drop` it reports the freed block.
//!
//! Linux only (`/proc`); one test function, so that no other test of this binary handles keys
//! while the memory is scanned.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// The test's global allocator (an `unsafe` trait): it forwards to the system allocator and reads
// blocks only through `/proc/self/mem`.
#![allow(unsafe_code)]
#![cfg(target_os = "linux")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use base64::Engine as _;
use mikey_sakke::eccsi::Kpak;
use mikey_sakke::mcx::imessage::{self, Receiver, ReplayCache, TimeCheck};
use mikey_sakke::mcx::uid::{KeyPeriods, Uid};
use mikey_sakke::sakke::{
    self, EncapsulatedData, KmsPublicKey, PreparedReceiver, ReceiverSecretKey,
};
use zeroize::Zeroize;

const RFC6508: &str = include_str!("../vectors/rfc6508.txt");
const MCX: &str = include_str!("../vectors/mcx-interop.txt");

/// The complement of every octet (so that the plain value is never in the test's memory).
const fn complement(v: [u8; 16]) -> [u8; 16] {
    let mut out = [0u8; 16];
    let mut i = 0;
    while i < 16 {
        out[i] = !v[i];
        i += 1;
    }
    out
}

/// RFC 6508 Appendix A's SSV, complemented at compile time.
const SSV_NOT: [u8; 16] = complement(0x1234_5678_9ABC_DEF0_1234_5678_9ABC_DEF0_u128.to_be_bytes());
/// The GMK of the published MCX I_MESSAGE (vectors/mcx-interop.txt gmk_GMK), complemented.
const GMK_NOT: [u8; 16] = complement(0x07d1_a167_7ac3_6d8e_8162_0484_689b_3c2d_u128.to_be_bytes());

/// The process's memory, opened before any scenario (the allocator must not allocate).
static MEM: OnceLock<File> = OnceLock::new();
/// Whether freed blocks are being checked.
static WATCH: AtomicBool = AtomicBool::new(false);
/// Freed blocks that held the SSV, the GMK.
static FREED_SSV: AtomicUsize = AtomicUsize::new(0);
static FREED_GMK: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, checking each freed block for the keys while [`WATCH`] is set.
struct CheckingAllocator;

impl CheckingAllocator {
    /// Reads the block through `/proc/self/mem` (no read of memory Rust may deem uninitialised)
    /// in chunks overlapping by 15 octets, into a stack buffer.
    fn check(ptr: *mut u8, size: usize) {
        let Some(mem) = MEM.get() else { return };
        let mut buf = [0u8; 1024];
        let mut off = 0usize;
        while off < size {
            let len = (size - off).min(buf.len());
            let at = (ptr as u64).wrapping_add(off as u64);
            if let Ok(n) = mem.read_at(&mut buf[..len], at) {
                if find(&buf[..n], &SSV_NOT).is_some() {
                    FREED_SSV.fetch_add(1, Ordering::SeqCst);
                }
                if find(&buf[..n], &GMK_NOT).is_some() {
                    FREED_GMK.fetch_add(1, Ordering::SeqCst);
                }
            }
            buf.fill(0);
            if off + len >= size {
                break;
            }
            off += len - 15;
        }
    }
}

// SAFETY: every call forwards to `System` with the same arguments; the check only reads the
// block (through the kernel) before it is freed.
unsafe impl GlobalAlloc for CheckingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if WATCH.load(Ordering::SeqCst) {
            Self::check(ptr, layout.size());
        }
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if WATCH.load(Ordering::SeqCst) {
            // The old block is freed (or shrunk) by the move: what it held beyond the new
            // size, or all of it, stays behind.
            Self::check(ptr, layout.size());
        }
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CheckingAllocator = CheckingAllocator;

/// One `name = value` line of a vector file (never called for the secret lines).
fn text(file: &str, name: &str) -> String {
    assert!(!name.contains("SSV") && !name.contains("GMK"));
    file.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} = ")))
        .unwrap()
        .trim()
        .to_string()
}

fn hex_of(file: &str, name: &str) -> Vec<u8> {
    hex::decode(text(file, name)).unwrap()
}

/// Whether `block` holds the key whose complement is `not` (compared octet by octet against
/// the complement: no plain copy is made).
fn find(block: &[u8], not: &[u8; 16]) -> Option<usize> {
    block
        .windows(16)
        .position(|w| w.iter().zip(not).all(|(a, b)| *a == !*b))
}

/// Every address of a writable mapping of this process holding the key, with the mapping's
/// name.
fn residue(not: &[u8; 16]) -> Vec<(u64, String)> {
    const CHUNK: usize = 1 << 16;
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let mem = File::open("/proc/self/mem").unwrap();
    let mut buf = vec![0u8; CHUNK];
    let mut found = Vec::new();
    let mut writable = 0;
    for line in maps.lines() {
        let mut f = line.split_whitespace();
        let (Some(range), Some(perms)) = (f.next(), f.next()) else {
            continue;
        };
        let name = f.nth(3).unwrap_or("[anonymous]").to_string();
        if !perms.starts_with("rw") || name == "[vvar]" || name == "[vsyscall]" {
            continue;
        }
        writable += 1;
        let (lo, hi) = range.split_once('-').unwrap();
        let lo = u64::from_str_radix(lo, 16).unwrap();
        let hi = u64::from_str_radix(hi, 16).unwrap();
        let mut at = lo;
        while at < hi {
            let len = usize::try_from((hi - at).min(CHUNK as u64)).unwrap();
            // An unreadable page (a guard page) is skipped.
            if let Ok(n) = mem.read_at(&mut buf[..len], at)
                && let Some(i) = find(&buf[..n], not)
            {
                found.push((at + i as u64, name.clone()));
            }
            buf.fill(0);
            if len < CHUNK {
                break;
            }
            // Overlap the chunks by 15 octets so that a value across a boundary is seen.
            at += (CHUNK - 15) as u64;
        }
    }
    assert!(writable > 3, "too few writable mappings: {maps}");
    found
}

/// Runs `scenario` with the freed blocks checked, then scans the memory.
fn assert_no_residue(what: &str, not: &[u8; 16], scenario: impl FnOnce()) {
    let counter = if not == &SSV_NOT {
        &FREED_SSV
    } else {
        &FREED_GMK
    };
    counter.store(0, Ordering::SeqCst);
    WATCH.store(true, Ordering::SeqCst);
    scenario();
    WATCH.store(false, Ordering::SeqCst);
    let freed = counter.load(Ordering::SeqCst);
    assert_eq!(freed, 0, "{what}: {freed} freed heap blocks held the key");
    let found = residue(not);
    assert!(
        found.is_empty(),
        "{what}: the key is still in memory at {}",
        found
            .iter()
            .map(|(a, n)| format!("{a:#x} ({n})"))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

/// Decapsulates the RFC 6508 vector with `decap`, checks the result against the complement and
/// drops it in place (no move of the SSV out of the `Result`).
#[inline(never)]
fn rfc6508_decapsulation(
    decap: &dyn Fn(&EncapsulatedData) -> Result<sakke::Ssv, mikey_sakke::Error>,
) {
    let ed = EncapsulatedData::from_bytes(&hex_of(RFC6508, "ED")).unwrap();
    let out = decap(&ed);
    let ok = out
        .as_ref()
        .map(|s| s.as_bytes().iter().zip(&SSV_NOT).all(|(a, b)| *a == !*b));
    assert_eq!(ok, Ok(true));
    drop(out);
}

#[inline(never)]
fn mcx_receive() {
    let uid: Uid = hex_of(MCX, "alice_UserID").try_into().unwrap();
    let from: Uid = hex_of(MCX, "gms_UserID").try_into().unwrap();
    let z = KmsPublicKey::from_bytes(&hex_of(MCX, "kms_PubEncKey")).unwrap();
    let kpak = Kpak::from_bytes(&hex_of(MCX, "kms_PubAuthKey")).unwrap();
    let rsk = ReceiverSecretKey::from_bytes(&hex_of(MCX, "alice_UserDecryptKey")).unwrap();
    let prepared = PreparedReceiver::new(&z, &uid, &rsk).unwrap();
    let uri = text(MCX, "alice_UserUri");
    let msg = base64::engine::general_purpose::STANDARD
        .decode(text(MCX, "gmk_I_MESSAGE_b64"))
        .unwrap();
    let receiver = Receiver {
        uid: &uid,
        user_uri: Some(uri.as_bytes()),
        kms_public_key: &z,
        rsk: &prepared,
        kpak: &kpak,
        key_period: Some((
            KeyPeriods {
                length: 16_777_215,
                offset: 0,
            },
            236,
        )),
        expected_initiator: Some(&from),
        compat_signature: false,
        compat_minimal_w: false,
        compat_legacy_key_params: false,
    };
    let mut cache = ReplayCache::new(16);
    let out = imessage::receive(&receiver, TimeCheck::Disabled, Some(&mut cache), &msg);
    let ok = out.as_ref().map(|k| {
        k.key
            .as_bytes()
            .iter()
            .zip(&GMK_NOT)
            .all(|(a, b)| *a == !*b)
    });
    assert!(
        matches!(ok, Ok(true)),
        "{:?}",
        ok.map_err(|e| e.to_string())
    );
    drop(out);
}

#[test]
fn no_key_residue_after_decapsulation_and_receive() {
    MEM.set(File::open("/proc/self/mem").unwrap()).unwrap();

    // The checks find a planted copy (and so can fail): the scan a live heap copy, the
    // allocator a freed one. (Built in place on the heap; wiped before the real checks.)
    let mut planted = Box::new(SSV_NOT);
    for b in planted.iter_mut() {
        *b = !*b;
    }
    let mut planted = std::hint::black_box(planted);
    assert!(!residue(&SSV_NOT).is_empty(), "the scan misses a heap copy");
    WATCH.store(true, Ordering::SeqCst);
    let mut planted_vec = vec![0u8; 64];
    planted_vec[8..24].copy_from_slice(&planted[..]);
    drop(std::hint::black_box(planted_vec));
    WATCH.store(false, Ordering::SeqCst);
    assert_eq!(
        FREED_SSV.load(Ordering::SeqCst),
        1,
        "the allocator misses a freed copy"
    );
    planted.zeroize();
    drop(planted);

    let z = KmsPublicKey::from_bytes(&hex_of(RFC6508, "Z")).unwrap();
    let b = hex_of(RFC6508, "b");
    let rsk = ReceiverSecretKey::from_bytes(&hex_of(RFC6508, "RSK")).unwrap();
    let prepared = PreparedReceiver::new(&z, &b, &rsk).unwrap();
    assert_no_residue("before any decapsulation", &SSV_NOT, || ());
    assert_no_residue("before the I_MESSAGE", &GMK_NOT, || ());

    assert_no_residue("sakke::decapsulate", &SSV_NOT, || {
        rfc6508_decapsulation(&|ed| sakke::decapsulate(&z, &b, &rsk, ed));
    });
    assert_no_residue("PreparedReceiver::decapsulate", &SSV_NOT, || {
        rfc6508_decapsulation(&|ed| prepared.decapsulate(ed));
    });
    assert_no_residue("imessage::receive (GMK)", &GMK_NOT, mcx_receive);
}
