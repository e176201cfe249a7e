//! Access-token authentication: `Authorization: Bearer <JWT>` (RFC 6750) issued by the
//! operator's identity management server (TS 33.180 B.10; the KMS is a resource server).
//!
//! A token is accepted when, in this order:
//! 1. the header is `Bearer <token>` and the token is a compact JWS;
//! 2. its header names a `kid` found in the configured JWKS, and its `alg` is that key's algorithm
//!    (ES256 for an EC P-256 key, RS256 for an RSA key of at least 2048 bits): `none`, HS*,
//!    and any algorithm other than the key's are refused;
//! 3. the signature verifies (jsonwebtoken, RustCrypto backends);
//! 4. `exp` is present and not past, `nbf` (if present) not in the future, both with
//!    [`AuthConfig::leeway`] seconds of clock skew;
//! 5. `iss` equals [`AuthConfig::issuer`] and `aud` contains [`AuthConfig::audience`], when
//!    configured (then the claims are required);
//! 6. the principal claim ([`AuthConfig::principal_claim`], default `mcptt_id`, else `sub`) is a
//!    non-empty string.
//!
//! Then the `scope` claim (space-separated, RFC 8693 s4.2; an array of strings is accepted too)
//! must contain one of [`KMS_SCOPES`], else [`AuthError::InsufficientScope`] (403).
//!
//! A token that passed every check is remembered, by the SHA-256 of its text, until its `exp`
//! (at most [`VERIFIED_CACHE_MAX`] tokens): a client presenting the same token again (every
//! request on a keep-alive connection does) skips the signature verification. Nothing about a
//! refused token is remembered. The JWKS and the checks are fixed for the lifetime of the
//! [`Authenticator`], so a remembered token is one that would pass again until `exp`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use sha2::Digest as _;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

/// The KMS scopes (TS 33.180 B.4.2.2): one of them must be in the token's `scope`.
pub const KMS_SCOPES: [&str; 3] = [
    "3gpp:mc:ptt_key_management_service",
    "3gpp:mc:video_key_management_service",
    "3gpp:mc:data_key_management_service",
];

/// The authenticated caller: the MC service ID from the access token.
pub use crate::kms::service::Principal;

/// How tokens are checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthConfig {
    /// The required `iss`, if any.
    pub issuer: Option<String>,
    /// The required member of `aud`, if any.
    pub audience: Option<String>,
    /// The claim holding the MC service ID (falls back to `sub` when absent).
    pub principal_claim: String,
    /// Allowed clock skew in seconds for `exp` and `nbf`.
    pub leeway: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            issuer: None,
            audience: None,
            principal_claim: "mcptt_id".to_string(),
            leeway: 60,
        }
    }
}

/// Why a JWKS could not be loaded.
#[derive(Debug)]
#[non_exhaustive]
pub enum JwksError {
    /// The file could not be read.
    Read(String),
    /// Not a JWK set (JSON).
    Parse(String),
    /// A key that is not usable: missing `kid`, not EC P-256 or RSA, an RSA modulus under 2048
    /// bits, an `alg` that does not fit the key, or a duplicate `kid`.
    Key(String),
    /// The set has no keys.
    Empty,
    /// The JWT library has no crypto provider (a build problem).
    NoProvider,
}

impl core::fmt::Display for JwksError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Read(e) => write!(f, "JWKS: {e}"),
            Self::Parse(e) => write!(f, "JWKS: not a JWK set: {e}"),
            Self::Key(e) => write!(f, "JWKS: {e}"),
            Self::Empty => f.write_str("JWKS: no keys"),
            Self::NoProvider => f.write_str("JWKS: no JWT crypto provider in this build"),
        }
    }
}

impl std::error::Error for JwksError {}

/// Why a request's token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthError {
    /// No `Authorization` header.
    Missing,
    /// Not `Bearer <token>`, or not a decodable JWS.
    Malformed,
    /// The token's `kid` is absent or not in the JWKS.
    UnknownKey,
    /// The token's `alg` is not the key's (including `none` and HS*).
    WrongAlgorithm,
    /// The signature does not verify.
    BadSignature,
    /// Past `exp` (or no `exp`).
    Expired,
    /// Before `nbf`.
    NotYetValid,
    /// `iss` is not the configured issuer.
    WrongIssuer,
    /// `aud` does not contain the configured audience.
    WrongAudience,
    /// No principal claim and no `sub`.
    NoPrincipal,
    /// A valid token without a KMS scope (403).
    InsufficientScope,
}

impl AuthError {
    /// The HTTP status: 403 for [`AuthError::InsufficientScope`], else 401.
    pub fn status(self) -> u16 {
        if self == Self::InsufficientScope {
            403
        } else {
            401
        }
    }

    /// The `WWW-Authenticate` header value (RFC 6750 s3).
    pub fn www_authenticate(self) -> String {
        let (error, scope) = if self == Self::InsufficientScope {
            (
                "insufficient_scope",
                format!(", scope=\"{}\"", KMS_SCOPES.join(" ")),
            )
        } else {
            ("invalid_token", String::new())
        };
        format!(
            "Bearer error=\"{error}\", error_description=\"{}\"{scope}",
            self.description()
        )
    }

    /// A short description (no token content).
    pub fn description(self) -> &'static str {
        match self {
            Self::Missing => "no access token",
            Self::Malformed => "malformed access token",
            Self::UnknownKey => "unknown signing key",
            Self::WrongAlgorithm => "signature algorithm not allowed",
            Self::BadSignature => "bad signature",
            Self::Expired => "token expired",
            Self::NotYetValid => "token not yet valid",
            Self::WrongIssuer => "wrong issuer",
            Self::WrongAudience => "wrong audience",
            Self::NoPrincipal => "no MC service ID in the token",
            Self::InsufficientScope => "no KMS scope in the token",
        }
    }
}

impl core::fmt::Display for AuthError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.description())
    }
}

impl std::error::Error for AuthError {}

struct Key {
    key: DecodingKey,
    validation: Validation,
}

/// Verified tokens remembered at most (then the expired ones are dropped, or all of them).
pub const VERIFIED_CACHE_MAX: usize = 8192;

/// A verified token: its principal, and its `exp` (Unix seconds).
struct Verified {
    principal: Principal,
    exp: u64,
}

/// Checks access tokens against a JWKS.
pub struct Authenticator {
    keys: HashMap<String, Key>,
    config: AuthConfig,
    /// Tokens that passed every check, by the SHA-256 of the token, until their `exp`.
    verified: Mutex<HashMap<[u8; 32], Verified>>,
}

impl core::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut kids: Vec<&String> = self.keys.keys().collect();
        kids.sort();
        f.debug_struct("Authenticator")
            .field("kids", &kids)
            .field("config", &self.config)
            .finish()
    }
}

fn b64url_len(s: &str) -> usize {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map(|v| {
            let lead = v.iter().take_while(|b| **b == 0).count();
            v.len() - lead
        })
        .unwrap_or(0)
}

/// The `alg` of a compact JWS's header, if the header decodes.
fn header_alg(token: &str) -> Option<String> {
    use base64::Engine as _;
    let first = token.split('.').next()?;
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(first)
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&json).ok()?;
    v.get("alg")?.as_str().map(String::from)
}

impl Authenticator {
    /// Reads a JWKS file (at most [`crate::input::caps::PEM`] octets).
    ///
    /// # Errors
    /// [`JwksError`] for an unreadable file or an unusable key.
    pub fn from_jwks_file(path: &Path, config: AuthConfig) -> Result<Self, JwksError> {
        let text = crate::input::read_bounded_text(path, crate::input::caps::PEM)
            .map_err(|e| JwksError::Read(e.to_string()))?;
        Self::from_jwks_json(&text, config)
    }

    /// Parses a JWKS (RFC 7517 s5): every key must have a `kid` and be EC P-256 (ES256) or RSA
    /// of at least 2048 bits (RS256).
    ///
    /// # Errors
    /// [`JwksError`] for text that is not a JWK set or an unusable key.
    pub fn from_jwks_json(json: &str, config: AuthConfig) -> Result<Self, JwksError> {
        if jsonwebtoken::crypto::CryptoProvider::try_get_default().is_none() {
            return Err(JwksError::NoProvider);
        }
        let set: JwkSet =
            serde_json::from_str(json).map_err(|e| JwksError::Parse(e.to_string()))?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let kid = jwk
                .common
                .key_id
                .clone()
                .filter(|k| !k.is_empty())
                .ok_or_else(|| JwksError::Key("a key without \"kid\"".into()))?;
            let alg = match &jwk.algorithm {
                AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
                    Algorithm::ES256
                }
                AlgorithmParameters::RSA(rsa) => {
                    if b64url_len(&rsa.n) < 256 {
                        return Err(JwksError::Key(format!(
                            "key {kid}: RSA modulus under 2048 bits"
                        )));
                    }
                    Algorithm::RS256
                }
                _ => {
                    return Err(JwksError::Key(format!(
                        "key {kid}: only EC P-256 (ES256) and RSA (RS256) keys are accepted"
                    )));
                }
            };
            let declared = jwk.common.key_algorithm;
            let fits = match declared {
                None => true,
                Some(KeyAlgorithm::ES256) => alg == Algorithm::ES256,
                Some(KeyAlgorithm::RS256) => alg == Algorithm::RS256,
                Some(_) => false,
            };
            if !fits {
                return Err(JwksError::Key(format!(
                    "key {kid}: \"alg\" {declared:?} is not {alg:?}"
                )));
            }
            let key = DecodingKey::from_jwk(jwk)
                .map_err(|e| JwksError::Key(format!("key {kid}: {e}")))?;
            let mut validation = Validation::new(alg);
            validation.leeway = config.leeway;
            validation.validate_exp = true;
            validation.validate_nbf = true;
            let mut required = vec!["exp"];
            match &config.issuer {
                Some(iss) => {
                    validation.set_issuer(&[iss]);
                    required.push("iss");
                }
                None => validation.iss = None,
            }
            match &config.audience {
                Some(aud) => {
                    validation.set_audience(&[aud]);
                    required.push("aud");
                }
                None => validation.validate_aud = false,
            }
            validation.set_required_spec_claims(&required);
            if keys.insert(kid.clone(), Key { key, validation }).is_some() {
                return Err(JwksError::Key(format!("duplicate kid {kid}")));
            }
        }
        if keys.is_empty() {
            return Err(JwksError::Empty);
        }
        Ok(Self {
            keys,
            config,
            verified: Mutex::new(HashMap::new()),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// Checks an `Authorization` header value.
    ///
    /// # Errors
    /// The [`AuthError`] of the first check that fails.
    pub fn verify_header(&self, authorization: Option<&[u8]>) -> Result<Principal, AuthError> {
        let value = authorization.ok_or(AuthError::Missing)?;
        let value = std::str::from_utf8(value).map_err(|_| AuthError::Malformed)?;
        let (scheme, token) = value.trim().split_once(' ').ok_or(AuthError::Malformed)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AuthError::Malformed);
        }
        self.verify_token(token.trim())
    }

    /// Checks a compact JWS access token (a token that passed before and is not yet past its
    /// `exp` is answered from memory, see the module docs).
    ///
    /// # Errors
    /// The [`AuthError`] of the first check that fails.
    pub fn verify_token(&self, token: &str) -> Result<Principal, AuthError> {
        let digest: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
        let now = jsonwebtoken::get_current_timestamp();
        if let Ok(cache) = self.verified.lock()
            && let Some(v) = cache.get(&digest)
            && now < v.exp
        {
            return Ok(v.principal.clone());
        }
        let (principal, exp) = self.verify_token_uncached(token)?;
        if let Ok(mut cache) = self.verified.lock() {
            if cache.len() >= VERIFIED_CACHE_MAX {
                cache.retain(|_, v| now < v.exp);
                if cache.len() >= VERIFIED_CACHE_MAX {
                    cache.clear();
                }
            }
            if now < exp {
                cache.insert(
                    digest,
                    Verified {
                        principal: principal.clone(),
                        exp,
                    },
                );
            }
        }
        Ok(principal)
    }

    /// Every check of [`Self::verify_token`]; returns the principal and the token's `exp`.
    fn verify_token_uncached(&self, token: &str) -> Result<(Principal, u64), AuthError> {
        use jsonwebtoken::errors::ErrorKind;
        // `none` and names the library does not know fail its header parse as bad JSON: look at
        // `alg` first so that they are reported as what they are.
        if let Some(alg) = header_alg(token)
            && alg != "ES256"
            && alg != "RS256"
        {
            return Err(AuthError::WrongAlgorithm);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|e| match e.kind() {
            // An `alg` outside the library's list (`none` among them) fails the header parse.
            ErrorKind::InvalidAlgorithmName => AuthError::WrongAlgorithm,
            _ => AuthError::Malformed,
        })?;
        let kid = header.kid.as_deref().ok_or(AuthError::UnknownKey)?;
        let key = self.keys.get(kid).ok_or(AuthError::UnknownKey)?;
        if !key.validation.algorithms.contains(&header.alg) {
            return Err(AuthError::WrongAlgorithm);
        }
        let data = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
            token,
            &key.key,
            &key.validation,
        )
        .map_err(|e| match e.kind() {
            ErrorKind::InvalidSignature => AuthError::BadSignature,
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                AuthError::WrongAlgorithm
            }
            ErrorKind::ExpiredSignature => AuthError::Expired,
            ErrorKind::ImmatureSignature => AuthError::NotYetValid,
            ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
            ErrorKind::InvalidAudience => AuthError::WrongAudience,
            ErrorKind::MissingRequiredClaim(c) if c == "exp" => AuthError::Expired,
            ErrorKind::MissingRequiredClaim(c) if c == "iss" => AuthError::WrongIssuer,
            ErrorKind::MissingRequiredClaim(c) if c == "aud" => AuthError::WrongAudience,
            _ => AuthError::Malformed,
        })?;
        let claims = data.claims;
        let uri = claims
            .get(&self.config.principal_claim)
            .or_else(|| claims.get("sub"))
            .and_then(serde_json::Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or(AuthError::NoPrincipal)?;
        let has_scope = match claims.get("scope") {
            Some(serde_json::Value::String(s)) => s.split(' ').any(|x| KMS_SCOPES.contains(&x)),
            Some(serde_json::Value::Array(a)) => a
                .iter()
                .filter_map(serde_json::Value::as_str)
                .any(|x| KMS_SCOPES.contains(&x)),
            _ => false,
        };
        if !has_scope {
            return Err(AuthError::InsufficientScope);
        }
        // `exp` is required and was checked; a token whose `exp` is not an integer is not
        // remembered (0).
        let exp = claims
            .get("exp")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        Ok((
            Principal {
                uri: uri.to_string(),
            },
            exp,
        ))
    }
}
