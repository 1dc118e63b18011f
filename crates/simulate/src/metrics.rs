//! What a field study measures, computed from one arm's [`ArmRun`]: false-positive operational
//! actions, silent misses, automated decisions, human-in-the-loop yield, workload, time to
//! decision, calibration and time to adapt to novel attack families — over the whole run and
//! per day.
//!
//! [`measure`] is pure: the same run gives the same numbers. [`summarise`] turns the runs of
//! several seeds into a mean and a 95 % bootstrap interval per arm and metric. Every metric is
//! defined in one sentence by [`definitions`], which the report prints.
//!
//! ```
//! use arbiter_simulate::ArmRun;
//! use arbiter_simulate::metrics::measure;
//!
//! let run = ArmRun {
//!     arm: "baseline".into(),
//!     seed: 1,
//!     days: 1,
//!     start_ms: 0,
//!     outcomes: vec![],
//!     analysts: vec![],
//!     backlog: vec![0],
//!     refused_reviews: 0,
//! };
//! let m = measure(&run);
//! assert_eq!(m.overall.alerts, 0);
//! assert_eq!(m.overall.adr, None);
//! ```

mod scope;
mod summary;
mod tta;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::outcome::ArmRun;

pub use summary::{
    ArmSummary, BOOTSTRAP_LEVEL, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, Bootstrap, Estimate, Summary,
    TtaSummary, bootstrap_mean, summarise,
};
pub(crate) use summary::{rounded, rounded_option};

/// Bins of the expected calibration error.
pub const ECE_BINS: usize = 15;
/// A novel family has adapted on a day when at least this share of its alerts that day were
/// handled correctly without a person …
pub const TTA_SHARE: f64 = 0.8;
/// … and it had at least this many alerts that day.
pub const TTA_MIN_ALERTS: usize = 5;

/// The metrics of one scope: the whole run, or the alerts that arrived on one day.
///
/// Shares and rates are `None` when their denominator is empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub alerts: u64,
    pub attacks: u64,
    /// Benign alerts on which a containment or escalation action was carried out.
    pub benign_contained: u64,
    pub fpoa_per_1000: Option<f64>,
    pub silent_misses: u64,
    pub silent_miss_share: Option<f64>,
    /// Alerts finalised without a person.
    pub automated: u64,
    pub adr: Option<f64>,
    pub hiy: Option<f64>,
    /// Reviews recorded (a day: on that day; the run: the mean per day).
    pub reviews: Option<f64>,
    pub reviews_per_analyst: Option<f64>,
    /// Open alerts at the end of the day (the run: the mean over its days).
    pub backlog: Option<f64>,
    pub ttd_p50_min: Option<f64>,
    pub ttd_p90_min: Option<f64>,
    pub ece: Option<f64>,
}

/// When a novel family was first seen and how long the arm took to handle it on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FamilyTta {
    /// Arrival day of the family's first alert.
    pub first_day: u32,
    /// Days from `first_day` to the first day the family was handled without a person
    /// ([`TTA_SHARE`] of at least [`TTA_MIN_ALERTS`] alerts); `None` if that never happened.
    pub days: Option<u32>,
}

/// Everything measured on one arm's run on one seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunMetrics {
    pub arm: String,
    pub seed: u64,
    pub days: u32,
    pub overall: Metrics,
    /// One entry per day of the run, day 0 first.
    pub per_day: Vec<Metrics>,
    /// Novel attack families by name.
    pub tta: BTreeMap<String, FamilyTta>,
}

/// The scalar metrics in the order reports list them: the names of [`Metrics::scalars`].
pub const SCALARS: [&str; 15] = [
    "alerts",
    "attacks",
    "automated",
    "adr",
    "fpoa_per_1000",
    "benign_contained",
    "silent_misses",
    "silent_miss_share",
    "hiy",
    "reviews",
    "reviews_per_analyst",
    "backlog",
    "ttd_p50_min",
    "ttd_p90_min",
    "ece",
];

impl Metrics {
    /// Every scalar by name, in the order of [`SCALARS`]; counts become `Some`.
    pub fn scalars(&self) -> [(&'static str, Option<f64>); SCALARS.len()] {
        let count = |n: u64| Some(n as f64);
        [
            ("alerts", count(self.alerts)),
            ("attacks", count(self.attacks)),
            ("automated", count(self.automated)),
            ("adr", self.adr),
            ("fpoa_per_1000", self.fpoa_per_1000),
            ("benign_contained", count(self.benign_contained)),
            ("silent_misses", count(self.silent_misses)),
            ("silent_miss_share", self.silent_miss_share),
            ("hiy", self.hiy),
            ("reviews", self.reviews),
            ("reviews_per_analyst", self.reviews_per_analyst),
            ("backlog", self.backlog),
            ("ttd_p50_min", self.ttd_p50_min),
            ("ttd_p90_min", self.ttd_p90_min),
            ("ece", self.ece),
        ]
    }
}

/// Measures one arm's run: over all its alerts, per arrival day, and the time to adapt to each
/// novel family. Pure and deterministic.
pub fn measure(run: &ArmRun) -> RunMetrics {
    let all: Vec<_> = run.outcomes.iter().collect();
    let overall = scope::overall(run, &all);
    let per_day = (0..run.days).map(|day| scope::day(run, day)).collect();
    RunMetrics {
        arm: run.arm.clone(),
        seed: run.seed,
        days: run.days,
        overall,
        per_day,
        tta: tta::per_family(&run.outcomes),
    }
}

/// One sentence per metric, in the order of [`SCALARS`] followed by `tta`.
///
/// Outcome metrics of a day count the alerts that arrived that day; workload metrics count the
/// day the work was done.
pub fn definitions() -> Vec<(&'static str, &'static str)> {
    vec![
        ("alerts", "Alerts that arrived in the scope."),
        ("attacks", "Arrived alerts whose truth is malicious."),
        (
            "automated",
            "Alerts finalised without a person (auto-closed or auto-acted).",
        ),
        (
            "adr",
            "Automated decision rate: the share of alerts finalised without a person.",
        ),
        (
            "fpoa_per_1000",
            "False-positive operational actions: containment or escalation actions carried out on \
             benign alerts, per 1,000 alerts.",
        ),
        (
            "benign_contained",
            "Benign alerts on which a containment or escalation action was carried out.",
        ),
        (
            "silent_misses",
            "Attacks finalised as closed without a person ever deciding them.",
        ),
        (
            "silent_miss_share",
            "Silent misses as a share of all attacks.",
        ),
        (
            "hiy",
            "Human-in-the-loop yield: the share of human reviews that changed the outcome or \
             produced a validated new label (a label matching the truth).",
        ),
        (
            "reviews",
            "Human reviews recorded on the day (overall: the mean per day of the run).",
        ),
        (
            "reviews_per_analyst",
            "Mean reviews per working analyst-day, over the analyst-days with at least one review.",
        ),
        (
            "backlog",
            "Alerts waiting for a person at the end of the day (overall: the mean over the run's \
             days).",
        ),
        (
            "ttd_p50_min",
            "Median minutes from arrival to the last review, over alerts a person finalised \
             (linear interpolation between order statistics).",
        ),
        (
            "ttd_p90_min",
            "90th percentile of the minutes from arrival to the last review, over alerts a person \
             finalised (linear interpolation between order statistics).",
        ),
        (
            "ece",
            "Expected calibration error of p_malicious against the truth over 15 equal-width \
             bins, over the alerts that have a probability.",
        ),
        (
            "tta",
            "Time to adapt: days from a novel family's first alert to the first day on which at \
             least 80 % of its alerts that day, and at least 5 of them, were handled correctly \
             without a person (not reached: none).",
        ),
    ]
}
