//! Field-operation counts of the pairing and the SAKKE operations (run with
//! `cargo test --features op-count --test op_count -- --nocapture`). Counts are deterministic,
//! unlike timings, so they can be asserted.
#![cfg(feature = "op-count")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mikey_sakke::curve::{AffinePoint, ProjectivePoint};
use mikey_sakke::field::{Fq, op_count};
use mikey_sakke::pairing::{miller_loop, pairing};

fn count<T>(f: impl FnOnce() -> T) -> (u64, u64) {
    op_count::reset();
    let _ = std::hint::black_box(f());
    op_count::get()
}

#[test]
fn pairing_costs_at_most_25000_multiplications() {
    let p = AffinePoint::generator();
    let q = ProjectivePoint::generator()
        .mul(&Fq::from_u64(12345))
        .to_affine();
    let (m, s) = count(|| miller_loop(&p, &q));
    println!(
        "miller loop: {m} multiplications + {s} squarings = {}",
        m + s
    );
    // 1021 doubling steps x (12M + 5S), 352 addition steps x (14M + 3S)
    assert_eq!((m, s), (1021 * 12 + 352 * 14, 1021 * 5 + 352 * 3));
    let (m, s) = count(|| pairing(&p, &q));
    println!(
        "pairing (incl. final exponentiation, excl. inversion): {} operations",
        m + s
    );
    assert!(m + s <= 25_000, "{}", m + s);
}

#[test]
fn encapsulation_to_a_new_recipient_with_the_kms_tables() {
    use mikey_sakke::curve::FixedBaseTable;
    use mikey_sakke::pairing::Gt;
    use mikey_sakke::sakke::{KmsPublicKey, PreparedKms, Ssv, hazmat};
    let z = ProjectivePoint::generator()
        .mul(&Fq::from_u64(0x1234_5678))
        .to_affine();
    let kms = KmsPublicKey::from_bytes(&z.to_bytes()).unwrap();
    let prepared = PreparedKms::new(&kms);
    let r = Fq::from_u64(0xdead_beef_0bad_cafe);
    // build the process-wide tables of P and g first
    let _ = (FixedBaseTable::generator(), Gt::g_pow(&r));
    let (m, s) = count(|| FixedBaseTable::generator().mul(&r));
    println!("fixed-base [r]P: {m} M + {s} S");
    let fixed_base = m + s;
    let (m, s) = count(|| Gt::g_pow(&r));
    println!("g^r: {m} M + {s} S");
    let g_pow = m + s;
    let (m, s) = count(|| ProjectivePoint::generator().to_affine());
    println!("to_affine: {m} M + {s} S");
    let ssv = Ssv::from_bytes([7; 16]);
    let (m, s) = count(|| {
        hazmat::encapsulate_with_ssv_kms(&ssv, &prepared, b"2011-02\0tel:+447700900123\0")
    });
    println!("encapsulate (PreparedKms): {m} M + {s} S");
    // two fixed-base multiplications and g^r, plus the affine conversion and the scalar work
    assert!(m + s <= 2 * fixed_base + g_pow + 2_000, "{}", m + s);
}

#[test]
fn batched_encapsulation_per_recipient() {
    use mikey_sakke::sakke::{KmsPublicKey, PreparedKms, Ssv, hazmat};
    let z = ProjectivePoint::generator()
        .mul(&Fq::from_u64(0x1234_5678))
        .to_affine();
    let kms = KmsPublicKey::from_bytes(&z.to_bytes()).unwrap();
    let prepared = PreparedKms::new(&kms);
    prepared.prepare_batches();
    let ids: Vec<Vec<u8>> = (0..64u32).map(|i| i.to_be_bytes().repeat(8)).collect();
    let ids: Vec<&[u8]> = ids.iter().map(Vec::as_slice).collect();
    let ssv = Ssv::from_bytes([7; 16]);
    let (m, s) = count(|| hazmat::encapsulate_many_with_ssv_kms(&ssv, &prepared, &ids));
    let per = (m + s) / 64;
    println!("batched encapsulation (64 recipients, wide tables): {per} M + S per recipient");
    // Per recipient: two fixed-base multiplications of 129 affine additions (six
    // multiplications each, the inversions shared), g^r on the wide table (128 x 2), the sum
    // of the two points and the affine conversion; on the radix-2^52 backend (IFMA CPUs) also
    // the reduction of each accumulator's x and y by one product after every four windows
    // (33 rounds) and the lanes' conversions.
    assert!(per <= 2 * 129 * 6 + 2 * 33 * 2 + 2 * 128 + 100, "{per}");
}
