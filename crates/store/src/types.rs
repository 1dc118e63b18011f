//! Rows as the store reads and writes them.

use serde::{Deserialize, Serialize};

/// One alert to insert, with everything decided about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAlert {
    /// Unique per input row (source file name, line and alert id): the idempotency key.
    pub key: String,
    pub alert_id: String,
    pub source_file: String,
    pub source_line: u64,
    pub time: Option<String>,
    pub received_at: String,
    pub bundle: Option<String>,
    pub p_malicious: Option<f64>,
    pub verdict: Option<String>,
    pub category: Option<String>,
    /// Uncertainty flags (names).
    pub flags: Vec<String>,
    /// Risk for ordering the queue: p_malicious, raised by uncertainty.
    pub risk: f64,
    /// The recommended action's impact after asset criticality (`none` … `critical`).
    #[serde(default)]
    pub impact: Option<String>,
    #[serde(default)]
    pub reversible: Option<bool>,
    #[serde(default)]
    pub blast_radius: Option<String>,
    /// The evidence package as JSON (absent when scoring failed or timed out).
    pub package: Option<String>,
    pub decision: DecisionRow,
    /// Lifecycle state after the decision: `auto_closed`, `auto_acted`, `pending_approval`,
    /// `analyst`, `abstained`.
    pub state: String,
    pub case: CaseUpdate,
}

/// The flood-control case an alert joins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseUpdate {
    pub key: String,
    /// First alert of this case in its window: a new case row.
    pub opens: bool,
    pub new_pattern: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRow {
    /// Filled in by the store.
    #[serde(default)]
    pub alert: i64,
    /// `suggested` (by the policy), `auto`, `approve`, `reject`, `override`, …
    pub kind: String,
    pub tier: String,
    pub action: Option<String>,
    /// Reasons as JSON (`[{"code": …, "text": …}]`).
    pub reasons: String,
    pub actor: String,
    pub time: String,
    /// Index of the audit entry appended before this decision took effect.
    pub audit_index: Option<u64>,
    pub reason_code: Option<String>,
    pub note: Option<String>,
    /// Milliseconds from the alert's arrival to this (human) decision.
    #[serde(default)]
    pub ms_to_decision: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackRow {
    pub alert: i64,
    pub actor: String,
    pub time: String,
    /// Corrected label, if the analyst gave one.
    pub label: Option<String>,
    pub reason_code: String,
    pub note: Option<String>,
    /// "The feature that should have mattered".
    pub feature: Option<String>,
    pub audit_index: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRow {
    pub id: i64,
    pub key: String,
    pub alert_id: String,
    pub source_file: String,
    pub source_line: u64,
    pub time: Option<String>,
    pub received_at: String,
    pub bundle: Option<String>,
    pub p_malicious: Option<f64>,
    pub verdict: Option<String>,
    pub category: Option<String>,
    pub flags: Vec<String>,
    pub risk: f64,
    pub tier: String,
    pub action: Option<String>,
    /// The action's impact after asset criticality, as decided.
    #[serde(default)]
    pub impact: Option<String>,
    #[serde(default)]
    pub reversible: Option<bool>,
    #[serde(default)]
    pub blast_radius: Option<String>,
    pub state: String,
    pub case_key: String,
    pub new_pattern: bool,
}

/// What the queue shows; `None` means any.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueFilter {
    pub tier: Option<String>,
    pub state: Option<String>,
    pub category: Option<String>,
    pub flag: Option<String>,
    /// Only alerts whose case is a first-seen pattern (`Some(true)`), or only the others.
    #[serde(default)]
    pub new_pattern: Option<bool>,
    pub limit: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub alerts: u64,
    pub by_tier: Vec<(String, u64)>,
    pub by_state: Vec<(String, u64)>,
    pub cases: u64,
    pub new_patterns: u64,
    pub decisions: u64,
    pub feedback: u64,
}

/// An API token as stored: only the SHA-256 of the secret is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    /// `viewer`, `analyst`, `lead`, `admin` or `ingest`.
    pub role: String,
    #[serde(skip_serializing)]
    pub sha256: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}
