//! bench-serve's report: JSON for machines, markdown for the results directory.

use std::path::Path;

use anyhow::Context;
use arbiter_server::Limits;
use serde::Serialize;

use crate::cmd::bench::Machine;

#[derive(Serialize)]
pub struct Latency {
    pub requests: usize,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Serialize)]
pub struct Report {
    pub machine: Machine,
    pub data: String,
    pub bundle: String,
    pub alerts: usize,
    pub batch: usize,
    pub connections: usize,
    pub score_chunk: usize,
    pub write_chunk: usize,
    /// The shadow bundle scoring beside the model in the HTTP phases, if any.
    pub shadow: Option<String>,
    pub in_process_alerts_per_second: f64,
    pub http_alerts_per_second: f64,
    pub http_vs_in_process: f64,
    pub rejected_429: usize,
    pub single_idle: Latency,
    pub single_under_load: Latency,
    pub decision_idle: Latency,
    pub decision_under_load: Latency,
    pub alert_read_idle: Latency,
    pub alert_read_under_load: Latency,
    pub queue_read_under_load: Latency,
    pub background_alerts_during_load: usize,
    pub peak_rss_mib: Option<f64>,
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub fn latency(mut ms: Vec<f64>) -> Latency {
    ms.sort_by(f64::total_cmp);
    Latency {
        requests: ms.len(),
        p50_ms: percentile(&ms, 0.5),
        p90_ms: percentile(&ms, 0.9),
        p99_ms: percentile(&ms, 0.99),
        max_ms: ms.last().copied().unwrap_or(f64::NAN),
    }
}

pub fn write(out: &Path, r: &Report) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let d = Limits::default();
    let mut name = if r.write_chunk == d.write_chunk && r.score_chunk == d.score_chunk {
        "bench-serve".to_string()
    } else {
        format!("bench-serve-score{}-write{}", r.score_chunk, r.write_chunk)
    };
    if r.shadow.is_some() {
        name.push_str("-shadow");
    }
    std::fs::write(
        out.join(format!("{name}.json")),
        serde_json::to_string_pretty(r)?,
    )?;
    let lat = |l: &Latency| {
        format!(
            "| {} | {:.1} | {:.1} | {:.1} | {:.1} |",
            l.requests, l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms
        )
    };
    let mut md = format!(
        "# Benchmark: `arbiter serve` under load on loopback\n\n{}\n\n\
         Data: `{}` (bundle `{}`); each phase on a fresh database. Client: hyper on the same \
         machine, so client and server share the two cores. Command: `arbiter bench-serve \
         --model … --data … --out …` (defaults unless stated).\n\n\
         ## Sustained ingest\n\n{} alerts, NDJSON batches of {} (one Idempotency-Key each), {} \
         connections; the server scores {} alerts at a time without the writer \
         (`--score-chunk`), then decides and records {} per turn of the writer \
         (`--write-chunk`).\n\n\
         | path | alerts/s | ratio |\n|---|---:|---:|\n\
         | in-process triage (ledger and engine, same alerts and batches, no HTTP) | {:.0} | 1.00 |\n\
         | HTTP `POST /api/v1/alerts` | {:.0} | {:.2} |\n\n\
         429 answers (retried after 100 ms): {}.\n\n\
         ## Latency, one request at a time, timed at the client\n\n\
         *Under load*: two other connections keep posting batches of {} alerts ({} alerts \
         meanwhile). An ingest answer carries the decision (scored, explained, decided, audited \
         with fsync, stored); a decision is an analyst's override (rules checked, audited with \
         fsync, stored as a compare-and-set); reads use the store's read side and the audit \
         reader, never the writer.\n\n\
         | request | phase | requests | p50 ms | p90 ms | p99 ms | max ms |\n\
         |---|---|---:|---:|---:|---:|---:|\n\
         | single-alert ingest | idle {}\n\
         | single-alert ingest | under load {}\n\
         | analyst decision (`POST /api/v1/alerts/{{id}}/decision`) | idle {}\n\
         | analyst decision | under load {}\n\
         | alert page data (`GET /api/v1/alerts/{{id}}`, with timeline) | idle {}\n\
         | alert page data | under load {}\n\
         | queue (`GET /api/v1/queue?limit=50`) | under load {}\n\n\
         Peak resident memory of the process (server, client and baseline): {} MiB.\n",
        r.machine.line(),
        r.data,
        r.bundle,
        r.alerts,
        r.batch,
        r.connections,
        r.score_chunk,
        r.write_chunk,
        r.in_process_alerts_per_second,
        r.http_alerts_per_second,
        r.http_vs_in_process,
        r.rejected_429,
        r.batch,
        r.background_alerts_during_load,
        lat(&r.single_idle),
        lat(&r.single_under_load),
        lat(&r.decision_idle),
        lat(&r.decision_under_load),
        lat(&r.alert_read_idle),
        lat(&r.alert_read_under_load),
        lat(&r.queue_read_under_load),
        r.peak_rss_mib.map_or("n/a".into(), |m| format!("{m:.0}")),
    );
    if let Some(sh) = &r.shadow {
        md = md.replacen(
            "\n\n## Sustained ingest",
            &format!(
                "\n\nA shadow (`{sh}`) scores every alert beside the model in every HTTP phase \
                 (in parallel; its decisions are recorded, never acted on); the in-process \
                 baseline runs without it.\n\n## Sustained ingest"
            ),
            1,
        );
    }
    std::fs::write(out.join(format!("{name}.md")), &md)?;
    print!("{md}");
    Ok(())
}
