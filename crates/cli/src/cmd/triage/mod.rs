//! `arbiter triage`: ingest → score → explain → decide → audit → store, batch by batch (the
//! pipeline itself is `arbiter-triage`; this reads the file and prints the summary).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use arbiter_core::{Actor, SystemClock};
use arbiter_ingest::Source;
use arbiter_ledger::Ledger;
use arbiter_model::Model;
use arbiter_policy::Policy;
use arbiter_store::SqliteStore;
use arbiter_triage::{Engine, Incoming, KeyMaker, Scorer, Summary};

mod summary;

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
    /// Resolved past alerts (labelled, same schema) for the packages' similar cases
    #[arg(long)]
    pub cases: Option<PathBuf>,
    /// The source that raised these alerts, the first half of each alert's identity
    /// (`source/id`); default: the schema's name
    #[arg(long)]
    pub source: Option<String>,
    #[arg(long, default_value_t = 1024)]
    pub batch: usize,
    #[arg(long, value_enum, default_value_t)]
    pub on_error: OnErrorArg,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let policy = Arc::new(Policy::load(&args.policy)?);
    let policy_text = std::fs::read_to_string(&args.policy)
        .with_context(|| format!("cannot read {}", args.policy.display()))?;
    let model = Arc::new(Model::load(&args.model)?);
    if let Some(dir) = args.db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let store = Arc::new(SqliteStore::open(&args.db)?);
    let audit_dir = args
        .audit
        .clone()
        .unwrap_or_else(|| args.db.with_file_name("audit"));
    let opened = Ledger::open(store, &audit_dir, Arc::new(SystemClock))
        .with_context(|| format!("cannot open the audit log {}", audit_dir.display()))?;
    if !opened.recovery.is_clean() {
        eprintln!("audit log: {}", opened.recovery);
    }
    if opened.reconciled.restored > 0 || !opened.reconciled.voided.is_empty() {
        eprintln!("store: {}", opened.reconciled);
    }
    let mut ledger = opened.ledger;
    let cases = args
        .cases
        .as_deref()
        .map(|p| arbiter_triage::load_cases(&model, p))
        .transpose()?;
    let scorer = Arc::new(Scorer::new(
        model.clone(),
        cases,
        args.asset_field.as_deref(),
    )?);
    // Alerts people resolved in this store are similar cases too.
    scorer.learn_cases(ledger.store().as_ref())?;
    // Policy and model are audited before the first decision that uses them.
    arbiter_triage::put_in_force(
        &mut ledger,
        &policy_text,
        &args.policy.display().to_string(),
        &model,
        &args.model,
        &Actor::system("cli/triage"),
    )?;
    let mut engine = Engine::new(
        scorer,
        policy,
        &ledger,
        Duration::from_millis(args.deadline_ms),
    )?;

    let file = args.data.display().to_string();
    let mut keys = KeyMaker::new(
        args.source.as_deref().unwrap_or(&model.schema.name),
        &model.schema,
    )
    .map_err(|e| anyhow::anyhow!("--source: {e}"))?;
    let mut source = Source::open(&model.schema, &args.data, args.on_error.into())?;
    let pb = progress::bytes(source.file_len, &format!("triaging {file}"));
    let mut sum = Summary::default();
    let started = Instant::now();
    let mut signed = Instant::now();
    loop {
        let chunk = source.next_chunk(args.batch.max(1))?;
        if chunk.is_empty() {
            break;
        }
        let mut batch = Vec::with_capacity(chunk.len());
        for record in chunk {
            batch.push(Incoming {
                key: keys.key(&record)?,
                record,
            });
        }
        engine.triage(batch, &file, &mut ledger, &mut sum)?;
        // Entries are covered by a signed checkpoint at least every second.
        if signed.elapsed() >= Duration::from_secs(1) {
            ledger.checkpoint_if_behind()?;
            signed = Instant::now();
        }
        pb.set_position(source.progress.bytes_read());
    }
    pb.finish_and_clear();
    report_ingest(&source.report);
    let checkpoint = ledger.checkpoint()?;
    summary::print(
        &sum,
        started.elapsed(),
        &args,
        &audit_dir,
        ledger.audit().len(),
        &checkpoint,
    );
    Ok(())
}
