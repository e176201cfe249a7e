//! `mikey-sakke ue ...`: the receiving client.

use std::path::PathBuf;

use super::{CliError, Output, ntp_time, read_text};
use mikey_sakke::annex_d::KmsResponse;
use mikey_sakke::mcx::imessage::{ReplayCache, TimeCheck};
use mikey_sakke::ue::Client;

/// Receiving-client commands.
#[derive(clap::Subcommand, Debug)]
pub enum UeCommand {
    /// Receive an I_MESSAGE with your key sets: loads the KMS certificate and your KmsKeyProv
    /// document, validates every key set, picks the one of the message's key period, verifies
    /// and decrypts. Prints what `mikey receive` prints.
    Receive {
        /// The KMS certificate: a KmsResponse (KmsInit) XML file.
        #[arg(long, value_name = "CERT.xml")]
        cert: PathBuf,
        /// Your key sets: a KmsResponse (KmsKeyProv) XML file; may be repeated (e.g. the
        /// `keyset-<period>.xml` files `ue fetch` writes).
        #[arg(long, value_name = "KEYS.xml", required = true)]
        keys: Vec<PathBuf>,
        /// The message: a file or `-` (raw, base64 or hex).
        #[arg(long, value_name = "FILE|-")]
        message: String,
        /// Your clock (RFC 3339, UTC); default the system clock.
        #[arg(long, value_name = "RFC3339", conflicts_with = "no_time_check")]
        now: Option<String>,
        /// Do not compare the timestamp with a clock.
        #[arg(long)]
        no_time_check: bool,
        /// Allowed clock skew in seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 300)]
        max_skew: u64,
    },
    /// Provision yourself from the KMS over HTTPS: the KMS certificate and the key sets of the
    /// current and the next key period, validated, written with mode 0600.
    #[cfg(feature = "fetch")]
    Fetch(Box<super::fetch::FetchArgs>),
}

/// Loads a KmsResponse XML file.
///
/// # Errors
/// A message naming the file and the position of the problem.
pub fn load_response(path: &std::path::Path) -> Result<KmsResponse, CliError> {
    let xml = zeroize::Zeroizing::new(read_text(path)?);
    KmsResponse::from_xml(&xml).map_err(|e| CliError(format!("{}: {e}", path.display())))
}

/// Runs one `ue` subcommand.
///
/// # Errors
/// A one-line message for any failure.
pub fn run(cmd: &UeCommand) -> Result<Output, CliError> {
    match cmd {
        #[cfg(feature = "fetch")]
        UeCommand::Fetch(args) => super::fetch::run(args),
        UeCommand::Receive {
            cert,
            keys,
            message,
            now,
            no_time_check,
            max_skew,
        } => {
            let cert_doc = load_response(cert)?;
            let cert = cert_doc
                .certificate()
                .ok_or_else(|| CliError(format!("{}: no KmsCertificate", cert.display())))?;
            let mut key_sets = Vec::new();
            for k in keys {
                key_sets.extend_from_slice(load_response(k)?.key_sets());
            }
            let client = Client::load(cert, &key_sets).map_err(|e| CliError(e.to_string()))?;
            let octets = super::mikey::read_message(message)?;
            let time = if *no_time_check {
                TimeCheck::Disabled
            } else {
                TimeCheck::Window {
                    now: ntp_time("now", now.as_deref())?,
                    max_skew: *max_skew,
                }
            };
            let got = client
                .receive(&octets, time, Some(&mut ReplayCache::new(1)))
                .map_err(|e| CliError(e.to_string()))?;
            Ok(super::mikey::received_output(&got))
        }
    }
}
