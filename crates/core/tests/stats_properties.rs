//! Property tests for the metrics' invariants.

use arbiter_core::stats::{
    clopper_pearson_lower, clopper_pearson_upper, ece, risk_coverage, roc_auc,
};
use proptest::prelude::*;

/// Scores with their labels; a class may be absent (then the AUC is `None`).
fn labelled_scores() -> impl Strategy<Value = (Vec<f64>, Vec<bool>)> {
    prop::collection::vec((-1e6_f64..1e6, any::<bool>()), 2..200)
        .prop_map(|rows| rows.into_iter().unzip())
}

fn probabilities_and_labels() -> impl Strategy<Value = (Vec<f64>, Vec<bool>)> {
    prop::collection::vec((0.0_f64..=1.0, any::<bool>()), 0..300)
        .prop_map(|rows| rows.into_iter().unzip())
}

proptest! {
    #[test]
    fn auc_lies_between_zero_and_one((scores, y) in labelled_scores()) {
        if let Some(auc) = roc_auc(&scores, &y) {
            prop_assert!((0.0..=1.0).contains(&auc));
        }
    }

    #[test]
    fn negating_distinct_scores_mirrors_the_auc((scores, y) in labelled_scores()) {
        let mut sorted = scores.clone();
        sorted.sort_by(f64::total_cmp);
        prop_assume!(sorted.windows(2).all(|w| w[0] != w[1]));
        let negated: Vec<f64> = scores.iter().map(|s| -s).collect();
        if let (Some(a), Some(b)) = (roc_auc(&scores, &y), roc_auc(&negated, &y)) {
            prop_assert!((a + b - 1.0).abs() < 1e-12, "{a} + {b}");
        }
    }

    #[test]
    fn ece_lies_between_zero_and_one((p, y) in probabilities_and_labels(), bins in 1_usize..40) {
        let e = ece(&p, &y, bins);
        prop_assert!((0.0..=1.0 + 1e-12).contains(&e), "{e}");
    }

    #[test]
    fn the_risk_coverage_curve_ends_at_full_coverage_and_the_base_rate(
        (key, y) in prop::collection::vec((any::<f64>(), any::<bool>()), 1..3000)
            .prop_map(|rows| rows.into_iter().unzip::<_, _, Vec<f64>, Vec<bool>>())
    ) {
        let curve = risk_coverage(&key, &y);
        let last = curve.last().unwrap();
        let base_rate = y.iter().filter(|&&a| a).count() as f64 / y.len() as f64;
        prop_assert_eq!(last.coverage, 1.0);
        prop_assert!((last.risk - base_rate).abs() < 1e-12);
    }

    #[test]
    fn the_upper_bound_lies_between_the_observed_rate_and_one(
        n in 1_u64..5000, frac in 0.0_f64..=1.0, conf in 0.5_f64..0.9999
    ) {
        let k = ((n as f64) * frac).floor() as u64;
        let upper = clopper_pearson_upper(k, n, conf);
        prop_assert!(upper >= k as f64 / n as f64, "upper {upper} below {k}/{n}");
        prop_assert!(upper <= 1.0);
    }

    #[test]
    fn the_upper_bound_grows_with_successes(
        n in 2_u64..5000, frac in 0.0_f64..1.0, conf in 0.5_f64..0.9999
    ) {
        let k = ((n as f64 - 1.0) * frac).floor() as u64;
        prop_assert!(clopper_pearson_upper(k + 1, n, conf) >= clopper_pearson_upper(k, n, conf));
    }

    #[test]
    fn the_upper_bound_shrinks_with_more_trials(
        n in 1_u64..5000, frac in 0.0_f64..=1.0, conf in 0.5_f64..0.9999
    ) {
        let k = ((n as f64) * frac).floor() as u64;
        prop_assert!(clopper_pearson_upper(k, n + 1, conf) <= clopper_pearson_upper(k, n, conf));
    }

    #[test]
    fn bounds_for_rare_events_in_huge_samples_stay_monotone(
        n in 1_000_000_u64..10_000_000_000, k in 0_u64..60, conf in 0.5_f64..0.9999
    ) {
        let upper = clopper_pearson_upper(k, n, conf);
        prop_assert!(upper >= k as f64 / n as f64);
        prop_assert!(clopper_pearson_upper(k + 1, n, conf) >= upper);
        prop_assert!(clopper_pearson_upper(k, n + 1, conf) <= upper);
        let lower = clopper_pearson_lower(k, n, conf);
        prop_assert!(lower <= k as f64 / n as f64 && lower <= upper);
    }
}
