//! The writer: the schema's element order, the 3GPP namespace as the default namespace, key
//! values and UserIDs in upper-case hexBinary.

use std::io::{self, Write};

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use super::octets::encode_hex_upper;
use super::{
    KEY_CONTENT_TYPE, KEY_PROV_VERSION, KEY_SET_VERSION, KRR_NAMESPACE, KmsCertCache,
    KmsCertificate, KmsError, KmsKeySet, KmsMessage, KmsRequest, KmsResponse, NAMESPACE,
    REQUEST_VERSION, RESPONSE_VERSION, SignedKmsRequest, XMLDSIG_NAMESPACE, XSI_NAMESPACE,
};

/// The `Version` written on `KmsInit` (as in the Streamwide samples; the schema does not fix it).
const INIT_VERSION: &str = "1.0.0";

/// Counts the octets written, to size the output buffer exactly.
struct Counter(usize);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 = self.0.saturating_add(buf.len());
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The document as a `String`, written into a buffer allocated once at its final size so that
/// no partial copy of a key is left behind by a reallocation.
pub(super) fn to_string(r: &KmsResponse) -> String {
    to_string_with(|out| write_response(r, out))
}

/// What `write` writes, as a `String` in a buffer allocated once at its final size.
pub(super) fn to_string_with(write: impl Fn(&mut dyn Write) -> io::Result<()>) -> String {
    let mut counter = Counter(0);
    // Neither a Counter nor a Vec<u8> ever returns an I/O error.
    let counted = write(&mut counter);
    let mut buf = Vec::with_capacity(counter.0);
    let written = write(&mut buf);
    debug_assert!(counted.is_ok() && written.is_ok());
    // Every piece written is a `str`, so the buffer is UTF-8.
    String::from_utf8(buf).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

type W<O> = Writer<O>;

fn leaf<O: Write>(w: &mut W<O>, name: &str, text: &str) -> io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(text))?;
    Ok(())
}

fn opt_leaf<O: Write>(w: &mut W<O>, name: &str, text: Option<&str>) -> io::Result<()> {
    match text {
        Some(t) => leaf(w, name, t),
        None => Ok(()),
    }
}

fn opt_bool<O: Write>(w: &mut W<O>, name: &str, v: Option<bool>) -> io::Result<()> {
    opt_leaf(w, name, v.map(|b| if b { "true" } else { "false" }))
}

/// A value in upper-case hexBinary; the hex text is zeroized after writing.
fn hex_leaf<O: Write>(w: &mut W<O>, name: &str, octets: &[u8]) -> io::Result<()> {
    let hex = encode_hex_upper(octets);
    leaf(w, name, &hex)
}

/// A key value in upper-case hexBinary, typed `xsi:type="KeyContentType"` (its declared type
/// is abstract); the hex text is zeroized after writing.
fn key_leaf<O: Write>(w: &mut W<O>, name: &str, octets: &[u8]) -> io::Result<()> {
    let hex = encode_hex_upper(octets);
    w.create_element(name)
        .with_attribute(("xsi:type", KEY_CONTENT_TYPE))
        .write_text_content(BytesText::new(&hex))?;
    Ok(())
}

/// Text written as it is (kept XML, checked when it was made).
fn raw<O: Write>(w: &mut W<O>, text: &str) -> io::Result<()> {
    w.write_event(Event::Text(BytesText::from_escaped(text)))
}

fn error<O: Write>(w: &mut W<O>, name: &str, e: &KmsError) -> io::Result<()> {
    start(w, BytesStart::new(name))?;
    leaf(w, "ErrorCode", &e.code.to_string())?;
    leaf(w, "ErrorMsg", &e.message)?;
    end(w, name)
}

fn start<O: Write>(w: &mut W<O>, tag: BytesStart<'_>) -> io::Result<()> {
    w.write_event(Event::Start(tag))
}

fn end<O: Write>(w: &mut W<O>, name: &str) -> io::Result<()> {
    w.write_event(Event::End(BytesEnd::new(name)))
}

/// Writes a whole `KmsResponse` document.
pub(super) fn write_response<O: Write>(r: &KmsResponse, out: O) -> io::Result<()> {
    let mut w = Writer::new_with_indent(out, b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let mut root = BytesStart::new("KmsResponse");
    root.push_attribute(("xmlns", NAMESPACE));
    let has_keys = matches!(&r.message, Some(KmsMessage::KeyProv(kp)) if !kp.key_sets.is_empty());
    if has_keys {
        root.push_attribute(("xmlns:xsi", XSI_NAMESPACE));
    }
    root.push_attribute(("Version", RESPONSE_VERSION));
    if let Some(id) = &r.id {
        root.push_attribute(("Id", id.as_str()));
    }
    start(&mut w, root)?;
    leaf(&mut w, "UserUri", &r.user_uri)?;
    leaf(&mut w, "KmsUri", &r.kms_uri)?;
    leaf(&mut w, "Time", &r.time)?;
    opt_leaf(&mut w, "KmsId", r.kms_id.as_deref())?;
    leaf(&mut w, "ClientReqUrl", &r.client_req_url)?;
    if let Some(m) = &r.message {
        message(&mut w, m)?;
    }
    if let Some(e) = &r.error {
        error(&mut w, "KmsError", e)?;
    }
    end(&mut w, "KmsResponse")
}

/// Writes a whole `KmsRequest` document.
pub(super) fn write_request<O: Write>(r: &KmsRequest, out: O) -> io::Result<()> {
    let mut w = Writer::new_with_indent(out, b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    request(&mut w, r, true)
}

/// Writes a whole `SignedKmsRequest` document.
pub(super) fn write_signed_request<O: Write>(s: &SignedKmsRequest, out: O) -> io::Result<()> {
    let mut w = Writer::new_with_indent(out, b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let mut root = BytesStart::new("SignedKmsRequest");
    root.push_attribute(("xmlns", NAMESPACE));
    root.push_attribute(("xmlns:ds", XMLDSIG_NAMESPACE));
    if let Some(id) = &s.id {
        root.push_attribute(("Id", id.as_str()));
    }
    start(&mut w, root)?;
    request(&mut w, &s.request, false)?;
    raw(&mut w, s.signature().as_str())?;
    end(&mut w, "SignedKmsRequest")
}

/// A `KmsRequest` element (`root`: with the namespace declarations of a document root).
fn request<O: Write>(w: &mut W<O>, r: &KmsRequest, root: bool) -> io::Result<()> {
    let mut tag = BytesStart::new("KmsRequest");
    if root {
        tag.push_attribute(("xmlns", NAMESPACE));
    }
    if r.krr_list.is_some() {
        tag.push_attribute(("xmlns:krr", KRR_NAMESPACE));
    }
    tag.push_attribute(("Version", REQUEST_VERSION));
    if let Some(id) = &r.id {
        tag.push_attribute(("Id", id.as_str()));
    }
    start(w, tag)?;
    leaf(w, "UserUri", &r.user_uri)?;
    leaf(w, "KmsUri", &r.kms_uri)?;
    leaf(w, "Time", &r.time)?;
    opt_leaf(w, "ClientId", r.client_id.as_deref())?;
    opt_leaf(w, "DeviceId", r.device_id.as_deref())?;
    leaf(w, "ClientReqUrl", &r.client_req_url)?;
    if let Some(krr) = &r.krr_list {
        start(w, BytesStart::new("KrrList"))?;
        raw(w, krr.as_str())?;
        end(w, "KrrList")?;
    }
    if let Some(e) = &r.client_error {
        error(w, "ClientError", e)?;
    }
    opt_leaf(w, "TrK-ID", r.trk_id.as_deref())?;
    opt_leaf(w, "Signature-ID", r.signature_id.as_deref())?;
    end(w, "KmsRequest")
}

/// Writes a whole `KmsCertificate` document.
pub(super) fn write_certificate<O: Write>(c: &KmsCertificate, out: O) -> io::Result<()> {
    let mut w = Writer::new_with_indent(out, b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    certificate_tag(&mut w, c, true)
}

fn message<O: Write>(w: &mut W<O>, m: &KmsMessage) -> io::Result<()> {
    if matches!(m, KmsMessage::Other) {
        w.write_event(Event::Empty(BytesStart::new("KmsMessage")))?;
        return Ok(());
    }
    start(w, BytesStart::new("KmsMessage"))?;
    match m {
        KmsMessage::Init(cert) => {
            let mut tag = BytesStart::new("KmsInit");
            tag.push_attribute(("Version", INIT_VERSION));
            start(w, tag)?;
            certificate(w, cert)?;
            end(w, "KmsInit")?;
        }
        KmsMessage::KeyProv(kp) => {
            let mut tag = BytesStart::new("KmsKeyProv");
            tag.push_attribute(("Version", KEY_PROV_VERSION));
            if kp.key_sets.is_empty() {
                w.write_event(Event::Empty(tag))?;
            } else {
                start(w, tag)?;
                for ks in &kp.key_sets {
                    key_set(w, ks)?;
                }
                end(w, "KmsKeyProv")?;
            }
        }
        KmsMessage::CertCache(cache) => cert_cache(w, cache)?,
        KmsMessage::Other => {}
    }
    end(w, "KmsMessage")
}

fn cert_cache<O: Write>(w: &mut W<O>, cache: &KmsCertCache) -> io::Result<()> {
    let mut tag = BytesStart::new("KmsCertCache");
    tag.push_attribute(("Version", KEY_PROV_VERSION));
    if let Some(n) = cache.cache_num {
        tag.push_attribute(("CacheNum", n.to_string().as_str()));
    }
    if cache.certificates.is_empty() {
        return w.write_event(Event::Empty(tag));
    }
    start(w, tag)?;
    for cert in &cache.certificates {
        certificate(w, cert)?;
    }
    end(w, "KmsCertCache")
}

fn certificate<O: Write>(w: &mut W<O>, c: &KmsCertificate) -> io::Result<()> {
    certificate_tag(w, c, false)
}

fn certificate_tag<O: Write>(w: &mut W<O>, c: &KmsCertificate, root: bool) -> io::Result<()> {
    let mut tag = BytesStart::new("KmsCertificate");
    if root {
        tag.push_attribute(("xmlns", NAMESPACE));
    }
    if let Some(v) = &c.version {
        tag.push_attribute(("Version", v.as_str()));
    }
    if let Some(role) = c.role {
        tag.push_attribute(("Role", role.as_str()));
    }
    if let Some(g) = c.is_security_gateway {
        tag.push_attribute(("IsSecurityGateway", if g { "true" } else { "false" }));
    }
    start(w, tag)?;
    opt_leaf(w, "CertUri", c.cert_uri.as_deref())?;
    leaf(w, "KmsUri", &c.kms_uri)?;
    opt_leaf(w, "Issuer", c.issuer.as_deref())?;
    opt_leaf(w, "ValidFrom", c.valid_from.as_deref())?;
    opt_leaf(w, "ValidTo", c.valid_to.as_deref())?;
    opt_bool(w, "Revoked", c.revoked)?;
    leaf(w, "UserIdFormat", &c.user_id_format)?;
    leaf(w, "UserKeyPeriod", &c.user_key_period.to_string())?;
    leaf(w, "UserKeyOffset", &c.user_key_offset.to_string())?;
    hex_leaf(w, "PubEncKey", &c.pub_enc_key)?;
    hex_leaf(w, "PubAuthKey", &c.pub_auth_key)?;
    opt_leaf(
        w,
        "ParameterSet",
        c.parameter_set.map(|p| p.to_string()).as_deref(),
    )?;
    if !c.kms_domains.is_empty() {
        start(w, BytesStart::new("KmsDomainList"))?;
        for d in &c.kms_domains {
            leaf(w, "KmsDomain", d)?;
        }
        end(w, "KmsDomainList")?;
    }
    end(w, "KmsCertificate")
}

fn key_set<O: Write>(w: &mut W<O>, k: &KmsKeySet) -> io::Result<()> {
    let mut tag = BytesStart::new("KmsKeySet");
    tag.push_attribute(("Version", KEY_SET_VERSION));
    start(w, tag)?;
    leaf(w, "KmsUri", &k.kms_uri)?;
    opt_leaf(w, "CertUri", k.cert_uri.as_deref())?;
    opt_leaf(w, "Issuer", k.issuer.as_deref())?;
    leaf(w, "UserUri", &k.user_uri)?;
    hex_leaf(w, "UserID", &k.user_id)?;
    opt_leaf(w, "ValidFrom", k.valid_from.as_deref())?;
    opt_leaf(w, "ValidTo", k.valid_to.as_deref())?;
    leaf(w, "KeyPeriodNo", &k.key_period_no.to_string())?;
    opt_bool(w, "Revoked", k.revoked)?;
    key_leaf(w, "UserDecryptKey", k.user_decrypt_key.as_bytes())?;
    key_leaf(w, "UserSigningKeySSK", k.user_signing_key_ssk.as_bytes())?;
    key_leaf(w, "UserPubTokenPVT", &k.user_pub_token_pvt)?;
    end(w, "KmsKeySet")
}
