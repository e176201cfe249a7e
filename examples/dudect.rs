//! Statistical timing tests (dudect, Reparaz-Balasch-Verbauwhede 2016) of the operations on
//! secrets. Each test times one operation on two classes of secret inputs chosen to differ in
//! what a leak would depend on (a random secret against a fixed, special one: zero limbs, low
//! Hamming weight, the generator) and reports Welch's t statistic; |t| above 5 suggests a
//! leak. Inputs are prepared before any timing (generating them in the timed loop disturbs the
//! measurement and shows up as a false leak). Run with `cargo run --release --example dudect` (minutes; not part of the test suite).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use dudect_bencher::{BenchRng, Class, CtRunner, ctbench_main};
use mikey_sakke::curve::{AffinePoint, FixedBaseTable, ProjectivePoint};
use mikey_sakke::eccsi::{KmsKeyPair, SigningKey};
use mikey_sakke::field::{Fp, Fq};
use mikey_sakke::pairing::pairing;
use mikey_sakke::sakke::{self, MasterSecret, ReceiverSecretKey};
use mikey_sakke::test_helpers;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(0xdcdc)
}

/// A fair coin: `true` for the Left class.
fn coin(r: &mut ChaCha20Rng) -> bool {
    r.next_u32() & 1 == 0
}

fn class(left: bool) -> Class {
    if left { Class::Left } else { Class::Right }
}

/// F_p inversion: fresh random elements against one fixed random element ("fix vs random";
/// safegcd's iteration count is fixed).
fn fp_invert(runner: &mut CtRunner, _: &mut BenchRng) {
    let mut r = rng();
    let fixed = Fp::random(&mut r);
    // Inputs are prepared before any timing, so that generating them cannot disturb it.
    let inputs: Vec<(bool, Fp)> = (0..20_000)
        .map(|_| {
            let c = coin(&mut r);
            (c, if c { Fp::random(&mut r) } else { fixed })
        })
        .collect();
    for (c, x) in inputs {
        runner.run_one(class(c), || x.invert());
    }
}

/// Constant-time scalar multiplication: random scalars against the scalar 1.
fn scalar_mul(runner: &mut CtRunner, _: &mut BenchRng) {
    let mut r = rng();
    let p = ProjectivePoint::generator();
    let inputs: Vec<(bool, Fq)> = (0..300)
        .map(|_| {
            let c = coin(&mut r);
            (c, if c { Fq::random(&mut r) } else { Fq::ONE })
        })
        .collect();
    for (c, k) in inputs {
        runner.run_one(class(c), || p.mul(&k));
    }
}

/// Fixed-base multiplication with the table of P (signed 6-bit windows): random scalars against
/// scalars whose digits are all zero but one (the table's skipped additions and its sign
/// select would show).
fn fixed_base_mul(runner: &mut CtRunner, _: &mut BenchRng) {
    let mut r = rng();
    let table = FixedBaseTable::generator();
    let inputs: Vec<(bool, Fq)> = (0..2_000)
        .map(|_| {
            let c = coin(&mut r);
            (
                c,
                if c {
                    Fq::random(&mut r)
                } else {
                    Fq::from_u64(33)
                },
            )
        })
        .collect();
    for (c, k) in inputs {
        runner.run_one(class(c), || table.mul(&k));
    }
}

/// Fixed-base multiplication with an affine result (`mul_affine`: the tree of affine
/// additions with shared inversions): random scalars against 33 (one non-zero digit: identity
/// operands nearly everywhere in the tree).
fn fixed_base_mul_affine(runner: &mut CtRunner, _: &mut BenchRng) {
    let mut r = rng();
    let table = FixedBaseTable::generator();
    let inputs: Vec<(bool, Fq)> = (0..2_000)
        .map(|_| {
            let c = coin(&mut r);
            (
                c,
                if c {
                    Fq::random(&mut r)
                } else {
                    Fq::from_u64(33)
                },
            )
        })
        .collect();
    for (c, k) in inputs {
        runner.run_one(class(c), || table.mul_affine(&k));
    }
}

/// Batched fixed-base multiplication (`mul_many` on the wide table of P, one table pass for 8
/// scalars): random scalars against scalars with a single non-zero digit.
fn fixed_base_mul_many(runner: &mut CtRunner, _: &mut BenchRng) {
    let mut r = rng();
    let table = FixedBaseTable::generator_wide();
    let inputs: Vec<(bool, Vec<Fq>)> = (0..2_000)
        .map(|_| {
            let c = coin(&mut r);
            let ks = (0..8)
                .map(|_| {
                    if c {
                        Fq::random(&mut r)
                    } else {
                        Fq::from_u64(33)
                    }
                })
                .collect();
            (c, ks)
        })
        .collect();
    for (c, ks) in inputs {
        runner.run_one(class(c), || table.mul_many(&ks));
    }
}

/// The batched affine additions of a large fan-out (`mul_many_affine`, 32 scalars, one shared
/// inversion per window): random scalars (half of them flipped to q - k) against scalars with
/// a single non-zero digit (identity accumulators and zero digits nearly everywhere).
fn fixed_base_mul_many_affine(runner: &mut CtRunner, _: &mut BenchRng) {
    let mut r = rng();
    let inputs: Vec<(bool, Vec<Fq>)> = (0..300)
        .map(|_| {
            let c = coin(&mut r);
            let ks = (0..32)
                .map(|_| {
                    if c {
                        Fq::random(&mut r)
                    } else {
                        Fq::from_u64(33)
                    }
                })
                .collect();
            (c, ks)
        })
        .collect();
    for (c, ks) in inputs {
        runner.run_one(class(c), || test_helpers::p_mul_many_affine(&ks));
    }
}

/// The pairing with a secret second argument: random points against the generator.
fn pairing_secret_arg(runner: &mut CtRunner, _: &mut BenchRng) {
    let mut r = rng();
    let p = ProjectivePoint::generator();
    let first = p.mul(&Fq::random(&mut r)).to_affine();
    let g = AffinePoint::generator();
    let inputs: Vec<(bool, AffinePoint)> = (0..200)
        .map(|_| {
            let c = coin(&mut r);
            (
                c,
                if c {
                    p.mul(&Fq::random(&mut r)).to_affine()
                } else {
                    g
                },
            )
        })
        .collect();
    for (c, k) in inputs {
        runner.run_one(class(c), || pairing(&first, &k));
    }
}

/// Decapsulation: valid Encapsulated Data (accepted) against tampered H (rejected) under one
/// RSK: apart from the final verdict, both must take the same time.
fn decapsulate(runner: &mut CtRunner, _: &mut BenchRng) {
    let mut r = rng();
    let z = MasterSecret::random(&mut r);
    let kms = z.public_key();
    let id = [0x5au8; 32];
    let rsk: ReceiverSecretKey = z.issue_rsk(&id).unwrap();
    let receiver = sakke::PreparedReceiver::new(&kms, &id, &rsk).unwrap();
    let inputs: Vec<(bool, sakke::EncapsulatedData)> = (0..200)
        .map(|_| {
            let c = coin(&mut r);
            let (_, ed) = sakke::encapsulate(&mut r, &kms, &id);
            let mut bytes = ed.to_bytes();
            if !c {
                bytes[272] ^= 1;
            }
            (c, sakke::EncapsulatedData::from_bytes(&bytes).unwrap())
        })
        .collect();
    for (c, ed) in inputs {
        runner.run_one(class(c), || receiver.decapsulate(&ed).is_ok());
    }
}

/// ECCSI signing: two signers (random SSKs) against one with a fixed SSK, random messages.
fn eccsi_sign(runner: &mut CtRunner, _: &mut BenchRng) {
    let mut r = rng();
    let kms = KmsKeyPair::generate(&mut r).unwrap();
    let id = b"sip:signer@example.org";
    let (ssk_a, pvt_a) = kms.issue(id, &mut r).unwrap();
    let (ssk_b, pvt_b) = kms.issue(id, &mut r).unwrap();
    let a = SigningKey::new(kms.kpak(), id, ssk_a, &pvt_a).unwrap();
    let b = SigningKey::new(kms.kpak(), id, ssk_b, &pvt_b).unwrap();
    let inputs: Vec<(bool, [u8; 64], u64)> = (0..3_000)
        .map(|_| {
            let mut msg = [0u8; 64];
            r.fill_bytes(&mut msg);
            (coin(&mut r), msg, r.next_u64())
        })
        .collect();
    for (c, msg, seed) in inputs {
        let key = if c { &a } else { &b };
        runner.run_one(class(c), || {
            let mut sr = ChaCha20Rng::seed_from_u64(seed);
            key.try_sign_with_rng(&mut sr, &msg).is_ok()
        });
    }
}

/// ECCSI's fixed-base \[k\]G on P-256: random scalars against 2^200 (33 zero digits below the
/// first non-zero one: the identity accumulator and zero-digit selects every window).
fn p256_mul_base(runner: &mut CtRunner, _: &mut BenchRng) {
    let mut r = rng();
    let mut special = [0u8; 32];
    special[6] = 1; // 2^200, big-endian
    let inputs: Vec<(bool, [u8; 32])> = (0..20_000)
        .map(|_| {
            let mut k = [0u8; 32];
            r.fill_bytes(&mut k);
            let c = coin(&mut r);
            (c, if c { k } else { special })
        })
        .collect();
    for (c, k) in inputs {
        runner.run_one(class(c), || test_helpers::p256_mul_base(&k));
    }
}

ctbench_main!(
    fp_invert,
    scalar_mul,
    fixed_base_mul,
    fixed_base_mul_affine,
    fixed_base_mul_many,
    fixed_base_mul_many_affine,
    pairing_secret_arg,
    decapsulate,
    eccsi_sign,
    p256_mul_base
);
