//! RFC 6508 Appendix A end to end, every intermediate value, from vectors/rfc6508.txt.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{RFC6508, get, parse};
use mikey_sakke::curve::{AffinePoint, ProjectivePoint};
use mikey_sakke::field::Fq;
use mikey_sakke::pairing::{Gt, pairing};
use mikey_sakke::sakke::{
    self, EncapsulatedData, KmsPublicKey, MasterSecret, ReceiverSecretKey, Ssv, hazmat,
};

#[test]
fn parameters_and_g_is_pairing_of_p_with_itself() {
    let v = parse(RFC6508);
    let p = AffinePoint::generator();
    let mut px = vec![0x04];
    px.extend_from_slice(get(&v, "Px"));
    px.extend_from_slice(get(&v, "Py"));
    assert_eq!(p.to_bytes().to_vec(), px);
    assert!(p.is_torsion_free_vartime());
    assert_eq!(pairing(&p, &p).to_bytes().to_vec(), get(&v, "g"));
    assert_eq!(Gt::g().to_bytes().to_vec(), get(&v, "g"));
}

#[test]
fn hash_to_integer_range_worked_example() {
    let v = parse(RFC6508);
    let m = get(&v, "h2ir_M");
    assert_eq!(m, [get(&v, "SSV"), get(&v, "b")].concat());
    let b = mikey_sakke::hash::blocks(m, 4);
    assert_eq!(b.a.to_vec(), get(&v, "h2ir_A"));
    for i in 0..4 {
        assert_eq!(b.h[i].to_vec(), get(&v, &format!("h2ir_h{}", i + 1)));
        assert_eq!(b.v[i].to_vec(), get(&v, &format!("h2ir_v{}", i + 1)));
    }
    assert_eq!(
        mikey_sakke::hash::to_scalar(m).to_bytes().to_vec(),
        get(&v, "h2ir_v_mod_q")
    );
}

#[test]
fn kms_side() {
    let v = parse(RFC6508);
    let z = MasterSecret::from_bytes(get(&v, "z")).unwrap();
    let zpub = z.public_key();
    assert_eq!(zpub.to_bytes().to_vec(), get(&v, "Z"));
    assert_eq!(KmsPublicKey::from_bytes(get(&v, "Z")).unwrap(), zpub);
    let rsk = z.issue_rsk(get(&v, "b")).unwrap();
    assert_eq!(rsk.to_bytes().to_vec(), get(&v, "RSK"));
    rsk.validate(&zpub, get(&v, "b")).unwrap();
    let decoded = ReceiverSecretKey::from_bytes(get(&v, "RSK")).unwrap();
    decoded.validate(&zpub, get(&v, "b")).unwrap();
}

#[test]
fn sender_every_intermediate() {
    let v = parse(RFC6508);
    let zpub = KmsPublicKey::from_bytes(get(&v, "Z")).unwrap();
    let b = get(&v, "b");
    let ssv = Ssv::from_slice(get(&v, "SSV")).unwrap();
    // step 2
    let r = hazmat::derive_r(&ssv, b);
    assert_eq!(r.expose().to_bytes().to_vec(), get(&v, "r"));
    assert!(!format!("{r:?}").contains("13EE"));
    // step 3 (also by the explicit formula)
    let base = ProjectivePoint::from(zpub.identity_point_vartime(b));
    let big_r = base.mul(r.expose()).to_affine();
    assert_eq!(big_r.to_bytes().to_vec(), get(&v, "R"));
    let b_scalar = Fq::from_be_bytes_reduced(b);
    let by_formula = ProjectivePoint::generator()
        .mul(&b_scalar)
        .add(&ProjectivePoint::from(zpub.point()))
        .mul(r.expose());
    assert_eq!(by_formula.to_affine(), big_r);
    // step 4
    let gr = Gt::g().pow(r.expose());
    assert_eq!(gr.to_bytes().to_vec(), get(&v, "gr"));
    let mask = hazmat::mask(&gr);
    assert_eq!(mask.to_vec(), get(&v, "mask"));
    let h: Vec<u8> = ssv
        .as_bytes()
        .iter()
        .zip(mask.iter())
        .map(|(a, m)| a ^ m)
        .collect();
    assert_eq!(h, get(&v, "H"));
    // step 5
    let ed = hazmat::encapsulate_with_ssv(&ssv, &zpub, b);
    assert_eq!(ed.to_bytes().to_vec(), get(&v, "ED"));
    assert_eq!(ed.h().to_vec(), get(&v, "H"));
}

#[test]
fn receiver_every_intermediate() {
    let v = parse(RFC6508);
    let zpub = KmsPublicKey::from_bytes(get(&v, "Z")).unwrap();
    let b = get(&v, "b");
    let rsk = ReceiverSecretKey::from_bytes(get(&v, "RSK")).unwrap();
    let ed = EncapsulatedData::from_bytes(get(&v, "ED")).unwrap();
    // step 2: w = <R, K>
    let rsk_point = AffinePoint::from_bytes(get(&v, "RSK")).unwrap();
    let w = pairing(&ed.r(), &rsk_point);
    assert_eq!(w.to_bytes().to_vec(), get(&v, "w"));
    // step 3
    let mask = hazmat::mask(&w);
    let ssv: Vec<u8> = ed.h().iter().zip(mask.iter()).map(|(a, m)| a ^ m).collect();
    assert_eq!(ssv, get(&v, "SSV"));
    // steps 4-5: TEST == R
    let r = hazmat::derive_r(&Ssv::from_slice(&ssv).unwrap(), b);
    let test = ProjectivePoint::from(zpub.identity_point_vartime(b))
        .mul(r.expose())
        .to_affine();
    let mut t = vec![0x04];
    t.extend_from_slice(get(&v, "TESTx"));
    t.extend_from_slice(get(&v, "TESTy"));
    assert_eq!(test.to_bytes().to_vec(), t);
    // the whole thing
    let out = sakke::decapsulate(&zpub, b, &rsk, &ed).unwrap();
    assert_eq!(out.as_bytes().to_vec(), get(&v, "SSV"));
    // and by a prepared receiver, whose step 5 is w == g^r
    let receiver = sakke::PreparedReceiver::new(&zpub, b, &rsk).unwrap();
    let out = receiver.decapsulate(&ed).unwrap();
    assert_eq!(out.as_bytes().to_vec(), get(&v, "SSV"));
    assert_eq!(
        Gt::g_pow(r.expose()).to_bytes().to_vec(),
        get(&v, "w"),
        "w = g^r"
    );
}
