//! `mikey-sakke demo`: the whole chain on a temporary store: a KMS, a group manager and N
//! members; GMK distribution; every member receives.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use rayon::prelude::*;

use super::{CliError, Output, os_rng};
use mikey_sakke::eccsi::SigningKey;
use mikey_sakke::gms::{self, Distribution, GroupKey, GroupManager};
use mikey_sakke::kms::provision::provision;
use mikey_sakke::kms::store::{KdfParams, KmsConfig, KmsStore, PrincipalKind, Store};
use mikey_sakke::mcx::imessage::{self, Receiver, TimeCheck};
use mikey_sakke::mcx::uid::KeyPeriods;
use mikey_sakke::sakke::PreparedReceiver;

/// Options of the demo.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Number of group members.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    members: u32,
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

fn fail(what: &str) -> impl Fn(&dyn std::fmt::Display) -> CliError + '_ {
    move |e| CliError(format!("{what}: {e}"))
}

/// Runs the demo.
///
/// # Errors
/// If a step fails (a bug, or an unwritable temporary directory).
pub fn run(args: &DemoArgs) -> Result<Output, CliError> {
    let n = usize::try_from(args.members).unwrap_or(100);
    let mut rng = os_rng();
    let dir = std::env::temp_dir().join(format!("mikey-sakke-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| CliError(format!("cannot create {}: {e}", dir.display())))?;
    let path = dir.join("kms.db");
    let _ = std::fs::remove_file(&path);
    let result = run_in(&path, n, &mut rng);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run_in(
    path: &std::path::Path,
    n: usize,
    rng: &mut rand_core::UnwrapErr<getrandom::SysRng>,
) -> Result<Output, CliError> {
    let mut out = Output::new();
    let kms_uri = "kms.example.org";
    let periods = KeyPeriods {
        length: 30 * 86_400,
        offset: 0,
    };
    let now = super::mikey::ntp_now();
    let period = periods
        .period_number(now)
        .map_err(|e| fail("key period")(&e))?;

    // 1. The KMS operator creates the store.
    let t = Instant::now();
    let mut passphrase = [0u8; 16];
    rand_core::Rng::fill_bytes(rng, &mut passphrase);
    let config = KmsConfig {
        kms_uri: kms_uri.into(),
        periods,
        parameter_set: 1,
    };
    let store = Store::create(path, &passphrase, &config, KdfParams::DEFAULT, rng)
        .map_err(|e| fail("store")(&e))?;
    let master = store.master_keys(period).map_err(|e| fail("store")(&e))?;
    out = out.text(
        "kms",
        format!(
            "store {} created, master keys sealed (Argon2id + AES-256-GCM), {:.0} ms",
            path.display(),
            ms(t)
        ),
    );

    // 2. Provisioning: the group manager and every member, current key period.
    let t = Instant::now();
    let mut uris: Vec<String> = (0..n)
        .map(|i| format!("sip:member{i}@example.org"))
        .collect();
    uris.push("sip:gms@example.org".into());
    let sets = provision(&store, &uris, PrincipalKind::User, &[period], &|_| {})
        .map_err(|e| fail("provision")(&e))?;
    let secs = t.elapsed().as_secs_f64();
    out = out.text(
        "provision",
        format!(
            "{} key sets issued, validated and recorded in {:.2} s ({:.0} key sets/s on {} cores)",
            sets.len(),
            secs,
            sets.len() as f64 / secs,
            rayon::current_num_threads()
        ),
    );

    // 3. The group manager distributes a fresh GMK.
    let gms_set = sets
        .iter()
        .find(|p| p.set.uri == "sip:gms@example.org")
        .ok_or_else(|| CliError::new("no GMS key set"))?;
    let signer = SigningKey::new(
        &master.kpak,
        &gms_set.set.user_id,
        gms_set.set.ssk.clone(),
        &gms_set.set.pvt,
    )
    .map_err(|_| CliError::new("the GMS key set does not validate"))?;
    let t = Instant::now();
    let gm = GroupManager::new(signer, period, &master.sakke_public, kms_uri, periods);
    let key = GroupKey::generate(rng);
    let dist = Distribution::new(
        "sip:fire-brigade-north@example.org",
        "fire brigade north",
        now,
    );
    let members: Vec<String> = uris[..n].to_vec();
    let messages =
        gms::distribute(&gm, &key, &dist, &members, &|| {}).map_err(|e| fail("distribute")(&e))?;
    let secs = t.elapsed().as_secs_f64();
    let size = messages.first().map_or(0, |m| m.message.len());
    out = out.text(
        "distribute",
        format!(
            "GMK {} sent to {} members as signed I_MESSAGEs of {} octets in {:.2} s ({:.0} messages/s)",
            key.gmk_id,
            messages.len(),
            size,
            secs,
            messages.len() as f64 / secs
        ),
    );

    // 4. Every member receives with its own keys.
    let t = Instant::now();
    let ok = AtomicU64::new(0);
    messages
        .par_iter()
        .try_for_each(|m| -> Result<(), CliError> {
            let set = sets
                .iter()
                .find(|p| p.set.uri == m.member)
                .ok_or_else(|| CliError::new("member key set missing"))?;
            let rsk = PreparedReceiver::new(&master.sakke_public, &set.set.user_id, &set.set.rsk)
                .map_err(|_| CliError::new("member RSK does not validate"))?;
            let receiver = Receiver {
                uid: &set.set.user_id,
                user_uri: Some(m.member.as_bytes()),
                kms_public_key: &master.sakke_public,
                rsk: &rsk,
                kpak: &master.kpak,
                key_period: Some((periods, period)),
                expected_initiator: Some(&gms_set.set.user_id),
                compat_signature: false,
                compat_minimal_w: false,
                compat_legacy_key_params: false,
            };
            let got = imessage::receive(
                &receiver,
                TimeCheck::Window { now, max_skew: 300 },
                None,
                &m.message,
            )
            .map_err(|e| fail("receive")(&e))?;
            if got.key == key.gmk && got.key_id == key.gmk_id {
                ok.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        })?;
    let secs = t.elapsed().as_secs_f64();
    let ok = ok.load(Ordering::Relaxed);
    out = out.text(
        "receive",
        format!(
            "{ok} of {} members verified the signature, decrypted the GMK and matched its GMK-ID ({:.2} s, {:.0} members/s)",
            messages.len(),
            secs,
            messages.len() as f64 / secs
        ),
    );
    if usize::try_from(ok).unwrap_or(0) != messages.len() {
        return Err(CliError::new("some members did not recover the GMK"));
    }
    out = out.text("result", "OK: the whole group holds the same GMK");
    Ok(out)
}
