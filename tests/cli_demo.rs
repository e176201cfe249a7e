//! The README's main job, `mikey-sakke demo`, runs end to end (with a small group).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[test]
fn demo_runs_end_to_end() {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_mikey-sakke"))
        .args(["demo", "--members", "6"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("6 of 6 members verified the signature"),
        "{out}"
    );
    assert!(out.contains("result = OK"), "{out}");
}
