//! A field-by-field description of an encoded message, with offsets (what `mikey-sakke mikey
//! inspect` prints). The layout knowledge stays in the codec; the CLI only formats.

use std::fmt::Write as _;

use super::Message;
use super::hdr::CsIdMap;
use super::payload::{Payload, Sakke, Timestamp};
use super::values::{ProtType, SrtpParamType};

/// One line of a message description: a heading (`len == 0`) or a field occupying
/// `offset..offset + len` of the encoding. The fields, in order, tile the whole encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Annotation {
    /// Offset of the first octet in the encoding.
    pub offset: usize,
    /// Number of octets (0 for a heading).
    pub len: usize,
    /// Nesting depth: 0 for payload headings, 1 for their fields, 2 for fields of an entry.
    pub depth: u8,
    /// What the octets mean, e.g. `ID role = 8 (hashed initiator UID (IDRuidi))`.
    pub text: String,
}

struct Writer {
    out: Vec<Annotation>,
    pos: usize,
}

impl Writer {
    fn head(&mut self, depth: u8, text: impl Into<String>) {
        self.out.push(Annotation {
            offset: self.pos,
            len: 0,
            depth,
            text: text.into(),
        });
    }

    fn field(&mut self, len: usize, depth: u8, text: impl Into<String>) {
        self.out.push(Annotation {
            offset: self.pos,
            len,
            depth,
            text: text.into(),
        });
        self.pos += len;
    }

    /// A variable-length octet field: shown as text when it is printable ASCII.
    fn bytes(&mut self, depth: u8, name: &str, v: &[u8]) {
        if v.is_empty() {
            return;
        }
        let text = if v.iter().all(|b| (0x20..0x7f).contains(b)) {
            format!("{name} = \"{}\"", String::from_utf8_lossy(v))
        } else {
            format!("{name} ({} octets)", v.len())
        };
        self.field(v.len(), depth, text);
    }

    fn next(&mut self, next: u8) {
        let t = super::PayloadType(next);
        self.field(1, 1, format!("next payload = {t}"));
    }
}

pub(crate) fn annotate(msg: &Message<'_>) -> Vec<Annotation> {
    let mut w = Writer {
        out: Vec::new(),
        pos: 0,
    };
    let payloads = msg.payloads();
    let next_of = |i: usize| payloads.get(i).map_or(0, |p| p.payload_type().0);
    let h = msg.hdr();
    w.head(0, "HDR: Common Header (RFC 3830 s6.1)");
    w.field(1, 1, format!("version = {}", super::VERSION));
    w.field(1, 1, format!("data type = {}", h.data_type));
    w.next(next_of(0));
    w.field(
        1,
        1,
        format!("V = {}, PRF func = {}", u8::from(h.v), h.prf_func),
    );
    w.field(4, 1, format!("CSB ID = 0x{:08x}", h.csb_id));
    w.field(1, 1, format!("#CS = {}", h.cs_id_map.cs_count()));
    w.field(1, 1, format!("CS ID map type = {}", h.cs_id_map.map_type()));
    match &h.cs_id_map {
        CsIdMap::SrtpId(v) => {
            for (i, e) in v.iter().enumerate() {
                w.head(1, format!("crypto session {}", i + 1));
                w.field(1, 2, format!("Policy_no = {}", e.policy_no));
                w.field(4, 2, format!("SSRC = 0x{:08x}", e.ssrc));
                w.field(4, 2, format!("ROC = {}", e.roc));
            }
        }
        CsIdMap::Empty { .. } => {}
        CsIdMap::GenericId(v) => {
            for (i, e) in v.iter().enumerate() {
                w.head(1, format!("crypto session {}", i + 1));
                w.field(1, 2, format!("CS ID = {}", e.cs_id));
                w.field(1, 2, format!("Prot type = {}", e.prot_type));
                w.field(
                    1,
                    2,
                    format!("S = {}, #P = {}", u8::from(e.s), e.policy_nos.len()),
                );
                if !e.policy_nos.is_empty() {
                    let list: Vec<String> = e.policy_nos.iter().map(u8::to_string).collect();
                    w.field(
                        e.policy_nos.len(),
                        2,
                        format!("Policy_no = {}", list.join(", ")),
                    );
                }
                w.field(
                    2,
                    2,
                    format!("Session Data Length = {}", e.session_data.len()),
                );
                w.bytes(2, "Session Data", e.session_data);
                w.field(1, 2, format!("SPI Length = {}", e.spi.len()));
                w.bytes(2, "SPI", e.spi);
            }
        }
    }
    for (i, p) in payloads.iter().enumerate() {
        payload(&mut w, p, next_of(i + 1));
    }
    w.out
}

fn payload(w: &mut Writer, p: &Payload<'_>, next: u8) {
    match p {
        Payload::T(t) => {
            w.head(0, "T: timestamp (RFC 3830 s6.6)");
            w.next(next);
            w.field(1, 1, format!("TS type = {}", t.ts_type()));
            let text = match *t {
                Timestamp::NtpUtc(v) | Timestamp::Ntp(v) => {
                    let secs = v >> 32;
                    format!(
                        "TS value = 0x{v:016x} (NTP seconds {secs}: {})",
                        ntp_date(secs)
                    )
                }
                Timestamp::NtpUtc32(v) => {
                    format!(
                        "TS value = 0x{v:08x} (NTP seconds {v}: {})",
                        ntp_date(u64::from(v))
                    )
                }
                Timestamp::Counter(v) => format!("TS value = {v} (counter)"),
            };
            let len = if matches!(t, Timestamp::NtpUtc(_) | Timestamp::Ntp(_)) {
                8
            } else {
                4
            };
            w.field(len, 1, text);
        }
        Payload::Rand(r) => {
            w.head(0, "RAND (RFC 3830 s6.11)");
            w.next(next);
            w.field(1, 1, format!("RAND len = {}", r.rand.len()));
            w.bytes(1, "RAND", r.rand);
        }
        Payload::Idr(i) => {
            w.head(0, "IDR: identity with role (RFC 6043 s6.6, RFC 6509 s4.4)");
            w.next(next);
            w.field(1, 1, format!("ID role = {}", i.role));
            w.field(1, 1, format!("ID type = {}", i.id_type));
            w.field(2, 1, format!("ID len = {}", i.data.len()));
            w.bytes(1, "ID data", i.data);
        }
        Payload::Id(i) => {
            w.head(0, "ID: identity (RFC 3830 s6.7)");
            w.next(next);
            w.field(1, 1, format!("ID type = {}", i.id_type));
            w.field(2, 1, format!("ID len = {}", i.data.len()));
            w.bytes(1, "ID data", i.data);
        }
        Payload::Cert(c) => {
            w.head(0, "CERT: certificate (RFC 3830 s6.7)");
            w.next(next);
            w.field(1, 1, format!("Cert type = {}", c.cert_type));
            w.field(2, 1, format!("Cert len = {}", c.data.len()));
            w.bytes(1, "Certificate", c.data);
        }
        Payload::Sp(sp) => {
            w.head(0, "SP: security policy (RFC 3830 s6.10)");
            w.next(next);
            w.field(1, 1, format!("Policy no = {}", sp.policy_no));
            w.field(1, 1, format!("Prot type = {}", sp.prot_type));
            let plen: usize = sp.params.iter().map(|p| 2 + p.value.len()).sum();
            w.field(2, 1, format!("Policy param length = {plen}"));
            for p in &sp.params {
                let mut text = if sp.prot_type == ProtType::SRTP {
                    format!("type {}", SrtpParamType(p.param_type))
                } else {
                    format!("type {}", p.param_type)
                };
                let _ = write!(text, ", length {}, value ", p.value.len());
                if p.value.is_empty() {
                    text.push_str("(empty)");
                } else {
                    text.push_str(&hex::encode(p.value));
                }
                w.field(2 + p.value.len(), 2, text);
            }
        }
        Payload::Sakke(s) => {
            w.head(0, "SAKKE (RFC 6509 s4.2)");
            w.next(next);
            sakke_body(w, s, 1);
        }
        Payload::GeneralExtension(g) => {
            w.head(0, "General Extension (RFC 3830 s6.15)");
            w.next(next);
            w.field(1, 1, format!("type = {}", g.ext_type));
            w.field(2, 1, format!("length = {}", g.data.len()));
            match g.sakke_to_self() {
                Some(Ok(s)) => {
                    w.head(1, "SAKKE-to-self: a SAKKE payload (TS 33.180 E.5)");
                    w.field(1, 2, "next payload (ignored)");
                    sakke_body(w, &s, 2);
                }
                _ => w.bytes(1, "data", g.data),
            }
        }
        Payload::Sign(s) => {
            w.head(0, "SIGN: signature (RFC 3830 s6.5, RFC 6509 s4.3)");
            w.field(
                2,
                1,
                format!(
                    "S type = {} (high 4 bits), Signature len = {}",
                    s.sig_type,
                    s.signature.len()
                ),
            );
            w.bytes(1, "Signature", s.signature);
        }
        Payload::Kemac(k) => {
            w.head(0, "KEMAC: key data transport (RFC 3830 s6.2)");
            w.next(next);
            w.field(1, 1, format!("Encr alg = {}", k.encr_alg));
            w.field(2, 1, format!("Encr data len = {}", k.encr_data.len()));
            w.bytes(1, "Encr data", k.encr_data);
            w.field(1, 1, format!("MAC alg = {}", k.mac_alg));
            w.bytes(1, "MAC", k.mac);
        }
        Payload::V(v) => {
            w.head(0, "V: verification (RFC 3830 s6.9)");
            w.next(next);
            w.field(1, 1, format!("Auth alg = {}", v.auth_alg));
            w.bytes(1, "Ver data", v.data);
        }
        Payload::Err(e) => {
            w.head(0, "ERR: error (RFC 3830 s6.12)");
            w.next(next);
            w.field(1, 1, format!("Error no = {}", e.error_no));
            w.field(2, 1, format!("reserved = 0x{:04x}", e.reserved));
        }
    }
}

fn sakke_body(w: &mut Writer, s: &Sakke<'_>, depth: u8) {
    w.field(1, depth, format!("SAKKE params = {}", s.params));
    w.field(1, depth, format!("ID scheme = {}", s.id_scheme));
    w.field(2, depth, format!("SAKKE data length = {}", s.data.len()));
    w.bytes(depth, "SAKKE data: Encapsulated Data R || H", s.data);
}

/// `YYYY-MM-DD hh:mm:ss UTC` for NTP seconds (since 1900-01-01 00:00 UTC).
fn ntp_date(ntp_secs: u64) -> String {
    let days = ntp_secs / 86_400;
    let rem = ntp_secs % 86_400;
    // Days since 1900-01-01 to a civil date: shift to days since 0000-03-01.
    let z = days + 693_901; // 1900-01-01 is day 693 901 counted from 0000-03-01
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::ntp_date;

    #[test]
    fn ntp_dates() {
        assert_eq!(ntp_date(0), "1900-01-01 00:00:00 UTC");
        // The Unix epoch is NTP 2 208 988 800.
        assert_eq!(ntp_date(2_208_988_800), "1970-01-01 00:00:00 UTC");
        assert_eq!(
            ntp_date(2_208_988_800 + 951_782_400),
            "2000-02-29 00:00:00 UTC"
        );
        assert_eq!(
            ntp_date(2_208_988_800 + 1_700_000_000),
            "2023-11-14 22:13:20 UTC"
        );
    }
}
