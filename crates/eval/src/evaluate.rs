//! Evaluating a bundle on labelled test rows: the numbers behind `report.json`.

use std::collections::{BTreeMap, BTreeSet};

use arbiter_core::stats::{
    AutoClose, ReliabilityBin, RiskCoveragePoint, aurc, auto_close, brier, ece, log_loss, macro_f1,
    reliability, risk_coverage, roc_auc,
};
use arbiter_core::{BENIGN, Flag, Verdict};
use arbiter_ingest::Record;
use arbiter_model::{ECE_BINS, Model};
use serde::Serialize;

use crate::error::EvalError;

/// Choices of an evaluation.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Target attack rate of Arbiter's auto-close rule; must be a row of the bundle's
    /// risk-control table.
    pub alpha: f64,
    /// The plain baseline auto-closes below this probability.
    pub baseline_threshold: f64,
    /// Rows scored per batch.
    pub batch: usize,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            alpha: 0.01,
            baseline_threshold: 0.01,
            batch: 8192,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    pub rule: String,
    #[serde(flatten)]
    pub result: AutoClose,
}

#[derive(Debug, Clone, Serialize)]
pub struct AutoCloseReport {
    pub baseline: Rule,
    pub arbiter: Rule,
    /// Arbiter's rule at every α of the risk-control table.
    pub arbiter_by_alpha: Vec<AlphaRow>,
    /// Attacks Arbiter would auto-close, by test label.
    pub arbiter_missed_by_label: BTreeMap<String, u64>,
    /// Attacks the baseline would auto-close, by test label.
    pub baseline_missed_by_label: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AlphaRow {
    pub alpha: f64,
    pub threshold: Option<f64>,
    #[serde(flatten)]
    pub result: AutoClose,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClassCoverage {
    pub rows: u64,
    pub coverage: f64,
    pub target: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConformalReport {
    pub alpha: f64,
    pub benign: ClassCoverage,
    pub malicious: ClassCoverage,
    pub mean_set_size: f64,
    pub empty_sets: f64,
    pub both_sets: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct OodReport {
    /// Test labels never seen in training.
    pub novel_labels: Vec<String>,
    pub novel_rows: u64,
    /// AUROC of the OOD score separating novel-label rows from all other rows.
    pub auroc: Option<f64>,
    /// The same, against benign rows only.
    pub auroc_vs_benign: Option<f64>,
    /// Share of novel-label rows carrying `out_of_distribution`.
    pub novel_flagged: Option<f64>,
    /// Share of seen-label rows carrying `out_of_distribution`.
    pub seen_flagged: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CurveReport {
    pub baseline: Vec<RiskCoveragePoint>,
    pub arbiter: Vec<RiskCoveragePoint>,
    pub aurc_baseline: f64,
    pub aurc_arbiter: f64,
    /// Share of curve points where Arbiter's risk is at most the baseline's.
    pub arbiter_at_or_below: f64,
    /// Largest excess of Arbiter's risk over the baseline's at the same coverage.
    pub worst_excess: f64,
    pub worst_excess_at: f64,
}

/// Everything `report.json` holds.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    pub model: String,
    /// The attack share the bundle's risk-control table was certified for, when declared at
    /// training (`None`: the training rows' own share).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment_attack_rate: Option<f64>,
    pub schema: String,
    pub synthetic: bool,
    pub data: String,
    pub rows: u64,
    pub attacks: u64,
    pub auc: Option<f64>,
    pub ece: f64,
    pub ece_bins: usize,
    pub brier: f64,
    pub log_loss: f64,
    /// Macro-F1 of the binary verdict at p = 0.5 (mean of benign and malicious F1).
    pub macro_f1: f64,
    /// Macro-F1 of the top category over categories present in the test rows.
    pub macro_f1_category: f64,
    pub baseline_auc: Option<f64>,
    pub baseline_ece: f64,
    pub reliability: Vec<ReliabilityBin>,
    pub conformal: ConformalReport,
    pub ood: OodReport,
    pub flag_rates: BTreeMap<String, f64>,
    pub auto_close: AutoCloseReport,
    pub risk_coverage: CurveReport,
}

/// Scores `records` with `model` and measures everything.
pub fn evaluate(
    model: &Model,
    records: &[Record],
    file: &str,
    opts: &EvalOptions,
) -> Result<Evaluation, EvalError> {
    if records.iter().any(|r| r.category.is_none()) {
        let line = records
            .iter()
            .find(|r| r.category.is_none())
            .map_or(0, |r| r.line);
        return Err(EvalError::Unlabelled {
            file: file.to_string(),
            line,
        });
    }
    let row = model
        .spec
        .risk
        .row(opts.alpha)
        .ok_or_else(|| EvalError::UnknownAlpha {
            alpha: opts.alpha,
            known: model.spec.risk.table.iter().map(|r| r.alpha).collect(),
        })?;
    let mut scores = Vec::with_capacity(records.len());
    let mut base_p = Vec::with_capacity(records.len());
    for chunk in records.chunks(opts.batch.max(1)) {
        scores.extend(model.score(chunk, file, model.spec.flags.alpha)?);
        let (x, _) = model.encoder.encode_all(chunk);
        base_p.extend(model.baseline_probability(&x)?);
    }
    let attack: Vec<bool> = records
        .iter()
        .map(|r| r.is_malicious() == Some(true))
        .collect();
    let p: Vec<f64> = scores.iter().map(|s| s.p_malicious.get()).collect();
    let flagged: Vec<bool> = scores.iter().map(|s| !s.flags.is_empty()).collect();

    let closable = |t: Option<f64>| -> Vec<bool> {
        p.iter()
            .zip(&flagged)
            .map(|(p, f)| t.is_some_and(|t| *p <= t) && !f)
            .collect()
    };
    let arbiter_close = closable(row.threshold);
    let base_close: Vec<bool> = base_p
        .iter()
        .map(|q| *q < opts.baseline_threshold)
        .collect();
    let missed = |close: &[bool]| -> BTreeMap<String, u64> {
        let mut m = BTreeMap::new();
        for ((r, c), a) in records.iter().zip(close).zip(&attack) {
            if *c && *a {
                *m.entry(r.label.clone().unwrap_or_default()).or_insert(0) += 1;
            }
        }
        m
    };
    let auto = AutoCloseReport {
        baseline: Rule {
            rule: format!(
                "plain single LightGBM model, p < {}",
                opts.baseline_threshold
            ),
            result: auto_close(&base_close, &attack),
        },
        arbiter: Rule {
            rule: match row.threshold {
                Some(t) => format!(
                    "calibrated p ≤ {t:.6} (risk control α = {}, {}confidence {}) and no uncertainty flag",
                    opts.alpha,
                    model
                        .spec
                        .risk
                        .cross_fit
                        .as_ref()
                        .map_or(String::new(), |cf| format!(
                            "cross-fitted over {} folds, nominal ",
                            cf.folds
                        )),
                    1.0 - model.spec.risk.delta
                ),
                None => format!(
                    "no threshold certified at α = {}: auto-close off",
                    opts.alpha
                ),
            },
            result: auto_close(&arbiter_close, &attack),
        },
        arbiter_by_alpha: model
            .spec
            .risk
            .table
            .iter()
            .map(|r| AlphaRow {
                alpha: r.alpha,
                threshold: r.threshold,
                result: auto_close(&closable(r.threshold), &attack),
            })
            .collect(),
        arbiter_missed_by_label: missed(&arbiter_close),
        baseline_missed_by_label: missed(&base_close),
    };

    // Risk–coverage: the baseline closes by its probability, Arbiter by its closing key.
    let arbiter_key: Vec<f64> = scores.iter().map(closing_key).collect();
    let curve_b = risk_coverage(&base_p, &attack);
    let curve_a = risk_coverage(&arbiter_key, &attack);
    let mut below = 0;
    let (mut worst, mut worst_at) = (f64::NEG_INFINITY, 0.0);
    for (a, b) in curve_a.iter().zip(&curve_b) {
        if a.risk <= b.risk + 1e-12 {
            below += 1;
        }
        if a.risk - b.risk > worst {
            worst = a.risk - b.risk;
            worst_at = a.coverage;
        }
    }
    let curves = CurveReport {
        aurc_baseline: aurc(&curve_b),
        aurc_arbiter: aurc(&curve_a),
        arbiter_at_or_below: below as f64 / curve_a.len().max(1) as f64,
        worst_excess: worst.max(0.0),
        worst_excess_at: worst_at,
        baseline: curve_b,
        arbiter: curve_a,
    };

    Ok(Evaluation {
        model: model.id.clone(),
        deployment_attack_rate: model.spec.risk.base_rate,
        schema: model.schema.id(),
        synthetic: model.spec.synthetic || model.schema.synthetic,
        data: file.to_string(),
        rows: records.len() as u64,
        attacks: attack.iter().filter(|a| **a).count() as u64,
        auc: roc_auc(&p, &attack),
        ece: ece(&p, &attack, ECE_BINS),
        ece_bins: ECE_BINS,
        brier: brier(&p, &attack),
        log_loss: log_loss(&p, &attack),
        macro_f1: binary_macro_f1(&p, &attack),
        macro_f1_category: category_macro_f1(records, &scores),
        baseline_auc: roc_auc(&base_p, &attack),
        baseline_ece: ece(&base_p, &attack, ECE_BINS),
        reliability: reliability(&p, &attack, ECE_BINS),
        conformal: conformal(&scores, &attack),
        ood: ood(model, records, &scores),
        flag_rates: Flag::ALL
            .iter()
            .map(|f| {
                let k = scores.iter().filter(|s| s.flags.contains(f)).count();
                (f.to_string(), k as f64 / scores.len().max(1) as f64)
            })
            .collect(),
        auto_close: auto,
        risk_coverage: curves,
    })
}

/// The order in which Arbiter would close rows if asked to close ever more: by calibrated
/// probability, except that a flagged row is never more closable than a coin flip — its key is
/// `0.5 + p/2`, after every unflagged row the model calls benign.
pub fn closing_key(s: &arbiter_core::Score) -> f64 {
    let p = s.p_malicious.get();
    if s.flags.is_empty() { p } else { 0.5 + p / 2.0 }
}

fn binary_macro_f1(p: &[f64], attack: &[bool]) -> f64 {
    let truth: Vec<usize> = attack.iter().map(|a| usize::from(*a)).collect();
    let pred: Vec<usize> = p.iter().map(|p| usize::from(*p >= 0.5)).collect();
    macro_f1(&truth, &pred)
}

fn category_macro_f1(records: &[Record], scores: &[arbiter_core::Score]) -> f64 {
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    let mut id = |s: &str| {
        let n = names.len();
        *names.entry(s.to_string()).or_insert(n)
    };
    let truth: Vec<usize> = records
        .iter()
        .map(|r| id(r.category.as_deref().unwrap_or(BENIGN)))
        .collect();
    let pred: Vec<usize> = scores
        .iter()
        .map(|s| id(s.top_category().map_or(BENIGN, |c| c.0)))
        .collect();
    macro_f1(&truth, &pred)
}

fn conformal(scores: &[arbiter_core::Score], attack: &[bool]) -> ConformalReport {
    let alpha = scores.first().map_or(0.05, |s| s.alpha);
    let class = |want: bool| {
        let verdict = if want {
            Verdict::Malicious
        } else {
            Verdict::Benign
        };
        let rows: Vec<_> = scores
            .iter()
            .zip(attack)
            .filter(|(_, a)| **a == want)
            .collect();
        let hit = rows
            .iter()
            .filter(|(s, _)| s.conformal_set.contains(&verdict))
            .count();
        ClassCoverage {
            rows: rows.len() as u64,
            coverage: hit as f64 / rows.len().max(1) as f64,
            target: 1.0 - alpha,
        }
    };
    let n = scores.len().max(1) as f64;
    ConformalReport {
        alpha,
        benign: class(false),
        malicious: class(true),
        mean_set_size: scores
            .iter()
            .map(|s| s.conformal_set.len() as f64)
            .sum::<f64>()
            / n,
        empty_sets: scores.iter().filter(|s| s.conformal_set.is_empty()).count() as f64 / n,
        both_sets: scores.iter().filter(|s| s.conformal_set.len() == 2).count() as f64 / n,
    }
}

fn ood(model: &Model, records: &[Record], scores: &[arbiter_core::Score]) -> OodReport {
    let seen: BTreeSet<&str> = model
        .spec
        .training
        .labels
        .iter()
        .map(String::as_str)
        .collect();
    let novel: Vec<bool> = records
        .iter()
        .map(|r| r.label.as_deref().is_some_and(|l| !seen.contains(l)))
        .collect();
    let ood: Vec<f64> = scores.iter().map(|s| s.ood_score).collect();
    let flagged: Vec<bool> = scores
        .iter()
        .map(|s| s.flags.contains(&Flag::OutOfDistribution))
        .collect();
    let benign_or_novel: Vec<usize> = (0..records.len())
        .filter(|&i| novel[i] || records[i].category.as_deref() == Some(BENIGN))
        .collect();
    let share = |want: bool| {
        let rows: Vec<usize> = (0..novel.len()).filter(|&i| novel[i] == want).collect();
        (!rows.is_empty())
            .then(|| rows.iter().filter(|&&i| flagged[i]).count() as f64 / rows.len() as f64)
    };
    OodReport {
        novel_labels: records
            .iter()
            .zip(&novel)
            .filter(|(_, n)| **n)
            .filter_map(|(r, _)| r.label.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        novel_rows: novel.iter().filter(|n| **n).count() as u64,
        auroc: roc_auc(&ood, &novel),
        auroc_vs_benign: roc_auc(
            &benign_or_novel.iter().map(|&i| ood[i]).collect::<Vec<_>>(),
            &benign_or_novel
                .iter()
                .map(|&i| novel[i])
                .collect::<Vec<_>>(),
        ),
        novel_flagged: share(true),
        seen_flagged: share(false).unwrap_or(0.0),
    }
}
