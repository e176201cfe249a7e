//! Criterion benches of the MIKEY codec on the 701-octet MCX GMK I_MESSAGE: parse, encode, the
//! signed portion, and the annotated dump. Run with `cargo bench --bench mikey`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use criterion::{Criterion, criterion_group, criterion_main};
use mikey_sakke::mikey::{self, SignCoverage};
use std::hint::black_box;

const MCX: &str = include_str!("../vectors/mcx-interop.txt");

fn gmk_message() -> Vec<u8> {
    let b64 = MCX
        .lines()
        .find_map(|l| l.strip_prefix("gmk_I_MESSAGE_b64 = "))
        .unwrap();
    base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .unwrap()
}

fn codec(c: &mut Criterion) {
    let octets = gmk_message();
    let msg = mikey::parse(&octets).unwrap();
    let mut g = c.benchmark_group("mikey");
    g.bench_function("parse_gmk_i_message", |b| {
        b.iter(|| mikey::parse(black_box(&octets)).unwrap())
    });
    g.bench_function("encode_gmk_i_message", |b| {
        b.iter(|| black_box(&msg).encode())
    });
    g.bench_function("parse_and_signed_portion", |b| {
        b.iter(|| {
            let m = mikey::parse(black_box(&octets)).unwrap();
            m.signed_portion(SignCoverage::Rfc3830).unwrap().len()
        })
    });
    g.bench_function("annotate_gmk_i_message", |b| {
        b.iter(|| black_box(&msg).annotate())
    });
    g.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
