//! `arbiter triage`: ingest → score → explain → decide → audit → store, batch by batch (the
//! pipeline itself is `arbiter-triage`; this reads the file and prints the summary).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use arbiter_audit::AuditLog;
use arbiter_ingest::Source;
use arbiter_model::Model;
use arbiter_policy::Policy;
use arbiter_store::SqliteStore;
use arbiter_triage::{Engine, Incoming, Summary, file_key};

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
    #[arg(long, default_value_t = 1024)]
    pub batch: usize,
    #[arg(long, value_enum, default_value_t)]
    pub on_error: OnErrorArg,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let policy = Policy::load(&args.policy)?;
    let policy_text = std::fs::read(&args.policy)
        .with_context(|| format!("cannot read {}", args.policy.display()))?;
    let model = Model::load(&args.model)?;
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
    let mut engine = Engine::new(
        &model,
        policy,
        &store,
        Duration::from_millis(args.deadline_ms),
        args.asset_field.as_deref(),
        args.cases
            .as_deref()
            .map(|p| arbiter_triage::load_cases(&model, p))
            .transpose()?,
    )?;
    // Policy and model changes are audited before the first decision that uses them.
    engine.record_changes(&policy_text, "cli/triage", &mut store, &mut audit)?;

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
        let batch = chunk
            .into_iter()
            .map(|record| Incoming {
                key: file_key(&file_name, &record, &file),
                record,
            })
            .collect();
        engine.triage(batch, &file, &mut store, &mut audit, &mut sum)?;
        pb.set_position(source.progress.bytes_read());
    }
    pb.finish_and_clear();
    report_ingest(&source.report);
    let checkpoint = audit.checkpoint()?;
    summary::print(
        &sum,
        started.elapsed(),
        &args,
        &audit_dir,
        audit.len(),
        &checkpoint,
    );
    Ok(())
}
