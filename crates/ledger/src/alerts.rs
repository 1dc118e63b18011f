//! New alerts: the policy's decision on each, audited one entry per alert, then stored in one
//! transaction with the guardrail state the decisions consumed.

use std::collections::HashSet;

use arbiter_audit::{Entry, EntryKind};
use arbiter_core::{Actor, AlertKey, display};
use arbiter_store::{Applied, Mutation, NewAlert, SecondOpinion};
use serde::Serialize;

use crate::{Change, Ledger, LedgerError, capped};

/// One decided alert to record.
#[derive(Debug, Clone)]
pub struct AlertRecord {
    pub alert: NewAlert,
    /// What else the entry is about besides the alert itself (`host:ws-1`, `user:bob`, …), so
    /// "what did the AI do about this host" finds it.
    pub entities: Vec<String>,
    /// What the other model (shadow, canary or champion) would have decided; recorded in the
    /// same entry, never acted on.
    pub second: Option<SecondOpinion>,
}

/// What became of one alert handed to [`Ledger::record_alerts`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordedAlert {
    pub key: AlertKey,
    /// Its store id.
    pub id: i64,
    /// The audit entry of its decision; `None` when it was already stored (nothing was done).
    pub audit_index: Option<u64>,
    pub new: bool,
}

/// Most entities recorded per entry, and their longest length.
const MAX_ENTITIES: usize = 16;
const MAX_ENTITY_CHARS: usize = 128;

impl Ledger {
    /// Records decided alerts: keys already stored (and repeats within the batch) are skipped,
    /// each new alert gets one audit entry, then all are stored in one transaction together
    /// with `state` (the guardrail state after these decisions: rate-limit buckets, …).
    /// Returns one outcome per input, in order.
    pub fn record_alerts(
        &mut self,
        alerts: Vec<AlertRecord>,
        state: Vec<(String, String)>,
    ) -> Result<Vec<RecordedAlert>, LedgerError> {
        let keys: Vec<AlertKey> = alerts.iter().map(|a| a.alert.key.clone()).collect();
        let mut seen: HashSet<AlertKey> = self.store.existing_keys(&keys)?.into_iter().collect();
        let mut fresh = Vec::new();
        let mut fresh_at = Vec::new();
        for (i, a) in alerts.into_iter().enumerate() {
            if seen.insert(a.alert.key.clone()) {
                fresh_at.push(i);
                fresh.push(a);
            }
        }
        let mut changes: Vec<Change> = fresh.into_iter().map(change_for).collect();
        if let Some(last) = changes.last_mut() {
            for (name, value) in state {
                last.mutations.push(Mutation::PutState { name, value });
            }
        }
        let mut out: Vec<Option<RecordedAlert>> = vec![None; keys.len()];
        if !changes.is_empty() {
            let (range, applied) = self.record(changes)?;
            for ((at, index), applied) in fresh_at.iter().zip(range).zip(applied) {
                let Some(Applied::Alert { id, inserted }) = applied.first() else {
                    continue;
                };
                out[*at] = Some(RecordedAlert {
                    key: keys[*at].clone(),
                    id: *id,
                    audit_index: inserted.then_some(index),
                    new: *inserted,
                });
            }
        }
        for (i, slot) in out.iter_mut().enumerate() {
            if slot.is_none() {
                let row = self
                    .store
                    .alert_by_key(&keys[i])?
                    .ok_or_else(|| arbiter_store::StoreError::NoSuchKey(keys[i].clone()))?;
                *slot = Some(RecordedAlert {
                    key: keys[i].clone(),
                    id: row.id,
                    audit_index: None,
                    new: false,
                });
            }
        }
        Ok(out.into_iter().flatten().collect())
    }
}

fn change_for(a: AlertRecord) -> Change {
    let n = &a.alert;
    let mut entities = vec![n.key.entity()];
    for e in a.entities.iter().take(MAX_ENTITIES) {
        let e = capped(e, MAX_ENTITY_CHARS);
        if !entities.contains(&e) {
            entities.push(e);
        }
    }
    if let Some(c) = &n.category {
        entities.push(capped(&format!("category:{c}"), MAX_ENTITY_CHARS));
    }
    let summary = format!(
        "{}: {} {}{}",
        n.key,
        n.tier,
        n.action.as_deref().unwrap_or("(no action)"),
        match n.p_malicious {
            Some(p) => format!(" at p(malicious) {}", display::p_text(p)),
            None => " (not scored)".to_string(),
        }
    );
    let mut body = serde_json::json!({});
    let mut mutations = Vec::with_capacity(2);
    let key = n.key.clone();
    let time = n.received_at;
    let mut summary = summary;
    if let Some(o) = a.second {
        summary.push_str(&format!(
            "; {} {:.19}… would have: {} {}",
            o.role,
            o.model,
            o.tier,
            o.action.as_deref().unwrap_or("(no action)")
        ));
        body = serde_json::json!({"second_opinion": {
            "model": o.model, "role": o.role, "tier": o.tier, "action": o.action,
            "p_malicious": o.p_malicious,
        }});
        mutations.push(Mutation::SecondOpinion {
            key,
            opinion: Box::new(o),
        });
    }
    mutations.insert(0, Mutation::InsertAlert(Box::new(a.alert)));
    Change {
        entry: Entry {
            time,
            kind: EntryKind::Decision,
            actor: Actor::Policy.to_string(),
            entities,
            summary,
            body,
        },
        mutations,
    }
}
