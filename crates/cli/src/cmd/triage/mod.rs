//! `arbiter triage`: ingest → score → explain → decide → audit → store, batch by batch.
//!
//! Order matters: a batch's decisions are appended to the audit log and fsynced before the
//! store records them, so nothing takes effect without its audit entry. Rerunning the same
//! input is idempotent: alerts already stored (same source file name, line and alert id) are
//! skipped before any work is done on them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;
use arbiter_audit::{AuditLog, Entry, EntryKind};
use arbiter_core::EvidencePackage;
use arbiter_explain::Explaining;
use arbiter_ingest::{Record, Source, Value};
use arbiter_model::Model;
use arbiter_policy::{
    CircuitBreaker, Decision, DecisionInput, FloodControl, ModelStatus, Outcome, Policy,
    RateLimiter, Tier, apply_rate_limit, decide,
};
use arbiter_store::{CaseUpdate, SqliteStore, Store};
use sha2::{Digest, Sha256};

mod rows;

use rows::{audit_entry, new_alert, print_summary, state_of};

use super::{OnErrorArg, report_ingest};
use crate::progress;

#[derive(clap::Args)]
pub struct Args {
    /// Model bundle directory
    #[arg(long)]
    pub model: PathBuf,
    /// Policy file (YAML)
    #[arg(long)]
    pub policy: PathBuf,
    /// Alerts to triage (read with the bundle's schema)
    #[arg(long)]
    pub data: PathBuf,
    /// SQLite database (created if absent)
    #[arg(long, env = "ARBITER_DB", default_value = "out/arbiter.db")]
    pub db: PathBuf,
    /// Audit log directory (default: `audit/` beside the database)
    #[arg(long, env = "ARBITER_AUDIT")]
    pub audit: Option<PathBuf>,
    /// Scoring deadline per batch, in milliseconds: a batch not scored and explained in time is
    /// decided without the model (tier `analyst`, reason `model_timeout`)
    #[arg(long, default_value_t = 30_000)]
    pub deadline_ms: u64,
    /// Field holding the asset's role or criticality key (matched against the policy's
    /// `assets`); default `asset_role` when the schema has it
    #[arg(long)]
    pub asset_field: Option<String>,
    #[arg(long, default_value_t = 1024)]
    pub batch: usize,
    #[arg(long, value_enum, default_value_t)]
    pub on_error: OnErrorArg,
}

/// What a run did, printed at the end.
#[derive(Default)]
pub(super) struct Summary {
    pub(super) read: usize,
    pub(super) already_stored: usize,
    pub(super) stored: usize,
    pub(super) by_tier: BTreeMap<String, usize>,
    pub(super) by_reason: BTreeMap<String, usize>,
    pub(super) auto_closed: usize,
    pub(super) auto_acted: usize,
    pub(super) rate_limited: usize,
    pub(super) collapsed: usize,
    pub(super) new_patterns: usize,
    pub(super) timeouts: usize,
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

pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Scores and explains a batch on a worker thread, waiting at most `deadline`.
fn explain_within(
    explaining: &Explaining<'_>,
    chunk: &[Record],
    file: &str,
    deadline: Duration,
) -> (Result<Vec<EvidencePackage>, String>, Duration, bool) {
    let started = Instant::now();
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel();
        scope.spawn(move || {
            let _ = tx.send(explaining.explain(chunk, file).map_err(|e| e.to_string()));
        });
        match rx.recv_timeout(deadline) {
            Ok(r) => (r, started.elapsed(), false),
            // The worker cannot be cancelled; its late result is discarded when the scope
            // joins, and the batch is decided without the model.
            Err(_) => (Err("deadline passed".into()), started.elapsed(), true),
        }
    })
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let policy = Policy::load(&args.policy)?;
    let policy_text = std::fs::read(&args.policy)
        .with_context(|| format!("cannot read {}", args.policy.display()))?;
    let model = Model::load(&args.model)?;
    let explaining = Explaining::new(&model, None)?;
    if let Some(dir) = args.db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut store = SqliteStore::open(&args.db)?;
    let audit_dir = args
        .audit
        .clone()
        .unwrap_or_else(|| args.db.with_file_name("audit"));
    let (mut audit, recovery) = AuditLog::open(&audit_dir)?;
    if recovery.dropped_bytes > 0 {
        eprintln!("audit log: {recovery}");
    }

    // Policy and model changes are audited before the first decision that uses them.
    let policy_hash = sha256_hex(&policy_text);
    let mut changes = Vec::new();
    if store.get_state("policy_sha256")?.as_deref() != Some(policy_hash.as_str()) {
        changes.push(Entry {
            time: chrono::Utc::now(),
            kind: EntryKind::PolicyChange,
            actor: "cli/triage".into(),
            entities: vec![format!("policy:{policy_hash}")],
            summary: format!("policy {} now in force", args.policy.display()),
            body: serde_json::json!({"sha256": policy_hash, "file": args.policy.display().to_string(),
                                     "text": String::from_utf8_lossy(&policy_text)}),
        });
    }
    if store.get_state("model_bundle")?.as_deref() != Some(model.id.as_str()) {
        changes.push(Entry {
            time: chrono::Utc::now(),
            kind: EntryKind::ModelChange,
            actor: "cli/triage".into(),
            entities: vec![model.id.clone()],
            summary: format!("model bundle {} now in force", model.id),
            body: serde_json::json!({"bundle": model.id, "schema": model.schema.id()}),
        });
    }
    if !changes.is_empty() {
        audit.append_batch(&changes)?;
        store.put_state("policy_sha256", &policy_hash)?;
        store.put_state("model_bundle", &model.id)?;
    }

    let alpha = policy.auto_close_alpha();
    let threshold = model
        .spec
        .risk
        .table
        .iter()
        .find(|r| (r.alpha - alpha).abs() < 1e-12)
        .and_then(|r| r.threshold);
    let mut limiter = match store.get_state("rate_limiter")? {
        Some(json) => RateLimiter::from_json(&policy, &json)?,
        None => RateLimiter::new(&policy),
    };
    let mut flood = match store.get_state("flood_control")? {
        Some(json) => FloodControl::from_json(&policy, &json)?,
        None => FloodControl::new(&policy),
    };
    let mut breaker = CircuitBreaker::new(&policy);

    let asset_field = args.asset_field.clone().or_else(|| {
        model
            .schema
            .field("asset_role")
            .map(|_| "asset_role".to_string())
    });
    let asset_index = asset_field
        .as_ref()
        .and_then(|name| model.encoder.spec.names.iter().position(|n| n == name));
    let file_name = super::file_name(&args.data);
    let file = args.data.display().to_string();
    let mut source = Source::open(&model.schema, &args.data, args.on_error.into())?;
    let pb = progress::bytes(source.file_len, &format!("triaging {file}"));
    let mut sum = Summary::default();
    let started = Instant::now();
    loop {
        let chunk = source.next_chunk(args.batch.max(1))?;
        if chunk.is_empty() {
            break;
        }
        sum.read += chunk.len();
        let key = |r: &Record| {
            format!(
                "{file_name}:{}:{}",
                r.line,
                arbiter_explain::package::alert_id(r, &file)
            )
        };
        let keys: Vec<String> = chunk.iter().map(key).collect();
        let stored = store.existing_keys(&keys)?;
        let fresh: Vec<Record> = chunk
            .into_iter()
            .zip(&keys)
            .filter(|(_, k)| !stored.contains(k))
            .map(|(r, _)| r)
            .collect();
        sum.already_stored += keys.len() - fresh.len();
        if fresh.is_empty() {
            pb.set_position(source.progress.bytes_read());
            continue;
        }
        let conservative = breaker.is_open(now_ms());
        let (result, took, timed_out) = explain_within(
            &explaining,
            &fresh,
            &file,
            Duration::from_millis(args.deadline_ms),
        );
        let per_row = took.as_secs_f64() * 1000.0 / fresh.len() as f64;
        let (packages, status) = match result {
            Ok(p) => {
                breaker.record(
                    Outcome::Ok {
                        latency_ms: per_row,
                    },
                    now_ms(),
                );
                (p.into_iter().map(Some).collect::<Vec<_>>(), ModelStatus::Ok)
            }
            Err(_) if timed_out => {
                breaker.record(Outcome::Timeout, now_ms());
                sum.timeouts += fresh.len();
                (vec![None; fresh.len()], ModelStatus::Timeout)
            }
            Err(e) => {
                breaker.record(Outcome::Error, now_ms());
                (vec![None; fresh.len()], ModelStatus::Error(e))
            }
        };

        let now = chrono::Utc::now();
        let mut decided: Vec<(Decision, Option<&EvidencePackage>, CaseUpdate)> = Vec::new();
        for (r, p) in fresh.iter().zip(&packages) {
            let asset = asset_index.and_then(|j| match &r.features[j] {
                Value::Cat(s) => Some(s.as_str()),
                _ => None,
            });
            let mut d = decide(
                &policy,
                &DecisionInput {
                    package: p.as_ref(),
                    model: status.clone(),
                    asset,
                    auto_close_threshold: threshold,
                    conservative,
                },
            );
            if d.tier == Tier::Auto && !apply_rate_limit(&mut d, &mut limiter, now_ms()) {
                sum.rate_limited += 1;
            }
            let case = match p {
                Some(p) => {
                    // Windows follow event time when the data has it (replaying last week's
                    // alerts must not collapse a week into five minutes), else arrival.
                    let at = r.time_ms.unwrap_or_else(now_ms);
                    let f = flood.observe_with(p, Some(&fingerprint(r)), at);
                    if !f.first_in_window {
                        sum.collapsed += 1;
                    }
                    if f.new_pattern {
                        sum.new_patterns += 1;
                    }
                    CaseUpdate {
                        key: f.case_key,
                        opens: f.first_in_window,
                        new_pattern: f.new_pattern,
                    }
                }
                None => CaseUpdate {
                    key: format!("unscored:{}", key(r)),
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
            .map(|(r, (d, p, _))| audit_entry(r, d, *p, &file, &model.id, now))
            .collect();
        let range = audit.append_batch(&entries)?;

        let mut rows = Vec::with_capacity(fresh.len());
        for ((r, (d, p, case)), index) in fresh.iter().zip(decided).zip(range) {
            let state = state_of(&d, &policy);
            *sum.by_tier.entry(d.tier.to_string()).or_default() += 1;
            for reason in &d.reasons {
                *sum.by_reason.entry(reason.code.clone()).or_default() += 1;
            }
            match state {
                "auto_closed" => sum.auto_closed += 1,
                "auto_acted" => sum.auto_acted += 1,
                _ => {}
            }
            rows.push(new_alert(
                r, &d, p, case, state, &file, &file_name, &model.id, index, now,
            )?);
        }
        sum.stored += store.insert_alerts(&rows)?;
        store.put_state("rate_limiter", &limiter.to_json())?;
        store.put_state("flood_control", &flood.to_json())?;
        pb.set_position(source.progress.bytes_read());
    }
    pb.finish_and_clear();
    report_ingest(&source.report);
    let checkpoint = audit.checkpoint()?;
    print_summary(
        &sum,
        started.elapsed(),
        &args,
        &audit_dir,
        audit.len(),
        &checkpoint,
    );
    Ok(())
}
