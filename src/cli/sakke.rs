//! `mikey-sakke sakke ...`: the SAKKE (RFC 6508) operations on hex arguments.

use clap::Subcommand;

use super::{CliError, Output, os_rng, parse_hex, secret_hex};
use mikey_sakke::sakke::{
    self, EncapsulatedData, KmsPublicKey, MasterSecret, ReceiverSecretKey, Ssv,
};

/// SAKKE operations (RFC 6508, parameter set 1 of RFC 6509).
#[derive(Subcommand, Debug)]
pub enum SakkeCommand {
    /// KMS: print the KMS public key Z = [z]P for a master secret z.
    PublicKey {
        /// The KMS master secret z, big-endian hex, 2 <= z <= q-1: @FILE, - (stdin), or HEX
        /// (tests only: the command line is visible to other local users).
        #[arg(long, value_name = "@FILE|-|HEX")]
        master_secret: String,
    },
    /// KMS: issue the Receiver Secret Key RSK = [(id + z)^-1]P for an identifier.
    IssueRsk {
        /// The KMS master secret z, big-endian hex: @FILE, - (stdin), or HEX (tests only).
        #[arg(long, value_name = "@FILE|-|HEX")]
        master_secret: String,
        /// The receiver's identifier, as hex octets (e.g. a 32-octet MCX UID).
        #[arg(long, value_name = "HEX")]
        id: String,
    },
    /// Receiver: check <[id]P + Z, RSK> == g. Prints `valid = true` (exit 0) or
    /// `valid = false` (exit 1).
    ValidateRsk {
        /// The KMS public key Z, 257 octets `04 || x || y` in hex.
        #[arg(long, value_name = "HEX")]
        kms_public_key: String,
        /// The identifier the RSK was issued for, hex.
        #[arg(long, value_name = "HEX")]
        id: String,
        /// The RSK, 257 octets in hex: @FILE, - (stdin), or HEX (tests only).
        #[arg(long, value_name = "@FILE|-|HEX")]
        rsk: String,
    },
    /// Sender: encapsulate a Shared Secret Value for an identifier. Prints SSV and the
    /// 273-octet Encapsulated Data ED = R || H.
    Encapsulate {
        /// The KMS public key Z, 257 octets in hex.
        #[arg(long, value_name = "HEX")]
        kms_public_key: String,
        /// The receiver's identifier, hex.
        #[arg(long, value_name = "HEX")]
        id: String,
        /// Use this 16-octet SSV instead of a random one (for known-answer tests only:
        /// a chosen or reused SSV is insecure): @FILE, - (stdin), or HEX.
        #[arg(long, value_name = "@FILE|-|HEX")]
        ssv: Option<String>,
    },
    /// Receiver: recover the SSV from Encapsulated Data with the RSK (RFC 6508 s6.2.2,
    /// including the final TEST == R check).
    Decapsulate {
        /// The KMS public key Z, 257 octets in hex.
        #[arg(long, value_name = "HEX")]
        kms_public_key: String,
        /// The receiver's identifier, hex.
        #[arg(long, value_name = "HEX")]
        id: String,
        /// The receiver's RSK, 257 octets in hex: @FILE, - (stdin), or HEX (tests only).
        #[arg(long, value_name = "@FILE|-|HEX")]
        rsk: String,
        /// The Encapsulated Data, 273 octets in hex.
        #[arg(long, value_name = "HEX")]
        ed: String,
    },
}

fn master_secret(hex: &str) -> Result<MasterSecret, CliError> {
    let bytes = secret_hex("master-secret", hex)?;
    MasterSecret::from_bytes(&bytes).map_err(|e| CliError(format!("--master-secret: {e}")))
}

fn kms_key(hex: &str) -> Result<KmsPublicKey, CliError> {
    KmsPublicKey::from_bytes(&parse_hex("kms-public-key", hex)?)
        .map_err(|e| CliError(format!("--kms-public-key: {e}")))
}

fn rsk(hex: &str) -> Result<ReceiverSecretKey, CliError> {
    let bytes = secret_hex("rsk", hex)?;
    ReceiverSecretKey::from_bytes(&bytes).map_err(|e| CliError(format!("--rsk: {e}")))
}

/// Runs one `sakke` subcommand.
///
/// # Errors
/// A one-line message for malformed arguments or a failed operation.
pub fn run(cmd: &SakkeCommand) -> Result<Output, CliError> {
    match cmd {
        SakkeCommand::PublicKey { master_secret: z } => {
            let z = master_secret(z)?;
            Ok(Output::new().hex("Z", &z.public_key().to_bytes()))
        }
        SakkeCommand::IssueRsk {
            master_secret: z,
            id,
        } => {
            let z = master_secret(z)?;
            let id = parse_hex("id", id)?;
            let rsk = z.issue_rsk(&id).map_err(|e| CliError(e.to_string()))?;
            Ok(Output::new().hex("RSK", &rsk.to_bytes()))
        }
        SakkeCommand::ValidateRsk {
            kms_public_key,
            id,
            rsk: k,
        } => {
            let kms = kms_key(kms_public_key)?;
            let id = parse_hex("id", id)?;
            let k = rsk(k)?;
            Ok(match k.validate(&kms, &id) {
                Ok(()) => Output::new().text("valid", "true"),
                Err(_) => Output::new().text("valid", "false").with_status(1),
            })
        }
        SakkeCommand::Encapsulate {
            kms_public_key,
            id,
            ssv,
        } => {
            let kms = kms_key(kms_public_key)?;
            let id = parse_hex("id", id)?;
            let (ssv, ed) = match ssv {
                Some(s) => {
                    let bytes = secret_hex("ssv", s)?;
                    let ssv =
                        Ssv::from_slice(&bytes).map_err(|e| CliError(format!("--ssv: {e}")))?;
                    let ed = sakke::hazmat::encapsulate_with_ssv(&ssv, &kms, &id);
                    (ssv, ed)
                }
                None => sakke::encapsulate(&mut os_rng(), &kms, &id),
            };
            Ok(Output::new()
                .hex("SSV", ssv.as_bytes())
                .hex("ED", &ed.to_bytes()))
        }
        SakkeCommand::Decapsulate {
            kms_public_key,
            id,
            rsk: k,
            ed,
        } => {
            let kms = kms_key(kms_public_key)?;
            let id = parse_hex("id", id)?;
            let k = rsk(k)?;
            let ed = EncapsulatedData::from_bytes(&parse_hex("ed", ed)?)
                .map_err(|e| CliError(format!("--ed: {e}")))?;
            let ssv = sakke::decapsulate(&kms, &id, &k, &ed)
                .map_err(|_| CliError::new("decapsulation failed"))?;
            Ok(Output::new().hex("SSV", ssv.as_bytes()))
        }
    }
}
