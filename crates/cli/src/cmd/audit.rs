//! `arbiter audit`: verify the log, prove an entry, and ask "did the AI see this and dismiss
//! it, and on what evidence?".

use std::path::PathBuf;

use anyhow::Context;
use arbiter_audit::{AuditLog, verify};

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
    /// Recompute every hash and root, check every checkpoint signature; report any change
    /// with its position
    Verify,
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
    },
    /// Sign a checkpoint of the log as it is now
    Checkpoint,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if let Command::Verify = args.command {
        let report = verify(&args.audit)?;
        println!("{report}");
        if !report.is_ok() {
            anyhow::bail!("audit log {} failed verification", args.audit.display());
        }
        return Ok(());
    }
    let (mut log, recovery) = AuditLog::open(&args.audit)?;
    if recovery.dropped_bytes > 0 {
        eprintln!("audit log: {recovery}");
    }
    match args.command {
        Command::Verify => unreachable!("handled above"),
        Command::Prove { index, size } => {
            let size = size.unwrap_or(log.len());
            let proof = log.prove(index, size)?;
            println!("{}", serde_json::to_string_pretty(&proof)?);
        }
        Command::Consistency { old, new } => {
            let proof: Vec<String> = log.consistency(old, new)?.iter().map(hex::encode).collect();
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
        } => {
            let since = since
                .map(|s| {
                    chrono::DateTime::parse_from_rfc3339(&s)
                        .map(|t| t.with_timezone(&chrono::Utc))
                        .with_context(|| format!("--since {s:?} is not an RFC 3339 time"))
                })
                .transpose()?;
            let started = std::time::Instant::now();
            let hits = log.query(&entity, since)?;
            let took = started.elapsed();
            for (i, e) in &hits {
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
            eprintln!(
                "{} entries about {entity} in a log of {} ({:.1} ms)",
                hits.len(),
                log.len(),
                took.as_secs_f64() * 1000.0
            );
        }
        Command::Checkpoint => {
            let c = log.checkpoint()?;
            println!("{c}");
        }
    }
    Ok(())
}
