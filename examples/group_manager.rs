//! A group manager (GMS): generates a GMK and sends it to every member of a group as signed
//! MIKEY-SAKKE I_MESSAGEs, on all cores. The KMS is simulated in memory here; a real GMS gets
//! its key set and the KMS certificate from the KMS (see the `kms_operator` example).
//!
//! Run: `cargo run --release --example group_manager`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mikey_sakke::eccsi::{KmsKeyPair, SigningKey};
use mikey_sakke::gms::{self, Distribution, GroupKey, GroupManager};
use mikey_sakke::mcx::uid::{KeyPeriods, uid};
use mikey_sakke::sakke::MasterSecret;

fn main() {
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    // The KMS side, simulated: master keys and the GMS's signing key for this key period.
    let z = MasterSecret::random(&mut rng);
    let kms_public = z.public_key();
    let eccsi = KmsKeyPair::generate(&mut rng).unwrap();
    let kms_uri = "kms.example.org";
    let periods = KeyPeriods {
        length: 30 * 86_400,
        offset: 0,
    };
    let now_ntp = 3_970_000_000u64;
    let period = periods.period_number(now_ntp).unwrap();
    let gms_uid = uid(b"sip:gms@example.org", kms_uri.as_bytes(), periods, period).unwrap();
    let (ssk, pvt) = eccsi.issue(&gms_uid, &mut rng).unwrap();
    // The GMS validates its key set once.
    let signer = SigningKey::new(eccsi.kpak(), &gms_uid, ssk, &pvt).expect("valid SSK/PVT");

    // Distribute a fresh GMK to 50 members.
    let members: Vec<String> = (0..50)
        .map(|i| format!("sip:officer{i}@example.org"))
        .collect();
    // A real GMS loads the KMS certificate and its key sets with `GroupManager::load`.
    let gm = GroupManager::new(signer, period, &kms_public, kms_uri, periods);
    let key = GroupKey::generate(&mut rng);
    let dist = Distribution::new("sip:patrol-east@example.org", "patrol east", now_ntp);
    let t = std::time::Instant::now();
    let messages = gms::distribute(&gm, &key, &dist, &members, &|| {}).unwrap();
    println!(
        "GMK-ID {}: {} I_MESSAGEs of {} octets in {:.0} ms",
        key.gmk_id,
        messages.len(),
        messages[0].message.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    let dir = std::env::temp_dir().join("mikey-sakke-group-manager-example");
    std::fs::create_dir_all(&dir).unwrap();
    for m in &messages {
        let name = m.member.replace([':', '@'], "_");
        std::fs::write(dir.join(format!("{name}.mikey")), &m.message).unwrap();
    }
    println!("written to {}", dir.display());
    std::fs::remove_dir_all(&dir).unwrap();
}
