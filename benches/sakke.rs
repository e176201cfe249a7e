//! Criterion benches of the SAKKE engine: field, curve, pairing and the SAKKE operations.
//! Run with `cargo bench --bench sakke`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{
    BenchmarkGroup, Criterion, criterion_group, criterion_main, measurement::WallTime,
};
use mikey_sakke::curve::{AffinePoint, FixedBaseTable, ProjectivePoint};
use mikey_sakke::field::{Fp, Fp2, Fq};
use mikey_sakke::pairing::{Gt, pairing};
use mikey_sakke::sakke::{self, MasterSecret};
use mikey_sakke::test_helpers::{self, Modulus};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::hint::black_box;
use std::time::Duration;

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(0xbe5c)
}

fn slow_group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(3));
    g
}

fn field(c: &mut Criterion) {
    let mut rng = rng();
    let a = Fp::random(&mut rng);
    let b = Fp::random(&mut rng);
    let x = Fp2::new(a, b);
    let y = Fp2::new(b, a);
    let mut g = c.benchmark_group("field");
    g.bench_function("fp_mul", |bn| bn.iter(|| black_box(&a).mul(black_box(&b))));
    g.bench_function("fp_square", |bn| bn.iter(|| black_box(&a).square()));
    g.bench_function("fp_add", |bn| bn.iter(|| black_box(&a).add(black_box(&b))));
    g.bench_function("fp_sub", |bn| bn.iter(|| black_box(&a).sub(black_box(&b))));
    g.bench_function("fp_invert", |bn| bn.iter(|| black_box(&a).invert()));
    g.bench_function("fq_invert", |bn| {
        let k = Fq::random(&mut rng);
        bn.iter(|| black_box(&k).invert())
    });
    g.bench_function("fp2_mul", |bn| bn.iter(|| black_box(&x).mul(black_box(&y))));
    g.bench_function("fp2_square", |bn| bn.iter(|| black_box(&x).square()));
    g.finish();
}

/// The limb kernels side by side: portable and IFMA.
fn kernel(c: &mut Criterion) {
    let mut rng = rng();
    let a = Fp::random(&mut rng).to_bytes();
    let b = Fp::random(&mut rng).to_bytes();
    let limbs = |x: &[u8; 128]| {
        let mut l = [0u64; 16];
        for (i, chunk) in x.rchunks_exact(8).enumerate() {
            l[i] = u64::from_be_bytes(chunk.try_into().unwrap());
        }
        l
    };
    let (a, b) = (limbs(&a), limbs(&b));
    let mut g = c.benchmark_group("kernel");
    g.bench_function("portable_mul", |bn| {
        bn.iter(|| test_helpers::portable_mul(black_box(&a), black_box(&b), Modulus::P))
    });
    g.bench_function("portable_sqr", |bn| {
        bn.iter(|| test_helpers::portable_sqr(black_box(&a), Modulus::P))
    });
    if test_helpers::ifma_available() {
        g.bench_function("ifma_mul", |bn| {
            bn.iter(|| test_helpers::ifma_mul(black_box(&a), black_box(&b), Modulus::P))
        });
    }
    g.finish();
}

fn curve_and_pairing(c: &mut Criterion) {
    let mut rng = rng();
    let k = Fq::random(&mut rng);
    let p = ProjectivePoint::generator();
    let q = p.mul(&Fq::random(&mut rng)).to_affine();
    let mut g = slow_group(c, "curve");
    g.bench_function("scalar_mul_ct", |bn| {
        bn.iter(|| black_box(&p).mul(black_box(&k)))
    });
    let (narrow, wide) = (
        FixedBaseTable::generator(),
        FixedBaseTable::generator_wide(),
    );
    g.bench_function("fixed_base_mul_ct_6bit", |bn| {
        bn.iter(|| narrow.mul(black_box(&k)))
    });
    g.bench_function("fixed_base_mul_ct_8bit", |bn| {
        bn.iter(|| wide.mul(black_box(&k)))
    });
    g.bench_function("fixed_base_mul_ct_6bit_to_affine", |bn| {
        bn.iter(|| narrow.mul(black_box(&k)).to_affine())
    });
    g.bench_function("fixed_base_mul_affine_tree", |bn| {
        bn.iter(|| narrow.mul_affine(black_box(&k)))
    });
    g.bench_function("point_decode_with_subgroup_check", |bn| {
        let bytes = q.to_bytes();
        bn.iter(|| AffinePoint::from_bytes(black_box(&bytes)))
    });
    g.finish();
    let mut g = slow_group(c, "pairing");
    let r = AffinePoint::generator();
    g.bench_function("pairing", |bn| {
        bn.iter(|| pairing(black_box(&r), black_box(&q)))
    });
    g.bench_function("pairing_precomputed", |bn| {
        let prepared = mikey_sakke::pairing::PreparedPoint::new(&q);
        bn.iter(|| prepared.pairing(black_box(&r)))
    });
    g.bench_function("pairing_prepare", |bn| {
        bn.iter(|| mikey_sakke::pairing::PreparedPoint::new(black_box(&q)))
    });
    if test_helpers::ifma_available() {
        test_helpers::force_portable(true);
        g.bench_function("pairing_portable_kernel", |bn| {
            bn.iter(|| pairing(black_box(&r), black_box(&q)))
        });
        test_helpers::force_portable(false);
    }
    g.bench_function("gt_pow_ct", |bn| bn.iter(|| Gt::g().pow(black_box(&k))));
    g.bench_function("g_pow_fixed_base_ct", |bn| {
        bn.iter(|| Gt::g_pow(black_box(&k)))
    });
    g.finish();
}

fn sakke_ops(c: &mut Criterion) {
    let mut rng = rng();
    let z = MasterSecret::random(&mut rng);
    let zpub = z.public_key();
    let id = [0xa5u8; 32];
    let rsk = z.issue_rsk(&id).unwrap();
    let (_, ed) = sakke::encapsulate(&mut rng, &zpub, &id);
    let mut g = slow_group(c, "sakke");
    g.bench_function("kms_keygen", |bn| {
        bn.iter(|| MasterSecret::random(&mut rng).public_key())
    });
    g.bench_function("rsk_issue", |bn| bn.iter(|| z.issue_rsk(black_box(&id))));
    g.bench_function("rsk_validate", |bn| {
        bn.iter(|| rsk.validate(&zpub, black_box(&id)))
    });
    g.bench_function("encapsulate", |bn| {
        bn.iter(|| sakke::encapsulate(&mut rng, &zpub, black_box(&id)))
    });
    g.bench_function("decapsulate", |bn| {
        bn.iter(|| sakke::decapsulate(&zpub, &id, &rsk, black_box(&ed)))
    });
    g.bench_function("decapsulate_precomputed", |bn| {
        let receiver = sakke::PreparedReceiver::new(&zpub, &id, &rsk).unwrap();
        bn.iter(|| receiver.decapsulate(black_box(&ed)))
    });
    g.bench_function("encapsulate_precomputed", |bn| {
        let recipient = sakke::PreparedRecipient::new(&zpub, &id);
        bn.iter(|| recipient.encapsulate(&mut rng))
    });
    g.bench_function("ed_decode", |bn| {
        let bytes = ed.to_bytes();
        bn.iter(|| sakke::EncapsulatedData::from_bytes(black_box(&bytes)))
    });
    g.finish();
}

criterion_group!(benches, kernel, field, curve_and_pairing, sakke_ops);
criterion_main!(benches);
