//! **Development identity management server: for tests, demos and small labs only.** It signs
//! access tokens for any user it is asked to; it authenticates nobody and keeps no record. A
//! deployment uses the operator's real IdMS (TS 33.180 Annex B), whose JWKS the KMS is given.
//!
//! The key is an ES256 (P-256) key; its JWKS entry carries `kid` = the RFC 7638 thumbprint.
//! Tokens are JWT access tokens (RFC 9068 `at+jwt`) with `iss`, `sub`, `mcptt_id` (the MC
//! service ID), `aud` (when given), `scope`, `iat`, `nbf`, `exp` and a random `jti`, signed by
//! the `jsonwebtoken` crate.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use p256::elliptic_curve::Generate as _;
use p256::elliptic_curve::sec1::ToSec1Point as _;
use p256::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, LineEnding};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

/// The default scope of a development token (MCPTT key management, TS 33.180 B.4.2.2).
pub const DEFAULT_SCOPE: &str = "3gpp:mc:ptt_key_management_service";

/// The default issuer of a development token.
pub const DEFAULT_ISSUER: &str = "mikey-sakke-dev-idms";

/// Why a development IdMS operation failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum IdmsError {
    /// The key file is not a PKCS#8 PEM P-256 private key.
    BadKey(String),
    /// Token signing failed.
    Sign(String),
}

impl core::fmt::Display for IdmsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::BadKey(e) => write!(f, "IdMS key: {e}"),
            Self::Sign(e) => write!(f, "token signing: {e}"),
        }
    }
}

impl std::error::Error for IdmsError {}

/// A development IdMS signing key (P-256).
pub struct IdmsKey {
    secret: p256::SecretKey,
    kid: String,
}

impl core::fmt::Debug for IdmsKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IdmsKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

// The secret scalar is `p256::SecretKey`, which zeroizes itself on drop.
impl zeroize::ZeroizeOnDrop for IdmsKey {}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What a token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRequest {
    /// The MC service ID (`mcptt_id` and `sub`).
    pub user: String,
    /// The space-separated scopes.
    pub scope: String,
    /// Lifetime in seconds.
    pub ttl: u64,
    /// `iss`.
    pub issuer: String,
    /// `aud`, if any.
    pub audience: Option<String>,
    /// `iat` and `nbf` (Unix seconds); `None` for now.
    pub now: Option<u64>,
}

impl TokenRequest {
    /// A token for `user` with the default scope and issuer, no audience, valid one hour from
    /// now.
    pub fn new(user: impl Into<String>) -> Self {
        Self {
            user: user.into(),
            scope: DEFAULT_SCOPE.to_string(),
            ttl: 3600,
            issuer: DEFAULT_ISSUER.to_string(),
            audience: None,
            now: None,
        }
    }
}

impl IdmsKey {
    /// A fresh key.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self::from_secret(p256::SecretKey::generate_from_rng(rng))
    }

    fn from_secret(secret: p256::SecretKey) -> Self {
        let (x, y) = Self::coordinates(&secret);
        // RFC 7638 s3.2: the required members in lexicographic order, no white space.
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let kid = b64(&<sha2::Sha256 as sha2::Digest>::digest(
            canonical.as_bytes(),
        ));
        Self { secret, kid }
    }

    fn coordinates(secret: &p256::SecretKey) -> (String, String) {
        let point = secret.public_key().to_sec1_point(false);
        let bytes = point.as_bytes();
        // Uncompressed SEC1: 0x04 || x (32) || y (32).
        let x = bytes.get(1..33).unwrap_or_default();
        let y = bytes.get(33..65).unwrap_or_default();
        (b64(x), b64(y))
    }

    /// Reads a PKCS#8 PEM key.
    ///
    /// # Errors
    /// [`IdmsError::BadKey`].
    pub fn from_pem(pem: &str) -> Result<Self, IdmsError> {
        p256::SecretKey::from_pkcs8_pem(pem.trim())
            .map(Self::from_secret)
            .map_err(|e| IdmsError::BadKey(e.to_string()))
    }

    /// The key as PKCS#8 PEM (secret: write it with mode 0600).
    ///
    /// # Errors
    /// [`IdmsError::BadKey`] if the encoder fails.
    pub fn to_pem(&self) -> Result<Zeroizing<String>, IdmsError> {
        self.secret
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| IdmsError::BadKey(e.to_string()))
    }

    /// The key id (RFC 7638 thumbprint).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK set (RFC 7517 s5), for the KMS's `--idms-keys`.
    pub fn jwks_json(&self) -> String {
        let (x, y) = Self::coordinates(&self.secret);
        let set = serde_json::json!({
            "keys": [{
                "kty": "EC",
                "crv": "P-256",
                "x": x,
                "y": y,
                "kid": self.kid,
                "use": "sig",
                "alg": "ES256",
            }]
        });
        format!("{set:#}\n")
    }

    /// Signs an access token.
    ///
    /// # Errors
    /// [`IdmsError::Sign`] if the JWT library refuses the key.
    pub fn token(&self, req: &TokenRequest) -> Result<String, IdmsError> {
        let now = req.now.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        });
        let mut jti = [0u8; 16];
        rand_core::Rng::fill_bytes(&mut rand_core::UnwrapErr(getrandom::SysRng), &mut jti);
        let mut claims = serde_json::json!({
            "iss": req.issuer,
            "sub": req.user,
            "mcptt_id": req.user,
            "scope": req.scope,
            "iat": now,
            "nbf": now,
            "exp": now.saturating_add(req.ttl),
            "jti": hex::encode(jti),
        });
        if let (Some(aud), Some(map)) = (&req.audience, claims.as_object_mut()) {
            map.insert("aud".into(), serde_json::Value::String(aud.clone()));
        }
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        header.typ = Some("at+jwt".into());
        let pem = self.to_pem()?;
        let key = jsonwebtoken::EncodingKey::from_ec_pem(pem.as_bytes())
            .map_err(|e| IdmsError::Sign(e.to_string()))?;
        jsonwebtoken::encode(&header, &claims, &key).map_err(|e| IdmsError::Sign(e.to_string()))
    }
}
