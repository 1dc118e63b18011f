//! The automated baseline: a plain single LightGBM model (the bundle's evaluation baseline, on
//! the same rows as day-0 training), closing at p < 0.01 and acting at p ≥ 0.9, with nobody
//! looking at the rest.

use std::collections::BTreeMap;
use std::sync::Arc;

use arbiter_model::Model;

use super::Arm;
use crate::error::SimError;
use crate::outcome::{ArmRun, Final, Outcome};
use crate::stream::SimAlert;

/// Below this the baseline closes an alert.
pub const CLOSE_BELOW: f64 = 0.01;
/// At or above this it contains.
pub const ACT_FROM: f64 = 0.9;

pub struct Baseline {
    model: Arc<Model>,
    seed: u64,
    days: u32,
    start_ms: i64,
    outcomes: BTreeMap<u64, Outcome>,
    backlog: Vec<u64>,
}

impl Baseline {
    pub fn new(model: Arc<Model>, seed: u64, days: u32, start_ms: i64) -> Baseline {
        Baseline {
            model,
            seed,
            days,
            start_ms,
            outcomes: BTreeMap::new(),
            backlog: Vec::new(),
        }
    }
}

impl Arm for Baseline {
    fn name(&self) -> &str {
        "baseline"
    }

    fn arrive(
        &mut self,
        alerts: &[SimAlert],
        now_ms: i64,
        times_out: bool,
    ) -> Result<(), SimError> {
        let fresh: Vec<&SimAlert> = alerts
            .iter()
            .filter(|a| !a.duplicate && !self.outcomes.contains_key(&a.seq))
            .collect();
        let records: Vec<_> = fresh.iter().map(|a| a.record.clone()).collect();
        let p = if times_out {
            vec![None; records.len()]
        } else {
            let (x, _) = self.model.encoder.encode_all(&records);
            self.model
                .baseline_probability(&x)?
                .into_iter()
                .map(Some)
                .collect()
        };
        for (a, p) in fresh.into_iter().zip(p) {
            let (final_, automated) = match p {
                Some(p) if p < CLOSE_BELOW => (Final::Closed, true),
                Some(p) if p >= ACT_FROM => (
                    Final::Acted {
                        action: "contain".into(),
                        containment: true,
                    },
                    true,
                ),
                _ => (Final::Pending, false),
            };
            self.outcomes.insert(
                a.seq,
                Outcome {
                    p_malicious: p,
                    automated,
                    finalised_ms: automated.then_some(now_ms),
                    final_,
                    ..a.outcome(self.start_ms)
                },
            );
        }
        Ok(())
    }

    fn work(
        &mut self,
        _from_ms: i64,
        _to_ms: i64,
        _poison: &BTreeMap<String, f64>,
    ) -> Result<(), SimError> {
        Ok(())
    }

    fn end_of_day(&mut self, _day: u32) -> Result<(), SimError> {
        let pending = self
            .outcomes
            .values()
            .filter(|o| o.final_ == Final::Pending)
            .count();
        self.backlog.push(pending as u64);
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<ArmRun, SimError> {
        Ok(ArmRun {
            arm: "baseline".into(),
            seed: self.seed,
            days: self.days,
            start_ms: self.start_ms,
            outcomes: self.outcomes.into_values().collect(),
            analysts: Vec::new(),
            backlog: self.backlog,
            refused_reviews: 0,
        })
    }
}
