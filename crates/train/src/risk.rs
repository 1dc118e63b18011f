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
//!
//! **A declared deployment base rate π.** The calibration rows' attack share is not the
//! production one, and the attack rate among closed rows depends on it. Under label shift
//! (only the class share changes, each class's rows look the same), the rate at threshold t is
//! π·a(t) / (π·a(t) + (1 − π)·b(t)), with a(t) the share of attacks closed and b(t) the share
//! of benign rows closed. Given the class totals, a(t) and b(t) are binomial proportions: the
//! Clopper–Pearson upper bound on a(t) and lower bound on b(t), each at confidence 1 − δ/2,
//! bound the rate with confidence 1 − δ (union bound), because the rate grows with a and falls
//! with b. The same fixed sequence tests that bound; it starts at the first candidate where
//! zero attacks would bound the rate by α/4, which depends only on the class totals and the
//! closed-set size, not on which rows are attacks.
//!
//! **When α cannot be certified**, the table says how much more labelled data would help: the
//! smallest factor s by which the risk-control rows would have to grow, every count scaled
//! alike (the same attack share at each threshold), for some candidate's bound to reach α, and
//! so about (s − 1) × the benign rows measured. It is an estimate — the new rows' attack
//! shares will differ, and the fixed sequence must still pass every earlier candidate — and is
//! absent when no candidate's measured attack rate is below α, since more rows of the same kind
//! cannot certify what they already exceed.

use arbiter_core::stats::{clopper_pearson_lower, clopper_pearson_upper};
use arbiter_model::risk::{RiskRow, RiskTable};

/// The α levels of the table.
pub const ALPHAS: [f64; 5] = [0.001, 0.005, 0.01, 0.02, 0.05];

/// The confidence bound on the attack rate among `closed` rows holding `attacks` (the rest
/// benign), for the calibration rows' own share or a declared base rate.
struct Bound {
    delta: f64,
    /// `(base rate, attacks in all rows, benign rows in all rows)` under a declared share.
    shift: Option<(f64, u64, u64)>,
}

/// Largest growth factor of the risk-control rows the estimate of rows needed considers.
const MAX_GROWTH: f64 = 1000.0;

impl Bound {
    /// The same bound for rows grown by factor `s`, every count scaled alike.
    fn grown(&self, s: f64) -> Bound {
        let scale = |n: u64| (n as f64 * s).round() as u64;
        Bound {
            delta: self.delta,
            shift: self.shift.map(|(pi, a, b)| (pi, scale(a), scale(b))),
        }
    }

    /// The smallest growth factor (on a 2 % grid up to [`MAX_GROWTH`]) at which a candidate
    /// with `attacks` of `closed` rows would certify `alpha`, if any.
    fn growth_needed(&self, attacks: u64, closed: u64, alpha: f64) -> Option<f64> {
        if closed == 0 || attacks as f64 >= alpha * closed as f64 {
            return None;
        }
        let mut s = 1.02;
        while s <= MAX_GROWTH {
            let (k, n) = (
                (attacks as f64 * s).round() as u64,
                (closed as f64 * s).round() as u64,
            );
            if self.grown(s).upper(k, n) <= alpha {
                return Some(s);
            }
            s *= 1.02;
        }
        None
    }

    fn upper(&self, attacks: u64, closed: u64) -> f64 {
        match self.shift {
            None => clopper_pearson_upper(attacks, closed, 1.0 - self.delta),
            Some((pi, n_attack, n_benign)) => {
                let a = clopper_pearson_upper(attacks, n_attack, 1.0 - self.delta / 2.0);
                let b = clopper_pearson_lower(closed - attacks, n_benign, 1.0 - self.delta / 2.0);
                let (num, den) = (pi * a, pi * a + (1.0 - pi) * b);
                if den > 0.0 { num / den } else { 1.0 }
            }
        }
    }

    /// Whether `closed` rows could certify `alpha` at all (with no attack among them).
    fn possible(&self, closed: u64, alpha: f64) -> bool {
        match self.shift {
            // Clopper–Pearson with no attack is 1 − δ^(1/n): at most α from this size on.
            None => closed >= ((self.delta.ln() / (1.0 - alpha).ln()).ceil() as u64).max(1),
            // Under a declared share the bound at a handful of rows is dominated by the lower
            // bound on the benign share, and one attack among them would stop the sequence
            // before it reaches thresholds that certify easily. Start where zero attacks
            // would leave three quarters of α to spare: still a rule on sizes, not labels.
            Some(_) => self.upper(0, closed) <= alpha / 4.0,
        }
    }
}

/// Builds the table. `p` are calibrated probabilities, `eligible` marks rows with no flag,
/// `attack` the truth; thresholds stay at or below `max_threshold`. With `base_rate`, each
/// bound is for that attack share instead of the rows' own (see the module documentation).
pub fn control(
    p: &[f64],
    eligible: &[bool],
    attack: &[bool],
    alphas: &[f64],
    delta: f64,
    max_threshold: f64,
    base_rate: Option<f64>,
) -> RiskTable {
    let mut rows: Vec<(f64, bool)> = p
        .iter()
        .zip(eligible)
        .zip(attack)
        .filter(|((p, e), _)| **e && **p <= max_threshold)
        .map(|((p, _), a)| (*p, *a))
        .collect();
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    let benign_rows = attack.iter().filter(|a| !**a).count() as u64;
    let benign_total = benign_rows.max(1) as f64;
    let bound = Bound {
        delta,
        shift: base_rate.map(|pi| (pi, attack.len() as u64 - benign_rows, benign_rows)),
    };
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
            let mut best: Option<(f64, u64, u64, f64, u64)> = None;
            for &(t, n, k, benign) in grid.iter().skip_while(|g| !bound.possible(g.1, alpha)) {
                let ub = bound.upper(k, n);
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
                    more_benign_rows: None,
                },
                None => RiskRow {
                    alpha,
                    threshold: None,
                    closed: 0,
                    attacks: 0,
                    upper_bound: 1.0,
                    benign_coverage: 0.0,
                    more_benign_rows: grid
                        .iter()
                        .filter_map(|g| bound.growth_needed(g.2, g.1, alpha))
                        .min_by(f64::total_cmp)
                        .map(|s| (((s - 1.0) * benign_rows as f64).ceil() as u64).max(1)),
                },
            }
        })
        .collect();
    RiskTable {
        delta,
        max_threshold,
        rows: p.len() as u64,
        eligible: rows.len() as u64,
        base_rate,
        table,
        cross_fit: None,
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
            None,
        );
        assert!(t.table[0].threshold.unwrap() <= 0.2);
    }

    #[test]
    fn too_few_rows_certify_nothing() {
        let p = vec![0.001; 100];
        let t = control(&p, &[true; 100], &[false; 100], &[0.001], 0.05, 1.0, None);
        assert_eq!(t.table[0].threshold, None);
    }

    #[test]
    fn an_uncertifiable_alpha_says_how_many_more_benign_rows_would_certify_it() {
        // 100 clean rows: Clopper–Pearson with no attack needs n ≥ ln 0.05 / ln 0.999 ≈ 2995.
        let p = vec![0.001; 100];
        let t = control(&p, &[true; 100], &[false; 100], &[0.001], 0.05, 1.0, None);
        let more = t.table[0]
            .more_benign_rows
            .expect("more rows would certify it");
        assert!((2_850..=3_000).contains(&more), "{more}");
        // Grown by that many, the table certifies.
        let n = 100 + more as usize;
        let grown = control(
            &vec![0.001; n],
            &vec![true; n],
            &vec![false; n],
            &[0.001],
            0.05,
            1.0,
            None,
        );
        assert!(grown.table[0].threshold.is_some());
    }

    #[test]
    fn no_amount_of_rows_certifies_an_alpha_the_attack_rate_already_exceeds() {
        // One attack in every 50 closed rows: 2 % measured, α = 1 %.
        let n = 5_000;
        let p: Vec<f64> = (0..n).map(|i| i as f64 / n as f64 * 0.1).collect();
        let attack: Vec<bool> = (0..n).map(|i| i % 50 == 0).collect();
        let t = control(&p, &vec![true; n], &attack, &[0.01], 0.05, 1.0, None);
        assert_eq!(t.table[0].threshold, None);
        assert_eq!(t.table[0].more_benign_rows, None);
    }

    #[test]
    fn flagged_rows_are_never_counted_as_closable() {
        let n = 10_000;
        let p = vec![0.0; n];
        let eligible: Vec<bool> = (0..n).map(|i| i % 2 == 0).collect();
        let attack: Vec<bool> = (0..n).map(|i| i % 2 == 1).collect();
        let t = control(&p, &eligible, &attack, &[0.001], 0.05, 1.0, None);
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
            let t = control(&p, &vec![true; p.len()], &a, &[alpha], 0.05, 1.0, None);
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
        let t = control(&p, &vec![true; p.len()], &a, &ALPHAS, 0.05, 1.0, None);
        for w in t.table.windows(2) {
            assert!(w[1].closed >= w[0].closed, "{:?}", t.table);
        }
        for r in &t.table {
            if r.threshold.is_some() {
                assert!(r.upper_bound <= r.alpha, "{r:?}");
            }
        }
    }

    /// Rows with attack share `share`, attacks scoring high and benign rows low.
    fn rows(rng: &mut ChaCha8Rng, n: usize, share: f64) -> (Vec<f64>, Vec<bool>) {
        (0..n)
            .map(|_| {
                let a = rng.random_bool(share);
                let u: f64 = rng.random();
                (if a { u.powf(0.3) } else { u.powf(3.0) }, a)
            })
            .unzip()
    }

    #[test]
    fn a_lower_declared_base_rate_closes_at_least_as_much() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let (p, a) = rows(&mut rng, 20_000, 0.5);
        let ok = vec![true; p.len()];
        let closed = |pi| control(&p, &ok, &a, &[0.01], 0.05, 1.0, Some(pi)).table[0].closed;
        let (rare, common, usual) = (closed(0.02), closed(0.2), closed(0.5));
        assert!(rare >= common && common >= usual, "{rare} {common} {usual}");
        assert!(
            rare > usual,
            "a 2 % base rate should close more than a 50 % one"
        );
    }

    #[test]
    fn a_declared_base_rate_is_recorded_in_the_table() {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        let (p, a) = rows(&mut rng, 5_000, 0.3);
        let t = control(&p, &vec![true; p.len()], &a, &ALPHAS, 0.05, 1.0, Some(0.03));
        assert_eq!(t.base_rate, Some(0.03));
        for r in t.table.iter().filter(|r| r.threshold.is_some()) {
            assert!(r.upper_bound <= r.alpha, "{r:?}");
        }
    }

    /// A modest, attack-heavy labelled set (3,500 benign rows, 88 % attacks) certifies nothing
    /// at α = 0.01 for its own share, and does for a declared production share of 2 %.
    #[test]
    fn a_low_declared_base_rate_certifies_where_the_rows_own_share_cannot() {
        let mut rng = ChaCha8Rng::seed_from_u64(13);
        let (mut p, mut a) = (Vec::new(), Vec::new());
        for _ in 0..3_500 {
            p.push(rng.random::<f64>() * 0.2);
            a.push(false);
        }
        for _ in 0..25_700 {
            let u: f64 = rng.random();
            // Most attacks score high; 3 % spread evenly over the benign range.
            p.push(if u < 0.03 {
                u / 0.03 * 0.2
            } else {
                0.5 + u / 2.0
            });
            a.push(true);
        }
        let ok = vec![true; p.len()];
        let own = control(&p, &ok, &a, &[0.01], 0.05, 1.0, None);
        let declared = control(&p, &ok, &a, &[0.01], 0.05, 1.0, Some(0.02));
        assert_eq!(own.table[0].threshold, None, "{:?}", own.table[0]);
        assert!(
            declared.table[0].threshold.is_some(),
            "{:?}",
            declared.table[0]
        );
    }

    /// Certified on a 50/50 calibration set for a 5 % production share, the threshold keeps the
    /// attack rate under α on fresh production-like data in most repetitions (1 − δ = 95 %).
    #[test]
    fn a_threshold_certified_for_a_declared_base_rate_holds_at_that_rate() {
        let mut rng = ChaCha8Rng::seed_from_u64(14);
        let (alpha, pi, reps) = (0.01, 0.05, 40);
        let mut violations = 0;
        for _ in 0..reps {
            let (p, a) = rows(&mut rng, 8_000, 0.5);
            let t = control(&p, &vec![true; p.len()], &a, &[alpha], 0.05, 1.0, Some(pi));
            let Some(th) = t.table[0].threshold else {
                continue;
            };
            let (tp, ta) = rows(&mut rng, 100_000, pi);
            let n = tp.iter().filter(|p| **p <= th).count();
            let k = tp.iter().zip(&ta).filter(|(p, a)| **p <= th && **a).count();
            if n > 0 && k as f64 / n as f64 > alpha {
                violations += 1;
            }
        }
        assert!(
            violations <= 6,
            "{violations} of {reps} runs broke the bound"
        );
    }
}
