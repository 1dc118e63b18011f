//! The knobs of training.

use arbiter_model::flags::FlagRules;
use arbiter_model::ood::OodMethod;

/// Knobs of training. Meaning lives in the schema; these are the modelling choices.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Ensemble members; their spread is the epistemic uncertainty, so at least 2.
    pub members: usize,
    /// Boosting rounds per model.
    pub iterations: usize,
    pub learning_rate: f64,
    pub num_leaves: usize,
    /// Share of the training split each member sees, in (0, 1].
    pub subsample: f64,
    pub seed: u64,
    /// Conformal level stored as the bundle's default (and used for flags).
    pub alpha: f64,
    /// Risk-control confidence is 1 − delta.
    pub delta: f64,
    /// Fractions of: training, calibrator fit, conformal and OOD calibration, risk control.
    pub split: [f64; 4],
    pub ood_method: OodMethod,
    pub ood_k: usize,
    pub ood_reference: usize,
    /// OOD flag level; `None` chooses it by the novelty rehearsal.
    pub ood_quantile: Option<f64>,
    /// Largest share of a never-seen family the rehearsal lets through unflagged.
    pub novelty_target: f64,
    /// Flag thresholds; `alpha` and `ood_quantile` in here are replaced by the options above.
    pub flags: FlagRules,
    /// Cross-validation folds of the calibrator choice.
    pub folds: usize,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            members: 5,
            iterations: 100,
            learning_rate: 0.1,
            num_leaves: 31,
            subsample: 0.8,
            seed: 42,
            alpha: 0.05,
            delta: 0.05,
            split: [0.7, 0.1, 0.1, 0.1],
            ood_method: OodMethod::KnnVerdict,
            ood_k: 5,
            ood_reference: 20_000,
            ood_quantile: None,
            novelty_target: 0.01,
            flags: FlagRules::default(),
            folds: 5,
        }
    }
}
