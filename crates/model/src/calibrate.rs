//! Probability calibration of the ensemble's margin (Guo et al. 2017).
//!
//! Three candidates map the mean member margin `s` to a probability: temperature scaling
//! `σ(s/T)`, Platt scaling `σ(a·s + b)` and isotonic regression (pool-adjacent-violators,
//! interpolated between blocks). This module applies a fitted calibrator; fitting and the
//! cross-validated choice between the three live in `arbiter-train`.

use serde::{Deserialize, Serialize};

/// A fitted, monotone map from margin to probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "lowercase")]
pub enum Calibrator {
    Temperature {
        t: f64,
    },
    Platt {
        a: f64,
        b: f64,
    },
    Isotonic {
        /// Block edges: margins at which the fitted probability is known, ascending.
        x: Vec<f64>,
        /// Probabilities at those margins, non-decreasing.
        y: Vec<f64>,
    },
}

pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Softmax of raw scores at temperature `t`: the category head's probabilities.
pub fn softmax(raw: &[f64], t: f64) -> Vec<f64> {
    let m = raw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = raw.iter().map(|r| ((r - m) / t).exp()).collect();
    let s: f64 = e.iter().sum();
    e.into_iter().map(|v| v / s).collect()
}

impl Calibrator {
    pub fn name(&self) -> &'static str {
        match self {
            Calibrator::Temperature { .. } => "temperature",
            Calibrator::Platt { .. } => "platt",
            Calibrator::Isotonic { .. } => "isotonic",
        }
    }

    /// Calibrated probability for a margin.
    pub fn apply(&self, s: f64) -> f64 {
        match self {
            Calibrator::Temperature { t } => sigmoid(s / t),
            Calibrator::Platt { a, b } => sigmoid(a * s + b),
            Calibrator::Isotonic { x, y } => interpolate(x, y, s),
        }
    }
}

fn interpolate(x: &[f64], y: &[f64], s: f64) -> f64 {
    if s.is_nan() {
        return 0.5;
    }
    let i = x.partition_point(|&v| v < s);
    if i == 0 {
        return y[0];
    }
    if i == x.len() {
        return y[x.len() - 1];
    }
    let (x0, x1, y0, y1) = (x[i - 1], x[i], y[i - 1], y[i]);
    if x1 <= x0 {
        return y1;
    }
    y0 + (y1 - y0) * (s - x0) / (x1 - x0)
}

/// The outcome of calibrator selection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    pub chosen: Calibrator,
    /// Cross-validated log-loss of each candidate (temperature, platt, isotonic).
    pub cv_log_loss: Vec<(String, f64)>,
    pub folds: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isotonic_interpolates_between_blocks_and_holds_flat_beyond_them() {
        let cal = Calibrator::Isotonic {
            x: vec![0.0, 2.0],
            y: vec![0.1, 0.5],
        };
        assert_eq!(cal.apply(-5.0), 0.1);
        assert!((cal.apply(1.0) - 0.3).abs() < 1e-12);
        assert_eq!(cal.apply(9.0), 0.5);
        assert_eq!(cal.apply(f64::NAN), 0.5, "no margin, no opinion");
    }

    #[test]
    fn temperature_and_platt_are_logistic_maps_of_the_margin() {
        assert_eq!(Calibrator::Temperature { t: 2.0 }.apply(0.0), 0.5);
        let p = Calibrator::Platt { a: 1.0, b: 1.0 }.apply(-1.0);
        assert_eq!(p, 0.5);
        assert!(sigmoid(-800.0) >= 0.0 && sigmoid(800.0) == 1.0);
    }
}
