//! `mikey-sakke bench`: parses the options, runs the library's measurement
//! ([`mikey_sakke::bench`]) and prints the medians, as a table or as JSON lines.

use std::time::Duration;

use super::{CliError, Output};
use mikey_sakke::bench::{self, Options, Report};

/// Options of the bench command.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Print one JSON object per line, `{"op": NAME, "ns": MEDIAN_NS}`, instead of a table.
    #[arg(long)]
    json: bool,
    /// Rounds per operation; the median of the rounds is reported.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    rounds: u32,
    /// Minimum duration of one round in milliseconds (short operations are repeated).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    round_ms: u64,
    /// Do not run `openssl speed -seconds 3 ecdsap256` for the yardstick.
    #[arg(long)]
    no_openssl: bool,
    /// Only run the operations whose name contains this text. Without it every operation runs
    /// (about a minute) except `kms_provision_2000` (provisioning 4 000 key sets into a
    /// temporary SQLite store and writing 2 000 key files, several seconds), which runs only
    /// when this text selects it, e.g. `--only kms_provision_2000`.
    #[arg(long, value_name = "TEXT")]
    only: Option<String>,
}

/// Runs the benchmark.
///
/// # Errors
/// Only if a setup step fails (which would be a bug).
pub fn run(args: &BenchArgs) -> Result<Output, CliError> {
    let options = Options {
        rounds: args.rounds,
        round: Duration::from_millis(args.round_ms),
        only: args.only.clone(),
        openssl: !args.no_openssl,
    };
    let report = bench::run(&options).map_err(|e| CliError(e.to_string()))?;
    Ok(if args.json {
        json(&report)
    } else {
        table(&report)
    })
}

/// One `{"op": NAME, "ns": MEDIAN_NS}` line per operation, then the yardstick if measured.
fn json(report: &Report) -> Output {
    let mut out = Output::new();
    for m in &report.results {
        out = out.line(format!(
            "{{\"op\": \"{}\", \"ns\": {}}}",
            m.op,
            m.ns.round()
        ));
    }
    if let Some(y) = report.openssl_verify_ns {
        out = out.line(format!(
            "{{\"op\": \"openssl_ecdsap256_verify\", \"ns\": {}}}",
            y.round()
        ));
    }
    out
}

/// `name = time (ratio to the yardstick)` per operation, then the yardstick.
fn table(report: &Report) -> Output {
    let mut out = Output::new();
    let yardstick = report.openssl_verify_ns;
    for m in &report.results {
        let ratio = yardstick
            .map(|y| format!("  ({:.2} x OpenSSL P-256 verify)", m.ns / y))
            .unwrap_or_default();
        out = out.text(m.op, format!("{}{ratio}", human(m.ns)));
    }
    match yardstick {
        Some(y) => out.text("openssl_ecdsap256_verify", human(y)),
        None => out.text("openssl_ecdsap256_verify", "not measured"),
    }
}

fn human(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.3} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} us", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}
