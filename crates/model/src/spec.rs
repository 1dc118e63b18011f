//! `model.json`: everything fitted besides the trees themselves.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::calibrate::Selection;
use crate::conformal::Conformal;
use crate::encode::EncoderSpec;
use crate::flags::FlagRules;
use crate::novelty::Rehearsal;
use crate::ood::OodSpec;
use crate::profile::FeatureProfile;
use crate::risk::RiskTable;

/// Version tag of the bundle layout.
pub const BUNDLE_FORMAT: &str = "arbiter-bundle/1";

/// Bins of the expected calibration error, everywhere in Arbiter.
pub const ECE_BINS: usize = 15;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    pub format: String,
    /// `name@revision` of the schema the model reads.
    pub schema: String,
    /// Trained on generated data.
    pub synthetic: bool,
    pub encoder: EncoderSpec,
    /// Ensemble member files (LightGBM text format), relative to the bundle.
    pub members: Vec<String>,
    pub category_head: CategoryHead,
    /// A plain single LightGBM model on all training rows, kept only as the evaluation
    /// baseline; it never scores alerts.
    pub baseline: String,
    pub calibration: Selection,
    pub conformal: Conformal,
    pub flags: FlagRules,
    pub ood: OodSpec,
    pub risk: RiskTable,
    pub training: TrainingInfo,
    /// Quality on the risk-control calibration split, which no other step saw.
    pub holdout: HoldoutMetrics,
    /// The leave-one-family-out rehearsal that chose the OOD flag level.
    pub novelty: Option<Rehearsal>,
    /// The blend of k-NN distance and leaf-space support the rehearsal chose; absent when the
    /// OOD score is the k-NN score alone (and in bundles made before the blend existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blend: Option<crate::support::Blend>,
    /// Typical values of each feature by class, in encoder order.
    #[serde(default)]
    pub profile: Vec<FeatureProfile>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryHead {
    pub file: String,
    /// Class names in LightGBM's class order; `benign` included.
    pub classes: Vec<String>,
    /// Softmax temperature fitted on the calibration split.
    pub temperature: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingInfo {
    pub seed: u64,
    pub members: usize,
    pub iterations: usize,
    pub learning_rate: f64,
    pub num_leaves: usize,
    /// Share of the training split each member sees (drawn without replacement).
    pub subsample: f64,
    /// Fractions of: training, calibrator fit, conformal and OOD calibration, risk control.
    pub split_fractions: [f64; 4],
    pub split_rows: [u64; 4],
    /// Label values seen in training (a test label outside this set is "novel").
    pub labels: Vec<String>,
    /// Rows per category over all training input.
    pub categories: BTreeMap<String, u64>,
    pub data: Vec<DataFile>,
    pub lightgbm: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataFile {
    /// File name without directories, so the bundle id does not depend on where data lived.
    pub name: String,
    pub sha256: String,
    pub rows: u64,
    pub skipped: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldoutMetrics {
    pub rows: u64,
    pub auc: Option<f64>,
    pub ece: f64,
    pub brier: f64,
    pub log_loss: f64,
    pub alpha: f64,
    pub coverage_benign: f64,
    pub coverage_malicious: f64,
    /// Share of rows carrying each flag.
    pub flag_rates: BTreeMap<String, f64>,
}
