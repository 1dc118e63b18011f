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
    /// Present when the table was certified on cross-fitted (out-of-fold) scores of every
    /// labelled row instead of on the risk-control split alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cross_fit: Option<CrossFit>,
}

/// How a cross-fitted table was made, and how the deployed model fared against it.
///
/// Every labelled row is scored by a pipeline (trees, calibrator, conformal sets, OOD
/// detector) fitted on the other folds only, and the same Learn-then-Test procedure runs on
/// those pooled out-of-fold scores. The deployed model is a different fit, on more rows, so
/// its table rests on an assumption the split table does not need: that it is at least as
/// safe at a threshold as the fold pipelines were. Each α is therefore checked on the
/// deployed model's own risk-control split, which it never saw; where the attack rate measured
/// there exceeds α, the row falls back to what the split alone certified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossFit {
    pub folds: u32,
    /// What the risk-control split alone certified for the deployed model, for comparison and
    /// as the fallback.
    pub split: RiskSplit,
    /// One check per α of the table, in the same order.
    pub checks: Vec<HeldOutCheck>,
}

/// The table the risk-control split alone gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskSplit {
    pub rows: u64,
    pub eligible: u64,
    pub table: Vec<RiskRow>,
}

/// The deployed model on its held-out risk-control split at one cross-fitted threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldOutCheck {
    pub alpha: f64,
    /// The threshold the out-of-fold scores certified, if any.
    pub cross_fitted: Option<f64>,
    /// Held-out rows the deployed model would close at it.
    pub closed: u64,
    /// Attacks among them.
    pub attacks: u64,
    /// Whether the cross-fitted row passed the check; when not, the split's row replaced it.
    pub kept: bool,
    /// Where the table's row for this α came from.
    pub row: RowSource,
}

/// The origin of a cross-fitted table's row.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "from")]
pub enum RowSource {
    /// The out-of-fold certificate, which passed the held-out check.
    CrossFitted,
    /// The risk-control split's own certificate (the cross-fitted one was refuted).
    Split,
    /// The row of a tighter α, which closes more than this α's own and is certified for it too.
    Tighter { alpha: f64 },
}

impl RowSource {
    /// The rows a row of this origin counts: every labelled row out of fold, or the split's.
    pub fn rows_counted(self) -> &'static str {
        match self {
            RowSource::Split => "risk-control rows",
            RowSource::CrossFitted | RowSource::Tighter { .. } => "labelled rows",
        }
    }

    /// Which row the table uses, for a reader.
    pub fn describe(self) -> String {
        match self {
            RowSource::CrossFitted => "the cross-fitted row".into(),
            RowSource::Split => {
                "the split's own row (the cross-fitted threshold was refuted)".into()
            }
            RowSource::Tighter { alpha } => {
                format!("α = {alpha}'s row (it closes more and is certified for this α too)")
            }
        }
    }
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
            cross_fit: None,
        };
        assert_eq!(t.row(0.01).map(|r| r.threshold), Some(Some(0.001)));
        assert!(t.row(0.02).is_none());
    }
}
