//! The `mikey-sakke` command-line tool: a thin layer over the library.
//!
//! Every command takes hex arguments and prints `name = HEX` lines (the format of the files in
//! `vectors/`). Errors are one line on stderr and exit status 1; no input makes it panic.

mod cli;

use clap::{Parser, Subcommand};

/// Identity-based key management for 3GPP mission-critical services: SAKKE (RFC 6508),
/// ECCSI (RFC 6507) and MIKEY-SAKKE (RFC 6509).
#[derive(Parser, Debug)]
#[command(name = "mikey-sakke", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Measure every SAKKE/ECCSI operation on this machine (medians), with OpenSSL's P-256
    /// verification as the yardstick measured in the same run.
    ///
    /// Operations: fp_mul (one F_p Montgomery multiplication); pairing (plain) and
    /// pairing_precomputed (line table of a fixed first argument); sakke_decapsulate (nothing
    /// precomputed) and sakke_decapsulate_precomputed (a long-lived client: RSK line table and
    /// own-identity table); sakke_encapsulate (a new recipient each call, the sender keeping the
    /// KMS key's table), sakke_encapsulate_batch8 (per recipient, in batches of 8 new
    /// recipients, as a group manager's fan-out does), sakke_encapsulate_no_tables (nothing
    /// precomputed) and
    /// sakke_encapsulate_precomputed (a repeat recipient whose table is kept);
    /// sakke_rsk_issue; sakke_rsk_validate (a KMS batch: Z's pairing tables kept) and
    /// sakke_rsk_validate_no_tables (a client: nothing precomputed); sakke_kms_keygen (z and
    /// Z); eccsi_sign;
    /// eccsi_verify (the signer's prepared key kept) and eccsi_verify_new_signer (HS and J
    /// computed afresh, the KMS's KPAK table kept); gmk_fanout_2000 (wall time to build the 2000 I_MESSAGEs of one GMK on
    /// all cores). Takes about a minute.
    Bench(cli::bench::BenchArgs),
    /// End-to-end demonstration on a temporary store: a KMS, a group manager and N members;
    /// provisioning, GMK distribution, every member receives.
    Demo(cli::demo::DemoArgs),
    /// SAKKE (RFC 6508): KMS keys, RSK issue and validation, encapsulate, decapsulate.
    Sakke {
        #[command(subcommand)]
        cmd: cli::sakke::SakkeCommand,
    },
    /// KMS operator: the store (init), the certificate, key provisioning (TS 33.180 Annex D).
    Kms {
        #[command(subcommand)]
        cmd: cli::kms::KmsCommand,
    },
    /// Group manager: GMK distribution to a group's members (TS 33.180 E.2).
    Gms {
        #[command(subcommand)]
        cmd: cli::gms::GmsCommand,
    },
    /// Receiving client: receive an I_MESSAGE with your Annex D key sets.
    Ue {
        #[command(subcommand)]
        cmd: cli::ue::UeCommand,
    },
    /// ECCSI signatures (RFC 6507): KMS key issue, key validation, sign, verify.
    Eccsi {
        #[command(subcommand)]
        cmd: cli::eccsi::EccsiCommand,
    },
    /// MIKEY messages (RFC 3830, RFC 6043, RFC 6509): inspect.
    Mikey {
        #[command(subcommand)]
        cmd: cli::mikey::MikeyCommand,
    },
    /// DEVELOPMENT identity management server (tests, demos, small labs only): a signing key
    /// and access tokens for `kms serve`.
    #[cfg(feature = "server")]
    Idms {
        #[command(subcommand)]
        cmd: cli::idms::IdmsCommand,
    },
}

fn run(command: &Command) -> Result<cli::Output, cli::CliError> {
    match command {
        Command::Bench(args) => cli::bench::run(args),
        Command::Demo(args) => cli::demo::run(args),
        Command::Sakke { cmd } => cli::sakke::run(cmd),
        Command::Eccsi { cmd } => cli::eccsi::run(cmd),
        Command::Kms { cmd } => cli::kms::run(cmd),
        Command::Gms { cmd } => cli::gms::run(cmd),
        Command::Ue { cmd } => cli::ue::run(cmd),
        Command::Mikey { cmd } => cli::mikey::run(cmd),
        #[cfg(feature = "server")]
        Command::Idms { cmd } => cli::idms::run(cmd),
    }
}

fn main() {
    let args = match Cli::try_parse() {
        Ok(args) => args,
        Err(e) => {
            use clap::error::ErrorKind;
            match e.kind() {
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
                _ => {
                    // One line, exit status 1, like every other error of this tool.
                    let text = e.render().to_string();
                    let msg = text
                        .lines()
                        .take_while(|l| !l.trim().is_empty() && !l.starts_with("Usage:"))
                        .map(str::trim)
                        .collect::<Vec<_>>()
                        .join(" ");
                    let msg = msg.strip_prefix("error: ").unwrap_or(&msg);
                    fail(&format!("{msg} (see --help)"));
                }
            }
        }
    };
    match run(&args.command) {
        Ok(out) => {
            // A full disk, /dev/full or a closed pipe is one error line, never a panic.
            use std::io::Write as _;
            let mut stdout = std::io::stdout().lock();
            if let Err(e) = stdout
                .write_all(out.render().as_bytes())
                .and_then(|()| stdout.flush())
            {
                fail(&format!("cannot write standard output: {e}"));
            }
            std::process::exit(out.status);
        }
        Err(e) => fail(&e.to_string()),
    }
}

/// Reports `msg` as the one error line and exits with status 1. A standard error that cannot
/// be written (a full disk, `/dev/full`) loses the line but still gives exit 1, never a panic
/// (which `eprintln!` would be).
fn fail(msg: &str) -> ! {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "error: {msg}");
    std::process::exit(1)
}
