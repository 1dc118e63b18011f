//! What simulated analysts see of the queue, and what they hand back: the same decision a
//! person makes in the console.

use arbiter_core::{Flag, Tier};
use arbiter_ledger::DecisionRequest;
use serde::{Deserialize, Serialize};

use crate::outcome::Truth;

/// One open alert as the console shows it, plus the truth an investigation can uncover.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueItem {
    /// Store id (what a decision names).
    pub id: i64,
    pub seq: u64,
    pub arrived_ms: i64,
    /// What an analyst finds by investigating (with their error rate applied).
    pub truth: Truth,
    pub p_malicious: Option<f64>,
    pub tier: Tier,
    pub flags: Vec<Flag>,
    /// The action the policy recommends (`None` when the model abstained or did not score).
    pub recommended: Option<String>,
    /// The recommended action is the policy's close action (a benign verdict).
    pub recommends_close: bool,
    /// The recommended action needs two different people.
    pub needs_two: bool,
    /// People who approved it so far.
    pub approvals: Vec<String>,
}

/// What the rules accept (from the policy and the model), for building valid decisions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Vocabulary {
    pub reason_codes: Vec<String>,
    /// `benign` and the attack families.
    pub labels: Vec<String>,
    pub features: Vec<String>,
}

/// One review an analyst performs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Work {
    /// The store id of the alert.
    pub id: i64,
    pub analyst: String,
    /// When the decision is recorded.
    pub at_ms: i64,
    pub request: DecisionRequest,
    /// What the analyst concluded (for the metrics and the error-rate checks).
    pub judged_malicious: bool,
    /// The analyst followed a wrong recommendation because it looked authoritative.
    pub automation_bias: bool,
    /// A poisoner flipped the conclusion on purpose.
    pub poisoned: bool,
}
