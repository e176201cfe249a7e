//! `mikey-sakke kms ...`: the KMS operator's commands on the store (a SQLite file or a
//! PostgreSQL database, see [`StoreOpt`]).

use std::path::PathBuf;

use super::jobs::StoreOpt;
use super::{CliError, Output, new_passphrase, ntp_time, os_rng, read_text, rfc3339};
use mikey_sakke::kms::documents;
use mikey_sakke::kms::store::{KdfParams, KmsConfig, create_store};
use mikey_sakke::mcx::uid::KeyPeriods;

/// KMS operator commands (TS 33.180 Annex D). The store passphrase comes from
/// `--passphrase-file FILE`, the `MIKEY_SAKKE_PASSPHRASE` environment variable, or a terminal
/// prompt (asked twice by `kms init`; at least 12 characters for a new store).
#[derive(clap::Subcommand, Debug)]
pub enum KmsCommand {
    /// Create a store with fresh master secrets (SAKKE z, ECCSI KSAK), sealed under the
    /// passphrase.
    Init {
        /// The store to create (a SQLite file, or an empty PostgreSQL database).
        #[command(flatten)]
        store: StoreOpt,
        /// The KMS URI, part of every user's UID (e.g. kms.example.org).
        #[arg(long, value_name = "URI")]
        kms_uri: String,
        /// Key period length in seconds, from 3600 (one hour) to 315360000 (ten years);
        /// default 30 days.
        #[arg(long, value_name = "SECONDS", default_value_t = 2_592_000)]
        key_period: u64,
        /// Key period offset in seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 0)]
        key_offset: u64,
    },
    /// Print the KMS certificate (a KmsResponse with KmsInit) for the current key period.
    Certificate {
        #[command(flatten)]
        store: StoreOpt,
        /// The time whose key period's master keys to certify (RFC 3339, `ntp:SECONDS` or
        /// `0xHEX`); default now. From the KMS certificate's ValidFrom (the start of key
        /// period 0, not before 2000-01-01T00:00:00Z) to ten years from now.
        #[arg(long, value_name = "TIME")]
        time: Option<String>,
    },
    /// Issue, validate and record key sets (RSK, SSK, PVT) for users or groups, for the key
    /// period of the given time and the next one, and write them as KmsResponse (KmsKeyProv)
    /// XML. The batch is recorded in the store as a job: this command works on it, and so may
    /// any number of `kms worker` processes on the same store. Re-running is safe: recorded key
    /// sets are returned as they are.
    Provision(super::jobs::ProvisionArgs),
    /// Work on the store's provisioning jobs: claim chunks of pending rows (with a lease),
    /// issue, record, repeat. Any number of workers may run on one store.
    Worker(super::jobs::WorkerArgs),
    /// Provisioning jobs.
    Job {
        /// What to do.
        #[command(subcommand)]
        cmd: super::jobs::JobCommand,
    },
    /// Bring the store's schema to this program's version (`kms init` creates it so; `open`
    /// migrates an older store too). No passphrase needed.
    Migrate {
        #[command(flatten)]
        store: StoreOpt,
    },
    /// Serve the KMS over HTTPS (TS 33.180 Annex D: init, keyprov, certcache) with access-token
    /// authentication; see `docs/operations.md`.
    Serve(Box<super::serve::ServeArgs>),
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
    /// Start a new master-key generation (fresh SAKKE z and ECCSI KSAK) for the key periods
    /// from a time on: the first period that begins at or after --effective, which must lie
    /// after the current period, with no key set of it recorded yet. Key sets of earlier
    /// periods keep being served from the old generation; `kms certificate --time` shows each
    /// generation's certificate with its ValidFrom and ValidTo.
    Rotate {
        #[command(flatten)]
        store: StoreOpt,
        /// When the new generation takes over (RFC 3339, `ntp:SECONDS` or `0xHEX`): after the
        /// current key period, at most ten years from now.
        #[arg(long, value_name = "TIME")]
        effective: String,
    },
    /// Revoke a user or group: from now on none of its key sets is served (the KMS service
    /// answers Revoked, HTTP 403, code 5) or issued (provisioning skips it and says so).
    Revoke {
        #[command(flatten)]
        store: StoreOpt,
        /// The user or group URI (registered).
        #[arg(long, value_name = "URI")]
        user: String,
        /// Why (kept in the store and the audit trail).
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },
    /// Lift a revocation: the URI's key sets are served and issued again.
    Unrevoke {
        #[command(flatten)]
        store: StoreOpt,
        /// The user or group URI.
        #[arg(long, value_name = "URI")]
        user: String,
    },
    /// Registered users and groups.
    Users {
        /// The users command.
        #[command(subcommand)]
        cmd: super::lifecycle::UsersCommand,
    },
    /// The audit trail.
    Audit {
        /// The audit command.
        #[command(subcommand)]
        cmd: super::lifecycle::AuditCommand,
    },
    /// Write a consistent copy of a SQLite store to a new file (0600) while it is in use; the
    /// copy is a store that opens with the same passphrase. (A PostgreSQL store: pg_dump.)
    Backup {
        #[command(flatten)]
        store: StoreOpt,
        /// The new file.
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
    /// The store passphrase.
    Passphrase {
        /// The passphrase command.
        #[command(subcommand)]
        cmd: super::lifecycle::PassphraseCommand,
    },
}

/// `kms group ...`.
#[derive(clap::Subcommand, Debug)]
pub enum GroupCommand {
    /// Make a URI (a group management server) a manager of a group; registers the group.
    AddManager(GroupManagerArgs),
    /// Remove a manager from a group.
    RemoveManager(GroupManagerArgs),
}

/// The arguments of `kms group add-manager` and `kms group remove-manager`.
#[derive(clap::Args, Debug)]
pub struct GroupManagerArgs {
    #[command(flatten)]
    store: StoreOpt,
    /// The group URI.
    #[arg(long, value_name = "URI")]
    group: String,
    /// The manager's URI (the MC service ID of its access token).
    #[arg(long, value_name = "URI")]
    manager: String,
}

/// `kms certcache ...`.
#[derive(clap::Subcommand, Debug)]
pub enum CertcacheCommand {
    /// Publish the certificate of another KMS: a KmsCertificate document, or a KmsResponse
    /// with KmsInit or KmsCertCache, checked and stored with Role="External".
    Add {
        #[command(flatten)]
        store: StoreOpt,
        /// The certificate document (`-`: standard input).
        #[arg(long, value_name = "FILE")]
        cert: PathBuf,
    },
}

/// The key period lengths `kms init` accepts, in seconds: one hour to ten years.
pub const KEY_PERIOD_RANGE: std::ops::RangeInclusive<u64> = 3_600..=315_360_000;

fn store_error(e: &dyn std::fmt::Display) -> CliError {
    CliError(e.to_string())
}

/// Runs one `kms` subcommand.
///
/// # Errors
/// A one-line message for any failure.
pub fn run(cmd: &KmsCommand) -> Result<Output, CliError> {
    match cmd {
        KmsCommand::Init {
            store,
            kms_uri,
            key_period,
            key_offset,
        } => {
            // Zero is the store's own refusal ("at least one second").
            if *key_period != 0 && !KEY_PERIOD_RANGE.contains(key_period) {
                return Err(CliError(format!(
                    "--key-period {key_period}: outside {}..={} seconds (one hour to ten years)",
                    KEY_PERIOD_RANGE.start(),
                    KEY_PERIOD_RANGE.end()
                )));
            }
            let config = KmsConfig {
                kms_uri: kms_uri.clone(),
                periods: KeyPeriods {
                    length: *key_period,
                    offset: *key_offset,
                },
                parameter_set: 1,
            };
            // Before the passphrase is asked for.
            config.check().map_err(|e| store_error(&e))?;
            let pass = new_passphrase(&store.pass)?;
            let spec = store.spec()?;
            let s = create_store(&spec, &pass, &config, KdfParams::DEFAULT, &mut os_rng())
                .map_err(|e| store_error(&e))?;
            let ntp = ntp_time("time", None)?;
            let period = config
                .periods
                .period_number(ntp)
                .map_err(|e| store_error(&e))?;
            let keys = s.master_keys(period).map_err(|e| store_error(&e))?;
            Ok(Output::new()
                .text("store", &spec)
                .text("kms_uri", kms_uri)
                .hex("Z", &keys.sakke_public.to_bytes())
                .hex("KPAK", &keys.kpak.to_bytes())
                .text("current_key_period", period))
        }
        KmsCommand::Certificate { store, time } => {
            let s = store.open()?;
            let ntp = ntp_time("time", time.as_deref())?;
            let config = s.config().clone();
            super::jobs::check_kms_time("time", &config, ntp)?;
            let period = config
                .periods
                .period_number(ntp)
                .map_err(|e| store_error(&e))?;
            let keys = s.master_keys(period).map_err(|e| store_error(&e))?;
            let cert = documents::certificate(&config, &keys);
            let resp = documents::init_response(&config, &config.kms_uri, &rfc3339(ntp), cert);
            Ok(Output::new().line(resp.to_xml()))
        }
        KmsCommand::Provision(args) => super::jobs::provision(args),
        KmsCommand::Worker(args) => super::jobs::worker(args),
        KmsCommand::Job { cmd } => super::jobs::job(cmd),
        KmsCommand::Migrate { store } => super::jobs::migrate(store),
        KmsCommand::Serve(args) => super::serve::run(args),
        KmsCommand::Group { cmd } => group(cmd),
        KmsCommand::Certcache { cmd } => certcache(cmd),
        KmsCommand::Rotate { store, effective } => {
            let s = store.open()?;
            let at = ntp_time("effective", Some(effective))?;
            super::jobs::check_kms_time("effective", s.config(), at)?;
            let r =
                mikey_sakke::kms::rotation::rotate(&*s, at, ntp_time("time", None)?, &mut os_rng())
                    .map_err(|e| store_error(&e))?;
            let keys = s.master_keys(r.first_period).map_err(|e| store_error(&e))?;
            Ok(Output::new()
                .text("generation", r.generation)
                .text("first_key_period", r.first_period)
                .text("valid_from", rfc3339(r.starts_at))
                .hex("Z", &keys.sakke_public.to_bytes())
                .hex("KPAK", &keys.kpak.to_bytes()))
        }
        KmsCommand::Revoke {
            store,
            user,
            reason,
        } => super::lifecycle::revoke(store, user, reason.as_deref()),
        KmsCommand::Unrevoke { store, user } => super::lifecycle::unrevoke(store, user),
        KmsCommand::Users { cmd } => super::lifecycle::users(cmd),
        KmsCommand::Audit { cmd } => super::lifecycle::audit(cmd),
        KmsCommand::Backup { store, to } => super::lifecycle::backup(store, to),
        KmsCommand::Passphrase { cmd } => super::lifecycle::passphrase(cmd),
    }
}

fn group(cmd: &GroupCommand) -> Result<Output, CliError> {
    let (a, add) = match cmd {
        GroupCommand::AddManager(a) => (a, true),
        GroupCommand::RemoveManager(a) => (a, false),
    };
    let s = a.store.open()?;
    if add {
        s.add_group_manager(&a.group, &a.manager)
            .map_err(|e| store_error(&e))?;
    } else if !s
        .remove_group_manager(&a.group, &a.manager)
        .map_err(|e| store_error(&e))?
    {
        return Err(CliError(format!(
            "{} is not a manager of {}",
            a.manager, a.group
        )));
    }
    let managers = s.group_managers(&a.group).map_err(|e| store_error(&e))?;
    Ok(Output::new()
        .text("group", &a.group)
        .text("managers", managers.join(" ")))
}

fn certcache(cmd: &CertcacheCommand) -> Result<Output, CliError> {
    match cmd {
        CertcacheCommand::Add { store, cert } => {
            let xml = read_text(cert)?;
            let s = store.open()?;
            let num = documents::import_external_certificate(&*s, &xml)
                .map_err(|e| CliError(format!("{}: {e}", cert.display())))?;
            let certs = s.external_certificates().map_err(|e| store_error(&e))?;
            Ok(Output::new()
                .text("cache_num", num)
                .text("certificates", certs.len()))
        }
    }
}
