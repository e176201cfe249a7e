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
    /// ECCSI signatures (RFC 6507): KMS key issue, key validation, sign, verify.
    Eccsi {
        #[command(subcommand)]
        cmd: cli::eccsi::EccsiCommand,
    },
}

fn run(command: &Command) -> Result<cli::Output, cli::CliError> {
    match command {
        Command::Eccsi { cmd } => cli::eccsi::run(cmd),
    }
}

fn main() {
    let args = Cli::parse();
    match run(&args.command) {
        Ok(out) => {
            print!("{}", out.render());
            std::process::exit(out.status);
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
