//! Exact (Clopper–Pearson) one-sided bounds on a binomial proportion.
//!
//! The bounds are quantiles of Beta distributions. The regularized
//! incomplete beta function is evaluated with its continued fraction
//! (modified Lentz's method); the log-beta normaliser uses a Lanczos
//! log-gamma for small arguments and Stirling's series above that, written
//! so the large terms cancel analytically rather than numerically. Where
//! the continued fraction would itself cancel (few events in very many
//! trials), integer shapes use an exact binomial sum instead. The quantile
//! is found by bisection.

use std::f64::consts::PI;

/// `0.5 * ln(2π)`.
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// Lanczos coefficients for g = 7, nine terms.
const LANCZOS_G: f64 = 7.0;
const LANCZOS: [f64; 9] = [
    0.999_999_999_999_809_9,
    676.520_368_121_885_1,
    -1_259.139_216_722_402_8,
    771.323_428_777_653_1,
    -176.615_029_162_140_6,
    12.507_343_278_686_905,
    -0.138_571_095_265_720_12,
    9.984_369_578_019_572e-6,
    1.505_632_735_149_311_6e-7,
];

/// Natural log of the gamma function for `x > 0` (Lanczos approximation,
/// with the reflection formula below 0.5).
pub(crate) fn ln_gamma(x: f64) -> f64 {
    if x < 0.5 {
        // Γ(x) Γ(1 − x) = π / sin(πx)
        return (PI / (PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let z = x - 1.0;
    let series = LANCZOS[1..]
        .iter()
        .enumerate()
        .fold(LANCZOS[0], |acc, (i, &c)| acc + c / (z + (i + 1) as f64));
    let t = z + LANCZOS_G + 0.5;
    HALF_LN_2PI + (z + 0.5) * t.ln() - t + series.ln()
}

/// `ln Γ(x) − [(x − ½) ln x − x + ½ ln 2π]`: the correction to Stirling's
/// formula, which is small (≈ 1/(12x)) and so can be combined without
/// cancellation.
fn stirling_correction(x: f64) -> f64 {
    if x < 10.0 {
        return ln_gamma(x) - ((x - 0.5) * x.ln() - x + HALF_LN_2PI);
    }
    // Asymptotic series Σ B₂ₖ / (2k (2k − 1) x^(2k−1)); at x ≥ 10 the
    // omitted terms are below 1e-16.
    const COEFFS: [f64; 7] = [
        1.0 / 12.0,
        -1.0 / 360.0,
        1.0 / 1260.0,
        -1.0 / 1680.0,
        1.0 / 1188.0,
        -691.0 / 360_360.0,
        1.0 / 156.0,
    ];
    let inv = 1.0 / x;
    let inv2 = inv * inv;
    let poly = COEFFS.iter().rev().fold(0.0, |acc, &c| acc * inv2 + c);
    poly * inv
}

/// `ln[x^a (1 − x)^b / B(a, b)]`, the prefactor of the incomplete beta
/// function, for `0 < x < 1`.
///
/// Expanding `ln B` with Stirling's formula, the `O(a ln a)` terms cancel
/// exactly and what is left is `a ln(x(a+b)/a) + b ln((1−x)(a+b)/b)`,
/// which is small near the distribution's bulk and is computed with `ln_1p`.
fn ln_prefactor(a: f64, b: f64, x: f64) -> f64 {
    let sum = a + b;
    let d = x.mul_add(sum, -a); // x(a+b) − a  =  b − (1−x)(a+b)
    a * (d / a).ln_1p() + b * (-d / b).ln_1p() + 0.5 * (a * b / sum).ln()
        - HALF_LN_2PI
        - (stirling_correction(a) + stirling_correction(b) - stirling_correction(sum))
}

/// Terms allowed in the continued fraction (it needs far fewer where used).
const MAX_TERMS: usize = 1_000_000;
/// Largest integer shape for which the binomial sum of [`binomial_head`]
/// replaces a badly conditioned continued fraction.
const MAX_HEAD_SHAPE: f64 = 1e6;

/// Continued fraction `1 + d₁/(1 + d₂/(1 + …))` of the incomplete beta
/// function, by the modified Lentz method. Converges fast for
/// `x < (a + 1)/(a + b + 2)`.
fn beta_continued_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    const EPS: f64 = 1e-16;
    let mut f = 1.0_f64;
    let mut c = f;
    let mut d = 0.0_f64;
    for j in 1..=MAX_TERMS {
        let m = (j / 2) as f64;
        let coeff = if j % 2 == 1 {
            -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0))
        } else {
            m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m))
        };
        d = 1.0 + coeff * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + coeff / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let delta = c * d;
        f *= delta;
        if (delta - 1.0).abs() < EPS {
            break;
        }
    }
    f
}

/// `P(Bin(s + other − 1, z) < s)` for a positive integer `s`, summed from
/// the largest term down. `top` is the term for `s − 1` successes, which
/// equals `prefactor / (other · z)`. All terms are positive, so there is
/// no cancellation; used where `z` lies above the binomial's mean, so the
/// terms shrink as the count goes down and the sum stops early.
fn binomial_head(s: f64, other: f64, z: f64, top: f64) -> f64 {
    let trials = s + other - 1.0;
    let odds = (1.0 - z) / z;
    let mut term = top;
    let mut sum = top;
    let mut count = s - 1.0;
    while count >= 1.0 {
        // term(count − 1) / term(count)
        let ratio = count / (trials - count + 1.0) * odds;
        term *= ratio;
        sum += term;
        if ratio < 1.0 && term <= sum * 1e-17 {
            break;
        }
        count -= 1.0;
    }
    sum
}

/// Regularized incomplete beta `I_x(a, b)` together with its complement
/// `1 − I_x(a, b)`. The one computed directly (usually the smaller) keeps
/// its relative precision even when tiny; the other is `1 −` it.
pub(crate) fn beta_inc_pair(a: f64, b: f64, x: f64) -> (f64, f64) {
    if x <= 0.0 {
        return (0.0, 1.0);
    }
    if x >= 1.0 {
        return (1.0, 0.0);
    }
    let prefactor = ln_prefactor(a, b, x).exp();
    // I_x(a, b) = prefactor / (a · cf(a, b, x)) and, by symmetry,
    // 1 − I_x(a, b) = prefactor / (b · cf(b, a, 1 − x)). Each fraction
    // converges fast on its own side of the mean.
    let below_mean = x < (a + 1.0) / (a + b + 2.0);
    // But a fraction whose first shape is much the larger (say b = 1e9
    // with a = 4 above the mean) is tiny, ≈ min/max, and its terms cancel,
    // costing ≈ log10(max/min) digits. For an integer smaller shape (always
    // the case for Clopper–Pearson) that side is an exact binomial sum of
    // positive terms instead.
    let lopsided = if below_mean { b < a } else { a < b };
    let small = a.min(b);
    if lopsided && small.fract() == 0.0 && small <= MAX_HEAD_SHAPE {
        return if below_mean {
            let y = 1.0 - x;
            let i = binomial_head(b, a, y, prefactor / (a * y));
            (i, 1.0 - i)
        } else {
            let comp = binomial_head(a, b, x, prefactor / (b * x));
            (1.0 - comp, comp)
        };
    }
    if below_mean {
        let i = prefactor / (a * beta_continued_fraction(a, b, x));
        (i, 1.0 - i)
    } else {
        let comp = prefactor / (b * beta_continued_fraction(b, a, 1.0 - x));
        (1.0 - comp, comp)
    }
}

/// The `x` in `(0, 1)` with `I_x(a, b) = p`, where `q = 1 − p` is passed
/// separately so that a target close to 1 keeps its precision. Bisection
/// until the bracket is below 1e-15 relative (or stops shrinking).
fn beta_quantile(a: f64, b: f64, p: f64, q: f64) -> f64 {
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    for _ in 0..2_000 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi || hi - lo <= 1e-15 * hi {
            break;
        }
        let (i, comp) = beta_inc_pair(a, b, mid);
        let below = if p <= q { i < p } else { comp > q };
        if below {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

#[track_caller]
fn check_args(k: u64, n: u64, confidence: f64) {
    assert!(k <= n, "clopper_pearson: k ({k}) must not exceed n ({n})");
    assert!(
        confidence > 0.0 && confidence < 1.0,
        "clopper_pearson: confidence must be in (0, 1), got {confidence}"
    );
}

/// Exact one-sided upper confidence bound on a binomial proportion after
/// observing `k` successes in `n` trials (Clopper–Pearson).
///
/// This is the `confidence` quantile of Beta(k + 1, n − k): the largest
/// proportion `p` for which seeing `k` or fewer successes still has
/// probability at least `1 − confidence`. Returns 1 when `k == n`
/// (including `n == 0`). For `k == 0` it equals `1 − (1 − confidence)^(1/n)`.
///
/// # Panics
/// If `k > n` or `confidence` is not strictly between 0 and 1.
pub fn clopper_pearson_upper(k: u64, n: u64, confidence: f64) -> f64 {
    check_args(k, n, confidence);
    if k == n {
        return 1.0;
    }
    beta_quantile((k + 1) as f64, (n - k) as f64, confidence, 1.0 - confidence)
}

/// Exact one-sided lower confidence bound on a binomial proportion after
/// observing `k` successes in `n` trials (Clopper–Pearson).
///
/// This is the `1 − confidence` quantile of Beta(k, n − k + 1). Returns 0
/// when `k == 0` (including `n == 0`). For `k == n` it equals
/// `(1 − confidence)^(1/n)`.
///
/// # Panics
/// If `k > n` or `confidence` is not strictly between 0 and 1.
pub fn clopper_pearson_lower(k: u64, n: u64, confidence: f64) -> f64 {
    check_args(k, n, confidence);
    if k == 0 {
        return 0.0;
    }
    beta_quantile(k as f64, (n - k + 1) as f64, 1.0 - confidence, confidence)
}

#[cfg(test)]
mod tests {
    use super::{beta_inc_pair, ln_gamma};

    fn rel_err(got: f64, want: f64) -> f64 {
        ((got - want) / want).abs()
    }

    #[test]
    fn ln_gamma_matches_log_factorials() {
        let mut ln_fact = 0.0_f64;
        for n in 1..=170_u32 {
            // ln Γ(n) = ln (n − 1)!
            let got = ln_gamma(f64::from(n));
            let tol = 1e-13 * ln_fact.abs().max(1.0);
            assert!((got - ln_fact).abs() <= tol, "n = {n}: {got} vs {ln_fact}");
            ln_fact += f64::from(n).ln();
        }
    }

    #[test]
    fn ln_gamma_of_one_half_is_half_ln_pi() {
        let want = 0.5 * std::f64::consts::PI.ln();
        assert!(rel_err(ln_gamma(0.5), want) < 1e-13);
        // Reflection branch: Γ(0.25) = 3.625609908221908…
        assert!(rel_err(ln_gamma(0.25), 3.625_609_908_221_908_f64.ln()) < 1e-13);
    }

    /// `1 − I_x(a, b) = P(Bin(a + b − 1, x) < a)` for integer shapes,
    /// summed term by term in logs (accurate for small `a`).
    fn binomial_lower_tail(a: u64, b: u64, x: f64) -> f64 {
        let trials = (a + b - 1) as f64;
        let mut ln_choose = 0.0_f64;
        let mut sum = 0.0;
        for i in 0..a {
            let i = i as f64;
            if i > 0.0 {
                ln_choose += (trials - i + 1.0).ln() - i.ln();
            }
            sum += (ln_choose + i * x.ln() + (trials - i) * (-x).ln_1p()).exp();
        }
        sum
    }

    #[test]
    fn incomplete_beta_with_a_small_and_b_huge_keeps_full_precision() {
        for &(a, b) in &[
            (2_u64, 1_000_000_000_u64),
            (4, 999_999_997),
            (31, 123_456_789),
        ] {
            for &lambda in &[
                0.5,
                2.0,
                7.75,
                a as f64,
                a as f64 + 3.0,
                2.0 * a as f64 + 20.0,
            ] {
                let x = lambda / (a + b) as f64;
                let (i, comp) = beta_inc_pair(a as f64, b as f64, x);
                let want = binomial_lower_tail(a, b, x);
                // 1 − I near 1 carries I's absolute error (a few ε).
                let ok = rel_err(comp, want) < 1e-12 || (comp - want).abs() < 1e-14;
                assert!(ok, "a {a} b {b} x {x}: {comp:e} vs {want:e}");
                assert!((i + comp - 1.0).abs() < 1e-15);
            }
        }
    }

    #[test]
    fn incomplete_beta_far_above_the_mean_is_one() {
        let (i, comp) = beta_inc_pair(4.0, 1e9, 0.5);
        assert_eq!(i, 1.0);
        assert!(comp < 1e-300);
    }

    #[test]
    fn incomplete_beta_with_unit_first_shape_has_closed_form() {
        // I_x(1, b) = 1 − (1 − x)^b
        for &b in &[1.0_f64, 2.5, 10.0, 1234.0, 1e6] {
            for &x in &[1e-9_f64, 1e-4, 0.01, 0.3, 0.5, 0.9] {
                let (i, comp) = beta_inc_pair(1.0, b, x);
                let want_comp = (b * (-x).ln_1p()).exp();
                assert!(rel_err(comp, want_comp) < 1e-12 || (comp - want_comp).abs() < 1e-300);
                assert!((i + comp - 1.0).abs() < 1e-15, "b = {b}, x = {x}");
            }
        }
    }
}
