//! The input of the role-load targets (`client_load`, `gms_load`): a KMS Initialize response
//! (the certificate) and a KeyProvision response (the key sets), separated by one NUL octet.

use mikey_sakke::annex_d::{KmsCertificate, KmsResponse};

/// The certificate and the key-set document, when both halves read as documents and the
/// first holds a certificate.
pub fn documents(data: &[u8]) -> Option<(KmsCertificate, KmsResponse)> {
    let mut parts = data.splitn(2, |&b| b == 0);
    let (cert, keys) = (parts.next()?, parts.next()?);
    let cert = KmsResponse::from_xml(std::str::from_utf8(cert).ok()?).ok()?;
    let keys = KmsResponse::from_xml(std::str::from_utf8(keys).ok()?).ok()?;
    Some((cert.certificate()?.clone(), keys))
}
