//! The two kinds of uncertainty, kept apart because they call for different responses.
//!
//! *Epistemic* uncertainty is what the model does not know: its members disagree, or the alert
//! lies far from anything it was trained on. More labelled cases like this one would reduce it,
//! and until then the probability itself may be wrong. *Aleatoric* uncertainty is class
//! overlap: cases that look exactly like this one are sometimes attacks and sometimes not. The
//! probability is honest (it is calibrated), it is just not decisive, and more training data
//! will not make it so; only more context about this alert will.
//!
//! ```
//! use arbiter_core::{Aleatoric, Epistemic, Level, binary_entropy};
//! assert!((binary_entropy(0.5) - 1.0).abs() < 1e-12);
//! let a = Aleatoric::assess(0.5, true);
//! assert_eq!(a.level, Level::High);
//! let e = Epistemic::assess(&[0.02, 0.03, 0.02], 0.4, false);
//! assert_eq!(e.level, Level::Low);
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

/// How much of one kind of uncertainty an alert carries, for the analyst's eye. The policy
/// routes on the measured values, not on this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    #[default]
    Low,
    Moderate,
    High,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Low => "low",
            Level::Moderate => "moderate",
            Level::High => "high",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Member disagreement (bits) from which epistemic uncertainty is at least moderate: members
/// at 0.40 and 0.60, or at 0.01 and 0.10, disagree by about this much.
pub const DISAGREEMENT_MODERATE: f64 = 0.02;
/// Member disagreement (bits) from which epistemic uncertainty is high: members at 0.30 and
/// 0.70 disagree by 0.12 bits.
pub const DISAGREEMENT_HIGH: f64 = 0.1;
/// Distance (share of calibration rows nearer to training) from which epistemic uncertainty is
/// at least moderate.
pub const DISTANCE_MODERATE: f64 = 0.9;
/// Entropy (bits) from which aleatoric uncertainty is at least moderate: p outside
/// [0.05, 0.95].
pub const ENTROPY_MODERATE: f64 = 0.286;
/// Entropy (bits) from which aleatoric uncertainty is high: p inside [0.2, 0.8].
pub const ENTROPY_HIGH: f64 = 0.721;

/// Entropy in bits of a verdict that is malicious with probability `p` (0 for a certain
/// verdict, 1 for a coin toss). Values outside [0, 1] are clamped.
pub fn binary_entropy(p: f64) -> f64 {
    let p = if p.is_nan() { 0.5 } else { p.clamp(0.0, 1.0) };
    let h = |q: f64| if q <= 0.0 { 0.0 } else { -q * q.log2() };
    h(p) + h(1.0 - p)
}

/// Mutual information in bits between the verdict and which member is asked: the entropy of
/// the members' mean probability minus the mean of their entropies. Zero when all members say
/// the same thing, whatever that is; never negative (Jensen), at most 1.
pub fn member_disagreement(member_p: &[f64]) -> f64 {
    if member_p.is_empty() {
        return 0.0;
    }
    let n = member_p.len() as f64;
    let mean = member_p.iter().sum::<f64>() / n;
    let mean_h = member_p.iter().map(|&p| binary_entropy(p)).sum::<f64>() / n;
    (binary_entropy(mean) - mean_h).clamp(0.0, 1.0)
}

/// What the model does not know about this alert.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Epistemic {
    /// Member disagreement in bits ([`member_disagreement`]).
    pub disagreement: f64,
    /// Distance from training: share of calibration rows nearer to training than this one
    /// (the OOD score; 0 typical, 1 beyond anything seen).
    pub distance: f64,
    pub level: Level,
    /// One line for the analyst.
    pub meaning: String,
}

impl Epistemic {
    /// `out_of_distribution` is the bundle's own verdict on the distance (its flag), which also
    /// counts values never seen in training.
    pub fn assess(member_p: &[f64], distance: f64, out_of_distribution: bool) -> Epistemic {
        Epistemic::from_parts(member_disagreement(member_p), distance, out_of_distribution)
    }

    pub fn from_parts(disagreement: f64, distance: f64, out_of_distribution: bool) -> Epistemic {
        let level = if out_of_distribution || disagreement >= DISAGREEMENT_HIGH {
            Level::High
        } else if disagreement >= DISAGREEMENT_MODERATE || distance >= DISTANCE_MODERATE {
            Level::Moderate
        } else {
            Level::Low
        };
        let meaning = match (out_of_distribution, disagreement >= DISAGREEMENT_MODERATE) {
            (true, _) => "unlike the training data: the model is extrapolating and its \
                          probability may be wrong; judge from the raw event"
                .to_string(),
            (false, true) => "the ensemble members disagree: the model has seen too few \
                              cases like this to be sure; weigh the drivers yourself"
                .to_string(),
            (false, false) if distance >= DISTANCE_MODERATE => "members agree, but the \
                alert sits at the edge of what the model was trained on"
                .to_string(),
            (false, false) => "members agree and the alert resembles the training data: the model \
                 knows cases like this"
                .to_string(),
        };
        Epistemic {
            disagreement,
            distance,
            level,
            meaning,
        }
    }
}

/// How much cases like this one overlap between the verdicts.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Aleatoric {
    /// Entropy in bits of the calibrated probability ([`binary_entropy`]).
    pub entropy: f64,
    /// The conformal set at the package's α holds both verdicts.
    pub both_verdicts: bool,
    pub level: Level,
    /// One line for the analyst.
    pub meaning: String,
}

impl Aleatoric {
    pub fn assess(p_malicious: f64, both_verdicts: bool) -> Aleatoric {
        let entropy = binary_entropy(p_malicious);
        let level = if both_verdicts || entropy >= ENTROPY_HIGH {
            Level::High
        } else if entropy >= ENTROPY_MODERATE {
            Level::Moderate
        } else {
            Level::Low
        };
        let meaning = match level {
            Level::High => "alerts that look like this are genuinely mixed: more training \
                            will not settle it, context about this alert will"
                .to_string(),
            Level::Moderate => "mostly one verdict, but cases like this go the other way \
                                now and then"
                .to_string(),
            Level::Low => "cases like this almost always share one verdict".to_string(),
        };
        Aleatoric {
            entropy,
            both_verdicts,
            level,
            meaning,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_is_zero_at_certainty_one_at_a_coin_toss_and_symmetric() {
        assert_eq!(binary_entropy(0.0), 0.0);
        assert_eq!(binary_entropy(1.0), 0.0);
        assert!((binary_entropy(0.5) - 1.0).abs() < 1e-12);
        assert!((binary_entropy(0.2) - binary_entropy(0.8)).abs() < 1e-12);
        assert!((binary_entropy(0.2) - 0.7219).abs() < 1e-4);
        assert!((binary_entropy(0.05) - 0.2864).abs() < 1e-4);
        assert_eq!(binary_entropy(f64::NAN), 1.0);
    }

    #[test]
    fn members_that_agree_disagree_by_nothing_whatever_they_say() {
        assert_eq!(member_disagreement(&[0.5, 0.5, 0.5]), 0.0);
        assert!(member_disagreement(&[0.01, 0.01]) < 1e-12);
        assert_eq!(member_disagreement(&[]), 0.0);
        // Opposite certainties: one full bit.
        assert!((member_disagreement(&[0.0, 1.0]) - 1.0).abs() < 1e-12);
        let mid = member_disagreement(&[0.3, 0.7]);
        assert!((mid - 0.1187).abs() < 1e-3, "{mid}");
    }

    #[test]
    fn a_confident_model_on_an_unfamiliar_alert_is_epistemically_uncertain_not_aleatorically() {
        // Every member says 0.01, but the alert is beyond the training data.
        let e = Epistemic::assess(&[0.01, 0.01, 0.01], 0.999, true);
        let a = Aleatoric::assess(0.01, false);
        assert_eq!(e.level, Level::High);
        assert_eq!(a.level, Level::Low);
        assert!(e.meaning.contains("extrapolating"), "{}", e.meaning);
    }

    #[test]
    fn a_familiar_coin_toss_is_aleatoric_not_epistemic() {
        let e = Epistemic::assess(&[0.5, 0.5, 0.5], 0.3, false);
        let a = Aleatoric::assess(0.5, true);
        assert_eq!(e.level, Level::Low);
        assert_eq!(a.level, Level::High);
        assert!(a.meaning.contains("genuinely mixed"), "{}", a.meaning);
    }

    #[test]
    fn levels_rise_with_each_measure() {
        assert_eq!(
            Epistemic::from_parts(0.05, 0.2, false).level,
            Level::Moderate
        );
        assert_eq!(
            Epistemic::from_parts(0.0, 0.95, false).level,
            Level::Moderate
        );
        assert_eq!(Epistemic::from_parts(0.2, 0.2, false).level, Level::High);
        assert_eq!(Aleatoric::assess(0.1, false).level, Level::Moderate);
        assert_eq!(Aleatoric::assess(0.01, false).level, Level::Low);
        assert_eq!(Aleatoric::assess(0.01, true).level, Level::High);
    }
}
