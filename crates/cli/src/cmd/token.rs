//! `arbiter token create|list|revoke`: API tokens, stored hashed; a new token is printed once.
//! Creating and revoking go through the ledger (audited first, as over the API).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use arbiter_core::{Actor, Role, SystemClock, checked_name};
use arbiter_ledger::Ledger;
use arbiter_server::{new_token, token_hash};
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
    /// Create a token and print it once (only its SHA-256 is stored)
    Create {
        /// viewer, analyst, lead, admin or ingest
        #[arg(long)]
        role: String,
        /// What the token is called (`alice-laptop`, `siem-forwarder`)
        #[arg(long)]
        name: String,
        /// The person (or machine) who holds it; four eyes counts people (default: the name)
        #[arg(long)]
        person: Option<String>,
    },
    /// List tokens (never their secrets)
    List,
    /// Revoke a token by id
    Revoke { id: i64 },
}

fn open_store(db: &Path) -> anyhow::Result<Arc<SqliteStore>> {
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    Ok(Arc::new(SqliteStore::open(db)?))
}

fn ledger(db: &Path, audit: Option<&Path>) -> anyhow::Result<Ledger> {
    let dir = audit.map_or_else(|| db.with_file_name("audit"), Path::to_path_buf);
    let opened = Ledger::open(open_store(db)?, &dir, Arc::new(SystemClock)).context(
        "token create and revoke write the audit log; while `arbiter serve` runs, use \
         POST /api/v1/tokens and DELETE /api/v1/tokens/{id}",
    )?;
    Ok(opened.ledger)
}

/// Creates a token for `person` (default: `name`), audited before it is stored; returns the
/// secret.
pub fn create(
    db: &Path,
    audit: Option<&Path>,
    role: &str,
    name: &str,
    person: Option<&str>,
) -> anyhow::Result<String> {
    let role: Role = role.parse()?;
    let name = checked_name("token name", name)?;
    let person = checked_name("person", person.unwrap_or(name))?;
    let mut l = ledger(db, audit)?;
    let token = new_token();
    l.create_token(
        name,
        person,
        role,
        &token_hash(&token),
        &Actor::system("cli/token"),
    )?;
    l.checkpoint()?;
    Ok(token)
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Create { role, name, person } => {
            let token = create(
                &args.db,
                args.audit.as_deref(),
                &role,
                &name,
                person.as_deref(),
            )?;
            eprintln!("created a {role} token {name}; it is shown once, store it now:");
            println!("{token}");
        }
        Command::List => {
            let store = open_store(&args.db)?;
            for t in store.tokens()? {
                println!(
                    "{:>4}  {:<8} {:<24} {:<16} created {} by {}{}",
                    t.id,
                    t.role,
                    t.name,
                    t.person,
                    t.created_at.to_rfc3339(),
                    t.created_by,
                    t.revoked_at
                        .map_or(String::new(), |r| format!(", revoked {}", r.to_rfc3339()))
                );
            }
        }
        Command::Revoke { id } => {
            let mut l = ledger(&args.db, args.audit.as_deref())?;
            let (revoked, _) = l.revoke_token(id, &Actor::system("cli/token"))?;
            l.checkpoint()?;
            anyhow::ensure!(revoked, "token {id} was already revoked");
            println!("revoked token {id}");
        }
    }
    Ok(())
}
