//! The teaching set's writes: the example a human decision leaves behind, and labels imported
//! from incident tickets. Both go through [`Ledger::record`] like every other change, so no
//! example exists that the audit log does not name with its provenance. A lead releasing a
//! quarantined example is audited the same way.

use std::collections::HashSet;

use arbiter_audit::{Entry, EntryKind};
use arbiter_core::{Actor, AlertKey, AlertState, Decision, Label, LabelSource, Role};
use arbiter_store::{AlertRow, DecisionRow, Mutation, NewExample};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::human::{MAX_NOTE_BYTES, Plan, Refusal, approvals};
use crate::{Change, Ledger, LedgerError};

/// Imported labels per audit entry: an import of thousands of tickets stays many entries of
/// readable size rather than one huge one.
pub const IMPORT_CHUNK: usize = 500;

/// Which example, if any, a human decision teaches: the label and where it came from.
///
/// - A label the human gave is taught; without one, only an approval teaches (approving the
///   recommended action confirms the model's verdict). A rejection or override without a
///   label says the model was wrong but not what is right, so it stays feedback only.
/// - The source: a decision on an alert the policy closed or acted on by itself is an
///   `audit_sample`; the second approval of a four-eyes action a `second_review`; otherwise
///   `analyst_confirm` when the label is the model's own (verdict and family), else
///   `analyst_override`.
pub fn lesson(
    alert: &AlertRow,
    decisions: &[DecisionRow],
    plan: &Plan,
    label: Option<&str>,
) -> Option<(LabelSource, Label)> {
    let model = alert
        .verdict
        .map(|v| Label::of(v, alert.category.as_deref()));
    let label = match (label, plan.kind) {
        (Some(l), _) => Label::new(l).ok()?,
        (None, Decision::Approve) => model.clone()?,
        (None, _) => return None,
    };
    let source = if matches!(alert.state, AlertState::AutoClosed | AlertState::AutoActed) {
        LabelSource::AuditSample
    } else if plan.kind == Decision::Approve
        && !plan.first_of_two
        && !approvals(decisions).is_empty()
    {
        LabelSource::SecondReview
    } else if model.as_ref() == Some(&label) {
        LabelSource::AnalystConfirm
    } else {
        LabelSource::AnalystOverride
    };
    Some((source, label))
}

/// SHA-256 of an evidence package as stored (its JSON): what a label was given against.
pub fn package_sha256(p: &arbiter_core::EvidencePackage) -> Option<String> {
    serde_json::to_vec(p)
        .ok()
        .map(|b| hex::encode(Sha256::digest(&b)))
}

/// One label from an incident ticket, already parsed and checked for form.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportedLabel {
    /// Line of the import file, for errors.
    pub line: u64,
    pub key: AlertKey,
    pub label: Label,
    /// The ticket that concluded the incident: required, and the import's idempotency key.
    pub ticket: String,
    /// Who concluded it, when the ticket says.
    pub responder: Option<String>,
    /// When it was concluded (default: the time of the import).
    pub time: Option<DateTime<Utc>>,
    pub reason_code: Option<String>,
    pub note: Option<String>,
    pub feature: Option<String>,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Imported {
    /// Examples added.
    pub added: usize,
    /// Rows whose alert already held this ticket's label (nothing done).
    pub already: usize,
    /// The audit entries written (empty when nothing was new).
    pub audit: Vec<u64>,
}

/// Most unknown alerts named in one refusal.
const MAX_NAMED: usize = 20;

impl Ledger {
    /// The example a human decision on `alert` teaches, with its provenance.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn example_for(
        &self,
        alert: &AlertRow,
        decisions: &[DecisionRow],
        plan: &Plan,
        actor: &Actor,
        now: DateTime<Utc>,
        label: Option<&str>,
        reason_code: Option<String>,
        note: Option<String>,
        feature: Option<String>,
    ) -> Result<Option<NewExample>, LedgerError> {
        let Some((source, label)) = lesson(alert, decisions, plan, label) else {
            return Ok(None);
        };
        let store = self.store();
        let token_name = match actor.token() {
            Some(t) => store.token(t)?.map(|t| t.name),
            None => None,
        };
        let package_sha256 = store.package(alert.id)?.as_ref().and_then(package_sha256);
        Ok(Some(NewExample {
            key: alert.key.clone(),
            source,
            labeller: actor.clone(),
            token_name,
            time: now,
            label,
            reason_code,
            note,
            feature,
            model: alert.bundle.clone(),
            package_sha256,
            reference: None,
        }))
    }

    /// Imports labels from incident tickets into the teaching set (the trusted tier), as
    /// audit entries of at most [`IMPORT_CHUNK`] labels. Every alert must be stored: if any
    /// is not, nothing is imported and the refusal names the lines. A ticket already
    /// imported for an alert is skipped.
    pub fn import_labels(
        &mut self,
        labels: &[ImportedLabel],
        file: &str,
        actor: &Actor,
    ) -> Result<Imported, LedgerError> {
        let store = self.store().clone();
        let mut unknown = Vec::new();
        let mut rows: Vec<(&ImportedLabel, AlertRow)> = Vec::with_capacity(labels.len());
        for l in labels {
            match store.alert_by_key(&l.key)? {
                Some(a) => rows.push((l, a)),
                None => unknown.push(l),
            }
        }
        if !unknown.is_empty() {
            let named: Vec<String> = unknown
                .iter()
                .take(MAX_NAMED)
                .map(|l| {
                    format!(
                        "line {}: alert {:?} is not stored",
                        l.line,
                        l.key.to_string()
                    )
                })
                .collect();
            let more = unknown.len().saturating_sub(MAX_NAMED);
            return Err(LedgerError::Refused(Refusal::Invalid(format!(
                "{file}: {} of {} labels name an alert this store does not hold, so nothing \
                 was imported (field `alert`, written source/id):\n  {}{}",
                unknown.len(),
                labels.len(),
                named.join("\n  "),
                if more > 0 {
                    format!("\n  … and {more} more")
                } else {
                    String::new()
                }
            ))));
        }
        let held: HashSet<(i64, String)> = store
            .examples(0, 0)?
            .into_iter()
            .filter(|e| e.example.source == LabelSource::IncidentImport)
            .filter_map(|e| e.example.reference.map(|r| (e.alert, r)))
            .collect();
        let now = self.clock.now();
        let mut fresh = Vec::new();
        let mut seen = HashSet::new();
        let mut already = 0;
        for (l, a) in rows {
            if held.contains(&(a.id, l.ticket.clone())) || !seen.insert((a.id, l.ticket.clone())) {
                already += 1;
                continue;
            }
            let labeller = Actor::system(&format!(
                "incident/{}",
                l.responder.as_deref().unwrap_or("ticket")
            ));
            let package_sha256 = store.package(a.id)?.as_ref().and_then(package_sha256);
            fresh.push(NewExample {
                key: l.key.clone(),
                source: LabelSource::IncidentImport,
                labeller,
                token_name: None,
                time: l.time.unwrap_or(now),
                label: l.label.clone(),
                reason_code: l.reason_code.clone(),
                note: l.note.clone(),
                feature: l.feature.clone(),
                model: a.bundle.clone(),
                package_sha256,
                reference: Some(l.ticket.clone()),
            });
        }
        let mut audit = Vec::new();
        for chunk in fresh.chunks(IMPORT_CHUNK) {
            let tickets: Vec<&str> = chunk
                .iter()
                .filter_map(|e| e.reference.as_deref())
                .collect();
            let change = Change {
                entry: Entry {
                    time: now,
                    kind: EntryKind::Teaching,
                    actor: actor.to_string(),
                    entities: crate::admin::with_person(
                        chunk.iter().map(|e| e.key.entity()).collect(),
                        actor,
                    ),
                    summary: format!(
                        "{} incident labels imported from {file} into the teaching set (by \
                         {actor})",
                        chunk.len()
                    ),
                    body: serde_json::json!({"file": file, "tickets": tickets}),
                },
                mutations: chunk
                    .iter()
                    .map(|e| Mutation::Teach(Box::new(e.clone())))
                    .collect(),
            };
            audit.push(self.record(vec![change])?.0.start);
        }
        Ok(Imported {
            added: fresh.len(),
            already,
            audit,
        })
    }
}

impl Ledger {
    /// Lets quarantined example `id` into training: only a lead or an admin (or the operator
    /// offline) may, with a reason; audited before it takes effect. Returns the audit index.
    pub fn release_example(
        &mut self,
        id: i64,
        reason: &str,
        actor: &Actor,
    ) -> Result<u64, LedgerError> {
        let allowed = match actor {
            Actor::Person { role, .. } => matches!(role, Role::Lead | Role::Admin),
            Actor::System(_) => true,
            _ => false,
        };
        if !allowed {
            return Err(LedgerError::Refused(Refusal::Invalid(format!(
                "{actor} may not release a quarantined example: a lead or an admin decides \
                 what enters training"
            ))));
        }
        let reason = reason.trim();
        if reason.is_empty() || reason.len() > MAX_NOTE_BYTES {
            return Err(LedgerError::Refused(Refusal::Invalid(format!(
                "a release needs a reason of 1 to {MAX_NOTE_BYTES} bytes: say why the label \
                 is right although the screen doubted it"
            ))));
        }
        let store = self.store().clone();
        let Some(row) = store.examples(id - 1, 1)?.into_iter().find(|e| e.id == id) else {
            return Err(LedgerError::Refused(Refusal::Invalid(format!(
                "no teaching example with id {id}"
            ))));
        };
        if let Some(r) = &row.release {
            return Err(LedgerError::Refused(Refusal::Conflict(format!(
                "example {id} was already released by {} at {}",
                r.by,
                r.at.to_rfc3339()
            ))));
        }
        let now = self.clock.now();
        let change = Change {
            entry: Entry {
                time: now,
                kind: EntryKind::Teaching,
                actor: actor.to_string(),
                entities: crate::admin::with_person(
                    vec![row.example.key.entity(), format!("example:{id}")],
                    actor,
                ),
                summary: format!(
                    "teaching example {id} ({} on {}, by {}) released from quarantine by \
                     {actor}: {reason}",
                    row.example.label, row.example.key, row.example.labeller
                ),
                body: serde_json::json!({"example": id, "reason": reason}),
            },
            mutations: vec![Mutation::ReleaseExample {
                id,
                by: actor.clone(),
                at: now,
                reason: reason.to_string(),
            }],
        };
        Ok(self.record(vec![change])?.0.start)
    }
}
