//! `arbiter bench-lifecycle`: how long a promotion and a rollback take to be in force in a
//! running server, over loopback HTTP, and whether retired models leave memory behind.
//!
//! Each round registers a retrained candidate (a bundle that scores exactly as the champion
//! does, with a `changes.json` naming the champion and holding back analysts' labels, so its
//! gates can pass for real), runs its gates through the API, then times: the first admin's
//! promotion request, the second admin's promotion (load, verify, audit, swap), the next
//! alert (decided by the new champion), and the rollback. Resident memory is read after every
//! round. Not a test: numbers depend on the machine, which the report describes.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use arbiter_core::{Actor, Role, SystemClock};
use arbiter_ingest::OnError;
use arbiter_ledger::Ledger;
use arbiter_model::Model;
use arbiter_server::{App, Limits, Paths};
use arbiter_store::SqliteStore;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use serde_json::{Value, json};

use super::bench::{first_line_with, kib, machine};
use super::bench_serve::{HttpClient, call, ms_since};

#[derive(clap::Args)]
pub struct Args {
    /// The champion's bundle
    #[arg(long)]
    pub model: PathBuf,
    /// Labelled alerts (the bundle's schema): ingested, some labelled by analysts, and the
    /// regression suite's rows
    #[arg(long)]
    pub data: PathBuf,
    #[arg(long, default_value = "policies/default.yaml")]
    pub policy: PathBuf,
    /// Directory for bench-lifecycle.json and bench-lifecycle.md
    #[arg(long)]
    pub out: PathBuf,
    /// Promote-and-roll-back rounds
    #[arg(long, default_value_t = 10)]
    pub rounds: usize,
    /// Alerts ingested before the rounds (the suite and the labels come from them)
    #[arg(long, default_value_t = 400)]
    pub alerts: usize,
    /// Alerts labelled by an analyst and held back as "recent" by every candidate
    #[arg(long, default_value_t = 40)]
    pub labels: usize,
}

#[derive(Serialize)]
struct Round {
    ask_ms: f64,
    promote_ms: f64,
    first_alert_ms: f64,
    rollback_ms: f64,
    rss_mib_after: f64,
}

struct Http {
    client: HttpClient,
    addr: SocketAddr,
}

impl Http {
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        ctype: &str,
        body: String,
    ) -> anyhow::Result<(u16, Value)> {
        // `path#idem=KEY` sends KEY as the Idempotency-Key (alerts without ids get keys from it).
        let (path, idem) = match path.split_once("#idem=") {
            Some((p, k)) => (p, Some(k)),
            None => (path, None),
        };
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", ctype);
        if let Some(k) = idem {
            req = req.header("idempotency-key", k);
        }
        let req = req.body(Full::new(Bytes::from(body)))?;
        let (status, bytes) = call(&self.client, req).await?;
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }

    async fn json(&self, path: &str, token: &str, body: Value) -> anyhow::Result<Value> {
        let (status, v) = self
            .call("POST", path, token, "application/json", body.to_string())
            .await?;
        ensure!(status < 300, "POST {path}: {status} {v}");
        Ok(v)
    }
}

fn rss_mib() -> f64 {
    kib(first_line_with("/proc/self/status", "VmRSS")).map_or(f64::NAN, |k| k / 1024.0)
}

/// A candidate that scores as `base` does: its files plus a `changes.json` naming `champion`
/// and holding back `held`; `round` makes each one a distinct bundle.
fn twin(base: &Path, champion: &str, held: &[i64], round: usize, out: &Path) -> anyhow::Result<()> {
    let (_, mut files) = arbiter_model::bundle::read(base)?;
    let changes = json!({"champion": champion, "held_back": {"examples": held},
                         "bench_round": round});
    files.insert(
        arbiter_model::CHANGES.into(),
        serde_json::to_vec_pretty(&changes)?,
    );
    arbiter_train::bundle::write(out, &files)?;
    Ok(())
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let model = Model::load(&args.model)?;
    let data = arbiter_ingest::load(&model.schema, &args.data, OnError::Fail, &mut |_, _| {})?;
    let mut rows: Vec<_> = data
        .records
        .into_iter()
        .take(args.alerts + args.rounds)
        .collect();
    ensure!(
        rows.len() > args.rounds,
        "{} has too few rows for {} rounds",
        args.data.display(),
        args.rounds
    );
    // One fresh alert per round, sent right after each promotion.
    let singles = rows.split_off(rows.len() - args.rounds);
    // Tokens: two admins (four eyes), a forwarder and an analyst.
    let db = dir.path().join("arbiter.db");
    let mut ledger = Ledger::open(
        Arc::new(SqliteStore::open(&db)?),
        &dir.path().join("audit"),
        Arc::new(SystemClock),
    )?
    .ledger;
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
    let (ann, bob) = (mint("ann", Role::Admin)?, mint("bob", Role::Admin)?);
    let (forwarder, analyst) = (mint("fwd", Role::Ingest)?, mint("al", Role::Analyst)?);
    drop(ledger);
    let paths = Paths {
        db,
        audit: None,
        model: args.model.clone(),
        policy: args.policy.clone(),
        cases: None,
    };
    let app = App::open(
        &paths,
        Limits::default(),
        Duration::from_secs(60),
        Arc::new(SystemClock),
    )?;
    // Where a promotion's time goes, measured in-process: loading and verifying the bundle, and
    // preparing its scorer (explainers, neighbour search).
    let mut parts = Vec::new();
    for _ in 0..3 {
        let t0 = Instant::now();
        let m = Arc::new(Model::load(&args.model)?);
        let load = ms_since(t0);
        let t0 = Instant::now();
        let _scorer = arbiter_triage::Scorer::new(m, None, None)?;
        parts.push((load, ms_since(t0)));
    }
    let (load_ms, scorer_ms) = parts
        .iter()
        .min_by(|a, b| (a.0 + a.1).total_cmp(&(b.0 + b.1)))
        .copied()
        .unwrap_or_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let rss_start = rss_mib();
    let (report, rounds) = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(arbiter_server::serve(listener, app.clone(), async move {
            let _ = stopped.await;
        }));
        let http = Http {
            client: Client::builder(TokioExecutor::new()).build_http(),
            addr,
        };
        let alerts: Vec<Value> = rows
            .iter()
            .map(|r| super::bench_serve::to_json(&model, r))
            .collect();
        let body: String = alerts.iter().map(|a| format!("{a}\n")).collect();
        let (status, out) = http
            .call(
                "POST",
                "/api/v1/alerts#idem=bench-lifecycle",
                &forwarder,
                "application/x-ndjson",
                body,
            )
            .await?;
        ensure!(status == 200, "ingest: {status} {out}");
        let decided = out["alerts"].as_array().context("ingest report")?.clone();
        // Analysts label open alerts with the truth: the candidates' recent labelled alerts.
        let known = arbiter_server::app::labels(&model);
        let mut labelled = 0;
        for (a, r) in decided.iter().zip(&rows) {
            let truth = r
                .category
                .clone()
                .unwrap_or_else(|| arbiter_core::BENIGN.into());
            let open = matches!(
                a["state"].as_str(),
                Some("analyst" | "abstained" | "pending_approval")
            );
            if labelled == args.labels || !open || !known.contains(&truth) {
                continue;
            }
            http.json(
                &format!("/api/v1/alerts/{}/decision", a["id"]),
                &analyst,
                json!({"action": "override", "reason_code": "model_wrong", "label": truth,
                       "note": "bench-lifecycle: the ticket's label"}),
            )
            .await?;
            labelled += 1;
        }
        let held: Vec<i64> = app
            .read(|s, _| Ok(s.examples(0, 0)?))
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.message))?
            .into_iter()
            .map(|e| e.id)
            .collect();
        // The regression suite: the champion's own safe decisions on these rows.
        let suite = dir.path().join("suite.yaml");
        let mut by: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
        for (a, r) in decided.iter().zip(&rows) {
            let benign = r
                .category
                .as_deref()
                .is_none_or(|c| c == arbiter_core::BENIGN);
            let expect = match (benign, a["state"].as_str()) {
                (false, Some("auto_closed")) | (true, Some("auto_acted")) => continue,
                (false, _) => "must_catch",
                (true, _) => "must_not_act",
            };
            by.entry(expect).or_default().push(r.line);
        }
        let data_path = std::fs::canonicalize(&args.data)?;
        // Same name, so a compressed file is still read as one.
        let rows_name = data_path
            .file_name()
            .context("the data file has no name")?
            .to_string_lossy()
            .into_owned();
        std::fs::copy(&data_path, dir.path().join(&rows_name))?;
        let mut text = format!(
            "version: 1\nname: bench-lifecycle\nschema: {}\nroot: suite\ncases:\n",
            model.schema.id()
        );
        for (expect, lines) in by {
            text.push_str(&format!(
                "  - file: {rows_name}\n    expect: {expect}\n    lines: {lines:?}\n"
            ));
        }
        std::fs::write(&suite, text)?;

        let champion = model.id.clone();
        let mut rounds = Vec::new();
        // Each promoted model, weakly: after its rollback nothing should hold it.
        let mut promoted = Vec::new();
        for (k, single) in singles.iter().enumerate() {
            let cand = dir.path().join(format!("candidate-{k}"));
            twin(&args.model, &champion, &held, k, &cand)?;
            let reg = http
                .json("/api/v1/models", &ann, json!({"path": cand}))
                .await?;
            let id = reg["id"].as_str().context("registered id")?.to_string();
            let g = http
                .json(
                    &format!("/api/v1/models/{id}/gate"),
                    &ann,
                    json!({"suite": suite}),
                )
                .await?;
            if g["passed"] != true {
                bail!("the candidate's gates failed: {}", g["failures"]);
            }
            let t0 = Instant::now();
            http.json(&format!("/api/v1/models/{id}/promote"), &ann, json!({}))
                .await?;
            let ask_ms = ms_since(t0);
            let t0 = Instant::now();
            let p = http
                .json(&format!("/api/v1/models/{id}/promote"), &bob, json!({}))
                .await?;
            let promote_ms = ms_since(t0);
            ensure!(p["bundle"] == id.as_str(), "not promoted: {p}");
            let t0 = Instant::now();
            let one = format!("{}\n", super::bench_serve::to_json(&model, single));
            let (status, o) = http
                .call(
                    "POST",
                    &format!("/api/v1/alerts#idem=bench-single-{k}"),
                    &forwarder,
                    "application/x-ndjson",
                    one,
                )
                .await?;
            let first_alert_ms = ms_since(t0);
            ensure!(status == 200, "single alert: {status} {o}");
            let (_, a) = http
                .call(
                    "GET",
                    &format!("/api/v1/alerts/{}", o["alerts"][0]["id"]),
                    &ann,
                    "application/json",
                    String::new(),
                )
                .await?;
            ensure!(
                a["alert"]["bundle"] == id.as_str(),
                "the alert after promotion was not decided by the new champion: {a}"
            );
            promoted.push(Arc::downgrade(&app.model()));
            let t0 = Instant::now();
            let r = http.json("/api/v1/model/rollback", &ann, json!({})).await?;
            let rollback_ms = ms_since(t0);
            ensure!(r["bundle"] == champion.as_str(), "not rolled back: {r}");
            rounds.push(Round {
                ask_ms,
                promote_ms,
                first_alert_ms,
                rollback_ms,
                rss_mib_after: rss_mib(),
            });
        }
        let _ = stop.send(());
        server.await??;
        let alive = promoted.iter().filter(|w| w.upgrade().is_some()).count();
        Ok::<_, anyhow::Error>((
            json!({"labels": labelled, "held_back": held.len(),
                   "bundle_load_ms": load_ms, "scorer_ms": scorer_ms,
                   "promoted_models_still_alive": alive}),
            rounds,
        ))
    })?;
    write(&args, &model, rss_start, report, &rounds)
}

fn setup_of(setup: &Value, k: &str) -> f64 {
    setup[k].as_f64().unwrap_or(f64::NAN)
}

fn stats(v: &[f64]) -> Value {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let at = |q: f64| s[((s.len() - 1) as f64 * q).round() as usize];
    json!({"min": s[0], "p50": at(0.5), "max": s[s.len() - 1]})
}

fn write(
    args: &Args,
    model: &Model,
    rss_start: f64,
    setup: Value,
    rounds: &[Round],
) -> anyhow::Result<()> {
    let col = |f: fn(&Round) -> f64| rounds.iter().map(f).collect::<Vec<_>>();
    let m = machine();
    let setup_json = setup.clone();
    let report = json!({
        "machine": m, "bundle": model.id, "data": args.data.display().to_string(),
        "rounds": rounds.len(), "setup": setup, "rss_mib_before_rounds": rss_start,
        "ask_ms": stats(&col(|r| r.ask_ms)), "promote_ms": stats(&col(|r| r.promote_ms)),
        "first_alert_ms": stats(&col(|r| r.first_alert_ms)),
        "rollback_ms": stats(&col(|r| r.rollback_ms)),
        "per_round": rounds,
    });
    std::fs::create_dir_all(&args.out)?;
    std::fs::write(
        args.out.join("bench-lifecycle.json"),
        serde_json::to_string_pretty(&report)? + "\n",
    )?;
    let line = |name: &str, k: &str| {
        format!(
            "| {name} | {:.1} | {:.1} | {:.1} |\n",
            report[k]["min"].as_f64().unwrap_or(f64::NAN),
            report[k]["p50"].as_f64().unwrap_or(f64::NAN),
            report[k]["max"].as_f64().unwrap_or(f64::NAN)
        )
    };
    let mut md = format!(
        "# Promotion and rollback in a running server\n\n{}\n\nCommand: `arbiter bench-lifecycle --model {} --data {} --rounds {}`\n\n\
         {} rounds over loopback HTTP. Each: register a retrained candidate, run its gates, then time \
         the first admin's request, the second admin's promotion (bundle loaded, verified, audited, \
         scorer swapped), one alert right after (decided by the new champion), and the rollback.\n\n\
         | step | min ms | p50 ms | max ms |\n|---|---:|---:|---:|\n",
        m.line(),
        args.model.display(),
        args.data.display(),
        args.rounds,
        rounds.len()
    );
    md.push_str(&line("promotion asked (first admin)", "ask_ms"));
    md.push_str(&line("promotion in force (second admin)", "promote_ms"));
    md.push_str(&line("first alert after it", "first_alert_ms"));
    md.push_str(&line("rollback in force", "rollback_ms"));
    md.push_str(&format!(
        "\nOf a promotion's time, measured in-process (best of 3): loading and verifying the bundle \
         {:.0} ms, preparing its scorer (explainers, neighbour search) {:.0} ms.\n\n\
         Retired models still alive after the run (held weakly after each promotion): {} of {}.\n",
        setup_of(&setup_json, "bundle_load_ms"),
        setup_of(&setup_json, "scorer_ms"),
        setup_json["promoted_models_still_alive"],
        rounds.len()
    ));
    md.push_str(&format!(
        "\nResident memory: {:.1} MiB before the rounds; after each round: {}.\n",
        rss_start,
        rounds
            .iter()
            .map(|r| format!("{:.1}", r.rss_mib_after))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    std::fs::write(args.out.join("bench-lifecycle.md"), &md)?;
    print!("{md}");
    Ok(())
}
