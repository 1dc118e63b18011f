//! The knobs of training and the ranges they must lie in.
//!
//! [`TrainOptions::validate`] is the one place that decides which options training accepts;
//! [`crate::train()`] calls it first, and a front end (the CLI) may call it early to refuse a
//! bad flag before it reads any data.

use arbiter_model::flags::FlagRules;
use arbiter_model::ood::OodMethod;

use crate::error::TrainError;

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
    /// Weight of the k-NN score in the OOD score, the rest going to leaf-space support;
    /// `None` lets the rehearsal choose among `novelty::WEIGHTS`, `Some(1.0)` is k-NN alone.
    pub ood_knn_weight: Option<f64>,
    /// Flag thresholds; `alpha` and `ood_quantile` in here are replaced by the options above.
    pub flags: FlagRules,
    /// Cross-validation folds of the calibrator choice.
    pub folds: usize,
    /// The attack share expected in production; when set, the risk-control table is certified
    /// for it by reweighting (see `risk::control`), and the bundle records it.
    pub deployment_attack_rate: Option<f64>,
    /// Certify the risk-control table on out-of-fold scores of every labelled row, from this
    /// many fold pipelines, instead of on the risk-control split alone (see `crossfit`).
    pub cross_fit: Option<usize>,
    /// For experiments: a directory where the rehearsal writes candidate novelty signals per
    /// row (see `signals`); nothing of the bundle depends on it.
    pub rehearsal_signals: Option<std::path::PathBuf>,
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
            ood_knn_weight: None,
            flags: FlagRules::default(),
            folds: 5,
            deployment_attack_rate: None,
            cross_fit: None,
            rehearsal_signals: None,
        }
    }
}

/// Most fold pipelines cross-fitting may train.
const MAX_CROSS_FIT: usize = 20;

/// LightGBM's largest `num_leaves`.
const MAX_LEAVES: usize = 131_072;

/// Whether `x` lies strictly between 0 and 1 (false for NaN).
fn open_unit(x: f64) -> bool {
    x > 0.0 && x < 1.0
}

/// Whether `x` lies in [0, 1] (false for NaN).
fn closed_unit(x: f64) -> bool {
    (0.0..=1.0).contains(&x)
}

impl TrainOptions {
    /// Refuses options training cannot honour, naming the option and its value.
    pub fn validate(&self) -> Result<(), TrainError> {
        let refuse = |option, value: &dyn std::fmt::Display, expected: &str| {
            Err(TrainError::option(option, value, expected))
        };
        if self.members < 2 {
            return refuse(
                "members",
                &self.members,
                "member spread needs at least 2 members",
            );
        }
        if self.iterations == 0 {
            return refuse(
                "iterations",
                &self.iterations,
                "each model needs at least 1 boosting round",
            );
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return refuse(
                "learning_rate",
                &self.learning_rate,
                "must be a positive number",
            );
        }
        if !(2..=MAX_LEAVES).contains(&self.num_leaves) {
            return refuse(
                "num_leaves",
                &self.num_leaves,
                &format!("must lie between 2 and {MAX_LEAVES}"),
            );
        }
        if !(self.subsample > 0.0 && self.subsample <= 1.0) {
            return refuse(
                "subsample",
                &self.subsample,
                "must lie in (0, 1]: a share of the training split",
            );
        }
        if !open_unit(self.alpha) {
            return refuse("alpha", &self.alpha, "must lie strictly between 0 and 1");
        }
        if !open_unit(self.delta) {
            return refuse("delta", &self.delta, "must lie strictly between 0 and 1");
        }
        if let Some(r) = self.deployment_attack_rate
            && !open_unit(r)
        {
            return refuse(
                "deployment_attack_rate",
                &r,
                "must lie strictly between 0 and 1 (the attack share expected in production)",
            );
        }
        if crate::split::check(&self.split).is_err() {
            return refuse(
                "split",
                &format!("{:?}", self.split),
                "the four fractions must each be positive and sum to 1",
            );
        }
        if self.ood_k == 0 {
            return refuse("ood_k", &self.ood_k, "needs at least 1 neighbour");
        }
        if self.ood_reference == 0 {
            return refuse(
                "ood_reference",
                &self.ood_reference,
                "needs at least 1 reference row",
            );
        }
        if let Some(q) = self.ood_quantile
            && !(q > 0.0 && q <= 1.0)
        {
            return refuse(
                "ood_quantile",
                &q,
                "must lie in (0, 1]: a share of calibration rows",
            );
        }
        if !closed_unit(self.novelty_target) {
            return refuse(
                "novelty_target",
                &self.novelty_target,
                "must lie in [0, 1]: a share of a family's rows",
            );
        }
        if let Some(w) = self.ood_knn_weight
            && !closed_unit(w)
        {
            return refuse(
                "ood_knn_weight",
                &w,
                "must lie in [0, 1]: the k-NN share of the OOD score",
            );
        }
        let [lo, hi] = self.flags.low_confidence_band;
        if !(closed_unit(lo) && closed_unit(hi) && lo <= hi) {
            return refuse(
                "flags.low_confidence_band",
                &format!("[{lo}, {hi}]"),
                "must be [low, high] with 0 ≤ low ≤ high ≤ 1",
            );
        }
        if !closed_unit(self.flags.head_disagreement) {
            return refuse(
                "flags.head_disagreement",
                &self.flags.head_disagreement,
                "must lie in [0, 1]: a difference of probabilities",
            );
        }
        if self.folds < 2 {
            return refuse(
                "folds",
                &self.folds,
                "cross-validation needs at least 2 folds",
            );
        }
        if let Some(k) = self.cross_fit
            && !(2..=MAX_CROSS_FIT).contains(&k)
        {
            return refuse(
                "cross_fit",
                &k,
                &format!(
                    "cross-fitting needs between 2 and {MAX_CROSS_FIT} folds (each fold trains a whole pipeline)"
                ),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The message of the refusal of options changed by `change`.
    fn refusal(change: impl FnOnce(&mut TrainOptions)) -> String {
        let mut o = TrainOptions::default();
        change(&mut o);
        o.validate().expect_err("refused").to_string()
    }

    #[test]
    fn the_default_options_are_valid() {
        TrainOptions::default().validate().unwrap();
    }

    #[test]
    fn a_single_member_is_refused_because_spread_needs_two() {
        let e = refusal(|o| o.members = 1);
        assert_eq!(
            e,
            "invalid training option members = 1: member spread needs at least 2 members"
        );
    }

    #[test]
    fn zero_boosting_rounds_are_refused() {
        assert!(
            refusal(|o| o.iterations = 0).starts_with("invalid training option iterations = 0")
        );
    }

    #[test]
    fn a_learning_rate_that_is_not_positive_is_refused() {
        assert!(refusal(|o| o.learning_rate = 0.0).contains("learning_rate = 0:"));
        assert!(refusal(|o| o.learning_rate = f64::NAN).contains("learning_rate = NaN:"));
    }

    #[test]
    fn a_tree_of_one_leaf_or_beyond_lightgbms_limit_is_refused() {
        assert!(refusal(|o| o.num_leaves = 1).contains("num_leaves = 1:"));
        assert!(refusal(|o| o.num_leaves = MAX_LEAVES + 1).contains("num_leaves = 131073:"));
    }

    #[test]
    fn a_subsample_outside_zero_to_one_is_refused() {
        assert!(refusal(|o| o.subsample = 0.0).contains("subsample = 0:"));
        assert!(refusal(|o| o.subsample = 1.5).contains("subsample = 1.5:"));
        let o = TrainOptions {
            subsample: 1.0,
            ..TrainOptions::default()
        };
        o.validate()
            .expect("the whole training split is a valid subsample");
    }

    #[test]
    fn an_alpha_of_zero_or_one_is_refused() {
        assert_eq!(
            refusal(|o| o.alpha = 1.0),
            "invalid training option alpha = 1: must lie strictly between 0 and 1"
        );
        assert!(refusal(|o| o.alpha = 0.0).contains("alpha = 0:"));
        assert!(refusal(|o| o.alpha = f64::NAN).contains("alpha = NaN:"));
    }

    #[test]
    fn a_delta_outside_zero_to_one_is_refused() {
        assert!(refusal(|o| o.delta = 0.0).contains("delta = 0:"));
        assert!(refusal(|o| o.delta = 2.0).contains("delta = 2:"));
    }

    #[test]
    fn a_deployment_attack_rate_outside_zero_to_one_is_refused() {
        assert!(
            refusal(|o| o.deployment_attack_rate = Some(0.0))
                .contains("deployment_attack_rate = 0:")
        );
        assert!(
            refusal(|o| o.deployment_attack_rate = Some(1.0))
                .contains("deployment_attack_rate = 1:")
        );
        let o = TrainOptions {
            deployment_attack_rate: Some(0.02),
            ..TrainOptions::default()
        };
        o.validate()
            .expect("a 2 % production attack share is valid");
    }

    #[test]
    fn cross_fitting_with_fewer_than_two_or_very_many_folds_is_refused() {
        assert!(refusal(|o| o.cross_fit = Some(1)).contains("cross_fit = 1:"));
        assert!(refusal(|o| o.cross_fit = Some(21)).contains("cross_fit = 21:"));
        let o = TrainOptions {
            cross_fit: Some(5),
            ..TrainOptions::default()
        };
        o.validate().expect("five folds are valid");
    }

    #[test]
    fn split_fractions_that_do_not_sum_to_one_are_refused() {
        let e = refusal(|o| o.split = [0.7, 0.1, 0.1, 0.2]);
        assert!(e.contains("[0.7, 0.1, 0.1, 0.2]"), "{e}");
        assert!(e.contains("sum to 1"), "{e}");
    }

    #[test]
    fn an_empty_part_of_the_split_is_refused() {
        let e = refusal(|o| o.split = [0.8, 0.1, 0.1, 0.0]);
        assert!(e.contains("positive"), "{e}");
    }

    #[test]
    fn zero_neighbours_or_an_empty_reference_are_refused() {
        assert!(refusal(|o| o.ood_k = 0).contains("ood_k = 0:"));
        assert!(refusal(|o| o.ood_reference = 0).contains("ood_reference = 0:"));
    }

    #[test]
    fn an_ood_quantile_outside_zero_to_one_is_refused() {
        assert!(refusal(|o| o.ood_quantile = Some(0.0)).contains("ood_quantile = 0:"));
        assert!(refusal(|o| o.ood_quantile = Some(1.01)).contains("ood_quantile = 1.01:"));
        let o = TrainOptions {
            ood_quantile: Some(1.0),
            ..TrainOptions::default()
        };
        o.validate()
            .expect("flag only rows beyond every calibration row");
    }

    #[test]
    fn a_novelty_target_outside_zero_to_one_is_refused() {
        assert!(refusal(|o| o.novelty_target = -0.1).contains("novelty_target = -0.1:"));
        assert!(refusal(|o| o.novelty_target = 1.5).contains("novelty_target = 1.5:"));
        let o = TrainOptions {
            novelty_target: 0.0,
            ..TrainOptions::default()
        };
        o.validate().expect("no novel row may pass unflagged");
    }

    #[test]
    fn an_inverted_low_confidence_band_is_refused() {
        let e = refusal(|o| o.flags.low_confidence_band = [0.8, 0.2]);
        assert!(
            e.starts_with("invalid training option flags.low_confidence_band = [0.8, 0.2]"),
            "{e}"
        );
    }

    #[test]
    fn a_head_disagreement_outside_zero_to_one_is_refused() {
        assert!(
            refusal(|o| o.flags.head_disagreement = 2.0).contains("flags.head_disagreement = 2:")
        );
    }

    #[test]
    fn fewer_than_two_folds_are_refused() {
        assert!(refusal(|o| o.folds = 1).contains("folds = 1:"));
    }
}
