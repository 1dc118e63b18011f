//! The risk-control table: for each target α, the auto-close threshold whose attack rate among
//! auto-closed rows is provably at most α, with confidence 1 − δ.
//!
//! `arbiter-train` certifies the table by Learn-then-Test with fixed-sequence testing and
//! Clopper–Pearson bounds (Angelopoulos et al. 2021); this module holds it and looks rows up.

use serde::{Deserialize, Serialize};

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskRow {
    /// Target bound on the attack rate among auto-closed rows.
    pub alpha: f64,
    /// Auto-close when the calibrated probability is at most this; `None` when no threshold
    /// can be certified (auto-close stays off at this α).
    pub threshold: Option<f64>,
    /// Calibration rows closed at the threshold.
    pub closed: u64,
    /// Attacks among them.
    pub attacks: u64,
    /// Upper bound on their attack rate at confidence 1 − δ: Clopper–Pearson on the rows
    /// themselves, or, under a declared base rate, the bound from the two classes' rates.
    pub upper_bound: f64,
    /// Share of benign calibration rows closed.
    pub benign_coverage: f64,
    /// When no threshold is certified: about how many more benign risk-control rows (with
    /// attacks in the measured proportion) would let the best candidate threshold certify α;
    /// `Some(0)` never appears, and `None` with no threshold means more rows of the same kind
    /// would not help (every candidate's measured attack rate is already at or above α).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub more_benign_rows: Option<u64>,
}

/// The table and how it was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskTable {
    pub delta: f64,
    /// No threshold above this is considered: a row the model does not call benign with some
    /// confidence is never auto-closed, however few attacks the calibration rows hold.
    pub max_threshold: f64,
    /// Calibration rows considered (all of the risk split).
    pub rows: u64,
    /// Of which eligible: carrying no uncertainty flag.
    pub eligible: u64,
    /// The attack share expected in deployment, when one was declared at training: the table
    /// is then certified for that share by reweighting the two classes (only the class share
    /// is assumed to change), not for the calibration rows' own share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_rate: Option<f64>,
    pub table: Vec<RiskRow>,
}

impl RiskTable {
    /// The row for α, if the table has it.
    pub fn row(&self, alpha: f64) -> Option<&RiskRow> {
        self.table.iter().find(|r| (r.alpha - alpha).abs() < 1e-12)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_is_found_by_its_alpha_and_an_unknown_alpha_finds_none() {
        let row = |alpha: f64| RiskRow {
            alpha,
            threshold: Some(alpha / 10.0),
            closed: 100,
            attacks: 0,
            upper_bound: alpha,
            benign_coverage: 0.5,
            more_benign_rows: None,
        };
        let t = RiskTable {
            delta: 0.05,
            max_threshold: 0.2,
            rows: 1000,
            eligible: 900,
            base_rate: None,
            table: vec![row(0.001), row(0.01)],
        };
        assert_eq!(t.row(0.01).map(|r| r.threshold), Some(Some(0.001)));
        assert!(t.row(0.02).is_none());
    }
}
