//! `arbiter model register|list|activate|gate`: the model registry, offline, and the promotion
//! gates. While `arbiter serve` runs, use `POST /api/v1/models` and `PUT /api/v1/model` instead
//! (the log has one writer).

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
    /// Verify a bundle against its content hash and record it (state `registered`)
    Register { bundle: PathBuf },
    /// The registry: id, state, schema, path, who and when
    List,
    /// Put a registered model in force (the one before is retired); audited first
    Activate { id: String },
    /// Run the promotion gates of a candidate against a champion: regression suite,
    /// non-inferiority on the recent labelled alerts the retraining held back, certified
    /// threshold. Exits 1 when any gate fails
    Gate(GateArgs),
}

fn ledger(db: &Path, audit: Option<&Path>) -> anyhow::Result<Ledger> {
    let store = Arc::new(SqliteStore::open(db)?);
    let dir = audit.map_or_else(|| db.with_file_name("audit"), Path::to_path_buf);
    Ok(Ledger::open(store, &dir, Arc::new(SystemClock))
        .context("the registry is changed through the audit log; while `arbiter serve` runs, use POST /api/v1/models and PUT /api/v1/model")?
        .ledger)
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let actor = Actor::system("cli/model");
    match args.command {
        Command::Gate(a) => {
            if !gate(&args.db, a)? {
                std::process::exit(1);
            }
        }
        Command::Register { bundle } => {
            let model = Model::load(&bundle)?;
            let id = ModelId::new(&model.id)?;
            let path = std::fs::canonicalize(&bundle).unwrap_or(bundle);
            let mut l = ledger(&args.db, args.audit.as_deref())?;
            anyhow::ensure!(
                l.store().model(&id)?.is_none(),
                "model {id} is already registered"
            );
            let at =
                l.register_model(&id, &path.display().to_string(), &model.schema.id(), &actor)?;
            l.checkpoint()?;
            println!(
                "registered {id} ({}) as audit entry {at}",
                model.schema.id()
            );
        }
        Command::List => {
            let store = SqliteStore::open(&args.db)?;
            for m in store.models()? {
                println!(
                    "{}  {:<10} {:<16} {}  registered {} by {}",
                    m.id,
                    m.state,
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

/// `arbiter model gate`: every promotion gate of a candidate against a champion.
#[derive(clap::Args)]
pub struct GateArgs {
    /// The champion's bundle
    #[arg(long)]
    pub champion: PathBuf,
    /// The candidate's bundle (from `arbiter retrain`)
    #[arg(long)]
    pub candidate: PathBuf,
    /// The regression suite (must-catch and must-not-act rows)
    #[arg(long)]
    pub suite: PathBuf,
    /// The policy the gates decide with (its auto-close α and bands)
    #[arg(long, env = "ARBITER_POLICY", default_value = "policies/default.yaml")]
    pub policy: PathBuf,
    /// Directory for gate-report.json and gate-report.md
    #[arg(long)]
    pub out: PathBuf,
}

pub fn gate(db: &Path, a: GateArgs) -> anyhow::Result<bool> {
    let champion = Arc::new(Model::load(&a.champion)?);
    let candidate = Arc::new(Model::load(&a.candidate)?);
    let policy = arbiter_policy::Policy::load(&a.policy)?;
    let suite = arbiter_gate::load_suite(&a.suite, &candidate.schema, &arbiter_gate::data_root())?;
    // The recent labelled alerts are the examples the candidate's retraining held back.
    let held: Vec<i64> = match std::fs::read(a.candidate.join(arbiter_retrain::changes::FILE)) {
        Ok(bytes) => {
            serde_json::from_slice::<arbiter_retrain::Changes>(&bytes)
                .context("the candidate's changes.json")?
                .held_back
                .examples
        }
        Err(_) => Vec::new(),
    };
    let rows = if held.is_empty() {
        Vec::new()
    } else {
        SqliteStore::open(db)?.examples(0, 0)?
    };
    let recent = arbiter_gate::Recent::from_examples(&rows, &held, &candidate);
    let report = arbiter_gate::run(&champion, &candidate, &policy, &suite, &recent)?;
    std::fs::create_dir_all(&a.out)?;
    std::fs::write(a.out.join("gate-report.json"), report.json())?;
    std::fs::write(a.out.join("gate-report.md"), report.markdown())?;
    print!("{}", report.markdown());
    println!(
        "\ngate report sha256 {} written to {}",
        report.sha256(),
        a.out.display()
    );
    for f in report.failures() {
        println!("blocks promotion: {f}");
    }
    Ok(report.passed)
}
