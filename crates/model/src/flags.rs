//! Uncertainty flags: the reasons not to take a score at face value.
//!
//! The same function flags calibration rows at training time (to build the risk-control table
//! over exactly the rows the auto-close rule will see) and rows at scoring time.

use arbiter_core::{Flag, Verdict};
use serde::{Deserialize, Serialize};

/// Thresholds of the flags, stored in the bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlagRules {
    /// `out_of_distribution` when the OOD score reaches this share of calibration rows.
    pub ood_quantile: f64,
    /// `low_confidence` when the calibrated probability lies strictly inside this band.
    pub low_confidence_band: [f64; 2],
    /// `conflicting_signals` when the category head's benign probability and the detector's
    /// `1 − p` differ by more than this.
    pub head_disagreement: f64,
    /// Conformal level at which flags are judged (the bundle's default α).
    pub alpha: f64,
}

impl Default for FlagRules {
    fn default() -> Self {
        FlagRules {
            ood_quantile: 0.99,
            low_confidence_band: [0.2, 0.8],
            head_disagreement: 0.5,
            alpha: 0.05,
        }
    }
}

/// Everything the flags look at for one row.
#[derive(Debug, Clone)]
pub struct Evidence<'a> {
    pub p: f64,
    pub member_p: &'a [f64],
    pub conformal_set: &'a [Verdict],
    pub head_benign: f64,
    pub ood_score: f64,
    pub missing: bool,
    pub unseen_category: bool,
}

impl FlagRules {
    pub fn flags(&self, e: &Evidence<'_>) -> Vec<Flag> {
        let mut out = Vec::new();
        if e.unseen_category || e.ood_score >= self.ood_quantile {
            out.push(Flag::OutOfDistribution);
        }
        if e.missing {
            out.push(Flag::MissingTelemetry);
        }
        let above = e.member_p.iter().filter(|p| **p >= 0.5).count();
        let members_split = above > 0 && above < e.member_p.len();
        let both = e.conformal_set.len() == 2;
        let head_off = (e.head_benign - (1.0 - e.p)).abs() > self.head_disagreement;
        if members_split || both || head_off {
            out.push(Flag::ConflictingSignals);
        }
        let [lo, hi] = self.low_confidence_band;
        if (e.p > lo && e.p < hi) || e.conformal_set.is_empty() {
            out.push(Flag::LowConfidence);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calm() -> Evidence<'static> {
        Evidence {
            p: 0.01,
            member_p: &[0.01, 0.02, 0.01],
            conformal_set: &[Verdict::Benign],
            head_benign: 0.98,
            ood_score: 0.3,
            missing: false,
            unseen_category: false,
        }
    }

    #[test]
    fn a_calm_confident_row_carries_no_flag() {
        assert!(FlagRules::default().flags(&calm()).is_empty());
    }

    #[test]
    fn each_signal_raises_its_own_flag() {
        let r = FlagRules::default();
        let f = |e: Evidence<'_>| r.flags(&e);
        assert_eq!(
            f(Evidence {
                ood_score: 0.995,
                ..calm()
            }),
            vec![Flag::OutOfDistribution]
        );
        assert_eq!(
            f(Evidence {
                unseen_category: true,
                ..calm()
            }),
            vec![Flag::OutOfDistribution]
        );
        assert_eq!(
            f(Evidence {
                missing: true,
                ..calm()
            }),
            vec![Flag::MissingTelemetry]
        );
        assert_eq!(
            f(Evidence {
                member_p: &[0.1, 0.7],
                ..calm()
            }),
            vec![Flag::ConflictingSignals]
        );
        assert_eq!(
            f(Evidence {
                conformal_set: &[Verdict::Benign, Verdict::Malicious],
                ..calm()
            }),
            vec![Flag::ConflictingSignals]
        );
        assert_eq!(
            f(Evidence {
                head_benign: 0.2,
                ..calm()
            }),
            vec![Flag::ConflictingSignals]
        );
        assert_eq!(
            f(Evidence {
                p: 0.5,
                head_benign: 0.5,
                member_p: &[0.4, 0.45],
                ..calm()
            }),
            vec![Flag::LowConfidence]
        );
        assert_eq!(
            f(Evidence {
                conformal_set: &[],
                ..calm()
            }),
            vec![Flag::LowConfidence]
        );
    }
}
