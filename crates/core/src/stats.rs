//! Statistics for scored alerts: ranking, calibration, classification,
//! selective-prediction (risk–coverage) and exact binomial bounds.
//!
//! All functions are pure. Slices that must describe the same rows
//! (scores and labels, predictions and truth) are checked with
//! `assert_eq!`: a length mismatch is a programming error, not a data error.

mod binomial;
mod calibration;
mod coverage;
mod scoring;

pub use binomial::{clopper_pearson_lower, clopper_pearson_upper};
pub use calibration::{ReliabilityBin, ece, reliability};
pub use coverage::{
    AutoClose, RISK_COVERAGE_MAX_POINTS, RiskCoveragePoint, aurc, auto_close, risk_at_coverage,
    risk_coverage,
};
pub use scoring::{brier, f1_binary, log_loss, macro_f1, per_class_f1, roc_auc};

/// Panics with a message naming both inputs when their lengths differ.
#[track_caller]
fn assert_same_len(what: &str, left: usize, right: usize) {
    assert_eq!(
        left, right,
        "{what}: the two slices must have the same length (got {left} and {right})"
    );
}
