//! `mikey-sakke eccsi ...`: ECCSI (RFC 6507) key issue, validation, signing and verification.

use mikey_sakke::eccsi::{
    self, KmsKeyPair, Kpak, Ksak, Pvt, Signature, SigningKey, Ssk, VerifyingKey, hazmat,
};
use signature::Verifier;

use super::{CliError, Output, os_rng, parse_hex, secret_hex};

/// ECCSI (RFC 6507, P-256 / SHA-256) operations. All values are hex (upper or lower case).
#[derive(clap::Subcommand, Debug)]
pub enum EccsiCommand {
    /// KMS: print KPAK = [KSAK]G (RFC 6507 s4.2).
    PublicKey {
        /// KMS Secret Authentication Key, a big-endian integer in [1, q-1] (leading zero octets
        /// allowed).
        /// Given as @FILE, - (stdin), or HEX (tests only: visible to other local users).
        #[arg(long, value_name = "@FILE|-|HEX")]
        ksak: String,
    },
    /// KMS: issue an (SSK, PVT) pair for an identifier (RFC 6507 s5.1.1); prints PVT, SSK and
    /// HS.
    Issue {
        /// KMS Secret Authentication Key, a big-endian integer in [1, q-1].
        /// Given as @FILE, - (stdin), or HEX (tests only: visible to other local users).
        #[arg(long, value_name = "@FILE|-|HEX")]
        ksak: String,
        /// Identifier ID of the user, as octets (e.g. the hex of "2011-02\0tel:+447700900123\0").
        #[arg(long, value_name = "HEX")]
        id: String,
        /// Fixed v in [1, q-1] instead of a random one. Known-answer tests only: a reused v
        /// exposes the KSAK.
        /// Given as @FILE, - (stdin), or HEX (tests only: visible to other local users).
        #[arg(long, value_name = "@FILE|-|HEX")]
        v: Option<String>,
    },
    /// User: validate a received (SSK, PVT) against KPAK and ID (RFC 6507 s5.1.2); prints
    /// `valid = true` (exit 0) or `valid = false` (exit 1).
    Validate {
        /// KMS Public Authentication Key, 65 octets 04 || x || y.
        #[arg(long, value_name = "HEX")]
        kpak: String,
        /// Identifier ID of the user, as octets.
        #[arg(long, value_name = "HEX")]
        id: String,
        /// Secret Signing Key, a big-endian integer in [1, q-1] (leading zero octets allowed).
        /// Given as @FILE, - (stdin), or HEX (tests only: visible to other local users).
        #[arg(long, value_name = "@FILE|-|HEX")]
        ssk: String,
        /// Public Validation Token, 65 octets 04 || x || y.
        #[arg(long, value_name = "HEX")]
        pvt: String,
    },
    /// User: validate (SSK, PVT), then sign a message (RFC 6507 s5.2.1); prints the 129-octet
    /// signature SIG = r || s || PVT.
    Sign {
        /// KMS Public Authentication Key, 65 octets 04 || x || y.
        #[arg(long, value_name = "HEX")]
        kpak: String,
        /// Identifier ID of the signer, as octets.
        #[arg(long, value_name = "HEX")]
        id: String,
        /// Secret Signing Key, a big-endian integer in [1, q-1] (leading zero octets allowed).
        /// Given as @FILE, - (stdin), or HEX (tests only: visible to other local users).
        #[arg(long, value_name = "@FILE|-|HEX")]
        ssk: String,
        /// Public Validation Token, 65 octets 04 || x || y.
        #[arg(long, value_name = "HEX")]
        pvt: String,
        /// Message M to sign, as octets ("" for the empty message).
        #[arg(long, value_name = "HEX")]
        message: String,
        /// Fixed j in [1, q-1] instead of a random one. Known-answer tests only: a reused j
        /// exposes the SSK.
        /// Given as @FILE, - (stdin), or HEX (tests only: visible to other local users).
        #[arg(long, value_name = "@FILE|-|HEX")]
        j: Option<String>,
    },
    /// Anyone: verify a signature r || s || PVT from ID on a message (RFC 6507 s5.2.2); prints
    /// `valid = true` (exit 0) or `valid = false` (exit 1).
    Verify {
        /// KMS Public Authentication Key, 65 octets 04 || x || y.
        #[arg(long, value_name = "HEX")]
        kpak: String,
        /// Identifier ID of the signer, as octets.
        #[arg(long, value_name = "HEX")]
        id: String,
        /// Message M, as octets ("" for the empty message).
        #[arg(long, value_name = "HEX")]
        message: String,
        /// Signature r || s || PVT, 129 octets.
        #[arg(long, value_name = "HEX")]
        signature: String,
    },
}

/// Runs one `eccsi` subcommand.
///
/// # Errors
/// A one-line [`CliError`] for malformed hex, a value that does not decode (wrong length,
/// off-curve point, scalar zero or >= q), a pair that does not validate before signing, or a
/// failure of the random number generator. A negative `validate` or `verify` is not an error:
/// it prints `valid = false` with exit status 1.
pub fn run(cmd: &EccsiCommand) -> Result<Output, CliError> {
    match cmd {
        EccsiCommand::PublicKey { ksak } => {
            let ksak = decode_secret("ksak", ksak, Ksak::from_bytes)?;
            Ok(Output::new().hex("KPAK", ksak.kpak().as_bytes()))
        }
        EccsiCommand::Issue { ksak, id, v } => {
            let kms = KmsKeyPair::from_ksak(decode_secret("ksak", ksak, Ksak::from_bytes)?);
            let id = parse_hex("id", id)?;
            let (ssk, pvt) = match v {
                Some(v) => {
                    let v = decode_secret("v", v, hazmat::Nonce::from_bytes)?;
                    hazmat::issue_with_v(&kms, &id, v).map_err(|_| {
                        CliError::new("--v: this v gives SSK = 0 or HS = 0 mod q; choose another")
                    })?
                }
                None => kms
                    .issue(&id, &mut os_rng())
                    .map_err(|_| CliError::new("random number generator failure"))?,
            };
            let hs = eccsi::hash_hs(kms.kpak(), &id, &pvt);
            Ok(Output::new()
                .hex("PVT", pvt.as_bytes())
                .hex("SSK", ssk.to_bytes().as_slice())
                .hex("HS", &hs))
        }
        EccsiCommand::Validate { kpak, id, ssk, pvt } => {
            let kpak = decode_public("kpak", kpak, Kpak::from_bytes)?;
            let id = parse_hex("id", id)?;
            let ssk = decode_secret("ssk", ssk, Ssk::from_bytes)?;
            let pvt = decode_public("pvt", pvt, Pvt::from_bytes)?;
            Ok(verdict(SigningKey::new(&kpak, &id, ssk, &pvt).is_ok()))
        }
        EccsiCommand::Sign {
            kpak,
            id,
            ssk,
            pvt,
            message,
            j,
        } => {
            let kpak = decode_public("kpak", kpak, Kpak::from_bytes)?;
            let id = parse_hex("id", id)?;
            let ssk = decode_secret("ssk", ssk, Ssk::from_bytes)?;
            let pvt = decode_public("pvt", pvt, Pvt::from_bytes)?;
            let message = parse_message(message)?;
            let j = j
                .as_deref()
                .map(|j| decode_secret("j", j, hazmat::Nonce::from_bytes))
                .transpose()?;
            let key = SigningKey::new(&kpak, &id, ssk, &pvt).map_err(|_| {
                CliError::new("the (SSK, PVT) pair does not validate against KPAK and ID")
            })?;
            let sig = match j {
                Some(j) => hazmat::sign_with_j(&key, &message, j).map_err(|_| {
                    CliError::new("--j: this j gives HE + r * SSK = 0 mod q; choose another")
                })?,
                None => key
                    .try_sign_with_rng(&mut os_rng(), &message)
                    .map_err(|_| CliError::new("random number generator failure"))?,
            };
            Ok(Output::new().hex("SIG", &sig.to_bytes()))
        }
        EccsiCommand::Verify {
            kpak,
            id,
            message,
            signature,
        } => {
            let kpak = decode_public("kpak", kpak, Kpak::from_bytes)?;
            let id = parse_hex("id", id)?;
            let message = parse_message(message)?;
            let sig = decode_public("signature", signature, Signature::from_bytes)?;
            Ok(verdict(
                VerifyingKey::new(&kpak, &id).verify(&message, &sig).is_ok(),
            ))
        }
    }
}

/// `valid = true` with exit status 0, or `valid = false` with exit status 1.
fn verdict(valid: bool) -> Output {
    let out = Output::new().text("valid", valid);
    if valid { out } else { out.with_status(1) }
}

/// Parses a public hex argument and decodes it.
fn decode_public<T>(
    name: &str,
    arg: &str,
    decode: impl FnOnce(&[u8]) -> Result<T, eccsi::DecodeError>,
) -> Result<T, CliError> {
    let bytes = parse_hex(name, arg)?;
    decode(&bytes).map_err(|e| CliError::new(format!("--{name}: {e}")))
}

/// Reads a secret argument (`@FILE`, `-` or, for tests, hex) into a buffer that is zeroized
/// afterwards, and decodes it.
fn decode_secret<T>(
    name: &str,
    arg: &str,
    decode: impl FnOnce(&[u8]) -> Result<T, eccsi::DecodeError>,
) -> Result<T, CliError> {
    let bytes = secret_hex(name, arg)?;
    decode(&bytes).map_err(|e| CliError::new(format!("--{name}: {e}")))
}

/// A message in hex; unlike other arguments it may be empty (the empty message).
fn parse_message(arg: &str) -> Result<Vec<u8>, CliError> {
    if arg.trim().is_empty() {
        Ok(Vec::new())
    } else {
        parse_hex("message", arg)
    }
}
