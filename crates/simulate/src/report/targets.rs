//! The field study's anchors and the stretch targets, checked per arm against the means over
//! seeds.

use serde::Serialize;

use crate::metrics::{ArmSummary, Summary};
use crate::metrics::{rounded, rounded_option};

/// A bound on one metric's mean over seeds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    AtMost(#[serde(serialize_with = "rounded")] f64),
    AtLeast(#[serde(serialize_with = "rounded")] f64),
}

/// Where a target comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// What the field study measured: an arm should do at least as well.
    FieldStudy,
    /// What Arbiter aims for beyond the field study.
    Stretch,
}

/// A target: every one of its conditions must hold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    pub name: &'static str,
    pub source: Source,
    pub statement: &'static str,
    /// `(metric, bound)`; the metric `tta` is the mean time to adapt over every novel family
    /// and seed.
    pub conditions: &'static [(&'static str, Bound)],
}

/// The targets, field study first.
pub const TARGETS: [Target; 6] = [
    Target {
        name: "fpoa",
        source: Source::FieldStudy,
        statement: "FPOA ≤ 5.7 per 1,000 alerts",
        conditions: &[("fpoa_per_1000", Bound::AtMost(5.7))],
    },
    Target {
        name: "tta",
        source: Source::FieldStudy,
        statement: "TTA ≤ 7.1 days",
        conditions: &[("tta", Bound::AtMost(7.1))],
    },
    Target {
        name: "hiy",
        source: Source::FieldStudy,
        statement: "HIY ≥ 78 %",
        conditions: &[("hiy", Bound::AtLeast(0.78))],
    },
    Target {
        name: "adr",
        source: Source::FieldStudy,
        statement: "ADR ≥ 92 %",
        conditions: &[("adr", Bound::AtLeast(0.92))],
    },
    Target {
        name: "fpoa_stretch",
        source: Source::Stretch,
        statement: "FPOA ≤ 1 per 1,000 alerts",
        conditions: &[("fpoa_per_1000", Bound::AtMost(1.0))],
    },
    Target {
        name: "silent_misses_stretch",
        source: Source::Stretch,
        statement: "silent misses ≤ 0.5 % of attacks at ADR ≥ 85 %",
        conditions: &[
            ("silent_miss_share", Bound::AtMost(0.005)),
            ("adr", Bound::AtLeast(0.85)),
        ],
    },
];

/// One condition checked on one arm.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub metric: &'static str,
    pub bound: Bound,
    /// The mean over seeds (`None`: no seed had a value).
    #[serde(serialize_with = "rounded_option")]
    pub value: Option<f64>,
    /// Signed distance to the bound: positive = met with this much to spare, negative = missed
    /// by this much.
    #[serde(serialize_with = "rounded_option")]
    pub margin: Option<f64>,
    /// `None` without a value.
    pub met: Option<bool>,
    /// Why the verdict is not just the comparison (e.g. families that never adapted).
    pub note: Option<String>,
}

/// One target checked on one arm.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetCheck {
    pub target: &'static str,
    pub source: Source,
    pub statement: &'static str,
    pub arm: String,
    /// Every condition met (`None` when one has no value and none is missed).
    pub met: Option<bool>,
    pub checks: Vec<Check>,
}

/// Every target on every arm, target by target.
pub fn check_targets(summary: &Summary) -> Vec<TargetCheck> {
    TARGETS
        .iter()
        .flat_map(|t| {
            summary.arms.iter().map(|(arm, s)| {
                let checks: Vec<Check> = t
                    .conditions
                    .iter()
                    .map(|&(metric, bound)| check(s, metric, bound))
                    .collect();
                let met = if checks.iter().any(|c| c.met == Some(false)) {
                    Some(false)
                } else if checks.iter().all(|c| c.met == Some(true)) {
                    Some(true)
                } else {
                    None
                };
                TargetCheck {
                    target: t.name,
                    source: t.source,
                    statement: t.statement,
                    arm: arm.clone(),
                    met,
                    checks,
                }
            })
        })
        .collect()
}

fn check(arm: &ArmSummary, metric: &'static str, bound: Bound) -> Check {
    let (value, note) = if metric == "tta" {
        let t = arm.tta_all;
        let note = match t.of - t.reached {
            _ if t.of == 0 => Some("no novel family appeared".to_owned()),
            0 => None,
            missing => Some(format!(
                "{missing} of {} family-seed runs never adapted",
                t.of
            )),
        };
        (t.mean_days, note)
    } else {
        let value = arm.overall.get(metric).copied().flatten().map(|e| e.mean);
        (value, None)
    };
    let margin = value.map(|v| match bound {
        Bound::AtMost(b) => b - v,
        Bound::AtLeast(b) => v - b,
    });
    // A family that never adapted took longer than the run: the mean alone would flatter.
    let censored = metric == "tta" && arm.tta_all.reached < arm.tta_all.of;
    let met = margin.map(|m| m >= 0.0 && !censored);
    Check {
        metric,
        bound,
        value,
        margin,
        met,
        note,
    }
}
