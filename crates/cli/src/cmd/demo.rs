//! `arbiter demo`: the README's main job on a fresh machine, no datasets needed.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use arbiter_core::EvidencePackage;
use arbiter_explain::{CaseStore, Explaining, render};
use arbiter_ingest::{OnError, load};
use arbiter_model::Model;

use super::OnErrorArg;

#[derive(clap::Args)]
pub struct Args {
    /// Working directory for the scenario, bundle, scores and report
    #[arg(long, default_value = "out/demo")]
    pub dir: PathBuf,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    #[arg(long, default_value = "soc-mixed")]
    pub scenario: String,
    /// Policy for triage (the repository's default; an embedded copy when it is absent)
    #[arg(long, default_value = "policies/default.yaml")]
    pub policy: PathBuf,
    /// Where the console listens once the queue is populated
    #[arg(long, env = "ARBITER_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// Stop after triage instead of serving the console
    #[arg(long)]
    pub no_serve: bool,
}

/// The default policy, for a demo run outside the repository.
const DEFAULT_POLICY: &str = include_str!("../../../../policies/default.yaml");

pub fn run(args: Args) -> anyhow::Result<()> {
    let data = args.dir.join("scenario");
    let model_dir = args.dir.join("bundle");
    let report = args.dir.join("report");
    println!(
        "== 1/7 generate: SYNTHETIC scenario {} (seed {})",
        args.scenario, args.seed
    );
    super::generate::run(super::generate::Args {
        scenario: args.scenario.clone(),
        seed: args.seed,
        out: Some(data.clone()),
        train_rows: None,
        test_rows: None,
        drift: true,
        gaps: Some(0.03),
        list: false,
    })?;
    println!("\n== 2/7 train");
    let train = super::train::Args {
        schema: data.join("schema.yaml"),
        data: vec![data.join("train.csv")],
        out: model_dir.clone(),
        seed: args.seed,
        members: 5,
        iterations: 100,
        alpha: 0.05,
        ood_quantile: None,
        novelty_target: 0.01,
        ood_knn_weight: None,
        deployment_attack_rate: None,
        cross_fit: None,
        rehearsal_signals: None,
        ood_reference: 20_000,
        ood_method: arbiter_model::ood::OodMethod::KnnVerdict,
        on_error: OnErrorArg::Fail,
    };
    super::train::run(train)?;
    println!("\n== 3/7 score");
    super::score::run(super::score::Args {
        model: model_dir.clone(),
        data: data.join("test.csv"),
        out: args.dir.join("scores.ndjson"),
        schema: None,
        alpha: None,
        batch: 8192,
        on_error: OnErrorArg::Fail,
    })?;
    println!("\n== 4/7 eval");
    let model = std::sync::Arc::new(Model::load(&model_dir)?);
    let eval_args = super::eval::Args {
        model: model_dir.clone(),
        data: data.join("test.csv"),
        out: report.clone(),
        schema: None,
        alpha: 0.01,
        baseline_threshold: 0.01,
        on_error: OnErrorArg::Fail,
    };
    let e = super::eval::evaluate(&model, &eval_args)?;
    arbiter_eval::write(&e, &report)?;
    super::eval::print_summary(&e);
    println!("\n== 5/7 explain: an evidence package per alert, past cases from train.csv");
    let packages = args.dir.join("packages.ndjson");
    let examples = explain(&model, &data, &packages)?;
    for p in &examples {
        println!("\n{}", render::text(p));
    }
    println!("bundle {}", model.id);
    println!("scores: {}", args.dir.join("scores.ndjson").display());
    println!("report: {}", report.join("report.md").display());
    println!("evidence packages: {}", packages.display());

    println!("\n== 6/7 triage: decide every test alert by policy, audit, store");
    let policy = if args.policy.exists() {
        args.policy.clone()
    } else {
        let p = args.dir.join("policy.yaml");
        std::fs::write(&p, DEFAULT_POLICY)
            .with_context(|| format!("cannot write {}", p.display()))?;
        p
    };
    let db = args.dir.join("arbiter.db");
    super::triage::run(super::triage::Args {
        model: model_dir.clone(),
        policy: policy.clone(),
        data: data.join("test.csv"),
        db: db.clone(),
        audit: None,
        deadline_ms: 30_000,
        asset_field: None,
        cases: Some(data.join("train.csv")),
        source: None,
        batch: 1024,
        on_error: OnErrorArg::Fail,
    })?;
    let analyst = super::token::create(&db, None, "analyst", "demo-analyst", None)?;
    let second = super::token::create(&db, None, "analyst", "demo-analyst-2", None)?;
    if args.no_serve {
        println!(
            "\n== 7/7 serve: skipped (--no-serve); run `arbiter serve --model {} --policy {} --db {} --cases {}`",
            model_dir.display(),
            policy.display(),
            db.display(),
            data.join("train.csv").display()
        );
        return Ok(());
    }
    println!("\n== 7/7 serve: the analyst console over the triaged queue (SYNTHETIC data)");
    let serve_args = super::serve::Args {
        model: model_dir,
        policy,
        db,
        audit: None,
        cases: Some(data.join("train.csv")),
        listen: args.listen,
        queue_capacity: arbiter_server::Limits::default().queue_capacity,
        max_body_bytes: arbiter_server::Limits::default().max_body_bytes,
        max_batch: arbiter_server::Limits::default().max_batch,
        score_chunk: arbiter_server::Limits::default().score_chunk,
        write_chunk: arbiter_server::Limits::default().write_chunk,
        deadline_ms: 10_000,
        secure_cookies: false,
        conn: super::serve::ConnArgs::default(),
    };
    let app = super::serve::open(&serve_args)?;
    super::serve::serve(app, args.listen, |addr| {
        println!("console:        http://{addr}/login");
        println!("analyst token:  {analyst}");
        println!(
            "second analyst: {second}   (critical or irreversible actions need two different people)"
        );
        println!("API:            http://{addr}/api/v1/openapi.json   (Ctrl-C stops the server)");
    })
}

/// Writes every test row's package and returns two to show: the first confident malicious
/// verdict and the first flagged one.
fn explain(
    model: &std::sync::Arc<Model>,
    data: &Path,
    out: &Path,
) -> anyhow::Result<Vec<EvidencePackage>> {
    let read = |name: &str| {
        load(
            &model.schema,
            &data.join(name),
            OnError::Fail,
            &mut |_, _| {},
        )
        .map(|d| d.records)
        .with_context(|| format!("reading {name}"))
    };
    let past = read("train.csv")?;
    let store = CaseStore::new(model, "train.csv", "train.csv", &past);
    let explaining = Explaining::new(model.clone(), Some(store))?;
    let test = read("test.csv")?;
    let mut w = BufWriter::new(
        File::create(out).with_context(|| format!("cannot create {}", out.display()))?,
    );
    let (mut confident, mut flagged) = (None, None);
    for chunk in test.chunks(2048) {
        for p in explaining.explain(chunk, "test.csv")? {
            serde_json::to_writer(&mut w, &p)?;
            w.write_all(b"\n")?;
            let f = &p.uncertainty.flags;
            if confident.is_none() && f.is_empty() && p.verdict.p_malicious > 0.95 {
                confident = Some(p);
            } else if flagged.is_none() && !f.is_empty() {
                flagged = Some(p);
            }
        }
    }
    w.flush()?;
    Ok(confident.into_iter().chain(flagged).collect())
}
