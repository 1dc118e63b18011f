//! Several seeds of each arm summarised: the mean of every metric and a percentile bootstrap
//! interval of that mean, reproducible from a fixed seed.

use std::collections::BTreeMap;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Serialize, Serializer};

use super::scope::quantile;
use super::{Metrics, RunMetrics};

/// Bootstrap resamples per interval.
pub const BOOTSTRAP_RESAMPLES: usize = 1_000;
/// Coverage of the interval.
pub const BOOTSTRAP_LEVEL: f64 = 0.95;
/// Seed of the ChaCha8 generator every interval starts from, so reports are reproducible.
pub const BOOTSTRAP_SEED: u64 = 0x00a2_b17e_2000;

/// Decimals of every float in the serialised summary (stable across platforms and readable).
const DECIMALS: i32 = 6;

/// How the intervals were computed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bootstrap {
    pub method: String,
    pub resamples: usize,
    #[serde(serialize_with = "rounded")]
    pub level: f64,
    pub seed: u64,
}

impl Default for Bootstrap {
    fn default() -> Self {
        Self {
            method: "percentile bootstrap of the mean over seeds".to_owned(),
            resamples: BOOTSTRAP_RESAMPLES,
            level: BOOTSTRAP_LEVEL,
            seed: BOOTSTRAP_SEED,
        }
    }
}

/// A metric over seeds: the mean of the seeds that have a value and its bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    #[serde(serialize_with = "rounded")]
    pub mean: f64,
    #[serde(serialize_with = "rounded")]
    pub lo: f64,
    #[serde(serialize_with = "rounded")]
    pub hi: f64,
    /// Seeds that had a value.
    pub seeds: usize,
}

/// Time to adapt to one family (or to all families at once) over seeds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct TtaSummary {
    /// Runs in which the family adapted.
    pub reached: usize,
    /// Runs in which the family appeared.
    pub of: usize,
    /// Mean days over the runs that reached it.
    #[serde(serialize_with = "rounded_option")]
    pub mean_days: Option<f64>,
}

/// One arm over all its seeds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArmSummary {
    pub seeds: Vec<u64>,
    /// Every scalar of [`Metrics::scalars`] over whole runs; `None` when no seed had a value.
    pub overall: BTreeMap<String, Option<Estimate>>,
    /// The same per day, day 0 first, as long as the longest run.
    pub per_day: Vec<BTreeMap<String, Option<Estimate>>>,
    /// Per novel family.
    pub tta: BTreeMap<String, TtaSummary>,
    /// Over every (family, seed) pair.
    pub tta_all: TtaSummary,
}

/// Every arm, by name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub bootstrap: Bootstrap,
    pub arms: BTreeMap<String, ArmSummary>,
}

/// Summarises the runs of each arm (one [`RunMetrics`] per seed).
pub fn summarise(runs: &BTreeMap<String, Vec<RunMetrics>>) -> Summary {
    let arms = runs
        .iter()
        .map(|(arm, runs)| (arm.clone(), summarise_arm(runs)))
        .collect();
    Summary {
        bootstrap: Bootstrap::default(),
        arms,
    }
}

fn summarise_arm(runs: &[RunMetrics]) -> ArmSummary {
    let days = runs.iter().map(|r| r.per_day.len()).max().unwrap_or(0);
    let per_day = (0..days)
        .map(|d| estimates(runs.iter().filter_map(|r| r.per_day.get(d))))
        .collect();
    let mut tta: BTreeMap<String, TtaSummary> = BTreeMap::new();
    let mut reached: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for (family, t) in runs.iter().flat_map(|r| &r.tta) {
        tta.entry(family.clone()).or_default().of += 1;
        let days = reached.entry(family).or_default();
        days.extend(t.days.map(f64::from));
    }
    for (family, days) in &reached {
        if let Some(s) = tta.get_mut(*family) {
            s.reached = days.len();
            s.mean_days = mean(days);
        }
    }
    let all: Vec<f64> = reached.values().flatten().copied().collect();
    let tta_all = TtaSummary {
        reached: all.len(),
        of: tta.values().map(|s| s.of).sum(),
        mean_days: mean(&all),
    };
    ArmSummary {
        seeds: runs.iter().map(|r| r.seed).collect(),
        overall: estimates(runs.iter().map(|r| &r.overall)),
        per_day,
        tta,
        tta_all,
    }
}

/// The estimate of every scalar over the given metrics (one per seed).
fn estimates<'a>(metrics: impl Iterator<Item = &'a Metrics>) -> BTreeMap<String, Option<Estimate>> {
    let mut values: BTreeMap<&'static str, Vec<f64>> = BTreeMap::new();
    for m in metrics {
        for (name, value) in m.scalars() {
            values.entry(name).or_default().extend(value);
        }
    }
    values
        .into_iter()
        .map(|(name, v)| (name.to_owned(), bootstrap_mean(&v)))
        .collect()
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// The mean of `values` and its [`BOOTSTRAP_LEVEL`] percentile bootstrap interval from
/// [`BOOTSTRAP_RESAMPLES`] resamples, drawn from ChaCha8 seeded with [`BOOTSTRAP_SEED`];
/// `None` when empty, `lo == hi == mean` for a single value.
pub fn bootstrap_mean(values: &[f64]) -> Option<Estimate> {
    let mean = mean(values)?;
    let n = values.len();
    if n == 1 {
        return Some(Estimate {
            mean,
            lo: mean,
            hi: mean,
            seeds: 1,
        });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(BOOTSTRAP_SEED);
    let mut means: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|_| (0..n).map(|_| values[rng.random_range(0..n)]).sum::<f64>() / n as f64)
        .collect();
    means.sort_by(f64::total_cmp);
    let tail = (1.0 - BOOTSTRAP_LEVEL) / 2.0;
    Some(Estimate {
        mean,
        lo: quantile(&means, tail)?,
        hi: quantile(&means, 1.0 - tail)?,
        seeds: n,
    })
}

/// `x` rounded to [`DECIMALS`] decimals, without negative zero.
pub(crate) fn round(x: f64) -> f64 {
    let scale = 10f64.powi(DECIMALS);
    let r = (x * scale).round() / scale;
    if r == 0.0 { 0.0 } else { r }
}

pub(crate) fn rounded<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(round(*x))
}

pub(crate) fn rounded_option<S: Serializer>(x: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match x {
        Some(x) => s.serialize_some(&round(*x)),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::round;

    #[test]
    fn rounding_keeps_six_decimals_and_drops_negative_zero() {
        assert_eq!(round(1.0 / 3.0), 0.333_333);
        assert_eq!(round(2.0 / 3.0), 0.666_667);
        assert_eq!(round(-1e-9).to_bits(), 0f64.to_bits());
    }
}
