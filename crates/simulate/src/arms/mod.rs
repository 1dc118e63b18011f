//! The arms compared on one stream. Each sees the same alerts at the same simulated times and
//! writes the same [`ArmRun`]; the metrics read nothing else. A later capability (learning,
//! trust repair) is another [`Arm`].

mod arbiter;
mod baseline;

pub use arbiter::ArbiterStatic;
pub use baseline::Baseline;

use std::path::Path;
use std::sync::Arc;

use arbiter_policy::Policy;
use arbiter_triage::Scorer;

use crate::analysts::TeamConfig;
use crate::config::ArmKind;
use crate::error::SimError;
use crate::outcome::{ArmRun, DAY_MS};
use crate::source::Prepared;
use crate::stream::{HOUR_MS, Schedule, SimAlert};

/// What an arm of one seed is built from: everything the run prepared once.
pub struct ArmSetup<'a> {
    pub prepared: &'a Prepared,
    /// The day-0 bundle's scorer (shared by the arms; it holds no per-run state).
    pub scorer: &'a Arc<Scorer>,
    pub policy: &'a Arc<Policy>,
    /// The policy file's text, as the ledger records it when putting it in force.
    pub policy_text: &'a str,
    pub team: &'a TeamConfig,
    /// A fresh directory for this arm's audit log on this seed.
    pub audit_dir: &'a Path,
    pub seed: u64,
    pub days: u32,
    pub start_ms: i64,
}

/// Builds an arm for each seed. The extension point: a later capability implements this and
/// is passed to [`crate::run::run_with`]; the stream, the drive loop, the metrics and the
/// report stay as they are.
pub trait ArmFactory {
    /// The arm's name in reports (`baseline`, `arbiter_static`, …), unique in a run.
    fn name(&self) -> &str;
    /// One or two sentences for the report: what the arm is and does.
    fn description(&self) -> &str;
    fn build(&self, setup: &ArmSetup<'_>) -> Result<Box<dyn Arm>, SimError>;
}

/// The factory of a built-in arm.
pub fn builtin(kind: ArmKind) -> Box<dyn ArmFactory> {
    match kind {
        ArmKind::Baseline => Box::new(BaselineArm),
        ArmKind::ArbiterStatic => Box::new(ArbiterStaticArm),
    }
}

struct BaselineArm;

impl ArmFactory for BaselineArm {
    fn name(&self) -> &str {
        ArmKind::Baseline.name()
    }
    fn description(&self) -> &str {
        "a plain single LightGBM model trained on the day-0 rows (the bundle's evaluation \
         baseline, uncalibrated), auto-closing below 0.01 and auto-acting at 0.9 or more, with \
         no humans: what lies between waits forever."
    }
    fn build(&self, s: &ArmSetup<'_>) -> Result<Box<dyn Arm>, SimError> {
        Ok(Box::new(Baseline::new(
            s.prepared.model.clone(),
            s.seed,
            s.days,
            s.start_ms,
        )))
    }
}

struct ArbiterStaticArm;

impl ArmFactory for ArbiterStaticArm {
    fn name(&self) -> &str {
        ArmKind::ArbiterStatic.name()
    }
    fn description(&self) -> &str {
        "the real pipeline (ingest, score, explain, policy and guardrails, ledger, audit, store) \
         with the shipped policy and the day-0 bundle on a manual clock, analysts deciding \
         through the ledger's decision rules as in the console, and no learning."
    }
    fn build(&self, s: &ArmSetup<'_>) -> Result<Box<dyn Arm>, SimError> {
        Ok(Box::new(ArbiterStatic::new(
            s.scorer.clone(),
            s.policy.clone(),
            s.policy_text,
            &s.prepared.bundle,
            s.team,
            s.audit_dir,
            s.seed,
            s.days,
            s.start_ms,
        )?))
    }
}

/// Minutes per step: alerts arriving in a step are scored and decided together at its end,
/// then people work the next step on the queue as it stands.
pub const STEP_MINUTES: i64 = 15;

/// One way of handling the stream.
pub trait Arm {
    fn name(&self) -> &str;
    /// Alerts that arrived during a step, decided at `now_ms` (the step's end). `times_out`:
    /// scoring fails this step (an injected timeout).
    fn arrive(&mut self, alerts: &[SimAlert], now_ms: i64, times_out: bool)
    -> Result<(), SimError>;
    /// People work the queue during `[from_ms, to_ms)`; `poison` lists analysts flipping a
    /// share of their labels today.
    fn work(
        &mut self,
        from_ms: i64,
        to_ms: i64,
        poison: &std::collections::BTreeMap<String, f64>,
    ) -> Result<(), SimError>;
    /// Called at the end of each day.
    fn end_of_day(&mut self, day: u32) -> Result<(), SimError>;
    /// The run's record.
    fn finish(self: Box<Self>) -> Result<ArmRun, SimError>;
}

/// Drives `arm` through `schedule` step by step.
pub fn drive(
    arm: &mut dyn Arm,
    schedule: &Schedule,
    start_ms: i64,
    days: u32,
    progress: &mut dyn FnMut(),
) -> Result<(), SimError> {
    let step = STEP_MINUTES * 60_000;
    let none = std::collections::BTreeMap::new();
    let mut next = 0usize;
    let end = start_ms + i64::from(days) * DAY_MS;
    let mut t = start_ms;
    while t < end {
        let until = t + step;
        let from = next;
        while next < schedule.alerts.len() && schedule.alerts[next].arrive_ms < until {
            next += 1;
        }
        let day = ((t - start_ms) / DAY_MS) as u32;
        let hour = (((t - start_ms) % DAY_MS) / HOUR_MS) as u32;
        let times_out = schedule.timeouts.contains(&(day, hour));
        if next > from {
            arm.arrive(&schedule.alerts[from..next], until, times_out)?;
        }
        let poison = schedule.poison.get(&day).unwrap_or(&none);
        arm.work(until, until + step, poison)?;
        t = until;
        if (t - start_ms) % DAY_MS == 0 {
            arm.end_of_day(day)?;
            progress();
        }
    }
    Ok(())
}
