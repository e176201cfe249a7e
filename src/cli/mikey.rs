//! `mikey-sakke mikey ...`: MIKEY messages (RFC 3830, RFC 6043, RFC 6509).

use mikey_sakke::mcx::imessage::{Compat, ReceivedKey, ReplayCache, TimeCheck};
use mikey_sakke::mikey::{self, SignCoverage};
use mikey_sakke::ue::state::ClientState;

use super::{CliError, Output, claim_stdin};

/// MIKEY message tools.
#[derive(clap::Subcommand, Debug)]
pub enum MikeyCommand {
    /// Decode a MIKEY message and print every payload and field with its offset.
    ///
    /// The input is the raw message, or its base64 text (as carried after `mikey ` in an SDP
    /// `a=key-mgmt` line, which may be included), or its hex text; the form is detected.
    Inspect {
        /// The file to read, or `-` for standard input.
        #[arg(value_name = "FILE|-")]
        input: String,
    },
    /// Verify and decrypt a MIKEY-SAKKE I_MESSAGE addressed to you (TS 33.180 profile).
    ///
    /// Checks, in order: timestamp window and replay, addressing, the ECCSI signature (before
    /// any SAKKE work), SAKKE decapsulation, key identifiers and key parameters. Prints the key,
    /// its identifiers and the derived SRTP master key and salt.
    Receive(Box<ReceiveArgs>),
}

/// Arguments of `mikey receive`.
#[derive(clap::Args, Debug)]
pub struct ReceiveArgs {
    /// The message: a file or `-` for standard input (raw, base64 or hex).
    #[arg(long, value_name = "FILE|-")]
    message: String,
    /// The SAKKE KMS public key Z of your KMS, 257 octets in hex.
    #[arg(long, value_name = "HEX")]
    kms_public_key: String,
    /// The ECCSI KMS public authentication key KPAK, 65 octets in hex.
    #[arg(long, value_name = "HEX")]
    kpak: String,
    /// Your 32-octet UID for the key period of the message.
    #[arg(long, value_name = "HEX")]
    uid: String,
    /// Your SAKKE RSK, 257 octets in hex (validated before use): @FILE (hex in a file), -
    /// (hex on standard input), or HEX (tests only: visible to other local users).
    #[arg(long, value_name = "@FILE|-|HEX")]
    rsk: String,
    /// Your MC service ID (URI), to check the GMK-ID against the GUK-ID of a GMK message.
    #[arg(long, value_name = "URI")]
    user_uri: Option<String>,
    /// Accept the message only from this initiator UID.
    #[arg(long, value_name = "HEX")]
    initiator_uid: Option<String>,
    #[command(flatten)]
    opts: ReceiveOptions,
}

/// The options `mikey receive` and `ue receive` share: the timestamp window, the
/// interoperability options and the client state.
#[derive(clap::Args, Debug, Clone)]
pub struct ReceiveOptions {
    /// Your clock (RFC 3339 such as 2026-11-24T12:00:00Z, ntp:SECONDS or 0xHEX NTP seconds;
    /// not before 1970; for `ue receive` also not before the KMS certificate's ValidFrom, not
    /// after its ValidTo nor 2036-02-07); default: the system clock.
    #[arg(long, value_name = "TIME", conflicts_with = "no_time_check")]
    pub now: Option<String>,
    /// Do not compare the timestamp with a clock (for recorded messages).
    #[arg(long)]
    pub no_time_check: bool,
    /// Allowed clock skew in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub max_skew: u64,
    #[command(flatten)]
    pub interop: InteropArgs,
    #[command(flatten)]
    pub state: StateArgs,
}

impl ReceiveOptions {
    /// The time check: none with `--no-time-check`, else the window around `--now` (which
    /// `check_given` must accept when it was given) or the system clock.
    ///
    /// # Errors
    /// A `--now` that does not read as a time, or `check_given`'s error.
    pub fn time_check(
        &self,
        check_given: impl FnOnce(u64) -> Result<(), CliError>,
    ) -> Result<TimeCheck, CliError> {
        if self.no_time_check {
            return Ok(TimeCheck::Disabled);
        }
        let now = super::ntp_time("now", self.now.as_deref())?;
        if self.now.is_some() {
            check_given(now)?;
        }
        Ok(TimeCheck::Window {
            now,
            max_skew: self.max_skew,
        })
    }
}

/// The interoperability options of `mikey receive` and `ue receive`: each relaxes one check
/// for deployed peers that deviate from the specifications (the signature or SAKKE's TEST == R
/// check still authenticates the result).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct InteropArgs {
    /// Turn on what one deployed peer needs: rfc (nothing), streamwide (--compat-minimal-w
    /// --compat-legacy-key-params), alea or softil (--compat-signature). Combines with the
    /// options below.
    #[arg(long, value_name = "NAME", value_parser = profile_names())]
    pub profile: Option<String>,
    /// Also accept signatures that exclude the two SIGN header octets (some deployed peers).
    #[arg(long)]
    pub compat_signature: bool,
    /// Retry decapsulation with g^r hashed in minimal length (some deployed peers).
    #[arg(long)]
    pub compat_minimal_w: bool,
    /// Accept the legacy clear key-parameters format of old deployed senders.
    #[arg(long)]
    pub compat_legacy_key_params: bool,
}

fn profile_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(
        mikey_sakke::mcx::imessage::PEER_PROFILES
            .iter()
            .map(|p| clap::builder::PossibleValue::new(p.name).help(p.why)),
    )
}

impl InteropArgs {
    /// The options: the profile's, with the single options added.
    pub fn compat(&self) -> Compat {
        let own = Compat {
            signature: self.compat_signature,
            minimal_w: self.compat_minimal_w,
            legacy_key_params: self.compat_legacy_key_params,
        };
        self.profile
            .as_deref()
            .and_then(Compat::profile)
            .unwrap_or_default()
            .union(own)
    }
}

/// Where `mikey receive` and `ue receive` keep their state between runs.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct StateArgs {
    /// The client state directory: a bounded replay cache kept between runs (a message seen
    /// before is refused, also with its signature altered) and the last GMK of each group
    /// (secret: files of mode 0600, not sealed). Default: $XDG_DATA_HOME/mikey-sakke, else
    /// ~/.local/share/mikey-sakke.
    #[arg(long, value_name = "DIR", conflicts_with = "no_state")]
    pub state: Option<std::path::PathBuf>,
    /// Keep no state: only replays within this run are refused (for recorded messages).
    #[arg(long)]
    pub no_state: bool,
}

impl StateArgs {
    /// Opens the state directory (locked until dropped), or `None` with `--no-state`.
    ///
    /// # Errors
    /// Without a directory to use, or when it cannot be opened or a file is corrupt.
    pub fn open(&self) -> Result<Option<ClientState>, CliError> {
        if self.no_state {
            return Ok(None);
        }
        let dir = match &self.state {
            Some(d) => d.clone(),
            None => mikey_sakke::ue::state::default_dir().ok_or_else(|| {
                CliError::new(
                    "no client state directory: set HOME or XDG_DATA_HOME, or give --state DIR                      or --no-state",
                )
            })?,
        };
        ClientState::open(&dir)
            .map(Some)
            .map_err(|e| CliError(e.to_string()))
    }
}

/// Runs one receive with the replay cache of `state` (or a cache for this run only), then
/// keeps a received GMK as its group's last one and saves the state before anything is
/// printed. A receive error comes first; then a save error.
///
/// # Errors
/// The receive's error, else the state's.
pub fn receive_with_state<E: std::fmt::Display>(
    state: Option<ClientState>,
    time: TimeCheck,
    receive: impl FnOnce(&mut ReplayCache) -> Result<ReceivedKey, E>,
) -> Result<ReceivedKey, CliError> {
    let Some(mut state) = state else {
        return receive(&mut ReplayCache::new(1)).map_err(|e| CliError(e.to_string()));
    };
    let got = receive(state.replay_mut());
    if let Ok(k) = &got {
        state.record_group_key(k);
    }
    let saved = state.save(time);
    let got = got.map_err(|e| CliError(e.to_string()))?;
    saved.map_err(|e| CliError(e.to_string()))?;
    Ok(got)
}

/// Runs one `mikey` subcommand.
///
/// # Errors
/// A one-line message for unreadable input, text that is neither hex nor base64, or a
/// malformed message (with the offset and the payload).
pub fn run(cmd: &MikeyCommand) -> Result<Output, CliError> {
    match cmd {
        MikeyCommand::Inspect { input } => {
            let raw = read_input(input)?;
            let octets = decode_input(&raw)?;
            inspect(&octets)
        }
        MikeyCommand::Receive(args) => receive(args),
    }
}

/// Seconds between the NTP epoch (1900) and the Unix epoch (1970).
pub const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// The system clock as NTP seconds.
pub fn ntp_now() -> u64 {
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    unix + NTP_UNIX_OFFSET
}

fn fixed<const N: usize>(name: &str, hex: &str) -> Result<[u8; N], CliError> {
    let v = super::parse_hex(name, hex)?;
    v.as_slice()
        .try_into()
        .map_err(|_| CliError(format!("--{name}: must be {N} octets, got {}", v.len())))
}

fn receive(a: &ReceiveArgs) -> Result<Output, CliError> {
    use mikey_sakke::eccsi::Kpak;
    use mikey_sakke::mcx::imessage::{self, Receiver};
    use mikey_sakke::sakke::{KmsPublicKey, PreparedReceiver, ReceiverSecretKey};

    let octets = decode_input(&read_input(&a.message)?)?;
    let z = KmsPublicKey::from_bytes(&super::parse_hex("kms-public-key", &a.kms_public_key)?)
        .map_err(|e| CliError(format!("--kms-public-key: {e}")))?;
    let kpak = Kpak::from_bytes(&super::parse_hex("kpak", &a.kpak)?)
        .map_err(|e| CliError(format!("--kpak: {e}")))?;
    let uid: [u8; 32] = fixed("uid", &a.uid)?;
    let rsk_bytes = super::secret_hex("rsk", &a.rsk)?;
    let rsk =
        ReceiverSecretKey::from_bytes(&rsk_bytes).map_err(|e| CliError(format!("--rsk: {e}")))?;
    let prepared = PreparedReceiver::new(&z, &uid, &rsk).map_err(|_| {
        CliError::new("--rsk: the RSK does not validate for this UID and KMS public key")
    })?;
    let initiator = a
        .initiator_uid
        .as_deref()
        .map(|h| fixed::<32>("initiator-uid", h))
        .transpose()?;
    let time = a.opts.time_check(|_| Ok(()))?;
    let compat = a.opts.interop.compat();
    let receiver = Receiver {
        uid: &uid,
        user_uri: a.user_uri.as_deref().map(str::as_bytes),
        kms_public_key: &z,
        rsk: &prepared,
        kpak: &kpak,
        key_period: None,
        expected_initiator: initiator.as_ref(),
        compat_signature: compat.signature,
        compat_minimal_w: compat.minimal_w,
        compat_legacy_key_params: compat.legacy_key_params,
    };
    let state = a.opts.state.open()?;
    let got = receive_with_state(state, time, |replay| {
        imessage::receive(&receiver, time, Some(replay), &octets)
            .map_err(|e| format!("message rejected: {e}"))
    })?;
    Ok(received_output(&got))
}

/// The `name = value` lines describing a received key (shared with `ue receive`).
pub fn received_output(got: &ReceivedKey) -> Output {
    let mut out = Output::new()
        .hex("key", got.key.as_bytes())
        .hex("key_id", &got.key_id.to_bytes())
        .hex("csb_id", &got.csb_id.to_bytes())
        .text("key_type", got.purpose.map_or("unassigned", |p| p.name()))
        .hex("initiator_uid", &got.initiator_uid)
        .text("timestamp_ntp", format!("0x{:016X}", got.ntp_time))
        .hex("rand", &got.rand);
    if let Some(cs) = got.cs_id {
        out = out.text("cs_id", cs);
    }
    if let Some(s) = &got.srtp {
        out = out
            .hex("srtp_master_key", &s.key)
            .hex("srtp_master_salt", &s.salt);
    }
    if let Some(kp) = &got.key_params {
        out = out
            .text("key_parameters_key_type", kp.key_type)
            .hex("key_parameters_status", &kp.status.to_be_bytes())
            .hex("key_parameters_activation_time", &kp.activation_time)
            .hex("key_parameters_expiry_time", &kp.expiry_time)
            .text(
                "key_parameters_text",
                String::from_utf8_lossy(&kp.text).escape_debug(),
            );
        if let Some(groups) = &kp.group_ids {
            for g in groups {
                out = out.text(
                    "key_parameters_group_id",
                    String::from_utf8_lossy(&g.value).escape_debug(),
                );
            }
        }
    }
    if got.signature_compat_used {
        out = out.text(
            "signature_coverage",
            "without SIGN header (compatibility mode)",
        );
    }
    out
}

/// Reads a message from a file or `-` and decodes raw, base64 or hex text.
///
/// # Errors
/// A message for unreadable input or text that is neither hex nor base64.
pub fn read_message(path: &str) -> Result<Vec<u8>, CliError> {
    decode_input(&read_input(path)?)
}

/// Reads a message input (a file, or `-` for standard input) with the cap of a MIKEY message.
fn read_input(path: &str) -> Result<Vec<u8>, CliError> {
    use mikey_sakke::input::{caps, read_bounded};
    if path == "-" {
        claim_stdin("message")?;
    }
    read_bounded(std::path::Path::new(path), caps::MIKEY_MESSAGE)
        .map_err(|e| CliError(e.to_string()))
}

/// Raw octets, or hex text, or base64 text ([`mikey_sakke::input::decode_message`]).
fn decode_input(raw: &[u8]) -> Result<Vec<u8>, CliError> {
    mikey_sakke::input::decode_message(raw).map_err(|e| CliError(e.to_string()))
}

/// Octets per line of the hex column.
const HEX_PER_LINE: usize = 16;

fn inspect(octets: &[u8]) -> Result<Output, CliError> {
    let msg = mikey::parse(octets).map_err(|e| CliError(e.to_string()))?;
    let mut out = Output::new().line(format!(
        "MIKEY message: {} octets, HDR and {} payload(s)",
        octets.len(),
        msg.payloads().len()
    ));
    out = out.line(format!(
        "{:>6}  {:<w$}  field",
        "offset",
        "octets",
        w = 2 * HEX_PER_LINE
    ));
    for a in msg.annotate() {
        let indent = "  ".repeat(usize::from(a.depth));
        let field = octets.get(a.offset..a.offset + a.len).unwrap_or_default();
        let mut chunks = field.chunks(HEX_PER_LINE);
        let first = chunks.next().map(hex::encode).unwrap_or_default();
        out = out.line(format!(
            "{:>6}  {:<w$}  {indent}{}",
            a.offset,
            first,
            a.text,
            w = 2 * HEX_PER_LINE
        ));
        for (i, chunk) in chunks.enumerate() {
            out = out.line(format!(
                "{:>6}  {}",
                a.offset + (i + 1) * HEX_PER_LINE,
                hex::encode(chunk)
            ));
        }
    }
    out = out.line(format!("total {} octets", octets.len()));
    if let (Some(at), Some(rfc)) = (msg.sign_offset(), msg.signed_portion(SignCoverage::Rfc3830)) {
        out = out.line(format!(
            "signed (RFC 3830 s5.2, through the SIGN header): octets 0 to {} ({} octets)",
            rfc.len().saturating_sub(1),
            rfc.len()
        ));
        out = out.line(format!(
            "signed without the SIGN header (compatibility): octets 0 to {} ({at} octets)",
            at.saturating_sub(1)
        ));
    }
    Ok(out)
}
