//! `mikey-sakke kms revoke | unrevoke | users | audit | backup | passphrase`: the operator's
//! lifecycle commands, each one call of [`mikey_sakke::kms::store::LifecycleStore`].

use std::io::Write as _;
use std::path::PathBuf;

use super::jobs::StoreOpt;
use super::{CliError, Output, PassphraseArgs, new_passphrase, ntp_time, os_rng, rfc3339};
use mikey_sakke::kms::store::KdfParams;
use mikey_sakke::kms::store::lifecycle::{AuditEvent, PrincipalInfo};

/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// `kms users ...`.
#[derive(clap::Subcommand, Debug)]
pub enum UsersCommand {
    /// List every registered user and group: kind, registration time, revoked or not, key sets
    /// recorded.
    List {
        #[command(flatten)]
        store: StoreOpt,
        /// One JSON object per line instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show one URI: registered, revoked (when, why), and every key set recorded (period,
    /// generation, time of issue; no secret).
    Show {
        #[command(flatten)]
        store: StoreOpt,
        /// The user or group URI.
        #[arg(long, value_name = "URI")]
        user: String,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// `kms audit ...`.
#[derive(clap::Subcommand, Debug)]
pub enum AuditCommand {
    /// Write the audit trail to standard output, oldest first, as it is read: key sets issued
    /// and delivered, revocations, passphrase changes, backups. No secret is part of it.
    Export {
        #[command(flatten)]
        store: StoreOpt,
        /// Only events from this time on (RFC 3339, `ntp:SECONDS` or `0xHEX`).
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// `jsonl` (one JSON object per line) or `csv` (with a header line).
        #[arg(long, value_name = "FORMAT", default_value = "jsonl",
              value_parser = ["jsonl", "csv"])]
        format: String,
    },
}

/// `kms passphrase ...`.
#[derive(clap::Subcommand, Debug)]
pub enum PassphraseCommand {
    /// Re-seal every secret of the store under a new passphrase, in one transaction (the old
    /// passphrase opens the store until it commits, the new one from then on). The current
    /// passphrase comes from --passphrase-file, MIKEY_SAKKE_PASSPHRASE or a prompt; the new
    /// one from --new-passphrase-file or a prompt (asked twice). Stop every other process on
    /// the store first.
    Change {
        #[command(flatten)]
        store: StoreOpt,
        /// Read the new passphrase from this file (its first line; keep it 0600).
        #[arg(long, value_name = "FILE")]
        new_passphrase_file: Option<PathBuf>,
    },
}

fn err(e: &dyn std::fmt::Display) -> CliError {
    CliError(e.to_string())
}

/// A Unix time as RFC 3339.
fn unix_rfc3339(t: i64) -> String {
    rfc3339(
        u64::try_from(t)
            .unwrap_or(0)
            .saturating_add(NTP_UNIX_OFFSET),
    )
}

fn principal_json(p: &PrincipalInfo) -> serde_json::Value {
    serde_json::json!({
        "uri": p.uri,
        "kind": p.kind.as_str(),
        "registered": unix_rfc3339(p.registered_at),
        "revoked": p.revoked.is_some(),
        "revoked_at": p.revoked.as_ref().map(|r| unix_rfc3339(r.at)),
        "revoked_reason": p.revoked.as_ref().and_then(|r| r.reason.clone()),
        "key_sets": p.key_sets,
    })
}

fn status(p: &PrincipalInfo) -> String {
    match &p.revoked {
        None => "active".into(),
        Some(r) => match &r.reason {
            Some(why) => format!("revoked {} ({why})", unix_rfc3339(r.at)),
            None => format!("revoked {}", unix_rfc3339(r.at)),
        },
    }
}

/// `kms revoke`.
///
/// # Errors
/// An unregistered URI, a store failure.
pub fn revoke(store: &StoreOpt, user: &str, reason: Option<&str>) -> Result<Output, CliError> {
    let s = store.open()?;
    let new = s.revoke(user, reason).map_err(|e| err(&e))?;
    Ok(Output::new()
        .text("revoked", user)
        .text("changed", if new { "yes" } else { "no: revoked already" }))
}

/// `kms unrevoke`.
///
/// # Errors
/// An unregistered URI, a store failure.
pub fn unrevoke(store: &StoreOpt, user: &str) -> Result<Output, CliError> {
    let s = store.open()?;
    let changed = s.unrevoke(user).map_err(|e| err(&e))?;
    Ok(Output::new()
        .text("unrevoked", user)
        .text("changed", if changed { "yes" } else { "no: not revoked" }))
}

/// `kms users ...`.
///
/// # Errors
/// An unknown URI (show), a store failure.
pub fn users(cmd: &UsersCommand) -> Result<Output, CliError> {
    match cmd {
        UsersCommand::List { store, json } => {
            let s = store.open()?;
            let all = s.principals(None).map_err(|e| err(&e))?;
            let mut out = Output::new();
            for p in &all {
                out = if *json {
                    out.line(principal_json(p).to_string())
                } else {
                    out.line(format!(
                        "{} {} {} key_sets={}",
                        p.uri,
                        p.kind.as_str(),
                        status(p),
                        p.key_sets
                    ))
                };
            }
            Ok(out)
        }
        UsersCommand::Show { store, user, json } => {
            let s = store.open()?;
            let p = s
                .principals(Some(user))
                .map_err(|e| err(&e))?
                .pop()
                .ok_or_else(|| CliError(format!("{user} is not registered in the store")))?;
            let log = s.issue_log(Some(user)).map_err(|e| err(&e))?;
            if *json {
                let mut v = principal_json(&p);
                v["issued"] = log
                    .iter()
                    .map(|e| {
                        serde_json::json!({
                            "period": e.period_no,
                            "generation": e.generation,
                            "issued_at": unix_rfc3339(e.issued_at),
                        })
                    })
                    .collect();
                return Ok(Output::new().line(v.to_string()));
            }
            let mut out = Output::new()
                .text("uri", &p.uri)
                .text("kind", p.kind.as_str())
                .text("registered", unix_rfc3339(p.registered_at))
                .text("status", status(&p))
                .text("key_sets", p.key_sets);
            for e in &log {
                out = out.text(
                    &format!("period {}", e.period_no),
                    format!(
                        "generation {}, issued {}",
                        e.generation,
                        unix_rfc3339(e.issued_at)
                    ),
                );
            }
            Ok(out)
        }
    }
}

/// A CSV field, quoted when it needs to be.
fn csv(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

fn event_json(e: &AuditEvent) -> serde_json::Value {
    serde_json::json!({
        "at": unix_rfc3339(e.at),
        "event": e.kind.as_str(),
        "uri": e.uri,
        "period": e.period_no,
        "generation": e.generation,
        "principal": e.principal,
        "peer": e.peer,
        "detail": e.detail,
    })
}

fn event_csv(e: &AuditEvent) -> String {
    let o = |v: &Option<String>| csv(v.as_deref().unwrap_or(""));
    format!(
        "{},{},{},{},{},{},{},{}\n",
        unix_rfc3339(e.at),
        e.kind.as_str(),
        o(&e.uri),
        e.period_no.map(|p| p.to_string()).unwrap_or_default(),
        e.generation.map(|g| g.to_string()).unwrap_or_default(),
        o(&e.principal),
        o(&e.peer),
        o(&e.detail),
    )
}

/// `kms audit export`: streams the trail to standard output.
///
/// # Errors
/// A bad time, a store failure, a write error (one line).
pub fn audit(cmd: &AuditCommand) -> Result<Output, CliError> {
    let AuditCommand::Export {
        store,
        since,
        format,
    } = cmd;
    let since = match since {
        Some(t) => {
            let ntp = ntp_time("since", Some(t))?;
            i64::try_from(ntp.saturating_sub(NTP_UNIX_OFFSET)).unwrap_or(i64::MAX)
        }
        None => 0,
    };
    let s = store.open()?;
    let csv_format = format == "csv";
    let mut w = std::io::BufWriter::new(std::io::stdout().lock());
    let write_error = |e: std::io::Error| {
        mikey_sakke::kms::store::StoreError::Invalid(format!("standard output: {e}"))
    };
    if csv_format {
        w.write_all(b"at,event,uri,period,generation,principal,peer,detail\n")
            .map_err(|e| CliError(format!("cannot write standard output: {e}")))?;
    }
    let n = s
        .audit(since, &mut |e: &AuditEvent| {
            if csv_format {
                w.write_all(event_csv(e).as_bytes()).map_err(write_error)
            } else {
                writeln!(w, "{}", event_json(e)).map_err(write_error)
            }
        })
        .map_err(|e| err(&e))?;
    w.flush()
        .map_err(|e| CliError(format!("cannot write standard output: {e}")))?;
    note!("{n} audit events");
    Ok(Output::new())
}

/// `kms backup`.
///
/// # Errors
/// An existing target, a PostgreSQL store (use pg_dump), a store failure.
pub fn backup(store: &StoreOpt, to: &std::path::Path) -> Result<Output, CliError> {
    let s = store.open()?;
    s.backup(to)
        .map_err(|e| CliError(format!("backup to {}: {e}", to.display())))?;
    Ok(Output::new().text("backup", to.display()))
}

/// `kms passphrase change`.
///
/// # Errors
/// A wrong current passphrase, a weak or mistyped new one, a tampered store (nothing changed).
pub fn passphrase(cmd: &PassphraseCommand) -> Result<Output, CliError> {
    let PassphraseCommand::Change {
        store,
        new_passphrase_file,
    } = cmd;
    let new = match new_passphrase_file {
        Some(f) => new_passphrase(&PassphraseArgs {
            passphrase_file: Some(f.clone()),
            allow_weak_passphrase: store.pass.allow_weak_passphrase,
        })?,
        None => super::new_passphrase_from_terminal(store.pass.allow_weak_passphrase)?,
    };
    let mut s = store.open()?;
    s.change_passphrase(&new, KdfParams::DEFAULT, &mut os_rng())
        .map_err(|e| CliError(format!("passphrase not changed: {e}")))?;
    Ok(Output::new()
        .text("store", store.spec()?)
        .text("passphrase", "changed"))
}
