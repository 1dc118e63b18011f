//! Ranking, proper scoring rules and F1.

use std::collections::{BTreeMap, BTreeSet};

use super::assert_same_len;

/// Area under the ROC curve, computed as the Mann–Whitney U statistic.
///
/// Tied scores receive the average of the ranks they span, so a tie between
/// a positive and a negative counts as half a correctly ordered pair.
/// Returns `None` when either class is absent (the AUC is undefined).
/// Runs in O(n log n). Scores are ordered with [`f64::total_cmp`], so a NaN
/// score does not panic but sorts as larger (or, if negative NaN, smaller)
/// than every number; callers should not pass NaN.
///
/// # Panics
/// If `scores` and `positive` have different lengths.
pub fn roc_auc(scores: &[f64], positive: &[bool]) -> Option<f64> {
    assert_same_len("roc_auc(scores, positive)", scores.len(), positive.len());
    let n_pos = positive.iter().filter(|&&p| p).count();
    let n_neg = positive.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_unstable_by(|&a, &b| scores[a].total_cmp(&scores[b]));

    // Sum of (1-based, tie-averaged) ranks of the positives.
    let mut rank_sum_pos = 0.0_f64;
    let mut start = 0;
    while start < order.len() {
        let value = scores[order[start]];
        let mut end = start + 1;
        // `==` (not total_cmp) so that -0.0 and 0.0 tie; they are adjacent after sorting.
        while end < order.len() && scores[order[end]] == value {
            end += 1;
        }
        let avg_rank = (start + 1 + end) as f64 / 2.0;
        let pos_in_group = order[start..end].iter().filter(|&&i| positive[i]).count();
        rank_sum_pos += avg_rank * pos_in_group as f64;
        start = end;
    }
    let n_pos = n_pos as f64;
    let u = rank_sum_pos - n_pos * (n_pos + 1.0) / 2.0;
    Some((u / (n_pos * n_neg as f64)).clamp(0.0, 1.0))
}

/// Brier score: the mean squared difference between the predicted
/// probability and the 0/1 outcome. Lower is better; 0 is perfect.
///
/// Returns NaN for empty input (there is nothing to average).
///
/// # Panics
/// If `p` and `y` have different lengths.
pub fn brier(p: &[f64], y: &[bool]) -> f64 {
    assert_same_len("brier(p, y)", p.len(), y.len());
    let total: f64 = p
        .iter()
        .zip(y)
        .map(|(&p, &y)| {
            let d = p - f64::from(u8::from(y));
            d * d
        })
        .sum();
    total / p.len() as f64
}

/// Smallest probability used by [`log_loss`]; predictions are clipped to
/// `[LOG_LOSS_EPS, 1 - LOG_LOSS_EPS]` so a confident mistake costs a
/// large but finite amount.
const LOG_LOSS_EPS: f64 = 1e-15;

/// Mean negative log-likelihood (natural log) of the outcomes under the
/// predicted probabilities, with `p` clipped to `[1e-15, 1 − 1e-15]`.
///
/// Returns NaN for empty input.
///
/// # Panics
/// If `p` and `y` have different lengths.
pub fn log_loss(p: &[f64], y: &[bool]) -> f64 {
    assert_same_len("log_loss(p, y)", p.len(), y.len());
    let total: f64 = p
        .iter()
        .zip(y)
        .map(|(&p, &y)| {
            let p = p.clamp(LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS);
            if y { -p.ln() } else { -(-p).ln_1p() }
        })
        .sum();
    total / p.len() as f64
}

/// F1 from confusion counts; 0 when there is nothing to score.
fn f1_from_counts(tp: usize, fp: usize, fn_: usize) -> f64 {
    let denom = 2 * tp + fp + fn_;
    if denom == 0 {
        0.0
    } else {
        (2 * tp) as f64 / denom as f64
    }
}

/// F1 score of the positive class (`true`).
///
/// Returns 0 when F1 is undefined, i.e. when neither `truth` nor `pred`
/// contains a positive.
///
/// # Panics
/// If `truth` and `pred` have different lengths.
pub fn f1_binary(truth: &[bool], pred: &[bool]) -> f64 {
    assert_same_len("f1_binary(truth, pred)", truth.len(), pred.len());
    let (mut tp, mut fp, mut fn_) = (0, 0, 0);
    for (&t, &p) in truth.iter().zip(pred) {
        match (t, p) {
            (true, true) => tp += 1,
            (false, true) => fp += 1,
            (true, false) => fn_ += 1,
            (false, false) => {}
        }
    }
    f1_from_counts(tp, fp, fn_)
}

/// One-vs-rest F1 for every class label that occurs in `truth` or `pred`.
///
/// # Panics
/// If `truth` and `pred` have different lengths.
pub fn per_class_f1(truth: &[usize], pred: &[usize]) -> BTreeMap<usize, f64> {
    assert_same_len("per_class_f1(truth, pred)", truth.len(), pred.len());
    let classes: BTreeSet<usize> = truth.iter().chain(pred).copied().collect();
    // (tp, fp, fn) per class.
    let mut counts: BTreeMap<usize, (usize, usize, usize)> =
        classes.into_iter().map(|c| (c, (0, 0, 0))).collect();
    for (&t, &p) in truth.iter().zip(pred) {
        if t == p {
            if let Some(c) = counts.get_mut(&t) {
                c.0 += 1;
            }
        } else {
            if let Some(c) = counts.get_mut(&p) {
                c.1 += 1;
            }
            if let Some(c) = counts.get_mut(&t) {
                c.2 += 1;
            }
        }
    }
    counts
        .into_iter()
        .map(|(class, (tp, fp, fn_))| (class, f1_from_counts(tp, fp, fn_)))
        .collect()
}

/// Macro-averaged F1: the unweighted mean of [`per_class_f1`] over the
/// classes that occur in `truth` or `pred`. Returns 0 for empty input.
///
/// # Panics
/// If `truth` and `pred` have different lengths.
pub fn macro_f1(truth: &[usize], pred: &[usize]) -> f64 {
    let per_class = per_class_f1(truth, pred);
    if per_class.is_empty() {
        return 0.0;
    }
    per_class.values().sum::<f64>() / per_class.len() as f64
}
