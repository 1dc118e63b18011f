//! Selective prediction: risk–coverage curves and auto-close summaries.

use std::cmp::Ordering;

use serde::Serialize;

use super::assert_same_len;

/// Upper bound on the number of points [`risk_coverage`] returns.
pub const RISK_COVERAGE_MAX_POINTS: usize = 1000;

/// One point of a risk–coverage curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RiskCoveragePoint {
    /// Fraction of all rows auto-closed so far, in `(0, 1]`.
    pub coverage: f64,
    /// Fraction of the auto-closed rows that are attacks, in `[0, 1]`.
    pub risk: f64,
}

/// Ascending order on keys in which NaN sorts after every number and
/// `-0.0 == 0.0`, so equal keys compare equal and a stable sort keeps them
/// in input order.
fn key_order(a: f64, b: f64) -> Ordering {
    a.partial_cmp(&b)
        .unwrap_or_else(|| a.is_nan().cmp(&b.is_nan()))
}

/// Risk–coverage curve of auto-closing rows in order of `key`.
///
/// Rows are sorted by `key` ascending (lower key = closed first, e.g. the
/// predicted probability of attack). The sort is stable: rows with equal
/// keys are closed in input order, so ties are *not* averaged — shuffle
/// the input first if that matters. NaN keys are closed last.
///
/// Point `k` (for `k = 1..=n`) has `coverage = k/n` and
/// `risk = attacks among the first k rows / k`. When `n` exceeds
/// [`RISK_COVERAGE_MAX_POINTS`], the curve is downsampled to that many
/// points evenly spaced in `k`; the last point (`coverage == 1`, risk equal
/// to the overall attack rate) is always kept. Empty input gives an empty
/// curve.
///
/// # Panics
/// If `key` and `is_attack` have different lengths.
pub fn risk_coverage(key: &[f64], is_attack: &[bool]) -> Vec<RiskCoveragePoint> {
    assert_same_len("risk_coverage(key, is_attack)", key.len(), is_attack.len());
    let n = key.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| key_order(key[a], key[b]));

    // attacks_before[k] = attacks among the first k rows in closing order.
    let mut attacks_before = Vec::with_capacity(n + 1);
    attacks_before.push(0_usize);
    let mut running = 0;
    for &i in &order {
        running += usize::from(is_attack[i]);
        attacks_before.push(running);
    }

    let point = |k: usize| RiskCoveragePoint {
        coverage: k as f64 / n as f64,
        risk: attacks_before[k] as f64 / k as f64,
    };
    if n <= RISK_COVERAGE_MAX_POINTS {
        (1..=n).map(point).collect()
    } else {
        // k_j = ceil(j * n / M): strictly increasing because n > M, and k_M = n.
        let m = RISK_COVERAGE_MAX_POINTS as u128;
        (1..=m)
            .map(|j| {
                let k = (j * n as u128).div_ceil(m);
                point(usize::try_from(k).unwrap_or(n))
            })
            .collect()
    }
}

/// Risk at the first point of `curve` whose coverage is at least
/// `coverage`; `None` if no point reaches it (or `coverage` is NaN).
///
/// `curve` must be ordered by coverage, as [`risk_coverage`] returns it.
pub fn risk_at_coverage(curve: &[RiskCoveragePoint], coverage: f64) -> Option<f64> {
    curve
        .iter()
        .find(|point| point.coverage >= coverage)
        .map(|point| point.risk)
}

/// Area under the risk–coverage curve (AURC) by the trapezoid rule.
///
/// The curve starts at coverage `k/n > 0`; the first point's risk is
/// extended flat back to coverage 0, so a curve of constant risk `r` has
/// AURC `r`. Lower is better. Returns 0 for an empty curve.
pub fn aurc(curve: &[RiskCoveragePoint]) -> f64 {
    let Some(first) = curve.first() else {
        return 0.0;
    };
    let head = first.coverage * first.risk;
    let body: f64 = curve
        .windows(2)
        .map(|w| (w[1].coverage - w[0].coverage) * (w[0].risk + w[1].risk) / 2.0)
        .sum();
    head + body
}

/// What auto-closing a set of rows would do.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AutoClose {
    /// Rows that would be auto-closed.
    pub closed: usize,
    /// Benign (non-attack) rows in the whole input.
    pub benign_total: usize,
    /// Benign rows closed / all benign rows (0 when there are no benign rows).
    pub benign_coverage: f64,
    /// Attacks among closed rows / closed rows (0 when nothing is closed).
    pub attack_rate: f64,
    /// Attacks that would be auto-closed (missed).
    pub attacks_closed: usize,
}

/// Summarises an auto-close decision: `closable[i]` says whether row `i`
/// would be closed without an analyst, `is_attack[i]` whether it is really
/// an attack.
///
/// # Panics
/// If `closable` and `is_attack` have different lengths.
pub fn auto_close(closable: &[bool], is_attack: &[bool]) -> AutoClose {
    assert_same_len(
        "auto_close(closable, is_attack)",
        closable.len(),
        is_attack.len(),
    );
    let (mut closed, mut benign_total, mut benign_closed, mut attacks_closed) = (0, 0, 0, 0);
    for (&close, &attack) in closable.iter().zip(is_attack) {
        closed += usize::from(close);
        benign_total += usize::from(!attack);
        benign_closed += usize::from(close && !attack);
        attacks_closed += usize::from(close && attack);
    }
    let ratio = |num: usize, den: usize| {
        if den == 0 {
            0.0
        } else {
            num as f64 / den as f64
        }
    };
    AutoClose {
        closed,
        benign_total,
        benign_coverage: ratio(benign_closed, benign_total),
        attack_rate: ratio(attacks_closed, closed),
        attacks_closed,
    }
}
