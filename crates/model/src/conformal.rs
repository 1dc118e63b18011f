//! Class-conditional (Mondrian) split conformal prediction for the binary verdict.
//!
//! The nonconformity of verdict `c` for a row is `1 − p(c)`, with `p` the calibrated
//! probability. For each class the calibration scores of rows *of that class* are kept sorted,
//! so that for any level α the set `{c : 1 − p(c) ≤ q_c(α)}` covers rows of class `c` with
//! probability at least 1 − α, whatever the class balance (Vovk et al.; Angelopoulos & Bates).

use arbiter_core::Verdict;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conformal {
    /// Sorted nonconformity scores of benign calibration rows (`p_malicious`).
    pub benign: Vec<f64>,
    /// Sorted nonconformity scores of malicious calibration rows (`1 − p_malicious`).
    pub malicious: Vec<f64>,
}

/// The conformal quantile: the ⌈(n+1)(1−α)⌉-th smallest score, or +∞ when that rank exceeds
/// n (too few calibration rows to exclude anything at this α).
pub fn quantile(sorted: &[f64], alpha: f64) -> f64 {
    let n = sorted.len();
    let rank = ((n as f64 + 1.0) * (1.0 - alpha)).ceil() as usize;
    if rank == 0 {
        return f64::NEG_INFINITY;
    }
    if rank > n {
        return f64::INFINITY;
    }
    sorted[rank - 1]
}

impl Conformal {
    /// Fits on calibrated probabilities and binary truth of calibration rows.
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

    /// Thresholds for a level α: (benign, malicious).
    pub fn thresholds(&self, alpha: f64) -> (f64, f64) {
        (
            quantile(&self.benign, alpha),
            quantile(&self.malicious, alpha),
        )
    }

    /// The prediction set for a calibrated probability, given thresholds from
    /// [`Conformal::thresholds`].
    pub fn set(p: f64, thresholds: (f64, f64)) -> Vec<Verdict> {
        let mut out = Vec::with_capacity(2);
        if p <= thresholds.0 {
            out.push(Verdict::Benign);
        }
        if 1.0 - p <= thresholds.1 {
            out.push(Verdict::Malicious);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn the_quantile_uses_the_finite_sample_rank() {
        let s: Vec<f64> = (1..=9).map(f64::from).collect();
        // (9 + 1) · 0.9 = 9 → the 9th smallest.
        assert_eq!(quantile(&s, 0.1), 9.0);
        // (9 + 1) · 0.95 = 9.5 → rank 10 > 9 → include everything.
        assert_eq!(quantile(&s, 0.05), f64::INFINITY);
        assert_eq!(quantile(&s, 0.5), 5.0);
    }

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
        let conf = Conformal::fit(&cal_p, &cal_y);
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
