//! One alert's journey as a library: score and explain within a deadline, decide by policy
//! (rate limits, circuit breaker, flood control), and hand the decisions to the ledger, which
//! appends them to the audit log before it stores them. `arbiter triage` drives it over a
//! file; `arbiter serve` over HTTP batches, scoring outside its writer and deciding inside.
//!
//! The steps, each usable alone:
//! 1. [`KeyMaker`] gives each incoming row its [`arbiter_core::AlertKey`];
//! 2. [`prepare`] drops keys already stored (and repeats), so nothing is scored twice;
//! 3. [`Scorer::score`] scores and explains the rest (thread-safe, no lock needed);
//! 4. [`record`] decides them in order with the [`Guards`] and records them through the
//!    [`arbiter_ledger::Ledger`].
//!
//! [`Engine`] chains them for a caller that owns the ledger.

mod error;
mod guards;
mod keys;
mod rows;
mod score;
mod start;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use arbiter_core::{AlertKey, AlertState, Flag, Tier};
use arbiter_explain::CaseStore;
use arbiter_ingest::Record;
use arbiter_ledger::Ledger;
use arbiter_model::Model;
use arbiter_store::StoreRead;
use serde::Serialize;
use sha2::{Digest, Sha256};

pub use error::TriageError;
pub use guards::{Guards, RATE_LIMITER_STATE, state_of};
pub use keys::KeyMaker;
pub use rows::risk;
pub use score::{Scored, Scorer};
pub use start::{InForce, put_in_force};

/// What a run did: counts per tier and reason, automation, flood control.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Summary {
    pub read: usize,
    pub already_stored: usize,
    pub stored: usize,
    pub by_tier: std::collections::BTreeMap<String, usize>,
    pub by_reason: std::collections::BTreeMap<String, usize>,
    pub auto_closed: usize,
    pub auto_acted: usize,
    pub rate_limited: usize,
    pub collapsed: usize,
    pub new_patterns: usize,
    pub timeouts: usize,
}

/// One alert to triage: the record and its identity.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub record: Record,
    pub key: AlertKey,
}

/// What happened to one incoming alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Triaged {
    /// Store id: `GET /api/v1/alerts/{id}`.
    pub id: i64,
    pub key: AlertKey,
    pub line: u64,
    /// `false` when the key was already stored (nothing was done).
    pub new: bool,
    pub tier: Option<Tier>,
    pub action: Option<String>,
    pub state: Option<AlertState>,
    pub reasons: Vec<String>,
    pub p_malicious: Option<f64>,
    pub flags: Vec<Flag>,
    pub audit_index: Option<u64>,
}

/// A batch split into the alerts to score and the ones already stored.
#[derive(Debug)]
pub struct Prepared {
    /// All incoming keys and lines, in order.
    order: Vec<(AlertKey, u64)>,
    /// First occurrences of keys not stored yet.
    pub fresh: Vec<Incoming>,
}

impl Prepared {
    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The fresh alerts' records, for scoring.
    pub fn records(&self) -> Vec<Record> {
        self.fresh.iter().map(|i| i.record.clone()).collect()
    }
}

/// Drops alerts whose key is already stored, and repeats within the batch.
pub fn prepare(batch: Vec<Incoming>, store: &dyn StoreRead) -> Result<Prepared, TriageError> {
    let keys: Vec<AlertKey> = batch.iter().map(|i| i.key.clone()).collect();
    let mut seen: HashSet<AlertKey> = store.existing_keys(&keys)?.into_iter().collect();
    let order = batch
        .iter()
        .map(|i| (i.key.clone(), i.record.line))
        .collect();
    let fresh = batch
        .into_iter()
        .filter(|i| seen.insert(i.key.clone()))
        .collect();
    Ok(Prepared { order, fresh })
}

/// Decides the fresh alerts of `prepared` (scored as `scored`) and records them through the
/// ledger; returns one outcome per incoming alert, in order.
pub fn record(
    prepared: Prepared,
    scored: Scored,
    scorer: &Scorer,
    guards: &mut Guards,
    ledger: &mut Ledger,
    file: &str,
    sum: &mut Summary,
) -> Result<Vec<Triaged>, TriageError> {
    sum.read += prepared.order.len();
    // Another writer may have stored some of them since they were prepared.
    let keys: Vec<AlertKey> = prepared.fresh.iter().map(|i| i.key.clone()).collect();
    let stored_now: HashSet<AlertKey> = ledger.store().existing_keys(&keys)?.into_iter().collect();
    let (fresh, packages): (Vec<Incoming>, Vec<_>) = prepared
        .fresh
        .into_iter()
        .zip(scored.packages)
        .filter(|(i, _)| !stored_now.contains(&i.key))
        .unzip();
    let scored = Scored { packages, ..scored };
    let clock = ledger.clock().clone();
    let decided = guards.decide(&fresh, scored, scorer, file, clock.as_ref(), sum);
    let (records, outcomes): (Vec<_>, Vec<_>) = decided.into_iter().unzip();
    let recorded = ledger.record_alerts(records, guards.state())?;
    let mut done: HashMap<AlertKey, Triaged> = HashMap::new();
    for ((inc, d), r) in fresh.iter().zip(outcomes).zip(recorded) {
        if r.new {
            sum.stored += 1;
            *sum.by_tier.entry(d.tier.to_string()).or_default() += 1;
            for code in &d.reasons {
                *sum.by_reason.entry(code.clone()).or_default() += 1;
            }
            match d.state {
                AlertState::AutoClosed => sum.auto_closed += 1,
                AlertState::AutoActed => sum.auto_acted += 1,
                _ => {}
            }
        }
        done.insert(
            inc.key.clone(),
            Triaged {
                id: r.id,
                key: inc.key.clone(),
                line: inc.record.line,
                new: r.new,
                tier: r.new.then_some(d.tier),
                action: if r.new { d.action } else { None },
                state: r.new.then_some(d.state),
                reasons: if r.new { d.reasons } else { Vec::new() },
                p_malicious: if r.new { d.p_malicious } else { None },
                flags: if r.new { d.flags } else { Vec::new() },
                audit_index: r.audit_index,
            },
        );
    }
    let mut out = Vec::with_capacity(prepared.order.len());
    for (key, line) in prepared.order {
        match done.remove(&key) {
            Some(t) => out.push(t),
            None => {
                sum.already_stored += 1;
                let id = ledger
                    .store()
                    .alert_by_key(&key)?
                    .map(|a| a.id)
                    .ok_or_else(|| arbiter_store::StoreError::NoSuchKey(key.clone()))?;
                out.push(Triaged {
                    id,
                    key,
                    line,
                    new: false,
                    tier: None,
                    action: None,
                    state: None,
                    reasons: Vec::new(),
                    p_malicious: None,
                    flags: Vec::new(),
                    audit_index: None,
                });
            }
        }
    }
    Ok(out)
}

/// Scorer, guardrails and deadline together, for a caller that owns the ledger (the CLI, the
/// simulator).
pub struct Engine {
    pub scorer: Arc<Scorer>,
    pub guards: Guards,
    /// Scoring deadline per batch: a batch not scored and explained in time is decided
    /// without the model (tier `analyst`, reason `model_timeout`).
    pub deadline: Duration,
}

impl Engine {
    pub fn new(
        scorer: Arc<Scorer>,
        policy: Arc<arbiter_policy::Policy>,
        ledger: &Ledger,
        deadline: Duration,
    ) -> Result<Engine, TriageError> {
        let guards = Guards::restore(
            policy,
            scorer.model(),
            ledger.store().as_ref(),
            ledger.clock().as_ref(),
        )?;
        Ok(Engine {
            scorer,
            guards,
            deadline,
        })
    }

    /// Triages a batch read from `file` (as the packages' provenance names it).
    pub fn triage(
        &mut self,
        batch: Vec<Incoming>,
        file: &str,
        ledger: &mut Ledger,
        sum: &mut Summary,
    ) -> Result<Vec<Triaged>, TriageError> {
        let prepared = prepare(batch, ledger.store().as_ref())?;
        let scored = self.scorer.score(
            &prepared.records(),
            file,
            self.deadline,
            ledger.clock().as_ref(),
        );
        record(
            prepared,
            scored,
            &self.scorer,
            &mut self.guards,
            ledger,
            file,
            sum,
        )
    }
}

/// Resolved past alerts (a labelled file read with the model's schema) for similar cases.
pub fn load_cases(model: &Model, path: &std::path::Path) -> Result<CaseStore, TriageError> {
    let data = arbiter_ingest::load(
        &model.schema,
        path,
        arbiter_ingest::OnError::Skip,
        &mut |_, _| {},
    )
    .map_err(arbiter_explain::ExplainError::from)?;
    let name = path.file_name().map_or(path.display().to_string(), |n| {
        n.to_string_lossy().into_owned()
    });
    Ok(CaseStore::new(
        model,
        &name,
        &path.display().to_string(),
        &data.records,
    ))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
