//! Reliability diagrams and expected calibration error.

use serde::Serialize;

use super::assert_same_len;

/// One equal-width bin of a reliability diagram.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReliabilityBin {
    /// Inclusive lower edge of the bin.
    pub lo: f64,
    /// Upper edge: exclusive, except for the last bin, which includes 1.0.
    pub hi: f64,
    /// Number of predictions that fell into the bin.
    pub count: usize,
    /// Mean predicted probability in the bin (0 when the bin is empty).
    pub mean_p: f64,
    /// Fraction of the bin's rows whose outcome is positive (0 when empty).
    pub frac_positive: f64,
}

/// Index of the equal-width bin (out of `bins`) that holds `p`.
///
/// Bin `i` is `[i/bins, (i+1)/bins)`, with the last bin closed, and the
/// edges are exactly the `lo`/`hi` values reported in [`ReliabilityBin`]
/// (the floor of `p * bins` can be off by one ulp at an edge, so it is
/// corrected against the edges). Values below 0 (or NaN) land in the first
/// bin and values above 1 in the last.
fn bin_index(p: f64, bins: usize) -> usize {
    let b = bins as f64;
    if p.is_nan() || p <= 0.0 {
        return 0;
    }
    if p >= 1.0 {
        return bins - 1;
    }
    // Saturating float-to-int cast; p is in (0, 1) here so the value is small.
    let mut i = ((p * b).floor() as usize).min(bins - 1);
    if i > 0 && p < i as f64 / b {
        i -= 1;
    } else if i + 1 < bins && p >= (i + 1) as f64 / b {
        i += 1;
    }
    i
}

/// Groups predictions into `bins` equal-width bins on `[0, 1]`.
///
/// Bin `i` covers `[i/bins, (i+1)/bins)`; the last bin is closed so that
/// `p == 1.0` falls into it. Empty bins are kept (with `count == 0`,
/// `mean_p == 0` and `frac_positive == 0`) so the result always has
/// exactly `bins` entries. Probabilities outside `[0, 1]` are clamped into
/// the first or last bin.
///
/// # Panics
/// If `bins == 0` or `p` and `y` have different lengths.
pub fn reliability(p: &[f64], y: &[bool], bins: usize) -> Vec<ReliabilityBin> {
    assert_same_len("reliability(p, y)", p.len(), y.len());
    assert!(bins > 0, "reliability: bins must be at least 1");
    let mut count = vec![0_usize; bins];
    let mut sum_p = vec![0.0_f64; bins];
    let mut positives = vec![0_usize; bins];
    for (&p, &y) in p.iter().zip(y) {
        let i = bin_index(p, bins);
        count[i] += 1;
        sum_p[i] += p;
        positives[i] += usize::from(y);
    }
    let b = bins as f64;
    (0..bins)
        .map(|i| {
            let (mean_p, frac_positive) = if count[i] == 0 {
                (0.0, 0.0)
            } else {
                let c = count[i] as f64;
                (sum_p[i] / c, positives[i] as f64 / c)
            };
            ReliabilityBin {
                lo: i as f64 / b,
                hi: (i + 1) as f64 / b,
                count: count[i],
                mean_p,
                frac_positive,
            }
        })
        .collect()
}

/// Expected calibration error over `bins` equal-width bins:
/// `Σ count/n · |mean_p − frac_positive|`, using the bins of
/// [`reliability`]. Lies in `[0, 1]` for probabilities in `[0, 1]`;
/// 0 for empty input.
///
/// # Panics
/// If `bins == 0` or `p` and `y` have different lengths.
pub fn ece(p: &[f64], y: &[bool], bins: usize) -> f64 {
    let table = reliability(p, y, bins);
    if p.is_empty() {
        return 0.0;
    }
    let n = p.len() as f64;
    table
        .iter()
        .map(|bin| bin.count as f64 / n * (bin.mean_p - bin.frac_positive).abs())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::bin_index;

    #[test]
    fn bin_edges_land_in_the_bin_they_open() {
        for bins in 1..=200 {
            for i in 0..bins {
                let edge = i as f64 / bins as f64;
                assert_eq!(bin_index(edge, bins), i, "edge {i}/{bins}");
            }
            assert_eq!(bin_index(1.0, bins), bins - 1);
        }
    }

    #[test]
    fn values_just_below_an_edge_stay_in_the_previous_bin() {
        for bins in 2..=200 {
            for i in 1..bins {
                let below = (i as f64 / bins as f64).next_down();
                assert_eq!(bin_index(below, bins), i - 1, "below edge {i}/{bins}");
            }
        }
    }
}
