//! `mikey-sakke kms ...`: the KMS operator's commands on the embedded store.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::{
    CliError, Output, PassphraseArgs, new_passphrase, ntp_time, os_rng, output_plan,
    passphrase_to_open, progress, read_text, read_uris, rfc3339, write_planned,
};
use mikey_sakke::kms::documents;
use mikey_sakke::kms::provision::{Provisioned, provision};
use mikey_sakke::kms::store::{KdfParams, KmsConfig, KmsStore, PrincipalKind, Store};
use mikey_sakke::mcx::uid::KeyPeriods;

/// KMS operator commands (TS 33.180 Annex D). The store passphrase comes from
/// `--passphrase-file FILE`, the `MIKEY_SAKKE_PASSPHRASE` environment variable, or a terminal
/// prompt (asked twice by `kms init`; at least 12 characters for a new store).
#[derive(clap::Subcommand, Debug)]
pub enum KmsCommand {
    /// Create a store with fresh master secrets (SAKKE z, ECCSI KSAK), sealed under the
    /// passphrase.
    Init {
        /// The store file (SQLite) to create.
        #[arg(long, value_name = "FILE")]
        store: PathBuf,
        /// Where the store passphrase comes from.
        #[command(flatten)]
        pass: PassphraseArgs,
        /// The KMS URI, part of every user's UID (e.g. kms.example.org).
        #[arg(long, value_name = "URI")]
        kms_uri: String,
        /// Key period length in seconds (default 30 days).
        #[arg(long, value_name = "SECONDS", default_value_t = 2_592_000)]
        key_period: u64,
        /// Key period offset in seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 0)]
        key_offset: u64,
    },
    /// Print the KMS certificate (a KmsResponse with KmsInit) for the current key period.
    Certificate {
        /// The store file.
        #[arg(long, value_name = "FILE")]
        store: PathBuf,
        /// Where the store passphrase comes from.
        #[command(flatten)]
        pass: PassphraseArgs,
        /// The time whose key period's master keys to certify (RFC 3339, UTC); default now.
        #[arg(long, value_name = "RFC3339")]
        time: Option<String>,
    },
    /// Issue, validate and record key sets (RSK, SSK, PVT) for users or groups, for the key
    /// period of the given time and the next one, and write them as KmsResponse (KmsKeyProv)
    /// XML. Re-running is safe: recorded key sets are returned as they are.
    Provision {
        /// The store file.
        #[arg(long, value_name = "FILE")]
        store: PathBuf,
        /// Where the store passphrase comes from.
        #[command(flatten)]
        pass: PassphraseArgs,
        /// A user (or group) URI; may be repeated.
        #[arg(long, value_name = "URI", required_unless_present = "users_file")]
        user: Vec<String>,
        /// A file of URIs, one per line (`#` comments allowed).
        #[arg(long, value_name = "FILE")]
        users_file: Option<PathBuf>,
        /// Register the URIs as groups rather than users.
        #[arg(long)]
        group: bool,
        /// The time whose key period to provision (RFC 3339, UTC); default now.
        #[arg(long, value_name = "RFC3339")]
        time: Option<String>,
        /// How many consecutive key periods from that time (clients hold two).
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=12))]
        periods: u64,
        /// Output: a file (one user), or a directory (one `<uri>.xml` per user). Default: stdout
        /// for one user.
        #[arg(long, value_name = "FILE|DIR")]
        out: Option<PathBuf>,
    },
    /// Group managers: who may fetch a group's key sets from the KMS service.
    Group {
        /// The group command.
        #[command(subcommand)]
        cmd: GroupCommand,
    },
    /// The certificate cache: the certificates of other KMSs served at `certcache`.
    Certcache {
        /// The certificate-cache command.
        #[command(subcommand)]
        cmd: CertcacheCommand,
    },
    /// Serve the KMS over HTTPS (TS 33.180 Annex D: init, keyprov, certcache) with access-token
    /// authentication; runs until SIGTERM/SIGINT.
    #[cfg(feature = "server")]
    Serve(Box<super::serve::ServeArgs>),
}

/// `kms group ...`.
#[derive(clap::Subcommand, Debug)]
pub enum GroupCommand {
    /// Make a URI (a group management server) a manager of a group; registers the group.
    AddManager {
        /// The store file.
        #[arg(long, value_name = "FILE")]
        store: PathBuf,
        /// Where the store passphrase comes from.
        #[command(flatten)]
        pass: PassphraseArgs,
        /// The group URI.
        #[arg(long, value_name = "URI")]
        group: String,
        /// The manager's URI (the MC service ID of its access token).
        #[arg(long, value_name = "URI")]
        manager: String,
    },
    /// Remove a manager from a group.
    RemoveManager {
        /// The store file.
        #[arg(long, value_name = "FILE")]
        store: PathBuf,
        /// Where the store passphrase comes from.
        #[command(flatten)]
        pass: PassphraseArgs,
        /// The group URI.
        #[arg(long, value_name = "URI")]
        group: String,
        /// The manager's URI.
        #[arg(long, value_name = "URI")]
        manager: String,
    },
}

/// `kms certcache ...`.
#[derive(clap::Subcommand, Debug)]
pub enum CertcacheCommand {
    /// Publish the certificate of another KMS: a KmsCertificate document, or a KmsResponse
    /// with KmsInit or KmsCertCache, checked and stored with Role="External".
    Add {
        /// The store file.
        #[arg(long, value_name = "FILE")]
        store: PathBuf,
        /// Where the store passphrase comes from.
        #[command(flatten)]
        pass: PassphraseArgs,
        /// The certificate document (`-`: standard input).
        #[arg(long, value_name = "FILE")]
        cert: PathBuf,
    },
}

fn store_error(e: &dyn std::fmt::Display) -> CliError {
    CliError(e.to_string())
}

/// Runs one `kms` subcommand.
///
/// # Errors
/// A one-line message for any failure.
pub fn run(cmd: &KmsCommand) -> Result<Output, CliError> {
    match cmd {
        #[cfg(feature = "server")]
        KmsCommand::Serve(args) => super::serve::run(args),
        KmsCommand::Init {
            store,
            pass,
            kms_uri,
            key_period,
            key_offset,
        } => {
            let pass = new_passphrase(pass)?;
            let config = KmsConfig {
                kms_uri: kms_uri.clone(),
                periods: KeyPeriods {
                    length: *key_period,
                    offset: *key_offset,
                },
                parameter_set: 1,
            };
            let s = Store::create(store, &pass, &config, KdfParams::DEFAULT, &mut os_rng())
                .map_err(|e| store_error(&e))?;
            let ntp = ntp_time("time", None)?;
            let period = config
                .periods
                .period_number(ntp)
                .map_err(|e| store_error(&e))?;
            let keys = s.master_keys(period).map_err(|e| store_error(&e))?;
            Ok(Output::new()
                .text("store", store.display())
                .text("kms_uri", kms_uri)
                .hex("Z", &keys.sakke_public.to_bytes())
                .hex("KPAK", &keys.kpak.to_bytes())
                .text("current_key_period", period))
        }
        KmsCommand::Certificate { store, pass, time } => {
            let pass = passphrase_to_open(pass)?;
            let s = Store::open(store, &pass).map_err(|e| store_error(&e))?;
            let ntp = ntp_time("time", time.as_deref())?;
            let config = s.config().clone();
            let period = config
                .periods
                .period_number(ntp)
                .map_err(|e| store_error(&e))?;
            let keys = s.master_keys(period).map_err(|e| store_error(&e))?;
            let cert = documents::certificate(&config, &keys);
            let resp = documents::init_response(&config, &config.kms_uri, &rfc3339(ntp), cert);
            Ok(Output::new().line(resp.to_xml()))
        }
        KmsCommand::Provision {
            store,
            pass,
            user,
            users_file,
            group,
            time,
            periods,
            out,
        } => {
            let mut uris = user.clone();
            if let Some(f) = users_file {
                uris.extend(read_uris(f)?);
            }
            if uris.is_empty() {
                return Err(CliError::new("no URIs to provision"));
            }
            if uris.len() > 1 && !out.as_deref().is_some_and(Path::is_dir) {
                return Err(CliError::new(
                    "several URIs: give --out DIR (an existing directory)",
                ));
            }
            // An output file must be writable where it is asked for: checked before anything
            // is issued or recorded.
            if let Some(file) = out.as_deref().filter(|p| !p.is_dir()) {
                let parent = file
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                if !parent.is_dir() {
                    return Err(CliError(format!(
                        "cannot write {}: {} is not a directory",
                        file.display(),
                        parent.display()
                    )));
                }
            }
            // Every output file is planned, and checked against what is on disk, before any key
            // set is issued or recorded.
            let plan = match out.as_deref() {
                Some(dir) if dir.is_dir() => Some(output_plan(dir, &uris, "xml", true)?),
                _ => None,
            };
            let pass = passphrase_to_open(pass)?;
            let s = Store::open(store, &pass).map_err(|e| store_error(&e))?;
            let config = s.config().clone();
            let ntp = ntp_time("time", time.as_deref())?;
            let first = config
                .periods
                .period_number(ntp)
                .map_err(|e| store_error(&e))?;
            let period_nos: Vec<u64> = (first..first + periods).collect();
            let kind = if *group {
                PrincipalKind::Group
            } else {
                PrincipalKind::User
            };
            let total = u64::try_from(uris.len()).unwrap_or(0) * periods;
            let bar = progress(total, "provisioning");
            let t = Instant::now();
            let done = provision(&s, &uris, kind, &period_nos, &|n| bar.set_position(n))
                .map_err(|e| store_error(&e))?;
            bar.finish_and_clear();
            let secs = t.elapsed().as_secs_f64();
            let new = done.iter().filter(|p| p.new).count();
            eprintln!(
                "provisioned {} key sets ({new} new, {} already recorded) for {} URIs in {secs:.2} s: {:.0} key sets/s",
                done.len(),
                done.len() - new,
                uris.len(),
                new as f64 / secs.max(1e-9)
            );
            let now = rfc3339(ntp);
            let doc_for = |uri: &str, sets: Vec<&Provisioned>| -> String {
                documents::key_prov_response(&config, uri, &now, sets.into_iter().map(|p| &p.set))
                    .to_xml()
            };
            match (out, plan) {
                (Some(dir), Some(plan)) => {
                    let docs: Vec<(PathBuf, Vec<u8>)> = plan
                        .into_iter()
                        .map(|(u, path)| {
                            let sets: Vec<&Provisioned> =
                                done.iter().filter(|p| p.set.uri == u).collect();
                            (path, doc_for(&u, sets).into_bytes())
                        })
                        .collect();
                    let n = write_planned(&docs)?;
                    Ok(Output::new().text("written", format!("{n} files in {}", dir.display())))
                }
                (Some(file), _) => {
                    let u = &uris[0];
                    let doc = doc_for(u, done.iter().collect()).into_bytes();
                    write_planned(&[(file.clone(), doc)])?;
                    Ok(Output::new().text("written", file.display()))
                }
                (None, _) => Ok(Output::new().line(doc_for(&uris[0], done.iter().collect()))),
            }
        }
        KmsCommand::Group { cmd } => group(cmd),
        KmsCommand::Certcache { cmd } => certcache(cmd),
    }
}

fn group(cmd: &GroupCommand) -> Result<Output, CliError> {
    match cmd {
        GroupCommand::AddManager {
            store,
            pass,
            group,
            manager,
        } => {
            let s = Store::open(store, &passphrase_to_open(pass)?).map_err(|e| store_error(&e))?;
            s.add_group_manager(group, manager)
                .map_err(|e| store_error(&e))?;
            let managers = s.group_managers(group).map_err(|e| store_error(&e))?;
            Ok(Output::new()
                .text("group", group)
                .text("managers", managers.join(" ")))
        }
        GroupCommand::RemoveManager {
            store,
            pass,
            group,
            manager,
        } => {
            let s = Store::open(store, &passphrase_to_open(pass)?).map_err(|e| store_error(&e))?;
            if !s
                .remove_group_manager(group, manager)
                .map_err(|e| store_error(&e))?
            {
                return Err(CliError(format!("{manager} is not a manager of {group}")));
            }
            let managers = s.group_managers(group).map_err(|e| store_error(&e))?;
            Ok(Output::new()
                .text("group", group)
                .text("managers", managers.join(" ")))
        }
    }
}

fn certcache(cmd: &CertcacheCommand) -> Result<Output, CliError> {
    match cmd {
        CertcacheCommand::Add { store, pass, cert } => {
            let xml = read_text(cert)?;
            let s = Store::open(store, &passphrase_to_open(pass)?).map_err(|e| store_error(&e))?;
            let num = documents::import_external_certificate(&s, &xml)
                .map_err(|e| CliError(format!("{}: {e}", cert.display())))?;
            let certs = s.external_certificates().map_err(|e| store_error(&e))?;
            Ok(Output::new()
                .text("cache_num", num)
                .text("certificates", certs.len()))
        }
    }
}
