//! `arbiter teach import|list`: the teaching set, offline. Imports are audited like every
//! other write; while `arbiter serve` runs, the server holds the audit log, so stop it first
//! (or read with `teach list`, which never writes).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use arbiter_core::{Actor, SystemClock};
use arbiter_learn::{Counts, LabelFormat, parse_labels};
use arbiter_ledger::Ledger;
use arbiter_store::{SqliteStore, StoreRead};

#[derive(clap::Args)]
pub struct Args {
    /// SQLite database
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
    /// Import incident-ticket labels (CSV with a header, or NDJSON) as the trusted tier.
    /// Columns: alert (source/id), label, ticket; optional responder, time, reason_code,
    /// note, feature. A file with any bad row imports nothing; a ticket already imported
    /// for an alert is skipped.
    Import {
        #[arg(long)]
        file: PathBuf,
        /// `csv` or `ndjson` (default: from the file name)
        #[arg(long)]
        format: Option<String>,
    },
    /// Measure the poisoning screen on labelled data: one simulated analyst flips labels
    /// (at random, and targeted at one family); flips caught, clean labels quarantined, and
    /// the must-catch rows a candidate retrained with and without the screen would auto-close
    Rehearse(super::rehearse_poison::Args),
    /// Screen the teaching set for poisoning and list what is quarantined, with the reasons,
    /// and each labeller's estimated accuracy
    Quarantine {
        /// Families on which a malicious → benign flip needs a second reviewer (comma list)
        #[arg(long, value_delimiter = ',')]
        high_impact: Vec<String>,
        /// Labelled rows (e.g. the training file) for k-NN label consistency, read with
        /// --model's schema
        #[arg(long, requires = "model")]
        reference: Option<PathBuf>,
        #[arg(long)]
        model: Option<PathBuf>,
        /// Also list accepted examples
        #[arg(long)]
        all: bool,
    },
    /// Let a quarantined example into training (a lead's call, audited)
    Release {
        id: i64,
        /// Why the label is right although the screen doubted it
        #[arg(long)]
        reason: String,
    },
    /// The teaching set, oldest first, with each example's provenance and the counts
    List {
        /// One JSON object per example (with the features it trains on)
        #[arg(long)]
        json: bool,
        /// Examples after this id
        #[arg(long, default_value_t = 0)]
        after: i64,
        /// At most this many (0: all)
        #[arg(long, default_value_t = 0)]
        limit: usize,
    },
}

fn format_of(file: &Path, given: Option<&str>) -> anyhow::Result<LabelFormat> {
    match given {
        Some("csv") => Ok(LabelFormat::Csv),
        Some("ndjson") | Some("jsonl") => Ok(LabelFormat::Ndjson),
        Some(other) => anyhow::bail!("unknown --format {other:?}: expected csv or ndjson"),
        None => LabelFormat::of_path(file).with_context(|| {
            format!(
                "{}: cannot tell the format from the name; name it .csv or .ndjson, or pass \
                 --format",
                file.display()
            )
        }),
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Rehearse(a) => return super::rehearse_poison::run(a),
        Command::Quarantine {
            high_impact,
            reference,
            model,
            all,
        } => {
            let store = SqliteStore::open(&args.db)?;
            let rows = store.examples(0, 0)?;
            let shares = match (&reference, &model) {
                (Some(file), Some(bundle)) => {
                    let model = arbiter_model::Model::load(bundle)?;
                    let data = arbiter_ingest::load(
                        &model.schema,
                        file,
                        arbiter_ingest::OnError::Skip,
                        &mut |_, _| {},
                    )?;
                    let refs: Vec<&arbiter_ingest::Record> = data.records.iter().collect();
                    let nb = arbiter_learn::neighbours::Neighbours::new(&model, &refs, 10);
                    // An example without kept features reads as all-missing: no neighbours
                    // vouch for it.
                    let none = arbiter_core::Observed::default();
                    let recs: Vec<arbiter_ingest::Record> = rows
                        .iter()
                        .map(|r| {
                            let f = r.features.as_ref().unwrap_or(&none);
                            arbiter_ingest::Record::from_observed(&model.schema, f, 0)
                        })
                        .collect();
                    let refs: Vec<&arbiter_ingest::Record> = recs.iter().collect();
                    Some(nb.malicious_share(&model, &refs))
                }
                _ => None,
            };
            let s = arbiter_learn::Screen {
                high_impact,
                ..arbiter_learn::Screen::default()
            };
            let out = arbiter_learn::defend::screen_rows(&rows, shares.as_deref(), &s);
            let mut held = 0;
            for (r, e) in rows.iter().zip(&out.examples) {
                let quarantined = !e.quarantine.is_empty();
                held += usize::from(quarantined && e.released_by.is_none());
                if !quarantined && !all {
                    continue;
                }
                let state = match (&e.released_by, quarantined) {
                    (Some(by), _) => format!("released by {by}"),
                    (None, true) => "QUARANTINED".to_string(),
                    (None, false) => format!("accepted, weight {:.2}", e.weight),
                };
                println!(
                    "{:>5}  {}  {} on {} by {} ({}): P(label right) {:.2}, {state}",
                    r.id,
                    r.example.time.format("%Y-%m-%d %H:%M"),
                    r.example.label,
                    r.example.key,
                    r.example.labeller,
                    r.example.source,
                    e.posterior
                );
                for q in &e.quarantine {
                    println!("       - {}", q.text());
                }
            }
            println!(
                "\n{} examples, {held} quarantined; estimated accuracy: {}",
                rows.len(),
                out.accuracy
                    .iter()
                    .map(|(k, v)| format!("{k} {v:.3}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            return Ok(());
        }
        Command::Release { id, reason } => {
            let store = Arc::new(SqliteStore::open(&args.db)?);
            let dir = args
                .audit
                .clone()
                .unwrap_or_else(|| args.db.with_file_name("audit"));
            let mut ledger = Ledger::open(store, &dir, Arc::new(SystemClock))
                .context("releases are written through the audit log; stop `arbiter serve` first")?
                .ledger;
            let at = ledger.release_example(id, &reason, &Actor::system("cli/teach"))?;
            ledger.checkpoint()?;
            println!("released example {id} into training (audit entry {at})");
            return Ok(());
        }
        Command::Import { file, format } => {
            let format = format_of(&file, format.as_deref())?;
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let name = file.display().to_string();
            let labels = parse_labels(&text, format, &name)?;
            let store = Arc::new(SqliteStore::open(&args.db)?);
            let dir = args
                .audit
                .clone()
                .unwrap_or_else(|| args.db.with_file_name("audit"));
            let mut ledger = Ledger::open(store, &dir, Arc::new(SystemClock))
                .context(
                    "imports are written through the audit log; while `arbiter serve` runs it \
                     holds the log, so stop it first",
                )?
                .ledger;
            let done = ledger.import_labels(&labels, &name, &Actor::system("cli/teach"))?;
            ledger.checkpoint()?;
            println!(
                "imported {} labels from {name} ({} already imported), audit entries {:?}",
                done.added, done.already, done.audit
            );
        }
        Command::List { json, after, limit } => {
            let store = SqliteStore::open(&args.db)?;
            let rows = store.examples(after, limit)?;
            if json {
                for r in &rows {
                    println!("{}", serde_json::to_string(r)?);
                }
                return Ok(());
            }
            println!(
                "{:>5}  {:<20}  {:<16}  {:<22}  {:<9} {:<12}  {:<28}  reason / feature / ticket",
                "id", "time", "source", "labeller", "model", "label", "alert"
            );
            for r in &rows {
                let e = &r.example;
                let model = r.model_verdict.map_or("-".to_string(), |v| v.to_string());
                let extra = [
                    e.reason_code.as_deref(),
                    e.feature.as_deref(),
                    e.reference.as_deref(),
                ]
                .iter()
                .flatten()
                .copied()
                .collect::<Vec<_>>()
                .join(" / ");
                println!(
                    "{:>5}  {:<20}  {:<16}  {:<22}  {:<9} {:<12}  {:<28}  {}{}",
                    r.id,
                    e.time.format("%Y-%m-%d %H:%M:%S"),
                    e.source.as_str(),
                    e.labeller.to_string(),
                    model,
                    e.label.as_str(),
                    e.key.to_string(),
                    extra,
                    if r.features.is_none() {
                        "  (no features kept: cannot be trained on)"
                    } else {
                        ""
                    }
                );
            }
            let c = Counts::of(&rows);
            println!(
                "\n{} examples, {} against the model's verdict; by source: {}",
                c.examples,
                c.against_model,
                c.by_source
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    Ok(())
}
