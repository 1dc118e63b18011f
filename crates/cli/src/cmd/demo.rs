//! `arbiter demo`: the README's main job on a fresh machine, no datasets needed.

use std::path::PathBuf;

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
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let data = args.dir.join("scenario");
    let model_dir = args.dir.join("bundle");
    let report = args.dir.join("report");
    println!(
        "== 1/4 generate: SYNTHETIC scenario {} (seed {})",
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
    println!("\n== 2/4 train");
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
        ood_reference: 20_000,
        ood_method: arbiter_model::ood::OodMethod::KnnVerdict,
        on_error: OnErrorArg::Fail,
    };
    super::train::run(train)?;
    println!("\n== 3/4 score");
    super::score::run(super::score::Args {
        model: model_dir.clone(),
        data: data.join("test.csv"),
        out: args.dir.join("scores.ndjson"),
        schema: None,
        alpha: None,
        batch: 8192,
        on_error: OnErrorArg::Fail,
    })?;
    println!("\n== 4/4 eval");
    let model = Model::load(&model_dir)?;
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
    println!("bundle {}", model.id);
    println!("scores: {}", args.dir.join("scores.ndjson").display());
    println!("report: {}", report.join("report.md").display());
    Ok(())
}
