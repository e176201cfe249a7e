//! One table-driven corpus of bad input for every public decoder of the crate (security issue
//! #8, item 4): SAKKE points and scalars, ECCSI points, scalars and signatures, MIKEY messages,
//! MCX key parameters, Annex D documents, UID and key-period helpers, and the I_MESSAGE receive
//! paths (library and client).
//!
//! Every case names the exact typed error it must produce (the error value where the type can
//! be built outside the crate, else a `matches!` pattern on the variant and its fields). Each
//! decoder runs under `catch_unwind`, so a panic is reported as a failed case with the decoder
//! and the case name instead of aborting the table.
//!
//! Invalid curve points are computed here with num-bigint (the test oracle), not copied: the
//! order-2 and order-4 points of the SAKKE curve, points outside the order-q subgroup,
//! non-canonical coordinates. The facts that decide which small orders exist over F_p are
//! asserted, not assumed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fmt::Debug;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use base64::Engine as _;
use num_bigint::BigUint;
use num_traits::{One, Zero};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use common::{MCX, RFC6507, RFC6508, get, parse};
use mikey_sakke::annex_d::{
    AnnexDError, KeySetError, KmsCertificate, KmsKeyProv, KmsKeySet, KmsMessage, KmsResponse,
    MAX_DEPTH, MAX_DOCUMENT_LEN, MAX_ELEMENTS,
};
use mikey_sakke::curve::AffinePoint;
use mikey_sakke::eccsi::{self, DecodeError, Kpak, Ksak, Pvt, Signature, SigningKey, Ssk};
use mikey_sakke::field::{Fp, Fq};
use mikey_sakke::mcx::imessage::{self, ReceiveError, Receiver, TimeCheck};
use mikey_sakke::mcx::kdf::KdfError;
use mikey_sakke::mcx::key_id::{KeyId, guk_id};
use mikey_sakke::mcx::key_params::{self, GroupIdIe, KeyParameters, KeyParamsError};
use mikey_sakke::mcx::uid::{KeyPeriods, PeriodError, Uid, uid};
use mikey_sakke::mikey::sakke_steps::StepError;
use mikey_sakke::mikey::{
    self, Context, EncrAlg, Kemac, KeyData, KeyDataType, KeyValidity, MacAlg, ParseError,
    ParseErrorKind, Payload, PayloadType, Timestamp,
};
use mikey_sakke::params::{P_HEX, PX_HEX, PY_HEX, Q_HEX};
use mikey_sakke::sakke::{
    EncapsulatedData, KmsPublicKey, MasterSecret, PreparedReceiver, ReceiverSecretKey, Ssv,
};
use mikey_sakke::ue::{Client, ClientError};
use mikey_sakke::{PointError, ScalarError};

// ----------------------------------------------------------------------------------------------
// The table runner

/// A verdict on a decoder's result (its value dropped).
type Check<E> = Box<dyn Fn(&Result<(), E>) -> bool>;

/// What one case must produce.
struct Want<E> {
    desc: String,
    check: Check<E>,
}

impl<E: PartialEq + Debug + 'static> Want<E> {
    /// Exactly this error value.
    fn err(e: E) -> Self {
        Self {
            desc: format!("Err({e:?})"),
            check: Box::new(move |r| r.as_ref().err() == Some(&e)),
        }
    }
}

/// The input decodes (the controls of each table, and the documented lenient encodings).
fn accepted<E: 'static>() -> Want<E> {
    Want {
        desc: "Ok".to_string(),
        check: Box::new(|r| r.is_ok()),
    }
}

/// An error matching a pattern (for error types that cannot be built outside the crate or
/// that carry positions and texts).
macro_rules! err_matching {
    ($p:pat $(if $g:expr)?) => {
        Want {
            desc: format!("Err({})", stringify!($p $(if $g)?)),
            check: Box::new(move |r| matches!(r, Err($p) $(if $g)?)),
        }
    };
}

struct Case<I, E> {
    name: String,
    input: I,
    want: Want<E>,
}

fn case<I, E>(name: impl Into<String>, input: I, want: Want<E>) -> Case<I, E> {
    Case {
        name: name.into(),
        input,
        want,
    }
}

/// Runs every case of a table through `decode`; collects wrong results and panics, then fails
/// once with the full list.
fn run<I, T, E: Debug>(decoder: &str, cases: &[Case<I, E>], decode: impl Fn(&I) -> Result<T, E>) {
    assert!(!cases.is_empty(), "{decoder}: empty table");
    let mut failures = Vec::new();
    for c in cases {
        match catch_unwind(AssertUnwindSafe(|| decode(&c.input).map(|_| ()))) {
            Err(_) => failures.push(format!(
                "{decoder} / {}: PANICKED (want {})",
                c.name, c.want.desc
            )),
            Ok(r) => {
                if !(c.want.check)(&r) {
                    failures.push(format!(
                        "{decoder} / {}: got {r:?}, want {}",
                        c.name, c.want.desc
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} case(s) failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn with_octet(b: &[u8], i: usize, v: u8) -> Vec<u8> {
    let mut out = b.to_vec();
    out[i] = v;
    out
}

fn big(hex: &str) -> BigUint {
    BigUint::parse_bytes(hex.as_bytes(), 16).unwrap()
}

/// Big-endian, left-padded to `len` octets (the value must fit).
fn be(x: &BigUint, len: usize) -> Vec<u8> {
    let b = x.to_bytes_be();
    assert!(b.len() <= len, "{} octets do not fit in {len}", b.len());
    let mut out = vec![0u8; len - b.len()];
    out.extend_from_slice(&b);
    out
}

// ----------------------------------------------------------------------------------------------
// A small affine-curve oracle over a prime field, y^2 = x^3 - 3x + b (num-bigint, variable time,
// test data only).

#[derive(Clone)]
struct Curve {
    p: BigUint,
    b: BigUint,
    /// Octets of a field element.
    len: usize,
}

type Pt = Option<(BigUint, BigUint)>;

impl Curve {
    fn m(&self, a: &BigUint) -> BigUint {
        a % &self.p
    }
    fn add_f(&self, a: &BigUint, b: &BigUint) -> BigUint {
        self.m(&(a + b))
    }
    fn sub_f(&self, a: &BigUint, b: &BigUint) -> BigUint {
        self.m(&(a + &self.p - self.m(b)))
    }
    fn mul_f(&self, a: &BigUint, b: &BigUint) -> BigUint {
        self.m(&(a * b))
    }
    fn inv(&self, a: &BigUint) -> BigUint {
        assert!(!self.m(a).is_zero());
        a.modpow(&(&self.p - 2u32), &self.p)
    }
    /// Euler's criterion (0 counts as a square).
    fn is_square(&self, a: &BigUint) -> bool {
        let a = self.m(a);
        a.is_zero() || a.modpow(&((&self.p - 1u32) >> 1), &self.p).is_one()
    }
    /// A square root, for p = 3 mod 4: a^((p+1)/4), checked.
    fn sqrt(&self, a: &BigUint) -> Option<BigUint> {
        assert_eq!(&self.p % 4u32, BigUint::from(3u32));
        let r = a.modpow(&((&self.p + 1u32) >> 2), &self.p);
        (self.mul_f(&r, &r) == self.m(a)).then_some(r)
    }
    /// x^3 - 3x + b.
    fn rhs(&self, x: &BigUint) -> BigUint {
        let x3 = self.mul_f(&self.mul_f(x, x), x);
        self.add_f(
            &self.sub_f(&x3, &self.mul_f(&BigUint::from(3u32), x)),
            &self.b,
        )
    }
    fn on_curve(&self, x: &BigUint, y: &BigUint) -> bool {
        self.mul_f(y, y) == self.rhs(x)
    }
    fn neg(&self, p: &Pt) -> Pt {
        p.as_ref()
            .map(|(x, y)| (x.clone(), self.sub_f(&BigUint::zero(), y)))
    }
    /// Affine addition (chord and tangent), with the point at infinity as `None`.
    fn add(&self, a: &Pt, b: &Pt) -> Pt {
        let (Some((x1, y1)), Some((x2, y2))) = (a, b) else {
            return a.clone().or_else(|| b.clone());
        };
        let lambda = if x1 == x2 {
            if self.add_f(y1, y2).is_zero() {
                return None;
            }
            // (3x^2 - 3) / 2y
            let num = self.sub_f(
                &self.mul_f(&BigUint::from(3u32), &self.mul_f(x1, x1)),
                &3u32.into(),
            );
            self.mul_f(&num, &self.inv(&self.add_f(y1, y1)))
        } else {
            self.mul_f(&self.sub_f(y2, y1), &self.inv(&self.sub_f(x2, x1)))
        };
        let x3 = self.sub_f(&self.sub_f(&self.mul_f(&lambda, &lambda), x1), x2);
        let y3 = self.sub_f(&self.mul_f(&lambda, &self.sub_f(x1, &x3)), y1);
        Some((x3, y3))
    }
    /// `0x04 || x || y` (coordinates need not be reduced: used for out-of-range encodings).
    fn enc(&self, x: &BigUint, y: &BigUint) -> Vec<u8> {
        cat(&[&[0x04], &be(x, self.len), &be(y, self.len)])
    }
    fn enc_pt(&self, p: &Pt) -> Vec<u8> {
        let (x, y) = p.as_ref().expect("not the point at infinity");
        assert!(self.on_curve(x, y));
        self.enc(x, y)
    }
}

/// The SAKKE curve E: y^2 = x^3 - 3x over F_p (RFC 6509 Appendix A), with the points the
/// decoders must refuse, each derived and checked here.
struct SakkeCurve {
    e: Curve,
    g: Pt,
    /// (0, 0): the only point of order 2 (see [`sakke_curve`]).
    t2: Pt,
    /// The two points of order 4, [2]T4 = (0, 0).
    t4: [Pt; 2],
}

fn sakke_curve() -> SakkeCurve {
    let e = Curve {
        p: big(P_HEX),
        b: BigUint::zero(),
        len: 128,
    };
    let q = big(Q_HEX);
    // #E(F_p) = p + 1 = 4q (supersingular, RFC 6508 s2.1) with q an odd prime: the cofactor 4
    // is the whole small-order part.
    assert_eq!(&q * 4u32, &e.p + 1u32);
    assert_eq!(&q % 2u32, BigUint::one());
    let g: Pt = Some((big(PX_HEX), big(PY_HEX)));
    let (gx, gy) = g.clone().unwrap();
    assert!(e.on_curve(&gx, &gy));

    // Order 2: y = 0, so x^3 - 3x = x(x^2 - 3) = 0. (0, 0) always; (+-sqrt 3, 0) only if 3 is a
    // square mod p. It is not, so (0, 0) is the only point of order 2 over F_p, the 4-part of E
    // is cyclic, and points of order 4 exist.
    assert!(
        !e.is_square(&BigUint::from(3u32)),
        "3 is a square mod p: add the points (+-sqrt 3, 0) of order 2 to the corpus"
    );
    let zero = BigUint::zero();
    let t2: Pt = Some((zero.clone(), zero.clone()));
    assert!(e.add(&t2, &t2).is_none(), "[2](0, 0) = O");

    // Order 4: [2]Q = (0, 0). The tangent at Q must pass through -(0, 0) = (0, 0), which gives
    // x(Q)^2 = -3. p = 3 mod 4 makes -1 a non-square, so -3 = (-1) * 3 is a square; of the two
    // roots +-x exactly one has x^3 - 3x = x(x^2 - 3) = -6x a square (again because -1 is not).
    assert_eq!(&e.p % 4u32, BigUint::from(3u32));
    let minus3 = e.sub_f(&zero, &BigUint::from(3u32));
    let x0 = e.sqrt(&minus3).expect("-3 is a square mod p");
    let candidates: Vec<BigUint> = [x0.clone(), e.sub_f(&zero, &x0)]
        .into_iter()
        .filter(|x| e.is_square(&e.rhs(x)))
        .collect();
    assert_eq!(candidates.len(), 1, "exactly one x of order-4 points");
    let x4 = candidates[0].clone();
    let y4 = e.sqrt(&e.rhs(&x4)).unwrap();
    let t4a: Pt = Some((x4.clone(), y4.clone()));
    let t4b = e.neg(&t4a);
    for t in [&t4a, &t4b] {
        assert_eq!(e.add(t, t), t2, "[2]T4 = (0, 0)");
        assert!(e.add(&e.add(t, t), &e.add(t, t)).is_none(), "[4]T4 = O");
    }
    SakkeCurve {
        e,
        g,
        t2,
        t4: [t4a, t4b],
    }
}

/// The RFC 6508 Appendix A values (KMS public key Z, the receiver's RSK, Encapsulated Data).
fn rfc6508() -> std::collections::HashMap<String, Vec<u8>> {
    parse(RFC6508)
}

// ----------------------------------------------------------------------------------------------
// SAKKE points: AffinePoint::from_bytes / from_bytes_ct, KmsPublicKey, ReceiverSecretKey

/// Every malformed 257-octet point encoding, with the error of the full decoders (length,
/// prefix, range, curve, identity, subgroup), followed by valid controls.
fn sakke_point_cases() -> Vec<Case<Vec<u8>, PointError>> {
    let c = sakke_curve();
    let e = &c.e;
    let g = e.enc_pt(&c.g);
    let (gx, gy) = c.g.clone().unwrap();
    let p = &e.p;
    let len = |got| PointError::WrongLength { expected: 257, got };
    let mut cases = vec![
        case("empty", vec![], Want::err(len(0))),
        case(
            "G truncated by one octet",
            g[..256].to_vec(),
            Want::err(len(256)),
        ),
        case(
            "G over-long by one octet",
            cat(&[&g, &[0]]),
            Want::err(len(258)),
        ),
        case(
            "the 1-octet SEC1 identity 0x00",
            vec![0x00],
            Want::err(len(1)),
        ),
        case(
            "x only (129 octets)",
            g[..129].to_vec(),
            Want::err(len(129)),
        ),
        case(
            "compressed form 0x02 || x",
            cat(&[&[0x02], &g[1..129]]),
            Want::err(len(129)),
        ),
        case(
            "the identity as encoded by to_bytes (257 zero octets)",
            AffinePoint::identity().to_bytes().to_vec(),
            Want::err(PointError::Identity),
        ),
        case(
            "prefix 0x00 on G's coordinates",
            with_octet(&g, 0, 0x00),
            Want::err(PointError::Identity),
        ),
    ];
    for prefix in [0x01u8, 0x02, 0x03, 0x05, 0x06, 0x07, 0xff] {
        cases.push(case(
            format!("prefix 0x{prefix:02x} on G"),
            with_octet(&g, 0, prefix),
            Want::err(PointError::BadPrefix(prefix)),
        ));
    }
    let range = || Want::err(PointError::CoordinateOutOfRange);
    let all_ff = BigUint::from_bytes_be(&[0xff; 128]);
    cases.extend([
        case("x = p", e.enc(p, &gy), range()),
        case("x = p + 1", e.enc(&(p + 1u32), &gy), range()),
        case("y = p", e.enc(&gx, p), range()),
        case("y = p + 1", e.enc(&gx, &(p + 1u32)), range()),
        case("x = y = 2^1024 - 1", e.enc(&all_ff, &all_ff), range()),
        // (Gx + p, Gy) is G with a non-canonical x: equal mod p, still refused.
        case(
            "x = Gx + p (G, non-canonical)",
            e.enc(&(&gx + p), &gy),
            range(),
        ),
        case(
            "y = Gy + p (G, non-canonical)",
            e.enc(&gx, &(&gy + p)),
            range(),
        ),
    ]);
    let off = || Want::err(PointError::NotOnCurve);
    let one = BigUint::one();
    assert!(!e.on_curve(&gx, &e.add_f(&gy, &one)));
    cases.extend([
        case(
            "(Gx, Gy + 1): off the curve",
            e.enc(&gx, &e.add_f(&gy, &one)),
            off(),
        ),
        case("(1, 1): off the curve", e.enc(&one, &one), off()),
        case(
            "(0, 1): off the curve",
            e.enc(&BigUint::zero(), &one),
            off(),
        ),
        case(
            "(p - 1, 0): off the curve",
            e.enc(&(p - 1u32), &BigUint::zero()),
            off(),
        ),
    ]);
    let sub = || Want::err(PointError::NotInSubgroup);
    let g_t2 = e.add(&c.g, &c.t2);
    let g_t4 = e.add(&c.g, &c.t4[0]);
    cases.extend([
        case("(0, 0), the point of order 2", e.enc_pt(&c.t2), sub()),
        case("T4, a point of order 4", e.enc_pt(&c.t4[0]), sub()),
        case("-T4, the other point of order 4", e.enc_pt(&c.t4[1]), sub()),
        // [q](G + T) = [q]T = T != O since q is odd: order 2q and 4q.
        case("G + (0, 0): on the curve, order 2q", e.enc_pt(&g_t2), sub()),
        case("G + T4: on the curve, order 4q", e.enc_pt(&g_t4), sub()),
        case(
            "-G + T4: on the curve, order 4q",
            e.enc_pt(&e.add(&e.neg(&c.g), &c.t4[1])),
            sub(),
        ),
    ]);
    // Controls: valid points of the order-q subgroup are accepted.
    let v = rfc6508();
    cases.extend([
        case("control: G", g.clone(), accepted()),
        case("control: -G", e.enc_pt(&e.neg(&c.g)), accepted()),
        case("control: RFC 6508 Z", get(&v, "Z").to_vec(), accepted()),
        case("control: RFC 6508 RSK", get(&v, "RSK").to_vec(), accepted()),
    ]);
    cases
}

#[test]
fn sakke_point_decoders() {
    let cases = sakke_point_cases();
    run("AffinePoint::from_bytes", &cases, |b| {
        AffinePoint::from_bytes(b)
    });
    run("AffinePoint::from_bytes_ct", &cases, |b| {
        AffinePoint::from_bytes_ct(b)
    });
    run("KmsPublicKey::from_bytes", &cases, |b| {
        KmsPublicKey::from_bytes(b)
    });
    run("ReceiverSecretKey::from_bytes", &cases, |b| {
        ReceiverSecretKey::from_bytes(b)
    });
}

#[test]
fn sakke_point_decoder_without_subgroup_check() {
    // The same corpus; the points outside the subgroup decode (by design: the caller checks
    // membership) and are then seen not to be torsion free. (0, 0) is refused even here.
    let c = sakke_curve();
    let e = &c.e;
    let mut cases: Vec<Case<Vec<u8>, PointError>> = sakke_point_cases()
        .into_iter()
        .filter(|k| !k.name.contains("order 4") && !k.name.contains("order 2q"))
        .collect();
    let outside = [
        e.enc_pt(&c.t4[0]),
        e.enc_pt(&c.t4[1]),
        e.enc_pt(&e.add(&c.g, &c.t2)),
        e.enc_pt(&e.add(&c.g, &c.t4[0])),
    ];
    for (i, b) in outside.iter().enumerate() {
        cases.push(case(
            format!("outside the subgroup #{i}: decodes, is not torsion free"),
            b.clone(),
            Want {
                desc: "Ok(point with is_torsion_free_vartime() == false)".into(),
                check: Box::new(|r| r.is_ok()),
            },
        ));
        let pt = AffinePoint::from_bytes_unchecked_subgroup(b).unwrap();
        assert!(!pt.is_torsion_free_vartime(), "#{i}");
        assert!(bool::from(pt.is_on_curve()), "#{i}");
    }
    run("AffinePoint::from_bytes_unchecked_subgroup", &cases, |b| {
        AffinePoint::from_bytes_unchecked_subgroup(b)
    });
    // The subgroup test itself agrees with the oracle: [q]G = O and G is torsion free.
    assert!(
        AffinePoint::from_bytes(&e.enc_pt(&c.g))
            .unwrap()
            .is_torsion_free_vartime()
    );
}

#[test]
fn sakke_encapsulated_data() {
    let v = rfc6508();
    let ed = get(&v, "ED").to_vec();
    assert_eq!(ed.len(), 273);
    let h = &ed[257..];
    let len = |got| PointError::WrongLength { expected: 273, got };
    let mut cases = vec![
        case("empty", vec![], Want::err(len(0))),
        // The 272-octet form (H without a leading zero octet) is accepted only by the MIKEY
        // receive path (see `receive_table`), never by the primitive decoder.
        case(
            "truncated by one octet (272)",
            ed[..272].to_vec(),
            Want::err(len(272)),
        ),
        case(
            "over-long by one octet (274)",
            cat(&[&ed, &[0]]),
            Want::err(len(274)),
        ),
        case("R alone (257)", ed[..257].to_vec(), Want::err(len(257))),
        case("control: RFC 6508 ED", ed.clone(), accepted()),
    ];
    // Every 257-octet bad point, followed by the RFC's H, gives that point's error.
    for c in sakke_point_cases() {
        if c.input.len() == 257 && !c.name.starts_with("control") {
            cases.push(case(format!("R = {}", c.name), cat(&[&c.input, h]), c.want));
        }
    }
    run("EncapsulatedData::from_bytes", &cases, |b| {
        EncapsulatedData::from_bytes(b)
    });
}

// ----------------------------------------------------------------------------------------------
// SAKKE scalars: MasterSecret, Ssv

#[test]
fn sakke_scalar_decoders() {
    let q = big(Q_HEX);
    let n = |x: &BigUint| be(x, 128);
    let oor = || Want::err(ScalarError::OutOfRange);
    let cases = vec![
        // No octets encode the integer 0 (OS2IP of the empty string), which is out of range.
        case("empty (the integer 0)", vec![], oor()),
        case("0", vec![0; 128], oor()),
        case("1", n(&BigUint::one()), oor()),
        case("q", n(&q), oor()),
        case("q + 1", n(&(&q + 1u32)), oor()),
        case("p", be(&big(P_HEX), 128), oor()),
        case("all-0xFF (2^1024 - 1)", vec![0xff; 128], oor()),
        case(
            "129 octets, leading octet non-zero",
            cat(&[&[1], &[0; 128]]),
            Want::err(ScalarError::WrongLength {
                expected: 128,
                got: 129,
            }),
        ),
        case(
            "4096 octets, leading octet non-zero",
            cat(&[&[0x80], &[0; 4095]]),
            Want::err(ScalarError::WrongLength {
                expected: 128,
                got: 4096,
            }),
        ),
        // Controls: the range ends and the documented lenient forms.
        case(
            "control: 2, the smallest z",
            n(&BigUint::from(2u32)),
            accepted(),
        ),
        case("control: q - 1, the largest z", n(&(&q - 1u32)), accepted()),
        // q has 1022 bits, so 2^256 - 1 is an ordinary master secret.
        case("control: 2^256 - 1 (32 x 0xFF)", vec![0xff; 32], accepted()),
        case(
            "control: 129 octets with a leading zero octet",
            cat(&[&[0], &n(&BigUint::from(7u32))]),
            accepted(),
        ),
        case(
            "control: RFC 6508 z (20 octets)",
            get(&rfc6508(), "z").to_vec(),
            accepted(),
        ),
    ];
    run("MasterSecret::from_bytes", &cases, |b| {
        MasterSecret::from_bytes(b)
    });
    // A short encoding is the same integer as its left-padded form.
    let short = MasterSecret::from_bytes(&[0xff; 32]).unwrap();
    assert_eq!(short.to_bytes().to_vec(), cat(&[&[0; 96], &[0xff; 32]]));

    let len = |got| ScalarError::WrongLength { expected: 16, got };
    let ssv = get(&rfc6508(), "SSV").to_vec();
    let cases = vec![
        case("empty", vec![], Want::err(len(0))),
        case(
            "truncated by one octet",
            ssv[..15].to_vec(),
            Want::err(len(15)),
        ),
        case(
            "over-long by one octet",
            cat(&[&ssv, &[0]]),
            Want::err(len(17)),
        ),
        case(
            "32 octets",
            [ssv.clone(), ssv.clone()].concat(),
            Want::err(len(32)),
        ),
        case("control: RFC 6508 SSV", ssv.clone(), accepted()),
        case("control: 16 zero octets", vec![0; 16], accepted()),
    ];
    run("Ssv::from_slice", &cases, |b| Ssv::from_slice(b));
    // The message says what is wrong in both directions (an SSV has exactly 16 octets).
    assert_eq!(
        Ssv::from_slice(&ssv[..15]).unwrap_err().to_string(),
        "value must be 16 octets, got 15"
    );
    assert_eq!(
        Ssv::from_slice(&cat(&[&ssv, &[0]]))
            .unwrap_err()
            .to_string(),
        "value must be at most 16 octets, got 17"
    );
}

// ----------------------------------------------------------------------------------------------
// ECCSI (P-256): Kpak, Pvt, Ksak, Ssk, hazmat::Nonce, Signature

fn p256() -> (Curve, BigUint, Pt) {
    let v = parse(RFC6507);
    let e = Curve {
        p: BigUint::from_bytes_be(get(&v, "p")),
        b: BigUint::from_bytes_be(get(&v, "B")),
        len: 32,
    };
    let q = BigUint::from_bytes_be(get(&v, "q"));
    let g = get(&v, "G");
    let g: Pt = Some((
        BigUint::from_bytes_be(&g[1..33]),
        BigUint::from_bytes_be(&g[33..]),
    ));
    let (gx, gy) = g.clone().unwrap();
    assert!(e.on_curve(&gx, &gy));
    (e, q, g)
}

/// Bad 65-octet P-256 point encodings for the decoder of `what` ("KPAK" or "PVT").
///
/// P-256 has prime order q (cofactor 1): there are no points of order 2 or 4 and no points
/// outside the group generated by G, so on-curve is the whole membership test.
fn eccsi_point_cases(what: &'static str) -> Vec<Case<Vec<u8>, DecodeError>> {
    let (e, _, g) = p256();
    let (gx, gy) = g.clone().unwrap();
    let p = &e.p;
    let genc = e.enc_pt(&g);
    let len = |actual| DecodeError::InvalidLength {
        what,
        expected: 65,
        actual,
    };
    let tag = |tag| DecodeError::InvalidPointTag { what, tag };
    let range = || Want::err(DecodeError::CoordinateOutOfRange { what });
    let off = || Want::err(DecodeError::NotOnCurve { what });
    let all_ff = BigUint::from_bytes_be(&[0xff; 32]);
    let one = BigUint::one();
    let zero = BigUint::zero();
    let mut cases = vec![
        case("empty", vec![], Want::err(len(0))),
        case(
            "G truncated by one octet",
            genc[..64].to_vec(),
            Want::err(len(64)),
        ),
        case(
            "G over-long by one octet",
            cat(&[&genc, &[0]]),
            Want::err(len(66)),
        ),
        case("the 1-octet SEC1 identity 0x00", vec![0], Want::err(len(1))),
        case(
            "compressed form 0x02 || x",
            cat(&[&[0x02], &genc[1..33]]),
            Want::err(len(33)),
        ),
        case("identity as 65 zero octets", vec![0; 65], Want::err(tag(0))),
    ];
    for t in [0x00u8, 0x02, 0x03, 0x05, 0x06, 0x07, 0xff] {
        cases.push(case(
            format!("prefix 0x{t:02x} on G"),
            with_octet(&genc, 0, t),
            Want::err(tag(t)),
        ));
    }
    cases.extend([
        case("x = p", e.enc(p, &gy), range()),
        case("x = p + 1", e.enc(&(p + 1u32), &gy), range()),
        case("y = p", e.enc(&gx, p), range()),
        case("y = p + 1", e.enc(&gx, &(p + 1u32)), range()),
        case("x = y = 2^256 - 1", e.enc(&all_ff, &all_ff), range()),
        case("(0, 0): off the curve (B != 0)", e.enc(&zero, &zero), off()),
        case(
            "(Gx, Gy + 1): off the curve",
            e.enc(&gx, &e.add_f(&gy, &one)),
            off(),
        ),
        case("(1, 1): off the curve", e.enc(&one, &one), off()),
        case("control: G", genc.clone(), accepted()),
        case("control: -G", e.enc_pt(&e.neg(&g)), accepted()),
        case("control: [2]G", e.enc_pt(&e.add(&g, &g)), accepted()),
    ]);
    cases
}

#[test]
fn eccsi_point_decoders() {
    run("Kpak::from_bytes", &eccsi_point_cases("KPAK"), |b| {
        Kpak::from_bytes(b)
    });
    run("Pvt::from_bytes", &eccsi_point_cases("PVT"), |b| {
        Pvt::from_bytes(b)
    });
}

/// Bad secret scalars (KSAK, SSK, v/j): integers that must lie in [1, q-1].
fn eccsi_scalar_cases(what: &'static str) -> Vec<Case<Vec<u8>, DecodeError>> {
    let (_, q, _) = p256();
    let n = |x: &BigUint| be(x, 32);
    let oor = || Want::err(DecodeError::OutOfRange { what });
    let zero = || Want::err(DecodeError::Zero { what });
    vec![
        case("empty", vec![], Want::err(DecodeError::Empty { what })),
        case("0 (32 octets)", vec![0; 32], zero()),
        case("0 (1 octet)", vec![0], zero()),
        case("0 (33 octets)", vec![0; 33], zero()),
        case("q", n(&q), oor()),
        case("q + 1", n(&(&q + 1u32)), oor()),
        case("2^256 - 1 (all-0xFF)", vec![0xff; 32], oor()),
        case(
            "over-long by one non-zero octet: 2^256",
            cat(&[&[1], &[0; 32]]),
            oor(),
        ),
        case(
            "over-long by one non-zero octet: 2^256 + 1",
            cat(&[&[1], &[0; 31], &[1]]),
            oor(),
        ),
        case("control: 1", vec![1], accepted()),
        case("control: q - 1", n(&(&q - 1u32)), accepted()),
        // Documented leniency: extra leading zero octets (a deployed KMS sends 34-octet SSKs).
        case(
            "control: q - 1 with two leading zero octets",
            cat(&[&[0, 0], &n(&(&q - 1u32))]),
            accepted(),
        ),
        case(
            "control: truncated form 0x012345",
            vec![1, 0x23, 0x45],
            accepted(),
        ),
    ]
}

#[test]
fn eccsi_scalar_decoders() {
    run("Ksak::from_bytes", &eccsi_scalar_cases("KSAK"), |b| {
        Ksak::from_bytes(b)
    });
    run("Ssk::from_bytes", &eccsi_scalar_cases("SSK"), |b| {
        Ssk::from_bytes(b)
    });
    run(
        "hazmat::Nonce::from_bytes",
        &eccsi_scalar_cases("nonce"),
        |b| eccsi::hazmat::Nonce::from_bytes(b),
    );
}

#[test]
fn eccsi_signature_decoder() {
    let v = parse(RFC6507);
    let sig = get(&v, "SIG").to_vec();
    assert_eq!(sig.len(), 129);
    let (_, q, _) = p256();
    let (r, s, pvt) = (&sig[..32], &sig[32..64], &sig[64..]);
    let with_s = |s: &[u8]| cat(&[r, s, pvt]);
    let with_pvt = |p: &[u8]| cat(&[r, s, p]);
    let len = |actual| DecodeError::InvalidLength {
        what: "signature",
        expected: 129,
        actual,
    };
    let s_oor = || Want::err(DecodeError::OutOfRange { what: "s" });
    let mut cases = vec![
        case("empty", vec![], Want::err(len(0))),
        case(
            "truncated by one octet",
            sig[..128].to_vec(),
            Want::err(len(128)),
        ),
        case(
            "over-long by one octet",
            cat(&[&sig, &[0]]),
            Want::err(len(130)),
        ),
        case("r || s only", sig[..64].to_vec(), Want::err(len(64))),
        case(
            "r = 0",
            cat(&[&[0; 32], s, pvt]),
            Want::err(DecodeError::Zero { what: "r" }),
        ),
        case(
            "s = 0",
            with_s(&[0; 32]),
            Want::err(DecodeError::Zero { what: "s" }),
        ),
        case("s = q", with_s(&be(&q, 32)), s_oor()),
        case("s = q + 1", with_s(&be(&(&q + 1u32), 32)), s_oor()),
        case("s = 2^256 - 1 (all-0xFF)", with_s(&[0xff; 32]), s_oor()),
        case("control: RFC 6507 SIG", sig.clone(), accepted()),
    ];
    // Every bad PVT inside a signature gives the PVT decoder's error (65-octet ones only: the
    // signature length fixes the PVT length).
    for c in eccsi_point_cases("PVT") {
        if c.input.len() == 65 && !c.name.starts_with("control") {
            cases.push(case(
                format!("PVT = {}", c.name),
                with_pvt(&c.input),
                c.want,
            ));
        }
    }
    run("Signature::from_bytes", &cases, |b| {
        Signature::from_bytes(b)
    });
    run("Signature::try_from", &cases, |b| {
        Signature::try_from(b.as_slice())
    });
    // r is the x-coordinate of J taken as a 32-octet integer, not reduced (RFC 6507 s5.2.1
    // step 2): r = 2^256 - 1 decodes, and verification (not decoding) rejects it.
    let odd = Signature::from_bytes(&cat(&[&[0xff; 32], s, pvt])).unwrap();
    let vk = eccsi::VerifyingKey::new(&Kpak::from_bytes(get(&v, "KPAK")).unwrap(), get(&v, "ID"));
    assert!(signature::Verifier::verify(&vk, get(&v, "M"), &odd).is_err());
    let good = Signature::from_bytes(&sig).unwrap();
    assert!(signature::Verifier::verify(&vk, get(&v, "M"), &good).is_ok());
}

// ----------------------------------------------------------------------------------------------
// MIKEY: mikey::parse

fn b64(name: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(common::text_value(MCX, name))
        .unwrap()
}

/// The published GMK I_MESSAGE and the (start, type) of each payload; HDR is [0, first start).
fn gmk_message() -> (Vec<u8>, Vec<(usize, PayloadType)>) {
    let msg = b64("gmk_I_MESSAGE_b64");
    let parsed = mikey::parse(&msg).unwrap();
    let layout = parsed
        .payloads_with_offsets()
        .map(|(at, p)| (at, p.payload_type()))
        .collect();
    (msg, layout)
}

/// The context a parse of `msg[..cut]` fails in: the payload whose first octet is the last
/// one at or before the cut (HDR before the first payload).
fn context_at(layout: &[(usize, PayloadType)], cut: usize) -> Context {
    layout
        .iter()
        .rev()
        .find(|(start, _)| *start <= cut)
        .map_or(Context::Hdr, |(_, t)| Context::Payload(*t))
}

fn is_cut(e: &ParseError, want: Context, cut: usize) -> bool {
    matches!(
        e.kind,
        ParseErrorKind::Truncated { .. } | ParseErrorKind::LengthExceedsInput { .. }
    ) && e.context == want
        && e.offset <= cut
}

#[test]
fn mikey_parse_table() {
    let (msg, layout) = gmk_message();
    let kinds: Vec<PayloadType> = layout.iter().map(|l| l.1).collect();
    // The published message has every payload type of an I_MESSAGE (RFC 6509 s2.1).
    for t in [
        PayloadType::T,
        PayloadType::RAND,
        PayloadType::IDR,
        PayloadType::SAKKE,
        PayloadType::GENERAL_EXTENSION,
        PayloadType::SIGN,
    ] {
        assert!(kinds.contains(&t), "{t:?} missing from {kinds:?}");
    }
    let starts: Vec<usize> = layout.iter().map(|l| l.0).collect();
    let end_of = |i: usize| starts.get(i + 1).copied().unwrap_or(msg.len());
    let hdr_len = starts[0];

    let mut cases: Vec<Case<Vec<u8>, ParseError>> = vec![
        case(
            "empty",
            vec![],
            err_matching!(ParseError {
                offset: 0,
                context: Context::Hdr,
                kind: ParseErrorKind::MissingHdr,
                ..
            }),
        ),
        case(
            "HDR: version octet only",
            vec![0x01],
            err_matching!(ParseError {
                offset: 1,
                context: Context::Hdr,
                kind: ParseErrorKind::Truncated {
                    field: "data type",
                    needed: 1,
                    available: 0
                },
                ..
            }),
        ),
        case(
            "HDR: version 0",
            with_octet(&msg, 0, 0),
            err_matching!(ParseError {
                offset: 0,
                kind: ParseErrorKind::BadVersion(0),
                ..
            }),
        ),
        case(
            "HDR: version 2",
            with_octet(&msg, 0, 2),
            err_matching!(ParseError {
                offset: 0,
                kind: ParseErrorKind::BadVersion(2),
                ..
            }),
        ),
        case(
            "HDR: unknown next payload 200",
            with_octet(&msg, 2, 200),
            err_matching!(ParseError {
                offset: 2,
                context: Context::Hdr,
                kind: ParseErrorKind::UnknownPayloadType(200),
                ..
            }),
        ),
        case(
            "HDR: next payload 2 (PKE), defined but not decoded",
            with_octet(&msg, 2, 2),
            err_matching!(ParseError {
                offset: 2,
                kind: ParseErrorKind::UnsupportedPayloadType(2),
                ..
            }),
        ),
        case(
            "HDR: unknown CS ID map type 9",
            with_octet(&msg, 9, 9),
            err_matching!(ParseError {
                offset: 9,
                context: Context::Hdr,
                kind: ParseErrorKind::InvalidField {
                    field: "CS ID map type",
                    value: 9
                },
                ..
            }),
        ),
        case(
            "trailing garbage: one zero octet",
            cat(&[&msg, &[0]]),
            err_matching!(ParseError {
                kind: ParseErrorKind::TrailingData { length: 1 },
                context: Context::Payload(PayloadType::SIGN),
                ..
            }),
        ),
        case(
            "trailing garbage: 64 octets",
            cat(&[&msg, &[0xab; 64]]),
            err_matching!(ParseError {
                kind: ParseErrorKind::TrailingData { length: 64 },
                ..
            }),
        ),
        case(
            "a second message appended",
            cat(&[&msg, &msg]),
            err_matching!(ParseError {
                kind: ParseErrorKind::TrailingData { .. },
                ..
            }),
        ),
    ];
    // The trailing-data offset is the first extra octet.
    let trail = mikey::parse(&cat(&[&msg, &[0]])).unwrap_err();
    assert_eq!(trail.offset, msg.len());
    // HDR cut at every octet.
    for cut in 1..hdr_len {
        cases.push(case(
            format!("HDR cut to {cut} octets"),
            msg[..cut].to_vec(),
            Want {
                desc: "Err(truncated in HDR)".into(),
                check: Box::new(move |r| matches!(r, Err(e) if is_cut(e, Context::Hdr, cut))),
            },
        ));
    }
    for (i, &(start, t)) in layout.iter().enumerate() {
        let end = end_of(i);
        let ctx = Context::Payload(t);
        // Cut after the payload's first octet, and one octet before its end.
        for (what, cut) in [
            ("after its first octet", start + 1),
            ("by one octet", end - 1),
        ] {
            cases.push(case(
                format!("payload #{i} ({t:?}) truncated {what}"),
                msg[..cut].to_vec(),
                Want {
                    desc: format!("Err(Truncated | LengthExceedsInput in {ctx:?})"),
                    check: Box::new(move |r| matches!(r, Err(e) if is_cut(e, ctx, cut))),
                },
            ));
        }
        // A payload's next-payload octet naming an unknown type (SIGN has none).
        if t != PayloadType::SIGN {
            cases.push(case(
                format!("payload #{i} ({t:?}): next payload 0xFE"),
                with_octet(&msg, start, 0xfe),
                Want {
                    desc: "Err(UnknownPayloadType(254))".into(),
                    check: Box::new(move |r| {
                        matches!(r, Err(ParseError {
                            offset,
                            context,
                            kind: ParseErrorKind::UnknownPayloadType(0xfe),
                            ..
                        }) if *offset == start && *context == ctx)
                    }),
                },
            ));
        }
        // Length fields claiming more than is left: 0xFFFF for the 2-octet ones, 0xFF for
        // RAND's 1-octet one, 0xFFF for SIGN's 12-bit one.
        let (at, bytes, field, length): (usize, Vec<u8>, &'static str, usize) = match t {
            PayloadType::IDR => (start + 3, vec![0xff, 0xff], "ID data", 0xffff),
            PayloadType::SAKKE => (start + 3, vec![0xff, 0xff], "SAKKE data", 0xffff),
            PayloadType::GENERAL_EXTENSION => (
                start + 2,
                vec![0xff, 0xff],
                "General Extension data",
                0xffff,
            ),
            PayloadType::SIGN => (start, vec![msg[start] | 0x0f, 0xff], "Signature", 0xfff),
            _ => continue,
        };
        let mut t_msg = msg.clone();
        t_msg[at..at + bytes.len()].copy_from_slice(&bytes);
        let available = msg.len() - at - bytes.len();
        cases.push(case(
            format!("payload #{i} ({t:?}): length field claims {length:#x} octets"),
            t_msg,
            Want {
                desc: format!("Err(LengthExceedsInput {{ {field}, {length}, {available} }})"),
                check: Box::new(move |r| {
                    matches!(r, Err(ParseError {
                        offset,
                        context,
                        kind: ParseErrorKind::LengthExceedsInput { field: f, length: l, available: a },
                        ..
                    }) if *offset == at && *context == ctx && *f == field && *l == length && *a == available)
                }),
            },
        ));
    }
    // RAND's 1-octet length cannot exceed the rest of a whole message; cut the message 10
    // octets into the RAND value and claim 0xFF.
    let rand_at = layout.iter().find(|l| l.1 == PayloadType::RAND).unwrap().0;
    let mut rand_cut = msg[..rand_at + 2 + 10].to_vec();
    rand_cut[rand_at + 1] = 0xff;
    cases.push(case(
        "RAND: length 0xFF, 10 octets left",
        rand_cut,
        err_matching!(ParseError {
            offset,
            context: Context::Payload(PayloadType::RAND),
            kind: ParseErrorKind::LengthExceedsInput {
                field: "RAND",
                length: 255,
                available: 10
            },
            ..
        } if *offset == rand_at + 1),
    ));
    // The T payload with an unknown TS type.
    let t_at = layout.iter().find(|l| l.1 == PayloadType::T).unwrap().0;
    cases.push(case(
        "T: TS type 9",
        with_octet(&msg, t_at + 1, 9),
        err_matching!(ParseError {
            kind: ParseErrorKind::InvalidField {
                field: "TS type",
                value: 9
            },
            context: Context::Payload(PayloadType::T),
            ..
        }),
    ));
    cases.push(case(
        "control: the published message",
        msg.clone(),
        accepted(),
    ));
    run("mikey::parse", &cases, |b| mikey::parse(b).map(|_| ()));

    // Every prefix of the message, not only the ones above: a truncation error in the
    // payload where the cut falls, never a panic, never an accepted message.
    for cut in 1..msg.len() {
        let e = mikey::parse(&msg[..cut]).unwrap_err();
        let want = context_at(&layout, cut);
        assert!(
            is_cut(&e, want, cut),
            "cut {cut}: {e:?}, want a truncation in {want:?}"
        );
    }
    // A Sakke payload standing alone (the SAKKE-to-self extension), cut and over-long.
    let sakke_at = layout.iter().find(|l| l.1 == PayloadType::SAKKE).unwrap().0;
    let sakke_end = end_of(
        layout
            .iter()
            .position(|l| l.1 == PayloadType::SAKKE)
            .unwrap(),
    );
    let alone = msg[sakke_at..sakke_end].to_vec();
    let standalone = vec![
        case(
            "empty",
            vec![],
            err_matching!(ParseError {
                offset: 0,
                kind: ParseErrorKind::Truncated { .. },
                ..
            }),
        ),
        case(
            "truncated by one octet",
            alone[..alone.len() - 1].to_vec(),
            err_matching!(ParseError {
                offset: 3,
                kind: ParseErrorKind::LengthExceedsInput {
                    field: "SAKKE data",
                    ..
                },
                ..
            }),
        ),
        case(
            "over-long by one octet",
            cat(&[&alone, &[0]]),
            err_matching!(ParseError {
                kind: ParseErrorKind::TrailingData { length: 1 },
                ..
            }),
        ),
        case("control", alone.clone(), accepted()),
    ];
    run("mikey::Sakke::parse_standalone", &standalone, |b| {
        mikey::Sakke::parse_standalone(b).map(|_| ())
    });
}

#[test]
fn mikey_kemac_and_key_data() {
    // KEMAC with NULL encryption carries Key data sub-payloads in clear (RFC 3830 s6.2, s6.13).
    let list = [
        KeyData {
            key_type: KeyDataType::TGK,
            key: &[0x11; 16],
            salt: None,
            validity: KeyValidity::Spi(&[1, 2, 3, 4]),
        },
        KeyData {
            key_type: KeyDataType::TEK_SALT,
            key: &[0x22; 16],
            salt: Some(&[0x33; 14]),
            validity: KeyValidity::Interval {
                from: &[0, 1],
                to: &[0, 2],
            },
        },
    ];
    let kd = KeyData::encode_list(&list).unwrap();
    // Layout of the first entry: next (1) | Type/KV (1) | Key data len (2) | key (16) |
    // SPI len (1) | SPI (4); the second starts at 25.
    let second = 25;
    assert_eq!(kd[second - 1 - 4], 4, "SPI len where expected");
    let kd_err = |offset: usize, kind: ParseErrorKind| Want {
        desc: format!("Err(KeyData at {offset}: {kind:?})"),
        check: Box::new(
            move |r: &Result<(), ParseError>| matches!(r, Err(e) if e.offset == offset && e.context == Context::KeyData && e.kind == kind),
        ),
    };
    let cases = vec![
        case("control: empty list", vec![], accepted()),
        case("control: two entries", kd.clone(), accepted()),
        case(
            "next payload octet only",
            kd[..1].to_vec(),
            kd_err(
                1,
                ParseErrorKind::Truncated {
                    field: "Type / KV",
                    needed: 1,
                    available: 0,
                },
            ),
        ),
        case(
            "truncated by one octet",
            kd[..kd.len() - 1].to_vec(),
            kd_err(
                kd.len() - 3,
                ParseErrorKind::LengthExceedsInput {
                    field: "Valid To",
                    length: 2,
                    available: 1,
                },
            ),
        ),
        case(
            "Key data len claims 0xFFFF octets",
            cat(&[&kd[..2], &[0xff, 0xff], &kd[4..]]),
            kd_err(
                2,
                ParseErrorKind::LengthExceedsInput {
                    field: "Key data",
                    length: 0xffff,
                    available: kd.len() - 4,
                },
            ),
        ),
        case(
            "unknown key type 15",
            with_octet(&kd, 1, 0xf0 | (kd[1] & 0x0f)),
            kd_err(
                1,
                ParseErrorKind::InvalidField {
                    field: "Key data Type",
                    value: 15,
                },
            ),
        ),
        case(
            "unknown KV 3",
            with_octet(&kd, 1, (kd[1] & 0xf0) | 3),
            kd_err(
                1,
                ParseErrorKind::InvalidField {
                    field: "Key data KV",
                    value: 3,
                },
            ),
        ),
        case(
            "next payload 5 (T) inside KEMAC",
            with_octet(&kd, 0, 5),
            kd_err(
                0,
                ParseErrorKind::InvalidField {
                    field: "Key data next payload",
                    value: 5,
                },
            ),
        ),
        case(
            "last entry says another follows",
            with_octet(&kd, second, 20),
            kd_err(
                kd.len(),
                ParseErrorKind::Truncated {
                    field: "next payload",
                    needed: 1,
                    available: 0,
                },
            ),
        ),
        case(
            "trailing garbage",
            cat(&[&kd, &[0]]),
            kd_err(kd.len(), ParseErrorKind::TrailingData { length: 1 }),
        ),
    ];
    run("KeyData::parse_list", &cases, |b| {
        KeyData::parse_list(b).map(|_| ())
    });

    // The KEMAC payload in a message: HDR of the published message, then KEMAC (last).
    let (msg, layout) = gmk_message();
    let (hdr, _) = mikey::parse(&msg).unwrap().into_parts();
    let with_kemac = mikey::Message::new(
        hdr,
        vec![Payload::Kemac(Kemac {
            encr_alg: EncrAlg::NULL,
            encr_data: &kd,
            mac_alg: MacAlg::HMAC_SHA_256_256,
            mac: &[0x44; 32],
        })],
    )
    .unwrap()
    .encode();
    let at = layout[0].0;
    let ctx = Context::Payload(PayloadType::KEMAC);
    let mac_alg_at = at + 4 + kd.len();
    let k_err = move |offset: usize, kind: ParseErrorKind| Want {
        desc: format!("Err(KEMAC at {offset}: {kind:?})"),
        check: Box::new(
            move |r: &Result<(), ParseError>| matches!(r, Err(e) if e.offset == offset && e.context == ctx && e.kind == kind),
        ),
    };
    let cases = vec![
        case("control", with_kemac.clone(), accepted()),
        case(
            "MAC truncated by one octet",
            with_kemac[..with_kemac.len() - 1].to_vec(),
            k_err(
                mac_alg_at + 1,
                ParseErrorKind::Truncated {
                    field: "MAC",
                    needed: 32,
                    available: 31,
                },
            ),
        ),
        case(
            "Encr data len claims 0xFFFF octets",
            cat(&[&with_kemac[..at + 2], &[0xff, 0xff], &with_kemac[at + 4..]]),
            k_err(
                at + 2,
                ParseErrorKind::LengthExceedsInput {
                    field: "Encr data",
                    length: 0xffff,
                    available: with_kemac.len() - at - 4,
                },
            ),
        ),
        case(
            "unknown MAC alg 9",
            with_octet(&with_kemac, mac_alg_at, 9),
            k_err(
                mac_alg_at,
                ParseErrorKind::InvalidField {
                    field: "MAC alg",
                    value: 9,
                },
            ),
        ),
        case(
            "trailing garbage",
            cat(&[&with_kemac, &[0]]),
            k_err(with_kemac.len(), ParseErrorKind::TrailingData { length: 1 }),
        ),
    ];
    run("mikey::parse (KEMAC)", &cases, |b| {
        mikey::parse(b).map(|_| ())
    });
}

#[test]
fn field_element_decoders() {
    // Math-level decoders (Option / CtOption): a value not below the modulus, or longer than
    // 128 octets, has no element.
    let p = big(P_HEX);
    let q = big(Q_HEX);
    let none = || Want::err("None");
    for (name, m) in [("Fp", &p), ("Fq", &q)] {
        let cases = vec![
            case("the modulus", be(m, 128), none()),
            case("the modulus + 1", be(&(m + 1u32), 128), none()),
            case("2^1024 - 1", vec![0xff; 128], none()),
            case(
                "129 octets",
                cat(&[&[0], &be(&BigUint::one(), 128)]),
                none(),
            ),
            case("control: modulus - 1", be(&(m - 1u32), 128), accepted()),
            case("control: empty (0)", vec![], accepted()),
            case("control: 1 octet", vec![7], accepted()),
        ];
        let dec = |b: &Vec<u8>| -> Result<(), &'static str> {
            let slice = if name == "Fp" {
                Fp::from_be_slice(b).map(|_| ())
            } else {
                Fq::from_be_slice(b).map(|_| ())
            };
            // from_bytes on exactly 128 octets must agree with from_be_slice.
            if let Ok(arr) = <[u8; 128]>::try_from(b.as_slice()) {
                let ct = if name == "Fp" {
                    bool::from(Fp::from_bytes(&arr).is_some())
                } else {
                    bool::from(Fq::from_bytes(&arr).is_some())
                };
                assert_eq!(ct, slice.is_some(), "{name}::from_bytes disagrees");
            }
            slice.ok_or("None")
        };
        run(&format!("{name}::from_be_slice / from_bytes"), &cases, dec);
    }
}

// ----------------------------------------------------------------------------------------------
// MCX key parameters (TS 33.180 E.6): KeyParameters::decode, parse_header, open

/// The protected key-parameters payload of the published GMK message, and the GMK.
fn published_key_params() -> (Vec<u8>, Vec<u8>) {
    let msg = b64("gmk_I_MESSAGE_b64");
    let parsed = mikey::parse(&msg).unwrap();
    let data = parsed
        .general_extensions()
        .find_map(|g| g.key_parameters())
        .unwrap()
        .to_vec();
    (data, get(&parse(MCX), "gmk_GMK").to_vec())
}

#[test]
fn key_parameters_tables() {
    let (data, gmk) = published_key_params();
    // Header fields: (offset, length), TS 33.180 E.6 as deployed.
    let fields = [
        (0usize, 1usize),
        (1, 5),
        (6, 4),
        (10, 1),
        (11, 1),
        (12, 16),
        (28, 4),
        (32, 1),
        (33, 2),
    ];
    let body_len = u16::from_be_bytes([data[33], data[34]]) as usize;
    assert_eq!(data.len(), 35 + body_len);
    let mut cases: Vec<Case<Vec<u8>, KeyParamsError>> = vec![
        case(
            "empty",
            vec![],
            Want::err(KeyParamsError::Truncated {
                offset: 0,
                needed: 1,
            }),
        ),
        case(
            "message type 0x42",
            with_octet(&data, 0, 0x42),
            Want::err(KeyParamsError::BadMessageType(0x42)),
        ),
        case(
            "message type 0x00",
            with_octet(&data, 0, 0),
            Want::err(KeyParamsError::BadMessageType(0)),
        ),
        case(
            "payload algorithm 2",
            with_octet(&data, 11, 2),
            Want::err(KeyParamsError::UnsupportedAlgorithm(2)),
        ),
        case(
            "payload algorithm 0",
            with_octet(&data, 11, 0),
            Want::err(KeyParamsError::UnsupportedAlgorithm(0)),
        ),
        case(
            "length field claims 0xFFFF octets",
            cat(&[&data[..33], &[0xff, 0xff], &data[35..]]),
            Want::err(KeyParamsError::Truncated {
                offset: 35,
                needed: 0xffff,
            }),
        ),
        case(
            "body truncated by one octet",
            data[..data.len() - 1].to_vec(),
            Want::err(KeyParamsError::Truncated {
                offset: 35,
                needed: body_len,
            }),
        ),
        case(
            "trailing garbage",
            cat(&[&data, &[0]]),
            Want::err(KeyParamsError::TrailingData { offset: data.len() }),
        ),
        case("control: the published payload", data.clone(), accepted()),
    ];
    for cut in 1..35 {
        let &(offset, needed) = fields
            .iter()
            .find(|(o, l)| *o <= cut && cut < o + l)
            .unwrap();
        cases.push(case(
            format!("header cut to {cut} octets"),
            data[..cut].to_vec(),
            Want::err(KeyParamsError::Truncated { offset, needed }),
        ));
    }
    run("key_params::parse_header", &cases, |b| {
        key_params::parse_header(b).map(|_| ())
    });

    // open: the header cases, plus authentication failures and a body shorter than the tag.
    let mut open_cases = cases;
    open_cases.retain(|c| !c.name.starts_with("control"));
    let mut short = data[..35].to_vec();
    short[33..35].copy_from_slice(&15u16.to_be_bytes());
    short.extend_from_slice(&[0; 15]);
    let dec = || Want::err(KeyParamsError::Decryption);
    open_cases.extend([
        case(
            "body shorter than the GCM tag",
            short,
            Want::err(KeyParamsError::Truncated {
                offset: 50,
                needed: 1,
            }),
        ),
        case(
            "a flipped ciphertext bit",
            {
                let mut d = data.clone();
                d[36] ^= 1;
                d
            },
            dec(),
        ),
        case(
            "a flipped tag bit",
            {
                let mut d = data.clone();
                *d.last_mut().unwrap() ^= 0x80;
                d
            },
            dec(),
        ),
        case(
            "a flipped date-time bit (AAD)",
            {
                let mut d = data.clone();
                d[1] ^= 1;
                d
            },
            dec(),
        ),
        case(
            "a flipped DPPK-ID bit (key and AAD)",
            {
                let mut d = data.clone();
                d[31] ^= 1;
                d
            },
            dec(),
        ),
        case("control: the published payload", data.clone(), accepted()),
    ]);
    run("key_params::open (right GMK)", &open_cases, |b| {
        key_params::open(&gmk, b)
    });
    let mut wrong = gmk.clone();
    wrong[0] ^= 1;
    run(
        "key_params::open (wrong GMK)",
        &[case("the published payload", data.clone(), dec())],
        |b| key_params::open(&wrong, b),
    );

    // KeyParameters::decode on plaintexts.
    let params = KeyParameters {
        key_type: 0,
        status: 1,
        activation_time: [1, 2, 3, 4, 5],
        expiry_time: [6, 7, 8, 9, 10],
        text: b"fire brigade".to_vec(),
        group_ids: Some(vec![
            GroupIdIe {
                iei: 1,
                value: b"sip:g1@example.org".to_vec(),
            },
            GroupIdIe {
                iei: 1,
                value: b"sip:g2@example.org".to_vec(),
            },
        ]),
    };
    let plain = params.encode().unwrap();
    let text_end = 17 + params.text.len();
    let groups_start = text_end + 2;
    // Offsets inside the group list: count at groups_start, first IE at groups_start + 1.
    let first_ie_len = groups_start + 1 + 1;
    let second_ie = groups_start + 1 + 3 + 18;
    let mut three = plain.clone();
    three[groups_start] = 3;
    let mut long_ie = plain.clone();
    long_ie[first_ie_len..first_ie_len + 2].copy_from_slice(&[0xff, 0xff]);
    let mut fewer = plain.clone();
    fewer[groups_start] = 1;
    let no_groups_len = plain[..text_end].to_vec();
    let cases = vec![
        case(
            "empty",
            vec![],
            Want::err(KeyParamsError::Truncated {
                offset: 0,
                needed: 1,
            }),
        ),
        case(
            "status cut",
            plain[..3].to_vec(),
            Want::err(KeyParamsError::Truncated {
                offset: 1,
                needed: 4,
            }),
        ),
        case(
            "text length claims 0xFFFF octets",
            cat(&[&plain[..15], &[0xff, 0xff], &plain[17..]]),
            Want::err(KeyParamsError::Truncated {
                offset: 17,
                needed: 0xffff,
            }),
        ),
        case(
            "group list length cut to one octet",
            plain[..text_end + 1].to_vec(),
            Want::err(KeyParamsError::Truncated {
                offset: text_end,
                needed: 2,
            }),
        ),
        case(
            "group list length claims 0xFFFF octets",
            cat(&[&plain[..text_end], &[0xff, 0xff], &plain[groups_start..]]),
            Want::err(KeyParamsError::Truncated {
                offset: groups_start,
                needed: 0xffff,
            }),
        ),
        case(
            "empty group list (no count octet)",
            cat(&[&no_groups_len, &[0, 0]]),
            Want::err(KeyParamsError::Truncated {
                offset: groups_start,
                needed: 1,
            }),
        ),
        case(
            "group count 3, two groups present",
            three,
            Want::err(KeyParamsError::Truncated {
                offset: plain.len(),
                needed: 1,
            }),
        ),
        case(
            "first group IE length claims 0xFFFF octets",
            long_ie,
            Want::err(KeyParamsError::Truncated {
                offset: first_ie_len + 2,
                needed: 0xffff,
            }),
        ),
        case(
            "group count 1, two groups present",
            fewer,
            Want::err(KeyParamsError::TrailingData { offset: second_ie }),
        ),
        case(
            "trailing garbage after the group list",
            cat(&[&plain, &[0]]),
            Want::err(KeyParamsError::TrailingData {
                offset: plain.len(),
            }),
        ),
        case("control: encoded parameters", plain.clone(), accepted()),
        case("control: no group list", no_groups_len.clone(), accepted()),
    ];
    run("KeyParameters::decode", &cases, |b| {
        KeyParameters::decode(b)
    });
    assert_eq!(KeyParameters::decode(&plain).unwrap(), params);
}

// ----------------------------------------------------------------------------------------------
// Annex D documents: KmsResponse::from_xml and the typed accessors

fn periods() -> KeyPeriods {
    KeyPeriods {
        length: 16_777_215,
        offset: 0,
    }
}

/// The published certificate and alice's key set as Annex D documents.
fn annex_d_documents() -> (String, String) {
    let v = parse(MCX);
    let z = KmsPublicKey::from_bytes(get(&v, "kms_PubEncKey")).unwrap();
    let kpak = Kpak::from_bytes(get(&v, "kms_PubAuthKey")).unwrap();
    let kms_uri = common::text_value(MCX, "kms_KmsUri").to_string();
    let cert = KmsCertificate::new(kms_uri.clone(), &z, &kpak, periods());
    let cert_xml = KmsResponse::new(
        kms_uri.clone(),
        kms_uri.clone(),
        "2025-01-01T00:00:00Z",
        "https://kms/init",
        Some(KmsMessage::Init(Box::new(cert))),
    )
    .to_xml();
    let ks = alice_key_set(&v, &kms_uri);
    let keys_xml = KmsResponse::new(
        common::text_value(MCX, "alice_UserUri"),
        kms_uri,
        "2025-01-01T00:00:00Z",
        "https://kms/keyprov",
        Some(KmsMessage::KeyProv(KmsKeyProv { key_sets: vec![ks] })),
    )
    .to_xml();
    (cert_xml, keys_xml)
}

fn alice_key_set(v: &std::collections::HashMap<String, Vec<u8>>, kms_uri: &str) -> KmsKeySet {
    KmsKeySet::new(
        kms_uri,
        common::text_value(MCX, "alice_UserUri"),
        get(v, "alice_UserID").try_into().unwrap(),
        236,
        &ReceiverSecretKey::from_bytes(get(v, "alice_UserDecryptKey")).unwrap(),
        &Ssk::from_bytes(get(v, "alice_UserSigningKeySSK")).unwrap(),
        &Pvt::from_bytes(get(v, "alice_UserPubTokenPVT")).unwrap(),
    )
}

/// Replaces the text of the first `<name>...</name>` element (which must exist; its start tag
/// may carry attributes, such as the `xsi:type` of key values).
fn set_element(xml: &str, name: &str, value: &str) -> String {
    let close = format!("</{name}>");
    let start = [format!("<{name}>"), format!("<{name} ")]
        .iter()
        .filter_map(|open| xml.find(open.as_str()))
        .min()
        .unwrap_or_else(|| panic!("{name} missing"));
    let a = start + xml[start..].find('>').unwrap() + 1;
    let b = a + xml[a..].find(&close).unwrap();
    format!("{}{value}{}", &xml[..a], &xml[b..])
}

const NS: &str = "urn:3gpp:ns:mcsecKMSInterface:1.0";

#[test]
fn annex_d_documents_table() {
    let (cert_xml, keys_xml) = annex_d_documents();
    let root_open = format!("<KmsResponse xmlns=\"{NS}\">");
    let body = "<UserUri>u</UserUri><KmsUri>k</KmsUri><Time>t</Time><ClientReqUrl>c</ClientReqUrl>";
    let doc = |inner: &str| format!("{root_open}{body}{inner}</KmsResponse>");
    let lol = {
        let mut d =
            String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n");
        for i in 1..10 {
            let prev = if i == 1 {
                "lol".to_string()
            } else {
                format!("lol{}", i - 1)
            };
            d.push_str(&format!(
                "<!ENTITY lol{i} \"{}\">\n",
                format!("&{prev};").repeat(10)
            ));
        }
        d.push_str("]>\n");
        d.push_str(&format!(
            "{root_open}<UserUri>&lol9;</UserUri></KmsResponse>"
        ));
        d
    };
    let deep = format!(
        "{root_open}{}{}</KmsResponse>",
        "<x:a xmlns:x=\"urn:other\">".repeat(10_000),
        "</x:a>".repeat(10_000)
    );
    let many = doc(&"<x:e xmlns:x=\"urn:other\"/>".repeat(MAX_ELEMENTS + 10));
    let huge_text = doc(&format!("<KmsId>{}</KmsId>", "a".repeat(10 << 20)));
    let huge_len = huge_text.len();
    // Where `</KmsUri>` starts in the mismatched document below.
    let mismatch_at = root_open.len() + "<UserUri>u".len();
    let bad_rsk_len = set_element(&keys_xml, "UserDecryptKey", &"AB".repeat(256));
    let odd_hex = set_element(&keys_xml, "UserDecryptKey", &"A".repeat(513));
    let not_hex = set_element(&keys_xml, "UserDecryptKey", &"!?".repeat(257));
    let long_ssk = set_element(&keys_xml, "UserSigningKeySSK", &"01".repeat(65));
    let short_pvt = set_element(&keys_xml, "UserPubTokenPVT", &"04".repeat(64));
    let short_uid = set_element(&keys_xml, "UserID", &"00".repeat(31));
    let zero_period = set_element(&cert_xml, "UserKeyPeriod", "0");
    let neg_period = set_element(&cert_xml, "UserKeyPeriod", "-5");
    let word_period = set_element(&cert_xml, "UserKeyPeriod", "thirty days");
    let big_period = set_element(&cert_xml, "UserKeyPeriod", &"9".repeat(40));
    let no_kms_uri = doc("").replace("<KmsUri>k</KmsUri>", "");
    let twice = doc("<UserUri>again</UserUri>");
    let encrypted = keys_xml.replace(
        "<UserDecryptKey xsi:type=\"KeyContentType\">",
        "<UserDecryptKey xsi:type=\"KeyContentType\"><xenc:EncryptedKey xmlns:xenc=\"http://www.w3.org/2001/04/xmlenc#\"/>",
    );
    let cases: Vec<Case<String, AnnexDError>> = vec![
        case(
            "empty document",
            String::new(),
            err_matching!(AnnexDError::NoRootElement),
        ),
        case(
            "only whitespace",
            "  \n ".into(),
            err_matching!(AnnexDError::NoRootElement),
        ),
        case(
            "not XML at all",
            "hello".into(),
            err_matching!(AnnexDError::Malformed { reason, .. } if reason.contains("outside the root")),
        ),
        case(
            "malformed: unterminated start tag",
            format!("<KmsResponse xmlns=\"{NS}\""),
            err_matching!(AnnexDError::Malformed { reason, .. } if reason.contains("not closed")),
        ),
        case(
            "malformed: mismatched end tag",
            format!("{root_open}<UserUri>u</KmsUri></KmsResponse>"),
            err_matching!(AnnexDError::Malformed { position, .. } if position.offset == mismatch_at),
        ),
        case(
            "unclosed root element",
            format!("{root_open}{body}"),
            err_matching!(AnnexDError::Truncated { path, .. } if path == "KmsResponse"),
        ),
        case(
            "unclosed child element",
            format!("{root_open}<UserUri>u"),
            err_matching!(AnnexDError::Truncated { path, .. } if path.starts_with("KmsResponse/")),
        ),
        case(
            "DOCTYPE with an internal entity",
            format!(
                "<!DOCTYPE KmsResponse [<!ENTITY e \"x\">]>{root_open}<UserUri>&e;</UserUri></KmsResponse>"
            ),
            err_matching!(AnnexDError::Doctype { position } if position.line == 1 && position.column == 1),
        ),
        case(
            "billion laughs",
            lol.clone(),
            err_matching!(AnnexDError::Doctype { position } if position.line == 2),
        ),
        case(
            "external entity (SYSTEM)",
            format!(
                "<!DOCTYPE KmsResponse [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>{root_open}<UserUri>&x;</UserUri></KmsResponse>"
            ),
            err_matching!(AnnexDError::Doctype { .. }),
        ),
        case(
            "an undeclared entity",
            doc("<KmsId>&lol9;</KmsId>"),
            err_matching!(AnnexDError::Malformed { reason, .. } if reason.contains("undeclared entity")),
        ),
        case(
            "10 000 levels of nesting",
            deep,
            err_matching!(AnnexDError::TooDeep { max, .. } if *max == MAX_DEPTH),
        ),
        case(
            "more elements than the limit",
            many,
            err_matching!(AnnexDError::TooManyElements { max, .. } if *max == MAX_ELEMENTS),
        ),
        case(
            "a 10 MB text node",
            huge_text.clone(),
            err_matching!(AnnexDError::TooLarge { len, max } if *len == huge_len && *max == MAX_DOCUMENT_LEN),
        ),
        case(
            "a control character",
            doc("<KmsId>\u{1}</KmsId>"),
            err_matching!(AnnexDError::Malformed { .. }),
        ),
        case(
            "wrong root element",
            "<KmsRequest/>".into(),
            err_matching!(AnnexDError::WrongRoot { .. }),
        ),
        case(
            "root in no namespace",
            format!("<KmsResponse>{body}</KmsResponse>"),
            err_matching!(AnnexDError::WrongRoot { .. }),
        ),
        case(
            "a signed response (signatures are not verified)",
            format!("<SignedKmsResponse xmlns=\"{NS}\"/>"),
            err_matching!(AnnexDError::WrongRoot { .. }),
        ),
        case(
            "text outside the root element",
            format!("{}trailing", doc("")),
            err_matching!(AnnexDError::Malformed { .. }),
        ),
        case(
            "a mandatory element missing",
            no_kms_uri,
            err_matching!(AnnexDError::MissingElement {
                element: "KmsUri",
                ..
            }),
        ),
        case(
            "a single element repeated",
            twice,
            err_matching!(AnnexDError::DuplicateElement { path, .. } if path.contains("UserUri")),
        ),
        case(
            "UserDecryptKey of 256 octets",
            bad_rsk_len,
            err_matching!(AnnexDError::WrongLength { expected: 257, got: 256, path, .. } if path.ends_with("UserDecryptKey")),
        ),
        case(
            "UserDecryptKey: odd number of hex digits",
            odd_hex,
            err_matching!(AnnexDError::BadEncoding { path, .. } if path.ends_with("UserDecryptKey")),
        ),
        case(
            "UserDecryptKey: not hex, not base64",
            not_hex,
            err_matching!(AnnexDError::BadEncoding { path, .. } if path.ends_with("UserDecryptKey")),
        ),
        case(
            "UserSigningKeySSK over 64 octets",
            long_ssk,
            err_matching!(AnnexDError::WrongLength {
                expected: 64,
                got: 65,
                ..
            }),
        ),
        case(
            "UserPubTokenPVT of 64 octets",
            short_pvt,
            err_matching!(AnnexDError::WrongLength {
                expected: 65,
                got: 64,
                ..
            }),
        ),
        case(
            "UserID of 31 octets",
            short_uid,
            err_matching!(AnnexDError::WrongLength {
                expected: 32,
                got: 31,
                ..
            }),
        ),
        case(
            "a TrK-encrypted key",
            encrypted,
            err_matching!(AnnexDError::Unsupported { .. }),
        ),
        case(
            "UserKeyPeriod 0",
            zero_period,
            err_matching!(AnnexDError::BadValue { path, .. } if path.ends_with("UserKeyPeriod")),
        ),
        case(
            "UserKeyPeriod negative",
            neg_period,
            err_matching!(AnnexDError::BadValue { path, .. } if path.ends_with("UserKeyPeriod")),
        ),
        case(
            "UserKeyPeriod not a number",
            word_period,
            err_matching!(AnnexDError::BadValue { path, .. } if path.ends_with("UserKeyPeriod")),
        ),
        case(
            "UserKeyPeriod beyond 64 bits",
            big_period,
            err_matching!(AnnexDError::BadValue { path, .. } if path.ends_with("UserKeyPeriod")),
        ),
        case("control: certificate", cert_xml.clone(), accepted()),
        case("control: key set", keys_xml.clone(), accepted()),
    ];
    run("KmsResponse::from_xml", &cases, |x| {
        KmsResponse::from_xml(x)
    });

    // The hostile documents are refused fast: no expansion, no quadratic work.
    for (name, x) in [("billion laughs", &lol), ("10 MB text node", &huge_text)] {
        let t = Instant::now();
        assert!(KmsResponse::from_xml(x).is_err());
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "{name}: {:?}",
            t.elapsed()
        );
    }
}

#[test]
fn annex_d_typed_accessors() {
    // Documents that are well-formed XML but carry invalid keys: the reader keeps the octets,
    // the typed accessors refuse them with the decoder's error.
    let c = sakke_curve();
    let (e256, _, g256) = p256();
    let (cert_xml, keys_xml) = annex_d_documents();
    let hexu = |b: &[u8]| hex::encode_upper(b);
    let (gx, gy) = g256.clone().unwrap();
    let cases: Vec<(&str, String, PointError, DecodeError)> = vec![
        (
            "order 4 / off-curve",
            hexu(&c.e.enc_pt(&c.t4[0])),
            PointError::NotInSubgroup,
            DecodeError::NotOnCurve { what: "KPAK" },
        ),
        (
            "(0, 0) / off-curve",
            hexu(&c.e.enc_pt(&c.t2)),
            PointError::NotInSubgroup,
            DecodeError::NotOnCurve { what: "KPAK" },
        ),
        (
            "identity / identity",
            hexu(&[0; 257]),
            PointError::Identity,
            DecodeError::InvalidPointTag {
                what: "KPAK",
                tag: 0,
            },
        ),
        (
            "x = p / x = p",
            hexu(&c.e.enc(&c.e.p, &c.e.p)),
            PointError::CoordinateOutOfRange,
            DecodeError::CoordinateOutOfRange { what: "KPAK" },
        ),
    ];
    let kpaks = [
        hexu(&e256.enc(&gx, &e256.add_f(&gy, &BigUint::one()))),
        hexu(&e256.enc(&BigUint::zero(), &BigUint::zero())),
        hexu(&[0; 65]),
        hexu(&e256.enc(&e256.p, &gy)),
    ];
    for ((name, z, want_z, want_kpak), kpak) in cases.into_iter().zip(kpaks) {
        let doc = set_element(
            &set_element(&cert_xml, "PubEncKey", &z),
            "PubAuthKey",
            &kpak,
        );
        let r = KmsResponse::from_xml(&doc).unwrap();
        let cert = r.certificate().unwrap();
        assert_eq!(cert.kms_public_key().unwrap_err(), want_z, "{name}");
        assert_eq!(cert.kpak().unwrap_err(), want_kpak, "{name}");
        // The same points as a key set's RSK.
        let keys = set_element(&keys_xml, "UserDecryptKey", &z);
        let r = KmsResponse::from_xml(&keys).unwrap();
        assert_eq!(r.key_sets()[0].rsk().unwrap_err(), want_z, "{name}");
    }
    let pvt_off = hexu(&e256.enc(&gx, &e256.add_f(&gy, &BigUint::one())));
    let keys = set_element(
        &set_element(&keys_xml, "UserSigningKeySSK", &"00".repeat(32)),
        "UserPubTokenPVT",
        &pvt_off,
    );
    let r = KmsResponse::from_xml(&keys).unwrap();
    let ks = &r.key_sets()[0];
    assert_eq!(ks.ssk().unwrap_err(), DecodeError::Zero { what: "SSK" });
    assert_eq!(
        ks.pvt().unwrap_err(),
        DecodeError::NotOnCurve { what: "PVT" }
    );
    let keys = set_element(&keys_xml, "UserSigningKeySSK", &"FF".repeat(32));
    let r = KmsResponse::from_xml(&keys).unwrap();
    assert_eq!(
        r.key_sets()[0].ssk().unwrap_err(),
        DecodeError::OutOfRange { what: "SSK" }
    );
    // ... and the client refuses to load them, naming the key period or the certificate.
    let cert = KmsResponse::from_xml(&cert_xml).unwrap();
    let bad = KmsResponse::from_xml(&keys).unwrap();
    assert!(matches!(
        Client::load(cert.certificate().unwrap(), bad.key_sets()),
        Err(ClientError::KeySet(KeySetError::InvalidSigningKey(236)))
    ));
    let bad_cert = KmsResponse::from_xml(&set_element(
        &cert_xml,
        "PubEncKey",
        &hexu(&c.e.enc_pt(&c.t4[1])),
    ))
    .unwrap();
    let good_keys = KmsResponse::from_xml(&keys_xml).unwrap();
    assert!(matches!(
        Client::load(bad_cert.certificate().unwrap(), good_keys.key_sets()),
        Err(ClientError::KeySet(KeySetError::BadCertificate(m))) if m.contains("subgroup")
    ));
    assert!(matches!(
        Client::load(cert.certificate().unwrap(), &[]),
        Err(ClientError::KeySet(KeySetError::NoKeySets))
    ));
}

// ----------------------------------------------------------------------------------------------
// UID and key-period helpers (TS 33.180 F.2.1) on user-supplied values

#[test]
fn uid_and_period_helpers() {
    let t = |length, offset, now| KeyPeriods { length, offset }.period_number(now);
    assert_eq!(t(0, 0, 1_000), Err(PeriodError::ZeroLength));
    assert_eq!(t(0, 5_000, 1_000), Err(PeriodError::ZeroLength));
    assert_eq!(t(10, 1_001, 1_000), Err(PeriodError::BeforeFirstPeriod));
    assert_eq!(t(10, u64::MAX, 0), Err(PeriodError::BeforeFirstPeriod));
    assert_eq!(t(1, 0, u64::MAX), Ok(u64::MAX));
    assert_eq!(t(u64::MAX, 0, u64::MAX), Ok(1));
    let p = KeyPeriods {
        length: 16_777_215,
        offset: 7,
    };
    assert_eq!(p.period_start(u64::MAX), None);
    assert_eq!(
        KeyPeriods {
            length: 1,
            offset: u64::MAX
        }
        .period_start(1),
        None
    );
    assert_eq!(p.period_start(2), Some(2 * 16_777_215 + 7));

    let long = vec![b'a'; 65_536];
    let max = vec![b'a'; 65_535];
    type UriPair = (Vec<u8>, Vec<u8>);
    let cases: Vec<Case<UriPair, KdfError>> = vec![
        case(
            "user URI of 65 536 octets",
            (long.clone(), b"kms".to_vec()),
            Want::err(KdfError::ParameterTooLong {
                index: 1,
                len: 65_536,
            }),
        ),
        case(
            "KMS URI of 65 536 octets",
            (b"sip:a@b".to_vec(), long.clone()),
            Want::err(KdfError::ParameterTooLong {
                index: 2,
                len: 65_536,
            }),
        ),
        case(
            "control: 65 535 octets",
            (max.clone(), max.clone()),
            accepted(),
        ),
        case("control: empty URIs", (vec![], vec![]), accepted()),
    ];
    run("mcx::uid::uid", &cases, |(u, k)| uid(u, k, p, 3));
    let gmk = [7u8; 16];
    let cases: Vec<Case<Vec<u8>, KdfError>> = vec![
        case(
            "user ID of 65 536 octets",
            long.clone(),
            Want::err(KdfError::ParameterTooLong {
                index: 0,
                len: 65_536,
            }),
        ),
        case("control: 32 octets", vec![1; 32], accepted()),
    ];
    run("mcx::key_id::guk_id", &cases, |u| {
        guk_id(&gmk, KeyId(0x0123_4567), u)
    });
    // A key set whose URI is too long for a UID: derived_user_id says why.
    let v = parse(MCX);
    let mut ks = alice_key_set(&v, "kms");
    ks.user_uri = "a".repeat(70_000);
    assert_eq!(
        ks.derived_user_id(periods()),
        Err(KdfError::ParameterTooLong {
            index: 1,
            len: 70_000
        })
    );
}

// ----------------------------------------------------------------------------------------------
// I_MESSAGE receive (mcx::imessage::receive and ue::Client::receive)

struct Gmk {
    msg: Vec<u8>,
    z: KmsPublicKey,
    kpak: Kpak,
    alice_uid: Uid,
    gms_signer: SigningKey,
}

fn gmk_setup() -> Gmk {
    let v = parse(MCX);
    let kpak = Kpak::from_bytes(get(&v, "kms_PubAuthKey")).unwrap();
    let gms_uid: Uid = get(&v, "gms_UserID").try_into().unwrap();
    let gms_signer = SigningKey::new(
        &kpak,
        &gms_uid,
        Ssk::from_bytes(get(&v, "gms_UserSigningKeySSK")).unwrap(),
        &Pvt::from_bytes(get(&v, "gms_UserPubTokenPVT")).unwrap(),
    )
    .unwrap();
    Gmk {
        msg: b64("gmk_I_MESSAGE_b64"),
        z: KmsPublicKey::from_bytes(get(&v, "kms_PubEncKey")).unwrap(),
        kpak,
        alice_uid: get(&v, "alice_UserID").try_into().unwrap(),
        gms_signer,
    }
}

impl Gmk {
    /// Signs a (tampered) message again as the GMS, whose published key set signed the
    /// original, so that the check after the signature is the one that fails.
    fn resign(&self, mut octets: Vec<u8>) -> Vec<u8> {
        let parsed = mikey::parse(&octets).unwrap();
        let sig_len = parsed.sign().unwrap().signature.len();
        assert_eq!(sig_len, 129);
        let covered = octets.len() - sig_len;
        let mut rng = ChaCha20Rng::seed_from_u64(covered as u64);
        let sig = self
            .gms_signer
            .try_sign_with_rng(&mut rng, &octets[..covered])
            .unwrap();
        octets[covered..].copy_from_slice(&sig.to_bytes());
        octets
    }

    /// The first octet of the n-th payload of type `t`.
    fn at(&self, t: PayloadType, n: usize) -> usize {
        mikey::parse(&self.msg)
            .unwrap()
            .payloads_with_offsets()
            .filter(|(_, p)| p.payload_type() == t)
            .nth(n)
            .unwrap()
            .0
    }

    /// The message with its payload list edited (payloads borrow from the original), re-encoded
    /// and re-signed.
    fn edited(&self, edit: impl FnOnce(&mut Vec<Payload<'_>>)) -> Vec<u8> {
        let (hdr, mut payloads) = mikey::parse(&self.msg).unwrap().into_parts();
        edit(&mut payloads);
        let octets = mikey::Message::new(hdr, payloads).unwrap().encode();
        self.resign(octets)
    }

    /// The message with `new` spliced over the SAKKE payload's data, length field adjusted.
    fn with_sakke_data(&self, new: &[u8]) -> Vec<u8> {
        let (hdr, payloads) = mikey::parse(&self.msg).unwrap().into_parts();
        let payloads = payloads
            .into_iter()
            .map(|p| match p {
                Payload::Sakke(mut s) => {
                    s.data = new;
                    Payload::Sakke(s)
                }
                other => other,
            })
            .collect();
        self.resign(mikey::Message::new(hdr, payloads).unwrap().encode())
    }
}

#[test]
fn receive_table() {
    let g = gmk_setup();
    let c = sakke_curve();
    let v = parse(MCX);
    let rsk = ReceiverSecretKey::from_bytes(get(&v, "alice_UserDecryptKey")).unwrap();
    let prepared = PreparedReceiver::new(&g.z, &g.alice_uid, &rsk).unwrap();
    let alice_uri = common::text_value(MCX, "alice_UserUri").as_bytes().to_vec();
    let receiver = Receiver {
        uid: &g.alice_uid,
        user_uri: Some(&alice_uri),
        kms_public_key: &g.z,
        rsk: &prepared,
        kpak: &g.kpak,
        key_period: Some((periods(), 236)),
        expected_initiator: None,
        compat_signature: false,
        compat_minimal_w: false,
        compat_legacy_key_params: false,
    };
    let msg = &g.msg;
    let sakke_at = g.at(PayloadType::SAKKE, 0);
    let ed_at = sakke_at + 5;
    let ed = msg[ed_at..ed_at + 273].to_vec();
    let h = ed[257..].to_vec();
    let kp_at = {
        let parsed = mikey::parse(msg).unwrap();
        let kp = parsed
            .general_extensions()
            .find_map(|x| x.key_parameters())
            .unwrap();
        kp.as_ptr() as usize - msg.as_ptr() as usize
    };
    let flip = |i: usize| {
        let mut m = msg.clone();
        m[i] ^= 0x01;
        m
    };
    let bad_ed = |e: PointError| Want {
        desc: format!("Err(BadEncapsulatedData({e:?}))"),
        check: Box::new(
            move |r: &Result<(), ReceiveError>| matches!(r, Err(ReceiveError::Step(StepError::BadEncapsulatedData(x))) if *x == e),
        ),
    };
    let t_237 = (237u64 * 16_777_215 + 5) << 32;
    let cases: Vec<Case<Vec<u8>, ReceiveError>> = vec![
        case(
            "empty",
            vec![],
            err_matching!(ReceiveError::Malformed(ParseError {
                kind: ParseErrorKind::MissingHdr,
                ..
            })),
        ),
        case(
            "truncated by one octet",
            msg[..msg.len() - 1].to_vec(),
            err_matching!(ReceiveError::Malformed(ParseError {
                kind: ParseErrorKind::LengthExceedsInput {
                    field: "Signature",
                    ..
                },
                ..
            })),
        ),
        case(
            "trailing garbage",
            cat(&[msg, &[0]]),
            err_matching!(ReceiveError::Malformed(ParseError {
                kind: ParseErrorKind::TrailingData { length: 1 },
                ..
            })),
        ),
        case(
            "HDR data type 0 (pre-shared)",
            with_octet(msg, 1, 0),
            err_matching!(ReceiveError::Step(StepError::NotSakkeMessage(0))),
        ),
        case(
            "a flipped signature bit",
            flip(msg.len() - 70),
            err_matching!(ReceiveError::Step(StepError::BadSignature)),
        ),
        case(
            "a flipped bit in the signed part (RAND)",
            flip(g.at(PayloadType::RAND, 0) + 3),
            err_matching!(ReceiveError::Step(StepError::BadSignature)),
        ),
        case(
            "signature s = 0",
            {
                let mut m = msg.clone();
                let s = msg.len() - 129 + 32;
                m[s..s + 32].fill(0);
                m
            },
            err_matching!(ReceiveError::Step(StepError::BadSignature)),
        ),
        case(
            "signature PVT off the curve",
            {
                let mut m = msg.clone();
                let l = m.len();
                m[l - 1] ^= 1;
                m
            },
            err_matching!(ReceiveError::Step(StepError::BadSignature)),
        ),
        case(
            "re-signed: H flipped",
            g.resign(flip(ed_at + 260)),
            err_matching!(ReceiveError::Step(StepError::DecapsulationFailed)),
        ),
        case(
            "re-signed: R a different valid point (G)",
            g.with_sakke_data(&cat(&[&c.e.enc_pt(&c.g), &h])),
            err_matching!(ReceiveError::Step(StepError::DecapsulationFailed)),
        ),
        case(
            "re-signed: R of order 4",
            g.with_sakke_data(&cat(&[&c.e.enc_pt(&c.t4[0]), &h])),
            bad_ed(PointError::NotInSubgroup),
        ),
        case(
            "re-signed: R = (0, 0)",
            g.with_sakke_data(&cat(&[&c.e.enc_pt(&c.t2), &h])),
            bad_ed(PointError::NotInSubgroup),
        ),
        case(
            "re-signed: R = R + (0, 0), outside the subgroup",
            {
                let r: Pt = Some((
                    BigUint::from_bytes_be(&ed[1..129]),
                    BigUint::from_bytes_be(&ed[129..257]),
                ));
                g.with_sakke_data(&cat(&[&c.e.enc_pt(&c.e.add(&r, &c.t2)), &h]))
            },
            bad_ed(PointError::NotInSubgroup),
        ),
        case(
            "re-signed: R the identity",
            g.with_sakke_data(&cat(&[&[0; 257], &h])),
            bad_ed(PointError::Identity),
        ),
        case(
            "re-signed: R off the curve",
            g.with_sakke_data(&cat(&[&with_octet(&ed[..257], 256, ed[256] ^ 1), &h])),
            bad_ed(PointError::NotOnCurve),
        ),
        case(
            "re-signed: R with prefix 0x02",
            g.with_sakke_data(&with_octet(&ed, 0, 0x02)),
            bad_ed(PointError::BadPrefix(2)),
        ),
        // The 272-octet form is read as an H that lost a leading zero octet: here H did not,
        // so the padded H is wrong and the RFC's TEST == R check fails.
        case(
            "re-signed: SAKKE data of 272 octets",
            g.with_sakke_data(&ed[..272]),
            err_matching!(ReceiveError::Step(StepError::DecapsulationFailed)),
        ),
        case(
            "re-signed: SAKKE data of 271 octets",
            g.with_sakke_data(&ed[..271]),
            bad_ed(PointError::WrongLength {
                expected: 273,
                got: 271,
            }),
        ),
        case(
            "re-signed: SAKKE data of 274 octets",
            g.with_sakke_data(&cat(&[&ed, &[0]])),
            bad_ed(PointError::WrongLength {
                expected: 273,
                got: 274,
            }),
        ),
        case(
            "re-signed: empty SAKKE data",
            g.with_sakke_data(&[]),
            bad_ed(PointError::WrongLength {
                expected: 273,
                got: 0,
            }),
        ),
        case(
            "re-signed: SAKKE params 2",
            g.resign(with_octet(msg, sakke_at + 1, 2)),
            err_matching!(ReceiveError::Step(StepError::BadSakkePayload(
                "unsupported SAKKE parameter set"
            ))),
        ),
        case(
            "re-signed: key parameters ciphertext bit flipped",
            g.resign(flip(kp_at + 40)),
            err_matching!(ReceiveError::KeyParameters(KeyParamsError::Decryption)),
        ),
        case(
            "re-signed: key parameters message type 0x42",
            g.resign(with_octet(msg, kp_at, 0x42)),
            err_matching!(ReceiveError::KeyParameters(KeyParamsError::BadMessageType(
                0x42
            ))),
        ),
        case(
            "re-signed: key parameters DPPK-ID differs from the CSB ID",
            {
                // A new DPPK-ID changes the key and the AAD: authentication fails first.
                g.resign(flip(kp_at + 30))
            },
            err_matching!(ReceiveError::KeyParameters(KeyParamsError::Decryption)),
        ),
        case(
            "re-signed: responder UID changed",
            g.resign(flip(g.at(PayloadType::IDR, 1) + 10)),
            err_matching!(ReceiveError::NotForThisReceiver),
        ),
        case(
            "re-signed: no T payload",
            g.edited(|p| p.retain(|x| !matches!(x, Payload::T(_)))),
            err_matching!(ReceiveError::Step(StepError::MissingPayload("T"))),
        ),
        case(
            "re-signed: no RAND payload",
            g.edited(|p| p.retain(|x| !matches!(x, Payload::Rand(_)))),
            err_matching!(ReceiveError::Step(StepError::MissingPayload("RAND"))),
        ),
        case(
            "re-signed: no SAKKE payload",
            g.edited(|p| p.retain(|x| !matches!(x, Payload::Sakke(_)))),
            err_matching!(ReceiveError::Step(StepError::MissingPayload("SAKKE"))),
        ),
        case(
            "no SIGN payload",
            mikey::Message::new(
                mikey::parse(msg).unwrap().hdr().clone(),
                mikey::parse(msg)
                    .unwrap()
                    .payloads()
                    .iter()
                    .filter(|x| !matches!(x, Payload::Sign(_)))
                    .cloned()
                    .collect(),
            )
            .unwrap()
            .encode(),
            err_matching!(ReceiveError::Step(StepError::MissingPayload("SIGN"))),
        ),
        case(
            "re-signed: T payload twice",
            g.edited(|p| {
                let t = p
                    .iter()
                    .find(|x| matches!(x, Payload::T(_)))
                    .cloned()
                    .unwrap();
                p.insert(0, t);
            }),
            err_matching!(ReceiveError::Step(StepError::DuplicatePayload("T"))),
        ),
        case(
            "re-signed: TS type counter",
            g.edited(|p| {
                for x in p.iter_mut() {
                    if matches!(x, Payload::T(_)) {
                        *x = Payload::T(Timestamp::Counter(5));
                    }
                }
            }),
            err_matching!(ReceiveError::Step(StepError::BadTimestampType)),
        ),
        case(
            "re-signed: time of key period 237",
            g.edited(|p| {
                for x in p.iter_mut() {
                    if matches!(x, Payload::T(_)) {
                        *x = Payload::T(Timestamp::NtpUtc(t_237));
                    }
                }
            }),
            err_matching!(ReceiveError::WrongKeyPeriod {
                message: 237,
                keys: 236
            }),
        ),
        case("control: the published message", msg.clone(), accepted()),
    ];
    run("imessage::receive", &cases, |m| {
        imessage::receive(&receiver, TimeCheck::Disabled, None, m)
    });

    // The same corpus through the receiving client, which picks the key set by the message's
    // key period first.
    let (cert_xml, keys_xml) = annex_d_documents();
    let cert = KmsResponse::from_xml(&cert_xml).unwrap();
    let keys = KmsResponse::from_xml(&keys_xml).unwrap();
    let client = Client::load(cert.certificate().unwrap(), keys.key_sets()).unwrap();
    let client_cases: Vec<Case<Vec<u8>, ClientError>> = cases
        .iter()
        .map(|k| {
            let want = if k.name.contains("key period 237") {
                err_matching!(ClientError::NoKeySetForPeriod(237))
            } else if k.name.contains("TS type counter") || k.name.contains("no T payload") {
                err_matching!(ClientError::Receive(ReceiveError::Step(StepError::MissingPayload("T"))))
            } else if k.name.starts_with("control") {
                accepted()
            } else {
                // Whatever imessage::receive says, wrapped.
                let expected = imessage::receive(&receiver, TimeCheck::Disabled, None, &k.input)
                    .map(|_| ())
                    .unwrap_err()
                    .to_string();
                Want {
                    desc: format!("Err(Receive({expected}))"),
                    check: Box::new(move |r| {
                        matches!(r, Err(ClientError::Receive(e)) if e.to_string() == expected)
                    }),
                }
            };
            case(k.name.clone(), k.input.clone(), want)
        })
        .collect();
    run("ue::Client::receive", &client_cases, |m| {
        client.receive(m, TimeCheck::Disabled, None)
    });
}

#[test]
fn srtp_prf_output_length() {
    use mikey_sakke::mcx::srtp::{self, MAX_PRF_OUTPUT};
    for n in [MAX_PRF_OUTPUT + 1, 1 << 40, usize::MAX] {
        assert_eq!(
            srtp::prf(&[1u8; 16], b"label", n).map(|v| v.len()),
            Err(KdfError::OutputTooLong {
                requested: n,
                max: MAX_PRF_OUTPUT
            }),
            "{n}"
        );
        assert!(matches!(
            srtp::derive(&[1u8; 16], srtp::TEK_CONSTANT, 0, 0, &[0; 16], n),
            Err(KdfError::OutputTooLong { .. })
        ));
    }
    assert_eq!(
        srtp::prf(&[1u8; 16], b"label", MAX_PRF_OUTPUT).map(|v| v.len()),
        Ok(MAX_PRF_OUTPUT)
    );
}
