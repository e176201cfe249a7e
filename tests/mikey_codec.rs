//! MIKEY codec (RFC 3830, RFC 6043, RFC 4563, RFC 6509): the four MCX interop I_MESSAGEs field
//! by field (the GMK one against the annotated example of the spec notes, section 5.7), exact
//! parse -> encode round trips, built messages, precise errors for truncated, over-long,
//! unknown and trailing input, and property tests that the parser never panics and that
//! whatever it accepts re-encodes to the same octets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{MCX, get, parse as parse_vectors, text_value};
use mikey_sakke::mikey::{
    self, BuildError, Cert, CertType, Context, CsIdMap, CsIdMapType, DataType, EncrAlg, ErrorNo,
    ErrorPayload, ExtType, GeneralExtension, GenericIdEntry, Hdr, Id, IdRole, IdScheme, IdType,
    Idr, Kemac, KeyData, KeyDataType, KeyValidity, MacAlg, Message, ParseError, ParseErrorKind,
    Payload, PayloadType, PolicyParam, PrfFunc, ProtType, Rand, Sakke, SakkeParams, SecurityPolicy,
    Sign, SignCoverage, SignatureType, SrtpIdEntry, SrtpParamType, Timestamp, TsType, Verification,
};
use proptest::prelude::*;

const NAMES: [&str; 4] = ["gmk", "csk", "pck", "gmk_legacy_iwf"];

fn message(name: &str) -> Vec<u8> {
    STANDARD
        .decode(text_value(MCX, &format!("{name}_I_MESSAGE_b64")))
        .unwrap()
}

fn all_messages() -> Vec<Vec<u8>> {
    NAMES.iter().map(|n| message(n)).collect()
}

fn err(input: &[u8]) -> ParseError {
    mikey::parse(input).expect_err("parse must fail")
}

fn with(input: &[u8], at: usize, bytes: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    v[at..at + bytes.len()].copy_from_slice(bytes);
    v
}

// ---------------------------------------------------------------------------------------------
// The interop messages
// ---------------------------------------------------------------------------------------------

#[test]
fn four_interop_messages_parse_and_round_trip() {
    let lens = [701, 694, 683, 650];
    for (name, len) in NAMES.iter().zip(lens) {
        let m = message(name);
        assert_eq!(m.len(), len, "{name}");
        let msg = mikey::parse(&m).unwrap();
        assert_eq!(
            msg.encode(),
            m,
            "{name}: parse -> encode is not the identity"
        );
        assert_eq!(mikey::encode(&msg), m);
        assert_eq!(msg.encoded_len(), m.len());
        assert_eq!(msg.source(), Some(&m[..]));
        // Every one: HDR, T, RAND, 4 x IDR, SP, SAKKE, General Extension 7, SIGN.
        let types: Vec<PayloadType> = msg.payloads().iter().map(Payload::payload_type).collect();
        assert_eq!(
            types,
            [
                PayloadType::T,
                PayloadType::RAND,
                PayloadType::IDR,
                PayloadType::IDR,
                PayloadType::IDR,
                PayloadType::IDR,
                PayloadType::SP,
                PayloadType::SAKKE,
                PayloadType::GENERAL_EXTENSION,
                PayloadType::SIGN,
            ],
            "{name}"
        );
        assert_eq!(msg.hdr().data_type, DataType::SAKKE);
        assert!(!msg.hdr().v);
        assert_eq!(msg.hdr().prf_func, PrfFunc::PRF_HMAC_SHA_256);
        assert!(matches!(msg.timestamp(), Some(Timestamp::NtpUtc(_))));
        let sign = msg.sign().unwrap();
        assert_eq!(sign.sig_type, SignatureType::ECCSI);
        assert_eq!(sign.signature.len(), 129);
        // The signature is the last 129 octets; RFC 3830 coverage ends just before it.
        let at = msg.sign_offset().unwrap();
        assert_eq!(at, len - 131);
        assert_eq!(&m[at..at + 2], [0x20, 0x81]);
        let rfc = msg.signed_portion(SignCoverage::Rfc3830).unwrap();
        assert_eq!(&*rfc, &m[..len - 129]);
        assert!(matches!(rfc, std::borrow::Cow::Borrowed(_)));
        let compat = msg.signed_portion(SignCoverage::WithoutSignHeader).unwrap();
        assert_eq!(&*compat, &m[..len - 131]);
        // The SAKKE payload carries parameter set 1 Encapsulated Data for a hashed UID.
        let sakke = msg.sakke().unwrap();
        assert_eq!(sakke.params, SakkeParams::PARAMETER_SET_1);
        assert_eq!(sakke.id_scheme, IdScheme::MCX_HASHED_UID);
        assert_eq!(sakke.data.len(), 273);
        assert_eq!(sakke.data[0], 0x04);
        // The four identities: UIDs for 8/9, the KMS URI for 6/7.
        let roles: Vec<IdRole> = msg.idrs().map(|i| i.role).collect();
        assert_eq!(
            roles,
            [
                IdRole::HASHED_INITIATOR,
                IdRole::HASHED_RESPONDER,
                IdRole::INITIATOR_KMS,
                IdRole::RESPONDER_KMS
            ]
        );
        for role in [IdRole::INITIATOR_KMS, IdRole::RESPONDER_KMS] {
            assert_eq!(msg.idr(role).unwrap().data, b"kms.mydev.streamwide.com");
        }
        for role in [IdRole::HASHED_INITIATOR, IdRole::HASHED_RESPONDER] {
            let idr = msg.idr(role).unwrap();
            assert_eq!((idr.id_type, idr.data.len()), (IdType::URI, 32));
        }
        assert_eq!(msg.general_extensions().count(), 1);
        let ext = msg.general_extensions().next().unwrap();
        assert_eq!(ext.ext_type, ExtType::KEY_PARAMETERS);
        assert!(ext.key_parameters().is_some());
        assert!(ext.sakke_to_self().is_none());
    }
}

#[test]
fn rand_and_csb_id_match_the_published_values() {
    let v = parse_vectors(MCX);
    let cases = [
        ("gmk", "gmk_GMK_RAND", "gmk_GUK_ID"),
        ("csk", "csk_CSK_RAND", "csk_CSK_ID"),
        ("pck", "pck_PCK_RAND", "pck_PCK_ID"),
        ("gmk_legacy_iwf", "gmk_legacy_iwf_GMK_RAND", ""),
    ];
    for (name, rand, csb) in cases {
        let m = message(name);
        let msg = mikey::parse(&m).unwrap();
        assert_eq!(msg.rand().unwrap().rand, get(&v, rand), "{name}");
        if !csb.is_empty() {
            assert_eq!(msg.hdr().csb_id.to_be_bytes(), get(&v, csb), "{name}");
        }
    }
}

/// Every field of the GMK message against the annotated example (spec notes 5.7).
#[test]
fn gmk_message_field_by_field() {
    let v = parse_vectors(MCX);
    let m = message("gmk");
    let msg = mikey::parse(&m).unwrap();
    let h = msg.hdr();
    assert_eq!(h.data_type, DataType(26));
    assert!(!h.v);
    assert_eq!(h.prf_func, PrfFunc(1));
    assert_eq!(h.csb_id, 0x06a1_2aea);
    assert_eq!(h.csb_id.to_be_bytes(), get(&v, "gmk_GUK_ID"));
    assert_eq!(h.cs_id_map.map_type(), CsIdMapType::GENERIC_ID);
    assert_eq!(h.cs_id_map.cs_count(), 1);
    let CsIdMap::GenericId(entries) = &h.cs_id_map else {
        panic!("GENERIC-ID map expected")
    };
    let spi: Vec<u8> = [get(&v, "gmk_GMK_ID"), get(&v, "gmk_GUK_ID")].concat();
    assert_eq!(
        entries.as_slice(),
        [GenericIdEntry {
            cs_id: 4,
            prot_type: ProtType::SRTP,
            s: false,
            policy_nos: &[0],
            session_data: &[],
            spi: &spi,
        }]
    );

    let offsets: Vec<(usize, PayloadType)> = msg
        .payloads_with_offsets()
        .map(|(at, p)| (at, p.payload_type()))
        .collect();
    assert_eq!(
        offsets,
        [
            (25, PayloadType::T),
            (35, PayloadType::RAND),
            (53, PayloadType::IDR),
            (90, PayloadType::IDR),
            (127, PayloadType::IDR),
            (156, PayloadType::IDR),
            (185, PayloadType::SP),
            (217, PayloadType::SAKKE),
            (495, PayloadType::GENERAL_EXTENSION),
            (570, PayloadType::SIGN),
        ]
    );
    let p = msg.payloads();
    assert_eq!(p[0], Payload::T(Timestamp::NtpUtc(0xec89_8da8_0000_0000)));
    assert_eq!(msg.timestamp().unwrap().ts_type(), TsType::NTP_UTC);
    assert_eq!(msg.timestamp().unwrap().value() >> 32, 0xec89_8da8);
    assert_eq!(
        p[1],
        Payload::Rand(Rand {
            rand: get(&v, "gmk_GMK_RAND")
        })
    );
    let kms = b"kms.mydev.streamwide.com";
    let idrs: Vec<(u8, u8, &[u8])> = msg
        .idrs()
        .map(|i| (i.role.0, i.id_type.0, i.data))
        .collect();
    assert_eq!(
        idrs,
        [
            (8, 1, &m[58..90]),
            (9, 1, &m[95..127]),
            (6, 1, &kms[..]),
            (7, 1, &kms[..]),
        ]
    );
    assert_eq!(&m[58..62], [0x15, 0xa4, 0xd5, 0xb1]);
    assert_eq!(&m[95..99], [0xb5, 0xc4, 0x52, 0x30]);
    let sp = msg.security_policies().next().unwrap();
    assert_eq!((sp.policy_no, sp.prot_type), (0, ProtType::SRTP));
    let params: Vec<(u8, &[u8])> = sp.params.iter().map(|p| (p.param_type, p.value)).collect();
    let expected: [(u8, &[u8]); 9] = [
        (0, &[0x06]),
        (1, &[0x10]),
        (2, &[0x04]),
        (4, &[0x0c]),
        (5, &[0x00]),
        (6, &[0x00]),
        (18, &[0x04]),
        (19, &[0x00]),
        (20, &[0x10]),
    ];
    assert_eq!(params, expected);
    assert_eq!(
        sp.get(SrtpParamType::ENCRYPTION_ALGORITHM.0),
        Some(&[6u8][..])
    );
    assert_eq!(sp.get(SrtpParamType::ROC_TRANSMISSION_RATE.0), None);
    let sakke = msg.sakke().unwrap();
    assert_eq!(
        (sakke.params.0, sakke.id_scheme.0, sakke.data),
        (1, 2, &m[222..495])
    );
    assert_eq!(&m[220..222], [0x01, 0x11]); // 273
    assert_eq!(&sakke.data[..4], [0x04, 0x2d, 0xda, 0x50]);
    let ext = msg.general_extensions().next().unwrap();
    assert_eq!((ext.ext_type.0, ext.data.len()), (7, 71));
    assert_eq!(ext.data, &m[499..570]);
    assert_eq!(&ext.data[..4], [0x43, 0x00, 0x00, 0x00]);
    let sign = msg.sign().unwrap();
    assert_eq!((sign.sig_type.0, sign.signature), (2, &m[572..701]));
    assert_eq!(&sign.signature[..4], [0x22, 0x25, 0x9f, 0x03]);
    assert_eq!(msg.sign_offset(), Some(570));
    assert_eq!(
        msg.signed_portion(SignCoverage::Rfc3830).unwrap().len(),
        572
    );
    assert_eq!(
        msg.signed_portion(SignCoverage::WithoutSignHeader)
            .unwrap()
            .len(),
        570
    );
}

#[test]
fn csk_pck_and_legacy_maps() {
    let v = parse_vectors(MCX);
    // CSK: GENERIC-ID, CS ID 6 (CSK SRTCP for MCPTT), SPI = CSK-ID.
    let m = message("csk");
    let msg = mikey::parse(&m).unwrap();
    let CsIdMap::GenericId(e) = &msg.hdr().cs_id_map else {
        panic!()
    };
    assert_eq!(e.len(), 1);
    assert_eq!((e[0].cs_id, e[0].spi), (6, get(&v, "csk_CSK_ID")));
    assert_eq!(msg.general_extensions().next().unwrap().data.len(), 68);

    // PCK: empty map with #CS = 0, yet an SP payload (as Streamwide sends it).
    let m = message("pck");
    let msg = mikey::parse(&m).unwrap();
    assert_eq!(msg.hdr().cs_id_map, CsIdMap::Empty { cs_count: 0 });
    assert_eq!(msg.hdr().cs_id_map.map_type(), CsIdMapType::EMPTY);
    assert_eq!(msg.security_policies().count(), 1);
    assert_eq!(msg.payloads_with_offsets().next().unwrap().0, 10);

    // Legacy IWF: SRTP-ID map with two sessions, raw 17-octet key parameters in type 7.
    let m = message("gmk_legacy_iwf");
    let msg = mikey::parse(&m).unwrap();
    assert_eq!(
        msg.hdr().cs_id_map,
        CsIdMap::SrtpId(vec![
            SrtpIdEntry {
                policy_no: 0,
                ssrc: 0xcafe_babe,
                roc: 0
            },
            SrtpIdEntry {
                policy_no: 0,
                ssrc: 0,
                roc: 0
            },
        ])
    );
    assert_eq!(msg.payloads_with_offsets().next().unwrap().0, 28);
    let ext = msg.general_extensions().next().unwrap();
    assert_eq!(
        (ext.ext_type, ext.data.len()),
        (ExtType::KEY_PARAMETERS, 17)
    );
}

#[test]
fn annotations_tile_the_message() {
    for m in all_messages() {
        let msg = mikey::parse(&m).unwrap();
        let mut pos = 0;
        for a in msg.annotate() {
            assert_eq!(a.offset, pos, "{a:?}");
            pos += a.len;
        }
        assert_eq!(pos, m.len());
    }
    let m = message("gmk");
    let msg = mikey::parse(&m).unwrap();
    let texts: Vec<(usize, String)> = msg
        .annotate()
        .into_iter()
        .filter(|a| a.len > 0)
        .map(|a| (a.offset, a.text))
        .collect();
    for (at, text) in [
        (9, "CS ID map type = 2 (GENERIC-ID)"),
        (54, "ID role = 8 (hashed initiator UID (IDRuidi))"),
        (132, "ID data = \"kms.mydev.streamwide.com\""),
        (218, "SAKKE params = 1 (parameter set 1)"),
        (219, "ID scheme = 2 (3GPP MCX hashed UID)"),
        (220, "SAKKE data length = 273"),
        (496, "type = 7 (3GPP key parameters)"),
        (497, "length = 71"),
        (570, "S type = 2 (ECCSI) (high 4 bits), Signature len = 129"),
    ] {
        assert!(
            texts.contains(&(at, text.to_string())),
            "missing {at}: {text}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

#[test]
fn every_truncation_is_a_precise_error() {
    for m in all_messages() {
        for cut in 0..m.len() {
            let e = err(&m[..cut]);
            assert!(e.offset <= cut, "cut {cut}: {e}");
            match e.kind {
                ParseErrorKind::MissingHdr => assert_eq!(cut, 0),
                ParseErrorKind::Truncated {
                    needed, available, ..
                } => {
                    assert!(available < needed, "{e}");
                    assert_eq!(e.offset + available, cut, "{e}");
                }
                ParseErrorKind::LengthExceedsInput {
                    length, available, ..
                } => assert!(available < length, "{e}"),
                other => panic!("cut {cut}: unexpected {other:?}"),
            }
            assert!(e.to_string().contains(&format!("offset {}", e.offset)));
        }
    }
    assert_eq!(err(&[]).kind, ParseErrorKind::MissingHdr);
}

#[test]
fn truncation_errors_name_the_field_and_payload() {
    let m = message("gmk");
    // Cut inside the SIGN header.
    let e = err(&m[..571]);
    assert_eq!(e.offset, 570);
    assert_eq!(e.context, Context::Payload(PayloadType::SIGN));
    assert_eq!(
        e.kind,
        ParseErrorKind::Truncated {
            field: "S type / Signature len",
            needed: 2,
            available: 1
        }
    );
    // Cut inside the signature: the length field is at fault.
    let e = err(&m[..600]);
    assert_eq!(
        (e.offset, e.kind),
        (
            570,
            ParseErrorKind::LengthExceedsInput {
                field: "Signature",
                length: 129,
                available: 28
            }
        )
    );
    // Cut in the middle of HDR's CSB ID.
    let e = err(&m[..6]);
    assert_eq!((e.offset, e.context), (4, Context::Hdr));
    assert!(matches!(
        e.kind,
        ParseErrorKind::Truncated {
            field: "CSB ID",
            ..
        }
    ));
    assert_eq!(
        e.to_string(),
        "MIKEY HDR at offset 4: truncated: CSB ID needs 4 octet(s), 2 left"
    );
}

/// An over-long length case: where to write, what, and the expected context, field, length
/// and octets left.
type OverLong = (usize, &'static [u8], Context, &'static str, usize, usize);

#[test]
fn over_long_length_fields() {
    let m = message("gmk");
    let cases: [OverLong; 6] = [
        // GENERIC-ID Session Data Length.
        (
            14,
            &[0xff, 0xff],
            Context::Hdr,
            "GENERIC-ID Session Data",
            0xffff,
            701 - 16,
        ),
        // IDRuidi ID len.
        (
            56,
            &[0xff, 0xff],
            Context::Payload(PayloadType::IDR),
            "ID data",
            0xffff,
            701 - 58,
        ),
        // SP policy param length.
        (
            188,
            &[0xff, 0xff],
            Context::Payload(PayloadType::SP),
            "Policy params",
            0xffff,
            701 - 190,
        ),
        // The first SRTP policy TLV claims more than the 27 policy octets.
        (
            191,
            &[0x30],
            Context::Payload(PayloadType::SP),
            "policy parameter value",
            0x30,
            25,
        ),
        // SAKKE data length.
        (
            220,
            &[0xff, 0xff],
            Context::Payload(PayloadType::SAKKE),
            "SAKKE data",
            0xffff,
            701 - 222,
        ),
        // SIGN: type 2, length 0xfff.
        (
            570,
            &[0x2f, 0xff],
            Context::Payload(PayloadType::SIGN),
            "Signature",
            0xfff,
            129,
        ),
    ];
    for (at, bytes, context, field, length, available) in cases {
        let e = err(&with(&m, at, bytes));
        assert_eq!(
            (e.offset, e.context, e.kind),
            (
                at,
                context,
                ParseErrorKind::LengthExceedsInput {
                    field,
                    length,
                    available
                }
            ),
            "{e}"
        );
    }
    let e = err(&with(&m, 56, &[0xff, 0xff]));
    assert_eq!(
        e.to_string(),
        "MIKEY IDR payload at offset 56: ID data is 65535 octet(s) long by its length field, \
         but only 643 left"
    );
}

#[test]
fn unknown_unsupported_and_invalid_values() {
    let m = message("gmk");
    // HDR next payload = 99.
    let e = err(&with(&m, 2, &[99]));
    assert_eq!(
        (e.offset, e.context, e.kind),
        (2, Context::Hdr, ParseErrorKind::UnknownPayloadType(99))
    );
    // The SAKKE payload's next payload = 200.
    let e = err(&with(&m, 217, &[200]));
    assert_eq!(
        (e.offset, e.context, e.kind),
        (
            217,
            Context::Payload(PayloadType::SAKKE),
            ParseErrorKind::UnknownPayloadType(200)
        )
    );
    assert_eq!(
        e.to_string(),
        "MIKEY SAKKE payload at offset 217: unknown next payload type 200"
    );
    // Defined but not decoded here: PKE, DH, CHASH, TR, RANDR, TP, TICKET, Key data.
    for t in [2u8, 3, 8, 13, 15, 16, 17, 20] {
        let e = err(&with(&m, 25, &[t]));
        assert_eq!(
            (e.offset, e.kind),
            (25, ParseErrorKind::UnsupportedPayloadType(t))
        );
    }
    // Bad version.
    let e = err(&with(&m, 0, &[2]));
    assert_eq!((e.offset, e.kind), (0, ParseErrorKind::BadVersion(2)));
    // Unknown CS ID map type.
    let e = err(&with(&m, 9, &[7]));
    assert_eq!(
        (e.offset, e.kind),
        (
            9,
            ParseErrorKind::InvalidField {
                field: "CS ID map type",
                value: 7
            }
        )
    );
    // Unknown TS type.
    let e = err(&with(&m, 26, &[9]));
    assert_eq!(
        (e.offset, e.context, e.kind),
        (
            26,
            Context::Payload(PayloadType::T),
            ParseErrorKind::InvalidField {
                field: "TS type",
                value: 9
            }
        )
    );
    // Unregistered values in fields that do not decide the layout are kept as they are.
    let odd = with(&with(&with(&m, 54, &[0x77]), 218, &[0xf0]), 496, &[0x99]);
    let msg = mikey::parse(&odd).unwrap();
    assert_eq!(msg.idrs().next().unwrap().role, IdRole(0x77));
    assert_eq!(msg.idrs().next().unwrap().role.name(), None);
    assert_eq!(msg.sakke().unwrap().params, SakkeParams(0xf0));
    assert_eq!(msg.encode(), odd);
}

#[test]
fn trailing_data() {
    for m in all_messages() {
        let mut long = m.clone();
        long.extend_from_slice(&[0, 0, 0]);
        let e = err(&long);
        assert_eq!(
            (e.offset, e.context, e.kind),
            (
                m.len(),
                Context::Payload(PayloadType::SIGN),
                ParseErrorKind::TrailingData { length: 3 }
            )
        );
        assert!(e.to_string().contains("3 trailing octet(s)"));
    }
    // The General Extension says "last payload": the SIGN payload becomes trailing data.
    let m = message("gmk");
    let e = err(&with(&m, 495, &[0]));
    assert_eq!(
        (e.offset, e.context, e.kind),
        (
            570,
            Context::Payload(PayloadType::GENERAL_EXTENSION),
            ParseErrorKind::TrailingData { length: 131 }
        )
    );
}

#[test]
fn parse_error_is_a_std_error() {
    let e: Box<dyn std::error::Error> = Box::new(err(&[1]));
    assert!(
        e.to_string()
            .starts_with("MIKEY HDR at offset 1: truncated")
    );
    let b: Box<dyn std::error::Error> = Box::new(BuildError::SignNotLast);
    assert_eq!(b.to_string(), "SIGN must be the last payload");
}

// ---------------------------------------------------------------------------------------------
// Built messages
// ---------------------------------------------------------------------------------------------

fn hdr(map: CsIdMap<'_>) -> Hdr<'_> {
    Hdr {
        data_type: DataType::SAKKE,
        v: false,
        prf_func: PrfFunc::PRF_HMAC_SHA_256,
        csb_id: 0x1234_5678,
        cs_id_map: map,
    }
}

/// A message with every payload type this codec decodes.
#[test]
fn built_message_with_every_payload_round_trips() {
    let mac = [0xab; 20];
    let ver = [0xcd; 32];
    let sakke_data = [0x04; 273];
    let payloads = vec![
        Payload::T(Timestamp::Ntp(0x0102_0304_0506_0708)),
        Payload::T(Timestamp::Counter(7)),
        Payload::T(Timestamp::NtpUtc32(0xec89_8da8)),
        Payload::Rand(Rand { rand: &[9; 16] }),
        Payload::Id(Id {
            id_type: IdType::NAI,
            data: b"alice@example.org",
        }),
        Payload::Idr(Idr {
            role: IdRole::INITIATOR,
            id_type: IdType::BYTE_STRING,
            data: &[1, 2, 3],
        }),
        Payload::Cert(Cert {
            cert_type: CertType::X509V3_SIGN,
            data: &[0x30, 0x82],
        }),
        Payload::Sp(SecurityPolicy {
            policy_no: 3,
            prot_type: ProtType::SRTP,
            params: vec![
                PolicyParam {
                    param_type: 0,
                    value: &[6],
                },
                PolicyParam {
                    param_type: 12,
                    value: &[],
                },
            ],
        }),
        Payload::Sp(SecurityPolicy {
            policy_no: 4,
            prot_type: ProtType(9),
            params: vec![],
        }),
        Payload::Kemac(Kemac {
            encr_alg: EncrAlg::AES_KW_128,
            encr_data: &[1, 2, 3, 4],
            mac_alg: MacAlg::HMAC_SHA_1_160,
            mac: &mac,
        }),
        Payload::Kemac(Kemac {
            encr_alg: EncrAlg::NULL,
            encr_data: &[],
            mac_alg: MacAlg::NULL,
            mac: &[],
        }),
        Payload::V(Verification {
            auth_alg: MacAlg::HMAC_SHA_256_256,
            data: &ver,
        }),
        Payload::Err(ErrorPayload {
            error_no: ErrorNo::UNSUPPORTED_MESSAGE_TYPE,
            reserved: 0,
        }),
        Payload::Sakke(Sakke {
            params: SakkeParams::PARAMETER_SET_1,
            id_scheme: IdScheme::TEL_URI_MONTHLY,
            data: &sakke_data,
        }),
        Payload::GeneralExtension(GeneralExtension {
            ext_type: ExtType::VENDOR_ID,
            data: b"vendor",
        }),
        Payload::Sign(Sign {
            sig_type: SignatureType::ECCSI,
            signature: &[0x55; 129],
        }),
    ];
    let maps = [
        CsIdMap::Empty { cs_count: 0 },
        CsIdMap::Empty { cs_count: 3 },
        CsIdMap::SrtpId(vec![]),
        CsIdMap::SrtpId(vec![SrtpIdEntry {
            policy_no: 1,
            ssrc: 2,
            roc: 3,
        }]),
        CsIdMap::GenericId(vec![
            GenericIdEntry {
                cs_id: 0,
                prot_type: ProtType::SRTP,
                s: true,
                policy_nos: &[3, 4],
                session_data: &[0xaa; 10],
                spi: &[],
            },
            GenericIdEntry {
                cs_id: 1,
                prot_type: ProtType::SRTP,
                s: false,
                policy_nos: &[],
                session_data: &[],
                spi: &[0xbb; 8],
            },
        ]),
    ];
    for map in maps {
        let msg = Message::new(hdr(map), payloads.clone()).unwrap();
        assert_eq!(msg.source(), None);
        let octets = msg.encode();
        assert_eq!(octets.len(), msg.encoded_len());
        let back = mikey::parse(&octets).unwrap();
        assert_eq!(back, msg);
        assert_eq!(back.encode(), octets);
        // Signed portion of a built message: encoded, the same octets as for the parsed one.
        let built = msg.signed_portion(SignCoverage::Rfc3830).unwrap();
        assert!(matches!(built, std::borrow::Cow::Owned(_)));
        assert_eq!(built, back.signed_portion(SignCoverage::Rfc3830).unwrap());
        assert_eq!(&*built, &octets[..octets.len() - 129]);
        assert_eq!(msg.sign_offset(), back.sign_offset());
        // The annotations tile built messages too.
        let end = back.annotate().iter().map(|a| a.offset + a.len).max();
        assert_eq!(end, Some(octets.len()));
    }
    // No payload at all: HDR alone with next payload 0; no SIGN, no signed portion.
    let msg = Message::new(hdr(CsIdMap::Empty { cs_count: 0 }), vec![]).unwrap();
    let octets = msg.encode();
    assert_eq!(octets, [1, 26, 0, 1, 0x12, 0x34, 0x56, 0x78, 0, 1]);
    assert_eq!(mikey::parse(&octets).unwrap(), msg);
    assert_eq!(msg.sign_offset(), None);
    assert_eq!(msg.signed_portion(SignCoverage::Rfc3830), None);
    let (h, p) = msg.into_parts();
    assert_eq!((h.csb_id, p.len()), (0x1234_5678, 0));
}

#[test]
fn build_errors() {
    let h = || hdr(CsIdMap::Empty { cs_count: 0 });
    let sign = Payload::Sign(Sign {
        sig_type: SignatureType::ECCSI,
        signature: &[0; 129],
    });
    let rand = Payload::Rand(Rand { rand: &[0; 16] });
    assert_eq!(
        Message::new(h(), vec![sign.clone(), rand.clone()]),
        Err(BuildError::SignNotLast)
    );
    let big = vec![0u8; 70_000];
    let cases: Vec<(Payload<'_>, BuildError)> = vec![
        (
            Payload::Rand(Rand { rand: &big[..256] }),
            BuildError::TooLong {
                field: "RAND",
                length: 256,
                max: 255,
            },
        ),
        (
            Payload::Idr(Idr {
                role: IdRole::INITIATOR,
                id_type: IdType::URI,
                data: &big[..65_536],
            }),
            BuildError::TooLong {
                field: "ID data",
                length: 65_536,
                max: 65_535,
            },
        ),
        (
            Payload::Sign(Sign {
                sig_type: SignatureType::ECCSI,
                signature: &big[..4096],
            }),
            BuildError::TooLong {
                field: "Signature",
                length: 4096,
                max: 4095,
            },
        ),
        (
            Payload::Sign(Sign {
                sig_type: SignatureType(16),
                signature: &[],
            }),
            BuildError::ValueOutOfRange {
                field: "S type",
                value: 16,
            },
        ),
        (
            Payload::Kemac(Kemac {
                encr_alg: EncrAlg::NULL,
                encr_data: &[],
                mac_alg: MacAlg::HMAC_SHA_1_160,
                mac: &[0; 32],
            }),
            BuildError::WrongLength {
                field: "MAC",
                expected: 20,
                got: 32,
            },
        ),
        (
            Payload::V(Verification {
                auth_alg: MacAlg(9),
                data: &[],
            }),
            BuildError::UnknownAlgorithm {
                field: "Auth alg",
                value: 9,
            },
        ),
        (
            Payload::Sp(SecurityPolicy {
                policy_no: 0,
                prot_type: ProtType::SRTP,
                params: vec![PolicyParam {
                    param_type: 0,
                    value: &big[..256],
                }],
            }),
            BuildError::TooLong {
                field: "policy parameter value",
                length: 256,
                max: 255,
            },
        ),
        (
            Payload::Sakke(Sakke {
                params: SakkeParams::PARAMETER_SET_1,
                id_scheme: IdScheme::MCX_HASHED_UID,
                data: &big[..65_536],
            }),
            BuildError::TooLong {
                field: "SAKKE data",
                length: 65_536,
                max: 65_535,
            },
        ),
    ];
    for (p, e) in cases {
        assert_eq!(Message::new(h(), vec![p]), Err(e));
    }
    let mut bad = h();
    bad.prf_func = PrfFunc(0x80);
    assert_eq!(
        Message::new(bad, vec![]),
        Err(BuildError::ValueOutOfRange {
            field: "PRF func",
            value: 0x80
        })
    );
    let too_many = vec![
        GenericIdEntry {
            cs_id: 0,
            prot_type: ProtType::SRTP,
            s: false,
            policy_nos: &[],
            session_data: &[],
            spi: &[],
        };
        256
    ];
    assert!(matches!(
        Message::new(hdr(CsIdMap::GenericId(too_many)), vec![]),
        Err(BuildError::TooLong { length: 256, .. })
    ));
    let policies = [0u8; 128];
    let entry = GenericIdEntry {
        cs_id: 0,
        prot_type: ProtType::SRTP,
        s: false,
        policy_nos: &policies,
        session_data: &[],
        spi: &[],
    };
    assert!(matches!(
        Message::new(hdr(CsIdMap::GenericId(vec![entry])), vec![]),
        Err(BuildError::TooLong { max: 127, .. })
    ));
    assert!(BuildError::SignNotLast.to_string().contains("SIGN"));
}

#[test]
fn sakke_to_self_extension() {
    // A SAKKE payload standing alone (next payload 0xee, ignored) inside General Extension 6.
    let mut inner = vec![0xee, 1, 2, 0x01, 0x11];
    inner.extend_from_slice(&[0x04; 273]);
    let ext = GeneralExtension {
        ext_type: ExtType::SAKKE_TO_SELF,
        data: &inner,
    };
    let s = ext.sakke_to_self().unwrap().unwrap();
    let mut again = s.encode_standalone().unwrap();
    assert_eq!(again[0], 0); // next payload 0 when built here
    again[0] = 0xee;
    assert_eq!(again, inner);
    assert_eq!(
        (s.params, s.id_scheme, s.data.len()),
        (SakkeParams::PARAMETER_SET_1, IdScheme::MCX_HASHED_UID, 273)
    );
    assert_eq!(ext.key_parameters(), None);
    let msg = Message::new(
        hdr(CsIdMap::Empty { cs_count: 0 }),
        vec![Payload::GeneralExtension(ext)],
    )
    .unwrap();
    let octets = msg.encode();
    assert_eq!(mikey::parse(&octets).unwrap(), msg);
    assert!(
        msg.annotate()
            .iter()
            .any(|a| a.text == "SAKKE data length = 273" && a.depth == 2)
    );
    // Malformed inner payloads are reported relative to the extension data.
    let bad = GeneralExtension {
        ext_type: ExtType::SAKKE_TO_SELF,
        data: &inner[..100],
    };
    let e = bad.sakke_to_self().unwrap().unwrap_err();
    assert_eq!(e.offset, 3);
    let mut long = inner.clone();
    long.push(0);
    let e = Sakke::parse_standalone(&long).unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::TrailingData { length: 1 });
}

#[test]
fn key_data_sub_payloads() {
    let list = [
        KeyData {
            key_type: KeyDataType::TGK,
            key: &[1; 16],
            salt: None,
            validity: KeyValidity::Null,
        },
        KeyData {
            key_type: KeyDataType::TEK_SALT,
            key: &[2; 16],
            salt: Some(&[3; 14]),
            validity: KeyValidity::Spi(&[4; 4]),
        },
        KeyData {
            key_type: KeyDataType::MPK,
            key: &[5; 32],
            salt: None,
            validity: KeyValidity::Interval {
                from: &[6; 6],
                to: &[7; 6],
            },
        },
    ];
    let octets = KeyData::encode_list(&list).unwrap();
    assert_eq!(octets[0], 20); // next: another Key data
    assert_eq!(octets[1], 0x00); // TGK, KV null
    assert_eq!(KeyData::parse_list(&octets).unwrap(), list);
    assert_eq!(KeyData::parse_list(&[]).unwrap(), []);
    assert_eq!(KeyData::encode_list(&[]).unwrap(), Vec::<u8>::new());
    // Every truncation fails.
    for cut in 1..octets.len() {
        assert!(KeyData::parse_list(&octets[..cut]).is_err(), "cut {cut}");
    }
    // Unknown type, unknown KV, a bad next payload, trailing octets.
    let e = KeyData::parse_list(&[0, 0x70, 0, 0]).unwrap_err();
    assert_eq!(
        (e.offset, e.context, e.kind),
        (
            1,
            Context::KeyData,
            ParseErrorKind::InvalidField {
                field: "Key data Type",
                value: 7
            }
        )
    );
    let e = KeyData::parse_list(&[0, 0x03, 0, 0]).unwrap_err();
    assert_eq!(
        e.kind,
        ParseErrorKind::InvalidField {
            field: "Key data KV",
            value: 3
        }
    );
    let e = KeyData::parse_list(&[5, 0x00, 0, 0]).unwrap_err();
    assert_eq!((e.offset, e.context), (0, Context::KeyData));
    let e = KeyData::parse_list(&[0, 0x00, 0, 0, 9]).unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::TrailingData { length: 1 });
    // A salt must come with a +SALT type, and only then.
    let bad = KeyData {
        key_type: KeyDataType::TEK,
        key: &[],
        salt: Some(&[]),
        validity: KeyValidity::Null,
    };
    assert!(KeyData::encode_list(&[bad]).is_err());
    // A KEMAC with NULL encryption carries them in clear.
    let msg = Message::new(
        hdr(CsIdMap::Empty { cs_count: 0 }),
        vec![Payload::Kemac(Kemac {
            encr_alg: EncrAlg::NULL,
            encr_data: &octets,
            mac_alg: MacAlg::HMAC_SHA_256_256,
            mac: &[0; 32],
        })],
    )
    .unwrap();
    let enc = msg.encode();
    let back = mikey::parse(&enc).unwrap();
    let Payload::Kemac(k) = &back.payloads()[0] else {
        panic!()
    };
    assert_eq!(KeyData::parse_list(k.encr_data).unwrap(), list);
}

#[test]
fn registry_names() {
    assert_eq!(PayloadType::SAKKE.to_string(), "26 (SAKKE)");
    assert_eq!(PayloadType(99).to_string(), "99");
    assert_eq!(
        IdRole::HASHED_RESPONDER.name(),
        Some("hashed responder UID (IDRuidr)")
    );
    assert_eq!(u8::from(ExtType::from(7)), 7);
    assert_eq!(MacAlg::HMAC_SHA_256_256.mac_len(), Some(32));
    assert_eq!(MacAlg(3).mac_len(), None);
    assert_eq!(KeyDataType(9).has_salt(), None);
    assert_eq!(
        Context::Payload(PayloadType(99)).to_string(),
        "payload of type 99"
    );
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

/// Parses without panicking; whatever is accepted re-encodes to exactly the input.
fn check_total(input: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(msg) = mikey::parse(input) {
        prop_assert_eq!(msg.encode(), input);
        prop_assert_eq!(msg.encoded_len(), input.len());
        if let Some(p) = msg.signed_portion(SignCoverage::Rfc3830) {
            prop_assert_eq!(&*p, &input[..msg.sign_offset().unwrap() + 2]);
        }
        let end = msg
            .annotate()
            .iter()
            .map(|a| a.offset + a.len)
            .max()
            .unwrap();
        prop_assert_eq!(end, input.len());
    }
    Ok(())
}

#[derive(Debug, Clone)]
enum Mutation {
    Set(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        1 => any::<usize>().prop_map(Mutation::Remove),
        1 => any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(m: &mut Vec<u8>, mutation: &Mutation) {
    let n = m.len();
    match *mutation {
        Mutation::Set(i, b) if n > 0 => m[i % n] = b,
        Mutation::Insert(i, b) => m.insert(i % (n + 1), b),
        Mutation::Remove(i) if n > 0 => {
            m.remove(i % n);
        }
        Mutation::Truncate(i) => m.truncate(i % (n + 1)),
        _ => {}
    }
}

/// Small owned payload descriptions, turned into borrowed [`Payload`]s.
#[derive(Debug, Clone)]
struct Spec {
    kind: u8,
    a: u8,
    b: u8,
    c: u64,
    data: Vec<u8>,
    extra: Vec<u8>,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        0u8..12,
        any::<u8>(),
        any::<u8>(),
        any::<u64>(),
        proptest::collection::vec(any::<u8>(), 0..300),
        proptest::collection::vec(any::<u8>(), 0..40),
    )
        .prop_map(|(kind, a, b, c, data, extra)| Spec {
            kind,
            a,
            b,
            c,
            data,
            extra,
        })
}

fn to_payload(s: &Spec) -> Payload<'_> {
    let short = &s.data[..s.data.len().min(255)];
    match s.kind {
        0 => Payload::T(match s.a % 4 {
            0 => Timestamp::NtpUtc(s.c),
            1 => Timestamp::Ntp(s.c),
            2 => Timestamp::Counter(u32::try_from(s.c >> 32).unwrap()),
            _ => Timestamp::NtpUtc32(u32::try_from(s.c & 0xffff_ffff).unwrap()),
        }),
        1 => Payload::Rand(Rand { rand: short }),
        2 => Payload::Idr(Idr {
            role: IdRole(s.a),
            id_type: IdType(s.b),
            data: &s.data,
        }),
        3 => Payload::Id(Id {
            id_type: IdType(s.a),
            data: &s.data,
        }),
        4 => Payload::Sp(SecurityPolicy {
            policy_no: s.a,
            prot_type: ProtType(s.b),
            params: s
                .extra
                .chunks(3)
                .map(|c| PolicyParam {
                    param_type: c[0],
                    value: &c[1..],
                })
                .collect(),
        }),
        5 => Payload::Sakke(Sakke {
            params: SakkeParams(s.a),
            id_scheme: IdScheme(s.b),
            data: &s.data,
        }),
        6 => Payload::GeneralExtension(GeneralExtension {
            ext_type: ExtType(s.a),
            data: &s.data,
        }),
        7 => Payload::Err(ErrorPayload {
            error_no: ErrorNo(s.a),
            reserved: u16::from(s.b),
        }),
        8 => {
            let alg = MacAlg(s.b % 3);
            let n = alg.mac_len().unwrap();
            let mac = if s.extra.len() >= n {
                &s.extra[..n]
            } else {
                &[0u8; 32][..n]
            };
            Payload::Kemac(Kemac {
                encr_alg: EncrAlg(s.a),
                encr_data: &s.data,
                mac_alg: alg,
                mac,
            })
        }
        9 => {
            let alg = MacAlg(s.b % 3);
            let n = alg.mac_len().unwrap();
            Payload::V(Verification {
                auth_alg: alg,
                data: &[0x5a; 32][..n],
            })
        }
        10 => Payload::Cert(Cert {
            cert_type: CertType(s.a),
            data: &s.data,
        }),
        _ => Payload::Sign(Sign {
            sig_type: SignatureType(s.a & 0x0f),
            signature: &s.data,
        }),
    }
}

fn map_spec() -> impl Strategy<Value = (u8, u8, Vec<Vec<u8>>)> {
    (
        0u8..3,
        any::<u8>(),
        proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 0..4),
    )
}

fn to_map(m: &(u8, u8, Vec<Vec<u8>>)) -> CsIdMap<'_> {
    match m.0 {
        0 => CsIdMap::SrtpId(
            m.2.iter()
                .map(|v| SrtpIdEntry {
                    policy_no: u8::try_from(v.len()).unwrap(),
                    ssrc: 0xdead_beef,
                    roc: u32::from(m.1),
                })
                .collect(),
        ),
        1 => CsIdMap::Empty { cs_count: m.1 },
        _ => CsIdMap::GenericId(
            m.2.iter()
                .map(|v| {
                    let (p, rest) = v.split_at(v.len() / 3);
                    let (sd, spi) = rest.split_at(rest.len() / 2);
                    GenericIdEntry {
                        cs_id: m.1,
                        prot_type: ProtType::SRTP,
                        s: v.len() % 2 == 1,
                        policy_nos: p,
                        session_data: sd,
                        spi,
                    }
                })
                .collect(),
        ),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        check_total(&bytes)?;
        // The same behind a valid HDR start, so that the payload decoders are reached.
        let mut v = vec![1u8, 26];
        v.extend_from_slice(&bytes);
        check_total(&v)?;
    }

    #[test]
    fn mutated_interop_messages_never_panic(
        which in 0usize..4,
        mutations in proptest::collection::vec(mutation(), 1..6),
    ) {
        let mut m = message(NAMES[which]);
        for mu in &mutations {
            apply(&mut m, mu);
        }
        check_total(&m)?;
    }

    #[test]
    fn every_prefix_of_a_mutated_message_is_handled(which in 0usize..4, at in 0usize..701, b in any::<u8>()) {
        let mut m = message(NAMES[which]);
        let n = m.len();
        m[at % n] = b;
        for cut in (0..n).step_by(7) {
            check_total(&m[..cut])?;
        }
    }

    #[test]
    fn built_messages_round_trip(
        map in map_spec(),
        specs in proptest::collection::vec(spec(), 0..8),
        data_type in any::<u8>(),
        v in any::<bool>(),
        prf in 0u8..128,
        csb_id in any::<u32>(),
    ) {
        let payloads: Vec<Payload<'_>> = specs.iter().map(to_payload).collect();
        // SIGN only last.
        let n = payloads.len();
        let sign_inside = payloads
            .iter()
            .take(n.saturating_sub(1))
            .any(|p| matches!(p, Payload::Sign(_)));
        let hdr = Hdr {
            data_type: DataType(data_type),
            v,
            prf_func: PrfFunc(prf),
            csb_id,
            cs_id_map: to_map(&map),
        };
        let built = Message::new(hdr, payloads);
        if sign_inside {
            prop_assert_eq!(built, Err(BuildError::SignNotLast));
            return Ok(());
        }
        let msg = built.unwrap();
        let octets = msg.encode();
        prop_assert_eq!(octets.len(), msg.encoded_len());
        let back = mikey::parse(&octets).unwrap();
        prop_assert_eq!(&back, &msg);
        prop_assert_eq!(back.encode(), octets);
    }
}

/// Hostile sizes are refused before the work they would cause: a message over
/// `MAX_MESSAGE_LEN` octets before any payload is read, and the payload after the
/// `MAX_PAYLOADS`-th (the 10 MB message of 163 840 extensions).
#[test]
fn message_size_and_payload_count_are_bounded() {
    let data = [0u8; 4];
    let ext = || {
        Payload::GeneralExtension(GeneralExtension {
            ext_type: ExtType::SAKKE_TO_SELF,
            data: &data,
        })
    };
    let build = |n: usize| {
        Message::new(
            hdr(CsIdMap::Empty { cs_count: 0 }),
            (0..n).map(|_| ext()).collect(),
        )
        .unwrap()
        .encode()
    };
    let at_limit = build(mikey::MAX_PAYLOADS);
    assert_eq!(
        mikey::parse(&at_limit).unwrap().payloads().len(),
        mikey::MAX_PAYLOADS
    );
    let over = build(mikey::MAX_PAYLOADS + 1);
    let e = err(&over);
    assert_eq!(e.kind, ParseErrorKind::TooManyPayloads);
    assert!(e.to_string().contains("more than 64 payloads"), "{e}");

    let huge = build(163_840 / 16);
    assert!(huge.len() > mikey::MAX_MESSAGE_LEN);
    let e = err(&huge);
    assert_eq!(
        (e.offset, e.kind),
        (0, ParseErrorKind::MessageTooLong { length: huge.len() })
    );
    let mut just = at_limit.clone();
    just.resize(mikey::MAX_MESSAGE_LEN + 1, 0);
    assert_eq!(
        err(&just).kind,
        ParseErrorKind::MessageTooLong {
            length: mikey::MAX_MESSAGE_LEN + 1
        }
    );
}
