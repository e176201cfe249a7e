//! The yardstick: OpenSSL's P-256 ECDSA verification time on this machine.

/// OpenSSL's P-256 ECDSA verification time in nanoseconds, from
/// `openssl speed -seconds 3 ecdsap256`; `None` if `openssl` is not installed or its output
/// is not understood.
pub fn verify_ns() -> Option<f64> {
    let out = std::process::Command::new("openssl")
        .args(["speed", "-seconds", "3", "ecdsap256"])
        .output()
        .ok()?;
    parse_speed(&String::from_utf8_lossy(&out.stdout))
}

/// The verification time from the output of `openssl speed ecdsap256`.
fn parse_speed(text: &str) -> Option<f64> {
    // "256 bits ecdsa (nistp256)   0.0000s   0.0001s  57200.3  18123.7"
    let line = text.lines().find(|l| l.contains("(nistp256)"))?;
    let verifies_per_s: f64 = line.split_whitespace().last()?.parse().ok()?;
    (verifies_per_s > 0.0).then(|| 1e9 / verifies_per_s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_speed_line() {
        let text = "version: 3.0.2\n                              sign    verify    sign/s verify/s\n \
                    256 bits ecdsa (nistp256)   0.0000s   0.0001s  57200.3  20000.0\n";
        assert_eq!(parse_speed(text), Some(50_000.0));
        assert_eq!(parse_speed("nothing here"), None);
        assert_eq!(
            parse_speed("256 bits ecdsa (nistp256) 0.0s 0.0s 1.0 0.0"),
            None
        );
    }
}
