//! `arbiter train`

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use arbiter_train::{InputFile, TrainOptions, bundle};

use super::{OnErrorArg, file_name, report_ingest};
use crate::progress;

#[derive(clap::Args)]
pub struct Args {
    /// Schema file describing the data
    #[arg(long)]
    pub schema: PathBuf,
    /// Labelled data files (CSV or NDJSON, optionally .gz/.xz/.zst)
    #[arg(long, num_args = 1.., required = true)]
    pub data: Vec<PathBuf>,
    /// Directory to write the model bundle to
    #[arg(long)]
    pub out: PathBuf,
    /// Seed for the split, subsamples and trees: same data and seed give the same bundle
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Ensemble members
    #[arg(long, default_value_t = 5)]
    pub members: usize,
    /// Boosting rounds per model
    #[arg(long, default_value_t = 100)]
    pub iterations: usize,
    /// Default conformal miscoverage level stored in the bundle
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// OOD flag when a row is farther from training rows of its verdict than this share of
    /// calibration rows (default: chosen by the leave-one-family-out rehearsal)
    #[arg(long)]
    pub ood_quantile: Option<f64>,
    /// Largest share of a never-seen attack family the rehearsal may let through unflagged
    #[arg(long, default_value_t = 0.01)]
    pub novelty_target: f64,
    /// Weight of the k-NN score in the OOD score, the rest going to leaf-space support (0–1;
    /// default: chosen by the rehearsal; 1 is the k-NN distance alone)
    #[arg(long)]
    pub ood_knn_weight: Option<f64>,
    /// OOD method: knn-verdict (against training rows of the row's verdict) or knn-global
    #[arg(long, default_value = "knn-verdict")]
    pub ood_method: arbiter_model::ood::OodMethod,
    /// Largest number of distinct training rows kept as the OOD reference
    #[arg(long, default_value_t = 20_000)]
    pub ood_reference: usize,
    /// Attack share expected in production (0–1, exclusive): the auto-close table is certified
    /// for it by reweighting the classes instead of for the training rows' own share
    #[arg(long)]
    pub deployment_attack_rate: Option<f64>,
    /// Certify the auto-close table on out-of-fold scores of every labelled row, from this many
    /// fold pipelines (2–20; training takes about this many times longer), instead of on the
    /// 10 % risk-control split alone; each threshold is checked on the deployed model's own
    /// held-out split
    #[arg(long, value_name = "FOLDS")]
    pub cross_fit: Option<usize>,
    /// For experiments: write the rehearsal's candidate novelty signals per row as CSV files
    /// into this directory (scripts/experiments/novelty-signals.py compares them)
    #[arg(long)]
    pub rehearsal_signals: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub on_error: OnErrorArg,
}

impl Args {
    pub fn options(&self) -> TrainOptions {
        TrainOptions {
            seed: self.seed,
            members: self.members,
            iterations: self.iterations,
            alpha: self.alpha,
            ood_reference: self.ood_reference,
            ood_method: self.ood_method,
            ood_quantile: self.ood_quantile,
            novelty_target: self.novelty_target,
            ood_knn_weight: self.ood_knn_weight,
            deployment_attack_rate: self.deployment_attack_rate,
            cross_fit: self.cross_fit,
            rehearsal_signals: self.rehearsal_signals.clone(),
            ..TrainOptions::default()
        }
    }
}

/// The workload–risk frontier, and what the level in use costs.
fn print_frontier(f: &arbiter_model::novelty::Frontier, level: f64) {
    println!(
        "workload–risk frontier ({} held-out benign rows, {:.1}% called benign; reviews per 1,000 alerts at attack share {:.3}):",
        f.benign_rows,
        100.0 * f.benign_called_benign,
        f.attack_rate
    );
    println!("  level  benign closable  worst family passing  reviews added per 1,000");
    for p in &f.points {
        println!(
            "  {:<5}  {:>15.3}  {:>20.4}  {:>23.1}{}",
            p.level,
            p.benign_coverage,
            p.worst(),
            p.reviews_per_1000,
            if (p.level - level).abs() < 1e-12 {
                "  ← in use"
            } else {
                ""
            }
        );
    }
    if let Some(p) = f.points.iter().find(|p| (p.level - level).abs() < 1e-12) {
        println!(
            "OOD flag at {level}: leaves {:.1}% of benign alerts closable, at most {:.2}% of any rehearsed family passes, and it costs {:.0} human reviews per 1,000 alerts",
            100.0 * p.benign_coverage,
            100.0 * p.worst(),
            p.reviews_per_1000
        );
    }
}

/// One row of the risk-control table as a line.
fn risk_line(r: &arbiter_model::risk::RiskRow, rows: &str) -> String {
    match r.threshold {
        Some(t) => format!(
            "p ≤ {:.6}  closes {:.1}% of benign {rows} ({} attacks in {})",
            t,
            100.0 * r.benign_coverage,
            r.attacks,
            r.closed
        ),
        None => format!(
            "no threshold can be certified: auto-close stays off{}",
            match r.more_benign_rows {
                Some(n) => format!(
                    " (about {n} more benign {rows}, attacks in the same share, would certify it)"
                ),
                None => " (more rows of the same kind would not: the measured attack rate is already at or above α)".into(),
            }
        ),
    }
}

/// The risk-control table and, when cross-fitted, what the split alone gave and the check.
fn print_risk(risk: &arbiter_model::risk::RiskTable) {
    let Some(cf) = &risk.cross_fit else {
        println!(
            "risk control (auto-close threshold per target attack rate, confidence {}, on {} risk-control rows):",
            1.0 - risk.delta,
            risk.rows
        );
        for r in &risk.table {
            println!("  α={:<6} {}", r.alpha, risk_line(r, "risk-control rows"));
        }
        return;
    };
    println!(
        "risk control (auto-close threshold per target attack rate, nominal confidence {}), cross-fitted: out-of-fold scores of all {} labelled rows from {} fold pipelines, {} eligible:",
        1.0 - risk.delta,
        risk.rows,
        cf.folds,
        risk.eligible
    );
    for ((r, split), check) in risk.table.iter().zip(&cf.split.table).zip(&cf.checks) {
        println!(
            "  α={:<6} {}",
            r.alpha,
            risk_line(r, check.row.rows_counted())
        );
        if let Some(t) = check.cross_fitted {
            println!(
                "           held-out check at p ≤ {t:.6}: the deployed model closes {} of its {} risk-control rows, {} attacks → {}; the table uses {}",
                check.closed,
                cf.split.rows,
                check.attacks,
                if check.kept { "kept" } else { "refuted" },
                check.row.describe()
            );
        }
        println!(
            "           the split alone: {}",
            risk_line(split, "risk-control rows")
        );
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    // Refuse a bad option before reading any data; training checks again itself.
    let options = args.options();
    options.validate()?;
    let schema = super::schema(&args.schema)?;
    let started = Instant::now();
    let mut inputs = Vec::new();
    for path in &args.data {
        let data = progress::load(&schema, path, args.on_error.into())?;
        report_ingest(&data.report);
        inputs.push(InputFile {
            name: file_name(path),
            sha256: arbiter_ingest::file_sha256(path)?,
            data,
            weights: None,
        });
    }
    let stages = progress::Stages::new();
    let trained =
        arbiter_train::train(&schema, inputs, &options, &stages).context("training failed")?;
    stages.finish();
    let id = bundle::write(&args.out, &trained.files)?;
    let spec = &trained.model.spec;
    let h = &spec.holdout;
    println!("bundle {} written to {}", id, args.out.display());
    println!(
        "calibrator: {} · held-out ({} rows): AUC {} · ECE {:.4} · coverage benign {:.3} / malicious {:.3} at α={}",
        spec.calibration.chosen.name(),
        h.rows,
        h.auc.map_or("n/a".into(), |a| format!("{a:.4}")),
        h.ece,
        h.coverage_benign,
        h.coverage_malicious,
        h.alpha
    );
    if let Some(r) = &spec.novelty {
        println!(
            "OOD flag level {} ({}); rehearsal leaving each attack family out, target ≤ {} of a family unflagged{}:",
            spec.flags.ood_quantile,
            if args.ood_quantile.is_some() {
                "set by --ood-quantile"
            } else {
                "chosen"
            },
            r.target,
            if r.met {
                ""
            } else {
                " — NOT met even at the most sensitive level"
            }
        );
        println!(
            "  OOD score: {} ({}):",
            if r.knn_weight >= 1.0 {
                "k-NN distance alone".to_string()
            } else {
                format!(
                    "{} × k-NN distance + {} × leaf-space support",
                    r.knn_weight,
                    1.0 - r.knn_weight
                )
            },
            if args.ood_knn_weight.is_some() {
                "set by --ood-knn-weight"
            } else {
                "chosen"
            }
        );
        for t in &r.weights {
            println!(
                "    k-NN weight {:<4} → level {:<4} {} (worst family {:.2}%)",
                t.knn_weight,
                t.level,
                if t.met {
                    "meets the target"
                } else {
                    "misses the target"
                },
                100.0 * t.worst
            );
        }
        for f in &r.families {
            println!(
                "  {:<20} {:>7} rows, {:>7} called benign without it, {:>5} would pass unflagged",
                f.family, f.rows, f.called_benign, f.closable
            );
        }
        if let Some(f) = &r.frontier {
            print_frontier(f, spec.flags.ood_quantile);
        }
    }
    print_risk(&spec.risk);
    println!(
        "trained in {:.1}s; model card: {}",
        started.elapsed().as_secs_f64(),
        args.out.join("MODEL_CARD.md").display()
    );
    Ok(())
}
