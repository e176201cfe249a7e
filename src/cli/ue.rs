//! `mikey-sakke ue ...`: the client: receive an I_MESSAGE with your key sets, send a PCK or a
//! CSK to a peer.

use std::path::PathBuf;

use super::mikey::{ReceiveOptions, read_message, receive_with_state, received_output};
use super::{CliError, Output, ntp_time, os_rng, read_text};
use mikey_sakke::annex_d::{KmsCertificate, KmsResponse};
use mikey_sakke::ue::{Client, PeerKeyKind};

/// Receiving-client commands.
#[derive(clap::Subcommand, Debug)]
pub enum UeCommand {
    /// Receive an I_MESSAGE with your key sets: loads the KMS certificate and your KmsKeyProv
    /// document, validates every key set, picks the one of the message's key period, verifies
    /// and decrypts. Prints what `mikey receive` prints. A message received before (in this
    /// run or an earlier one with the same --state) is refused.
    Receive(Box<ReceiveArgs>),
    /// Send a key to one peer: a signed PCK (private call) or CSK (client-server key) I_MESSAGE
    /// with a fresh key, encapsulated to the peer's UID for the key period of the message
    /// time. Prints the key ID and the peer's UID (the key itself only with --show-key).
    Send(Box<SendArgs>),
    /// Provision yourself from the KMS over HTTPS: the KMS certificate and the key sets of the
    /// current and the next key period, validated (each against its own master-key generation's
    /// certificate), written with mode 0600.
    #[cfg(feature = "fetch")]
    Fetch(Box<super::fetch::FetchArgs>),
}

/// Your KMS certificate and key sets.
#[derive(clap::Args, Debug)]
pub struct KeysArgs {
    /// The KMS certificate: a KmsResponse (KmsInit) XML file.
    #[arg(long, value_name = "CERT.xml")]
    cert: PathBuf,
    /// Your key sets: a KmsResponse (KmsKeyProv) XML file; may be repeated (e.g. the
    /// `keyset-<period>.xml` files `ue fetch` writes).
    #[arg(long, value_name = "KEYS.xml", required = true)]
    keys: Vec<PathBuf>,
}

/// Arguments of `ue receive`.
#[derive(clap::Args, Debug)]
pub struct ReceiveArgs {
    #[command(flatten)]
    keys: KeysArgs,
    /// The message: a file or `-` (raw, base64 or hex).
    #[arg(long, value_name = "FILE|-")]
    message: String,
    /// The KMS certificate of another domain whose users may send to you (its KPAK verifies
    /// messages whose IDRkmsi names its KMS); may be repeated.
    #[arg(long, value_name = "CERT.xml")]
    peer_cert: Vec<PathBuf>,
    #[command(flatten)]
    opts: ReceiveOptions,
}

/// The key a `ue send` message carries.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum SendType {
    /// A private call key (to another user).
    Pck,
    /// A client-server key (to an MC server, whose URI is its MC service ID).
    Csk,
}

/// Arguments of `ue send`.
#[derive(clap::Args, Debug)]
pub struct SendArgs {
    /// The key to send.
    #[arg(long = "type", value_name = "pck|csk")]
    key_type: SendType,
    /// The peer's URI (its MC service ID; for a CSK the MC server's).
    #[arg(long, value_name = "URI")]
    to: String,
    #[command(flatten)]
    keys: KeysArgs,
    /// The peer's KMS certificate when the peer belongs to another KMS domain; default: the
    /// peer uses your KMS (--cert).
    #[arg(long, value_name = "CERT.xml")]
    peer_cert: Option<PathBuf>,
    /// The message file to write (mode 0600, atomically).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// The message time (RFC 3339, ntp:SECONDS or 0xHEX NTP seconds); default now.
    #[arg(long, value_name = "TIME")]
    time: Option<String>,
    /// Also print the key itself (it is secret: for tests only).
    #[arg(long)]
    show_key: bool,
}

/// Loads a KmsResponse XML file.
///
/// # Errors
/// A message naming the file and the position of the problem.
pub fn load_response(path: &std::path::Path) -> Result<KmsResponse, CliError> {
    let xml = zeroize::Zeroizing::new(read_text(path)?);
    KmsResponse::from_xml(&xml).map_err(|e| CliError(format!("{}: {e}", path.display())))
}

/// The KMS certificate of a KmsResponse (KmsInit) file.
///
/// # Errors
/// A message naming the file.
pub fn load_certificate(path: &std::path::Path) -> Result<KmsCertificate, CliError> {
    load_response(path)?
        .certificate()
        .cloned()
        .ok_or_else(|| CliError(format!("{}: no KmsCertificate", path.display())))
}

impl KeysArgs {
    /// Loads and validates the client.
    fn client(&self) -> Result<Client, CliError> {
        let cert = load_certificate(&self.cert)?;
        let mut key_sets = Vec::new();
        for k in &self.keys {
            key_sets.extend_from_slice(load_response(k)?.key_sets());
        }
        Client::load(&cert, &key_sets).map_err(|e| CliError(e.to_string()))
    }
}

/// Runs one `ue` subcommand.
///
/// # Errors
/// A one-line message for any failure.
pub fn run(cmd: &UeCommand) -> Result<Output, CliError> {
    match cmd {
        #[cfg(feature = "fetch")]
        UeCommand::Fetch(args) => super::fetch::run(args),
        UeCommand::Receive(a) => receive(a),
        UeCommand::Send(a) => send(a),
    }
}

fn receive(a: &ReceiveArgs) -> Result<Output, CliError> {
    let mut client = a.keys.client()?;
    for c in &a.peer_cert {
        client
            .trust_kms(&load_certificate(c)?)
            .map_err(|e| CliError(format!("{}: {e}", c.display())))?;
    }
    let octets = read_message(&a.message)?;
    let time = a.opts.time_check(|now| {
        client
            .check_clock(now)
            .map_err(|e| CliError(format!("--now: {e}")))
    })?;
    let compat = a.opts.interop.compat();
    let state = a.opts.state.open()?;
    let got = receive_with_state(state, time, |replay| {
        client.receive_with(&octets, time, Some(replay), compat)
    })?;
    Ok(received_output(&got))
}

fn send(a: &SendArgs) -> Result<Output, CliError> {
    let client = a.keys.client()?;
    let peer = a.peer_cert.as_deref().map(load_certificate).transpose()?;
    let seconds = ntp_time("time", a.time.as_deref())?;
    if a.time.is_some() {
        client
            .check_clock(seconds)
            .map_err(|e| CliError(format!("--time: {e}")))?;
    }
    let kind = match a.key_type {
        SendType::Pck => PeerKeyKind::Pck,
        SendType::Csk => PeerKeyKind::Csk,
    };
    let sent = client
        .send(&mut os_rng(), kind, &a.to, peer.as_ref(), seconds << 32)
        .map_err(|e| CliError(e.to_string()))?;
    mikey_sakke::output::write_secret_file(&a.out, &sent.message)
        .map_err(|e| CliError(e.to_string()))?;
    let mut out = Output::new()
        .hex("key_id", &sent.key_id.to_bytes())
        .text("key_type", kind.purpose().name());
    if a.show_key {
        out = out.hex("key", sent.key.as_bytes());
    }
    Ok(out
        .text("to", &a.to)
        .hex("peer_uid", &sent.peer_uid)
        .text("peer_key_period", sent.peer_key_period)
        .text("out", a.out.display()))
}
