//! The operations of `mikey-sakke bench`: fixtures built once, then each selected operation
//! timed by [`measure`].

use std::hint::black_box;
use std::time::{Duration, Instant};

use signature::Verifier;

use super::{BenchError, Measurement, Options};
use crate::curve::ProjectivePoint;
use crate::eccsi::{KmsKeyPair, SigningKey, VerifyingKey};
use crate::field::{Fp, Fq};
use crate::pairing::{PreparedPoint, pairing};
use crate::sakke::{self, MasterSecret, PreparedReceiver, PreparedRecipient};

/// The operating system's generator (`UnwrapErr` panics if the OS generator fails: a
/// benchmark cannot run without randomness, and no input can cause it).
fn os_rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}

/// Median nanoseconds per call of `f`, over `rounds` rounds (at least one) of at least `round`
/// each; the number of calls per round is calibrated first (doubling until a quarter of a
/// round is filled, at most 2^24 calls, then four times that).
pub fn measure(rounds: u32, round: Duration, mut f: impl FnMut()) -> f64 {
    // Calibrate the number of calls per round.
    let mut calls = 1u64;
    loop {
        let t = Instant::now();
        for _ in 0..calls {
            f();
        }
        if t.elapsed() >= round / 4 || calls >= 1 << 24 {
            break;
        }
        calls *= 2;
    }
    let calls = calls.saturating_mul(4).max(1);
    let mut samples: Vec<f64> = (0..rounds.max(1))
        .map(|_| {
            let t = Instant::now();
            for _ in 0..calls {
                f();
            }
            t.elapsed().as_secs_f64() * 1e9 / calls as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Builds the fixtures and measures every selected operation, in a fixed order.
pub(super) fn run(options: &Options) -> Result<Vec<Measurement>, BenchError> {
    let (rounds, round) = (options.rounds.max(1), options.round);
    let wanted = |name: &str| options.wants(name);
    let mut rng = os_rng();
    let fail = BenchError::Setup;

    // Fixtures.
    let z = MasterSecret::random(&mut rng);
    let kms = z.public_key();
    let id = [0xa5u8; 32];
    let rsk = z.issue_rsk(&id).map_err(|_| fail("rsk"))?;
    let (_, ed) = sakke::encapsulate(&mut rng, &kms, &id);
    let receiver = PreparedReceiver::new(&kms, &id, &rsk).map_err(|_| fail("prepare"))?;
    let recipient = PreparedRecipient::new(&kms, &id);
    let prepared_kms = sakke::PreparedKms::new(&kms);
    let p = ProjectivePoint::generator();
    let r_point = p.mul(&Fq::random(&mut rng)).to_affine();
    let k_point = p.mul(&Fq::random(&mut rng)).to_affine();
    let prepared_k = PreparedPoint::new(&k_point);
    let a = Fp::random(&mut rng);
    let b = Fp::random(&mut rng);
    let eccsi_kms = KmsKeyPair::generate(&mut rng).map_err(|_| fail("eccsi kms"))?;
    let (ssk, pvt) = eccsi_kms
        .issue(&id, &mut rng)
        .map_err(|_| fail("eccsi issue"))?;
    let signer =
        SigningKey::new(eccsi_kms.kpak(), &id, ssk, &pvt).map_err(|_| fail("eccsi key"))?;
    let msg = [0x5au8; 200];
    let sig = signer
        .try_sign_with_rng(&mut rng, &msg)
        .map_err(|_| fail("sign"))?;

    let mut results: Vec<Measurement> = Vec::new();
    let mut run_op = |name: &'static str, f: &mut dyn FnMut()| {
        if wanted(name) {
            results.push(Measurement {
                op: name,
                ns: measure(rounds, round, f),
            });
        }
    };
    run_op("fp_mul", &mut || {
        black_box(black_box(&a).mul(black_box(&b)));
    });
    run_op("pairing", &mut || {
        black_box(pairing(black_box(&r_point), &k_point));
    });
    run_op("pairing_precomputed", &mut || {
        black_box(prepared_k.pairing(black_box(&r_point)));
    });
    run_op("sakke_decapsulate", &mut || {
        black_box(sakke::decapsulate(&kms, &id, &rsk, black_box(&ed)).ok());
    });
    run_op("sakke_decapsulate_precomputed", &mut || {
        black_box(receiver.decapsulate(black_box(&ed)).ok());
    });
    // A sender keeps the KMS public key's table for the key period: a new recipient costs
    // [r b]P + [r]Z from two fixed-base tables.
    let mut ids = (0u64..).map(|i| {
        let mut v = id;
        v[..8].copy_from_slice(&i.to_be_bytes());
        v
    });
    run_op("sakke_encapsulate", &mut || {
        let id = ids.next().unwrap_or(id);
        black_box(prepared_kms.encapsulate(&mut rng, black_box(&id)));
    });
    // A group manager's fan-out to a large group encapsulates one key to the members in
    // batches, on the wide tables: the time of a batch of 8 new recipients, per recipient.
    if wanted("sakke_encapsulate_batch8") {
        prepared_kms.prepare_batches();
    }
    let mut batch_ids = ids.clone();
    let batch_ssv = sakke::Ssv::random(&mut rng);
    run_op("sakke_encapsulate_batch8", &mut || {
        let batch: Vec<[u8; 32]> = (&mut batch_ids).take(8).collect();
        let refs: Vec<&[u8]> = batch.iter().map(|b| b.as_slice()).collect();
        black_box(sakke::hazmat::encapsulate_many_with_ssv_kms(
            &batch_ssv,
            &prepared_kms,
            black_box(&refs),
        ));
    });
    run_op("sakke_encapsulate_no_tables", &mut || {
        black_box(sakke::encapsulate(&mut rng, &kms, black_box(&id)));
    });
    let mut rng2 = os_rng();
    run_op("sakke_encapsulate_precomputed", &mut || {
        black_box(recipient.encapsulate(&mut rng2));
    });
    run_op("sakke_rsk_issue", &mut || {
        black_box(z.issue_rsk(black_box(&id)).ok());
    });
    // A KMS validates every RSK it issues with its key's pairing tables kept for the batch.
    run_op("sakke_rsk_validate", &mut || {
        black_box(prepared_kms.validate_rsk(&rsk, black_box(&id)).ok());
    });
    run_op("sakke_rsk_validate_no_tables", &mut || {
        black_box(rsk.validate(&kms, black_box(&id)).ok());
    });
    // The KMS's self-check of an RSK it has just issued: [a + z]RSK == P with z at hand.
    run_op("sakke_rsk_check_kms", &mut || {
        black_box(z.check_issued_rsk(&rsk, black_box(&id)).ok());
    });
    let mut rng3 = os_rng();
    run_op("sakke_kms_keygen", &mut || {
        black_box(MasterSecret::random(&mut rng3).public_key());
    });
    let mut rng4 = os_rng();
    run_op("eccsi_sign", &mut || {
        black_box(signer.try_sign_with_rng(&mut rng4, black_box(&msg)).ok());
    });
    // A receiver keeps the signer's prepared key (HS, Y and Y's table) for the key period.
    let verifier = VerifyingKey::new(eccsi_kms.kpak(), &id).prepare(&pvt);
    run_op("eccsi_verify", &mut || {
        black_box(verifier.verify(black_box(&msg), &sig).ok());
    });
    // A signer not seen before: HS and J = [s HE]G + [s r HS]PVT + [s r]KPAK afresh, by one
    // multi-scalar multiplication; the KPAK's table lives in the `Kpak` (built once per KMS,
    // at the first call, and shared by the clones each `VerifyingKey::new` takes).
    run_op("eccsi_verify_new_signer", &mut || {
        black_box(
            VerifyingKey::new(eccsi_kms.kpak(), &id)
                .verify(black_box(&msg), &sig)
                .ok(),
        );
    });

    #[cfg(feature = "kms")]
    {
        let master = kms_ops::master_keys(&z, &eccsi_kms);
        let mut uris = (0u64..).map(|i| format!("sip:user{i}@example.org"));
        run_op("kms_issue_key_set", &mut || {
            let uri = uris.next().unwrap_or_default();
            black_box(kms_ops::issue_one(&master, black_box(&uri)).ok());
        });
        // The same per key set, issued as provisioning does: chunks of CHUNK sets, the RSKs
        // issued with shared inversions and self-checked by one random linear combination.
        run_op("kms_issue_key_set_batched", &mut || {
            let chunk: Vec<String> = uris.by_ref().take(kms_ops::CHUNK).collect();
            black_box(kms_ops::issue_chunk(&master, black_box(&chunk)));
        });
    }

    for m in &mut results {
        if m.op == "sakke_encapsulate_batch8" {
            m.ns /= 8.0;
        }
        #[cfg(feature = "kms")]
        if m.op == "kms_issue_key_set_batched" {
            m.ns /= kms_ops::CHUNK as f64;
        }
    }
    if wanted("gmk_fanout_2000") {
        results.push(Measurement {
            op: "gmk_fanout_2000",
            ns: fanout_2000(&signer, &kms)?,
        });
    }
    #[cfg(feature = "kms")]
    if options.wants_opt_in("kms_provision_2000") {
        results.push(Measurement {
            op: "kms_provision_2000",
            ns: kms_ops::provision_2000()?,
        });
    }
    Ok(results)
}

/// Wall time (ns, median of 3) of building the 2000 I_MESSAGEs of one GMK distribution on all
/// cores.
fn fanout_2000(signer: &SigningKey, kms: &sakke::KmsPublicKey) -> Result<f64, BenchError> {
    use crate::gms::{self, Distribution, GroupKey, GroupManager};
    use crate::mcx::uid::KeyPeriods;
    let periods = KeyPeriods {
        length: 2_592_000,
        offset: 0,
    };
    let ntp_seconds = 3_950_000_000u64;
    let period = periods
        .period_number(ntp_seconds)
        .map_err(|e| BenchError::FanOut(e.to_string()))?;
    let gm = GroupManager::new(signer.clone(), period, kms, "kms.example.org", periods);
    let members: Vec<String> = (0..2000)
        .map(|i| format!("sip:member{i}@example.org"))
        .collect();
    let key = GroupKey::generate(&mut os_rng());
    let dist = Distribution::new("sip:group@example.org", "", ntp_seconds);
    let mut samples = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let out = gms::distribute(&gm, &key, &dist, &members, &|| {})
            .map_err(|e| BenchError::FanOut(e.to_string()))?;
        samples.push(t.elapsed().as_secs_f64() * 1e9);
        black_box(out);
    }
    samples.sort_by(f64::total_cmp);
    Ok(samples[1])
}

/// The KMS rows: one key set issued and checked, and a provisioning run end to end.
#[cfg(feature = "kms")]
mod kms_ops {
    use std::time::Instant;

    use super::super::BenchError;
    use crate::eccsi::KmsKeyPair;
    use crate::kms::provision::{ProvisionError, issue_key_set, issue_key_sets, provision};
    use crate::kms::store::{
        IssuedKeySet, KdfParams, KmsConfig, KmsStore, MasterKeys, PrincipalKind, SqliteStore,
    };
    use crate::mcx::uid::KeyPeriods;
    use crate::sakke::MasterSecret;

    const KMS_URI: &str = "kms.example.org";
    const PERIODS: KeyPeriods = KeyPeriods {
        length: 2_592_000,
        offset: 0,
    };

    /// The master keys of the fixtures, as a store hands them to provisioning.
    pub(super) fn master_keys(z: &MasterSecret, eccsi: &KmsKeyPair) -> MasterKeys {
        MasterKeys {
            generation: 1,
            first_period: 0,
            last_period: None,
            sakke: z.clone(),
            eccsi: eccsi.clone(),
            sakke_public: z.public_key(),
            kpak: eccsi.kpak().clone(),
        }
    }

    /// What provisioning does for one (URI, period) before recording it: the UID, the RSK
    /// issued and self-checked, the ECCSI (SSK, PVT) issued and checked.
    pub(super) fn issue_one(
        master: &MasterKeys,
        uri: &str,
    ) -> Result<IssuedKeySet, ProvisionError> {
        issue_key_set(master, KMS_URI, PERIODS, uri, 1_500)
    }

    /// Key sets per call of [`issue_chunk`]: provisioning's chunk.
    pub(super) const CHUNK: usize = crate::kms::provision::CHUNK;

    /// What provisioning does for a chunk of URIs of one period ([`issue_key_sets`]); returns
    /// the number of sets issued.
    pub(super) fn issue_chunk(master: &MasterKeys, uris: &[String]) -> usize {
        let refs: Vec<&str> = uris.iter().map(String::as_str).collect();
        issue_key_sets(master, KMS_URI, PERIODS, &refs, 1_500)
            .iter()
            .filter(|r| r.is_ok())
            .count()
    }

    /// A temporary directory, removed on drop.
    struct TempDir(std::path::PathBuf);

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Wall time (ns, one run) of provisioning 2 000 users for 2 key periods (4 000 key sets)
    /// into a fresh SQLite store in a temporary directory, on all cores, and writing each
    /// user's KeyProv response (both periods) as a file in that directory, as `kms provision
    /// --out DIR` does. Creating the store (Argon2id, master keys) is not timed.
    pub(super) fn provision_2000() -> Result<f64, BenchError> {
        let fail = |_| BenchError::Setup("kms_provision_2000");
        let mut dir = std::env::temp_dir();
        let nonce = rand_core::Rng::next_u64(&mut super::os_rng());
        dir.push(format!(
            "mikey-sakke-bench-{}-{nonce:016x}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).map_err(|_| BenchError::Setup("temporary directory"))?;
        let dir = TempDir(dir);
        let config = KmsConfig {
            kms_uri: KMS_URI.into(),
            periods: PERIODS,
            parameter_set: 1,
        };
        let store = SqliteStore::create(
            &dir.0.join("kms.db"),
            b"bench passphrase",
            &config,
            KdfParams::TEST_ONLY,
            &mut super::os_rng(),
        )
        .map_err(|_| BenchError::Setup("kms store"))?;
        let uris: Vec<String> = (0..2000)
            .map(|i| format!("sip:user{i}@example.org"))
            .collect();
        let periods = [1_500, 1_501];
        let t = Instant::now();
        let sets =
            provision(&store, &uris, PrincipalKind::User, &periods, &|_| {}).map_err(fail)?;
        let mut by_uri: std::collections::HashMap<&str, Vec<&IssuedKeySet>> =
            std::collections::HashMap::new();
        for r in &sets {
            by_uri.entry(r.set.uri.as_str()).or_default().push(&r.set);
        }
        let mut docs: Vec<(std::path::PathBuf, Vec<u8>)> = uris
            .iter()
            .enumerate()
            .map(|(i, u)| {
                let sets = by_uri.get(u.as_str()).cloned().unwrap_or_default();
                let xml = crate::kms::documents::key_prov_response(
                    store.config(),
                    u,
                    "2026-12-07T00:00:00Z",
                    sets,
                )
                .to_xml();
                (dir.0.join(format!("user{i}.xml")), xml.into_bytes())
            })
            .collect();
        crate::output::write_secret_files(docs.iter().map(|(p, d)| (p.as_path(), d.as_slice())))
            .map_err(|_| BenchError::Setup("writing the key files"))?;
        let ns = t.elapsed().as_secs_f64() * 1e9;
        // The documents hold the RSKs and SSKs.
        for (_, d) in &mut docs {
            zeroize::Zeroize::zeroize(d);
        }
        Ok(ns)
    }
}
