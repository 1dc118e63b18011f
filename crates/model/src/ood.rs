//! Out-of-distribution detection: distance to the nearest training rows *of the verdict*.
//!
//! Numbers are put on one scale (signed `ln(1 + |x|)` for heavy tails, then z-scored on
//! training rows and clipped to ±[`Z_CLIP`]); a categorical mismatch costs
//! [`CATEGORICAL_MISMATCH`]. A row's distance is the mean Euclidean distance to its `k` nearest
//! reference rows; missing coordinates of the query are left out.
//!
//! The detector is verdict-conditional (Mondrian): there is one reference of benign training
//! rows and one of malicious training rows (each deduplicated and sampled with a seed), and a
//! row is measured against the reference of the verdict the model gives it. "Benign" must mean
//! "like benign traffic we know": a novel attack that sits near known attacks but is called
//! benign is far from every benign row, and a global reference would have hidden that. The
//! score is the share of calibration rows *of that class* that were nearer — 0 is typical,
//! 1 is beyond everything seen.
//!
//! The search is exact (see [`crate::knn`]) and parallel over queries.

use std::collections::HashSet;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::encode::{Encoder, FeatureCoding};
use crate::knn::Index;

/// Largest absolute z-score one coordinate may contribute.
pub const Z_CLIP: f32 = 8.0;
/// Squared-distance cost of a categorical mismatch (one z-unit).
pub const CATEGORICAL_MISMATCH: f32 = 1.0;

/// Smallest scale of a numeric coordinate (in signed-log units).
pub const SD_FLOOR: f64 = 1e-3;

/// Which training rows a row is measured against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OodMethod {
    /// Against training rows of the verdict the model gives (the default; see the module doc).
    KnnVerdict,
    /// Against all training rows, whatever the verdict (kept for comparison).
    KnnGlobal,
}

impl OodMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            OodMethod::KnnVerdict => "knn-verdict",
            OodMethod::KnnGlobal => "knn-global",
        }
    }

    /// Which rows a row is measured against, in words.
    pub fn against(self) -> &'static str {
        match self {
            OodMethod::KnnVerdict => "training rows of the verdict the model gives",
            OodMethod::KnnGlobal => "all training rows",
        }
    }
}

impl std::str::FromStr for OodMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "knn-verdict" => Ok(OodMethod::KnnVerdict),
            "knn-global" => Ok(OodMethod::KnnGlobal),
            other => Err(format!(
                "unknown OOD method {other:?}: expected knn-verdict or knn-global"
            )),
        }
    }
}

/// The fitted scaling and calibration of the detector, as stored in `model.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OodSpec {
    pub method: OodMethod,
    pub k: usize,
    /// Distinct training rows kept in each reference: [benign, malicious].
    pub reference_rows: [usize; 2],
    /// Per numeric feature (in encoder order): (mean, sd) of `ln(1 + |x|)·sign(x)`.
    pub numeric: Vec<(usize, f64, f64)>,
    /// Encoder indices of categorical features.
    pub categorical: Vec<usize>,
    /// Sorted distances of calibration rows to their own class's reference: [benign, malicious].
    pub calibration: [Vec<f64>; 2],
}

/// Reference rows of one class, stored beside `model.json` as `ood-benign.bin` and
/// `ood-malicious.bin`.
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
    /// [benign, malicious].
    pub references: [Reference; 2],
    indexes: [Index; 2],
}

fn squash(x: f64) -> f64 {
    x.signum() * x.abs().ln_1p()
}

impl OodSpec {
    /// Scales one encoded row: (numeric coordinates or NaN when missing, codes).
    pub fn scale(&self, row: &[f64]) -> (Vec<f32>, Vec<u32>) {
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
    /// Fits scaling on the training matrix and samples up to `max_reference` distinct rows of
    /// each class.
    pub fn fit(
        encoder: &Encoder,
        x: &[f64],
        malicious: &[bool],
        method: OodMethod,
        k: usize,
        max_reference: usize,
        seed: u64,
    ) -> Detector {
        let rows = malicious.len();
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
                    // A feature (nearly) constant in training makes any other value
                    // unprecedented: a tiny floor sends it straight to the clip.
                    let sd = var.sqrt().max(SD_FLOOR);
                    numeric.push((i, mean, sd));
                }
            }
        }
        let mut spec = OodSpec {
            method,
            k,
            reference_rows: [0, 0],
            numeric,
            categorical,
            calibration: [Vec::new(), Vec::new()],
        };
        let references = [false, true].map(|class| {
            let mut seen = HashSet::new();
            let mut distinct: Vec<(Vec<f32>, Vec<u32>)> = Vec::new();
            let member = |r: usize| method == OodMethod::KnnGlobal || malicious[r] == class;
            for r in (0..rows).filter(|&r| member(r)) {
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
            let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_add(u64::from(class)));
            distinct.shuffle(&mut rng);
            distinct.truncate(max_reference);
            Reference {
                rows: distinct.len(),
                numeric: distinct.iter().flat_map(|d| d.0.iter().copied()).collect(),
                codes: distinct.iter().flat_map(|d| d.1.iter().copied()).collect(),
            }
        });
        spec.reference_rows = [references[0].rows, references[1].rows];
        Detector::new(spec, references)
    }

    /// A detector from its stored parts; builds the search indexes.
    pub fn new(spec: OodSpec, references: [Reference; 2]) -> Detector {
        let (dn, dc) = (spec.numeric.len(), spec.categorical.len());
        let indexes = [
            Index::new(&references[0], dn, dc),
            Index::new(&references[1], dn, dc),
        ];
        Detector {
            spec,
            references,
            indexes,
        }
    }

    /// Mean distance to the `k` nearest reference rows of the given class, for each row of a
    /// matrix.
    pub fn distances(&self, x: &[f64], width: usize, malicious: &[bool]) -> Vec<f64> {
        x.par_chunks(width)
            .zip(malicious.par_iter())
            .map(|(row, &m)| {
                let (num, codes) = self.spec.scale(row);
                let c = usize::from(m);
                self.indexes[c].mean_distance(&self.references[c], &num, &codes, self.spec.k)
            })
            .collect()
    }

    /// Stores the sorted distances of calibration rows, each measured against the reference of
    /// its true class.
    pub fn calibrate(&mut self, distances: &[f64], malicious: &[bool]) {
        let global = self.spec.method == OodMethod::KnnGlobal;
        for class in [false, true] {
            let mut d: Vec<f64> = distances
                .iter()
                .zip(malicious)
                .filter(|(_, m)| global || **m == class)
                .map(|(d, _)| *d)
                .collect();
            d.sort_by(f64::total_cmp);
            self.spec.calibration[usize::from(class)] = d;
        }
    }

    /// Share of calibration rows of the class nearer than `distance`, in [0, 1].
    pub fn score(&self, distance: f64, malicious: bool) -> f64 {
        let cal = &self.spec.calibration[usize::from(malicious)];
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
        let benign = vec![false; 400];
        let mut det = Detector::fit(&enc, &x, &benign, OodMethod::KnnVerdict, 5, 10_000, 1);
        let cal = det.distances(&x[..900], 3, &benign[..300]);
        det.calibrate(&cal, &benign[..300]);
        let inside = det.distances(&[12.0, 40.0, 0.0], 3, &[false])[0];
        let outside = det.distances(&[1e6, 40.0, 0.0], 3, &[false])[0];
        let unseen_missing = det.distances(&[f64::NAN, 40.0, 1.0], 3, &[false])[0];
        assert!(det.score(inside, false) < 0.99);
        assert_eq!(det.score(outside, false), 1.0);
        assert!(
            unseen_missing.is_finite(),
            "a missing coordinate is left out, not fatal"
        );
    }

    #[test]
    fn a_row_called_benign_is_measured_against_benign_rows_only() {
        let enc = encoder();
        // Benign rows near a = 10, malicious rows near a = 1000.
        let mut x = Vec::new();
        let mut malicious = Vec::new();
        for i in 0..200 {
            let m = i % 2 == 1;
            let a = if m { 1000.0 } else { 10.0 } + f64::from(i % 7);
            x.extend_from_slice(&[a, 5.0, 0.0]);
            malicious.push(m);
        }
        let mut det = Detector::fit(&enc, &x, &malicious, OodMethod::KnnVerdict, 5, 10_000, 1);
        let cal = det.distances(&x, 3, &malicious);
        det.calibrate(&cal, &malicious);
        let q = [1003.0, 5.0, 0.0];
        let as_malicious = det.distances(&q, 3, &[true])[0];
        let as_benign = det.distances(&q, 3, &[false])[0];
        assert!(det.score(as_malicious, true) < 0.9, "near known attacks");
        assert_eq!(det.score(as_benign, false), 1.0, "unlike any benign row");
    }
}
