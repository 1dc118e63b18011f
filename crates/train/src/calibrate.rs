//! Fitting the probability calibrator of the ensemble's margin (Guo et al. 2017).
//!
//! Three candidates ([`Calibrator`]) map the mean member margin `s` to a probability:
//! temperature scaling `σ(s/T)`, Platt scaling `σ(a·s + b)` and isotonic regression
//! (pool-adjacent-violators, interpolated between blocks, with each block's rate shrunk toward
//! the base rate so that no finite sample claims a probability of exactly 0 or 1). [`select`]
//! picks the one with the lowest held-out log-loss under k-fold cross-validation and refits it
//! on all rows.

use arbiter_core::stats::log_loss;
use arbiter_model::calibrate::{Calibrator, Selection, sigmoid};

/// The candidates compared by [`select`].
pub const METHODS: [&str; 3] = ["temperature", "platt", "isotonic"];

/// Fits one method of [`METHODS`] by name on (margin, label) pairs.
pub fn fit(method: &str, s: &[f64], y: &[bool]) -> Calibrator {
    match method {
        "temperature" => {
            let (a, _) = fit_logistic(s, y, false);
            Calibrator::Temperature { t: 1.0 / a }
        }
        "platt" => {
            let (a, b) = fit_logistic(s, y, true);
            Calibrator::Platt { a, b }
        }
        "isotonic" => fit_isotonic(s, y),
        other => panic!("unknown calibration method {other}"),
    }
}

/// Maximum-likelihood logistic fit of `σ(a·s + b)` by Newton's method with a tiny ridge;
/// without intercept, `b` stays 0 (temperature scaling).
fn fit_logistic(s: &[f64], y: &[bool], intercept: bool) -> (f64, f64) {
    let (mut a, mut b) = (1.0, 0.0);
    for _ in 0..100 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 1e-9, 0.0, 1e-9);
        for (&si, &yi) in s.iter().zip(y) {
            let p = sigmoid(a * si + b);
            let r = p - f64::from(u8::from(yi));
            let w = (p * (1.0 - p)).max(1e-12);
            ga += r * si;
            gb += r;
            haa += w * si * si;
            hab += w * si;
            hbb += w;
        }
        let (da, db) = if intercept {
            let det = haa * hbb - hab * hab;
            if det.abs() < 1e-18 {
                break;
            }
            ((hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det)
        } else {
            (ga / haa, 0.0)
        };
        // Damped step keeps Newton stable when the data are nearly separable.
        let scale = 1.0_f64.min(5.0 / (da.abs() + db.abs()).max(1e-300));
        a -= scale * da;
        b -= scale * db;
        if da.abs() + db.abs() < 1e-10 {
            break;
        }
    }
    if !a.is_finite() || a <= 0.0 {
        // A non-positive slope would reverse the ranking; fall back to the identity map.
        return (1.0, 0.0);
    }
    (a, b)
}

fn fit_isotonic(s: &[f64], y: &[bool]) -> Calibrator {
    let mut pairs: Vec<(f64, bool)> = s.iter().copied().zip(y.iter().copied()).collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = pairs.len().max(1) as f64;
    let base = pairs.iter().filter(|p| p.1).count() as f64 / n;
    // Blocks of (x_lo, x_hi, positives, count), built by pooling adjacent violators.
    let mut blocks: Vec<(f64, f64, f64, f64)> = Vec::new();
    let mut i = 0;
    while i < pairs.len() {
        let x = pairs[i].0;
        let (mut pos, mut cnt) = (0.0, 0.0);
        while i < pairs.len() && pairs[i].0 == x {
            pos += f64::from(u8::from(pairs[i].1));
            cnt += 1.0;
            i += 1;
        }
        blocks.push((x, x, pos, cnt));
        while blocks.len() >= 2 {
            let l = blocks[blocks.len() - 2];
            let r = blocks[blocks.len() - 1];
            if l.2 / l.3 >= r.2 / r.3 {
                blocks.pop();
                let last = blocks.last_mut().expect("two blocks");
                *last = (l.0, r.1, l.2 + r.2, l.3 + r.3);
            } else {
                break;
            }
        }
    }
    let mut x = Vec::with_capacity(blocks.len() * 2);
    let mut yv = Vec::with_capacity(blocks.len() * 2);
    let mut floor: f64 = 0.0;
    for (lo, hi, pos, cnt) in blocks {
        // One pseudo-observation at the base rate: a block of 5,000 benign rows says
        // "about 1 in 10,000", not "never".
        let rate = ((pos + base) / (cnt + 1.0)).max(floor);
        floor = rate;
        x.push(lo);
        yv.push(rate);
        if hi > lo {
            x.push(hi);
            yv.push(rate);
        }
    }
    if x.is_empty() {
        x.push(0.0);
        yv.push(0.5);
    }
    Calibrator::Isotonic { x, y: yv }
}

/// Chooses the calibrator with the lowest `folds`-fold held-out log-loss. Fold membership is
/// `i % folds` over rows in the order given (callers shuffle with a seed).
pub fn select(s: &[f64], y: &[bool], folds: usize) -> Selection {
    let folds = folds.clamp(2, s.len().max(2));
    let mut cv = Vec::new();
    for method in METHODS {
        let mut held_p = Vec::with_capacity(s.len());
        let mut held_y = Vec::with_capacity(s.len());
        for f in 0..folds {
            let (mut fs, mut fy) = (Vec::new(), Vec::new());
            for i in (0..s.len()).filter(|i| i % folds != f) {
                fs.push(s[i]);
                fy.push(y[i]);
            }
            let cal = fit(method, &fs, &fy);
            for i in (0..s.len()).filter(|i| i % folds == f) {
                held_p.push(cal.apply(s[i]));
                held_y.push(y[i]);
            }
        }
        cv.push((method.to_string(), log_loss(&held_p, &held_y)));
    }
    let best = cv
        .iter()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(m, _)| m.clone())
        .expect("three candidates");
    Selection {
        chosen: fit(&best, s, y),
        cv_log_loss: cv,
        folds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn synthetic(n: usize, slope: f64) -> (Vec<f64>, Vec<bool>) {
        // Deterministic: margin spread over [-6, 6], label drawn from σ(slope·s) by a
        // low-discrepancy sequence so the true map is known.
        let mut s = Vec::with_capacity(n);
        let mut y = Vec::with_capacity(n);
        for i in 0..n {
            let si = -6.0 + 12.0 * (i as f64 + 0.5) / n as f64;
            let u = (i as f64 * 0.618_033_988_749_895).fract();
            s.push(si);
            y.push(u < sigmoid(slope * si));
        }
        (s, y)
    }

    #[test]
    fn platt_recovers_the_slope_of_a_logistic_truth() {
        let (s, y) = synthetic(20_000, 0.5);
        let Calibrator::Platt { a, b } = fit("platt", &s, &y) else {
            panic!()
        };
        assert!((a - 0.5).abs() < 0.05, "a = {a}");
        assert!(b.abs() < 0.1, "b = {b}");
    }

    #[test]
    fn selection_prefers_a_parametric_map_when_the_truth_is_logistic() {
        let (s, y) = synthetic(5_000, 0.5);
        let sel = select(&s, &y, 5);
        assert_ne!(sel.chosen.name(), "isotonic", "{:?}", sel.cv_log_loss);
    }

    #[test]
    fn isotonic_never_claims_certainty_from_a_finite_sample() {
        let s: Vec<f64> = (0..1000).map(f64::from).collect();
        let y: Vec<bool> = (0..1000).map(|i| i >= 500).collect();
        let cal = fit("isotonic", &s, &y);
        let lo = cal.apply(-1.0);
        let hi = cal.apply(2000.0);
        assert!(lo > 0.0 && lo < 0.01, "{lo}");
        assert!(hi < 1.0 && hi > 0.99, "{hi}");
    }

    proptest! {
        #[test]
        fn every_calibrator_is_monotone_and_stays_in_the_unit_interval(
            data in proptest::collection::vec((-20.0f64..20.0, any::<bool>()), 2..200),
            probes in proptest::collection::vec(-40.0f64..40.0, 2..50),
        ) {
            let (s, y): (Vec<f64>, Vec<bool>) = data.into_iter().unzip();
            for method in METHODS {
                let cal = fit(method, &s, &y);
                let mut probes = probes.clone();
                probes.sort_by(f64::total_cmp);
                let mut last = 0.0;
                for &x in &probes {
                    let p = cal.apply(x);
                    prop_assert!((0.0..=1.0).contains(&p), "{method}: {p}");
                    prop_assert!(p + 1e-12 >= last, "{method} not monotone at {x}: {p} < {last}");
                    last = p;
                }
            }
        }
    }
}
