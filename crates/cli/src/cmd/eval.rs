//! `arbiter eval`

use std::path::PathBuf;

use arbiter_eval::{EvalOptions, Evaluation};
use arbiter_model::Model;

use super::{OnErrorArg, report_ingest};
use crate::progress;

#[derive(clap::Args)]
pub struct Args {
    /// Model bundle directory
    #[arg(long)]
    pub model: PathBuf,
    /// Labelled test data (read with the bundle's schema unless --schema is given)
    #[arg(long)]
    pub data: PathBuf,
    /// Report directory (report.md, report.json, reliability.png, risk_coverage.png)
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// Target attack rate of Arbiter's auto-close rule (a row of the risk-control table)
    #[arg(long, default_value_t = 0.01)]
    pub alpha: f64,
    /// The baseline auto-closes below this probability
    #[arg(long, default_value_t = 0.01)]
    pub baseline_threshold: f64,
    #[arg(long, value_enum, default_value_t)]
    pub on_error: OnErrorArg,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let model = Model::load(&args.model)?;
    let e = evaluate(&model, &args)?;
    arbiter_eval::write(&e, &args.out)?;
    print_summary(&e);
    println!("report: {}", args.out.join("report.md").display());
    Ok(())
}

pub fn evaluate(model: &Model, args: &Args) -> anyhow::Result<Evaluation> {
    let schema = match &args.schema {
        Some(p) => {
            let s = super::schema(p)?;
            super::score::compatible(model, &s)?;
            s
        }
        None => model.schema.clone(),
    };
    let data = progress::load(&schema, &args.data, args.on_error.into())?;
    report_ingest(&data.report);
    let pb = progress::spinner(&format!(
        "scoring and measuring {} rows",
        data.records.len()
    ));
    let e = arbiter_eval::evaluate(
        model,
        &data.records,
        &args.data.display().to_string(),
        &EvalOptions {
            alpha: args.alpha,
            baseline_threshold: args.baseline_threshold,
            ..EvalOptions::default()
        },
    )?;
    pb.finish_and_clear();
    Ok(e)
}

pub fn print_summary(e: &Evaluation) {
    if e.synthetic {
        println!("(SYNTHETIC data: these numbers show the mechanics, not real-world performance)");
    }
    println!(
        "{} rows, {} attacks · AUC {} · ECE {:.4} · macro-F1 {:.4} / category {:.4}",
        e.rows,
        e.attacks,
        e.auc.map_or("n/a".into(), |a| format!("{a:.4}")),
        e.ece,
        e.macro_f1,
        e.macro_f1_category
    );
    if e.ood.novel_rows > 0 {
        println!(
            "{} rows with labels never seen in training; OOD AUROC {}",
            e.ood.novel_rows,
            e.ood.auroc.map_or("n/a".into(), |a| format!("{a:.4}"))
        );
    }
    println!("\nauto-close:\n{}", arbiter_eval::auto_close_table(e));
}
