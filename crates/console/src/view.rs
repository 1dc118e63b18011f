//! What the console pages show: plain data assembled by the handlers, rendered by
//! the page functions of this crate. Nothing here touches the store.

use arbiter_core::{AlertState, EvidencePackage, Flag, Permission, Role, Tier};
use arbiter_store::AlertRow;
use serde::Serialize;

/// Who is looking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// The person signed in.
    pub name: String,
    pub role: Role,
}

impl User {
    /// Whether this user may record decisions (approve, reject, override): the same rule the
    /// API applies.
    pub fn can_decide(&self) -> bool {
        self.role.allows(Permission::Decide)
    }
}

/// One line of an alert's audit timeline, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineItem {
    /// Index of the audit log entry, when the event is in the log.
    pub audit_index: Option<u64>,
    pub time: String,
    /// `decision`, `approval`, `override`, `denied`, …
    pub kind: String,
    pub actor: String,
    pub summary: String,
    pub reason_code: Option<String>,
    pub note: Option<String>,
}

/// The recommended action as the policy's catalogue describes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionInfo {
    pub name: String,
    /// `none`, `low`, `medium`, `high` or `critical`, after asset criticality.
    pub impact: String,
    pub reversible: bool,
    pub blast_radius: String,
    pub description: String,
    /// Critical or irreversible: two different analysts must approve.
    pub needs_two_approvals: bool,
}

/// A reason code analysts can pick when rejecting or overriding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReasonChoice {
    pub code: String,
    pub label: String,
}

/// Everything the alert page shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertView {
    pub alert: AlertRow,
    /// Absent when the model did not score the alert (timeout, error, no model).
    pub package: Option<EvidencePackage>,
    pub action: Option<ActionInfo>,
    /// Analysts who have approved so far (one, when a second approval is awaited).
    pub approvals: Vec<String>,
    /// Whether the alert still awaits a human decision.
    pub open: bool,
    pub reason_codes: Vec<ReasonChoice>,
    /// Category labels an override may set as the corrected label (`benign` first).
    pub labels: Vec<String>,
    /// Feature names an override may name as "the feature that should have mattered".
    pub features: Vec<String>,
    pub timeline: Vec<TimelineItem>,
    /// Set when the timeline may be incomplete or was repaired (the audit index left entries
    /// out), saying what to do.
    pub timeline_note: Option<String>,
}

/// Counts shown above the queue.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QueueCounts {
    /// `(state, count)` for every state present.
    pub by_state: Vec<(AlertState, u64)>,
    pub new_patterns: u64,
}

/// The queue page's filter, as the query string gave it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QueueView {
    pub rows: Vec<AlertRow>,
    pub tier: Option<Tier>,
    pub state: Option<AlertState>,
    pub category: Option<String>,
    pub flag: Option<Flag>,
    /// Only first-seen patterns are shown.
    #[serde(default)]
    pub new_pattern: bool,
    pub counts: QueueCounts,
}

impl AlertView {
    /// Whether the model declined to decide (tier `abstain` or state `abstained`).
    pub fn abstained(&self) -> bool {
        self.alert.tier == Tier::Abstain || self.alert.state == AlertState::Abstained
    }

    /// The uncertainty flags of the package, then any others the alert row carries.
    pub fn flags(&self) -> Vec<String> {
        let mut flags: Vec<String> = self
            .package
            .iter()
            .flat_map(|p| p.uncertainty.flags.iter().map(|f| f.as_str().to_string()))
            .collect();
        for f in &self.alert.flags {
            if !flags.iter().any(|x| x == f.as_str()) {
                flags.push(f.as_str().to_string());
            }
        }
        flags
    }
}

/// The Teaching page's data.
#[derive(Debug, Clone, Default)]
pub struct TeachingView {
    /// The most recent examples, newest first.
    pub recent: Vec<arbiter_store::ExampleRow>,
    /// Examples the poisoning screen holds back (not released), oldest first.
    pub held: Vec<HeldView>,
    pub total: usize,
    /// Estimated accuracy per labeller.
    pub accuracy: std::collections::BTreeMap<String, f64>,
    /// Whether the signed-in person may release (a lead or an admin).
    pub may_release: bool,
    pub flash: Option<String>,
}

/// One quarantined example with the screen's reasons.
#[derive(Debug, Clone)]
pub struct HeldView {
    pub example: arbiter_store::ExampleRow,
    pub posterior: f64,
    pub reasons: Vec<String>,
}

/// The Models page's data.
#[derive(Debug, Clone, Default)]
pub struct ModelsView {
    /// The registry, newest registration first.
    pub models: Vec<arbiter_store::ModelRow>,
    /// Each model's latest gate report (against any champion), by model id.
    pub gates: std::collections::BTreeMap<String, arbiter_store::GateRow>,
    /// The shadow or canary, with how many of its opinions differ and the latest such.
    pub challenger: Option<ChallengerView>,
    /// Whether the signed-in person may change the registry (an admin).
    pub may_change: bool,
    pub flash: Option<String>,
}

/// The challenger's disagreement report.
#[derive(Debug, Clone)]
pub struct ChallengerView {
    pub id: String,
    pub opinions: usize,
    pub disagreeing: usize,
    pub latest: Vec<arbiter_store::OpinionRow>,
    pub tally: Option<arbiter_store::CanaryTally>,
}
