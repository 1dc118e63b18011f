//! Human decisions on an alert: what an approve, reject or override does, checked before
//! anything is written. Pure: the handler audits and stores what [`plan`] returns.
//!
//! - `approve` carries out the recommended action. Critical or irreversible actions need two
//!   different analysts (four eyes): the first approval moves the alert to
//!   `pending_second_approval`, the second, by someone else, to `approved`.
//! - `reject` declines the recommended action; a reason code is required.
//! - `override` says the verdict or decision was wrong, on an open or an automated alert;
//!   a reason code and a note are required, with optionally the corrected label and "the
//!   feature that should have mattered" (kept as feedback for calibration and retraining).

use arbiter_audit::EntryKind;
use arbiter_store::{AlertRow, DecisionRow, OPEN_STATES};
use serde::{Deserialize, Serialize};

/// The body of `POST /api/v1/alerts/{id}/decision` (and of the console's form).
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

/// What a valid request does.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Decision kind as stored: `approve`, `reject`, `override`.
    pub kind: &'static str,
    pub entry_kind: EntryKind,
    pub new_state: &'static str,
    /// Whether the analyst's judgement is kept as feedback (label, reason, feature).
    pub feedback: bool,
    /// A first approval of a four-eyes action.
    pub first_of_two: bool,
}

/// Why a request was refused; `Conflict` means the request was well formed but the alert's
/// state does not allow it.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    Invalid(String),
    Conflict(String),
}

/// What the rules need to know besides the alert.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub reason_codes: &'a [String],
    pub labels: &'a [String],
    pub features: &'a [String],
    /// The caller as the audit log names them.
    pub actor: &'a str,
}

/// Critical or irreversible actions need two different analysts.
pub fn needs_two(alert: &AlertRow) -> bool {
    alert.impact.as_deref() == Some("critical") || alert.reversible == Some(false)
}

/// Who has approved the alert so far.
pub fn approvers(decisions: &[DecisionRow]) -> Vec<String> {
    decisions
        .iter()
        .filter(|d| d.kind == "approve")
        .map(|d| d.actor.clone())
        .collect()
}

/// A form or JSON field with its blanks taken as absent.
pub(crate) fn trimmed(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Checks `req` against the alert, its decisions so far and the policy's reason codes.
pub fn plan(
    alert: &AlertRow,
    decisions: &[DecisionRow],
    req: &DecisionRequest,
    cx: &Context<'_>,
) -> Result<Plan, Refusal> {
    let open = OPEN_STATES.contains(&alert.state.as_str());
    let reason = trimmed(&req.reason_code);
    if let Some(code) = reason
        && !cx.reason_codes.iter().any(|c| c == code)
    {
        return Err(Refusal::Invalid(format!(
            "unknown reason_code {code:?}: expected one of {}",
            cx.reason_codes.join(", ")
        )));
    }
    if let Some(label) = trimmed(&req.label)
        && !cx.labels.iter().any(|l| l == label)
    {
        return Err(Refusal::Invalid(format!(
            "unknown label {label:?}: expected one of {}",
            cx.labels.join(", ")
        )));
    }
    if let Some(f) = trimmed(&req.feature)
        && !cx.features.iter().any(|x| x == f)
    {
        return Err(Refusal::Invalid(format!(
            "unknown feature {f:?}: not a field the model reads"
        )));
    }
    match req.action.as_str() {
        "approve" => {
            if !open {
                return Err(Refusal::Conflict(format!(
                    "alert {} is {}: only an open alert can be approved",
                    alert.alert_id, alert.state
                )));
            }
            let Some(action) = alert.action.as_deref() else {
                return Err(Refusal::Conflict(format!(
                    "alert {} has no recommended action to approve (the model abstained or \
                     did not score it): reject or override it instead",
                    alert.alert_id
                )));
            };
            let so_far = approvers(decisions);
            if needs_two(alert) {
                if so_far.iter().any(|a| a == cx.actor) {
                    return Err(Refusal::Conflict(format!(
                        "four eyes: {} already approved {action} on alert {}; a second, \
                         different analyst must approve",
                        cx.actor, alert.alert_id
                    )));
                }
                let first = so_far.is_empty();
                return Ok(Plan {
                    kind: "approve",
                    entry_kind: EntryKind::Approval,
                    new_state: if first {
                        "pending_second_approval"
                    } else {
                        "approved"
                    },
                    feedback: false,
                    first_of_two: first,
                });
            }
            Ok(Plan {
                kind: "approve",
                entry_kind: EntryKind::Approval,
                new_state: "approved",
                feedback: false,
                first_of_two: false,
            })
        }
        "reject" => {
            if !open {
                return Err(Refusal::Conflict(format!(
                    "alert {} is {}: only an open alert's recommendation can be rejected \
                     (override it instead)",
                    alert.alert_id, alert.state
                )));
            }
            if reason.is_none() {
                return Err(Refusal::Invalid(
                    "reason_code is required to reject a recommendation".into(),
                ));
            }
            Ok(Plan {
                kind: "reject",
                entry_kind: EntryKind::Decision,
                new_state: "rejected",
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
                kind: "override",
                entry_kind: EntryKind::Override,
                new_state: "overridden",
                feedback: true,
                first_of_two: false,
            })
        }
        other => Err(Refusal::Invalid(format!(
            "unknown action {other:?}: expected approve, reject or override"
        ))),
    }
}

#[cfg(test)]
mod tests;
