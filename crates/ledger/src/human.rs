//! Human decisions on an alert: what an approve, reject or override does, checked before
//! anything is written. Pure: [`crate::Ledger::decide`] audits and stores what [`plan`] returns.
//!
//! - `approve` carries out the recommended action. Critical or irreversible actions need two
//!   different *people* (four eyes): the first approval moves the alert to
//!   `pending_second_approval`, the second, by someone else, to `approved`. Two tokens of one
//!   person count once, and neither approver may hold a token the other one minted.
//! - `reject` declines the recommended action; a reason code is required.
//! - `override` says the verdict or decision was wrong, on any alert; a reason code and a note
//!   are required, with optionally the corrected label and "the feature that should have
//!   mattered" (kept as feedback for calibration and retraining).

use arbiter_audit::EntryKind;
use arbiter_core::{Actor, AlertState, Decision};
use arbiter_store::{AlertRow, DecisionRow};
use serde::{Deserialize, Serialize};

/// Longest note an analyst may attach, in bytes: enough for a paragraph, not a log dump.
pub const MAX_NOTE_BYTES: usize = 4096;

/// The body of `POST /api/v1/alerts/{id}/decision` and of the console's form.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// `approve`, `reject` or `override`.
    pub action: String,
    #[serde(default)]
    pub reason_code: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    /// Corrected label (a category, or the benign label).
    #[serde(default)]
    pub label: Option<String>,
    /// The feature that should have mattered.
    #[serde(default)]
    pub feature: Option<String>,
}

impl DecisionRequest {
    /// A field with its blanks taken as absent.
    pub fn clean(s: &Option<String>) -> Option<String> {
        trimmed(s).map(str::to_string)
    }
}

/// What a valid request does.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub kind: Decision,
    pub entry_kind: EntryKind,
    pub to: AlertState,
    /// Whether the analyst's judgement is kept as feedback (label, reason, feature).
    pub feedback: bool,
    /// A first approval of a four-eyes action.
    pub first_of_two: bool,
}

/// Why a request was refused. `Conflict`: well formed, but the alert's state or its history
/// does not allow it.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    Invalid(String),
    Conflict(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Invalid(m) | Refusal::Conflict(m) => f.write_str(m),
        }
    }
}

/// What the rules need to know besides the alert.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// The policy's reason codes.
    pub reason_codes: Vec<String>,
    /// Labels an override may set (benign and the model's categories).
    pub labels: Vec<String>,
    /// Fields the model reads.
    pub features: Vec<String>,
}

/// People who approved the alert so far, with the tokens they used.
pub fn approvals(decisions: &[DecisionRow]) -> Vec<&Actor> {
    decisions
        .iter()
        .filter(|d| d.kind == Decision::Approve)
        .map(|d| &d.actor)
        .collect()
}

pub(crate) fn trimmed(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Checks `req` by `actor` against the alert, its decisions so far and `rules`. `minted_by`
/// names who minted a token (for four eyes).
pub fn plan(
    alert: &AlertRow,
    decisions: &[DecisionRow],
    req: &DecisionRequest,
    actor: &Actor,
    minted_by: &dyn Fn(i64) -> Option<Actor>,
    rules: &Rules,
) -> Result<Plan, Refusal> {
    if actor.person_name().is_none() {
        return Err(Refusal::Invalid(format!(
            "{actor} is not a person: only people decide on alerts"
        )));
    }
    let reason = trimmed(&req.reason_code);
    if let Some(code) = reason
        && !rules.reason_codes.iter().any(|c| c == code)
    {
        return Err(Refusal::Invalid(format!(
            "unknown reason_code {code:?}: expected one of {}",
            rules.reason_codes.join(", ")
        )));
    }
    if let Some(label) = trimmed(&req.label)
        && !rules.labels.iter().any(|l| l == label)
    {
        return Err(Refusal::Invalid(format!(
            "unknown label {label:?}: expected one of {}",
            rules.labels.join(", ")
        )));
    }
    if let Some(f) = trimmed(&req.feature)
        && !rules.features.iter().any(|x| x == f)
    {
        return Err(Refusal::Invalid(format!(
            "unknown feature {:?}: not a field the model reads",
            cut(f)
        )));
    }
    if let Some(n) = trimmed(&req.note)
        && n.len() > MAX_NOTE_BYTES
    {
        return Err(Refusal::Invalid(format!(
            "the note is {} bytes; at most {MAX_NOTE_BYTES} are kept: summarise, and link \
             to the evidence instead of pasting it",
            n.len()
        )));
    }
    let state = alert.state;
    match req.action.as_str() {
        "approve" => {
            if !state.is_open() {
                return Err(Refusal::Conflict(format!(
                    "alert {} is {state}: only an open alert can be approved",
                    alert.key
                )));
            }
            let Some(action) = alert.action.as_deref() else {
                return Err(Refusal::Conflict(format!(
                    "alert {} has no recommended action to approve (the model abstained or \
                     did not score it): reject or override it instead",
                    alert.key
                )));
            };
            if !alert.needs_two() {
                return Ok(approve(AlertState::Approved, false));
            }
            let so_far = approvals(decisions);
            for first in &so_far {
                if let Some(m) = same_people(first, actor, minted_by) {
                    return Err(Refusal::Conflict(format!(
                        "four eyes: {m}; {action} on alert {} needs a second, different person",
                        alert.key
                    )));
                }
            }
            Ok(if so_far.is_empty() {
                approve(AlertState::PendingSecondApproval, true)
            } else {
                approve(AlertState::Approved, false)
            })
        }
        "reject" => {
            if !state.is_open() {
                return Err(Refusal::Conflict(format!(
                    "alert {} is {state}: only an open alert's recommendation can be rejected \
                     (override it instead)",
                    alert.key
                )));
            }
            if reason.is_none() {
                return Err(Refusal::Invalid(
                    "reason_code is required to reject a recommendation".into(),
                ));
            }
            Ok(Plan {
                kind: Decision::Reject,
                entry_kind: EntryKind::Decision,
                to: AlertState::Rejected,
                feedback: true,
                first_of_two: false,
            })
        }
        "override" => {
            if reason.is_none() {
                return Err(Refusal::Invalid(
                    "reason_code is required to override".into(),
                ));
            }
            if trimmed(&req.note).is_none() {
                return Err(Refusal::Invalid(
                    "note is required to override: say what the model got wrong".into(),
                ));
            }
            Ok(Plan {
                kind: Decision::Override,
                entry_kind: EntryKind::Override,
                to: AlertState::Overridden,
                feedback: true,
                first_of_two: false,
            })
        }
        other => Err(Refusal::Invalid(format!(
            "unknown action {:?}: expected approve, reject or override",
            cut(other)
        ))),
    }
}

fn approve(to: AlertState, first_of_two: bool) -> Plan {
    Plan {
        kind: Decision::Approve,
        entry_kind: EntryKind::Approval,
        to,
        feedback: false,
        first_of_two,
    }
}

/// Why `a` and `b` do not count as two people, if they do not.
fn same_people(a: &Actor, b: &Actor, minted_by: &dyn Fn(i64) -> Option<Actor>) -> Option<String> {
    let (pa, pb) = (a.person_name()?, b.person_name()?);
    if pa == pb {
        return Some(format!("{pb} already approved"));
    }
    let minter = |x: &Actor| x.token().and_then(minted_by);
    if minter(b).as_ref().and_then(Actor::person_name) == Some(pa) {
        return Some(format!(
            "{pa} approved first and minted the token {pb} is using"
        ));
    }
    if minter(a).as_ref().and_then(Actor::person_name) == Some(pb) {
        return Some(format!("{pb} minted the token {pa} approved with"));
    }
    None
}

fn cut(s: &str) -> String {
    if s.chars().count() > 64 {
        format!("{}…", s.chars().take(64).collect::<String>())
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests;
