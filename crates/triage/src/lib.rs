//! One alert's journey as a library: score and explain within a deadline, decide by policy
//! (rate limits, circuit breaker, flood control), append the decisions to the audit log, then
//! store them. `arbiter triage` drives it over a file; `arbiter serve` over HTTP batches.
//!
//! Order matters: a batch's decisions are appended to the audit log and fsynced before the
//! store records them, so nothing takes effect without its audit entry. Alerts whose key is
//! already stored are skipped before any work is done on them, so resubmitting is idempotent.

mod error;
mod rows;

use std::collections::{BTreeMap, HashSet};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use arbiter_audit::{AuditLog, Entry, EntryKind};
use arbiter_core::EvidencePackage;
use arbiter_explain::{CaseStore, Explaining};
use arbiter_ingest::{Record, Value};
use arbiter_model::Model;
use arbiter_policy::{
    CircuitBreaker, Decision, DecisionInput, FloodControl, ModelStatus, Outcome, Policy,
    RateLimiter, Tier, apply_rate_limit, decide,
};
use arbiter_store::{CaseUpdate, Store};
use serde::Serialize;
use sha2::{Digest, Sha256};

pub use error::TriageError;
pub use rows::{risk, state_of};

/// What a run did: counts per tier and reason, automation, flood control.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Summary {
    pub read: usize,
    pub already_stored: usize,
    pub stored: usize,
    pub by_tier: BTreeMap<String, usize>,
    pub by_reason: BTreeMap<String, usize>,
    pub auto_closed: usize,
    pub auto_acted: usize,
    pub rate_limited: usize,
    pub collapsed: usize,
    pub new_patterns: usize,
    pub timeouts: usize,
}

/// One alert to triage: the record and the key that makes it unique in the store.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub record: Record,
    pub key: String,
}

/// What happened to one incoming alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Triaged {
    pub key: String,
    pub alert_id: String,
    pub line: u64,
    /// `false` when the key was already stored (nothing was done).
    pub new: bool,
    pub tier: Option<String>,
    pub action: Option<String>,
    pub state: Option<String>,
    pub reasons: Vec<String>,
    pub p_malicious: Option<f64>,
    pub flags: Vec<String>,
    pub audit_index: Option<u64>,
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

/// The idempotency key of a row read from a file: file name, line and alert id.
pub fn file_key(file_name: &str, r: &Record, file: &str) -> String {
    format!(
        "{file_name}:{}:{}",
        r.line,
        arbiter_explain::package::alert_id(r, file)
    )
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The row's values, hashed: what "identical" means for rows without host or user.
fn fingerprint(r: &Record) -> String {
    let mut h = Sha256::new();
    for v in &r.features {
        match v {
            Value::Num(x) => h.update(x.to_bits().to_be_bytes()),
            Value::Cat(s) => {
                h.update(b"c");
                h.update(s.as_bytes());
            }
            Value::Missing => h.update(b"m"),
        }
        h.update(b"\x1f");
    }
    hex::encode(&h.finalize()[..8])
}

/// A loaded model and policy with the guardrails' state: everything needed to decide.
pub struct Engine<'m> {
    pub model: &'m Model,
    explaining: Explaining<'m>,
    policy: Policy,
    threshold: Option<f64>,
    limiter: RateLimiter,
    flood: FloodControl,
    breaker: CircuitBreaker,
    asset_index: Option<usize>,
    /// Scoring deadline per batch: a batch not scored and explained in time is decided
    /// without the model (tier `analyst`, reason `model_timeout`).
    pub deadline: Duration,
}

impl<'m> Engine<'m> {
    /// Prepares `model` and `policy`, restoring rate-limit and flood-control state from the
    /// store so that budgets survive a restart. `asset_field` names the field holding the
    /// asset role (default `asset_role` when the schema has it); `cases` are resolved past
    /// alerts for the packages' similar cases.
    pub fn new(
        model: &'m Model,
        policy: Policy,
        store: &dyn Store,
        deadline: Duration,
        asset_field: Option<&str>,
        cases: Option<CaseStore>,
    ) -> Result<Engine<'m>, TriageError> {
        let explaining = Explaining::new(model, cases)?;
        let limiter = match store.get_state("rate_limiter")? {
            Some(json) => RateLimiter::from_json(&policy, &json)?,
            None => RateLimiter::new(&policy),
        };
        let flood = match store.get_state("flood_control")? {
            Some(json) => FloodControl::from_json(&policy, &json)?,
            None => FloodControl::new(&policy),
        };
        let breaker = CircuitBreaker::new(&policy);
        let asset_field = asset_field.map(str::to_string).or_else(|| {
            model
                .schema
                .field("asset_role")
                .map(|_| "asset_role".to_string())
        });
        let asset_index = asset_field
            .as_ref()
            .and_then(|name| model.encoder.spec.names.iter().position(|n| n == name));
        let mut engine = Engine {
            model,
            explaining,
            threshold: None,
            policy,
            limiter,
            flood,
            breaker,
            asset_index,
            deadline,
        };
        engine.threshold = engine.certified_threshold();
        Ok(engine)
    }

    fn certified_threshold(&self) -> Option<f64> {
        let alpha = self.policy.auto_close_alpha();
        self.model
            .spec
            .risk
            .table
            .iter()
            .find(|r| (r.alpha - alpha).abs() < 1e-12)
            .and_then(|r| r.threshold)
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Puts a new policy in force. Rate-limit budgets of actions that keep their limit carry
    /// over; the caller audits the change first.
    pub fn set_policy(&mut self, policy: Policy) {
        self.limiter = RateLimiter::from_json(&policy, &self.limiter.to_json())
            .unwrap_or_else(|_| RateLimiter::new(&policy));
        self.flood = FloodControl::from_json(&policy, &self.flood.to_json())
            .unwrap_or_else(|_| FloodControl::new(&policy));
        self.breaker = CircuitBreaker::new(&policy);
        self.policy = policy;
        self.threshold = self.certified_threshold();
    }

    /// Whether the circuit breaker has dropped to conservative mode.
    pub fn breaker_open(&self) -> bool {
        self.breaker.is_open(now_ms())
    }

    /// Audits the policy and model in force when they differ from the ones last recorded in
    /// the store: before the first decision that uses them.
    pub fn record_changes(
        &self,
        policy_text: &[u8],
        actor: &str,
        store: &mut dyn Store,
        audit: &mut AuditLog,
    ) -> Result<(), TriageError> {
        let policy_hash = sha256_hex(policy_text);
        let mut changes = Vec::new();
        if store.get_state("policy_sha256")?.as_deref() != Some(policy_hash.as_str()) {
            changes.push(Entry {
                time: chrono::Utc::now(),
                kind: EntryKind::PolicyChange,
                actor: actor.into(),
                entities: vec![format!("policy:{policy_hash}")],
                summary: format!("policy {} now in force", self.policy.file()),
                body: serde_json::json!({"sha256": policy_hash, "file": self.policy.file(),
                                         "text": String::from_utf8_lossy(policy_text)}),
            });
        }
        if store.get_state("model_bundle")?.as_deref() != Some(self.model.id.as_str()) {
            changes.push(Entry {
                time: chrono::Utc::now(),
                kind: EntryKind::ModelChange,
                actor: actor.into(),
                entities: vec![self.model.id.clone()],
                summary: format!("model bundle {} now in force", self.model.id),
                body: serde_json::json!({"bundle": self.model.id, "schema": self.model.schema.id()}),
            });
        }
        if !changes.is_empty() {
            audit.append_batch(&changes)?;
            store.put_state("policy_sha256", &policy_hash)?;
            store.put_state("model_bundle", &self.model.id)?;
        }
        Ok(())
    }

    /// Scores and explains a batch on a worker thread, waiting at most the deadline.
    fn explain_within(
        &self,
        chunk: &[Record],
        file: &str,
    ) -> (Result<Vec<EvidencePackage>, String>, Duration, bool) {
        let started = Instant::now();
        let explaining = &self.explaining;
        std::thread::scope(|scope| {
            let (tx, rx) = mpsc::channel();
            scope.spawn(move || {
                let _ = tx.send(explaining.explain(chunk, file).map_err(|e| e.to_string()));
            });
            match rx.recv_timeout(self.deadline) {
                Ok(r) => (r, started.elapsed(), false),
                // The worker cannot be cancelled; its late result is discarded when the scope
                // joins, and the batch is decided without the model.
                Err(_) => (Err("deadline passed".into()), started.elapsed(), true),
            }
        })
    }

    /// Triages a batch: skips keys already stored (and repeats within the batch), then
    /// scores, explains, decides, audits and stores the rest. `file` is the source as the
    /// packages' provenance names it. Returns one outcome per incoming alert, in order.
    pub fn triage(
        &mut self,
        batch: Vec<Incoming>,
        file: &str,
        store: &mut dyn Store,
        audit: &mut AuditLog,
        sum: &mut Summary,
    ) -> Result<Vec<Triaged>, TriageError> {
        sum.read += batch.len();
        let keys: Vec<String> = batch.iter().map(|i| i.key.clone()).collect();
        let mut seen: HashSet<String> = store.existing_keys(&keys)?.into_iter().collect();
        let mut out: Vec<Option<Triaged>> = vec![None; batch.len()];
        let mut fresh = Vec::new();
        let mut fresh_at = Vec::new();
        for (i, inc) in batch.into_iter().enumerate() {
            if seen.insert(inc.key.clone()) {
                fresh_at.push(i);
                fresh.push(inc);
            } else {
                out[i] = Some(Triaged {
                    alert_id: arbiter_explain::package::alert_id(&inc.record, file),
                    line: inc.record.line,
                    key: inc.key,
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
        sum.already_stored += out.iter().flatten().count();
        if !fresh.is_empty() {
            let done = self.triage_fresh(&fresh, file, store, audit, sum)?;
            for (i, t) in fresh_at.into_iter().zip(done) {
                out[i] = Some(t);
            }
        }
        Ok(out.into_iter().flatten().collect())
    }

    fn triage_fresh(
        &mut self,
        fresh: &[Incoming],
        file: &str,
        store: &mut dyn Store,
        audit: &mut AuditLog,
        sum: &mut Summary,
    ) -> Result<Vec<Triaged>, TriageError> {
        let records: Vec<Record> = fresh.iter().map(|i| i.record.clone()).collect();
        let conservative = self.breaker.is_open(now_ms());
        let (result, took, timed_out) = self.explain_within(&records, file);
        let per_row = took.as_secs_f64() * 1000.0 / records.len() as f64;
        let (packages, status) = match result {
            Ok(p) => {
                let latency_ms = per_row;
                self.breaker.record(Outcome::Ok { latency_ms }, now_ms());
                (p.into_iter().map(Some).collect::<Vec<_>>(), ModelStatus::Ok)
            }
            Err(_) if timed_out => {
                self.breaker.record(Outcome::Timeout, now_ms());
                sum.timeouts += records.len();
                (vec![None; records.len()], ModelStatus::Timeout)
            }
            Err(e) => {
                self.breaker.record(Outcome::Error, now_ms());
                (vec![None; records.len()], ModelStatus::Error(e))
            }
        };

        let now = chrono::Utc::now();
        let mut decided: Vec<(Decision, Option<&EvidencePackage>, CaseUpdate)> = Vec::new();
        for (inc, p) in fresh.iter().zip(&packages) {
            let r = &inc.record;
            let asset = self.asset_index.and_then(|j| match &r.features[j] {
                Value::Cat(s) => Some(s.as_str()),
                _ => None,
            });
            let mut d = decide(
                &self.policy,
                &DecisionInput {
                    package: p.as_ref(),
                    model: status.clone(),
                    asset,
                    auto_close_threshold: self.threshold,
                    conservative,
                },
            );
            if d.tier == Tier::Auto && !apply_rate_limit(&mut d, &mut self.limiter, now_ms()) {
                sum.rate_limited += 1;
            }
            let case = match p {
                Some(p) => {
                    // Windows follow event time when the data has it (replaying last week's
                    // alerts must not collapse a week into five minutes), else arrival.
                    let at = r.time_ms.unwrap_or_else(now_ms);
                    let f = self.flood.observe_with(p, Some(&fingerprint(r)), at);
                    sum.collapsed += usize::from(!f.first_in_window);
                    sum.new_patterns += usize::from(f.new_pattern);
                    CaseUpdate {
                        key: f.case_key,
                        opens: f.first_in_window,
                        new_pattern: f.new_pattern,
                    }
                }
                None => CaseUpdate {
                    key: format!("unscored:{}", inc.key),
                    opens: true,
                    new_pattern: false,
                },
            };
            decided.push((d, p.as_ref(), case));
        }

        // Audit first: every decision is on the record before it takes effect.
        let entries: Vec<Entry> = fresh
            .iter()
            .zip(&decided)
            .map(|(inc, (d, p, _))| {
                rows::audit_entry(&inc.record, d, *p, file, &self.model.id, now)
            })
            .collect();
        let range = audit.append_batch(&entries)?;

        let mut new_rows = Vec::with_capacity(fresh.len());
        let mut out = Vec::with_capacity(fresh.len());
        for ((inc, (d, p, case)), index) in fresh.iter().zip(decided).zip(range) {
            let state = state_of(&d, &self.policy);
            *sum.by_tier.entry(d.tier.to_string()).or_default() += 1;
            for reason in &d.reasons {
                *sum.by_reason.entry(reason.code.clone()).or_default() += 1;
            }
            match state {
                "auto_closed" => sum.auto_closed += 1,
                "auto_acted" => sum.auto_acted += 1,
                _ => {}
            }
            let row = rows::new_alert(
                &inc.record,
                &inc.key,
                &d,
                p,
                case,
                state,
                file,
                &self.model.id,
                index,
                now,
            )?;
            out.push(Triaged {
                key: inc.key.clone(),
                alert_id: row.alert_id.clone(),
                line: inc.record.line,
                new: true,
                tier: Some(d.tier.to_string()),
                action: d.action.clone(),
                state: Some(state.to_string()),
                reasons: d.reasons.iter().map(|r| r.code.clone()).collect(),
                p_malicious: row.p_malicious,
                flags: row.flags.clone(),
                audit_index: Some(index),
            });
            new_rows.push(row);
        }
        sum.stored += store.insert_alerts(&new_rows)?;
        store.put_state("rate_limiter", &self.limiter.to_json())?;
        store.put_state("flood_control", &self.flood.to_json())?;
        Ok(out)
    }
}
