//! Candidate novelty signals of the rehearsal, written out for experiments
//! (`arbiter train --rehearsal-signals DIR`).
//!
//! For each left-out family F, one CSV (`DIR/F.csv`) holds a row per rehearsed row of F
//! (`kind = novel`) and per benign row of the conformal (`cal`) and risk-control (`test`)
//! splits, all scored by the plain model trained without F. Columns: the model's probability
//! `p`; k-NN distances to benign training rows (`d5`: mean of 5, `d1`: nearest) and `lrd_ref`,
//! the mean 5-NN distance of those 5 neighbours to their own neighbours (a local-density
//! scale); leaf-space support — for each tree, how many benign training rows (without F) reach
//! the leaf the row lands in: its minimum, 10th percentile and mean of `ln(1 + count)` over
//! trees, the share of trees with fewer than 5, and the same two statistics of LightGBM's own
//! `leaf_count` (all training rows); and `code`, the row's first categorical feature. The
//! comparison of these signals is `scripts/experiments/novelty-signals.py`.

use std::io::Write;
use std::path::Path;

use arbiter_model::calibrate::sigmoid;
use arbiter_model::forest::Forest;
use arbiter_model::ood::Detector;
use rayon::prelude::*;

use crate::error::TrainError;
use crate::prepare::Prepared;

const HEADER: &str =
    "kind,class,p,d5,d1,lrd_ref,leaf_min,leaf_q10,leaf_low,leaf_logmean,code,lc_q10,lc_logmean";

/// Writes `dir/<family>.csv` for the model trained without `family` on rows `train`;
/// `scale` is [`reference_scale`] of the detector, the same for every family.
#[allow(clippy::too_many_arguments)]
pub(crate) fn write(
    dir: &Path,
    p: &Prepared,
    family: usize,
    forest: &Forest,
    detector: &Detector,
    scale: &[f64],
    train: &[usize],
) -> Result<(), TrainError> {
    let support = benign_support(p, forest, train);
    let mut rows: Vec<(usize, &str)> = (0..p.class.len())
        .filter(|&r| p.class[r] == family)
        .map(|r| (r, "novel"))
        .collect();
    for (part, kind) in [(2usize, "cal"), (3, "test")] {
        rows.extend(
            p.parts[part]
                .iter()
                .filter(|&&r| !p.malicious[r])
                .map(|&r| (r, kind)),
        );
    }
    let first_cat = p.encoder.categorical().first().copied();
    let lines: Vec<String> = rows
        .par_iter()
        .map(|&(r, kind)| {
            let row = &p.x[r * p.width..(r + 1) * p.width];
            line(
                kind,
                &p.classes[p.class[r]],
                row,
                forest,
                &support,
                detector,
                scale,
                first_cat,
            )
        })
        .collect();
    std::fs::create_dir_all(dir).map_err(TrainError::io(dir))?;
    let path = dir.join(format!("{}.csv", p.classes[family]));
    let file = std::fs::File::create(&path).map_err(TrainError::io(&path))?;
    let mut out = std::io::BufWriter::new(file);
    writeln!(out, "{HEADER}").map_err(TrainError::io(&path))?;
    for l in lines {
        writeln!(out, "{l}").map_err(TrainError::io(&path))?;
    }
    out.flush().map_err(TrainError::io(&path))
}

/// Per tree and leaf, the benign training rows that reach it.
fn benign_support(p: &Prepared, forest: &Forest, train: &[usize]) -> Vec<Vec<u32>> {
    let mut support: Vec<Vec<u32>> = forest.trees.iter().map(|t| vec![0; t.num_leaves]).collect();
    for &r in train.iter().filter(|&&r| !p.malicious[r]) {
        let row = &p.x[r * p.width..(r + 1) * p.width];
        for (t, tree) in forest.trees.iter().enumerate() {
            support[t][tree.leaf(row)] += 1;
        }
    }
    support
}

/// Mean 5-NN distance of each benign reference row to the other reference rows.
pub(crate) fn reference_scale(detector: &Detector) -> Vec<f64> {
    let r = &detector.references[0];
    let (dn, dc) = (detector.spec.numeric.len(), detector.spec.categorical.len());
    (0..r.rows)
        .into_par_iter()
        .map(|i| {
            let num = &r.numeric[i * dn..(i + 1) * dn];
            let codes = &r.codes[i * dc..(i + 1) * dc];
            let nn = detector.nearest_scaled(false, num, codes, 6);
            nn.iter().skip(1).map(|x| f64::from(x.1)).sum::<f64>() / (nn.len().max(2) - 1) as f64
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn line(
    kind: &str,
    class: &str,
    row: &[f64],
    forest: &Forest,
    support: &[Vec<u32>],
    detector: &Detector,
    scale: &[f64],
    first_cat: Option<usize>,
) -> String {
    let prob = sigmoid(forest.raw(row)[0]);
    let nn = detector.nearest(row, false, 5);
    let n = nn.len().max(1) as f64;
    let d5 = nn.iter().map(|x| f64::from(x.1)).sum::<f64>() / n;
    let d1 = nn.first().map_or(f64::INFINITY, |x| f64::from(x.1));
    let lrd = nn.iter().map(|x| scale[x.0]).sum::<f64>() / n;
    let leaves: Vec<usize> = forest.trees.iter().map(|t| t.leaf(row)).collect();
    let mut counts: Vec<u32> = leaves
        .iter()
        .enumerate()
        .map(|(t, &l)| support[t][l])
        .collect();
    let trees = counts.len() as f64;
    let low = counts.iter().filter(|&&c| c < 5).count() as f64 / trees;
    let logmean = counts.iter().map(|&c| f64::from(c).ln_1p()).sum::<f64>() / trees;
    counts.sort_unstable();
    let mut all: Vec<f64> = forest
        .trees
        .iter()
        .zip(&leaves)
        .map(|(t, &l)| t.leaf_count[l])
        .collect();
    let all_logmean = all.iter().map(|c| c.ln_1p()).sum::<f64>() / trees;
    all.sort_by(f64::total_cmp);
    let code = first_cat.map_or(0.0, |j| row[j]);
    format!(
        "{kind},{class},{prob:.6e},{d5:.6},{d1:.6},{lrd:.6},{},{},{low:.4},{logmean:.4},{code},{},{all_logmean:.4}",
        counts[0],
        counts[counts.len() / 10],
        all[all.len() / 10],
    )
}
