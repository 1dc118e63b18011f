//! Reopening: every audited change the store lacks is applied from the log.

use std::collections::{BTreeSet, HashSet};

use arbiter_audit::{AuditReader, Entry};
use arbiter_core::AlertKey;
use arbiter_store::{Mutation, Recorded, StoreError, StoreRead};
use serde::Serialize;

use crate::{Ledger, LedgerError, is_conflict};

/// Entries applied per store transaction while restoring.
const RESTORE_CHUNK: usize = 256;
/// Restored or voided entries listed by name in a report (all are counted).
const LISTED: usize = 20;

/// What reopening found and did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Reconciled {
    /// Entries read past the store's applied mark.
    pub scanned: u64,
    /// How many entries' changes were missing from the store and were applied from the log.
    pub restored: u64,
    /// The first few of them: (index, summary).
    pub restored_listed: Vec<(u64, String)>,
    /// Entries whose changes the store refused (it had moved on); each is voided by a new
    /// entry saying so.
    pub voided: Vec<(u64, String)>,
    /// The log's entries predate recorded changes (an older Arbiter wrote them): they were
    /// marked as applied, since there is nothing to restore from them.
    pub legacy: bool,
}

impl std::fmt::Display for Reconciled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.restored == 0 && self.voided.is_empty() {
            return write!(
                f,
                "the store holds every audited change{}",
                if self.legacy {
                    " (older entries carry no record and were marked applied)"
                } else {
                    ""
                }
            );
        }
        write!(
            f,
            "{} audited changes were missing from the store and were restored from the log",
            self.restored
        )?;
        for (i, s) in &self.restored_listed {
            write!(f, "; #{i} {s}")?;
        }
        if self.restored > self.restored_listed.len() as u64 {
            write!(f, "; …")?;
        }
        for (i, s) in &self.voided {
            write!(f, "; #{i} could not take effect and was voided: {s}")?;
        }
        Ok(())
    }
}

/// The mutations an entry stands for: `None` when it carries no record.
pub fn record_of(e: &Entry) -> Option<Result<Vec<Mutation>, String>> {
    let r = e.body.get("record")?;
    Some(serde_json::from_value(r.clone()).map_err(|err| err.to_string()))
}

/// Entries a later entry voided.
fn voids_of(e: &Entry) -> Vec<u64> {
    e.body
        .get("voids")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

/// Audited changes missing from the store, found by a full check.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StoreCheck {
    /// Entries with a record.
    pub checked: u64,
    /// (index, what is missing).
    pub missing: Vec<(u64, String)>,
}

impl Ledger {
    pub(crate) fn reconcile(&mut self) -> Result<Reconciled, LedgerError> {
        let len = self.audit.len();
        let start = self.store.applied_through()?.map_or(0, |a| a + 1);
        let mut rep = Reconciled::default();
        if start >= len {
            return Ok(rep);
        }
        // First pass: which entries carry records, and which were voided later.
        let mut voided = BTreeSet::new();
        let mut any_record = false;
        for i in start..len {
            let e = self.audit.entry(i)?;
            rep.scanned += 1;
            voided.extend(voids_of(&e));
            any_record |= e.body.get("record").is_some();
        }
        if !any_record {
            if start == 0 {
                rep.legacy = true;
            }
            self.store.mark_applied(len - 1)?;
            return Ok(rep);
        }
        // Second pass: apply them in order, a chunk per transaction.
        let mut chunk: Vec<(Recorded, String)> = Vec::new();
        for i in start..len {
            let e = self.audit.entry(i)?;
            if voided.contains(&i) {
                continue;
            }
            let Some(rec) = record_of(&e) else {
                continue;
            };
            let mutations = rec.map_err(|message| LedgerError::BadRecord { index: i, message })?;
            chunk.push((
                Recorded {
                    audit_index: i,
                    mutations,
                },
                e.summary,
            ));
            if chunk.len() == RESTORE_CHUNK {
                self.restore(std::mem::take(&mut chunk), &mut rep)?;
            }
        }
        self.restore(chunk, &mut rep)?;
        self.store.mark_applied(len - 1)?;
        Ok(rep)
    }

    /// Applies a chunk; when the store refuses one of its entries, applies them one by one
    /// and voids the refused ones.
    fn restore(
        &mut self,
        chunk: Vec<(Recorded, String)>,
        rep: &mut Reconciled,
    ) -> Result<(), LedgerError> {
        if chunk.is_empty() {
            return Ok(());
        }
        let batch: Vec<Recorded> = chunk.iter().map(|(r, _)| r.clone()).collect();
        match self.store.apply(&batch) {
            Ok(_) => {
                for (r, s) in chunk {
                    note(rep, r.audit_index, s);
                }
                Ok(())
            }
            Err(e) if is_conflict(&e) => {
                for (r, s) in chunk {
                    match self.store.apply(std::slice::from_ref(&r)) {
                        Ok(_) => note(rep, r.audit_index, s),
                        Err(e) if is_conflict(&e) => {
                            self.void(&[r.audit_index], &e)?;
                            rep.voided.push((r.audit_index, e.to_string()));
                        }
                        Err(source) => {
                            return Err(LedgerError::Reconcile {
                                index: r.audit_index,
                                source,
                            });
                        }
                    }
                }
                Ok(())
            }
            Err(source) => Err(LedgerError::Reconcile {
                index: batch[0].audit_index,
                source,
            }),
        }
    }

    /// Checks the whole log against the store: every recorded change's effect must be there.
    /// Slower than the reconciliation on open (which trusts the applied mark); for audits.
    pub fn check_store(&self) -> Result<StoreCheck, LedgerError> {
        check_store(&self.audit.reader(), self.store.as_ref())
    }
}

/// [`Ledger::check_store`] without the writer: a read-only audit of a log and a store (works
/// while a server holds the log).
pub fn check_store(audit: &AuditReader, store: &dyn StoreRead) -> Result<StoreCheck, LedgerError> {
    let mut out = StoreCheck::default();
    let taught: HashSet<(AlertKey, u64)> = store
        .examples(0, 0)?
        .into_iter()
        .map(|e| (e.example.key, e.audit_index))
        .collect();
    let mut voided = BTreeSet::new();
    let len = audit.len();
    for i in 0..len {
        voided.extend(voids_of(&audit.entry(i)?));
    }
    for i in 0..len {
        let e = audit.entry(i)?;
        let Some(rec) = record_of(&e) else { continue };
        if voided.contains(&i) {
            continue;
        }
        out.checked += 1;
        let mutations = rec.map_err(|message| LedgerError::BadRecord { index: i, message })?;
        for m in mutations {
            if let Some(missing) = missing(store, &taught, i, &m)? {
                out.missing.push((i, missing));
            }
        }
    }
    Ok(out)
}

fn note(rep: &mut Reconciled, index: u64, summary: String) {
    rep.restored += 1;
    if rep.restored_listed.len() < LISTED {
        rep.restored_listed.push((index, summary));
    }
}

/// What of `m` (recorded at entry `index`) the store lacks. `taught`: the stored examples'
/// alerts and audit indices.
fn missing(
    s: &dyn StoreRead,
    taught: &HashSet<(AlertKey, u64)>,
    index: u64,
    m: &Mutation,
) -> Result<Option<String>, StoreError> {
    Ok(match m {
        Mutation::Teach(e) => (!taught.contains(&(e.key.clone(), index)))
            .then(|| format!("the teaching example on {}", e.key)),
        Mutation::InsertAlert(a) => s
            .alert_by_key(&a.key)?
            .is_none()
            .then(|| format!("alert {}", a.key)),
        Mutation::Transition { key, .. } => match s.alert_by_key(key)? {
            None => Some(format!("alert {key}")),
            Some(row) => (!s.decisions(row.id)?.iter().any(|d| d.audit_index == index))
                .then(|| format!("the decision on {key}")),
        },
        Mutation::CreateToken(t) => {
            (!s.tokens()?.iter().any(|x| x.sha256 == t.sha256)).then(|| format!("token {}", t.name))
        }
        Mutation::RegisterModel(m) => s.model(&m.id)?.is_none().then(|| format!("model {}", m.id)),
        Mutation::RecordGate(g) => (!s
            .gates(&g.candidate)?
            .iter()
            .any(|x| x.audit_index == index))
        .then(|| format!("the gate report of {}", g.candidate)),
        Mutation::PutState { .. }
        | Mutation::ReleaseExample { .. }
        | Mutation::RevokeToken { .. }
        | Mutation::SetModelState { .. }
        | Mutation::RequestPromotion { .. }
        | Mutation::SecondOpinion { .. } => None,
    })
}
