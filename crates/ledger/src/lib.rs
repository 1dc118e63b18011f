//! The ledger: the one place where a decision or a change becomes a record.
//!
//! Every write in Arbiter — the policy's decision on a new alert, an analyst's approval,
//! rejection or override, a policy or model change, a token minted or revoked, a refused
//! request — goes through [`Ledger`], which does two things in one step with one failure story:
//!
//! 1. append an audit entry (fsynced) whose body carries the exact store mutations it stands
//!    for (`body.record`), then
//! 2. apply those mutations to the store as one transaction, which also moves the store's
//!    *applied mark* to that entry.
//!
//! If the process dies between the two, the entry is on the record and the store lacks it;
//! [`Ledger::open`] finds every entry past the applied mark and applies its mutations from the
//! log, and says which it restored ([`Reconciled`]). If the store refuses a change after its
//! entry is written (it changed meanwhile), a second entry voids the first, so the log never
//! claims an effect that did not happen. Nothing else writes the audit log or the store.
//!
//! ```no_run
//! use std::sync::Arc;
//! use arbiter_core::SystemClock;
//! use arbiter_ledger::Ledger;
//! use arbiter_store::MemoryStore;
//! let opened = Ledger::open(Arc::new(MemoryStore::new()), "audit".as_ref(), Arc::new(SystemClock)).unwrap();
//! println!("{}", opened.reconciled);
//! ```

mod admin;
mod alerts;
mod error;
pub mod human;
mod models;
mod reconcile;
pub mod teach;

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use arbiter_audit::{AuditLog, Checkpoint, Entry, EntryKind, Recovery};
use arbiter_core::Clock;
use arbiter_store::{Applied, Mutation, Recorded, Store, StoreError};
use chrono::{DateTime, Utc};

pub use admin::{Denial, HumanOutcome, POLICY_STATE};
pub use alerts::{AlertRecord, RecordedAlert};
pub use error::LedgerError;
pub use human::{DecisionRequest, Plan, Refusal, Rules};
pub use models::{CanaryRollback, Promotion, Rollback, completes_promotion, rollback_target};
pub use reconcile::{Reconciled, StoreCheck, check_store, record_of};
pub use teach::{Imported, ImportedLabel, lesson};

/// Where a test may make the ledger crash (abort the process) to prove recovery.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashPoint {
    /// Before anything is written.
    BeforeAudit,
    /// After the audit entries are durable, before the store write.
    AfterAudit,
    /// After both.
    AfterStore,
}

/// One audit entry and the store changes it stands for.
#[derive(Debug, Clone)]
pub struct Change {
    pub entry: Entry,
    pub mutations: Vec<Mutation>,
}

/// What [`Ledger::open`] returns.
pub struct Opened {
    pub ledger: Ledger,
    /// What the audit log repaired on open (a torn tail after a crash).
    pub recovery: Recovery,
    /// What the store lacked and got back from the log.
    pub reconciled: Reconciled,
}

/// The audit log and the store's write side, with the clock that stamps every record.
pub struct Ledger {
    audit: AuditLog,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    /// Set when a store write failed after its entry was appended.
    poisoned: Option<String>,
    crash: Option<CrashPoint>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("audit", &self.audit)
            .field("poisoned", &self.poisoned)
            .finish_non_exhaustive()
    }
}

impl Ledger {
    /// Opens the audit log in `audit_dir` (recovering a torn tail) and reconciles `store`
    /// with it: every audited change the store lacks is applied from the log.
    pub fn open(
        store: Arc<dyn Store>,
        audit_dir: &Path,
        clock: Arc<dyn Clock>,
    ) -> Result<Opened, LedgerError> {
        let (audit, recovery) = AuditLog::open(audit_dir)?;
        let mut ledger = Ledger {
            audit,
            store,
            clock,
            poisoned: None,
            crash: None,
        };
        let reconciled = ledger.reconcile()?;
        Ok(Opened {
            ledger,
            recovery,
            reconciled,
        })
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The audit log, for reading (appends go through the ledger's own methods).
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    #[doc(hidden)]
    pub fn crash_at(&mut self, point: Option<CrashPoint>) {
        self.crash = point;
    }

    fn reached(&self, point: CrashPoint) {
        if self.crash == Some(point) {
            std::process::abort();
        }
    }

    /// Appends `changes` as one audit batch (each entry's body gains `record`: its
    /// mutations), then applies every mutation in one store transaction. Returns the entries'
    /// index range and what each change's mutations did.
    pub fn record(
        &mut self,
        changes: Vec<Change>,
    ) -> Result<(Range<u64>, Vec<Vec<Applied>>), LedgerError> {
        if let Some(why) = &self.poisoned {
            return Err(LedgerError::Poisoned(why.clone()));
        }
        self.reached(CrashPoint::BeforeAudit);
        let mut entries = Vec::with_capacity(changes.len());
        for c in &changes {
            entries.push(with_record(&c.entry, &c.mutations)?);
        }
        let range = self.audit.append_batch(&entries)?;
        self.reached(CrashPoint::AfterAudit);
        let batch: Vec<Recorded> = range
            .clone()
            .zip(&changes)
            .filter(|(_, c)| !c.mutations.is_empty())
            .map(|(i, c)| Recorded {
                audit_index: i,
                mutations: c.mutations.clone(),
            })
            .collect();
        let applied = if batch.is_empty() {
            Vec::new()
        } else {
            match self.store.apply(&batch) {
                Ok(a) => a,
                Err(e) if is_conflict(&e) => {
                    let voided: Vec<u64> = batch.iter().map(|r| r.audit_index).collect();
                    self.void(&voided, &e)?;
                    return Err(e.into());
                }
                Err(e) => {
                    let (first, last) = (range.start, range.end - 1);
                    self.poisoned = Some(format!(
                        "audit entries {first}..={last} are not in the store: {e}"
                    ));
                    return Err(LedgerError::NotStored {
                        first,
                        last,
                        source: e,
                    });
                }
            }
        };
        self.reached(CrashPoint::AfterStore);
        let mut it = applied.into_iter();
        let per_change = changes
            .iter()
            .map(|c| it.by_ref().take(c.mutations.len()).collect())
            .collect();
        Ok((range, per_change))
    }

    /// Records that the entries `voided` did not take effect (the store refused them as
    /// `why`), and marks them applied so that no reopen tries them again.
    fn void(&mut self, voided: &[u64], why: &StoreError) -> Result<(), LedgerError> {
        let entry = Entry {
            time: self.clock.now(),
            kind: EntryKind::Denied,
            actor: "arbiter/ledger".into(),
            entities: vec!["audit-log".into()],
            summary: format!(
                "audit entries {voided:?} did not take effect: the store refused them ({why})"
            ),
            body: serde_json::json!({"voids": voided, "why": why.to_string()}),
        };
        let at = self.audit.append(&entry)?;
        self.store.mark_applied(at)?;
        Ok(())
    }

    /// Signs a checkpoint (at the clock's time) when entries exist that no checkpoint covers;
    /// returns it.
    pub fn checkpoint_if_behind(&mut self) -> Result<Option<Checkpoint>, LedgerError> {
        Ok(self.audit.checkpoint_if_behind(self.clock.now())?)
    }

    /// Signs a checkpoint of the whole log now (at the clock's time).
    pub fn checkpoint(&mut self) -> Result<Checkpoint, LedgerError> {
        Ok(self.audit.checkpoint_at(self.clock.now())?)
    }
}

/// Errors the store raises because of what it holds, not because it failed: the change was
/// decided on a state that no longer holds.
fn is_conflict(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::StaleState { .. }
            | StoreError::InvalidTransition { .. }
            | StoreError::NoSuchKey(_)
            | StoreError::Duplicate { .. }
            | StoreError::NoSuchToken(_)
            | StoreError::NoSuchModel(_)
            | StoreError::StaleModel { .. }
    )
}

/// `entry` with its mutations under `body.record`.
fn with_record(entry: &Entry, mutations: &[Mutation]) -> Result<Entry, LedgerError> {
    let mut e = entry.clone();
    if mutations.is_empty() {
        return Ok(e);
    }
    let record = serde_json::to_value(mutations).map_err(|source| LedgerError::Json {
        what: "the record of an audit entry",
        source,
    })?;
    match &mut e.body {
        serde_json::Value::Object(map) => {
            map.insert("record".into(), record);
        }
        serde_json::Value::Null => e.body = serde_json::json!({ "record": record }),
        other => {
            e.body = serde_json::json!({ "detail": other.take(), "record": record });
        }
    }
    Ok(e)
}

/// Cuts an entity or a name to `max` characters, so no input can make an entry large.
pub fn capped(s: &str, max: usize) -> String {
    if s.chars().count() > max {
        format!("{}…", s.chars().take(max).collect::<String>())
    } else {
        s.to_string()
    }
}
