//! Counters of the KMS service in the Prometheus text exposition format (version 0.0.4),
//! served at `GET /metrics` on the metrics listener.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency histogram, in seconds.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The lowest and highest HTTP status counted one by one.
const STATUS_MIN: u16 = 100;
const STATUS_COUNT: usize = 500;

/// The server's counters (all monotonic except the two gauges).
#[derive(Debug)]
pub struct Metrics {
    by_status: Vec<AtomicU64>,
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_us: AtomicU64,
    issued: AtomicU64,
    served: AtomicU64,
    connections_open: AtomicU64,
    connections_total: AtomicU64,
    connections_rejected: AtomicU64,
    in_flight: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// All counters at zero.
    pub fn new() -> Self {
        Self {
            by_status: (0..STATUS_COUNT).map(|_| AtomicU64::new(0)).collect(),
            buckets: Default::default(),
            latency_count: AtomicU64::new(0),
            latency_sum_us: AtomicU64::new(0),
            issued: AtomicU64::new(0),
            served: AtomicU64::new(0),
            connections_open: AtomicU64::new(0),
            connections_total: AtomicU64::new(0),
            connections_rejected: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
        }
    }

    /// Counts one answered request.
    pub fn request(&self, status: u16, latency: Duration, issued: u64, served: u64) {
        let i = usize::from(status.saturating_sub(STATUS_MIN));
        if let Some(c) = self.by_status.get(i) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        let secs = latency.as_secs_f64();
        for (b, le) in self.buckets.iter().zip(LATENCY_BUCKETS) {
            if secs <= le {
                b.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency_sum_us.fetch_add(us, Ordering::Relaxed);
        self.issued.fetch_add(issued, Ordering::Relaxed);
        self.served.fetch_add(served, Ordering::Relaxed);
    }

    /// Counts requests answered with `status` so far.
    pub fn requests_with_status(&self, status: u16) -> u64 {
        let i = usize::from(status.saturating_sub(STATUS_MIN));
        self.by_status
            .get(i)
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// Key sets newly issued so far.
    pub fn issued(&self) -> u64 {
        self.issued.load(Ordering::Relaxed)
    }

    /// Key sets returned so far.
    pub fn served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }

    pub(crate) fn connection_opened(&self) {
        self.connections_open.fetch_add(1, Ordering::Relaxed);
        self.connections_total.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn connection_closed(&self) {
        self.connections_open.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn connection_rejected(&self) {
        self.connections_rejected.fetch_add(1, Ordering::Relaxed);
    }

    /// Connections refused because the connection limit was reached.
    pub fn connections_rejected(&self) -> u64 {
        self.connections_rejected.load(Ordering::Relaxed)
    }

    pub(crate) fn call_started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn call_finished(&self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    /// The Prometheus text format.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# HELP kms_http_requests_total HTTP requests answered, by status.\n# TYPE kms_http_requests_total counter"
        );
        for (i, c) in self.by_status.iter().enumerate() {
            let n = c.load(Ordering::Relaxed);
            if n > 0 {
                let status = usize::from(STATUS_MIN) + i;
                let _ = writeln!(s, "kms_http_requests_total{{status=\"{status}\"}} {n}");
            }
        }
        let _ = writeln!(
            s,
            "# HELP kms_http_request_duration_seconds Time from request to response.\n# TYPE kms_http_request_duration_seconds histogram"
        );
        for (b, le) in self.buckets.iter().zip(LATENCY_BUCKETS) {
            let _ = writeln!(
                s,
                "kms_http_request_duration_seconds_bucket{{le=\"{le}\"}} {}",
                b.load(Ordering::Relaxed)
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let sum = self.latency_sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(
            s,
            "kms_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}\nkms_http_request_duration_seconds_sum {sum}\nkms_http_request_duration_seconds_count {count}"
        );
        let counters = [
            (
                "kms_key_sets_issued_total",
                "Key sets newly issued.",
                &self.issued,
                "counter",
            ),
            (
                "kms_key_sets_served_total",
                "Key sets returned (issued now or before).",
                &self.served,
                "counter",
            ),
            (
                "kms_connections_total",
                "Connections accepted.",
                &self.connections_total,
                "counter",
            ),
            (
                "kms_connections_rejected_total",
                "Connections closed at once at the connection limit.",
                &self.connections_rejected,
                "counter",
            ),
            (
                "kms_connections_open",
                "Connections open now.",
                &self.connections_open,
                "gauge",
            ),
            (
                "kms_requests_in_flight",
                "Service calls in progress now.",
                &self.in_flight,
                "gauge",
            ),
        ];
        for (name, help, value, kind) in counters {
            let _ = writeln!(
                s,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}",
                value.load(Ordering::Relaxed)
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_and_histogram() {
        let m = Metrics::new();
        m.request(200, Duration::from_millis(3), 1, 1);
        m.request(200, Duration::from_millis(30), 0, 1);
        m.request(503, Duration::from_micros(10), 0, 0);
        let text = m.render();
        assert!(
            text.contains("kms_http_requests_total{status=\"200\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("kms_http_requests_total{status=\"503\"} 1\n"));
        assert!(text.contains("kms_http_request_duration_seconds_bucket{le=\"0.005\"} 2\n"));
        assert!(text.contains("kms_http_request_duration_seconds_bucket{le=\"0.05\"} 3\n"));
        assert!(text.contains("kms_http_request_duration_seconds_count 3\n"));
        assert!(text.contains("kms_key_sets_issued_total 1\n"));
        assert!(text.contains("kms_key_sets_served_total 2\n"));
        assert_eq!(m.requests_with_status(200), 2);
    }
}
