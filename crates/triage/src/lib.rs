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

mod challenge;
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

pub use challenge::{CHALLENGER_GRACE, Challenger, score_pair, slot};
pub use error::TriageError;
pub use guards::{Guards, RATE_LIMITER_STATE, certified_threshold, state_of};
pub use keys::KeyMaker;
pub use rows::risk;
pub use score::{SCORING_NICENESS, Scored, Scorer, give_way, scoring_pool_gives_way};
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

    /// Splits a scored batch into parts of at most `n` fresh alerts, to be recorded in separate
    /// (shorter) turns of the writer; the alerts already stored go with the last part. Each
    /// part's outcomes come back in input order within the part; the parts together cover the
    /// batch.
    pub fn split(self, scored: Scored, n: usize) -> Vec<(Prepared, Scored)> {
        let n = n.max(1);
        let fresh_keys: HashSet<AlertKey> = self.fresh.iter().map(|i| i.key.clone()).collect();
        let mut first_seen = HashSet::new();
        let rest: Vec<(AlertKey, u64)> = self
            .order
            .into_iter()
            .filter(|(k, _)| !(fresh_keys.contains(k) && first_seen.insert(k.clone())))
            .collect();
        let mut parts = Vec::new();
        let mut fresh = self.fresh.into_iter().peekable();
        let mut packages = scored.packages.into_iter();
        while fresh.peek().is_some() {
            let part: Vec<Incoming> = fresh.by_ref().take(n).collect();
            let order = part
                .iter()
                .map(|i| (i.key.clone(), i.record.line))
                .collect();
            let p: Vec<_> = packages.by_ref().take(part.len()).collect();
            parts.push((
                Prepared { order, fresh: part },
                Scored {
                    packages: p,
                    status: scored.status.clone(),
                    ms_per_row: scored.ms_per_row,
                    bundle: scored.bundle.clone(),
                },
            ));
        }
        let empty = || Scored {
            packages: Vec::new(),
            status: scored.status.clone(),
            ms_per_row: scored.ms_per_row,
            bundle: scored.bundle.clone(),
        };
        match parts.last_mut() {
            Some((last, _)) => last.order.extend(rest),
            None => parts.push((
                Prepared {
                    order: rest,
                    fresh: Vec::new(),
                },
                empty(),
            )),
        }
        parts
    }
}

impl Prepared {
    /// [`Prepared::split`] of the champion's scores and, part for part, the challenger's.
    pub fn split_pair(
        self,
        scored: Scored,
        theirs: Option<Scored>,
        n: usize,
    ) -> Vec<(Prepared, Scored, Option<Scored>)> {
        let parts = self.split(scored, n);
        let Some(theirs) = theirs else {
            return parts.into_iter().map(|(p, s)| (p, s, None)).collect();
        };
        let mut packages = theirs.packages.into_iter();
        parts
            .into_iter()
            .map(|(p, s)| {
                let mine = packages.by_ref().take(p.fresh.len()).collect();
                let t = Scored {
                    packages: mine,
                    status: theirs.status.clone(),
                    ms_per_row: theirs.ms_per_row,
                    bundle: theirs.bundle.clone(),
                };
                (p, s, Some(t))
            })
            .collect()
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
    record_with(prepared, scored, None, scorer, guards, ledger, file, sum)
}

/// [`record`] with a challenger beside the champion: `challenge` is the shadow or canary and
/// its scores of the same records (from [`score_pair`]).
#[allow(clippy::too_many_arguments)]
pub fn record_with(
    prepared: Prepared,
    scored: Scored,
    challenge: Option<(&Challenger, Scored)>,
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
    let keep: Vec<bool> = prepared
        .fresh
        .iter()
        .map(|i| !stored_now.contains(&i.key))
        .collect();
    let kept = |packages: Vec<_>| -> Vec<_> {
        packages
            .into_iter()
            .zip(&keep)
            .filter_map(|(p, k)| k.then_some(p))
            .collect()
    };
    let fresh: Vec<Incoming> = prepared
        .fresh
        .into_iter()
        .zip(&keep)
        .filter_map(|(i, k)| k.then_some(i))
        .collect();
    let scored = Scored {
        packages: kept(scored.packages),
        ..scored
    };
    let clock = ledger.clock().clone();
    let decided = match challenge {
        None => {
            let threshold = guards.threshold();
            guards.decide(&fresh, scored, scorer, file, clock.as_ref(), sum, threshold)
        }
        Some((ch, theirs)) => {
            let theirs = Scored {
                packages: kept(theirs.packages),
                ..theirs
            };
            challenge::decide_challenged(
                guards,
                &fresh,
                scored,
                scorer,
                ch,
                theirs,
                file,
                clock.as_ref(),
                sum,
            )
        }
    };
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
    /// The shadow or canary beside the champion, if one runs.
    pub challenger: Option<Challenger>,
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
            challenger: None,
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
        let (scored, theirs) = score_pair(
            &self.scorer,
            self.challenger.as_ref(),
            &prepared.records(),
            file,
            self.deadline,
            ledger.clock(),
        );
        let challenge = self.challenger.as_ref().zip(theirs);
        record_with(
            prepared,
            scored,
            challenge,
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

#[cfg(test)]
mod tests {
    use arbiter_ingest::Value;
    use arbiter_policy::ModelStatus;
    use arbiter_store::MemoryStore;

    use super::*;

    fn incoming(line: u64, id: &str) -> Incoming {
        Incoming {
            record: Record {
                line,
                features: vec![Value::Num(line as f64)],
                label: None,
                category: None,
                time_ms: None,
                ids: vec![],
            },
            key: AlertKey::new("t", id).unwrap(),
        }
    }

    #[test]
    fn a_scored_batch_splits_into_parts_that_cover_it_once_in_order() {
        let batch: Vec<Incoming> = (1..=10)
            .map(|l| incoming(l, &format!("a{}", if l == 7 { 2 } else { l })))
            .collect();
        let prepared = prepare(batch, &MemoryStore::new()).unwrap();
        assert_eq!(prepared.fresh.len(), 9, "line 7 repeats a2");
        let scored = Scored {
            packages: vec![None; 9],
            status: ModelStatus::Ok,
            ms_per_row: 0.0,
            bundle: "b".into(),
        };
        let parts = prepared.split(scored, 4);
        assert_eq!(parts.len(), 3);
        let fresh: Vec<u64> = parts
            .iter()
            .flat_map(|(p, _)| p.fresh.iter().map(|i| i.record.line))
            .collect();
        assert_eq!(fresh, vec![1, 2, 3, 4, 5, 6, 8, 9, 10]);
        for (p, s) in &parts {
            assert_eq!(p.fresh.len(), s.packages.len());
        }
        let lines: usize = parts.iter().map(|(p, _)| p.len()).sum();
        assert_eq!(lines, 10, "the repeat is answered with the last part");
        assert!(parts[2].0.order.iter().any(|(_, l)| *l == 7));
    }
}
