//! What one arm did with each alert of a simulated stream: the record every metric reads.
//! Arms write it; the metrics never see anything else, so an arm added later (learning, trust
//! repair) is measured exactly like the first two.

use arbiter_core::{Decision, Flag, Tier};
use serde::{Deserialize, Serialize};

/// Milliseconds in a simulated day.
pub const DAY_MS: i64 = 86_400_000;

/// The truth about one alert: the simulator knows it, arms and analysts only see evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truth {
    pub malicious: bool,
    /// `benign` or the attack family (category).
    pub family: String,
    /// The family was not in the day-0 training set.
    pub novel: bool,
}

/// What finally became of an alert by the end of the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "final", rename_all = "snake_case")]
pub enum Final {
    /// Closed as benign (by the system or a person).
    Closed,
    /// An action was carried out. `containment` is true for containment or escalation
    /// (isolate a host, disable an account, open an incident …), false for harmless
    /// bookkeeping.
    Acted { action: String, containment: bool },
    /// Still waiting for a person at the end of the run (the backlog).
    Pending,
}

/// One person's review of an alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Review {
    pub analyst: String,
    /// When the decision was recorded (simulated time, ms since the Unix epoch).
    pub at_ms: i64,
    pub kind: Decision,
    /// The outcome after the review differs from what the system would have done without it
    /// (a rejected containment, an overridden close, an abstention decided).
    pub changed_outcome: bool,
    /// The corrected label the review gave, if any.
    pub label: Option<String>,
    /// Whether that label matches the truth (a validated new label).
    pub label_correct: Option<bool>,
}

/// One alert as one arm handled it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The simulator's sequence number of the alert (same across arms).
    pub seq: u64,
    /// 0-based day of arrival.
    pub day: u32,
    pub arrived_ms: i64,
    pub truth: Truth,
    /// The arm's calibrated (or, for the baseline, raw) probability of malicious.
    pub p_malicious: Option<f64>,
    pub tier: Option<Tier>,
    pub flags: Vec<Flag>,
    /// Finalised without a person (auto-closed or auto-acted).
    pub automated: bool,
    /// Reviews in the order they were recorded.
    pub reviews: Vec<Review>,
    #[serde(flatten)]
    pub final_: Final,
    /// When it reached its final state (`None` while pending).
    pub finalised_ms: Option<i64>,
}

impl Outcome {
    /// Handled correctly: an attack contained or escalated, or benign traffic closed.
    pub fn correct(&self) -> bool {
        match (&self.final_, self.truth.malicious) {
            (Final::Acted { containment, .. }, true) => *containment,
            (Final::Closed, false) => true,
            _ => false,
        }
    }

    /// Handled correctly without a person.
    pub fn correct_without_a_person(&self) -> bool {
        self.automated && self.correct()
    }
}

/// One analyst's day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalystDay {
    pub analyst: String,
    pub day: u32,
    pub reviews: u32,
}

/// Everything one arm produced on one seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmRun {
    pub arm: String,
    pub seed: u64,
    /// Days in the run.
    pub days: u32,
    /// The run's first instant (day 0 starts here).
    pub start_ms: i64,
    pub outcomes: Vec<Outcome>,
    pub analysts: Vec<AnalystDay>,
    /// Alerts waiting for a person at the end of each day, day by day.
    pub backlog: Vec<u64>,
    /// Simulated reviews the ledger's rules refused (each is a simulator defect to look at:
    /// a person's decision would be refused the same way).
    pub refused_reviews: u64,
}
