//! Draws the README's performance plot: for every operation of the speed issue, our time and
//! wolfSSL's as multiples of OpenSSL's P-256 verification (measured in the same run as ours),
//! and the target, on a logarithmic axis.
//!
//! ```text
//! for i in 1 2 3; do cargo run --release -- bench --json > bench$i.jsonl; done
//! cargo run --release --example ratio_plot -- docs/ratios.svg bench1.jsonl bench2.jsonl bench3.jsonl
//! ```
//!
//! Each input is the output of one `mikey-sakke bench --json` run (with its
//! `openssl_ecdsap256_verify` line); each operation's ratio is taken within its run, and the
//! plot shows the median over the runs. The wolfSSL ratios and the targets are those of the
//! speed issue (wolfSSL 5.9.4, best build, on the project's 2-core AMD EPYC machines).
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Plot coordinates: small row indices as f64 and back.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)]

use plotters::prelude::*;

/// (bench name, label, wolfSSL / OpenSSL verify, target).
const OPS: &[(&str, &str, f64, f64)] = &[
    ("pairing", "pairing", 97.0, 48.0),
    ("pairing_precomputed", "pairing, RSK table", 41.0, 20.0),
    ("sakke_decapsulate", "decapsulate", 138.0, 69.0),
    (
        "sakke_decapsulate_precomputed",
        "decapsulate, client tables",
        52.0,
        26.0,
    ),
    (
        "sakke_encapsulate",
        "encapsulate, new recipient",
        53.0,
        27.0,
    ),
    (
        "sakke_encapsulate_precomputed",
        "encapsulate, repeat recipient",
        20.0,
        10.0,
    ),
    ("sakke_rsk_issue", "RSK issue", 15.0, 7.6),
    ("sakke_rsk_validate", "RSK validation", 101.0, 50.0),
    ("sakke_kms_keygen", "KMS key generation", 14.0, 6.8),
    ("eccsi_sign", "ECCSI sign", 0.44, 0.44),
    ("eccsi_verify", "ECCSI verify", 2.7, 2.7),
];

fn parse(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter_map(|l| {
            let op = l.split("\"op\": \"").nth(1)?.split('"').next()?;
            let ns = l.split("\"ns\": ").nth(1)?.trim_end_matches('}').trim();
            Some((op.to_string(), ns.parse().ok()?))
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (out, inputs) = args
        .split_first()
        .filter(|(_, rest)| !rest.is_empty())
        .expect("usage: ratio_plot OUT.svg BENCH.jsonl...");
    let runs: Vec<Vec<(String, f64)>> = inputs
        .iter()
        .map(|f| parse(&std::fs::read_to_string(f).expect("read the bench output")))
        .collect();
    // The median over the runs of op / yardstick, each ratio taken within one run.
    let ratio = |name: &str| -> Option<f64> {
        let mut r: Vec<f64> = runs
            .iter()
            .filter_map(|run| {
                let ns = |n: &str| run.iter().find(|(op, _)| op == n).map(|&(_, v)| v);
                Some(ns(name)? / ns("openssl_ecdsap256_verify")?)
            })
            .collect();
        r.sort_by(f64::total_cmp);
        (!r.is_empty()).then(|| r[r.len() / 2])
    };

    let rows: Vec<(&str, f64, f64, f64)> = OPS
        .iter()
        .filter_map(|&(op, label, wolf, target)| Some((label, ratio(op)?, wolf, target)))
        .collect();
    assert!(
        !rows.is_empty(),
        "no operation with a yardstick in the inputs"
    );
    let n = rows.len();
    let root = SVGBackend::new(out.as_str(), (900, 60 + 42 * u32::try_from(n).unwrap()))
        .into_drawing_area();
    root.fill(&WHITE).unwrap();
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "time / OpenSSL P-256 verify (log scale; lower is better)",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(230)
        .build_cartesian_2d((0.2f64..300f64).log_scale(), -0.5f64..n as f64 - 0.5)
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
    let wolf = RGBColor(160, 160, 160);
    let target = RGBColor(214, 39, 40);
    let bar = |row: usize, off: f64, value: f64, color: RGBColor| {
        let y = (n - 1 - row) as f64 - 0.5;
        Rectangle::new([(0.2, y + off), (value, y + off + 0.3)], color.filled())
    };
    chart
        .draw_series(rows.iter().enumerate().map(|(i, r)| bar(i, 0.5, r.1, ours)))
        .unwrap()
        .label("mikey-sakke")
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], ours.filled()));
    chart
        .draw_series(
            rows.iter()
                .enumerate()
                .map(|(i, r)| bar(i, 0.15, r.2, wolf)),
        )
        .unwrap()
        .label("wolfSSL 5.9.4")
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], wolf.filled()));
    chart
        .draw_series(rows.iter().enumerate().map(|(i, r)| {
            let y = (n - 1 - i) as f64 - 0.5;
            PathElement::new(
                vec![(r.3, y + 0.05), (r.3, y + 0.95)],
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
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .unwrap();
    root.present().unwrap();
    for (label, r, w, t) in &rows {
        println!("{label}: ours {r:.2}, wolfSSL {w}, target {t}");
    }
    println!("wrote {out}");
}
