//! Choosing how sensitive the OOD flag is ([`Rehearsal`]), by rehearsing novelty on the training data.
//!
//! The auto-close guarantee of the risk-control table only covers attacks like those in the
//! training data. Against a family never seen, the OOD flag is the only defence, so its level
//! is chosen by a leave-one-family-out rehearsal: for each attack family F, one plain model is
//! trained on the training split without F, and F's rows (never seen by that model) play the
//! novel attack. A row of F could be silently closed when that model calls it benign
//! (probability below the low-confidence band) and its OOD score against benign training rows
//! stays under the flag level. The level chosen is the least sensitive one on a grid at which,
//! for every family, at most `target` of its rows could be silently closed.

use arbiter_model::calibrate::sigmoid;
use arbiter_model::forest::Forest;
use arbiter_model::novelty::{FamilyRehearsal, Rehearsal};
use arbiter_model::ood::Detector;
use rayon::prelude::*;

use crate::error::TrainError;
use crate::lgbm::{self, TrainSpec};
use crate::options::TrainOptions;
use crate::prepare::{Prepared, gather};

/// Flag levels tried, least sensitive first.
pub const GRID: [f64; 11] = [0.99, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.5];

/// Runs the rehearsal and chooses the level. A row is "called benign" below `benign_below`.
pub(crate) fn rehearse(
    p: &Prepared,
    opts: &TrainOptions,
    benign_below: f64,
    detector: &Detector,
) -> Result<Rehearsal, TrainError> {
    let target = opts.novelty_target;
    let categorical = p.encoder.categorical();
    let mut results: Vec<FamilyRehearsal> = (1..p.classes.len())
        .into_par_iter()
        .map(|family| -> Result<FamilyRehearsal, TrainError> {
            let train: Vec<usize> = p.parts[0]
                .iter()
                .copied()
                .filter(|&r| p.class[r] != family)
                .collect();
            let y: Vec<f32> = train
                .iter()
                .map(|&r| f32::from(u8::from(p.malicious[r])))
                .collect();
            let text = lgbm::train(&TrainSpec {
                x: &p.rows(&train),
                n_features: p.width,
                y: &y,
                names: &p.encoder.spec.names,
                categorical: &categorical,
                params: vec![
                    ("objective".into(), "binary".into()),
                    ("seed".into(), opts.seed.to_string()),
                ],
                iterations: opts.iterations,
            })?;
            let forest = Forest::parse(&text)?;
            if let Some(dir) = &opts.rehearsal_signals {
                crate::signals::write(dir, p, family, &forest, detector, &train)?;
            }
            let rows: Vec<usize> = (0..p.class.len())
                .filter(|&r| p.class[r] == family)
                .collect();
            let xf = p.rows(&rows);
            let prob: Vec<f64> = xf
                .chunks(p.width)
                .map(|row| sigmoid(forest.raw(row)[0]))
                .collect();
            let benign: Vec<usize> = (0..rows.len())
                .filter(|&i| prob[i] < benign_below)
                .collect();
            let xb = gather(&xf, p.width, &benign);
            let mut ood_scores: Vec<f64> = detector
                .distances(&xb, p.width, &vec![false; benign.len()])
                .into_iter()
                .map(|d| detector.score(d, false))
                .collect();
            ood_scores.sort_by(f64::total_cmp);
            Ok(FamilyRehearsal {
                family: p.classes[family].clone(),
                rows: rows.len() as u64,
                called_benign: benign.len() as u64,
                ood_scores,
                closable: 0,
            })
        })
        .collect::<Result<_, _>>()?;
    let ok = |level: f64| {
        results
            .iter()
            .all(|f| f.closable_at(level) as f64 <= target * f.rows as f64)
    };
    let (chosen, met) = match GRID.iter().copied().find(|&l| ok(l)) {
        Some(l) => (l, true),
        None => (GRID[GRID.len() - 1], false),
    };
    results.sort_by(|a, b| a.family.cmp(&b.family));
    let mut r = Rehearsal {
        target,
        chosen,
        met,
        families: results,
        frontier: None,
    };
    r.set_level(chosen);
    Ok(r)
}
