//! Access-token checks (`server::auth`): ES256 and RS256 tokens against a JWKS, the principal
//! claim, and every refusal with its precise reason; JWKS files that must be refused; a verified
//! token remembered until its `exp` only.
#![cfg(feature = "server")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use mikey_sakke::idms::{IdmsKey, TokenRequest};
use mikey_sakke::server::{AuthConfig, AuthError, Authenticator};
use rsa::pkcs1::EncodeRsaPrivateKey as _;
use rsa::traits::PublicKeyParts as _;

const ALICE: &str = "sip:alice@example.org";

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

struct Keys {
    ec: IdmsKey,
    rsa_der: Vec<u8>,
    jwks: String,
}

fn keys() -> Keys {
    let ec = IdmsKey::generate(&mut rand_core::UnwrapErr(getrandom::SysRng));
    let rsa = rsa::PrivateKey::new(&mut getrandom::SysRng, 2048).unwrap();
    let rsa_der = rsa.to_pkcs1_der().unwrap().as_bytes().to_vec();
    let mut set: serde_json::Value = serde_json::from_str(&ec.jwks_json()).unwrap();
    set["keys"].as_array_mut().unwrap().push(serde_json::json!({
        "kty": "RSA",
        "kid": "rsa-1",
        "alg": "RS256",
        "n": b64(&rsa.n_bytes()),
        "e": b64(&rsa.e_bytes()),
    }));
    Keys {
        ec,
        rsa_der,
        jwks: set.to_string(),
    }
}

fn config() -> AuthConfig {
    AuthConfig {
        issuer: Some("iss-1".into()),
        audience: Some("kms-1".into()),
        ..AuthConfig::default()
    }
}

fn request() -> TokenRequest {
    let mut r = TokenRequest::new(ALICE);
    r.issuer = "iss-1".into();
    r.audience = Some("kms-1".into());
    r
}

fn rs256(k: &Keys, claims: &serde_json::Value, kid: &str) -> String {
    let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    h.kid = Some(kid.into());
    jsonwebtoken::encode(
        &h,
        claims,
        &jsonwebtoken::EncodingKey::from_rsa_der(&k.rsa_der),
    )
    .unwrap()
}

fn claims(extra: serde_json::Value) -> serde_json::Value {
    let t = now();
    let mut c = serde_json::json!({
        "iss": "iss-1", "aud": "kms-1", "sub": ALICE, "mcptt_id": ALICE,
        "scope": "openid 3gpp:mc:data_key_management_service", "iat": t, "exp": t + 600,
    });
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

#[test]
fn es256_and_rs256_tokens_name_the_principal() {
    let k = keys();
    let auth = Authenticator::from_jwks_json(&k.jwks, config()).unwrap();
    let p = auth.verify_token(&k.ec.token(&request()).unwrap()).unwrap();
    assert_eq!(p.uri, ALICE);
    let p = auth
        .verify_token(&rs256(&k, &claims(serde_json::json!({})), "rsa-1"))
        .unwrap();
    assert_eq!(p.uri, ALICE);
    // The header form, and the scheme in any case.
    let header = format!("bearer {}", k.ec.token(&request()).unwrap());
    assert_eq!(
        auth.verify_header(Some(header.as_bytes())).unwrap().uri,
        ALICE
    );
    // mcptt_id wins over sub; sub is the fallback; a configured claim is used.
    let c = claims(serde_json::json!({"mcptt_id": "sip:mc@example.org", "sub": "other"}));
    assert_eq!(
        auth.verify_token(&rs256(&k, &c, "rsa-1")).unwrap().uri,
        "sip:mc@example.org"
    );
    let mut c = claims(serde_json::json!({}));
    c.as_object_mut().unwrap().remove("mcptt_id");
    assert_eq!(
        auth.verify_token(&rs256(&k, &c, "rsa-1")).unwrap().uri,
        ALICE
    );
    let custom = Authenticator::from_jwks_json(
        &k.jwks,
        AuthConfig {
            principal_claim: "mcdata_id".into(),
            ..config()
        },
    )
    .unwrap();
    let c = claims(serde_json::json!({"mcdata_id": "sip:data@example.org"}));
    assert_eq!(
        custom.verify_token(&rs256(&k, &c, "rsa-1")).unwrap().uri,
        "sip:data@example.org"
    );
    // A scope array is accepted too; each of the three KMS scopes is.
    for scope in [
        serde_json::json!(["3gpp:mc:ptt_key_management_service"]),
        serde_json::json!("3gpp:mc:video_key_management_service"),
        serde_json::json!("a 3gpp:mc:data_key_management_service b"),
    ] {
        let c = claims(serde_json::json!({ "scope": scope }));
        assert!(auth.verify_token(&rs256(&k, &c, "rsa-1")).is_ok(), "{c}");
    }
    // Within the clock skew: just expired is still fine, not yet valid by 30 s too.
    let c = claims(serde_json::json!({"exp": now() - 30}));
    assert!(auth.verify_token(&rs256(&k, &c, "rsa-1")).is_ok());
    let c = claims(serde_json::json!({"nbf": now() + 30}));
    assert!(auth.verify_token(&rs256(&k, &c, "rsa-1")).is_ok());
}

#[test]
fn every_bad_token_is_refused_with_its_reason() {
    let k = keys();
    let auth = Authenticator::from_jwks_json(&k.jwks, config()).unwrap();
    let good = k.ec.token(&request()).unwrap();
    let parts: Vec<&str> = good.split('.').collect();
    let other = IdmsKey::generate(&mut rand_core::UnwrapErr(getrandom::SysRng));
    let kid = k.ec.kid().to_string();
    let hs_header = b64(format!(r#"{{"alg":"HS256","kid":"{kid}"}}"#).as_bytes());
    let hs_sig = {
        use hmac::{KeyInit as _, Mac as _};
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(k.jwks.as_bytes()).unwrap();
        mac.update(format!("{hs_header}.{}", parts[1]).as_bytes());
        b64(&mac.finalize().into_bytes())
    };
    let forged = other.token(&request()).unwrap();
    let forged_parts: Vec<&str> = forged.split('.').collect();
    // An RS256 signature presented under the EC key's kid.
    let rs_as_es = rs256(&k, &claims(serde_json::json!({})), &kid);
    let t = |f: &dyn Fn(&mut TokenRequest)| {
        let mut r = request();
        f(&mut r);
        k.ec.token(&r).unwrap()
    };
    let cases: Vec<(&str, String, AuthError)> = vec![
        ("garbage", "garbage".into(), AuthError::Malformed),
        (
            "two parts",
            format!("{}.{}", parts[0], parts[1]),
            AuthError::Malformed,
        ),
        (
            "bad signature",
            format!("{}.{}.{}", parts[0], parts[1], forged_parts[2]),
            AuthError::BadSignature,
        ),
        (
            "alg none",
            format!("{}.{}.", b64(br#"{"alg":"none"}"#), parts[1]),
            AuthError::WrongAlgorithm,
        ),
        (
            "HS256 keyed with the public JWKS",
            format!("{hs_header}.{}.{hs_sig}", parts[1]),
            AuthError::WrongAlgorithm,
        ),
        ("RS256 under an EC kid", rs_as_es, AuthError::WrongAlgorithm),
        ("unknown kid", forged.clone(), AuthError::UnknownKey),
        (
            "no kid",
            format!("{}.{}.{}", b64(br#"{"alg":"ES256"}"#), parts[1], parts[2]),
            AuthError::UnknownKey,
        ),
        (
            "expired",
            t(&|r| {
                r.now = Some(now() - 3600);
                r.ttl = 60;
            }),
            AuthError::Expired,
        ),
        (
            "not yet valid",
            t(&|r| r.now = Some(now() + 600)),
            AuthError::NotYetValid,
        ),
        (
            "wrong audience",
            t(&|r| r.audience = Some("kms-2".into())),
            AuthError::WrongAudience,
        ),
        (
            "no audience",
            t(&|r| r.audience = None),
            AuthError::WrongAudience,
        ),
        (
            "wrong issuer",
            t(&|r| r.issuer = "iss-2".into()),
            AuthError::WrongIssuer,
        ),
        (
            "no KMS scope",
            t(&|r| r.scope = "openid".into()),
            AuthError::InsufficientScope,
        ),
        (
            "empty principal",
            t(&|r| r.user = String::new()),
            AuthError::NoPrincipal,
        ),
    ];
    for (what, token, want) in cases {
        assert_eq!(auth.verify_token(&token), Err(want), "{what}");
        let www = want.www_authenticate();
        if want == AuthError::InsufficientScope {
            assert_eq!(want.status(), 403);
            assert!(
                www.starts_with("Bearer error=\"insufficient_scope\""),
                "{www}"
            );
        } else {
            assert_eq!(want.status(), 401);
            assert!(www.starts_with("Bearer error=\"invalid_token\""), "{www}");
        }
        assert!(!www.contains(&token) || token.is_empty());
    }
    // A token without exp.
    let mut c = claims(serde_json::json!({}));
    c.as_object_mut().unwrap().remove("exp");
    assert_eq!(
        auth.verify_token(&rs256(&k, &c, "rsa-1")),
        Err(AuthError::Expired)
    );
    // Header forms.
    assert_eq!(auth.verify_header(None), Err(AuthError::Missing));
    assert_eq!(
        auth.verify_header(Some(format!("Basic {good}").as_bytes())),
        Err(AuthError::Malformed)
    );
    assert_eq!(
        auth.verify_header(Some(b"Bearer")),
        Err(AuthError::Malformed)
    );
    assert_eq!(
        auth.verify_header(Some(b"Bearer \xff")),
        Err(AuthError::Malformed)
    );
}

#[test]
fn unusable_jwks_are_refused() {
    let k = keys();
    let ok = Authenticator::from_jwks_json(&k.jwks, AuthConfig::default());
    assert!(ok.is_ok());
    let ec: serde_json::Value = serde_json::from_str(&k.ec.jwks_json()).unwrap();
    let key = ec["keys"][0].clone();
    let with = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut k = key.clone();
        f(&mut k);
        serde_json::json!({ "keys": [k] }).to_string()
    };
    let bad = [
        ("not json", "{".to_string()),
        ("no keys", r#"{"keys": []}"#.to_string()),
        (
            "no kid",
            with(&|k| {
                k.as_object_mut().unwrap().remove("kid");
            }),
        ),
        ("alg mismatch", with(&|k| k["alg"] = "RS256".into())),
        ("P-384", with(&|k| k["crv"] = "P-384".into())),
        (
            "symmetric key",
            r#"{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0"}]}"#.to_string(),
        ),
        (
            "RSA 1024",
            format!(
                r#"{{"keys":[{{"kty":"RSA","kid":"r","n":"{}","e":"AQAB"}}]}}"#,
                b64(&[0xC5; 128])
            ),
        ),
        (
            "duplicate kid",
            serde_json::json!({ "keys": [key.clone(), key.clone()] }).to_string(),
        ),
    ];
    for (what, json) in bad {
        assert!(
            Authenticator::from_jwks_json(&json, AuthConfig::default()).is_err(),
            "{what}"
        );
    }
}

#[test]
fn a_verified_token_is_remembered_until_its_exp_only() {
    let k = keys();
    let auth = Authenticator::from_jwks_json(
        &k.jwks,
        AuthConfig {
            leeway: 0,
            ..config()
        },
    )
    .unwrap();
    let exp = now() + 2;
    let token = rs256(&k, &claims(serde_json::json!({"exp": exp})), "rsa-1");
    // Verified, then answered from memory with the same principal.
    assert_eq!(auth.verify_token(&token).unwrap().uri, ALICE);
    assert_eq!(auth.verify_token(&token).unwrap().uri, ALICE);
    // A refused token stays refused (nothing about it is remembered).
    let mut forged = token.clone();
    forged.pop();
    forged.push(if token.ends_with('A') { 'B' } else { 'A' });
    for _ in 0..2 {
        assert!(auth.verify_token(&forged).is_err());
    }
    // Past `exp` the remembered token is checked again, and refused.
    while now() <= exp {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(auth.verify_token(&token), Err(AuthError::Expired));
}
