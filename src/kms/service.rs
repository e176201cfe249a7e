//! The KMS interface of TS 33.180 Annex D as a transport-independent, blocking service: a
//! request (the authenticated caller, the resource path, the body) in, a `KmsResponse`
//! document or a typed [`Refusal`] out. The HTTPS server calls [`KmsService::respond`] (inside
//! `spawn_blocking`); the refusal codes are documented in `docs/kms-interface.md`.
//!
//! # Resources
//! * `POST {BASE_PATH}/init[/<NTP time, 16 hex digits>]`: the KMS certificate of the
//!   master-key generation serving the key period containing the time (default now). The plain
//!   `/init` is Annex D's; the time segment (as on `keyprov`) is this KMS's extension for
//!   master-key rotation ([`super::rotation`]): every generation has its own certificate
//!   (its `ValidFrom`/`ValidTo` bound its periods) and a `KmsInit` holds exactly one, so a
//!   client provisioning a period outside its certificate's validity (an old period, or one
//!   after a scheduled rotation) asks for the certificate of that period's start. A segment
//!   that is not 16 hex digits is no resource (404), as before.
//! * `POST {BASE_PATH}/keyprov[/<URI>[/<NTP time, 16 hex digits>]]`: one key set, of the
//!   caller's own URI by default, for the key period containing the time (default now).
//! * `POST {BASE_PATH}/certcache[/<cache number>]`: the certificates of other KMSs.
//!
//! A body is empty, a `KmsRequest` (Version `1.0.0` or `1.1.0`) or a `SignedKmsRequest`,
//! whose signature is **not verified**: the caller's identity comes from the transport (the
//! access token), never from the body.
//!
//! # Authorisation
//! A caller may fetch the key sets of its own URI, and those of a group it is registered as a
//! manager of ([`KmsStore::add_group_manager`]); anything else is [`Refusal::Forbidden`]. A URI
//! the store does not know is [`Refusal::NotFound`] when the caller may ask for it (its own,
//! or a group it manages), [`Refusal::Forbidden`] otherwise, so that an unauthorised caller
//! learns nothing about which URIs exist. A revoked URI ([`super::store::lifecycle`]) is
//! [`Refusal::Revoked`] for a caller who may ask for it: nothing is served or issued.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use super::documents::{self, client_req_url};
pub use super::documents::{BASE_PATH, CERTCACHE_PATH, INIT_PATH, KEYPROV_PATH};
use super::provision::{ProvisionError, issue_key_set};
use super::store::{KmsConfig, KmsStore, StoreError};
/// Percent-escapes everything but unreserved characters (RFC 3986): a URI in a path segment.
pub use crate::annex_d::escape_segment as escape;
use crate::annex_d::{
    AnnexDError, AnyKmsRequest, KmsCertificate, KmsError, KmsMessage, KmsResponse,
};

/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// The authenticated caller (the MC service ID from the access token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The caller's URI.
    pub uri: String,
}

/// What the transport knows about one request.
#[derive(Clone, Debug)]
pub struct Context {
    /// The caller's network address.
    pub peer: Option<SocketAddr>,
    /// The time of the request.
    pub now: SystemTime,
}

/// A parsed request (from the path and the body).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// KMS Initialize: the certificate of the current key period's generation.
    Init,
    /// KMS Initialize for a time (`/init/<16 hex digits>`, this KMS's extension): the
    /// certificate of the master-key generation serving the key period containing `time`.
    InitAt {
        /// A 64-bit NTP time (seconds in the high 32 bits).
        time: u64,
    },
    /// KMS KeyProvision.
    KeyProv {
        /// The user or group URI (decoded); `None`: the caller's own.
        uri: Option<String>,
        /// A 64-bit NTP time (seconds in the high 32 bits); `None`: now.
        time: Option<u64>,
    },
    /// KMS CertCache.
    CertCache {
        /// The number of the client's latest cache.
        cache_num: Option<u64>,
    },
}

/// A typed refusal; [`Self::status`] is the HTTP status, [`Self::code`] the `KmsError`
/// `ErrorCode`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// 400, code 1: a malformed path or body (the reason, which holds no secret).
    BadRequest(String),
    /// 401, code 2: no valid access token (produced by the transport, never by the service).
    Unauthenticated,
    /// 403, code 3: the caller may not have what it asked for.
    Forbidden,
    /// 404, code 4: the URI is not registered, or the resource path is unknown.
    NotFound,
    /// 403, code 5: the key sets of the URI asked for are revoked (`kms revoke`).
    Revoked,
    /// 413, code 6: the body is too large.
    TooLarge,
    /// 503, code 7: the server is overloaded (transport).
    Overloaded,
    /// 400, code 8: the time lies before the first key period, or no master key covers it.
    NoKeyPeriod,
    /// 500, code 9: the store failed (the message never includes a secret).
    Internal,
}

impl Refusal {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest(_) | Self::NoKeyPeriod => 400,
            Self::Unauthenticated => 401,
            Self::Forbidden | Self::Revoked => 403,
            Self::NotFound => 404,
            Self::TooLarge => 413,
            Self::Overloaded => 503,
            Self::Internal => 500,
        }
    }

    /// The `ErrorCode` of the `KmsError` (see `docs/kms-interface.md`).
    pub fn code(&self) -> i64 {
        match self {
            Self::BadRequest(_) => 1,
            Self::Unauthenticated => 2,
            Self::Forbidden => 3,
            Self::NotFound => 4,
            Self::Revoked => 5,
            Self::TooLarge => 6,
            Self::Overloaded => 7,
            Self::NoKeyPeriod => 8,
            Self::Internal => 9,
        }
    }

    /// The `ErrorMsg` of the `KmsError`.
    pub fn message(&self) -> String {
        match self {
            Self::BadRequest(why) => format!("bad request: {why}"),
            Self::Unauthenticated => "a valid access token is required".into(),
            Self::Forbidden => "not authorised for this resource".into(),
            Self::NotFound => "not found".into(),
            Self::Revoked => "the key material is revoked".into(),
            Self::TooLarge => "request body too large".into(),
            Self::Overloaded => "the KMS is overloaded, try again later".into(),
            Self::NoKeyPeriod => "no key period covers the requested time".into(),
            Self::Internal => "internal KMS error".into(),
        }
    }
}

impl core::fmt::Display for Refusal {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} (code {})", self.message(), self.code())
    }
}

impl std::error::Error for Refusal {}

/// What the service answers.
#[derive(Debug)]
pub struct Reply {
    /// The response document (a KeyProv document holds secrets in zeroizing buffers).
    pub document: KmsResponse,
    /// Key sets newly issued for this request.
    pub issued: u64,
    /// Key sets returned from the store (issued before).
    pub served: u64,
}

/// What a transport sends back.
pub struct HttpReply {
    /// The HTTP status.
    pub status: u16,
    /// The body (`application/xml`). For a KeyProv answer it holds the user's RSK and SSK:
    /// wipe it after sending.
    pub body: String,
    /// Key sets newly issued.
    pub issued: u64,
    /// Key sets returned from the store.
    pub served: u64,
}

impl core::fmt::Debug for HttpReply {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HttpReply")
            .field("status", &self.status)
            .field("body_len", &self.body.len())
            .field("issued", &self.issued)
            .field("served", &self.served)
            .finish_non_exhaustive()
    }
}

/// The certificate of one closed master-key generation, kept for the periods it covers.
#[derive(Debug)]
struct CachedCert {
    first: u64,
    last: u64,
    cert: KmsCertificate,
}

/// The KMS service over a store.
pub struct KmsService {
    store: Arc<dyn KmsStore>,
    config: KmsConfig,
    certs: Mutex<Vec<CachedCert>>,
}

impl core::fmt::Debug for KmsService {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KmsService")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn internal(_: StoreError) -> Refusal {
    Refusal::Internal
}

fn bad(why: impl Into<String>) -> Refusal {
    Refusal::BadRequest(why.into())
}

/// Percent-decodes one path segment; refuses bad escapes, invalid UTF-8, control characters
/// and `.`/`..` segments.
fn decode_segment(seg: &str, what: &str) -> Result<String, Refusal> {
    let bytes = seg.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| core::str::from_utf8(h).ok())
                .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()))
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| bad(format!("bad percent escape in the {what}")))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    let text = String::from_utf8(out).map_err(|_| bad(format!("the {what} is not UTF-8")))?;
    if text.is_empty() {
        return Err(bad(format!("empty {what}")));
    }
    if text.chars().any(char::is_control) {
        return Err(bad(format!("control character in the {what}")));
    }
    if text.split('/').any(|s| s == ".." || s == ".") {
        return Err(bad(format!("`.` or `..` segment in the {what}")));
    }
    Ok(text)
}

/// A 64-bit NTP time as 16 hex digits.
fn parse_time(seg: &str) -> Result<u64, Refusal> {
    if seg.len() != 16 || !seg.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(bad("the time must be 16 hex digits (64-bit NTP)"));
    }
    u64::from_str_radix(seg, 16).map_err(|_| bad("the time must be 16 hex digits (64-bit NTP)"))
}

impl Request {
    /// Parses the request path (starting with [`BASE_PATH`]; a query string is ignored) and
    /// the body (empty, a `KmsRequest` of Version `1.0.0` or `1.1.0`, or a `SignedKmsRequest`
    /// whose signature is **not** checked). The URI in the path may be raw or
    /// percent-escaped.
    ///
    /// # Errors
    /// [`Refusal::NotFound`] for a path outside the three resources; [`Refusal::BadRequest`]
    /// for `.`/`..` segments, NUL or other control characters, bad escapes, a time that is not
    /// 16 hex digits, a bad cache number, extra segments, or a body that is not UTF-8 or not a
    /// valid request document; [`Refusal::TooLarge`] for a body over
    /// [`crate::annex_d::MAX_DOCUMENT_LEN`].
    pub fn parse(path: &str, body: &[u8]) -> Result<Request, Refusal> {
        let path = path.split_once('?').map_or(path, |(p, _)| p);
        if path.chars().any(char::is_control) {
            return Err(bad("control character in the path"));
        }
        let rest = path.strip_prefix(BASE_PATH).ok_or(Refusal::NotFound)?;
        let rest = rest.strip_prefix('/').ok_or(Refusal::NotFound)?;
        let mut segs: Vec<&str> = rest.split('/').collect();
        // One trailing slash is tolerated.
        if segs.len() > 1 && segs.last() == Some(&"") {
            segs.pop();
        }
        if segs.iter().any(|s| *s == ".." || *s == ".") {
            return Err(bad("`.` or `..` segment in the path"));
        }
        let req = match segs.as_slice() {
            ["init"] => Request::Init,
            // Only a time is a resource under init (anything else stays unknown, 404).
            ["init", t] if t.len() == 16 && t.bytes().all(|c| c.is_ascii_hexdigit()) => {
                Request::InitAt {
                    time: parse_time(t)?,
                }
            }
            ["keyprov"] => Request::KeyProv {
                uri: None,
                time: None,
            },
            ["keyprov", uri] => Request::KeyProv {
                uri: Some(decode_segment(uri, "URI")?),
                time: None,
            },
            ["keyprov", uri, time] => Request::KeyProv {
                uri: Some(decode_segment(uri, "URI")?),
                time: Some(parse_time(time)?),
            },
            ["keyprov", ..] => {
                return Err(bad(
                    "too many path segments (escape a `/` in the URI as %2F)",
                ));
            }
            ["certcache"] => Request::CertCache { cache_num: None },
            ["certcache", n] => Request::CertCache {
                cache_num: Some(
                    n.parse::<u64>()
                        .ok()
                        .filter(|_| n.bytes().all(|c| c.is_ascii_digit()))
                        .ok_or_else(|| bad("the cache number must be a decimal integer"))?,
                ),
            },
            ["certcache", ..] => return Err(bad("too many path segments")),
            _ => return Err(Refusal::NotFound),
        };
        check_body(body)?;
        Ok(req)
    }

    /// The canonical path of this request (the URI percent-escaped).
    pub fn path(&self) -> String {
        match self {
            Self::Init => INIT_PATH.to_string(),
            Self::InitAt { time } => format!("{INIT_PATH}/{time:016X}"),
            Self::KeyProv { uri: None, .. } => KEYPROV_PATH.to_string(),
            Self::KeyProv {
                uri: Some(u),
                time: None,
            } => format!("{KEYPROV_PATH}/{}", escape(u)),
            Self::KeyProv {
                uri: Some(u),
                time: Some(t),
            } => format!("{KEYPROV_PATH}/{}/{t:016X}", escape(u)),
            Self::CertCache { cache_num: None } => CERTCACHE_PATH.to_string(),
            Self::CertCache { cache_num: Some(n) } => format!("{CERTCACHE_PATH}/{n}"),
        }
    }
}

/// Checks a request body: empty (or XML whitespace only), or a request document.
fn check_body(body: &[u8]) -> Result<(), Refusal> {
    if body
        .iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
    {
        return Ok(());
    }
    let text = core::str::from_utf8(body).map_err(|_| bad("the body is not UTF-8"))?;
    match AnyKmsRequest::from_xml(text) {
        Ok(_) => Ok(()),
        Err(AnnexDError::TooLarge { .. }) => Err(Refusal::TooLarge),
        Err(e) => Err(bad(format!("the body is not a KmsRequest: {e}"))),
    }
}

/// Unix seconds of `t` (`None` before 1970).
fn unix_secs(t: SystemTime) -> Option<u64> {
    t.duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs())
}

/// `t` as an `xs:dateTime` in UTC.
fn date_time(t: SystemTime) -> String {
    let secs = unix_secs(t).unwrap_or(0);
    humantime::format_rfc3339_seconds(UNIX_EPOCH + std::time::Duration::from_secs(secs)).to_string()
}

impl KmsService {
    /// A service over `store`.
    ///
    /// # Errors
    /// [`StoreError`] if the store cannot be read.
    pub fn new(store: Arc<dyn KmsStore>) -> Result<Self, StoreError> {
        let config = store.config().clone();
        // Touch the store once, so that a broken store is reported at start-up.
        store.cache_num()?;
        Ok(Self {
            store,
            config,
            certs: Mutex::new(Vec::new()),
        })
    }

    /// The KMS URI.
    pub fn kms_uri(&self) -> &str {
        &self.config.kms_uri
    }

    /// The store.
    pub fn store(&self) -> &dyn KmsStore {
        self.store.as_ref()
    }

    /// The key period containing NTP seconds `ntp`.
    fn period(&self, ntp: u64) -> Result<u64, Refusal> {
        self.config
            .periods
            .period_number(ntp)
            .map_err(|_| Refusal::NoKeyPeriod)
    }

    fn now_ntp(ctx: &Context) -> Result<u64, Refusal> {
        unix_secs(ctx.now)
            .and_then(|s| s.checked_add(NTP_UNIX_OFFSET))
            .ok_or(Refusal::NoKeyPeriod)
    }

    /// The certificate of the generation serving `period` (cached for closed generations).
    fn certificate(&self, period: u64) -> Result<KmsCertificate, Refusal> {
        let mut cache = self.certs.lock().map_err(|_| Refusal::Internal)?;
        if let Some(c) = cache.iter().find(|c| c.first <= period && period <= c.last) {
            return Ok(c.cert.clone());
        }
        let keys = self.store.master_keys(period).map_err(|e| match e {
            StoreError::NoMasterKeyForPeriod(_) => Refusal::NoKeyPeriod,
            other => internal(other),
        })?;
        let cert = documents::certificate(&self.config, &keys);
        // Only a closed generation is cached: it never changes. The open-ended one may be
        // closed at any time by an operator adding a generation (from another process).
        if let Some(last) = keys.last_period {
            cache.push(CachedCert {
                first: keys.first_period,
                last,
                cert: cert.clone(),
            });
        }
        Ok(cert)
    }

    /// Handles a parsed request of the authenticated `who`.
    ///
    /// # Errors
    /// The [`Refusal`] (never [`Refusal::Unauthenticated`], [`Refusal::TooLarge`] or
    /// [`Refusal::Overloaded`], which are the transport's).
    pub fn handle(&self, who: &Principal, req: &Request, ctx: &Context) -> Result<Reply, Refusal> {
        let time = date_time(ctx.now);
        let url = client_req_url(&self.config.kms_uri, &req.path());
        match req {
            Request::Init | Request::InitAt { .. } => {
                let ntp = match req {
                    Request::InitAt { time } => time >> 32,
                    _ => Self::now_ntp(ctx)?,
                };
                let period = self.period(ntp)?;
                let cert = self.certificate(period)?;
                let mut doc = documents::init_response(&self.config, &who.uri, &time, cert);
                doc.client_req_url = url;
                Ok(Reply {
                    document: doc,
                    issued: 0,
                    served: 0,
                })
            }
            Request::KeyProv { uri, time: t } => {
                let target = uri.as_deref().unwrap_or(&who.uri);
                self.authorise(who, target)?;
                self.refuse_revoked(target)?;
                let ntp = match t {
                    Some(t) => t >> 32,
                    None => Self::now_ntp(ctx)?,
                };
                let period = self.period(ntp)?;
                let (set, new) = match self.store.issued(target, period).map_err(internal)? {
                    Some(set) => (set, false),
                    None => self.issue(target, period)?,
                };
                let at = unix_secs(ctx.now).unwrap_or(0);
                let peer = ctx.peer.map(|p| p.to_string());
                self.store
                    .log_delivery(&who.uri, target, period, at, peer.as_deref())
                    .map_err(internal)?;
                let mut doc = documents::key_prov_response(&self.config, target, &time, [&set]);
                doc.client_req_url = url;
                Ok(Reply {
                    document: doc,
                    issued: u64::from(new),
                    served: u64::from(!new),
                })
            }
            Request::CertCache { cache_num } => {
                let cache = documents::cert_cache(self.store.as_ref(), *cache_num)
                    .map_err(|_| Refusal::Internal)?;
                let doc = KmsResponse::new(
                    who.uri.clone(),
                    self.config.kms_uri.clone(),
                    time,
                    url,
                    Some(KmsMessage::CertCache(cache)),
                );
                Ok(Reply {
                    document: doc,
                    issued: 0,
                    served: 0,
                })
            }
        }
    }

    /// Whether `who` may fetch the key sets of `target` (see the module docs).
    fn authorise(&self, who: &Principal, target: &str) -> Result<(), Refusal> {
        let allowed = target == who.uri
            || self
                .store
                .is_group_manager(target, &who.uri)
                .map_err(internal)?;
        if !allowed {
            return Err(Refusal::Forbidden);
        }
        if !self.store.is_registered(target).map_err(internal)? {
            return Err(Refusal::NotFound);
        }
        Ok(())
    }

    /// Refuses the key sets of a revoked `target` ([`super::store::refuse_revoked`]).
    fn refuse_revoked(&self, target: &str) -> Result<(), Refusal> {
        super::store::refuse_revoked(self.store.as_ref(), target).map_err(|e| match e {
            StoreError::Revoked(_) => Refusal::Revoked,
            other => internal(other),
        })
    }

    /// Issues and records the key set of `uri` for `period` (insert-or-return: a concurrent
    /// first request gets the same set). Returns the set and whether it is new.
    fn issue(&self, uri: &str, period: u64) -> Result<(super::store::IssuedKeySet, bool), Refusal> {
        let keys = self.store.master_keys(period).map_err(|e| match e {
            StoreError::NoMasterKeyForPeriod(_) => Refusal::NoKeyPeriod,
            other => internal(other),
        })?;
        let set = issue_key_set(
            &keys,
            &self.config.kms_uri,
            self.config.periods,
            uri,
            period,
        )
        .map_err(|e| match e {
            ProvisionError::BadUri(_) => bad("the URI is too long"),
            ProvisionError::BadTime => Refusal::NoKeyPeriod,
            _ => Refusal::Internal,
        })?;
        let recorded = self
            .store
            .record(vec![set])
            .map_err(|e| match e {
                StoreError::UnknownPrincipal(_) => Refusal::NotFound,
                StoreError::Revoked(_) => Refusal::Revoked,
                other => internal(other),
            })?
            .pop()
            .ok_or(Refusal::Internal)?;
        Ok((recorded.set, recorded.new))
    }

    /// Parses, handles and renders one request: what a transport calls. `who == None` (no
    /// valid access token) gives the 401 document.
    pub fn respond(
        &self,
        who: Option<&Principal>,
        path: &str,
        body: &[u8],
        ctx: &Context,
    ) -> HttpReply {
        let Some(who) = who else {
            return self.refusal_reply(&Refusal::Unauthenticated, None, path, ctx);
        };
        let result = Request::parse(path, body).and_then(|req| self.handle(who, &req, ctx));
        match result {
            Ok(mut reply) => {
                reply.document.client_req_url = client_req_url(&self.config.kms_uri, bare(path));
                HttpReply {
                    status: 200,
                    body: reply.document.to_xml(),
                    issued: reply.issued,
                    served: reply.served,
                }
            }
            Err(refusal) => self.refusal_reply(&refusal, Some(who), path, ctx),
        }
    }

    fn refusal_reply(
        &self,
        refusal: &Refusal,
        who: Option<&Principal>,
        path: &str,
        ctx: &Context,
    ) -> HttpReply {
        HttpReply {
            status: refusal.status(),
            body: self.refusal_response(refusal, who, path, ctx).to_xml(),
            issued: 0,
            served: 0,
        }
    }

    fn refusal_response(
        &self,
        refusal: &Refusal,
        who: Option<&Principal>,
        path: &str,
        ctx: &Context,
    ) -> KmsResponse {
        // Without a caller the response is addressed to the KMS itself (UserUri is
        // mandatory).
        let user = who.map_or(self.config.kms_uri.as_str(), |w| w.uri.as_str());
        let mut doc = KmsResponse::new(
            user,
            self.config.kms_uri.clone(),
            date_time(ctx.now),
            client_req_url(&self.config.kms_uri, &printable(bare(path))),
            None,
        );
        doc.error = Some(KmsError {
            code: refusal.code(),
            message: refusal.message(),
        });
        doc
    }

    /// A `KmsResponse` with a `KmsError` for `refusal` (for errors the transport produces
    /// itself: 401, 413, 503), as XML.
    pub fn refusal_document(&self, refusal: &Refusal, path: &str, ctx: &Context) -> String {
        self.refusal_response(refusal, None, path, ctx).to_xml()
    }
}

/// The path without its query string.
fn bare(path: &str) -> &str {
    path.split_once('?').map_or(path, |(p, _)| p)
}

/// A path as it may appear in a document: control characters (which XML cannot carry)
/// percent-escaped.
fn printable(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if c.is_control() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}
