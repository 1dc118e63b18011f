//! Fitting the OOD detector ([`Detector`]): the scale of each numeric coordinate on training
//! rows, the deduplicated and seeded reference sample of each class, and the calibration
//! distances that turn a distance into a score. See [`arbiter_model::ood`] for how it measures.

use std::collections::HashSet;

use arbiter_model::encode::{Encoder, FeatureCoding};
use arbiter_model::ood::{Detector, OodMethod, OodSpec, Reference, SD_FLOOR, squash};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

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

/// Stores the sorted distances of calibration rows, each measured against the reference of
/// its true class.
pub fn calibrate(detector: &mut Detector, distances: &[f64], malicious: &[bool]) {
    let global = detector.spec.method == OodMethod::KnnGlobal;
    for class in [false, true] {
        let mut d: Vec<f64> = distances
            .iter()
            .zip(malicious)
            .filter(|(_, m)| global || **m == class)
            .map(|(d, _)| *d)
            .collect();
        d.sort_by(f64::total_cmp);
        detector.spec.calibration[usize::from(class)] = d;
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
        crate::encode::fit(&schema, &recs)
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
        let mut det = fit(&enc, &x, &benign, OodMethod::KnnVerdict, 5, 10_000, 1);
        let cal = det.distances(&x[..900], 3, &benign[..300]);
        calibrate(&mut det, &cal, &benign[..300]);
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
        let mut det = fit(&enc, &x, &malicious, OodMethod::KnnVerdict, 5, 10_000, 1);
        let cal = det.distances(&x, 3, &malicious);
        calibrate(&mut det, &cal, &malicious);
        let q = [1003.0, 5.0, 0.0];
        let as_malicious = det.distances(&q, 3, &[true])[0];
        let as_benign = det.distances(&q, 3, &[false])[0];
        assert!(det.score(as_malicious, true) < 0.9, "near known attacks");
        assert_eq!(det.score(as_benign, false), 1.0, "unlike any benign row");
    }
}
