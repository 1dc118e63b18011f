//! The per-row score: a calibrated probability that knows how sure it is.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::ProbabilityError;

/// A number in [0, 1]. NaN and values outside the range are rejected once, here.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Probability(f64);

impl Probability {
    pub fn new(value: f64) -> Result<Self, ProbabilityError> {
        if (0.0..=1.0).contains(&value) {
            Ok(Probability(value))
        } else {
            Err(ProbabilityError { value })
        }
    }

    /// Clamps into [0, 1]; NaN becomes 0.5, the value that claims nothing.
    pub fn saturating(value: f64) -> Self {
        if value.is_nan() {
            Probability(0.5)
        } else {
            Probability(value.clamp(0.0, 1.0))
        }
    }

    pub fn get(self) -> f64 {
        self.0
    }
}

impl TryFrom<f64> for Probability {
    type Error = ProbabilityError;
    fn try_from(value: f64) -> Result<Self, Self::Error> {
        Probability::new(value)
    }
}

impl From<Probability> for f64 {
    fn from(p: Probability) -> f64 {
        p.0
    }
}

/// The binary verdict a conformal set can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Benign,
    Malicious,
}

impl Verdict {
    /// `benign` or `malicious`, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Benign => "benign",
            Verdict::Malicious => "malicious",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a score should not be taken at face value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// The row is far from anything seen in training, or holds a category value never seen.
    OutOfDistribution,
    /// A feature the model reads has no value in this row.
    MissingTelemetry,
    /// Ensemble members disagree, or the conformal set holds both verdicts.
    ConflictingSignals,
    /// The calibrated probability sits in the uncertain middle band, or no verdict is
    /// conformal at the chosen level.
    LowConfidence,
    /// The ensemble members explain a mid-confidence verdict with different drivers (raised in
    /// evidence packages only).
    UnstableExplanation,
}

impl Flag {
    /// The flags a score can carry.
    pub const ALL: [Flag; 4] = [
        Flag::OutOfDistribution,
        Flag::MissingTelemetry,
        Flag::ConflictingSignals,
        Flag::LowConfidence,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Flag::OutOfDistribution => "out_of_distribution",
            Flag::MissingTelemetry => "missing_telemetry",
            Flag::ConflictingSignals => "conflicting_signals",
            Flag::LowConfidence => "low_confidence",
            Flag::UnstableExplanation => "unstable_explanation",
        }
    }
}

impl std::str::FromStr for Flag {
    type Err = crate::VocabError;
    fn from_str(s: &str) -> Result<Flag, crate::VocabError> {
        [
            Flag::OutOfDistribution,
            Flag::MissingTelemetry,
            Flag::ConflictingSignals,
            Flag::LowConfidence,
            Flag::UnstableExplanation,
        ]
        .into_iter()
        .find(|f| f.as_str() == s)
        .ok_or_else(|| {
            crate::VocabError::new(
                "flag",
                s,
                "one of out_of_distribution, missing_telemetry, conflicting_signals, \
                 low_confidence, unstable_explanation",
            )
        })
    }
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a row came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowSource {
    /// File name as given on the command line.
    pub file: String,
    /// 1-based line number of the row in the (decompressed) file.
    pub line: u64,
}

/// One scored row, as written by `arbiter score`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// Calibrated probability that the row is malicious.
    pub p_malicious: Probability,
    /// Standard deviation of the calibrated probability across ensemble members.
    pub member_spread: f64,
    /// Mutual information in bits between the verdict and the member asked (0 = members
    /// agree); the epistemic part of the members' uncertainty.
    #[serde(default)]
    pub member_disagreement: f64,
    /// Lowest and highest calibrated probability among ensemble members.
    pub interval: [f64; 2],
    /// Miscoverage level of the conformal set.
    pub alpha: f64,
    /// Verdicts that are plausible at level `alpha` (class-conditional split conformal).
    pub conformal_set: Vec<Verdict>,
    /// Probability of each category seen in training, `benign` included.
    pub categories: BTreeMap<String, f64>,
    /// How unusual the row is against training data, as the share of calibration rows that
    /// were less unusual (0 = typical, 1 = beyond everything seen).
    pub ood_score: f64,
    /// Reasons not to take the score at face value.
    pub flags: Vec<Flag>,
    /// Features the model reads that had no value in this row.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_fields: Vec<String>,
    /// Categorical values never seen in training, as `field=value`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unseen_values: Vec<String>,
    /// Provenance: the model bundle that scored the row.
    pub bundle: String,
    /// Provenance: the schema the row was read with.
    pub schema: String,
    /// Provenance: file and line.
    pub source: RowSource,
    /// Identifier fields of the row (host, user, flow id …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ids: BTreeMap<String, String>,
    /// Event time, RFC 3339, when the schema declares one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// Ground truth label, when the data carries one (for evaluation; never a model input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_label: Option<String>,
}

impl Score {
    /// The binary verdict at the 0.5 cut.
    pub fn verdict(&self) -> Verdict {
        if self.p_malicious.get() >= 0.5 {
            Verdict::Malicious
        } else {
            Verdict::Benign
        }
    }

    /// The most probable category.
    pub fn top_category(&self) -> Option<(&str, f64)> {
        self.categories
            .iter()
            .max_by(|a, b| a.1.total_cmp(b.1).then_with(|| b.0.cmp(a.0)))
            .map(|(k, v)| (k.as_str(), *v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn a_probability_accepts_exactly_the_unit_interval(x in proptest::num::f64::ANY) {
            let ok = Probability::new(x).is_ok();
            prop_assert_eq!(ok, (0.0..=1.0).contains(&x));
        }

        #[test]
        fn saturating_always_yields_a_probability(x in proptest::num::f64::ANY) {
            let p = Probability::saturating(x).get();
            prop_assert!((0.0..=1.0).contains(&p));
        }
    }

    #[test]
    fn a_probability_out_of_range_is_refused_when_deserialised() {
        let err = serde_json::from_str::<Probability>("1.5").unwrap_err();
        assert!(
            err.to_string().contains("1.5 is not a probability"),
            "{err}"
        );
    }

    #[test]
    fn flags_serialise_in_snake_case() {
        let s = serde_json::to_string(&Flag::ALL).unwrap();
        assert_eq!(
            s,
            r#"["out_of_distribution","missing_telemetry","conflicting_signals","low_confidence"]"#
        );
    }
}
