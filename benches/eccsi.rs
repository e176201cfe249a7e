//! Criterion benches of ECCSI (RFC 6507, P-256): KMS pair issue, pair validation, signing, and
//! verification with a fresh verifier and with a cached Y. Run with `cargo bench --bench eccsi`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use mikey_sakke::eccsi::{KmsKeyPair, SigningKey, VerifyingKey};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use signature::Verifier;
use std::hint::black_box;

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(0xecc5)
}

fn eccsi(c: &mut Criterion) {
    let mut rng = rng();
    let kms = KmsKeyPair::generate(&mut rng).unwrap();
    let id = b"2011-02\0tel:+447700900123\0";
    let msg = [0x5Au8; 200];
    let (ssk, pvt) = kms.issue(id, &mut rng).unwrap();
    let key = SigningKey::new(kms.kpak(), id, ssk.clone(), &pvt).unwrap();
    let sig = key.try_sign_with_rng(&mut rng, &msg).unwrap();
    let prepared = VerifyingKey::new(kms.kpak(), id).prepare(&pvt);

    let mut g = c.benchmark_group("eccsi");
    g.bench_function("kms_issue_pair_ct", |b| {
        b.iter(|| kms.issue(black_box(id), &mut rng).unwrap())
    });
    g.bench_function("validate_pair", |b| {
        b.iter(|| SigningKey::new(kms.kpak(), black_box(id), ssk.clone(), &pvt).unwrap())
    });
    g.bench_function("sign_ct", |b| {
        b.iter(|| key.try_sign_with_rng(&mut rng, black_box(&msg)).unwrap())
    });
    g.bench_function("verify_vartime_fresh_verifier", |b| {
        b.iter(|| {
            VerifyingKey::new(kms.kpak(), black_box(id))
                .verify(black_box(&msg), &sig)
                .unwrap()
        })
    });
    g.bench_function("verify_vartime_cached_y", |b| {
        b.iter(|| prepared.verify(black_box(&msg), &sig).unwrap())
    });
    g.finish();
}

criterion_group!(benches, eccsi);
criterion_main!(benches);
