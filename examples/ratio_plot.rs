//! Draws the performance plot of docs/performance.md from a side-by-side run: for every
//! operation of the speed issue, our time divided by wolfSSL 5.9.4's, measured in the same run
//! by `../shared/bench/wolfssl/side-by-side.sh`, with the issue's target, on a logarithmic axis.
//!
//! ```text
//! WOLF_BENCH=/path/to/wolfbench MS_BIN=target/release/mikey-sakke OUT_DIR=sbs \
//!     bash ../shared/bench/wolfssl/side-by-side.sh 4
//! cargo run --release --example ratio_plot -- docs/ratios.svg sbs/summary.json
//! ```
//!
//! The input is the `summary.json` the script writes: per operation the median over the rounds
//! of each side's per-round median, and their ratio. The targets are those of issue #21
//! (three times wolfSSL's speed on the SAKKE rows, and so on).
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Plot coordinates: small row indices as f64 and back.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)]

use plotters::prelude::*;

/// (operation name in both benchmarks, label, target for ours / wolfSSL).
const OPS: &[(&str, &str, f64)] = &[
    ("pairing", "pairing", 0.33),
    ("pairing_precomputed", "pairing, RSK table", 0.33),
    (
        "sakke_decapsulate",
        "decapsulate, nothing precomputed",
        0.33,
    ),
    (
        "sakke_decapsulate_precomputed",
        "decapsulate, RSK + identity tables",
        0.25,
    ),
    (
        "sakke_encapsulate_no_tables",
        "encapsulate, no tables",
        0.33,
    ),
    (
        "sakke_encapsulate_precomputed",
        "encapsulate, repeat recipient",
        0.33,
    ),
    ("sakke_rsk_issue", "RSK issue", 0.25),
    ("sakke_rsk_validate", "RSK validation", 0.25),
    ("sakke_kms_keygen", "KMS key generation", 0.25),
    ("eccsi_sign", "ECCSI sign", 0.60),
    ("eccsi_verify", "ECCSI verify, known signer", 0.50),
    ("eccsi_verify_new_signer", "ECCSI verify, new signer", 0.50),
];

/// The `ours_over_wolf` of each row of a side-by-side `summary.json` (written by Python's
/// `json.dump` with an indent: one key per line).
fn parse(text: &str) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    let mut op = None;
    for line in text.lines() {
        let line = line.trim().trim_end_matches(',');
        if let Some(v) = line.strip_prefix("\"op\": ") {
            op = Some(v.trim_matches('"').to_string());
        } else if let Some(v) = line.strip_prefix("\"ours_over_wolf\": ")
            && let (Some(o), Ok(r)) = (op.take(), v.parse::<f64>())
        {
            out.push((o, r));
        }
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [out, input] = args.as_slice() else {
        panic!("usage: ratio_plot OUT.svg SIDE-BY-SIDE/summary.json");
    };
    let measured = parse(&std::fs::read_to_string(input).expect("read the summary"));
    let rows: Vec<(&str, f64, f64)> = OPS
        .iter()
        .filter_map(|&(op, label, target)| {
            let r = measured.iter().find(|(o, _)| o == op)?.1;
            Some((label, r, target))
        })
        .collect();
    assert!(!rows.is_empty(), "no operation of the issue in {input}");
    let n = rows.len();
    let root = SVGBackend::new(out.as_str(), (900, 70 + 36 * u32::try_from(n).unwrap()))
        .into_drawing_area();
    root.fill(&WHITE).unwrap();
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "mikey-sakke time / wolfSSL 5.9.4 time, side by side (log scale; lower is better)",
            ("sans-serif", 17),
        )
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(260)
        .build_cartesian_2d((0.1f64..4f64).log_scale(), -0.5f64..n as f64 - 0.5)
        .unwrap();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n)
        .label_style(("sans-serif", 14))
        .y_label_formatter(&|y| {
            let i = y.round();
            if (y - i).abs() < 0.01 && i >= 0.0 && (i as usize) < n {
                rows[n - 1 - i as usize].0.to_string()
            } else {
                String::new()
            }
        })
        .x_label_formatter(&|x| format!("{x}"))
        .draw()
        .unwrap();

    let ours = RGBColor(31, 119, 180);
    let wolf = RGBColor(120, 120, 120);
    let target = RGBColor(214, 39, 40);
    let y_of = |row: usize| (n - 1 - row) as f64;
    chart
        .draw_series(rows.iter().enumerate().map(|(i, r)| {
            let y = y_of(i);
            Rectangle::new([(0.1, y - 0.3), (r.1, y + 0.3)], ours.filled())
        }))
        .unwrap()
        .label("mikey-sakke / wolfSSL")
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], ours.filled()));
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(1.0, -0.5), (1.0, n as f64 - 0.5)],
            wolf.stroke_width(2),
        )))
        .unwrap()
        .label("wolfSSL (1.0)")
        .legend(move |(x, y)| {
            PathElement::new(vec![(x + 7, y - 6), (x + 7, y + 6)], wolf.stroke_width(2))
        });
    chart
        .draw_series(rows.iter().enumerate().map(|(i, r)| {
            let y = y_of(i);
            PathElement::new(
                vec![(r.2, y - 0.45), (r.2, y + 0.45)],
                target.stroke_width(3),
            )
        }))
        .unwrap()
        .label("target")
        .legend(move |(x, y)| {
            PathElement::new(vec![(x + 7, y - 6), (x + 7, y + 6)], target.stroke_width(3))
        });
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .unwrap();
    root.present().unwrap();
    for (label, r, t) in &rows {
        let met = if r <= t { "met" } else { "missed" };
        println!("{label}: {r:.2} (target {t}, {met})");
    }
    println!("wrote {out}");
}
