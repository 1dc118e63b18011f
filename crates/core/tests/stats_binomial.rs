//! Clopper–Pearson bounds against closed forms and reference values.

use std::f64::consts::FRAC_1_SQRT_2;

use arbiter_core::stats::{clopper_pearson_lower, clopper_pearson_upper};

/// (k, n, confidence, upper, lower) from
/// `scipy.stats.beta.ppf(conf, k + 1, n - k)` and
/// `scipy.stats.beta.ppf(1 - conf, k, n - k + 1)` (SciPy 1.17.1).
const SCIPY: &[(u64, u64, f64, f64, f64)] = &[
    (0, 1, 0.95, 0.95, 0.0),
    (0, 10, 0.95, 0.2588655508930522, 0.0),
    (1, 10, 0.95, 0.39416330243650466, 0.005116196891823705),
    (5, 10, 0.95, 0.7775588989918706, 0.22244110100812942),
    (9, 10, 0.95, 0.9948838031081763, 0.6058366975634953),
    (3, 100, 0.95, 0.07571079374983004, 0.00822582910765269),
    (0, 1000, 0.99, 0.004594582648473037, 0.0),
    (12, 1000, 0.95, 0.019370199285059248, 0.006938388047866691),
    (50, 200, 0.9, 0.2935252047266712, 0.21028932257197971),
    (1, 2, 0.5, FRAC_1_SQRT_2, 1.0 - FRAC_1_SQRT_2),
    (
        7,
        7000,
        0.999,
        0.0028012119410331967,
        0.00021726042216262015,
    ),
    (
        100,
        100_000,
        0.95,
        0.0011806859691734534,
        0.0008414553099809769,
    ),
    (0, 100_000, 0.95, 2.9956874019427947e-05, 0.0),
    (999, 1000, 0.95, 0.999948708021091, 0.9952650064245002),
    (25, 50, 0.975, 0.6447270028700913, 0.3552729971299086),
    (2, 30, 0.8, 0.13728764032080967, 0.02756348392298019),
    (40, 41, 0.99, 0.9997548998991703, 0.8487844053823631),
    (0, 3, 0.6827, 0.31793878024523037, 0.0),
    (17, 123, 0.95, 0.2000758166796099, 0.09001740289781568),
    (4999, 10_000, 0.95, 0.5081735169638906, 0.49162652610027524),
    (
        3,
        12_345,
        0.999999,
        0.0017281972864276584,
        1.4787969464013266e-06,
    ),
    (
        30,
        1_000_000,
        0.95,
        4.0690290092604837e-05,
        2.1594059190553582e-05,
    ),
    (
        500_000,
        1_000_000,
        0.95,
        0.5008229260505229,
        0.4991770739494771,
    ),
    (0, 10_000_000, 0.95, 2.9957318248334424e-07, 0.0),
];

fn assert_close(got: f64, want: f64, what: &str) {
    let tol = 1e-9 * want.abs().max(f64::MIN_POSITIVE);
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got:e}, want {want:e} (relative error {:e})",
        ((got - want) / want).abs()
    );
}

#[test]
fn bounds_match_scipy_to_one_part_in_a_billion() {
    for &(k, n, conf, upper, lower) in SCIPY {
        let case = format!("k = {k}, n = {n}, confidence = {conf}");
        assert_close(
            clopper_pearson_upper(k, n, conf),
            upper,
            &format!("upper, {case}"),
        );
        if lower == 0.0 {
            assert_eq!(clopper_pearson_lower(k, n, conf), 0.0, "lower, {case}");
        } else {
            assert_close(
                clopper_pearson_lower(k, n, conf),
                lower,
                &format!("lower, {case}"),
            );
        }
    }
}

/// Few events among a billion trials: one shape tiny, the other huge. SciPy
/// 1.17.1 is itself off by ~4e-9 here, so the references are exact
/// binomial-sum inversions in 50-digit arithmetic (mpmath).
#[test]
fn bounds_for_rare_events_in_huge_samples_keep_full_precision() {
    let n = 1_000_000_000;
    assert_close(
        clopper_pearson_upper(3, n, 0.95),
        7.753_656_509_503_617e-9,
        "upper, k = 3",
    );
    assert_close(
        clopper_pearson_lower(3, n, 0.95),
        8.176_914_476_473_351e-10,
        "lower, k = 3",
    );
    assert_close(
        clopper_pearson_upper(40, n, 0.95),
        5.206_936_880_091_472e-8,
        "upper, k = 40",
    );
}

#[test]
fn upper_bound_with_no_successes_has_a_closed_form() {
    for &n in &[1_u64, 2, 3, 10, 59, 300, 1000, 123_456] {
        for &conf in &[0.5_f64, 0.8, 0.9, 0.95, 0.99, 0.999] {
            // 1 − (1 − conf)^(1/n), written to avoid cancellation.
            let want = -((1.0 - conf).ln() / n as f64).exp_m1();
            assert_close(
                clopper_pearson_upper(0, n, conf),
                want,
                &format!("n = {n}, conf = {conf}"),
            );
        }
    }
}

#[test]
fn lower_bound_with_all_successes_has_a_closed_form() {
    for &n in &[1_u64, 4, 20, 500] {
        for &conf in &[0.9_f64, 0.95, 0.99] {
            let want = (1.0 - conf).powf(1.0 / n as f64);
            assert_close(
                clopper_pearson_lower(n, n, conf),
                want,
                &format!("n = {n}, conf = {conf}"),
            );
        }
    }
}

#[test]
fn one_success_in_ten_gives_the_textbook_upper_bound() {
    assert!((clopper_pearson_upper(1, 10, 0.95) - 0.3942).abs() < 5e-5);
}

#[test]
fn with_no_trials_the_bounds_are_uninformative() {
    assert_eq!(clopper_pearson_upper(0, 0, 0.95), 1.0);
    assert_eq!(clopper_pearson_lower(0, 0, 0.95), 0.0);
}

#[test]
fn when_every_trial_succeeds_the_upper_bound_is_one() {
    assert_eq!(clopper_pearson_upper(17, 17, 0.99), 1.0);
}

#[test]
fn the_rule_of_three_approximates_the_zero_failure_bound() {
    // 95% upper bound with 0 events in n trials is about 3/n.
    let upper = clopper_pearson_upper(0, 3000, 0.95);
    assert!((upper * 3000.0 - 3.0).abs() < 0.01, "{upper}");
}

#[test]
#[should_panic(expected = "must not exceed n")]
fn more_successes_than_trials_is_a_programming_error() {
    clopper_pearson_upper(5, 4, 0.95);
}

#[test]
#[should_panic(expected = "confidence must be in (0, 1)")]
fn a_confidence_of_one_is_a_programming_error() {
    clopper_pearson_upper(1, 4, 1.0);
}
