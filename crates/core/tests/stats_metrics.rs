//! Example-based tests of the metric functions.

use arbiter_core::stats::{
    AutoClose, RISK_COVERAGE_MAX_POINTS, RiskCoveragePoint, aurc, auto_close, brier, ece,
    f1_binary, log_loss, macro_f1, per_class_f1, reliability, risk_at_coverage, risk_coverage,
    roc_auc,
};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[test]
fn auc_of_a_perfect_ranking_is_one_and_of_a_reversed_ranking_is_zero() {
    let y = [false, false, true, true];
    assert_eq!(roc_auc(&[0.1, 0.2, 0.8, 0.9], &y), Some(1.0));
    assert_eq!(roc_auc(&[0.9, 0.8, 0.2, 0.1], &y), Some(0.0));
}

#[test]
fn auc_counts_tied_pairs_as_half() {
    assert_eq!(roc_auc(&[0.5; 4], &[true, false, true, false]), Some(0.5));
    // Pairs (pos, neg): (0.8,0.1) win, (0.8,0.4) win, (0.4,0.1) win, (0.4,0.4) tie → 3.5/4.
    assert_eq!(
        roc_auc(&[0.8, 0.4, 0.4, 0.1], &[true, true, false, false]),
        Some(0.875)
    );
}

#[test]
fn auc_matches_a_brute_force_pair_count() {
    let scores = [0.3, 0.1, 0.7, 0.3, 0.9, 0.3, 0.2, 0.7];
    let y = [true, false, true, false, false, true, false, true];
    let mut wins = 0.0;
    let mut pairs = 0.0;
    for (i, &si) in scores.iter().enumerate() {
        for (j, &sj) in scores.iter().enumerate() {
            if y[i] && !y[j] {
                pairs += 1.0;
                wins += if si > sj {
                    1.0
                } else if si == sj {
                    0.5
                } else {
                    0.0
                };
            }
        }
    }
    assert!(close(roc_auc(&scores, &y).unwrap(), wins / pairs));
}

#[test]
fn auc_is_undefined_when_a_class_is_missing() {
    assert_eq!(roc_auc(&[0.1, 0.2], &[true, true]), None);
    assert_eq!(roc_auc(&[0.1, 0.2], &[false, false]), None);
    assert_eq!(roc_auc(&[], &[]), None);
}

#[test]
#[should_panic(expected = "roc_auc(scores, positive): the two slices must have the same length")]
fn auc_of_mismatched_slices_is_a_programming_error() {
    roc_auc(&[0.1, 0.2], &[true]);
}

#[test]
fn brier_of_confident_correct_predictions_is_zero_and_of_wrong_ones_is_one() {
    assert_eq!(brier(&[1.0, 0.0], &[true, false]), 0.0);
    assert_eq!(brier(&[0.0, 1.0], &[true, false]), 1.0);
    assert!(close(brier(&[0.5, 0.5], &[true, false]), 0.25));
}

#[test]
fn log_loss_of_a_coin_flip_forecast_is_ln_two() {
    assert!(close(
        log_loss(&[0.5, 0.5], &[true, false]),
        std::f64::consts::LN_2
    ));
}

#[test]
fn log_loss_of_a_certain_mistake_is_large_but_finite() {
    let loss = log_loss(&[0.0], &[true]);
    assert!(close(loss, -(1e-15_f64).ln()), "{loss}");
    assert!(log_loss(&[1.0], &[true]) < 1e-14);
}

#[test]
fn empty_inputs_have_no_brier_or_log_loss() {
    assert!(brier(&[], &[]).is_nan());
    assert!(log_loss(&[], &[]).is_nan());
}

#[test]
fn reliability_keeps_empty_bins_and_puts_one_in_the_last_bin() {
    let bins = reliability(&[0.0, 0.05, 0.5, 1.0], &[false, true, true, true], 4);
    assert_eq!(bins.len(), 4);
    assert_eq!((bins[0].lo, bins[0].hi, bins[0].count), (0.0, 0.25, 2));
    assert!(close(bins[0].mean_p, 0.025));
    assert!(close(bins[0].frac_positive, 0.5));
    assert_eq!(
        (bins[1].count, bins[1].mean_p, bins[1].frac_positive),
        (0, 0.0, 0.0)
    );
    assert_eq!(bins[2].count, 1); // 0.5 opens bin 2
    assert_eq!((bins[3].lo, bins[3].hi, bins[3].count), (0.75, 1.0, 1));
}

#[test]
fn ece_of_a_perfectly_calibrated_predictor_is_zero() {
    // In each bin the mean prediction equals the observed frequency.
    let p = [0.2, 0.2, 0.2, 0.2, 0.2, 0.8, 0.8, 0.8, 0.8, 0.8];
    let y = [
        true, false, false, false, false, true, true, true, true, false,
    ];
    assert!(ece(&p, &y, 15).abs() < 1e-12);
}

#[test]
fn ece_weights_each_bin_by_its_share_of_rows() {
    // Bin A: 3 rows at 0.1, one positive (gap 0.2333…); bin B: 1 row at 0.9, negative (gap 0.9).
    let p = [0.1, 0.1, 0.1, 0.9];
    let y = [true, false, false, false];
    let want = 0.75 * (1.0 / 3.0 - 0.1) + 0.25 * 0.9;
    assert!(close(ece(&p, &y, 10), want));
}

#[test]
fn ece_of_no_predictions_is_zero() {
    assert_eq!(ece(&[], &[], 15), 0.0);
}

#[test]
fn f1_follows_precision_and_recall() {
    // tp = 2, fp = 1, fn = 1 → F1 = 4 / 6.
    let truth = [true, true, true, false, false];
    let pred = [true, true, false, true, false];
    assert!(close(f1_binary(&truth, &pred), 2.0 / 3.0));
}

#[test]
fn f1_without_any_positive_is_zero() {
    assert_eq!(f1_binary(&[false, false], &[false, false]), 0.0);
    assert_eq!(f1_binary(&[], &[]), 0.0);
}

#[test]
fn macro_f1_averages_classes_seen_in_truth_or_predictions() {
    let truth = [0, 0, 1, 1];
    let pred = [0, 1, 1, 2];
    let per_class = per_class_f1(&truth, &pred);
    // class 0: tp 1, fn 1 → 2/3; class 1: tp 1, fp 1, fn 1 → 1/2; class 2: fp 1 → 0.
    assert_eq!(per_class.keys().copied().collect::<Vec<_>>(), vec![0, 1, 2]);
    assert!(close(per_class[&0], 2.0 / 3.0));
    assert!(close(per_class[&1], 0.5));
    assert_eq!(per_class[&2], 0.0);
    assert!(close(macro_f1(&truth, &pred), (2.0 / 3.0 + 0.5) / 3.0));
    assert_eq!(macro_f1(&[], &[]), 0.0);
    assert_eq!(macro_f1(&[3, 4], &[3, 4]), 1.0);
}

#[test]
fn risk_coverage_closes_low_keys_first_and_keeps_ties_in_input_order() {
    let key = [0.9, 0.1, 0.5, 0.5];
    let attack = [true, false, true, false];
    // Closing order: row 1 (0.1), row 2 (0.5, first of the tie), row 3, row 0.
    let curve = risk_coverage(&key, &attack);
    let risks: Vec<f64> = curve.iter().map(|p| p.risk).collect();
    assert_eq!(risks, vec![0.0, 0.5, 1.0 / 3.0, 0.5]);
    let coverages: Vec<f64> = curve.iter().map(|p| p.coverage).collect();
    assert_eq!(coverages, vec![0.25, 0.5, 0.75, 1.0]);
}

#[test]
fn risk_coverage_puts_nan_keys_last() {
    let curve = risk_coverage(&[f64::NAN, 0.2], &[true, false]);
    assert_eq!(curve[0].risk, 0.0);
}

#[test]
fn long_risk_coverage_curves_are_downsampled_but_keep_the_endpoint() {
    let n = 12_345;
    let key: Vec<f64> = (0..n).map(|i| i as f64).collect();
    let attack: Vec<bool> = (0..n).map(|i| i % 7 == 0).collect();
    let curve = risk_coverage(&key, &attack);
    assert_eq!(curve.len(), RISK_COVERAGE_MAX_POINTS);
    let last = curve.last().unwrap();
    assert_eq!(last.coverage, 1.0);
    let attacks = attack.iter().filter(|&&a| a).count();
    assert!(close(last.risk, attacks as f64 / n as f64));
    assert!(curve.windows(2).all(|w| w[0].coverage < w[1].coverage));
}

#[test]
fn risk_at_coverage_reads_the_first_point_reaching_the_coverage() {
    let curve = risk_coverage(&[0.1, 0.2, 0.3, 0.4], &[false, true, false, true]);
    assert_eq!(risk_at_coverage(&curve, 0.25), Some(0.0));
    assert_eq!(risk_at_coverage(&curve, 0.3), Some(0.5));
    assert_eq!(risk_at_coverage(&curve, 1.0), Some(0.5));
    assert_eq!(risk_at_coverage(&curve, 1.01), None);
    assert_eq!(risk_at_coverage(&[], 0.5), None);
}

#[test]
fn aurc_of_a_constant_risk_curve_is_that_risk() {
    let curve: Vec<RiskCoveragePoint> = (1..=10)
        .map(|k| RiskCoveragePoint {
            coverage: k as f64 / 10.0,
            risk: 0.3,
        })
        .collect();
    assert!(close(aurc(&curve), 0.3));
    assert_eq!(aurc(&[]), 0.0);
}

#[test]
fn aurc_integrates_linear_pieces_exactly() {
    let curve = [
        RiskCoveragePoint {
            coverage: 0.5,
            risk: 0.0,
        },
        RiskCoveragePoint {
            coverage: 1.0,
            risk: 0.2,
        },
    ];
    assert!(close(aurc(&curve), 0.05));
}

#[test]
fn auto_close_counts_benign_coverage_and_missed_attacks() {
    let closable = [true, true, true, false, false, false];
    let attack = [false, false, true, false, true, false];
    let summary = auto_close(&closable, &attack);
    assert_eq!(
        summary,
        AutoClose {
            closed: 3,
            benign_total: 4,
            benign_coverage: 0.5,
            attack_rate: 1.0 / 3.0,
            attacks_closed: 1,
        }
    );
}

#[test]
fn closing_nothing_has_no_attack_rate() {
    let summary = auto_close(&[false, false], &[true, false]);
    assert_eq!(
        (summary.closed, summary.attack_rate, summary.benign_coverage),
        (0, 0.0, 0.0)
    );
    let all_attacks = auto_close(&[true], &[true]);
    assert_eq!(
        (all_attacks.benign_total, all_attacks.benign_coverage),
        (0, 0.0)
    );
}
