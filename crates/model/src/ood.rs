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
//! The search is exact (see [`crate::knn`]) and parallel over queries. The references and the
//! scaling are fitted by `arbiter-train`; this module measures and scores.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

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

/// The signed log `sign(x)·ln(1 + |x|)` every numeric coordinate goes through before it is
/// z-scored; fitting the scale uses the same map.
pub fn squash(x: f64) -> f64 {
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

    /// The `k` nearest reference rows of a class to one encoded row, as (row, distance).
    pub fn nearest(&self, row: &[f64], malicious: bool, k: usize) -> Vec<(usize, f32)> {
        let (num, codes) = self.spec.scale(row);
        let c = usize::from(malicious);
        self.indexes[c].nearest(&self.references[c], &num, &codes, k)
    }

    /// The `k` nearest reference rows of a class to already scaled coordinates.
    pub fn nearest_scaled(
        &self,
        malicious: bool,
        num: &[f32],
        codes: &[u32],
        k: usize,
    ) -> Vec<(usize, f32)> {
        let c = usize::from(malicious);
        self.indexes[c].nearest(&self.references[c], num, codes, k)
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

    fn detector() -> Detector {
        let spec = OodSpec {
            method: OodMethod::KnnVerdict,
            k: 1,
            reference_rows: [2, 1],
            numeric: vec![(0, 0.0, 1.0)],
            categorical: vec![1],
            calibration: [vec![0.1, 0.2, 0.3, 0.4], vec![0.5]],
        };
        let benign = Reference {
            rows: 2,
            numeric: vec![0.0, 1.0],
            codes: vec![0, 0],
        };
        let malicious = Reference {
            rows: 1,
            numeric: vec![5.0],
            codes: vec![1],
        };
        Detector::new(spec, [benign, malicious])
    }

    #[test]
    fn the_score_is_the_share_of_calibration_rows_of_the_class_that_were_nearer() {
        let d = detector();
        assert_eq!(d.score(0.25, false), 0.5);
        assert_eq!(d.score(0.05, false), 0.0);
        assert_eq!(d.score(9.0, false), 1.0);
        assert_eq!(d.score(0.25, true), 0.0, "measured against its own class");
    }

    #[test]
    fn a_row_is_measured_against_the_reference_of_its_verdict() {
        let d = detector();
        // ln(1 + 4) ≈ 1.61 in z-units: 0.61 from the nearest benign row, and a categorical
        // mismatch plus 3.39 from the malicious one.
        let x = [4.0, 0.0];
        let as_benign = d.distances(&x, 2, &[false])[0];
        let as_malicious = d.distances(&x, 2, &[true])[0];
        assert!(
            (as_benign - (squash(4.0) - 1.0)).abs() < 1e-6,
            "{as_benign}"
        );
        assert!(as_malicious > as_benign, "{as_malicious}");
    }

    #[test]
    fn scaling_clips_heavy_tails_and_keeps_missing_values_missing() {
        let d = detector();
        let (num, codes) = d.spec.scale(&[1e300, f64::NAN]);
        assert_eq!(num, vec![Z_CLIP]);
        assert_eq!(codes, vec![u32::MAX]);
    }
}
