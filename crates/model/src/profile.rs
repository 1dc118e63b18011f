//! What each feature typically looks like in training, by class: the reference point an
//! analyst needs next to a value ("src_bytes = 0, typical benign median 230").
//!
//! `arbiter-train` computes the profiles over the training split.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum FeatureProfile {
    Numeric {
        /// Median, 10th and 90th percentile over benign training rows (`None` if all missing).
        benign_median: Option<f64>,
        benign_p10: Option<f64>,
        benign_p90: Option<f64>,
        malicious_median: Option<f64>,
        /// Share of training rows with no value.
        missing_share: f64,
    },
    Categorical {
        /// Most frequent value among benign training rows, and its share of them.
        benign_top: Option<String>,
        benign_top_share: f64,
        malicious_top: Option<String>,
        malicious_top_share: f64,
        missing_share: f64,
    },
}
