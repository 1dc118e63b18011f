//! Class-conditional (Mondrian) split conformal prediction for the binary verdict.
//!
//! The nonconformity of verdict `c` for a row is `1 − p(c)`, with `p` the calibrated
//! probability. For each class the calibration scores of rows *of that class* are kept sorted,
//! so that for any level α the set `{c : 1 − p(c) ≤ q_c(α)}` covers rows of class `c` with
//! probability at least 1 − α, whatever the class balance (Vovk et al.; Angelopoulos & Bates).
//! `arbiter-train` collects the calibration scores; this module turns them into sets.

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

    #[test]
    fn the_quantile_uses_the_finite_sample_rank() {
        let s: Vec<f64> = (1..=9).map(f64::from).collect();
        // (9 + 1) · 0.9 = 9 → the 9th smallest.
        assert_eq!(quantile(&s, 0.1), 9.0);
        // (9 + 1) · 0.95 = 9.5 → rank 10 > 9 → include everything.
        assert_eq!(quantile(&s, 0.05), f64::INFINITY);
        assert_eq!(quantile(&s, 0.5), 5.0);
    }
}
