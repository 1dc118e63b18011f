//! Rows as the store reads and writes them: typed, so no caller parses a state or a tier.

use arbiter_core::{
    Actor, AlertKey, AlertState, Decision, EvidencePackage, Flag, Impact, Label, LabelSource,
    ModelId, Observed, Reason, Tier, Verdict,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One alert to insert, with everything the policy decided about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAlert {
    /// Identity and idempotency key: inserting a key already stored does nothing.
    pub key: AlertKey,
    /// Provenance: the file (or HTTP batch) and line the alert was read from.
    pub source_file: String,
    pub source_line: u64,
    /// Event time as the evidence package gives it.
    pub time: Option<String>,
    pub received_at: DateTime<Utc>,
    pub bundle: Option<ModelId>,
    pub p_malicious: Option<f64>,
    pub verdict: Option<Verdict>,
    pub category: Option<String>,
    pub flags: Vec<Flag>,
    /// Queue order: p_malicious, raised by uncertainty.
    pub risk: f64,
    pub tier: Tier,
    /// The recommended action (`None` when the policy recommends none).
    pub action: Option<String>,
    /// The action's impact after asset criticality.
    pub impact: Option<Impact>,
    pub reversible: Option<bool>,
    pub blast_radius: Option<String>,
    /// The policy's reasons.
    pub reasons: Vec<Reason>,
    /// The evidence package (absent when scoring failed or timed out).
    pub package: Option<EvidencePackage>,
    /// State once the policy's decision takes effect.
    pub state: AlertState,
    pub case: CaseUpdate,
    /// The features as the model read them (what a label on this alert later trains on).
    /// Absent in alerts recorded before teaching existed, and when the row could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Observed>,
}

/// The flood-control case an alert joins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseUpdate {
    /// `pattern@started_ms`.
    pub key: String,
    /// First alert of this case in its window: a new case row.
    pub opens: bool,
    pub new_pattern: bool,
}

/// A stored alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRow {
    pub id: i64,
    pub key: AlertKey,
    pub source_file: String,
    pub source_line: u64,
    pub time: Option<String>,
    pub received_at: DateTime<Utc>,
    pub bundle: Option<ModelId>,
    pub p_malicious: Option<f64>,
    pub verdict: Option<Verdict>,
    pub category: Option<String>,
    pub flags: Vec<Flag>,
    pub risk: f64,
    pub tier: Tier,
    pub action: Option<String>,
    pub impact: Option<Impact>,
    pub reversible: Option<bool>,
    pub blast_radius: Option<String>,
    pub state: AlertState,
    pub case_key: String,
    pub new_pattern: bool,
}

impl AlertRow {
    /// Critical or irreversible actions need two different people (four eyes).
    pub fn needs_two(&self) -> bool {
        self.impact == Some(Impact::Critical) || self.reversible == Some(false)
    }
}

/// A decision as stored: the policy's suggestion on arrival, or a human's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRow {
    pub alert: i64,
    pub kind: Decision,
    pub tier: Tier,
    pub action: Option<String>,
    pub reasons: Vec<Reason>,
    pub actor: Actor,
    pub time: DateTime<Utc>,
    /// The audit entry appended before this decision took effect.
    pub audit_index: u64,
    pub reason_code: Option<String>,
    pub note: Option<String>,
    /// Milliseconds from the alert's arrival to this (human) decision.
    pub ms_to_decision: Option<i64>,
}

/// A human decision to record with a state change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDecision {
    pub kind: Decision,
    /// Who decided, with the token they presented (four eyes checks who minted it).
    #[serde(with = "actor_with_token")]
    pub actor: Actor,
    pub time: DateTime<Utc>,
    pub reason_code: Option<String>,
    pub note: Option<String>,
    pub ms_to_decision: Option<i64>,
}

/// An analyst's judgement, kept for calibration and retraining.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackRow {
    pub alert: i64,
    pub actor: Actor,
    pub time: DateTime<Utc>,
    /// Corrected label, if the analyst gave one.
    pub label: Option<String>,
    pub reason_code: String,
    pub note: Option<String>,
    /// "The feature that should have mattered".
    pub feature: Option<String>,
    pub audit_index: u64,
}

/// Feedback given with a decision (actor, time and audit index are the decision's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewFeedback {
    pub label: Option<String>,
    pub reason_code: String,
    pub note: Option<String>,
    pub feature: Option<String>,
}

/// A labelled example for the teaching set, with where its label came from. Written by the
/// ledger with the human decision that gave it, or by an import of incident labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewExample {
    pub key: AlertKey,
    pub source: LabelSource,
    /// Who gave the label: a person with the token they used, or for an import the
    /// responder the ticket names.
    #[serde(with = "actor_with_token")]
    pub labeller: Actor,
    /// The name of the token presented (`alice-laptop`), when there was one.
    pub token_name: Option<String>,
    pub time: DateTime<Utc>,
    pub label: Label,
    pub reason_code: Option<String>,
    pub note: Option<String>,
    /// "The feature that should have mattered".
    pub feature: Option<String>,
    /// The model the label was given against (the alert's bundle).
    pub model: Option<ModelId>,
    /// SHA-256 of the evidence package the labeller saw, as stored.
    pub package_sha256: Option<String>,
    /// An outside reference: the incident ticket of an imported label, with its file and
    /// line. An alert holds at most one example per source and reference, so importing the
    /// same ticket twice adds nothing.
    pub reference: Option<String>,
}

/// A stored example, with what the model said about the alert and the features it read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExampleRow {
    pub id: i64,
    pub alert: i64,
    #[serde(flatten)]
    pub example: NewExample,
    /// The model's verdict and family on the alert, when it scored it.
    pub model_verdict: Option<Verdict>,
    pub model_category: Option<String>,
    /// The model's calibrated P(malicious) on the alert, when it scored it.
    pub model_p: Option<f64>,
    /// The alert's state when the example was read.
    pub state: AlertState,
    /// Set when a lead let the example into training although the poisoning screen
    /// quarantined it.
    pub release: Option<Release>,
    pub features: Option<Observed>,
    pub audit_index: u64,
}

/// A quarantined example let into training, by whom and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    pub by: Actor,
    pub at: DateTime<Utc>,
    pub reason: String,
}

/// What the queue shows; `None` means any.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueFilter {
    pub tier: Option<Tier>,
    /// `None`: the open states.
    pub state: Option<AlertState>,
    pub category: Option<String>,
    pub flag: Option<Flag>,
    /// Only alerts whose case is a first-seen pattern (`Some(true)`), or only the others.
    pub new_pattern: Option<bool>,
    /// 0: no limit.
    pub limit: usize,
}

impl QueueFilter {
    /// Whether `a` passes the filter (what every backend's query must agree with).
    pub fn admits(&self, a: &AlertRow) -> bool {
        let state_ok = match self.state {
            Some(s) => a.state == s,
            None => a.state.is_open(),
        };
        state_ok
            && self.tier.is_none_or(|t| a.tier == t)
            && self
                .category
                .as_ref()
                .is_none_or(|c| a.category.as_ref() == Some(c))
            && self.flag.is_none_or(|f| a.flags.contains(&f))
            && self.new_pattern.is_none_or(|n| a.new_pattern == n)
    }
}

/// Counts over the whole store.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub alerts: u64,
    pub by_tier: Vec<(Tier, u64)>,
    pub by_state: Vec<(AlertState, u64)>,
    pub cases: u64,
    pub new_patterns: u64,
    pub decisions: u64,
    pub feedback: u64,
    /// Teaching examples.
    #[serde(default)]
    pub examples: u64,
}

impl Stats {
    /// Alerts awaiting a human.
    pub fn open(&self) -> u64 {
        self.by_state
            .iter()
            .filter(|(s, _)| s.is_open())
            .map(|(_, n)| n)
            .sum()
    }
}

/// A flood-control case as stored: enough to rebuild flood control after a restart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseRow {
    /// `pattern@started_ms`.
    pub key: String,
    pub count: u64,
    pub new_pattern: bool,
}

/// An actor written with the token it presented: `{"name": "analyst:alice", "token": 7}`.
pub(crate) mod actor_with_token {
    use arbiter_core::Actor;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Named {
        name: Actor,
        #[serde(default)]
        token: Option<i64>,
    }

    pub fn serialize<S: Serializer>(a: &Actor, s: S) -> Result<S::Ok, S::Error> {
        Named {
            name: a.clone(),
            token: a.token(),
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Actor, D::Error> {
        let n = Named::deserialize(d)?;
        Ok(match n.name {
            Actor::Person { person, role, .. } => Actor::Person {
                person,
                role,
                token: n.token,
            },
            other => other,
        })
    }
}
