//! `arbiter bench-serve`: the server under load over loopback. Sustained HTTP ingest rate
//! (batches from several connections) against the same alerts triaged in-process in the same
//! run, and the latency of single-alert ingest-to-decision, idle and under batch load. Not a
//! test: numbers depend on the machine, which the report describes.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use arbiter_core::FieldRole;
use arbiter_ingest::{OnError, Record, Source, Value};
use arbiter_model::Model;
use arbiter_server::{App, Limits, Paths};
use arbiter_store::{SqliteStore, Tokens};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;

use super::bench::{Machine, first_line_with, kib, machine};

#[derive(clap::Args)]
pub struct Args {
    /// Model bundle directory
    #[arg(long)]
    pub model: PathBuf,
    /// Alerts to send (read with the bundle's schema)
    #[arg(long)]
    pub data: PathBuf,
    /// Policy file (YAML)
    #[arg(long, default_value = "policies/default.yaml")]
    pub policy: PathBuf,
    /// Directory for bench-serve.json and bench-serve.md (bench-serve-chunkN.* for a non-default --write-chunk)
    #[arg(long)]
    pub out: PathBuf,
    /// Alerts for the sustained-ingest phase (at most the file's rows)
    #[arg(long, default_value_t = 20_000)]
    pub alerts: usize,
    /// Alerts per ingest request in the sustained phase
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// Concurrent connections in the sustained phase
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Single-alert requests timed, one after another, on the idle server
    #[arg(long, default_value_t = 1000)]
    pub singles: usize,
    /// Alerts the server's writer triages at a time (the server's --write-chunk)
    #[arg(long, default_value_t = Limits::default().write_chunk)]
    pub write_chunk: usize,
    /// Single-alert requests timed while batches keep the writer busy (each waits for a batch)
    #[arg(long, default_value_t = 100)]
    pub singles_under_load: usize,
}

#[derive(Serialize)]
struct Latency {
    requests: usize,
    p50_ms: f64,
    p90_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

#[derive(Serialize)]
struct Report {
    machine: Machine,
    data: String,
    bundle: String,
    alerts: usize,
    batch: usize,
    connections: usize,
    write_chunk: usize,
    in_process_alerts_per_second: f64,
    http_alerts_per_second: f64,
    http_vs_in_process: f64,
    rejected_429: usize,
    single_idle: Latency,
    single_under_load: Latency,
    background_alerts_during_load: usize,
    peak_rss_mib: Option<f64>,
}

/// A record back as the JSON object a forwarder would send: field name → value.
fn to_json(model: &Model, r: &Record) -> serde_json::Value {
    let mut obj = serde_json::Map::new();
    for (f, v) in model.schema.features().zip(&r.features) {
        let j = match v {
            Value::Num(x) => serde_json::json!(x),
            Value::Cat(s) => serde_json::json!(s),
            Value::Missing => serde_json::Value::Null,
        };
        obj.insert(f.name.clone(), j);
    }
    for (k, v) in &r.ids {
        obj.insert(k.clone(), serde_json::json!(v));
    }
    if let (Some(ms), Some(f)) = (
        r.time_ms,
        model
            .schema
            .fields
            .iter()
            .find(|f| f.role == FieldRole::Timestamp),
    ) && let Some(t) = chrono::DateTime::from_timestamp_millis(ms)
    {
        obj.insert(f.name.clone(), serde_json::json!(t.to_rfc3339()));
    }
    serde_json::Value::Object(obj)
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn latency(mut ms: Vec<f64>) -> Latency {
    ms.sort_by(f64::total_cmp);
    Latency {
        requests: ms.len(),
        p50_ms: percentile(&ms, 0.5),
        p90_ms: percentile(&ms, 0.9),
        p99_ms: percentile(&ms, 0.99),
        max_ms: ms.last().copied().unwrap_or(f64::NAN),
    }
}

/// A fresh server state in `dir` with an ingest token.
fn fresh(args: &Args, dir: &Path) -> anyhow::Result<(App, String)> {
    let db = dir.join("arbiter.db");
    let token = arbiter_server::new_token();
    SqliteStore::open(&db)?.create_token(
        "bench",
        "ingest",
        &arbiter_server::token_hash(&token),
        &chrono::Utc::now().to_rfc3339(),
    )?;
    let paths = Paths {
        db,
        audit: None,
        model: args.model.clone(),
        policy: args.policy.clone(),
        cases: None,
    };
    let limits = Limits {
        queue_capacity: 1_000_000,
        write_chunk: args.write_chunk,
        ..Limits::default()
    };
    Ok((App::open(&paths, limits, Duration::from_secs(60))?, token))
}

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// Posts one body; returns the status.
async fn post(
    client: &HttpClient,
    addr: SocketAddr,
    token: &str,
    ctype: &str,
    body: Bytes,
) -> anyhow::Result<u16> {
    let req = hyper::Request::post(format!("http://{addr}/api/v1/alerts"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", ctype)
        .body(Full::new(body))?;
    let resp = client.request(req).await?;
    let status = resp.status().as_u16();
    resp.into_body().collect().await?;
    Ok(status)
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let model = Model::load(&args.model)?;
    let mut source = Source::open(&model.schema, &args.data, OnError::Skip)?;
    let needed = args.alerts + args.singles + args.singles_under_load;
    let records = source.next_chunk(needed)?;
    if records.len() < needed {
        bail!(
            "{} holds {} rows; the run needs {needed} ({} sustained + {} + {} singles)",
            args.data.display(),
            records.len(),
            args.alerts,
            args.singles,
            args.singles_under_load
        );
    }
    let lines: Vec<Bytes> = records
        .iter()
        .map(|r| Bytes::from(format!("{}\n", to_json(&model, r))))
        .collect();
    let (bulk, rest) = lines.split_at(args.alerts);
    let (idle_singles, load_singles) = rest.split_at(args.singles);
    let load_singles = &load_singles[..args.singles_under_load];
    let work = tempfile::tempdir()?;

    // Baseline: the same alerts triaged in-process, no HTTP.
    eprintln!(
        "bench-serve: {} alerts in-process (the baseline)",
        args.alerts
    );
    let base_dir = work.path().join("inproc");
    std::fs::create_dir_all(&base_dir)?;
    let (base, _) = fresh(&args, &base_dir)?;
    let model_s = base.model();
    let recs: Vec<Record> = arbiter_ingest::parse_ndjson(&model_s.schema, "bench", bulk.concat())
        .into_iter()
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let started = Instant::now();
    {
        let mut core = base.0.core.blocking_lock();
        for (i, chunk) in recs.chunks(args.batch).enumerate() {
            let batch = chunk
                .iter()
                .cloned()
                .map(|record| arbiter_triage::Incoming {
                    key: format!("bench:{i}:{}", record.line),
                    record,
                })
                .collect();
            core.triage(batch, &format!("bench-{i}"))
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
    }
    let in_process = args.alerts as f64 / started.elapsed().as_secs_f64();
    eprintln!("bench-serve: in-process {in_process:.0} alerts/s");
    drop(base);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = rt.block_on(async {
        let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();

        // Sustained ingest over HTTP.
        eprintln!(
            "bench-serve: {} alerts over HTTP, batches of {} on {} connections",
            args.alerts, args.batch, args.connections
        );
        let dir = work.path().join("sustained");
        std::fs::create_dir_all(&dir)?;
        let (app, token) = fresh(&args, &dir)?;
        let (addr, stop, server) = start(app).await?;
        let batches: Vec<Bytes> = bulk
            .chunks(args.batch)
            .map(|c| Bytes::from(c.concat()))
            .collect();
        let queue = std::sync::Arc::new(std::sync::Mutex::new(batches));
        let started = Instant::now();
        let mut workers = Vec::new();
        for _ in 0..args.connections {
            let (q, c, t) = (queue.clone(), client.clone(), token.clone());
            workers.push(tokio::spawn(async move {
                let mut rejected = 0usize;
                loop {
                    let Some(b) = q.lock().expect("queue").pop() else {
                        break;
                    };
                    loop {
                        match post(&c, addr, &t, "application/x-ndjson", b.clone()).await? {
                            200 => break,
                            429 => {
                                rejected += 1;
                                tokio::time::sleep(Duration::from_millis(100)).await;
                            }
                            s => bail!("ingest answered {s}"),
                        }
                    }
                }
                anyhow::Ok(rejected)
            }));
        }
        let mut rejected = 0;
        for w in workers {
            rejected += w.await??;
        }
        let http_rate = args.alerts as f64 / started.elapsed().as_secs_f64();
        eprintln!("bench-serve: over HTTP {http_rate:.0} alerts/s");
        let _ = stop.send(());
        server.await??;

        // Single alerts, server otherwise idle.
        eprintln!("bench-serve: {} single alerts, idle server", args.singles);
        let dir = work.path().join("idle");
        std::fs::create_dir_all(&dir)?;
        let (app, token) = fresh(&args, &dir)?;
        let (addr, stop, server) = start(app).await?;
        let mut idle = Vec::with_capacity(args.singles);
        for line in idle_singles {
            let t0 = Instant::now();
            let s = post(&client, addr, &token, "application/json", line.clone()).await?;
            anyhow::ensure!(s == 200, "single ingest answered {s}");
            idle.push(t0.elapsed().as_secs_f64() * 1000.0);
        }

        // Single alerts while two connections keep pushing batches.
        eprintln!(
            "bench-serve: {} single alerts under batch load",
            args.singles
        );
        let busy = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let mut load = Vec::new();
        for k in 0..2 {
            let (c, t, b) = (client.clone(), token.clone(), busy.clone());
            let body = Bytes::from(bulk[k * args.batch..(k + 1) * args.batch].concat());
            load.push(tokio::spawn(async move {
                let mut sent = 0usize;
                // Bounded: stops when the timed requests are done, or after 10,000 batches.
                while b.load(std::sync::atomic::Ordering::SeqCst) && sent < 10_000 {
                    if post(&c, addr, &t, "application/x-ndjson", body.clone()).await? == 200 {
                        sent += 1;
                    }
                }
                anyhow::Ok(sent)
            }));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut under = Vec::with_capacity(args.singles_under_load);
        for line in load_singles {
            let t0 = Instant::now();
            let s = post(&client, addr, &token, "application/json", line.clone()).await?;
            anyhow::ensure!(s == 200, "single ingest answered {s}");
            under.push(t0.elapsed().as_secs_f64() * 1000.0);
        }
        busy.store(false, std::sync::atomic::Ordering::SeqCst);
        let mut background = 0;
        for l in load {
            background += l.await?? * args.batch;
        }
        let _ = stop.send(());
        server.await??;
        anyhow::Ok(Report {
            machine: machine(),
            data: args.data.display().to_string(),
            bundle: model.id.clone(),
            alerts: args.alerts,
            batch: args.batch,
            connections: args.connections,
            write_chunk: args.write_chunk,
            in_process_alerts_per_second: in_process,
            http_alerts_per_second: http_rate,
            http_vs_in_process: http_rate / in_process,
            rejected_429: rejected,
            single_idle: latency(idle),
            single_under_load: latency(under),
            background_alerts_during_load: background,
            peak_rss_mib: kib(first_line_with("/proc/self/status", "VmHWM")).map(|k| k / 1024.0),
        })
    })?;
    write(&args.out, &report)
}

type Started = (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
);

async fn start(app: App) -> anyhow::Result<Started> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(arbiter_server::serve(listener, app, async move {
        let _ = rx.await;
    }));
    Ok((addr, tx, server))
}

fn write(out: &Path, r: &Report) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let name = if r.write_chunk == Limits::default().write_chunk {
        "bench-serve".to_string()
    } else {
        format!("bench-serve-chunk{}", r.write_chunk)
    };
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
    let md = format!(
        "# Benchmark: `arbiter serve` under load on loopback\n\n{}\n\n\
         Data: `{}` (bundle `{}`); each phase on a fresh database. Client: hyper on the same \
         machine, so client and server share the two cores.\n\n\
         ## Sustained ingest\n\n{} alerts, NDJSON batches of {}, {} connections; the server's \
         writer takes {} alerts at a time (`--write-chunk`).\n\n\
         | path | alerts/s | ratio |\n|---|---:|---:|\n\
         | in-process triage (same alerts, same batches, no HTTP) | {:.0} | 1.00 |\n\
         | HTTP `POST /api/v1/alerts` | {:.0} | {:.2} |\n\n\
         429 answers (retried after 100 ms): {}.\n\n\
         ## Single-alert ingest-to-decision latency\n\n\
         One alert per request (`application/json`), one request at a time, timed at the client \
         from sending to the answer carrying the decision (scored, explained, decided, audited \
         with fsync, stored).\n\n\
         | phase | requests | p50 ms | p90 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|---:|\n\
         | idle server {}\n| two connections pushing batches of {} ({} alerts meanwhile) {}\n\n\
         Peak resident memory of the process (server, client and baseline): {} MiB.\n",
        r.machine.line(),
        r.data,
        r.bundle,
        r.alerts,
        r.batch,
        r.connections,
        r.write_chunk,
        r.in_process_alerts_per_second,
        r.http_alerts_per_second,
        r.http_vs_in_process,
        r.rejected_429,
        lat(&r.single_idle),
        r.batch,
        r.background_alerts_during_load,
        lat(&r.single_under_load),
        r.peak_rss_mib.map_or("n/a".into(), |m| format!("{m:.0}")),
    );
    std::fs::write(out.join(format!("{name}.md")), &md)?;
    print!("{md}");
    Ok(())
}
