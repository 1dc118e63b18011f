//! `arbiter token create|list|revoke`: API tokens, stored hashed; a new token is printed once.

use std::path::PathBuf;

use anyhow::Context;
use arbiter_audit::{AuditLog, Entry, EntryKind};
use arbiter_server::{Role, new_token, token_hash};
use arbiter_store::{SqliteStore, Tokens};

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
        /// Who or what holds it (a person, or a forwarder's name)
        #[arg(long)]
        name: String,
    },
    /// List tokens (never their secrets)
    List,
    /// Revoke a token by id
    Revoke { id: i64 },
}

/// Creates a token, audited before it is stored; returns the secret.
pub fn create(
    db: &std::path::Path,
    audit: Option<&std::path::Path>,
    role: &str,
    name: &str,
) -> anyhow::Result<String> {
    let role: Role = role.parse().map_err(|e: String| anyhow::anyhow!(e))?;
    let name = arbiter_server::auth::token_name(name).map_err(|e| anyhow::anyhow!(e))?;
    let mut store = open_store(db)?;
    let dir = audit.map_or_else(|| db.with_file_name("audit"), |a| a.to_path_buf());
    let (mut log, _) = AuditLog::open(&dir).context(
        "token create writes the audit log; while `arbiter serve` runs, create tokens with POST /api/v1/tokens",
    )?;
    let token = new_token();
    let hash = token_hash(&token);
    log.append(&arbiter_server::auth::token_created(
        "cli/token",
        name,
        role,
        &hash,
    ))?;
    store.create_token(name, role.as_str(), &hash, &chrono::Utc::now().to_rfc3339())?;
    Ok(token)
}

fn open_store(db: &std::path::Path) -> anyhow::Result<SqliteStore> {
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    Ok(SqliteStore::open(db)?)
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Create { role, name } => {
            let token = create(&args.db, args.audit.as_deref(), &role, &name)?;
            eprintln!("created a {role} token for {name}; it is shown once, store it now:");
            println!("{token}");
        }
        Command::List => {
            let store = open_store(&args.db)?;
            for t in store.tokens()? {
                println!(
                    "{:>4}  {:<8} {:<24} created {}{}",
                    t.id,
                    t.role,
                    t.name,
                    t.created_at,
                    t.revoked_at
                        .map_or(String::new(), |r| format!(", revoked {r}"))
                );
            }
        }
        Command::Revoke { id } => {
            let mut store = open_store(&args.db)?;
            let dir = args
                .audit
                .clone()
                .unwrap_or_else(|| args.db.with_file_name("audit"));
            let (mut log, _) = AuditLog::open(&dir)?;
            log.append(&Entry {
                time: chrono::Utc::now(),
                kind: EntryKind::Decision,
                actor: "cli/token".into(),
                entities: vec![format!("token:{id}")],
                summary: format!("cli/token revoked token {id}"),
                body: serde_json::json!({"revoke_token": id}),
            })?;
            anyhow::ensure!(
                store.revoke_token(id, &chrono::Utc::now().to_rfc3339())?,
                "no live token with id {id}"
            );
            println!("revoked token {id}");
        }
    }
    Ok(())
}
