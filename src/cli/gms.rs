//! `mikey-sakke gms ...`: the group manager.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::ue::load_response;
use super::{
    CliError, Output, create_out_dir, ntp_time, os_rng, output_plan, parse_hex, progress,
    secret_hex, write_planned,
};
use mikey_sakke::gms::{self, Distribution, GroupKey, GroupManager};
use mikey_sakke::mcx::key_id::KeyId;
use mikey_sakke::mcx::uid::KeyPeriods;
use mikey_sakke::sakke::Ssv;

/// Group manager commands (TS 33.180 E.2).
#[derive(clap::Subcommand, Debug)]
pub enum GmsCommand {
    /// Distribute a GMK: one signed MIKEY-SAKKE I_MESSAGE per member (CSB ID = the member's
    /// GUK-ID, SAKKE to the member's UID, key parameters with the group ID, SAKKE-to-self),
    /// built on all cores, one file `<member>.mikey` per member in the output directory.
    Distribute {
        /// The KMS certificate: a KmsResponse (KmsInit) XML file.
        #[arg(long, value_name = "CERT.xml")]
        cert: PathBuf,
        /// The signer's key sets (the GMS identity, or the group identity the KMS issued to the
        /// group manager): a KmsResponse (KmsKeyProv) XML file.
        #[arg(long, value_name = "KEYS.xml")]
        keys: PathBuf,
        /// The group ID (a URI), carried in the key parameters.
        #[arg(long, value_name = "ID")]
        group_id: String,
        /// The members: a file of URIs, one per line.
        #[arg(long, value_name = "FILE")]
        members: PathBuf,
        /// How the members file is checked.
        #[command(flatten)]
        list: super::UriListArgs,
        /// The output directory (created, mode 0700, if missing, as by `kms provision --out`).
        /// A `<member>.mikey` file already there is replaced only when it holds a message to
        /// that member.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Use this 16-octet GMK instead of a fresh random one: @FILE (hex in a file), - (hex
        /// on standard input), or HEX (tests only: visible to other local users).
        #[arg(long, value_name = "@FILE|-|HEX", requires = "gmk_id")]
        gmk: Option<String>,
        /// The GMK-ID (8 hex digits, purpose tag 0) for --gmk.
        #[arg(long, value_name = "HEX", requires = "gmk")]
        gmk_id: Option<String>,
        /// The message time (RFC 3339, ntp:SECONDS or 0xHEX NTP seconds); default now.
        #[arg(long, value_name = "TIME")]
        time: Option<String>,
        /// Also print the GMK itself (it is secret: for tests and key escrow only).
        #[arg(long)]
        show_key: bool,
    },
}

/// Whether the file at `path` (not a symbolic link) is an I_MESSAGE to `member`: its hashed
/// responder UID (IDRuidr) is the member's UID at the responder's KMS (IDRkmsr) for the key
/// period of its timestamp.
fn holds_message_to(path: &Path, member: &str, periods: KeyPeriods) -> bool {
    use mikey_sakke::input::{caps, decode_message, read_bounded};
    use mikey_sakke::mikey::{IdRole, Timestamp};
    let is_file = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file());
    let Some(raw) = is_file
        .then(|| read_bounded(path, caps::MIKEY_MESSAGE).ok())
        .flatten()
    else {
        return false;
    };
    let Ok(octets) = decode_message(&raw) else {
        return false;
    };
    let Ok(msg) = mikey_sakke::mikey::parse(&octets) else {
        return false;
    };
    let (Some(uidr), Some(kmsr), Some(Timestamp::NtpUtc(t))) = (
        msg.idr(IdRole::HASHED_RESPONDER),
        msg.idr(IdRole::RESPONDER_KMS),
        msg.timestamp(),
    ) else {
        return false;
    };
    periods
        .period_number(t >> 32)
        .ok()
        .and_then(|p| mikey_sakke::mcx::uid::uid(member.as_bytes(), kmsr.data, periods, p).ok())
        .is_some_and(|uid| uid.as_slice() == uidr.data)
}

/// Runs one `gms` subcommand.
///
/// # Errors
/// A one-line message for any failure.
pub fn run(cmd: &GmsCommand) -> Result<Output, CliError> {
    match cmd {
        GmsCommand::Distribute {
            cert,
            keys,
            group_id,
            members,
            list,
            out,
            gmk,
            gmk_id,
            time,
            show_key,
        } => {
            if group_id.trim().is_empty() {
                return Err(CliError::new("--group-id: empty"));
            }
            let ntp = ntp_time("time", time.as_deref())?;
            let key = match (gmk, gmk_id) {
                (Some(g), Some(i)) => {
                    let g = secret_hex("gmk", g)?;
                    let gmk = Ssv::from_slice(&g).map_err(|e| CliError(format!("--gmk: {e}")))?;
                    let id: [u8; 4] = parse_hex("gmk-id", i)?
                        .as_slice()
                        .try_into()
                        .map_err(|_| CliError::new("--gmk-id: must be 4 octets"))?;
                    GroupKey::new(gmk, KeyId::from_bytes(id))
                        .map_err(|e| CliError(format!("--gmk-id: {e}")))?
                }
                _ => GroupKey::generate(&mut os_rng()),
            };
            let cert_doc = load_response(cert)?;
            let cert = cert_doc
                .certificate()
                .ok_or_else(|| CliError(format!("{}: no KmsCertificate", cert.display())))?;
            let keys_doc = load_response(keys)?;
            let gm = GroupManager::load(cert, keys_doc.key_sets())
                .map_err(|e| CliError(format!("{}: {e}", keys.display())))?;
            let members = super::read_uris(members, list)?;
            if members.is_empty() {
                return Err(CliError::new("the members file lists no URI"));
            }
            // One file per member, collision free, planned before any message is built: a
            // file in the way is replaced only when it holds a message to the same member.
            let periods = cert.key_periods();
            let holds = |p: &Path, member: &str| holds_message_to(p, member, periods);
            let plan: std::collections::HashMap<String, PathBuf> =
                output_plan(out, &members, "mikey", &holds)?
                    .into_iter()
                    .collect();
            create_out_dir(out)?;
            let period = gm
                .period_of(ntp << 32)
                .map_err(|e| CliError(e.to_string()))?;
            let dist = Distribution::new(group_id, "", ntp);
            let bar = progress(u64::try_from(members.len()).unwrap_or(0), "distributing");
            let count = AtomicU64::new(0);
            let t = Instant::now();
            let messages = gms::distribute(&gm, &key, &dist, &members, &|| {
                bar.set_position(count.fetch_add(1, Ordering::Relaxed) + 1);
            })
            .map_err(|e| match e {
                gms::GmsError::NoSignerForPeriod(_) => CliError(format!("{}: {e}", keys.display())),
                _ => CliError(e.to_string()),
            })?;
            bar.finish_and_clear();
            let secs = t.elapsed().as_secs_f64();
            let files: Vec<(PathBuf, Vec<u8>)> = messages
                .iter()
                .filter_map(|m| plan.get(&m.member).map(|p| (p.clone(), m.message.clone())))
                .collect();
            let written = write_planned(&files)?;
            note!(
                "distributed GMK {} to {} members in {secs:.2} s: {:.0} messages/s",
                key.gmk_id,
                messages.len(),
                messages.len() as f64 / secs.max(1e-9)
            );
            let mut output = Output::new().hex("gmk_id", &key.gmk_id.to_bytes());
            if *show_key {
                output = output.hex("gmk", key.gmk.as_bytes());
            }
            Ok(output
                .text("members", messages.len())
                .text("written", written)
                .text("key_period", period)
                .text("out", out.display()))
        }
    }
}
