//! `arbiter audit`: verify the log, prove an entry, and ask "did the AI see this and dismiss
//! it, and on what evidence?".
//!
//! `query`, `prove` and `consistency` only read (through [`AuditReader::open`]), so they work
//! while `arbiter serve` holds the writer lock; `checkpoint` and `reindex` need that lock.

use std::path::PathBuf;

use anyhow::Context;
use arbiter_audit::{AuditLog, AuditReader, MAX_PAGE_ENTRIES, verify};

#[derive(clap::Args)]
pub struct Args {
    /// Audit log directory
    #[arg(long, env = "ARBITER_AUDIT", default_value = "out/audit")]
    pub audit: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// Recompute every hash and root, check every checkpoint signature and the query index;
    /// report any change with its position
    Verify {
        /// Also fail if any entry is covered by no signed checkpoint (such entries could be
        /// cut off undetected)
        #[arg(long)]
        require_covered: bool,
        /// Also check that this database holds every audited change (alerts, decisions,
        /// tokens, models): "every audited decision is in the store"
        #[arg(long)]
        db: Option<PathBuf>,
    },
    /// Inclusion proof of entry N in the tree of the given size (default: the whole log)
    Prove {
        index: u64,
        #[arg(long)]
        size: Option<u64>,
    },
    /// Consistency proof between two tree sizes
    Consistency { old: u64, new: u64 },
    /// Entries about an entity (alert id, `host:NAME`, `user:NAME`, `category:NAME`, …)
    Query {
        #[arg(long)]
        entity: String,
        /// Only entries at or after this time (RFC 3339, e.g. 2026-11-01T00:00:00Z)
        #[arg(long)]
        since: Option<String>,
        /// Print each entry's full body
        #[arg(long)]
        full: bool,
        /// Print at most this many entries; the cursor for the rest is printed
        #[arg(long, default_value_t = MAX_PAGE_ENTRIES)]
        limit: usize,
        /// Start after this entry index (the cursor a previous query printed)
        #[arg(long)]
        after: Option<u64>,
    },
    /// Sign a checkpoint of the log as it is now
    Checkpoint,
    /// Rebuild the query index (index.sqlite) from the entries; needs the writer lock
    Reindex,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let dir = &args.audit;
    match args.command {
        Command::Verify {
            require_covered,
            db,
        } => {
            let report = verify(dir)?;
            println!("{report}");
            if !report.is_ok() {
                anyhow::bail!("audit log {} failed verification", dir.display());
            }
            if let Some(db) = db {
                let store = arbiter_store::SqliteStore::open(&db)?;
                let check = arbiter_ledger::check_store(&AuditReader::open(dir)?, &store)?;
                for (i, what) in check.missing.iter().take(20) {
                    println!("missing from the store: entry {i}: {what}");
                }
                if !check.missing.is_empty() {
                    anyhow::bail!(
                        "{} of {} audited changes are missing from {}; opening it with                          `arbiter serve` or `arbiter triage` restores them from the log",
                        check.missing.len(),
                        check.checked,
                        db.display()
                    );
                }
                println!(
                    "store {}: holds all {} audited changes",
                    db.display(),
                    check.checked
                );
            }
            if require_covered && let Some(first) = report.first_uncovered {
                anyhow::bail!(
                    "audit log {}: {} entries (from entry {first}) are covered by no signed \
                     checkpoint; sign one with `arbiter audit checkpoint`",
                    dir.display(),
                    report.uncovered
                );
            }
        }
        Command::Prove { index, size } => {
            let reader = AuditReader::open(dir)?;
            let size = size.unwrap_or(reader.len());
            let proof = reader.prove(index, size)?;
            println!("{}", serde_json::to_string_pretty(&proof)?);
        }
        Command::Consistency { old, new } => {
            let reader = AuditReader::open(dir)?;
            let proof: Vec<String> = reader
                .consistency(old, new)?
                .iter()
                .map(hex::encode)
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "old_size": old, "new_size": new, "proof": proof
                }))?
            );
        }
        Command::Query {
            entity,
            since,
            full,
            limit,
            after,
        } => query(dir, &entity, since, full, limit, after)?,
        Command::Checkpoint => {
            let (mut log, recovery) = AuditLog::open(dir)?;
            if recovery.dropped_bytes > 0 {
                eprintln!("audit log: {recovery}");
            }
            println!("{}", log.checkpoint()?);
        }
        Command::Reindex => {
            let (mut log, _) = AuditLog::open(dir).with_context(|| {
                format!(
                    "cannot rebuild the query index of {}: reindexing needs the writer lock",
                    dir.display()
                )
            })?;
            log.rebuild_index()?;
            println!(
                "rebuilt {}: {} entries indexed",
                dir.join("index.sqlite").display(),
                log.len()
            );
        }
    }
    Ok(())
}

/// Prints up to `limit` entries about `entity`, page by page, then the cursor if more remain.
fn query(
    dir: &std::path::Path,
    entity: &str,
    since: Option<String>,
    full: bool,
    limit: usize,
    mut after: Option<u64>,
) -> anyhow::Result<()> {
    anyhow::ensure!(limit > 0, "--limit 0: expected at least 1");
    let since = since
        .map(|s| {
            chrono::DateTime::parse_from_rfc3339(&s)
                .map(|t| t.with_timezone(&chrono::Utc))
                .with_context(|| format!("--since {s:?} is not an RFC 3339 time"))
        })
        .transpose()?;
    let reader = AuditReader::open(dir)?;
    let started = std::time::Instant::now();
    let mut printed = 0;
    let more = loop {
        let page = reader.query_page(entity, since, after, limit - printed)?;
        for (i, e) in &page.entries {
            println!(
                "#{i} {} {:?} {} — {}",
                e.time.to_rfc3339(),
                e.kind,
                e.actor,
                e.summary
            );
            if full {
                println!("{}", serde_json::to_string_pretty(&e.body)?);
            }
        }
        printed += page.entries.len();
        after = page.next;
        if page.next.is_none() || printed >= limit {
            break page.next;
        }
    };
    eprintln!(
        "{printed} entries about {entity} in a log of {} ({:.1} ms)",
        reader.len(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    if let Some(cursor) = more {
        eprintln!("more may follow: pass --after {cursor} for the next page");
    }
    Ok(())
}
