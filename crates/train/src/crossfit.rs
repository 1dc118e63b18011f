//! Cross-fitting the risk-control table: certifying auto-close thresholds on out-of-fold
//! scores of every labelled row instead of on the one risk-control split.
//!
//! The rows are divided, stratified by category and seeded, into K folds. For each fold a whole
//! pipeline — trees, calibrator, conformal sets, OOD references and scale — is fitted on the
//! other K − 1 folds (split three ways like the deployed model's first three parts) and scores
//! the fold it never saw; the OOD score's blend weight and flag level are the deployed model's,
//! so the rehearsal runs once. Every row then has a calibrated probability and an eligibility
//! (no flag) from a pipeline that did not train on it, and `risk::control` runs its
//! Learn-then-Test procedure on all of them: ten times the rows of a 10 % split. A categorical
//! value the fold pipeline never trained on counts as unseen for its rows, as it would for the
//! deployed model.
//!
//! **What that guarantees.** Each fold's rows are independent of the pipeline that scored
//! them, so for a fold pipeline the Clopper–Pearson bound is the split method's. Two things
//! are weaker than the split table, and the model card says so: the folds are coupled (a
//! fold's rows trained the other pipelines), so δ is nominal; and the deployed model is another
//! fit, on more rows, so its bound rests on a stability assumption — at a given threshold it is
//! no riskier than pipelines fitted on (K − 1)/K of the data. That assumption is checked: at
//! each α the deployed model's own risk-control split, which it never saw, is closed at the
//! cross-fitted threshold, and where the attack rate measured there exceeds α the row falls back
//! to what the split alone certified (exact, and usually tighter or absent).

use arbiter_core::Schema;
use arbiter_model::risk::{CrossFit, HeldOutCheck, RiskRow, RiskSplit, RiskTable, RowSource};

use crate::error::TrainError;
use crate::options::TrainOptions;
use crate::prepare::{PARTS, Prepared};
use crate::train::{Novelty, Progress, Quiet, fit};
use crate::{risk, split};

/// Every labelled row scored by the fold pipeline that did not train on it.
pub(crate) struct OutOfFold {
    pub p: Vec<f64>,
    pub eligible: Vec<bool>,
    pub attack: Vec<bool>,
}

/// A labelled set scored by one model: calibrated probability, eligibility, truth.
pub(crate) struct Scored<'a> {
    pub p: &'a [f64],
    pub eligible: &'a [bool],
    pub attack: &'a [bool],
}

/// Fits `folds` pipelines and scores each row with the one that did not see it.
pub(crate) fn scores(
    schema: &Schema,
    p: &mut Prepared,
    opts: &TrainOptions,
    folds: usize,
    novelty: Novelty,
    progress: &dyn Progress,
) -> Result<OutOfFold, TrainError> {
    let n = p.class.len();
    let names: Vec<String> = p.class.iter().map(|&c| p.classes[c].clone()).collect();
    let cats: Vec<&str> = names.iter().map(String::as_str).collect();
    let fold = split::stratified(&cats, &vec![1.0 / folds as f64; folds], opts.seed ^ 0xF01D);
    let inner: f64 = opts.split[..3].iter().sum();
    let inner = [
        opts.split[0] / inner,
        opts.split[1] / inner,
        opts.split[2] / inner,
    ];
    let mut out = OutOfFold {
        p: vec![0.0; n],
        eligible: vec![false; n],
        attack: p.malicious.clone(),
    };
    progress.stage("cross-fitting the risk-control table", folds as u64);
    for k in 0..folds {
        let held: Vec<usize> = (0..n).filter(|&i| fold[i] == k).collect();
        let rest: Vec<usize> = (0..n).filter(|&i| fold[i] != k).collect();
        let rest_cats: Vec<&str> = rest.iter().map(|&i| cats[i]).collect();
        let part = split::stratified(&rest_cats, &inner, opts.seed.wrapping_add(1 + k as u64));
        let parts: [Vec<usize>; 4] = std::array::from_fn(|j| {
            rest.iter()
                .zip(&part)
                .filter(|(_, q)| **q == j)
                .map(|(r, _)| *r)
                .collect()
        });
        for (rows, name) in parts[..3].iter().zip(PARTS) {
            if rows.len() < 20 {
                return Err(TrainError::Training(format!(
                    "cross-fitting fold {} of {folds}: its {name} split holds {} rows; use fewer folds or more labelled rows",
                    k + 1,
                    rows.len()
                )));
            }
        }
        let seen = Seen::of(p, &parts[0]);
        let (model, _) = p.with_parts(parts, |q| fit(schema, q, opts, &Quiet, novelty))?;
        let inf = model.infer(&p.rows(&held))?;
        for (i, &r) in held.iter().enumerate() {
            let notes = seen.notes(p, r);
            let v = model.view(&inf, i, &notes, opts.alpha);
            out.p[r] = v.p;
            out.eligible[r] = v.flags.is_empty();
        }
        progress.step();
    }
    Ok(out)
}

/// The categorical values a fold pipeline trained on. The encoder (label-free: vocabularies)
/// is the deployed model's, fitted on its own training part, which holds rows of every fold;
/// a value only the held-out fold and that part hold would otherwise not count as unseen for
/// the fold pipeline, and its row would look more eligible than it is.
struct Seen {
    /// Per categorical feature, the codes present in the fold pipeline's training rows.
    codes: Vec<(usize, std::collections::HashSet<u32>)>,
}

impl Seen {
    fn of(p: &Prepared, train: &[usize]) -> Seen {
        let codes = p
            .encoder
            .categorical()
            .into_iter()
            .map(|j| {
                let set = train
                    .iter()
                    .map(|&r| p.x[r * p.width + j])
                    .filter(|v| !v.is_nan())
                    .map(|v| v as u32)
                    .collect();
                (j, set)
            })
            .collect();
        Seen { codes }
    }

    /// Row `r`'s notes, with the values the fold pipeline never trained on added as unseen.
    fn notes(&self, p: &Prepared, r: usize) -> arbiter_model::encode::RowNotes {
        let mut notes = p.notes[r].clone();
        for (j, set) in &self.codes {
            let v = p.x[r * p.width + j];
            if v.is_nan() || set.contains(&(v as u32)) || notes.unseen.iter().any(|u| u.0 == *j) {
                continue;
            }
            let name = match &p.encoder.spec.codings[*j] {
                arbiter_model::encode::FeatureCoding::Categorical { values } => {
                    values.get(v as usize).cloned().unwrap_or_default()
                }
                arbiter_model::encode::FeatureCoding::Numeric => String::new(),
            };
            notes.unseen.push((*j, name));
        }
        notes.unseen.sort();
        notes
    }
}

/// The table certified on `oof`, each α checked on the deployed model's held-out split
/// (`held_out`) and replaced by the split's own row (`split`) where the check fails.
pub(crate) fn certify(
    oof: &OutOfFold,
    held_out: &Scored<'_>,
    split: RiskTable,
    folds: usize,
    opts: &TrainOptions,
) -> RiskTable {
    let mut table = risk::control(
        &oof.p,
        &oof.eligible,
        &oof.attack,
        &risk::ALPHAS,
        opts.delta,
        split.max_threshold,
        opts.deployment_attack_rate,
    );
    let mut checks = Vec::with_capacity(table.table.len());
    for (row, fallback) in table.table.iter_mut().zip(&split.table) {
        let mut check = check(row.alpha, row.threshold, held_out);
        if !check.kept {
            *row = fallback.clone();
            check.row = RowSource::Split;
        }
        checks.push(check);
    }
    // A threshold certified for a tighter α is certified for every looser one; after the
    // fallbacks a looser α may hold a stricter row, and then takes the tighter α's.
    for j in 1..table.table.len() {
        let (tighter, looser) = table.table.split_at_mut(j);
        let best = tighter
            .iter()
            .enumerate()
            .filter(|(_, r)| r.threshold.is_some())
            .max_by(|a, b| a.1.closed.cmp(&b.1.closed));
        let row = &mut looser[0];
        if let Some((i, b)) = best
            && row
                .threshold
                .is_none_or(|t| b.threshold.is_some_and(|bt| bt > t))
        {
            *row = RiskRow {
                alpha: row.alpha,
                ..b.clone()
            };
            checks[j].row = match checks[i].row {
                RowSource::Tighter { alpha } => RowSource::Tighter { alpha },
                _ => RowSource::Tighter {
                    alpha: checks[i].alpha,
                },
            };
        }
    }
    table.cross_fit = Some(CrossFit {
        folds: folds as u32,
        split: RiskSplit {
            rows: split.rows,
            eligible: split.eligible,
            table: split.table,
        },
        checks,
    });
    table
}

/// The deployed model's held-out rows closed at `threshold`: kept unless their measured
/// attack rate exceeds α (no threshold, or nothing closed, is nothing against it).
fn check(alpha: f64, threshold: Option<f64>, held_out: &Scored<'_>) -> HeldOutCheck {
    let (mut closed, mut attacks) = (0u64, 0u64);
    if let Some(t) = threshold {
        for ((&p, &e), &a) in held_out
            .p
            .iter()
            .zip(held_out.eligible)
            .zip(held_out.attack)
        {
            if e && p <= t {
                closed += 1;
                attacks += u64::from(a);
            }
        }
    }
    HeldOutCheck {
        alpha,
        cross_fitted: threshold,
        closed,
        attacks,
        kept: attacks as f64 <= alpha * closed as f64,
        row: RowSource::CrossFitted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_row(alpha: f64, threshold: Option<f64>) -> RiskRow {
        RiskRow {
            alpha,
            threshold,
            closed: 10,
            attacks: 0,
            upper_bound: alpha,
            benign_coverage: 0.1,
            more_benign_rows: None,
        }
    }

    /// A split table of `rows` rows that certified nothing at any α.
    fn uncertified_split(rows: u64) -> RiskTable {
        RiskTable {
            delta: 0.05,
            max_threshold: 0.2,
            rows,
            eligible: rows,
            base_rate: None,
            table: risk::ALPHAS.iter().map(|&a| split_row(a, None)).collect(),
            cross_fit: None,
        }
    }

    #[test]
    fn a_threshold_the_held_out_split_refutes_falls_back_to_the_splits_own_row() {
        // 30,000 clean out-of-fold rows below 0.1 certify every α of the table.
        let n = 30_000;
        let oof = OutOfFold {
            p: (0..n).map(|i| i as f64 / n as f64 * 0.1).collect(),
            eligible: vec![true; n],
            attack: vec![false; n],
        };
        // The deployed model's held-out rows: one attack in 50 rows closed at any threshold.
        let p: Vec<f64> = (0..50).map(|i| f64::from(i) / 1_000.0).collect();
        let attack: Vec<bool> = (0..50).map(|i| i == 0).collect();
        let held = Scored {
            p: &p,
            eligible: &[true; 50],
            attack: &attack,
        };
        let split = uncertified_split(50);
        let t = certify(&oof, &held, split, 5, &TrainOptions::default());
        let cf = t.cross_fit.as_ref().expect("cross-fitted");
        for (row, check) in t.table.iter().zip(&cf.checks) {
            assert!(check.cross_fitted.is_some(), "{check:?}");
            // 1 attack in 50 is 2 %: refuted for α < 2 %, kept from α = 2 %.
            if check.alpha < 0.02 {
                assert!(!check.kept, "{check:?}");
                assert_eq!(row.threshold, None, "{row:?}");
            } else {
                assert!(check.kept, "{check:?}");
                assert_eq!(row.threshold, check.cross_fitted);
                assert!(row.closed > 1_000, "{row:?}");
            }
        }
        assert_eq!(t.rows, n as u64);
        assert_eq!(cf.split.rows, 50);
    }

    #[test]
    fn a_looser_alpha_never_closes_less_than_a_tighter_one_after_a_fallback() {
        // Out-of-fold rows clean up to 0.05, then one attack in every 60 rows: α = 0.005 gets a
        // threshold near 0.05, α = 0.02 one well above it.
        let n = 40_000;
        let oof = OutOfFold {
            p: (0..n).map(|i| i as f64 / n as f64 * 0.2).collect(),
            eligible: vec![true; n],
            attack: (0..n).map(|i| i >= n / 4 && i % 60 == 0).collect(),
        };
        // Held out: clean below 0.06, attacks above: only the looser α's threshold is refuted.
        let p: Vec<f64> = (0..200).map(|i| f64::from(i) / 1_000.0).collect();
        let attack: Vec<bool> = (0..200).map(|i| i >= 60).collect();
        let held = Scored {
            p: &p,
            eligible: &[true; 200],
            attack: &attack,
        };
        let split = uncertified_split(200);
        let t = certify(&oof, &held, split, 5, &TrainOptions::default());
        let checks = &t.cross_fit.as_ref().unwrap().checks;
        let refuted: Vec<f64> = checks.iter().filter(|c| !c.kept).map(|c| c.alpha).collect();
        assert!(!refuted.is_empty(), "{checks:?}");
        assert!(
            checks.iter().any(|c| c.kept && c.cross_fitted.is_some()),
            "{checks:?}"
        );
        for (c, r) in checks.iter().zip(&t.table) {
            match c.row {
                RowSource::CrossFitted => assert!(c.kept && r.threshold == c.cross_fitted),
                RowSource::Split => assert!(!c.kept),
                RowSource::Tighter { alpha } => assert!(alpha < c.alpha, "{c:?}"),
            }
        }
        assert!(
            checks
                .iter()
                .any(|c| matches!(c.row, RowSource::Tighter { .. })),
            "{checks:?}"
        );
        for w in t.table.windows(2) {
            assert!(w[1].closed >= w[0].closed, "{:?}", t.table);
            assert!(w[1].threshold >= w[0].threshold, "{:?}", t.table);
        }
        for r in &t.table {
            assert!(r.threshold.is_none() || r.upper_bound <= r.alpha, "{r:?}");
        }
    }

    #[test]
    fn a_value_the_fold_pipeline_never_trained_on_counts_as_unseen_for_its_rows() {
        use arbiter_model::encode::{Encoder, EncoderSpec, FeatureCoding};
        let encoder = Encoder::from_spec(EncoderSpec {
            names: vec!["proto".into(), "bytes".into()],
            codings: vec![
                FeatureCoding::Categorical {
                    values: vec!["tcp".into(), "udp".into(), "icmp".into()],
                },
                FeatureCoding::Numeric,
            ],
        });
        // Rows 0-1 tcp, 2 udp, 3 icmp, 4 missing; the fold pipeline trains on rows 0-2.
        let x = vec![0.0, 1.0, 0.0, 2.0, 1.0, 3.0, 2.0, 4.0, f64::NAN, 5.0];
        let p = Prepared {
            encoder,
            x,
            notes: vec![Default::default(); 5],
            width: 2,
            classes: vec!["benign".into()],
            class: vec![0; 5],
            malicious: vec![false; 5],
            weight: vec![1.0; 5],
            parts: Default::default(),
            labels: Vec::new(),
            data_files: Vec::new(),
        };
        let seen = Seen::of(&p, &[0, 1, 2]);
        assert!(seen.notes(&p, 1).unseen.is_empty(), "tcp was trained on");
        assert_eq!(seen.notes(&p, 3).unseen, vec![(0, "icmp".to_string())]);
        assert!(
            seen.notes(&p, 4).unseen.is_empty(),
            "a missing value is not unseen"
        );
    }
}
