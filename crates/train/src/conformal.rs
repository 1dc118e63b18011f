//! Fitting the class-conditional conformal scores ([`Conformal`]) on the conformal split.

use arbiter_model::conformal::Conformal;

/// Collects the sorted nonconformity scores of calibration rows, by class, from their
/// calibrated probabilities and binary truth.
pub fn fit(p: &[f64], malicious: &[bool]) -> Conformal {
    let mut benign = Vec::new();
    let mut mal = Vec::new();
    for (&p, &m) in p.iter().zip(malicious) {
        if m {
            mal.push(1.0 - p);
        } else {
            benign.push(p);
        }
    }
    benign.sort_by(f64::total_cmp);
    mal.sort_by(f64::total_cmp);
    Conformal {
        benign,
        malicious: mal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arbiter_core::Verdict;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Exchangeable synthetic data: class-conditional coverage must reach 1 − α up to binomial
    /// sampling error (4 standard deviations, so the test does not flake).
    #[test]
    fn coverage_per_class_holds_on_exchangeable_data() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut draw = |n: usize| -> (Vec<f64>, Vec<bool>) {
            (0..n)
                .map(|_| {
                    let m = rng.random_bool(0.2);
                    // Overlapping scores: malicious rows skew high, benign rows low.
                    let u: f64 = rng.random();
                    let p = if m { u.sqrt() } else { u * u };
                    (p, m)
                })
                .unzip()
        };
        let (cal_p, cal_y) = draw(5_000);
        let (test_p, test_y) = draw(20_000);
        let conf = fit(&cal_p, &cal_y);
        for alpha in [0.01, 0.05, 0.1, 0.2] {
            let th = conf.thresholds(alpha);
            for class in [false, true] {
                let rows: Vec<f64> = test_p
                    .iter()
                    .zip(&test_y)
                    .filter(|(_, y)| **y == class)
                    .map(|(p, _)| *p)
                    .collect();
                let want = if class {
                    Verdict::Malicious
                } else {
                    Verdict::Benign
                };
                let covered = rows
                    .iter()
                    .filter(|p| Conformal::set(**p, th).contains(&want))
                    .count() as f64
                    / rows.len() as f64;
                let sd = (alpha * (1.0 - alpha) / rows.len() as f64).sqrt();
                assert!(
                    covered >= 1.0 - alpha - 4.0 * sd,
                    "class {class} at α={alpha}: coverage {covered}"
                );
                assert!(
                    covered <= 1.0 - alpha + 4.0 * sd + 1.0 / rows.len() as f64 + 0.01,
                    "class {class} at α={alpha}: coverage {covered} is needlessly conservative"
                );
            }
        }
    }
}
