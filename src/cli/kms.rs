//! `mikey-sakke kms ...`: the KMS operator's commands on the store (a SQLite file or a
//! PostgreSQL database, see [`StoreOpt`]).

use std::path::Path;

use super::jobs::StoreOpt;
use super::{CliError, Output, ntp_time, os_rng, passphrase, rfc3339};
use mikey_sakke::annex_d::{KmsCertificate, KmsMessage, KmsResponse};
use mikey_sakke::kms::store::{KdfParams, KmsConfig, create_store};
use mikey_sakke::mcx::uid::KeyPeriods;

/// KMS operator commands (TS 33.180 Annex D). The store passphrase comes from the
/// `MIKEY_SAKKE_PASSPHRASE` environment variable or a terminal prompt.
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
        /// Key period length in seconds (default 30 days).
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
        /// The time whose key period's master keys to certify (RFC 3339, UTC); default now.
        #[arg(long, value_name = "RFC3339")]
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
        KmsCommand::Init {
            store,
            kms_uri,
            key_period,
            key_offset,
        } => {
            let pass = passphrase()?;
            let config = KmsConfig {
                kms_uri: kms_uri.clone(),
                periods: KeyPeriods {
                    length: *key_period,
                    offset: *key_offset,
                },
                parameter_set: 1,
            };
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
            let period = config
                .periods
                .period_number(ntp)
                .map_err(|e| store_error(&e))?;
            let keys = s.master_keys(period).map_err(|e| store_error(&e))?;
            let cert = KmsCertificate::new(
                config.kms_uri.clone(),
                &keys.sakke_public,
                &keys.kpak,
                config.periods,
            );
            let resp = KmsResponse::new(
                config.kms_uri.clone(),
                config.kms_uri.clone(),
                rfc3339(ntp),
                format!("https://{}/keymanagement/identity/v1/init", config.kms_uri),
                Some(KmsMessage::Init(Box::new(cert))),
            );
            Ok(Output::new().line(resp.to_xml()))
        }
        KmsCommand::Provision(args) => super::jobs::provision(args),
        KmsCommand::Worker(args) => super::jobs::worker(args),
        KmsCommand::Job { cmd } => super::jobs::job(cmd),
        KmsCommand::Migrate { store } => super::jobs::migrate(store),
    }
}

/// Writes a file holding secret keys, readable by its owner only.
pub(super) fn write_secret_file(path: &Path, data: &[u8]) -> Result<(), CliError> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(path)
        .map_err(|e| CliError(format!("cannot write {}: {e}", path.display())))?;
    f.write_all(data)
        .map_err(|e| CliError(format!("cannot write {}: {e}", path.display())))?;
    f.sync_all()
        .map_err(|e| CliError(format!("cannot write {}: {e}", path.display())))
}
