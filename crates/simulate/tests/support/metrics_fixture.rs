//! Builders for the hand-made runs the metrics tests measure (shared with `#[path]`; as a test
//! target of its own it holds no tests).
#![allow(dead_code)]

use arbiter_core::Decision;
use arbiter_simulate::{AnalystDay, ArmRun, DAY_MS, Final, Outcome, Review, Truth};

/// Day 0 of every hand-made run.
pub const START_MS: i64 = 1_700_000_000_000;
pub const MINUTE_MS: i64 = 60_000;

/// An alert that arrives at the start of `day` and is auto-closed.
pub fn alert(seq: u64, day: u32, family: &str) -> Outcome {
    Outcome {
        seq,
        day,
        arrived_ms: START_MS + i64::from(day) * DAY_MS,
        truth: Truth {
            malicious: family != "benign",
            family: family.to_owned(),
            novel: false,
        },
        p_malicious: None,
        tier: None,
        flags: vec![],
        automated: true,
        reviews: vec![],
        final_: Final::Closed,
        finalised_ms: Some(START_MS + i64::from(day) * DAY_MS),
    }
}

pub fn benign(seq: u64, day: u32) -> Outcome {
    alert(seq, day, "benign")
}

pub fn attack(seq: u64, day: u32) -> Outcome {
    alert(seq, day, "dos")
}

pub fn novel(seq: u64, day: u32, family: &str) -> Outcome {
    let mut o = alert(seq, day, family);
    o.truth.novel = true;
    o
}

pub fn contained(mut o: Outcome) -> Outcome {
    o.final_ = Final::Acted {
        action: "isolate_host".to_owned(),
        containment: true,
    };
    o
}

pub fn bookkeeping(mut o: Outcome) -> Outcome {
    o.final_ = Final::Acted {
        action: "tag".to_owned(),
        containment: false,
    };
    o
}

pub fn pending(mut o: Outcome) -> Outcome {
    o.automated = false;
    o.final_ = Final::Pending;
    o.finalised_ms = None;
    o
}

/// A review `minutes` after the alert arrived.
pub fn review(
    o: &Outcome,
    minutes: i64,
    changed_outcome: bool,
    label_correct: Option<bool>,
) -> Review {
    Review {
        analyst: "ana".to_owned(),
        at_ms: o.arrived_ms + minutes * MINUTE_MS,
        kind: Decision::Approve,
        changed_outcome,
        label: label_correct.map(|_| "dos".to_owned()),
        label_correct,
    }
}

/// The alert decided by a person: reviewed `minutes` after arrival, finalised then.
pub fn by_a_person(mut o: Outcome, minutes: &[i64]) -> Outcome {
    o.automated = false;
    o.reviews = minutes
        .iter()
        .map(|&m| review(&o, m, false, None))
        .collect();
    o.finalised_ms = o.reviews.last().map(|r| r.at_ms);
    o
}

pub fn analyst_day(analyst: &str, day: u32, reviews: u32) -> AnalystDay {
    AnalystDay {
        analyst: analyst.to_owned(),
        day,
        reviews,
    }
}

pub fn run(arm: &str, seed: u64, days: u32, outcomes: Vec<Outcome>) -> ArmRun {
    ArmRun {
        arm: arm.to_owned(),
        seed,
        days,
        start_ms: START_MS,
        outcomes,
        analysts: vec![],
        backlog: vec![0; days as usize],
        refused_reviews: 0,
    }
}
