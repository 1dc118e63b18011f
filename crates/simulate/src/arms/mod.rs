//! The arms compared on one stream. Each sees the same alerts at the same simulated times and
//! writes the same [`ArmRun`]; the metrics read nothing else. A later capability (learning,
//! trust repair) is another [`Arm`].

mod arbiter;
mod baseline;

pub use arbiter::ArbiterStatic;
pub use baseline::Baseline;

use crate::error::SimError;
use crate::outcome::{ArmRun, DAY_MS};
use crate::stream::{HOUR_MS, Schedule, SimAlert};

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
