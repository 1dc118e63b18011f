//! Certifying the risk-control table ([`RiskTable`]): for each target α, the auto-close
//! threshold whose attack rate among auto-closed rows is provably at most α, with confidence
//! 1 − δ.
//!
//! Learn-then-Test with fixed-sequence testing (Angelopoulos et al. 2021): candidate thresholds
//! are ordered from the most to the least conservative by a label-free rule (the calibrated
//! probabilities of the eligible calibration rows), and each null hypothesis "the attack rate
//! among rows closed at this threshold exceeds α" is rejected when the Clopper–Pearson upper
//! bound on that rate is at most α. Testing stops at the first failure; the last rejected
//! threshold is the answer, and the family-wise error rate is at most δ without correction.
//! The sequence starts at the smallest closed-set size at which zero attacks could pass, since a
//! smaller set can never reject and would stop the sequence before it starts.

use arbiter_core::stats::clopper_pearson_upper;
use arbiter_model::risk::{RiskRow, RiskTable};

/// The α levels of the table.
pub const ALPHAS: [f64; 5] = [0.001, 0.005, 0.01, 0.02, 0.05];

/// Builds the table. `p` are calibrated probabilities, `eligible` marks rows with no flag,
/// `attack` the truth; thresholds stay at or below `max_threshold`.
pub fn control(
    p: &[f64],
    eligible: &[bool],
    attack: &[bool],
    alphas: &[f64],
    delta: f64,
    max_threshold: f64,
) -> RiskTable {
    let mut rows: Vec<(f64, bool)> = p
        .iter()
        .zip(eligible)
        .zip(attack)
        .filter(|((p, e), _)| **e && **p <= max_threshold)
        .map(|((p, _), a)| (*p, *a))
        .collect();
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    let benign_total = attack.iter().filter(|a| !**a).count().max(1) as f64;
    // Distinct thresholds with the closed-set size and attacks at each.
    let mut steps: Vec<(f64, u64, u64, u64)> = Vec::new(); // (threshold, closed, attacks, benign)
    let (mut closed, mut attacks) = (0u64, 0u64);
    let mut i = 0;
    while i < rows.len() {
        let t = rows[i].0;
        while i < rows.len() && rows[i].0 == t {
            closed += 1;
            attacks += u64::from(rows[i].1);
            i += 1;
        }
        steps.push((t, closed, attacks, closed - attacks));
    }
    // Candidate thresholds: one per ~1 % growth of the closed set, fixed once for all α so
    // that looser targets test a superset of the same candidates. Skipping candidates never
    // weakens fixed-sequence validity.
    let mut grid: Vec<(f64, u64, u64, u64)> = Vec::new();
    for (j, s) in steps.iter().enumerate() {
        let last = grid.last().map_or(0, |g| g.1);
        if last == 0 || s.1 as f64 >= last as f64 * 1.01 || j + 1 == steps.len() {
            grid.push(*s);
        }
    }
    let table = alphas
        .iter()
        .map(|&alpha| {
            let min_closed = ((delta.ln() / (1.0 - alpha).ln()).ceil() as u64).max(1);
            let mut best: Option<(f64, u64, u64, f64, u64)> = None;
            for &(t, n, k, benign) in grid.iter().filter(|g| g.1 >= min_closed) {
                let ub = clopper_pearson_upper(k, n, 1.0 - delta);
                if ub <= alpha {
                    best = Some((t, n, k, ub, benign));
                } else {
                    break;
                }
            }
            match best {
                Some((t, n, k, ub, benign)) => RiskRow {
                    alpha,
                    threshold: Some(t),
                    closed: n,
                    attacks: k,
                    upper_bound: ub,
                    benign_coverage: benign as f64 / benign_total,
                },
                None => RiskRow {
                    alpha,
                    threshold: None,
                    closed: 0,
                    attacks: 0,
                    upper_bound: 1.0,
                    benign_coverage: 0.0,
                },
            }
        })
        .collect();
    RiskTable {
        delta,
        max_threshold,
        rows: p.len() as u64,
        eligible: rows.len() as u64,
        table,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn no_threshold_exceeds_the_cap_however_clean_the_rows() {
        let p: Vec<f64> = (0..10_000).map(|i| f64::from(i) / 10_000.0).collect();
        let t = control(
            &p,
            &vec![true; p.len()],
            &vec![false; p.len()],
            &[0.01],
            0.05,
            0.2,
        );
        assert!(t.table[0].threshold.unwrap() <= 0.2);
    }

    #[test]
    fn too_few_rows_certify_nothing() {
        let p = vec![0.001; 100];
        let t = control(&p, &[true; 100], &[false; 100], &[0.001], 0.05, 1.0);
        assert_eq!(t.table[0].threshold, None);
    }

    #[test]
    fn flagged_rows_are_never_counted_as_closable() {
        let n = 10_000;
        let p = vec![0.0; n];
        let eligible: Vec<bool> = (0..n).map(|i| i % 2 == 0).collect();
        let attack: Vec<bool> = (0..n).map(|i| i % 2 == 1).collect();
        let t = control(&p, &eligible, &attack, &[0.001], 0.05, 1.0);
        assert_eq!(t.eligible, 5_000);
        assert_eq!(t.table[0].attacks, 0);
        assert_eq!(t.table[0].closed, 5_000);
    }

    /// On fresh data from the same distribution, the certified threshold keeps the attack rate
    /// under α in the vast majority of repetitions (the guarantee is 1 − δ = 95 %).
    #[test]
    fn certified_thresholds_hold_on_fresh_data() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut draw = |n: usize| -> (Vec<f64>, Vec<bool>) {
            (0..n)
                .map(|_| {
                    let a = rng.random_bool(0.3);
                    let u: f64 = rng.random();
                    (if a { u.powf(0.3) } else { u.powf(3.0) }, a)
                })
                .unzip()
        };
        let alpha = 0.01;
        let mut violations = 0;
        let reps = 40;
        for _ in 0..reps {
            let (p, a) = draw(8_000);
            let t = control(&p, &vec![true; p.len()], &a, &[alpha], 0.05, 1.0);
            let Some(th) = t.table[0].threshold else {
                continue;
            };
            let (tp, ta) = draw(50_000);
            let closed: Vec<bool> = tp.iter().map(|p| *p <= th).collect();
            let n = closed.iter().filter(|c| **c).count();
            let k = closed.iter().zip(&ta).filter(|(c, a)| **c && **a).count();
            if n > 0 && k as f64 / n as f64 > alpha {
                violations += 1;
            }
        }
        assert!(
            violations <= 6,
            "{violations} of {reps} runs broke the bound"
        );
    }

    #[test]
    fn looser_alphas_close_at_least_as_much() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let (p, a): (Vec<f64>, Vec<bool>) = (0..20_000)
            .map(|_| {
                let a = rng.random_bool(0.2);
                let u: f64 = rng.random();
                (if a { u.powf(0.5) } else { u.powf(2.0) }, a)
            })
            .unzip();
        let t = control(&p, &vec![true; p.len()], &a, &ALPHAS, 0.05, 1.0);
        for w in t.table.windows(2) {
            assert!(w[1].closed >= w[0].closed, "{:?}", t.table);
        }
        for r in &t.table {
            if r.threshold.is_some() {
                assert!(r.upper_bound <= r.alpha, "{r:?}");
            }
        }
    }
}
