//! Human decisions, policy and model changes, tokens and refusals: each one audit entry, then
//! its store change.

use arbiter_audit::{Entry, EntryKind};
use arbiter_core::{Actor, Role};
use arbiter_store::{Applied, Mutation, NewDecision, NewFeedback, NewToken};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::human::{self, DecisionRequest, Refusal, Rules};
use crate::{Change, Ledger, LedgerError, capped};

/// What a human decision did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HumanOutcome {
    pub alert: i64,
    pub key: arbiter_core::AlertKey,
    pub decision: arbiter_core::Decision,
    pub state: arbiter_core::AlertState,
    /// The audit entry appended before the decision took effect.
    pub audit_index: u64,
    /// A four-eyes action approved once: a second, different person must approve.
    pub awaiting_second_approval: bool,
    /// Milliseconds from the alert's arrival to this decision.
    pub ms_to_decision: Option<i64>,
}

/// Requests refused for missing authority, counted per actor, action and peer over a window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Denial {
    pub actor: Actor,
    /// What was attempted (`ingest alerts`, `read an alert`, …).
    pub what: String,
    /// What it was about, already cut short by the caller.
    pub entities: Vec<String>,
    /// Where the requests came from (an address), when known.
    pub peer: Option<String>,
    pub count: u64,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
}

impl Ledger {
    /// Applies an analyst's decision on alert `id`: checked by [`human::plan`], audited,
    /// then stored as a compare-and-set state change with its feedback.
    pub fn decide(
        &mut self,
        id: i64,
        req: &DecisionRequest,
        actor: &Actor,
        rules: &Rules,
    ) -> Result<HumanOutcome, LedgerError> {
        let store = self.store.clone();
        let alert = store.alert(id)?.ok_or(LedgerError::NoSuchAlert(id))?;
        let decisions = store.decisions(id)?;
        let minted_by = |token: i64| store.token(token).ok().flatten().map(|t| t.created_by);
        let plan = human::plan(&alert, &decisions, req, actor, &minted_by, rules)
            .map_err(LedgerError::Refused)?;
        let now = self.clock.now();
        let ms = (now - alert.received_at).num_milliseconds().max(0);
        let clean = DecisionRequest::clean;
        let (reason_code, note, label, feature) = (
            clean(&req.reason_code),
            clean(&req.note),
            clean(&req.label),
            clean(&req.feature),
        );
        let action = alert.action.clone().unwrap_or_else(|| "(no action)".into());
        let key = &alert.key;
        let summary = match plan.kind {
            arbiter_core::Decision::Approve if plan.first_of_two => {
                format!("{key}: {actor} approved {action} (1 of 2: four eyes)")
            }
            arbiter_core::Decision::Approve => format!("{key}: {actor} approved {action}"),
            arbiter_core::Decision::Reject => format!(
                "{key}: {actor} rejected {action} ({})",
                reason_code.as_deref().unwrap_or("")
            ),
            _ => format!(
                "{key}: {actor} overrode the {} decision ({}{})",
                alert.tier,
                reason_code.as_deref().unwrap_or(""),
                label
                    .as_deref()
                    .map_or(String::new(), |l| format!(", label {l}"))
            ),
        };
        let example = self.example_for(
            &alert,
            &decisions,
            &plan,
            actor,
            now,
            label.as_deref(),
            reason_code.clone(),
            note.clone(),
            feature.clone(),
        )?;
        let feedback = plan.feedback.then(|| NewFeedback {
            label,
            reason_code: reason_code.clone().unwrap_or_default(),
            note: note.clone(),
            feature,
        });
        let change = Change {
            entry: Entry {
                time: now,
                kind: plan.entry_kind,
                actor: actor.to_string(),
                entities: with_person(vec![key.entity()], actor),
                summary,
                body: serde_json::json!({}),
            },
            mutations: std::iter::once(Mutation::Transition {
                key: key.clone(),
                from: alert.state,
                to: plan.to,
                decision: NewDecision {
                    kind: plan.kind,
                    actor: actor.clone(),
                    time: now,
                    reason_code,
                    note,
                    ms_to_decision: Some(ms),
                },
                feedback,
            })
            .chain(example.map(|e| Mutation::Teach(Box::new(e))))
            .collect(),
        };
        let (range, _) = self.record(vec![change])?;
        Ok(HumanOutcome {
            alert: id,
            key: alert.key,
            decision: plan.kind,
            state: plan.to,
            audit_index: range.start,
            awaiting_second_approval: plan.first_of_two,
            ms_to_decision: Some(ms),
        })
    }

    /// Puts a policy in force: the caller has validated it; the entry carries its text.
    pub fn record_policy(
        &mut self,
        text: &str,
        sha256: &str,
        file: &str,
        actor: &Actor,
    ) -> Result<u64, LedgerError> {
        let change = Change {
            entry: Entry {
                time: self.clock.now(),
                kind: EntryKind::PolicyChange,
                actor: actor.to_string(),
                entities: with_person(vec![format!("policy:{sha256}")], actor),
                summary: format!("policy {file} ({sha256:.12}) now in force (by {actor})"),
                body: serde_json::json!({"file": file, "sha256": sha256, "text": text}),
            },
            mutations: vec![Mutation::PutState {
                name: POLICY_STATE.into(),
                value: sha256.into(),
            }],
        };
        Ok(self.record(vec![change])?.0.start)
    }

    /// Stores a new token's hash for `person`, minted by `actor`; returns (id, audit index).
    pub fn create_token(
        &mut self,
        name: &str,
        person: &str,
        role: Role,
        sha256: &str,
        actor: &Actor,
    ) -> Result<(i64, u64), LedgerError> {
        let now = self.clock.now();
        let change = Change {
            entry: Entry {
                time: now,
                kind: EntryKind::Decision,
                actor: actor.to_string(),
                entities: with_person(
                    vec![format!("token:{name}"), format!("person:{person}")],
                    actor,
                ),
                summary: format!("{actor} created token {name} for {person} (role {role})"),
                body: serde_json::json!({}),
            },
            mutations: vec![Mutation::CreateToken(NewToken {
                name: name.into(),
                person: person.into(),
                role,
                sha256: sha256.into(),
                created_at: now,
                created_by: actor.clone(),
            })],
        };
        let (range, applied) = self.record(vec![change])?;
        match applied.first().and_then(|a| a.first()) {
            Some(Applied::Token { id }) => Ok((*id, range.start)),
            other => Err(LedgerError::BadRecord {
                index: range.start,
                message: format!("creating a token applied {other:?}"),
            }),
        }
    }

    /// Revokes token `id`; returns whether it was live, and the audit index.
    pub fn revoke_token(&mut self, id: i64, actor: &Actor) -> Result<(bool, u64), LedgerError> {
        let t = self.store.token(id)?.ok_or(LedgerError::NoSuchToken(id))?;
        let change = Change {
            entry: Entry {
                time: self.clock.now(),
                kind: EntryKind::Decision,
                actor: actor.to_string(),
                entities: with_person(
                    vec![format!("token:{}", t.name), format!("person:{}", t.person)],
                    actor,
                ),
                summary: format!(
                    "{actor} revoked token {} of {} (role {})",
                    t.name, t.person, t.role
                ),
                body: serde_json::json!({}),
            },
            mutations: vec![Mutation::RevokeToken {
                id,
                at: self.clock.now(),
            }],
        };
        let (range, applied) = self.record(vec![change])?;
        let revoked = matches!(
            applied.first().and_then(|a| a.first()),
            Some(Applied::Revoked { revoked: true, .. })
        );
        Ok((revoked, range.start))
    }

    /// Records refused requests, one entry per (actor, action, peer) with its count.
    pub fn record_denials(&mut self, denials: &[Denial]) -> Result<(), LedgerError> {
        if denials.is_empty() {
            return Ok(());
        }
        let changes = denials
            .iter()
            .map(|d| Change {
                entry: Entry {
                    time: d.last,
                    kind: EntryKind::Denied,
                    actor: capped(&d.actor.to_string(), 80),
                    entities: d.entities.iter().take(8).map(|e| capped(e, 128)).collect(),
                    summary: if d.count == 1 {
                        format!("{} was refused: {}", d.actor, capped(&d.what, 200))
                    } else {
                        format!(
                            "{} was refused {} times: {}",
                            d.actor,
                            d.count,
                            capped(&d.what, 200)
                        )
                    },
                    body: serde_json::json!({
                        "denied": capped(&d.what, 200), "count": d.count,
                        "first": d.first, "last": d.last, "peer": d.peer,
                    }),
                },
                mutations: Vec::new(),
            })
            .collect();
        self.record(changes)?;
        Ok(())
    }

    /// Audits a refused human decision (a conflict with the alert's state or history).
    pub fn record_refusal(
        &mut self,
        actor: &Actor,
        key: &arbiter_core::AlertKey,
        action: &str,
        refusal: &Refusal,
    ) -> Result<u64, LedgerError> {
        let now = self.clock.now();
        let change = Change {
            entry: Entry {
                time: now,
                kind: EntryKind::Denied,
                actor: actor.to_string(),
                entities: with_person(vec![key.entity()], actor),
                summary: format!("{} refused: {}", capped(action, 40), refusal),
                body: serde_json::json!({"denied": capped(action, 40), "count": 1,
                                         "first": now, "last": now}),
            },
            mutations: Vec::new(),
        };
        Ok(self.record(vec![change])?.0.start)
    }
}

/// The store state that names the policy in force (its SHA-256).
pub const POLICY_STATE: &str = "policy_sha256";

pub(crate) fn with_person(mut entities: Vec<String>, actor: &Actor) -> Vec<String> {
    if let Some(p) = actor.person_name() {
        let e = format!("person:{p}");
        if !entities.contains(&e) {
            entities.push(e);
        }
    }
    entities
}
