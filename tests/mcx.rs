//! TS 33.180 profile: UIDs, key periods, GUK-ID, DPCK and the key-parameters payload, SRTP key
//! derivation, against the published MCX interop vectors (vectors/mcx-interop.txt).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine;
use common::{MCX, get, parse};
use mikey_sakke::mcx::key_id::{KeyId, PurposeTag, gmk_id_from_guk_id, guk_id};
use mikey_sakke::mcx::key_params::{
    self, GroupIdIe, KeyParameters, KeyParamsError, ProtectedHeader,
};
use mikey_sakke::mcx::srtp::{self, ENCR_KEY_CONSTANT, SALT_CONSTANT, TEK_CONSTANT};
use mikey_sakke::mcx::uid::{KeyPeriods, minimal_be, uid};

fn text(name: &str) -> String {
    MCX.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} = ")))
        .unwrap_or_else(|| panic!("{name} missing"))
        .trim()
        .to_string()
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes(b.try_into().unwrap())
}

#[test]
fn uid_vectors() {
    let v = parse(MCX);
    for n in 1..=5 {
        let inputs = text(&format!("uid{n}_inputs"));
        let field = |k: &str| {
            inputs
                .split_whitespace()
                .find_map(|w| w.strip_prefix(&format!("{k}=")))
                .unwrap()
                .to_string()
        };
        let periods = KeyPeriods {
            length: field("period").parse().unwrap(),
            offset: field("offset").parse().unwrap(),
        };
        let got = uid(
            field("uri").as_bytes(),
            field("kms").as_bytes(),
            periods,
            field("period_no").parse().unwrap(),
        )
        .unwrap();
        assert_eq!(got.to_vec(), get(&v, &format!("uid{n}")), "uid{n}");
    }
}

#[test]
fn key_set_user_ids_and_period_number() {
    let v = parse(MCX);
    let kms = text("kms_KmsUri");
    let periods = KeyPeriods {
        length: text("kms_UserKeyPeriod").parse().unwrap(),
        offset: text("kms_UserKeyOffset").parse().unwrap(),
    };
    // the messages' timestamp 0xEC898DA8 falls in key period 236
    assert_eq!(periods.period_number(0xEC89_8DA8).unwrap(), 236);
    assert_eq!(periods.period_start(236).unwrap(), 236 * 16_777_215);
    for who in ["gms", "alice", "bob", "iwf"] {
        let uri = text(&format!("{who}_UserUri"));
        let no: u64 = text(&format!("{who}_KeyPeriodNo")).parse().unwrap();
        assert_eq!(
            uid(uri.as_bytes(), kms.as_bytes(), periods, no)
                .unwrap()
                .to_vec(),
            get(&v, &format!("{who}_UserID")),
            "{who}"
        );
    }
    assert!(
        KeyPeriods {
            length: 0,
            offset: 0
        }
        .period_number(5)
        .is_err()
    );
    assert!(
        KeyPeriods {
            length: 10,
            offset: 100
        }
        .period_number(5)
        .is_err()
    );
}

#[test]
fn minimal_integer_encoding() {
    assert_eq!(minimal_be(0), vec![0]);
    assert_eq!(minimal_be(255), vec![255]);
    assert_eq!(minimal_be(256), vec![1, 0]);
    assert_eq!(minimal_be(2_592_000), vec![0x27, 0x8d, 0x00]);
}

#[test]
fn guk_id_and_back() {
    let v = parse(MCX);
    let gmk = get(&v, "gmk_GMK");
    let gmk_id = KeyId(be32(get(&v, "gmk_GMK_ID")));
    assert_eq!(gmk_id.purpose(), Some(PurposeTag::Gmk));
    let user = text("gmk_Responder_URI");
    let guk = guk_id(gmk, gmk_id, user.as_bytes()).unwrap();
    assert_eq!(guk, KeyId(be32(get(&v, "gmk_GUK_ID"))));
    assert_eq!(guk.purpose(), Some(PurposeTag::Gmk));
    assert_eq!(
        gmk_id_from_guk_id(gmk, guk, user.as_bytes()).unwrap(),
        gmk_id
    );
    // other members get other GUK-IDs
    assert_ne!(guk_id(gmk, gmk_id, b"sip:bob@streamwide.com").unwrap(), guk);
    // purpose tags of the other vectors
    assert_eq!(
        KeyId(be32(get(&v, "csk_CSK_ID"))).purpose(),
        Some(PurposeTag::Csk)
    );
    assert_eq!(
        KeyId(be32(get(&v, "pck_PCK_ID"))).purpose(),
        Some(PurposeTag::Pck)
    );
    assert_eq!(KeyId::new(PurposeTag::Musik, 0xFFFF_FFFF).0, 0x6FFF_FFFF);
    assert_eq!(KeyId(0x7000_0000).purpose(), None);
}

#[test]
fn srtp_key_derivation_vectors() {
    let v = parse(MCX);
    let tgk = get(&v, "kd_tgk");
    let rand = get(&v, "kd_rand");
    let cat = |c1: u32, c2: u32, cs: &str, csb: &str| {
        let cs_id = get(&v, cs)[0];
        let csb_id = be32(get(&v, csb));
        let mut out = srtp::derive(tgk, c1, cs_id, csb_id, rand, 16)
            .unwrap()
            .to_vec();
        out.extend_from_slice(&srtp::derive(tgk, c2, cs_id, csb_id, rand, 12).unwrap());
        out
    };
    assert_eq!(
        cat(ENCR_KEY_CONSTANT, SALT_CONSTANT, "kd1_cs_id", "kd1_csb_id"),
        get(
            &v,
            "kd1_encr_key_const_15798CEF_16B_then_salt_const_39A2C14B_12B"
        )
    );
    assert_eq!(
        cat(ENCR_KEY_CONSTANT, SALT_CONSTANT, "kd2_cs_id", "kd2_csb_id"),
        get(&v, "kd2_encr_key_then_salt")
    );
    assert_eq!(
        cat(TEK_CONSTANT, SALT_CONSTANT, "kd3_cs_id", "kd3_csb_id"),
        get(&v, "kd3_tek_const_2AD01C64_16B_then_salt_12B")
    );
    // the GMK message: TGK = GMK, CSB ID = GUK-ID, CS ID 4 (MCPTT group call)
    let keys = srtp::srtp_master_keys(
        get(&v, "gmk_GMK"),
        4,
        be32(get(&v, "gmk_GUK_ID")),
        get(&v, "gmk_GMK_RAND"),
    )
    .unwrap();
    assert_eq!(
        keys.key.to_vec(),
        get(&v, "gmk_srtp_master_key_derived_here")
    );
    assert_eq!(
        keys.salt.to_vec(),
        get(&v, "gmk_srtp_master_salt_derived_here")
    );
    assert!(!format!("{keys:?}").contains("AC"));
    // MKIs
    let gmk_id = KeyId(be32(get(&v, "gmk_GMK_ID")));
    let guk = KeyId(be32(get(&v, "gmk_GUK_ID")));
    assert_eq!(
        srtp::mki_group(gmk_id, guk).to_vec(),
        [get(&v, "gmk_GMK_ID"), get(&v, "gmk_GUK_ID")].concat()
    );
    assert_eq!(
        srtp::mki_private_call(KeyId(be32(get(&v, "pck_PCK_ID")))).to_vec(),
        get(&v, "pck_PCK_ID")
    );
    // PRF output lengths beyond one block, and a TGK longer than 256 bits, are handled
    assert_eq!(srtp::prf(&[7u8; 40], b"label", 70).unwrap().len(), 70);
}

/// The 71-octet type-7 general extension of the published GMK message (octets 499..570).
fn gmk_key_params_payload() -> Vec<u8> {
    let msg = base64::engine::general_purpose::STANDARD
        .decode(text("gmk_I_MESSAGE_b64"))
        .unwrap();
    assert_eq!(msg.len(), 701);
    msg[499..570].to_vec()
}

#[test]
fn key_parameters_of_the_gmk_vector() {
    let v = parse(MCX);
    let gmk = get(&v, "gmk_GMK");
    let guk = KeyId(be32(get(&v, "gmk_GUK_ID")));
    assert_eq!(
        key_params::dpck(gmk, guk).unwrap().to_vec(),
        get(&v, "gmk_dpck_derived_here")
    );
    let payload = gmk_key_params_payload();
    let (header, params) = key_params::open(gmk, &payload).unwrap();
    assert_eq!(header.dppk_id, guk);
    assert_eq!(
        params.encode().unwrap(),
        get(&v, "gmk_key_parameters_plaintext")
    );
    assert_eq!(params.key_type, 0);
    assert_eq!(params.status, key_params::STATUS_NOT_REVOKED);
    assert_eq!(params.group_ids, Some(vec![]));
    // sealing the same parameters with the same header reproduces the octets
    assert_eq!(key_params::seal(gmk, &header, &params).unwrap(), payload);
    // a wrong key or a flipped bit fails opaquely
    assert_eq!(
        key_params::open(&[0u8; 16], &payload).unwrap_err(),
        KeyParamsError::Decryption
    );
    for i in [0usize, 5, 12, 30, 40, 60, 70] {
        let mut t = payload.clone();
        t[i] ^= 0x01;
        assert!(key_params::open(gmk, &t).is_err(), "flip at {i}");
    }
    // truncation at every length is a clean error
    for n in 0..payload.len() {
        assert!(key_params::open(gmk, &payload[..n]).is_err());
    }
}

#[test]
fn key_parameters_round_trip_with_groups() {
    let params = KeyParameters {
        key_type: PurposeTag::Gmk.value(),
        status: key_params::STATUS_NOT_REVOKED,
        activation_time: [0, 0, 0, 0, 1],
        expiry_time: [0, 0, 0, 0, 2],
        text: b"fire brigade north".to_vec(),
        group_ids: Some(vec![GroupIdIe {
            iei: 1,
            value: b"sip:group1@example.org".to_vec(),
        }]),
    };
    let enc = params.encode().unwrap();
    assert_eq!(KeyParameters::decode(&enc).unwrap(), params);
    let header = ProtectedHeader {
        date_time: [0; 5],
        payload_id: 0,
        sequence: 0,
        iv: [9; 16],
        dppk_id: KeyId(0x0123_4567),
        iei: 0,
    };
    let sealed = key_params::seal(&[5u8; 16], &header, &params).unwrap();
    let (h, p) = key_params::open(&[5u8; 16], &sealed).unwrap();
    assert_eq!((h, p), (header, params));
    // malformed plaintexts
    assert!(matches!(
        KeyParameters::decode(&enc[..enc.len() - 1]),
        Err(KeyParamsError::Truncated { .. })
    ));
    let mut extra = enc.clone();
    extra.push(0);
    assert!(KeyParameters::decode(&extra).is_err());
    assert!(matches!(
        key_params::parse_header(&[0x44; 40]),
        Err(KeyParamsError::BadMessageType(0x44))
    ));
}
