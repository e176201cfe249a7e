//! Access-token validation (`server::Authenticator`, the JWT checker of the KMS server) with a
//! fixed JWKS of one ES256 key. The first octet picks the form: the Authorization header's
//! octets, the token text, or a token whose payload is the rest of the input and whose header
//! names the fixed key and which is signed with it, so that the claim checks (expiry, issuer,
//! audience, principal, scope) run on mutated claims. Never panics; a principal is never
//! empty.
#![no_main]

use std::sync::OnceLock;

use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use mikey_sakke::idms::IdmsKey;
use mikey_sakke::server::{AuthConfig, Authenticator};
use rand_core::SeedableRng;

struct Fixture {
    auth: Authenticator,
    key: jsonwebtoken::EncodingKey,
    header: String,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let idms = IdmsKey::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(3));
        let config = AuthConfig {
            issuer: Some("https://idms.example.org".into()),
            audience: None,
            ..AuthConfig::default()
        };
        let auth = Authenticator::from_jwks_json(&idms.jwks_json(), config).unwrap();
        let pem = idms.to_pem().unwrap();
        let key = jsonwebtoken::EncodingKey::from_ec_pem(pem.as_bytes()).unwrap();
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
            r#"{{"alg":"ES256","kid":"{}","typ":"JWT"}}"#,
            idms.kid()
        ));
        Fixture { auth, key, header }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let f = fixture();
    let got = match which % 3 {
        0 => f.auth.verify_header(Some(rest)),
        1 => match std::str::from_utf8(rest) {
            Ok(t) => f.auth.verify_token(t),
            Err(_) => return,
        },
        _ => {
            let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rest);
            let signing_input = format!("{}.{payload}", f.header);
            let sig = jsonwebtoken::crypto::sign(
                signing_input.as_bytes(),
                &f.key,
                jsonwebtoken::Algorithm::ES256,
            )
            .unwrap();
            f.auth.verify_token(&format!("{signing_input}.{sig}"))
        }
    };
    if let Ok(p) = got {
        assert!(!p.uri.is_empty());
    }
});
