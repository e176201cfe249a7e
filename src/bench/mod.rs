//! Measurement of the engine's operations on this machine, for `mikey-sakke bench` and for
//! anyone comparing builds or CPUs: median nanoseconds per call of each operation (field
//! multiplication, pairings, SAKKE, ECCSI, a group manager's fan-out), with OpenSSL's P-256
//! ECDSA verification, measured in the same run, as the yardstick.
//!
//! * `ops`: the fixtures and the list of operations, each timed by [`measure`];
//! * [`openssl`]: the yardstick, from `openssl speed` when the tool is installed.
//!
//! The results are wall-clock times: they depend on the machine and its load. The CLI only
//! parses its options into [`Options`] and prints the [`Report`]. In the layering it sits with
//! the transports, above the roles: it drives every layer below it (the fan-out uses `gms`).

pub mod openssl;
mod ops;

use core::fmt;
use std::time::Duration;

pub use ops::measure;

/// The operations that run only when `only` selects them (each takes several seconds).
pub const OPT_IN: &[&str] = &["kms_provision_2000"];

/// What to measure and for how long.
#[derive(Clone, Debug)]
pub struct Options {
    /// Rounds per operation; the median of the rounds is reported (at least 1).
    pub rounds: u32,
    /// Minimum duration of one round (short operations are repeated within it).
    pub round: Duration,
    /// Only the operations whose name contains this text (all but [`OPT_IN`] when `None`).
    pub only: Option<String>,
    /// Whether to measure the OpenSSL yardstick (`openssl speed`, about 3 s).
    pub openssl: bool,
}

impl Options {
    /// Whether the operation `name` is selected.
    pub fn wants(&self, name: &str) -> bool {
        self.only.as_deref().is_none_or(|o| name.contains(o))
    }

    /// Whether the opt-in operation `name` (one that does not run by default, see
    /// [`OPT_IN`]) is selected: only when `only` names it.
    pub fn wants_opt_in(&self, name: &str) -> bool {
        self.only.as_deref().is_some_and(|o| name.contains(o))
    }
}

/// One measured operation.
#[derive(Clone, Debug, PartialEq)]
pub struct Measurement {
    /// The operation's name (stable: scripts and the README's table use it).
    pub op: &'static str,
    /// Median nanoseconds per call (per recipient for `sakke_encapsulate_batch8`, per key set
    /// for `kms_issue_key_set_batched`, wall time of
    /// the whole distribution for `gmk_fanout_2000`, of the whole run for
    /// `kms_provision_2000`).
    pub ns: f64,
}

/// The results of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// The selected operations, in the order they ran.
    pub results: Vec<Measurement>,
    /// OpenSSL's P-256 ECDSA verification in nanoseconds, when measured and available.
    pub openssl_verify_ns: Option<f64>,
}

/// Why a run could not complete (a failing setup step would be a bug).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BenchError {
    /// A fixture could not be built.
    Setup(&'static str),
    /// The group manager's fan-out failed.
    FanOut(String),
}

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Setup(what) => write!(f, "bench setup failed: {what}"),
            Self::FanOut(e) => write!(f, "bench fan-out: {e}"),
        }
    }
}

impl std::error::Error for BenchError {}

/// Measures the selected operations, then the yardstick.
///
/// # Errors
/// Only if a setup step fails (which would be a bug).
pub fn run(options: &Options) -> Result<Report, BenchError> {
    let results = ops::run(options)?;
    let openssl_verify_ns = if options.openssl {
        openssl::verify_ns()
    } else {
        None
    };
    Ok(Report {
        results,
        openssl_verify_ns,
    })
}
