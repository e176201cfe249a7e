//! `mikey-sakke demo`: an end-to-end run of the engine with freshly generated keys.

use std::time::Instant;

use super::{CliError, Output, os_rng};
use mikey_sakke::sakke::{self, MasterSecret};

/// Runs the demo: a KMS creates its SAKKE master key, issues an RSK to a user, the user
/// validates it, a sender encapsulates a fresh key to the user's identity, and the user
/// recovers it. Prints each step with its duration.
///
/// # Errors
/// Only if an internal check fails (which would be a bug).
pub fn run() -> Result<Output, CliError> {
    let mut rng = os_rng();
    let alice = b"sip:alice@example.org";
    let mut out = Output::new();

    let t = Instant::now();
    let z = MasterSecret::random(&mut rng);
    let kms = z.public_key();
    out = out
        .text(
            "step 1",
            format!(
                "KMS: new SAKKE master secret z and public key Z = [z]P ({:.1} ms)",
                ms(t)
            ),
        )
        .hex("Z", &kms.to_bytes());

    let t = Instant::now();
    let rsk = z.issue_rsk(alice).map_err(|e| CliError(e.to_string()))?;
    out = out.text(
        "step 2",
        format!("KMS: RSK issued to {} ({:.1} ms)", show(alice), ms(t)),
    );

    let t = Instant::now();
    rsk.validate(&kms, alice)
        .map_err(|_| CliError::new("RSK validation failed"))?;
    out = out.text(
        "step 3",
        format!(
            "alice: <[a]P + Z, RSK> == g, RSK accepted ({:.1} ms)",
            ms(t)
        ),
    );

    let t = Instant::now();
    let (ssv, ed) = sakke::encapsulate(&mut rng, &kms, alice);
    out = out
        .text(
            "step 4",
            format!(
                "sender: fresh 128-bit key encapsulated to alice's identity ({:.1} ms)",
                ms(t)
            ),
        )
        .hex("ED", &ed.to_bytes());

    let t = Instant::now();
    let got = sakke::decapsulate(&kms, alice, &rsk, &ed)
        .map_err(|_| CliError::new("decapsulation failed"))?;
    out = out.text(
        "step 5",
        format!(
            "alice: key recovered and TEST == R checked ({:.1} ms)",
            ms(t)
        ),
    );

    if got != ssv {
        return Err(CliError::new("recovered key differs from the sent key"));
    }
    Ok(out.text(
        "result",
        "alice holds the sender's key: SAKKE round trip OK",
    ))
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

fn show(id: &[u8]) -> String {
    String::from_utf8_lossy(id).into_owned()
}
