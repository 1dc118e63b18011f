//! Out-of-distribution detection: distance to the nearest training rows.
//!
//! Numbers are put on one scale (signed `ln(1 + |x|)` for heavy tails, then z-scored on
//! training rows and clipped to ±[`Z_CLIP`]); a categorical mismatch costs
//! [`CATEGORICAL_MISMATCH`]. A row's distance is the mean Euclidean distance to its `k` nearest
//! reference rows (a deduplicated, seeded sample of the training split); missing coordinates of
//! the query are left out. The score is the share of calibration rows that were nearer than
//! this row — 0 is typical, 1 is beyond everything seen.
//!
//! The search is exact brute force with partial-distance pruning, parallel over queries.

use std::collections::HashSet;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::encode::{Encoder, FeatureCoding};

/// Largest absolute z-score one coordinate may contribute.
pub const Z_CLIP: f32 = 8.0;
/// Squared-distance cost of a categorical mismatch (one z-unit).
pub const CATEGORICAL_MISMATCH: f32 = 1.0;

/// The fitted scaling and calibration of the detector, as stored in `model.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OodSpec {
    pub method: String,
    pub k: usize,
    /// Distinct training rows kept as the reference.
    pub reference_rows: usize,
    /// Per numeric feature (in encoder order): (mean, sd) of `ln(1 + |x|)·sign(x)`.
    pub numeric: Vec<(usize, f64, f64)>,
    /// Encoder indices of categorical features.
    pub categorical: Vec<usize>,
    /// Sorted distances of calibration rows.
    pub calibration: Vec<f64>,
}

/// Reference rows, stored beside `model.json` as `ood-reference.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    pub rows: usize,
    /// Row-major scaled numeric coordinates (missing stored as 0, the training mean).
    pub numeric: Vec<f32>,
    /// Row-major categorical codes (`u32::MAX` for missing).
    pub codes: Vec<u32>,
}

/// A ready detector.
#[derive(Debug, Clone)]
pub struct Detector {
    pub spec: OodSpec,
    pub reference: Reference,
}

fn squash(x: f64) -> f64 {
    x.signum() * x.abs().ln_1p()
}

impl OodSpec {
    /// Scales one encoded row: (numeric coordinates or NaN when missing, codes).
    fn scale(&self, row: &[f64]) -> (Vec<f32>, Vec<u32>) {
        let num = self
            .numeric
            .iter()
            .map(|&(i, mean, sd)| {
                let x = row[i];
                if x.is_nan() {
                    f32::NAN
                } else {
                    (((squash(x) - mean) / sd) as f32).clamp(-Z_CLIP, Z_CLIP)
                }
            })
            .collect();
        let codes = self
            .categorical
            .iter()
            .map(|&i| {
                let x = row[i];
                if x.is_nan() { u32::MAX } else { x as u32 }
            })
            .collect();
        (num, codes)
    }
}

impl Detector {
    /// Fits scaling on the training matrix and samples up to `max_reference` distinct rows.
    pub fn fit(
        encoder: &Encoder,
        x: &[f64],
        rows: usize,
        k: usize,
        max_reference: usize,
        seed: u64,
    ) -> Detector {
        let width = encoder.width();
        let mut numeric = Vec::new();
        let mut categorical = Vec::new();
        for (i, c) in encoder.spec.codings.iter().enumerate() {
            match c {
                FeatureCoding::Categorical { .. } => categorical.push(i),
                FeatureCoding::Numeric => {
                    let vals: Vec<f64> = (0..rows)
                        .map(|r| x[r * width + i])
                        .filter(|v| !v.is_nan())
                        .map(squash)
                        .collect();
                    let n = vals.len().max(1) as f64;
                    let mean = vals.iter().sum::<f64>() / n;
                    let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
                    let sd = if var.sqrt() < 1e-6 { 1.0 } else { var.sqrt() };
                    numeric.push((i, mean, sd));
                }
            }
        }
        let mut spec = OodSpec {
            method: "knn".into(),
            k,
            reference_rows: 0,
            numeric,
            categorical,
            calibration: Vec::new(),
        };
        let mut seen = HashSet::new();
        let mut distinct: Vec<(Vec<f32>, Vec<u32>)> = Vec::new();
        for r in 0..rows {
            let (mut num, codes) = spec.scale(&x[r * width..(r + 1) * width]);
            for v in &mut num {
                if v.is_nan() {
                    *v = 0.0;
                }
            }
            let key: Vec<u32> = num
                .iter()
                .map(|v| v.to_bits())
                .chain(codes.iter().copied())
                .collect();
            if seen.insert(key) {
                distinct.push((num, codes));
            }
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        distinct.shuffle(&mut rng);
        distinct.truncate(max_reference);
        spec.reference_rows = distinct.len();
        let reference = Reference {
            rows: distinct.len(),
            numeric: distinct.iter().flat_map(|d| d.0.iter().copied()).collect(),
            codes: distinct.iter().flat_map(|d| d.1.iter().copied()).collect(),
        };
        Detector { spec, reference }
    }

    /// Mean distance to the `k` nearest reference rows, for each row of a matrix.
    pub fn distances(&self, x: &[f64], width: usize) -> Vec<f64> {
        x.par_chunks(width).map(|row| self.distance(row)).collect()
    }

    fn distance(&self, row: &[f64]) -> f64 {
        let (num, codes) = self.spec.scale(row);
        let present: Vec<(usize, f32)> = num
            .iter()
            .enumerate()
            .filter(|(_, v)| !v.is_nan())
            .map(|(i, v)| (i, *v))
            .collect();
        let dn = self.spec.numeric.len();
        let dc = self.spec.categorical.len();
        let k = self.spec.k.max(1).min(self.reference.rows.max(1));
        let mut best = vec![f32::INFINITY; k];
        for r in 0..self.reference.rows {
            let bound = best[k - 1];
            let refc = &self.reference.codes[r * dc..(r + 1) * dc];
            let mut d: f32 = codes
                .iter()
                .zip(refc)
                .filter(|(a, b)| **a != u32::MAX && a != b)
                .count() as f32
                * CATEGORICAL_MISMATCH;
            let refn = &self.reference.numeric[r * dn..(r + 1) * dn];
            for chunk in present.chunks(8) {
                for &(i, v) in chunk {
                    let diff = v - refn[i];
                    d += diff * diff;
                }
                if d >= bound {
                    break;
                }
            }
            if d < bound {
                let pos = best.partition_point(|&b| b <= d);
                best.insert(pos, d);
                best.pop();
            }
        }
        let found: Vec<f32> = best.into_iter().filter(|b| b.is_finite()).collect();
        if found.is_empty() {
            return f64::INFINITY;
        }
        found.iter().map(|d| f64::from(d.sqrt())).sum::<f64>() / found.len() as f64
    }

    /// Stores the sorted distances of calibration rows.
    pub fn calibrate(&mut self, distances: &[f64]) {
        let mut d = distances.to_vec();
        d.sort_by(f64::total_cmp);
        self.spec.calibration = d;
    }

    /// Share of calibration rows nearer than `distance`, in [0, 1].
    pub fn score(&self, distance: f64) -> f64 {
        let cal = &self.spec.calibration;
        if cal.is_empty() {
            return 0.0;
        }
        cal.partition_point(|&c| c < distance) as f64 / cal.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arbiter_core::Schema;
    use arbiter_ingest::{Record, Value};

    fn encoder() -> Encoder {
        let schema = Schema::from_yaml(
            "format_version: 1\nname: t\nrevision: 1\nsource: {format: csv}\nfields:\n  - {name: a, role: numeric}\n  - {name: b, role: numeric}\n  - {name: c, role: categorical}\n",
            "t",
        )
        .unwrap();
        let recs: Vec<Record> = ["x", "y"]
            .iter()
            .map(|c| Record {
                line: 1,
                features: vec![Value::Num(0.0), Value::Num(0.0), Value::Cat(c.to_string())],
                label: None,
                category: None,
                time_ms: None,
                ids: vec![],
            })
            .collect();
        Encoder::fit(&schema, &recs)
    }

    #[test]
    fn rows_far_from_training_score_higher_than_rows_inside_it() {
        let enc = encoder();
        let mut x = Vec::new();
        for i in 0..400 {
            let t = f64::from(i) / 400.0;
            x.extend_from_slice(&[10.0 + t * 5.0, 100.0 * t, f64::from(i % 2)]);
        }
        let mut det = Detector::fit(&enc, &x, 400, 5, 10_000, 1);
        let cal = det.distances(&x[..300], 3);
        det.calibrate(&cal);
        let inside = det.distances(&[12.0, 40.0, 0.0], 3)[0];
        let outside = det.distances(&[1e6, 40.0, 0.0], 3)[0];
        let unseen_missing = det.distances(&[f64::NAN, 40.0, 1.0], 3)[0];
        assert!(det.score(inside) < 0.99);
        assert!(det.score(outside) == 1.0, "{}", det.score(outside));
        assert!(
            unseen_missing.is_finite(),
            "a missing coordinate is left out, not fatal"
        );
    }

    #[test]
    fn pruned_search_finds_the_same_neighbours_as_a_plain_scan() {
        let enc = encoder();
        let mut x = Vec::new();
        for i in 0..500u32 {
            let a = f64::from((i * 7919) % 101);
            let b = f64::from((i * 104_729) % 997);
            x.extend_from_slice(&[a, b, f64::from(i % 2)]);
        }
        let det = Detector::fit(&enc, &x, 500, 3, 10_000, 1);
        let q = [37.0, 512.0, 1.0];
        let fast = det.distances(&q, 3)[0];
        let (num, codes) = det.spec.scale(&q);
        let mut all: Vec<f32> = (0..det.reference.rows)
            .map(|r| {
                let n = &det.reference.numeric[r * 2..r * 2 + 2];
                let c = det.reference.codes[r];
                let mut d = (num[0] - n[0]).powi(2) + (num[1] - n[1]).powi(2);
                if c != codes[0] {
                    d += CATEGORICAL_MISMATCH;
                }
                d
            })
            .collect();
        all.sort_by(f32::total_cmp);
        let slow = all[..3].iter().map(|d| f64::from(d.sqrt())).sum::<f64>() / 3.0;
        assert!((fast - slow).abs() < 1e-6, "{fast} vs {slow}");
    }
}
