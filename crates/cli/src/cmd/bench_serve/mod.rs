//! `arbiter bench-serve`: the server under load over loopback. Sustained HTTP ingest rate
//! (batches from several connections) against the same alerts triaged in-process in the same
//! run; the latency of single-alert ingest-to-decision, of an analyst's decision and of reads,
//! each idle and while other connections keep the writer busy with batches. Not a test:
//! numbers depend on the machine, which the report describes.

mod report;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;
use arbiter_core::{Actor, FieldRole, Role, SystemClock};
use arbiter_ingest::{OnError, Record, Source, Value};
use arbiter_ledger::Ledger;
use arbiter_model::Model;
use arbiter_server::{App, Limits, Paths};
use arbiter_store::SqliteStore;
use arbiter_triage::{Engine, Incoming, KeyMaker, Scorer, Summary};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use report::{Report, latency};

use super::bench::{first_line_with, kib, machine};

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
    /// Alerts per ingest request in the sustained phase and in the background load
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// Concurrent connections in the sustained phase
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Single-alert requests timed, one after another, on the idle server
    #[arg(long, default_value_t = 1000)]
    pub singles: usize,
    /// Alerts the server scores together before taking the writer (the server's --score-chunk)
    #[arg(long, default_value_t = Limits::default().score_chunk)]
    pub score_chunk: usize,
    /// Alerts the server's writer records per turn (the server's --write-chunk)
    #[arg(long, default_value_t = Limits::default().write_chunk)]
    pub write_chunk: usize,
    /// Single-alert requests timed while batches keep the writer busy
    #[arg(long, default_value_t = 100)]
    pub singles_under_load: usize,
    /// Analyst decisions (and reads) timed, idle and while batches keep the writer busy
    #[arg(long, default_value_t = 200)]
    pub decisions: usize,
    /// A second bundle (same schema) run as the shadow in every HTTP phase: both models score
    /// every alert. Reports go to bench-serve-shadow.* (the in-process baseline has none)
    #[arg(long)]
    pub shadow: Option<PathBuf>,
}

/// A record back as the JSON object a forwarder would send: field name → value.
pub(crate) fn to_json(model: &Model, r: &Record) -> serde_json::Value {
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

/// Tokens of a fresh server.
struct Tokens {
    ingest: String,
    analyst: String,
    viewer: String,
}

/// A fresh server state in `dir` with ingest, analyst and viewer tokens (minted through the
/// ledger, as `arbiter token create` does).
fn fresh(args: &Args, dir: &Path) -> anyhow::Result<(App, Tokens)> {
    let db = dir.join("arbiter.db");
    let store = Arc::new(SqliteStore::open(&db)?);
    let mut ledger = Ledger::open(store, &dir.join("audit"), Arc::new(SystemClock))?.ledger;
    let mut mint = |name: &str, role: Role| -> anyhow::Result<String> {
        let t = arbiter_server::new_token();
        ledger.create_token(
            name,
            name,
            role,
            &arbiter_server::token_hash(&t),
            &Actor::system("bench"),
        )?;
        Ok(t)
    };
    let tokens = Tokens {
        ingest: mint("bench-forwarder", Role::Ingest)?,
        analyst: mint("bench-analyst", Role::Analyst)?,
        viewer: mint("bench-viewer", Role::Viewer)?,
    };
    if let Some(shadow) = &args.shadow {
        // Registered and started through the ledger, as an admin would: the server loads it
        // from the registry on open.
        let m = Model::load(shadow)?;
        let id = arbiter_core::ModelId::new(&m.id)?;
        let path = std::fs::canonicalize(shadow)?;
        let system = Actor::system("bench");
        ledger.register_model(
            &id,
            &path.display().to_string(),
            &m.schema.id(),
            None,
            &system,
        )?;
        let t = arbiter_server::new_token();
        let (token, _) = ledger.create_token(
            "bench-admin",
            "bench-admin",
            Role::Admin,
            &arbiter_server::token_hash(&t),
            &system,
        )?;
        ledger.start_challenger(&id, None, &Actor::person("bench-admin", Role::Admin, token))?;
    }
    drop(ledger);
    let paths = Paths {
        db,
        audit: None,
        model: args.model.clone(),
        policy: args.policy.clone(),
        cases: None,
    };
    let limits = Limits {
        queue_capacity: 1_000_000,
        score_chunk: args.score_chunk,
        write_chunk: args.write_chunk,
        ..Limits::default()
    };
    let app = App::open(
        &paths,
        limits,
        Duration::from_secs(60),
        Arc::new(SystemClock),
    )?;
    Ok((app, tokens))
}

pub(crate) type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// One request; returns the status and the body.
pub(crate) async fn call(
    client: &HttpClient,
    req: hyper::Request<Full<Bytes>>,
) -> anyhow::Result<(u16, Bytes)> {
    let resp = client.request(req).await?;
    let status = resp.status().as_u16();
    Ok((status, resp.into_body().collect().await?.to_bytes()))
}

/// Posts alerts; `idem` is the request's Idempotency-Key (alerts without ids get keys from it).
async fn post(
    client: &HttpClient,
    addr: SocketAddr,
    token: &str,
    ctype: &str,
    idem: &str,
    body: Bytes,
) -> anyhow::Result<(u16, Bytes)> {
    let req = hyper::Request::post(format!("http://{addr}/api/v1/alerts"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", ctype)
        .header("idempotency-key", idem)
        .body(Full::new(body))?;
    call(client, req).await
}

async fn get(
    client: &HttpClient,
    addr: SocketAddr,
    token: &str,
    path: &str,
) -> anyhow::Result<u16> {
    let req = hyper::Request::get(format!("http://{addr}{path}"))
        .header("authorization", format!("Bearer {token}"))
        .body(Full::new(Bytes::new()))?;
    Ok(call(client, req).await?.0)
}

async fn decide(
    client: &HttpClient,
    addr: SocketAddr,
    token: &str,
    id: i64,
) -> anyhow::Result<u16> {
    let body = serde_json::json!({"action": "override", "reason_code": "model_wrong",
                                  "note": "bench-serve: a timed analyst decision"});
    let req = hyper::Request::post(format!("http://{addr}/api/v1/alerts/{id}/decision"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))?;
    Ok(call(client, req).await?.0)
}

pub(crate) fn ms_since(t0: Instant) -> f64 {
    t0.elapsed().as_secs_f64() * 1000.0
}

/// The same alerts triaged in-process (ledger and engine, no HTTP): the baseline.
fn in_process(args: &Args, dir: &Path, model: &Arc<Model>, bulk: &[Bytes]) -> anyhow::Result<f64> {
    let store = Arc::new(SqliteStore::open(&dir.join("arbiter.db"))?);
    let mut ledger = Ledger::open(store, &dir.join("audit"), Arc::new(SystemClock))?.ledger;
    let policy = Arc::new(arbiter_policy::Policy::load(&args.policy)?);
    let scorer = Arc::new(Scorer::new(model.clone(), None, None)?);
    let mut engine = Engine::new(scorer, policy, &ledger, Duration::from_secs(60))?;
    let mut sum = Summary::default();
    let started = Instant::now();
    for (i, chunk) in bulk.chunks(args.batch).enumerate() {
        let file = format!("bench-{i}");
        let recs = arbiter_ingest::parse_ndjson(&model.schema, &file, chunk.concat());
        let mut keys = KeyMaker::new(&model.schema.name, &model.schema)?
            .with_idempotency_key(&format!("batch-{i}"))?;
        let mut batch = Vec::with_capacity(recs.len());
        for r in recs {
            let record = r.map_err(|e| anyhow::anyhow!("{e}"))?;
            batch.push(Incoming {
                key: keys.key(&record)?,
                record,
            });
        }
        engine.triage(batch, &file, &mut ledger, &mut sum)?;
    }
    Ok(bulk.len() as f64 / started.elapsed().as_secs_f64())
}

/// Keeps two connections pushing `batch`-alert requests until `busy` is cleared; returns the
/// alerts they sent.
fn background_load(
    client: &HttpClient,
    addr: SocketAddr,
    token: &str,
    bodies: [Bytes; 2],
    busy: &Arc<AtomicBool>,
    alerts_per_body: usize,
) -> Vec<tokio::task::JoinHandle<anyhow::Result<usize>>> {
    bodies
        .into_iter()
        .enumerate()
        .map(|(k, body)| {
            let (c, t, b) = (client.clone(), token.to_string(), busy.clone());
            tokio::spawn(async move {
                let mut sent = 0usize;
                let mut n = 0u64;
                // Bounded: stops when the timed requests are done, or after 10,000 batches.
                while b.load(Ordering::SeqCst) && n < 10_000 {
                    n += 1;
                    let idem = format!("load-{k}-{n}");
                    if post(&c, addr, &t, "application/x-ndjson", &idem, body.clone())
                        .await?
                        .0
                        == 200
                    {
                        sent += alerts_per_body;
                    }
                }
                anyhow::Ok(sent)
            })
        })
        .collect()
}

pub fn run(args: Args) -> anyhow::Result<()> {
    // As `arbiter serve` does before anything scores (the baseline below would otherwise
    // start the scoring pool first, at normal priority).
    arbiter_triage::scoring_pool_gives_way();
    let model = Arc::new(Model::load(&args.model)?);
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
    anyhow::ensure!(
        args.alerts >= 2 * args.batch,
        "--alerts {} must be at least twice --batch ({}): the under-load phase posts two different batches of the sustained alerts",
        args.alerts,
        args.batch
    );
    anyhow::ensure!(
        args.decisions <= args.singles / 2,
        "--decisions {} needs at least twice as many --singles ({}) to decide on",
        args.decisions,
        args.singles
    );
    let lines: Vec<Bytes> = records
        .iter()
        .map(|r| Bytes::from(format!("{}\n", to_json(&model, r))))
        .collect();
    let (bulk, rest) = lines.split_at(args.alerts);
    let (idle_singles, load_singles) = rest.split_at(args.singles);
    let load_singles = &load_singles[..args.singles_under_load];
    let work = tempfile::tempdir()?;

    eprintln!(
        "bench-serve: {} alerts in-process (the baseline)",
        args.alerts
    );
    let base_dir = work.path().join("inproc");
    std::fs::create_dir_all(&base_dir)?;
    let in_process = in_process(&args, &base_dir, &model, bulk)?;
    eprintln!("bench-serve: in-process {in_process:.0} alerts/s");

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
        let (app, tokens) = fresh(&args, &dir)?;
        let (addr, stop, server) = start(app).await?;
        let batches: Vec<(usize, Bytes)> = bulk
            .chunks(args.batch)
            .map(|c| Bytes::from(c.concat()))
            .enumerate()
            .collect();
        let queue = Arc::new(std::sync::Mutex::new(batches));
        let started = Instant::now();
        let mut workers = Vec::new();
        for _ in 0..args.connections {
            let (q, c, t) = (queue.clone(), client.clone(), tokens.ingest.clone());
            workers.push(tokio::spawn(async move {
                let mut rejected = 0usize;
                loop {
                    let Some((i, b)) = q.lock().expect("queue").pop() else {
                        break;
                    };
                    loop {
                        let idem = format!("batch-{i}");
                        match post(&c, addr, &t, "application/x-ndjson", &idem, b.clone())
                            .await?
                            .0
                        {
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

        // Single alerts, server otherwise idle; their ids are decided on later.
        eprintln!("bench-serve: {} single alerts, idle server", args.singles);
        let dir = work.path().join("idle");
        std::fs::create_dir_all(&dir)?;
        let (app, tokens) = fresh(&args, &dir)?;
        let (addr, stop, server) = start(app).await?;
        let mut idle = Vec::with_capacity(args.singles);
        let mut ids = Vec::with_capacity(args.singles);
        for (i, line) in idle_singles.iter().enumerate() {
            let t0 = Instant::now();
            let (s, body) = post(
                &client,
                addr,
                &tokens.ingest,
                "application/json",
                &format!("single-{i}"),
                line.clone(),
            )
            .await?;
            idle.push(ms_since(t0));
            anyhow::ensure!(s == 200, "single ingest answered {s}");
            let v: serde_json::Value = serde_json::from_slice(&body)?;
            ids.push(v["alerts"][0]["id"].as_i64().unwrap_or(0));
        }
        let (ids_idle, rest) = ids.split_at(args.decisions);
        let ids_load = &rest[..args.decisions];

        eprintln!(
            "bench-serve: {} analyst decisions and reads, idle",
            args.decisions
        );
        let (mut decide_idle, mut read_idle) = (Vec::new(), Vec::new());
        for &id in ids_idle {
            let t0 = Instant::now();
            let s = decide(&client, addr, &tokens.analyst, id).await?;
            decide_idle.push(ms_since(t0));
            anyhow::ensure!(s == 200, "a decision answered {s}");
            let t0 = Instant::now();
            let s = get(
                &client,
                addr,
                &tokens.viewer,
                &format!("/api/v1/alerts/{id}"),
            )
            .await?;
            read_idle.push(ms_since(t0));
            anyhow::ensure!(s == 200, "reading an alert answered {s}");
        }

        // The same, while two connections keep pushing batches.
        eprintln!(
            "bench-serve: {} single alerts, {} decisions and reads under batch load",
            args.singles_under_load, args.decisions
        );
        let busy = Arc::new(AtomicBool::new(true));
        let bodies = [
            Bytes::from(bulk[..args.batch].concat()),
            Bytes::from(bulk[args.batch..2 * args.batch].concat()),
        ];
        let load = background_load(&client, addr, &tokens.ingest, bodies, &busy, args.batch);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut under = Vec::with_capacity(args.singles_under_load);
        for (i, line) in load_singles.iter().enumerate() {
            let t0 = Instant::now();
            let (s, _) = post(
                &client,
                addr,
                &tokens.ingest,
                "application/json",
                &format!("single-load-{i}"),
                line.clone(),
            )
            .await?;
            under.push(ms_since(t0));
            anyhow::ensure!(s == 200, "single ingest answered {s}");
        }
        let (mut decide_load, mut read_load, mut queue_load) = (Vec::new(), Vec::new(), Vec::new());
        for &id in ids_load {
            let t0 = Instant::now();
            let s = decide(&client, addr, &tokens.analyst, id).await?;
            decide_load.push(ms_since(t0));
            anyhow::ensure!(s == 200, "a decision answered {s}");
            let t0 = Instant::now();
            let s = get(
                &client,
                addr,
                &tokens.viewer,
                &format!("/api/v1/alerts/{id}"),
            )
            .await?;
            read_load.push(ms_since(t0));
            anyhow::ensure!(s == 200, "reading an alert answered {s}");
            let t0 = Instant::now();
            let s = get(&client, addr, &tokens.viewer, "/api/v1/queue?limit=50").await?;
            queue_load.push(ms_since(t0));
            anyhow::ensure!(s == 200, "reading the queue answered {s}");
        }
        busy.store(false, Ordering::SeqCst);
        let mut background = 0;
        for l in load {
            background += l.await??;
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
            score_chunk: args.score_chunk,
            write_chunk: args.write_chunk,
            shadow: args.shadow.as_ref().map(|p| p.display().to_string()),
            in_process_alerts_per_second: in_process,
            http_alerts_per_second: http_rate,
            http_vs_in_process: http_rate / in_process,
            rejected_429: rejected,
            single_idle: latency(idle),
            single_under_load: latency(under),
            decision_idle: latency(decide_idle),
            decision_under_load: latency(decide_load),
            alert_read_idle: latency(read_idle),
            alert_read_under_load: latency(read_load),
            queue_read_under_load: latency(queue_load),
            background_alerts_during_load: background,
            peak_rss_mib: kib(first_line_with("/proc/self/status", "VmHWM")).map(|k| k / 1024.0),
        })
    })?;
    report::write(&args.out, &report)
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
