//! The API's JSON shapes: what clients see, kept apart from the store's rows and the console's
//! view types so either can change without changing the API.

use arbiter_core::{
    AlertState, Decision, EvidencePackage, Flag, Impact, Reason, Tier, Verdict, display,
};
use arbiter_store::{AlertRow, DecisionRow, FeedbackRow};
use serde::Serialize;

/// A stored alert.
#[derive(Debug, Clone, Serialize)]
pub struct AlertJson {
    pub id: i64,
    /// Identity: `source/id`.
    pub key: String,
    pub source: String,
    /// The source's own id for the alert.
    pub alert_id: String,
    /// Where it was read (provenance, not identity).
    pub source_file: String,
    pub source_line: u64,
    pub time: Option<String>,
    pub received_at: String,
    pub bundle: Option<String>,
    pub p_malicious: Option<f64>,
    /// The probability as a human should read it: the confidence band in words, or that the
    /// model abstained (never a confident-looking verdict for an abstention).
    pub headline: String,
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

impl From<&AlertRow> for AlertJson {
    fn from(a: &AlertRow) -> AlertJson {
        let abstained = a.tier == Tier::Abstain || a.state == AlertState::Abstained;
        AlertJson {
            id: a.id,
            key: a.key.to_string(),
            source: a.key.source().to_string(),
            alert_id: a.key.id().to_string(),
            source_file: a.source_file.clone(),
            source_line: a.source_line,
            time: a.time.clone(),
            received_at: display::time(&a.received_at),
            bundle: a.bundle.as_ref().map(|b| b.to_string()),
            p_malicious: a.p_malicious,
            headline: display::headline(a.p_malicious, abstained),
            verdict: a.verdict,
            category: a.category.clone(),
            flags: a.flags.clone(),
            risk: a.risk,
            tier: a.tier,
            action: a.action.clone(),
            impact: a.impact,
            reversible: a.reversible,
            blast_radius: a.blast_radius.clone(),
            state: a.state,
            case_key: a.case_key.clone(),
            new_pattern: a.new_pattern,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DecisionJson {
    pub kind: Decision,
    pub tier: Tier,
    pub action: Option<String>,
    pub reasons: Vec<Reason>,
    pub actor: String,
    pub time: String,
    pub audit_index: u64,
    pub reason_code: Option<String>,
    pub note: Option<String>,
    pub ms_to_decision: Option<i64>,
}

impl From<&DecisionRow> for DecisionJson {
    fn from(d: &DecisionRow) -> DecisionJson {
        DecisionJson {
            kind: d.kind,
            tier: d.tier,
            action: d.action.clone(),
            reasons: d.reasons.clone(),
            actor: d.actor.to_string(),
            time: display::time(&d.time),
            audit_index: d.audit_index,
            reason_code: d.reason_code.clone(),
            note: d.note.clone(),
            ms_to_decision: d.ms_to_decision,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FeedbackJson {
    pub actor: String,
    pub time: String,
    pub label: Option<String>,
    pub reason_code: String,
    pub note: Option<String>,
    pub feature: Option<String>,
    pub audit_index: u64,
}

impl From<&FeedbackRow> for FeedbackJson {
    fn from(f: &FeedbackRow) -> FeedbackJson {
        FeedbackJson {
            actor: f.actor.to_string(),
            time: display::time(&f.time),
            label: f.label.clone(),
            reason_code: f.reason_code.clone(),
            note: f.note.clone(),
            feature: f.feature.clone(),
            audit_index: f.audit_index,
        }
    }
}

/// One audit entry about the alert.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineJson {
    pub audit_index: u64,
    pub time: String,
    pub kind: String,
    pub actor: String,
    pub summary: String,
    pub reason_code: Option<String>,
    pub note: Option<String>,
}

/// The recommended action as the policy's catalogue describes it.
#[derive(Debug, Clone, Serialize)]
pub struct ActionJson {
    pub name: String,
    pub impact: String,
    pub reversible: bool,
    pub blast_radius: String,
    pub description: String,
    /// Critical or irreversible: two different people must approve.
    pub needs_two_approvals: bool,
}

/// `GET /api/v1/alerts/{id}`.
#[derive(Debug, Clone, Serialize)]
pub struct AlertDetailJson {
    pub alert: AlertJson,
    /// Absent when the model did not score the alert.
    pub package: Option<EvidencePackage>,
    pub action: Option<ActionJson>,
    /// People who approved so far.
    pub approvals: Vec<String>,
    /// Whether it still awaits a human.
    pub open: bool,
    pub decisions: Vec<DecisionJson>,
    pub feedback: Vec<FeedbackJson>,
    /// What the audit log holds about the alert, oldest first.
    pub timeline: Vec<TimelineJson>,
    /// False when the audit index left out entries the store refers to (shown anyway, read
    /// from the log itself), or when there were more entries than one page.
    pub timeline_complete: bool,
    pub timeline_note: Option<String>,
}
