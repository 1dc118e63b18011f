//! Prometheus counters, rendered by hand in the text exposition format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Buckets (seconds) for time-to-decision: from a minute to a day.
const TTD_BUCKETS: [f64; 8] = [
    60.0,
    300.0,
    900.0,
    3600.0,
    4.0 * 3600.0,
    8.0 * 3600.0,
    86400.0,
    f64::INFINITY,
];
/// Buckets (seconds) for ingest-to-decision latency.
const LATENCY_BUCKETS: [f64; 9] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, f64::INFINITY];

#[derive(Debug, Default)]
pub struct Metrics {
    pub ingested: AtomicU64,
    pub duplicates: AtomicU64,
    pub rejected_lines: AtomicU64,
    pub backpressure: AtomicU64,
    pub denied: AtomicU64,
    /// Per tier, per human decision kind, per HTTP status class.
    counts: Mutex<BTreeMap<(&'static str, String), u64>>,
    ttd: Mutex<Histogram>,
    latency: Mutex<Histogram>,
}

#[derive(Debug, Default)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    n: u64,
}

impl Histogram {
    fn observe(&mut self, buckets: &[f64], v: f64) {
        if self.counts.is_empty() {
            self.counts = vec![0; buckets.len()];
        }
        for (c, b) in self.counts.iter_mut().zip(buckets) {
            if v <= *b {
                *c += 1;
            }
        }
        self.sum += v;
        self.n += 1;
    }

    fn render(&self, out: &mut String, name: &str, buckets: &[f64]) {
        for (i, b) in buckets.iter().enumerate() {
            let le = if b.is_infinite() {
                "+Inf".to_string()
            } else {
                b.to_string()
            };
            let c = self.counts.get(i).copied().unwrap_or(0);
            let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {c}");
        }
        let _ = writeln!(out, "{name}_sum {}", self.sum);
        let _ = writeln!(out, "{name}_count {}", self.n);
    }
}

impl Metrics {
    pub fn count(&self, family: &'static str, label: &str) {
        *self
            .counts
            .lock()
            .expect("metrics lock")
            .entry((family, label.to_string()))
            .or_default() += 1;
    }

    pub fn time_to_decision(&self, seconds: f64) {
        self.ttd
            .lock()
            .expect("metrics lock")
            .observe(&TTD_BUCKETS, seconds);
    }

    pub fn ingest_latency(&self, seconds: f64) {
        self.latency
            .lock()
            .expect("metrics lock")
            .observe(&LATENCY_BUCKETS, seconds);
    }

    /// The exposition text; `gauges` are point-in-time values read by the caller.
    pub fn render(&self, gauges: &[(&str, &str, f64)]) -> String {
        let mut out = String::new();
        let simple = [
            (
                "arbiter_alerts_ingested_total",
                "alerts accepted over HTTP and triaged",
                &self.ingested,
            ),
            (
                "arbiter_alerts_duplicate_total",
                "alerts resubmitted with a key already stored",
                &self.duplicates,
            ),
            (
                "arbiter_ingest_rejected_lines_total",
                "ingest lines refused as malformed",
                &self.rejected_lines,
            ),
            (
                "arbiter_ingest_backpressure_total",
                "ingest requests answered 429 because the queue was full",
                &self.backpressure,
            ),
            (
                "arbiter_denied_total",
                "requests refused for missing authority (all audited)",
                &self.denied,
            ),
        ];
        for (name, help, v) in simple {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            let _ = writeln!(out, "{name} {}", v.load(Ordering::Relaxed));
        }
        let families = [
            (
                "arbiter_decisions_total",
                "tier",
                "policy decisions on ingested alerts, by tier",
            ),
            (
                "arbiter_human_decisions_total",
                "kind",
                "analyst decisions, by kind",
            ),
            (
                "arbiter_http_responses_total",
                "class",
                "HTTP responses, by status class",
            ),
        ];
        let counts = self.counts.lock().expect("metrics lock");
        for (family, label, help) in families {
            let _ = writeln!(out, "# HELP {family} {help}\n# TYPE {family} counter");
            for ((f, l), n) in counts.iter() {
                if *f == family {
                    let _ = writeln!(out, "{family}{{{label}=\"{l}\"}} {n}");
                }
            }
        }
        drop(counts);
        let name = "arbiter_time_to_decision_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} from an alert's arrival to an analyst's decision\n# TYPE {name} histogram"
        );
        self.ttd
            .lock()
            .expect("metrics lock")
            .render(&mut out, name, &TTD_BUCKETS);
        let name = "arbiter_ingest_to_decision_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} from receiving an ingest request to its alerts being decided, audited and stored\n# TYPE {name} histogram"
        );
        self.latency
            .lock()
            .expect("metrics lock")
            .render(&mut out, name, &LATENCY_BUCKETS);
        for (name, help, v) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_counters_render_with_labels() {
        let m = Metrics::default();
        m.ingest_latency(0.003);
        m.ingest_latency(0.2);
        m.count("arbiter_decisions_total", "auto");
        m.count("arbiter_decisions_total", "auto");
        let text = m.render(&[("arbiter_queue_open", "open alerts", 3.0)]);
        assert!(
            text.contains("arbiter_ingest_to_decision_seconds_bucket{le=\"0.005\"} 1"),
            "{text}"
        );
        assert!(text.contains("arbiter_ingest_to_decision_seconds_bucket{le=\"0.25\"} 2"));
        assert!(text.contains("arbiter_ingest_to_decision_seconds_count 2"));
        assert!(text.contains("arbiter_decisions_total{tier=\"auto\"} 2"));
        assert!(text.contains("arbiter_queue_open 3"));
    }
}
