//! `arbiter model`: the registry (register, list, show, diff), the promotion gates, and the
//! lifecycle (activate a base model; shadow, canary, promote under four eyes, roll back,
//! retire). Offline: while `arbiter serve` runs, use the same operations over its API (the log
//! has one writer).

mod gate;
mod life;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use arbiter_core::{Actor, ModelId, SystemClock};
use arbiter_ledger::Ledger;
use arbiter_model::Model;
use arbiter_store::{SqliteStore, StoreRead};

#[derive(clap::Args)]
pub struct Args {
    /// SQLite database (created if absent)
    #[arg(
        long,
        env = "ARBITER_DB",
        default_value = "out/arbiter.db",
        global = true
    )]
    pub db: PathBuf,
    /// Audit log directory (default: `audit/` beside the database)
    #[arg(long, env = "ARBITER_AUDIT", global = true)]
    pub audit: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// Verify a bundle against its content hash and record it (state `candidate`)
    Register { bundle: PathBuf },
    /// The registry: id, state, parent, schema, path, who and when
    List,
    /// One model: its row, gate reports, second opinions and (in canary) its tally
    Show { id: String },
    /// What differs between two registered models (or bundle directories)
    Diff {
        a: String,
        b: String,
        /// Also list the properties that are the same
        #[arg(long)]
        all: bool,
    },
    /// Put a base model (trained from data, not retrained) in force; audited first
    Activate { id: String },
    /// Run the promotion gates of a candidate against a champion: regression suite,
    /// non-inferiority on the recent labelled alerts the retraining held back, certified
    /// threshold. Exits 1 when any gate fails
    Gate(gate::GateArgs),
    /// Score live traffic with a candidate beside the champion, acting on nothing
    Shadow(life::Who),
    /// Let a gated candidate decide a share of live traffic, rolled back by itself when a
    /// bound is crossed
    Canary(life::CanaryArgs),
    /// Ask for (first admin) or approve (second, different admin) a candidate's promotion to
    /// champion; its latest gate report against the champion must have passed
    Promote(life::Who),
    /// Retire the champion and restore the one before it
    Rollback(life::Token),
    /// Retire a candidate, shadow or canary
    Retire(life::RetireArgs),
    /// Second opinions where the shadow or canary and the champion differ in tier
    Disagreements {
        id: String,
        /// At most this many, newest first
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
}

pub(crate) fn ledger(db: &Path, audit: Option<&Path>) -> anyhow::Result<Ledger> {
    let store = Arc::new(SqliteStore::open(db)?);
    let dir = audit.map_or_else(|| db.with_file_name("audit"), Path::to_path_buf);
    Ok(Ledger::open(store, &dir, Arc::new(SystemClock))
        .context("the registry is changed through the audit log; while `arbiter serve` runs, use its /api/v1/models endpoints")?
        .ledger)
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let actor = Actor::system("cli/model");
    match args.command {
        Command::Gate(a) => {
            if !gate::gate(&args.db, args.audit.as_deref(), a)? {
                std::process::exit(1);
            }
        }
        Command::Show { id } => life::show(&args.db, &id)?,
        Command::Diff { a, b, all } => life::diff(&args.db, &a, &b, all)?,
        Command::Disagreements { id, limit } => life::disagreements(&args.db, &id, limit)?,
        Command::Shadow(w) => life::shadow(&args.db, args.audit.as_deref(), w)?,
        Command::Canary(c) => life::canary(&args.db, args.audit.as_deref(), c)?,
        Command::Promote(w) => life::promote(&args.db, args.audit.as_deref(), w)?,
        Command::Rollback(t) => life::rollback(&args.db, args.audit.as_deref(), t)?,
        Command::Retire(r) => life::retire(&args.db, args.audit.as_deref(), r)?,
        Command::Register { bundle } => {
            let model = Model::load(&bundle)?;
            let id = ModelId::new(&model.id)?;
            let path = std::fs::canonicalize(&bundle).unwrap_or(bundle);
            let mut l = ledger(&args.db, args.audit.as_deref())?;
            anyhow::ensure!(
                l.store().model(&id)?.is_none(),
                "model {id} is already registered"
            );
            let parent = model.parent.as_deref().map(ModelId::new).transpose()?;
            let at = l.register_model(
                &id,
                &path.display().to_string(),
                &model.schema.id(),
                parent.as_ref(),
                &actor,
            )?;
            l.checkpoint()?;
            let lineage = parent.map_or(String::new(), |p| format!(", retrained from {p}"));
            println!(
                "registered {id} ({}{lineage}) as candidate, audit entry {at}",
                model.schema.id()
            );
        }
        Command::List => {
            let store = SqliteStore::open(&args.db)?;
            for m in store.models()? {
                let parent = m
                    .parent
                    .as_ref()
                    .map_or("-".to_string(), |p| format!("{:.19}…", p.as_str()));
                println!(
                    "{}  {:<9} parent {:<20} {:<16} {}  registered {} by {}",
                    m.id,
                    m.state,
                    parent,
                    m.schema,
                    m.path,
                    m.registered_at.to_rfc3339(),
                    m.registered_by
                );
            }
        }
        Command::Activate { id } => {
            let id = ModelId::new(&id)?;
            let mut l = ledger(&args.db, args.audit.as_deref())?;
            let row = l
                .store()
                .model(&id)?
                .with_context(|| format!("no registered model {id}: register it first"))?;
            let model = Model::load(Path::new(&row.path))?;
            anyhow::ensure!(
                model.id == id.as_str(),
                "the bundle at {} is now {}, not the registered {id}: register it again",
                row.path,
                model.id
            );
            match l.activate_model(&id, &actor)? {
                Some(at) => println!("{id} is in force (audit entry {at})"),
                None => println!("{id} was already in force"),
            }
            l.checkpoint()?;
        }
    }
    Ok(())
}
