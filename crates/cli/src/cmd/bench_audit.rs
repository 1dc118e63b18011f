//! `arbiter bench-audit`: audit append rate with and without fsync batching, `verify` time,
//! and open + query time, on a log of realistic decision entries. Not a test: numbers depend on
//! the machine and its disk, which the report describes.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use arbiter_audit::{AuditLog, Entry, EntryKind, verify};
use serde::Serialize;

use super::bench::{Machine, first_line_with, kib, machine};

#[derive(clap::Args)]
pub struct Args {
    /// Directory for bench-audit.json and bench-audit.md
    #[arg(long)]
    pub out: PathBuf,
    /// Entries in the big log
    #[arg(long, default_value_t = 1_000_000)]
    pub entries: u64,
    /// Entries per fsync when batching
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    /// Entries appended one fsync each (the unbatched baseline)
    #[arg(long, default_value_t = 2000)]
    pub single: u64,
    /// Where to build the logs (default: a temporary directory; the disk matters)
    #[arg(long)]
    pub work: Option<PathBuf>,
}

#[derive(Serialize)]
struct Report {
    machine: Machine,
    /// Where the logs were written (a temporary directory unless `--work` was given).
    work: String,
    entry_bytes: usize,
    single_entries: u64,
    single_per_second: f64,
    batch: usize,
    entries: u64,
    batched_per_second: f64,
    log_mib: f64,
    verify_seconds: f64,
    open_seconds: f64,
    query_ms: f64,
    query_hits: usize,
    peak_rss_mib: Option<f64>,
}

/// A decision entry shaped like the ones `arbiter triage` writes.
fn entry(i: u64) -> Entry {
    Entry {
        time: chrono::Utc::now(),
        kind: EntryKind::Decision,
        actor: "arbiter/policy".into(),
        entities: vec![
            format!("alert-{i:08}"),
            format!("host:ws-{:04}", i % 5000),
            format!("user:u{:05}", i % 20000),
            format!(
                "category:{}",
                ["dos", "probe", "r2l", "benign"][(i % 4) as usize]
            ),
        ],
        summary: format!("alert-{i:08}: analyst isolate_host at p(malicious) 0.7312"),
        body: serde_json::json!({
            "decision": {"tier": "analyst", "action": "isolate_host",
                          "reasons": [{"code": "band_approve", "text": "p in the 0.60–0.90 band"},
                                      {"code": "flag_out_of_distribution", "text": "unlike training"}]},
            "bundle": "sha256:a6f2ccd43e7480b8f8993fdc7c75f740eb5ee07c174633aabe106ca0e407dd38",
            "source": {"file": "KDDTest+.txt.xz", "line": i},
            "p_malicious": 0.7312, "flags": ["out_of_distribution"],
            "package_sha256": "9f2c0a8d5be1e4f7c3a61b0d2e8f9a7c6b5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f",
        }),
    }
}

fn dir_mib(dir: &Path) -> f64 {
    std::fs::read_dir(dir)
        .map(|it| {
            it.filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum::<u64>()
        })
        .unwrap_or(0) as f64
        / 1048576.0
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let work = args
        .work
        .clone()
        .unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;

    eprintln!("{} appends, one fsync each …", args.single);
    let (mut small, _) = AuditLog::open(&work.join("single"))?;
    let start = Instant::now();
    for i in 0..args.single {
        small.append(&entry(i))?;
    }
    let single_per_second = args.single as f64 / start.elapsed().as_secs_f64();

    eprintln!(
        "{} appends in batches of {} (one fsync per batch) …",
        args.entries, args.batch
    );
    let big_dir = work.join("big");
    let (mut big, _) = AuditLog::open(&big_dir)?;
    let start = Instant::now();
    let mut i = 0;
    while i < args.entries {
        let n = (args.batch as u64).min(args.entries - i);
        let batch: Vec<Entry> = (i..i + n).map(entry).collect();
        big.append_batch(&batch)?;
        i += n;
    }
    let batched_per_second = args.entries as f64 / start.elapsed().as_secs_f64();
    big.checkpoint()?;
    drop(big);

    eprintln!("verify …");
    let start = Instant::now();
    let report = verify(&big_dir)?;
    let verify_seconds = start.elapsed().as_secs_f64();
    anyhow::ensure!(
        report.is_ok(),
        "the benchmark log failed verification: {report}"
    );

    eprintln!("open + query …");
    let start = Instant::now();
    let (log, _) = AuditLog::open(&big_dir)?;
    let open_seconds = start.elapsed().as_secs_f64();
    let entity = format!("alert-{:08}", args.entries / 2);
    let start = Instant::now();
    let hits = log.query(&entity, None)?;
    let query_ms = start.elapsed().as_secs_f64() * 1000.0;

    let r = Report {
        machine: machine(),
        work: args
            .work
            .as_ref()
            .map_or("a temporary directory".into(), |w| w.display().to_string()),
        entry_bytes: serde_json::to_vec(&entry(0))?.len(),
        single_entries: args.single,
        single_per_second,
        batch: args.batch,
        entries: args.entries,
        batched_per_second,
        log_mib: dir_mib(&big_dir),
        verify_seconds,
        open_seconds,
        query_ms,
        query_hits: hits.len(),
        peak_rss_mib: kib(first_line_with("/proc/self/status", "VmHWM")).map(|k| k / 1024.0),
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    std::fs::write(
        args.out.join("bench-audit.json"),
        serde_json::to_string_pretty(&r)? + "\n",
    )?;
    let md = markdown(&r);
    std::fs::write(args.out.join("bench-audit.md"), &md)?;
    print!("{md}");
    Ok(())
}

fn markdown(r: &Report) -> String {
    format!(
        "# Benchmark: audit log\n\n\
         {}\n\n\
         Entries shaped like `arbiter triage` decisions ({} bytes of JSON each), written to \
         `{}` on the machine's disk.\n\n\
         | what | result |\n|---|---:|\n\
         | append, one fsync per entry ({} entries) | {:.0} entries/s |\n\
         | append, one fsync per batch of {} ({} entries) | {:.0} entries/s ({:.0}×) |\n\
         | log size on disk (entries, leaf hashes, index, checkpoints) | {:.0} MiB |\n\
         | `verify` of {} entries (every hash, root and signature) | {:.1} s |\n\
         | open the log of {} entries | {:.3} s |\n\
         | query one entity (`alert-…`), {} hit(s) | {:.2} ms |\n\n\
         Peak resident memory of the whole run: {} MiB.\n",
        r.machine.line(),
        r.entry_bytes,
        r.work,
        r.single_entries,
        r.single_per_second,
        r.batch,
        r.entries,
        r.batched_per_second,
        r.batched_per_second / r.single_per_second,
        r.log_mib,
        r.entries,
        r.verify_seconds,
        r.entries,
        r.open_seconds,
        r.query_hits,
        r.query_ms,
        r.peak_rss_mib.map_or("?".into(), |v| format!("{v:.0}")),
    )
}
