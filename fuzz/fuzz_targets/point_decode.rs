//! The 257-octet SAKKE point decoders (public and constant-time variants must agree), the
//! Encapsulated Data decoder, and the ECCSI decoders (65-octet points, scalars, signatures).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mikey_sakke::curve::AffinePoint;

fuzz_target!(|data: &[u8]| {
    let a = AffinePoint::from_bytes(data);
    let b = AffinePoint::from_bytes_ct(data);
    assert_eq!(a.is_ok(), b.is_ok());
    if let (Ok(a), Ok(b)) = (a, b) {
        assert_eq!(a, b);
        assert_eq!(a.to_bytes().as_slice(), data);
    }
    let _ = mikey_sakke::sakke::EncapsulatedData::from_bytes(data);
    let _ = mikey_sakke::sakke::MasterSecret::from_bytes(data);
    let _ = mikey_sakke::eccsi::Pvt::from_bytes(data);
    let _ = mikey_sakke::eccsi::Kpak::from_bytes(data);
    let _ = mikey_sakke::eccsi::Ssk::from_bytes(data);
    let _ = mikey_sakke::eccsi::Signature::from_bytes(data);
});
