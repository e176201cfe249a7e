//! Shared plumbing of the command-line tool: hex arguments in, `name = HEX` lines out, one-line
//! errors. Each area (`sakke`, `eccsi`, ...) has its own module with a clap `Subcommand` enum and a
//! `run` function returning an [`Output`].

/// `eprintln!` that never panics: a progress or report line to standard error is dropped when
/// standard error cannot be written (`2>/dev/full`, a closed pipe), instead of aborting the
/// command with exit 101. The final error line is written by `main` the same way.
macro_rules! note {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

pub mod bench;
pub mod demo;
pub mod eccsi;
#[cfg(feature = "fetch")]
pub mod fetch;
pub mod gms;
#[cfg(feature = "server")]
pub mod idms;
pub mod jobs;
pub mod kms;
pub mod lifecycle;
pub mod mikey;
pub mod sakke;
#[cfg(feature = "server")]
pub mod serve;
pub mod ue;

use std::fmt;

/// A one-line error reported on stderr; the process then exits with status 1.
#[derive(Debug)]
pub struct CliError(pub String);

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl CliError {
    /// An error with the given message.
    pub fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}

/// What a command prints: `name = value` lines in the format of the vector files (or free-form
/// lines, for dumps), and an exit status (0 unless a check such as a validation came out
/// negative).
#[derive(Debug, Default)]
pub struct Output {
    lines: Vec<Line>,
    /// Exit status to use after printing (1 for a negative validation result).
    pub status: i32,
}

/// One printed line.
#[derive(Debug)]
enum Line {
    /// `name = value`.
    Pair(String, String),
    /// A line printed as is.
    Text(String),
}

impl Output {
    /// An empty output with exit status 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `name = HEX` (upper-case hex, like the vector files).
    pub fn hex(mut self, name: &str, bytes: &[u8]) -> Self {
        self.lines
            .push(Line::Pair(name.to_string(), hex::encode_upper(bytes)));
        self
    }

    /// Adds `name = value` with a plain text value.
    pub fn text(mut self, name: &str, value: impl fmt::Display) -> Self {
        self.lines
            .push(Line::Pair(name.to_string(), value.to_string()));
        self
    }

    /// Adds a line printed as is (for dumps that are not `name = value` lists).
    pub fn line(mut self, text: impl Into<String>) -> Self {
        self.lines.push(Line::Text(text.into()));
        self
    }

    /// Sets the exit status.
    pub fn with_status(mut self, status: i32) -> Self {
        self.status = status;
        self
    }

    /// Renders the lines.
    pub fn render(&self) -> String {
        let mut s = String::new();
        for line in &self.lines {
            match line {
                Line::Pair(k, v) => {
                    s.push_str(k);
                    s.push_str(" = ");
                    s.push_str(v);
                }
                Line::Text(t) => s.push_str(t),
            }
            s.push('\n');
        }
        s
    }
}

/// Parses a hex argument ([`mikey_sakke::input::decode_hex`]).
///
/// # Errors
/// A message naming the argument, and the offending position for a non-hex character or an odd
/// number of digits.
pub fn parse_hex(name: &str, s: &str) -> Result<Vec<u8>, CliError> {
    mikey_sakke::input::decode_hex(name, s).map_err(|e| CliError(e.to_string()))
}

/// Whether an option has already read standard input (only one may).
static STDIN_TAKEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A secret given as `@FILE`, `-` (standard input) or, for tests only, hex on the command line.
/// The file or stream holds hex (whitespace ignored) and is read with a cap.
///
/// # Errors
/// A message naming the option; never the secret's value.
pub fn secret_hex(name: &str, arg: &str) -> Result<zeroize::Zeroizing<Vec<u8>>, CliError> {
    use mikey_sakke::input::{caps, read_bounded};
    let text = if arg == "-" {
        claim_stdin(name)?;
        Some(read_bounded(std::path::Path::new("-"), caps::KEY_TEXT))
    } else {
        arg.strip_prefix('@')
            .map(|path| read_bounded(std::path::Path::new(path), caps::KEY_TEXT))
    };
    match text {
        None => Ok(zeroize::Zeroizing::new(parse_hex(name, arg)?)),
        Some(read) => {
            let raw =
                zeroize::Zeroizing::new(read.map_err(|e| CliError(format!("--{name}: {e}")))?);
            mikey_sakke::input::decode_secret_hex(name, &raw).map_err(|e| CliError(e.to_string()))
        }
    }
}

/// Claims standard input for the option `name`: only one option may read it.
///
/// # Errors
/// When another option has read it already.
pub fn claim_stdin(name: &str) -> Result<(), CliError> {
    if STDIN_TAKEN.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return Err(CliError(format!(
            "--{name}: standard input is already read by another option"
        )));
    }
    Ok(())
}

/// The operating system's random number generator, as an infallible `CryptoRng`.
pub fn os_rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}

/// Where the store passphrase comes from, for every command that opens or creates a store.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct PassphraseArgs {
    /// Read the store passphrase from this file (its first line; keep it 0600). Without it the
    /// passphrase comes from the MIKEY_SAKKE_PASSPHRASE environment variable, else a prompt on
    /// the terminal (asked twice when a store is created).
    #[arg(long, value_name = "FILE", global = true)]
    pub passphrase_file: Option<std::path::PathBuf>,
    /// Accept a new passphrase shorter than 12 characters (for tests and demos only).
    #[arg(long, global = true)]
    pub allow_weak_passphrase: bool,
}

/// Shortest passphrase accepted for a new store (or a new passphrase) without
/// `--allow-weak-passphrase`.
pub const MIN_PASSPHRASE_CHARS: usize = 12;

/// The passphrase from `--passphrase-file`, `MIKEY_SAKKE_PASSPHRASE` or the terminal (once).
fn read_passphrase(
    args: &PassphraseArgs,
    prompt: &str,
) -> Result<zeroize::Zeroizing<String>, CliError> {
    let p = if let Some(f) = &args.passphrase_file {
        let raw = zeroize::Zeroizing::new(
            mikey_sakke::input::read_bounded_text(f, mikey_sakke::input::caps::KEY_TEXT)
                .map_err(|e| CliError(format!("--passphrase-file: {e}")))?,
        );
        zeroize::Zeroizing::new(raw.lines().next().unwrap_or("").to_string())
    } else if let Ok(v) = std::env::var("MIKEY_SAKKE_PASSPHRASE") {
        zeroize::Zeroizing::new(v)
    } else {
        zeroize::Zeroizing::new(rpassword::prompt_password(prompt).map_err(|_| {
            CliError::new(
                "no passphrase: give --passphrase-file, set MIKEY_SAKKE_PASSPHRASE or run on a terminal",
            )
        })?)
    };
    if p.is_empty() {
        return Err(CliError::new("the passphrase is empty"));
    }
    Ok(p)
}

/// The passphrase of an existing store.
///
/// # Errors
/// When no source gives one, or it is empty.
pub fn passphrase_to_open(args: &PassphraseArgs) -> Result<zeroize::Zeroizing<Vec<u8>>, CliError> {
    let p = read_passphrase(args, "store passphrase: ")?;
    Ok(zeroize::Zeroizing::new(p.as_bytes().to_vec()))
}

/// A new passphrase (for a new store, or a passphrase change): typed twice when it comes from
/// the terminal, and at least [`MIN_PASSPHRASE_CHARS`] characters unless
/// `--allow-weak-passphrase`.
///
/// # Errors
/// When the two entries differ, or the passphrase is too short.
pub fn new_passphrase(args: &PassphraseArgs) -> Result<zeroize::Zeroizing<Vec<u8>>, CliError> {
    let from_terminal =
        args.passphrase_file.is_none() && std::env::var_os("MIKEY_SAKKE_PASSPHRASE").is_none();
    let p = read_passphrase(args, "new store passphrase: ")?;
    if from_terminal {
        let again = read_passphrase(args, "the same passphrase again: ")?;
        if *again != *p {
            return Err(CliError::new("the two passphrases differ; nothing done"));
        }
    }
    check_strength(&p, args.allow_weak_passphrase)?;
    Ok(zeroize::Zeroizing::new(p.as_bytes().to_vec()))
}

/// Refuses a passphrase shorter than [`MIN_PASSPHRASE_CHARS`] unless `allow_weak`.
fn check_strength(p: &str, allow_weak: bool) -> Result<(), CliError> {
    if p.chars().count() < MIN_PASSPHRASE_CHARS && !allow_weak {
        return Err(CliError(format!(
            "the passphrase is shorter than {MIN_PASSPHRASE_CHARS} characters (give a longer one, \
             or --allow-weak-passphrase for tests)"
        )));
    }
    Ok(())
}

/// A new passphrase typed twice on the terminal (never from the environment, which holds the
/// current one), at least [`MIN_PASSPHRASE_CHARS`] characters unless `allow_weak`.
///
/// # Errors
/// No terminal, an empty or short passphrase, two different entries.
pub fn new_passphrase_from_terminal(
    allow_weak: bool,
) -> Result<zeroize::Zeroizing<Vec<u8>>, CliError> {
    let ask = |prompt: &str| {
        rpassword::prompt_password(prompt)
            .map(zeroize::Zeroizing::new)
            .map_err(|_| {
                CliError::new("no new passphrase: give --new-passphrase-file or run on a terminal")
            })
    };
    let p = ask("new store passphrase: ")?;
    if p.is_empty() {
        return Err(CliError::new("the passphrase is empty"));
    }
    if *ask("the same passphrase again: ")? != *p {
        return Err(CliError::new("the two passphrases differ; nothing done"));
    }
    check_strength(&p, allow_weak)?;
    Ok(zeroize::Zeroizing::new(p.as_bytes().to_vec()))
}

/// A time in the one syntax every command takes (RFC 3339, `ntp:SECONDS` or `0xHEX` NTP
/// seconds: [`mikey_sakke::input::parse_time`]), or now, as NTP seconds.
///
/// # Errors
/// A message naming the option for an unparsable time.
pub fn ntp_time(option: &str, value: Option<&str>) -> Result<u64, CliError> {
    match value {
        Some(v) => mikey_sakke::input::parse_time(option, v).map_err(|e| CliError(e.to_string())),
        None => Ok(mikey_sakke::input::ntp_now()),
    }
}

/// NTP seconds as RFC 3339 text.
pub fn rfc3339(ntp: u64) -> String {
    mikey_sakke::input::rfc3339(ntp)
}

/// Reads an XML document or other text input (or `-` for standard input), refusing more than
/// an Annex D document's cap.
///
/// # Errors
/// A message naming the file.
pub fn read_text(path: &std::path::Path) -> Result<String, CliError> {
    mikey_sakke::input::read_bounded_text(path, mikey_sakke::input::caps::ANNEX_D_DOCUMENT)
        .map_err(|e| CliError(e.to_string()))
}

/// How a users or members file is checked: which URI schemes it may hold, and whether invalid
/// lines refuse the whole file or are reported and left out.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct UriListArgs {
    /// The URI schemes the file may hold, comma separated (default
    /// sip,sips,tel,mcptt,mcvideo,mcdata).
    #[arg(long, value_name = "SCHEME,...", value_delimiter = ',')]
    pub schemes: Vec<String>,
    /// Use the valid lines of the file and report the others (FILE:LINE: problem) on stderr,
    /// instead of refusing the whole file.
    #[arg(long)]
    pub skip_invalid: bool,
}

impl UriListArgs {
    /// The scheme policy.
    ///
    /// # Errors
    /// An empty or malformed scheme name.
    pub fn policy(&self) -> Result<mikey_sakke::input::UriPolicy, CliError> {
        if self.schemes.is_empty() {
            return Ok(mikey_sakke::input::UriPolicy::default());
        }
        let mut schemes = Vec::new();
        for s in &self.schemes {
            let s = s.trim().to_ascii_lowercase();
            let ok = s.starts_with(|c: char| c.is_ascii_lowercase())
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c));
            if !ok {
                return Err(CliError(format!(
                    "--schemes: {:?} is not a URI scheme (RFC 3986: a letter, then letters, \
                     digits, '+', '-' or '.')",
                    mikey_sakke::input::excerpt(&s)
                )));
            }
            schemes.push(s);
        }
        Ok(mikey_sakke::input::UriPolicy { schemes })
    }
}

/// URIs from a file (or `-`): one per line, blank lines and `#` comments ignored, every line
/// checked (against `opts`' schemes) before anything is done with any of them; a repeated URI
/// counts once. With `--skip-invalid` the rejected lines are reported on stderr (file:line:
/// problem: at most 80 characters of the line) and the valid ones used.
///
/// # Errors
/// A message naming the file and the first rejected lines (80 characters of each at most); with
/// `skip_invalid`, only when no line is valid.
pub fn read_uris(path: &std::path::Path, opts: &UriListArgs) -> Result<Vec<String>, CliError> {
    use mikey_sakke::input::{caps, parse_uri_list, read_bounded};
    let data = read_bounded(path, caps::URI_LIST).map_err(|e| CliError(e.to_string()))?;
    let name = if path.as_os_str() == "-" {
        "standard input".to_string()
    } else {
        path.display().to_string()
    };
    let list = parse_uri_list(&data, &name, &opts.policy()?);
    if opts.skip_invalid && !list.invalid.is_empty() {
        for e in &list.invalid {
            note!("skipped {e}");
        }
        note!(
            "{name}: {} invalid line(s) skipped, {} URI(s) used",
            list.invalid.len(),
            list.uris.len()
        );
        if list.uris.is_empty() {
            return Err(CliError(format!("{name}: no valid URI left")));
        }
    } else if !list.invalid.is_empty() {
        let shown: Vec<String> = list
            .invalid
            .iter()
            .take(5)
            .map(ToString::to_string)
            .collect();
        let more = list.invalid.len().saturating_sub(shown.len());
        let tail = if more > 0 {
            format!(" (and {more} more)")
        } else {
            String::new()
        };
        return Err(CliError(format!(
            "{} invalid line(s), nothing done: {}{tail}",
            list.invalid.len(),
            shown.join("; ")
        )));
    }
    for (uri, lines) in &list.duplicates {
        let lines: Vec<String> = lines.iter().map(ToString::to_string).collect();
        note!(
            "{name}: {} repeated on line(s) {}; used once",
            mikey_sakke::input::excerpt(uri),
            lines.join(", ")
        );
    }
    Ok(list.uris)
}

/// The output files for `uris` in `dir`, one per URI (`<encoded URI>.<ext>`, collision free:
/// [`mikey_sakke::input::file_name_for`]), checked before any work: no two URIs share a file,
/// and a file that exists (or a symbolic link there) is only replaced when `holds_same(path,
/// uri)` says it holds that URI's documents ([`holds_key_sets_of`] for key sets).
///
/// # Errors
/// A message naming the file in the way.
pub fn output_plan(
    dir: &std::path::Path,
    uris: &[String],
    ext: &str,
    holds_same: &dyn Fn(&std::path::Path, &str) -> bool,
) -> Result<Vec<(String, std::path::PathBuf)>, CliError> {
    use mikey_sakke::input::file_name_for;
    let mut seen = std::collections::HashMap::new();
    let mut plan = Vec::with_capacity(uris.len());
    for u in uris {
        let path = dir.join(format!("{}.{ext}", file_name_for(u)));
        if let Some(other) = seen.insert(path.clone(), u.clone()) {
            return Err(CliError(format!(
                "{} and {} would share the file {}; nothing done",
                mikey_sakke::input::excerpt(&other),
                mikey_sakke::input::excerpt(u),
                path.display()
            )));
        }
        if std::fs::symlink_metadata(&path).is_ok() && !holds_same(&path, u) {
            return Err(CliError(format!(
                "{} exists and does not hold the documents of {}; nothing done",
                path.display(),
                mikey_sakke::input::excerpt(u)
            )));
        }
        plan.push((u.clone(), path));
    }
    Ok(plan)
}

/// Whether the file at `path` is a KmsResponse for `uri` (a key-set file `kms provision` may
/// replace). A symbolic link is never one.
pub fn holds_key_sets_of(path: &std::path::Path, uri: &str) -> bool {
    let is_file = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file());
    is_file
        && read_text(path)
            .ok()
            .and_then(|x| mikey_sakke::annex_d::KmsResponse::from_xml(&x).ok())
            .is_some_and(|r| r.user_uri == uri)
}

/// Creates the output directory `dir` (and its missing parents) with mode 0700, or accepts it
/// when it exists: `kms provision` and `gms distribute` treat `--out DIR` alike.
///
/// # Errors
/// A message naming the directory (a file in the way, no permission).
pub fn create_out_dir(dir: &std::path::Path) -> Result<(), CliError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
        .map_err(|e| CliError(format!("cannot create {}: {e}", dir.display())))
}

/// Writes planned files holding secrets (0600, atomically, never through a symbolic link, one
/// directory sync per batch) and returns how many were written.
///
/// # Errors
/// The first write error, naming the file.
pub fn write_planned(files: &[(std::path::PathBuf, Vec<u8>)]) -> Result<usize, CliError> {
    mikey_sakke::output::write_secret_files(files.iter().map(|(p, d)| (p.as_path(), d.as_slice())))
        .map_err(|e| CliError(e.to_string()))
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
pub fn progress(total: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(total),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}
