//! `arbiter bench`: training time and scoring throughput, with a baseline measured in the same
//! run. Not a test: numbers depend on the machine, which the report describes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use arbiter_ingest::{OnError, load};
use arbiter_model::Model;
use arbiter_train::{InputFile, Quiet, TrainOptions, bundle, train};
use serde::Serialize;

use super::file_name;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    pub schema: PathBuf,
    /// Training file
    #[arg(long)]
    pub train: PathBuf,
    /// File to score
    #[arg(long)]
    pub test: PathBuf,
    /// Directory for bench.json and bench.md (the bundle goes in a temporary directory)
    #[arg(long)]
    pub out: PathBuf,
    /// Repetitions of each throughput measurement (the median is reported)
    #[arg(long, default_value_t = 5)]
    pub repeats: usize,
}

#[derive(Serialize)]
struct Throughput {
    what: String,
    rows: usize,
    median_seconds: f64,
    rows_per_second: f64,
    /// Relative to the plain single-model prediction measured in the same run.
    vs_single_model: f64,
}

#[derive(Serialize)]
struct Report {
    machine: Machine,
    train_file: String,
    train_rows: usize,
    read_train_seconds: f64,
    train_seconds: f64,
    test_file: String,
    repeats: usize,
    throughput: Vec<Throughput>,
    peak_rss_mib: Option<f64>,
}

#[derive(Serialize)]
pub struct Machine {
    pub cpu: String,
    pub logical_cpus: usize,
    pub memory_gib: Option<f64>,
    pub os: String,
    pub arbiter: String,
    pub profile: String,
}

pub fn first_line_with(path: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

pub fn kib(v: Option<String>) -> Option<f64> {
    v?.split_whitespace().next()?.parse::<f64>().ok()
}

impl Machine {
    /// The line every benchmark report opens with.
    pub fn line(&self) -> String {
        format!(
            "Machine: {} · {} logical CPUs · {} GiB RAM · {} · arbiter {} ({} build).",
            self.cpu,
            self.logical_cpus,
            self.memory_gib.map_or("?".into(), |g| format!("{g:.0}")),
            self.os,
            self.arbiter,
            self.profile
        )
    }
}

pub fn machine() -> Machine {
    Machine {
        cpu: first_line_with("/proc/cpuinfo", "model name").unwrap_or_else(|| "unknown".into()),
        logical_cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        memory_gib: kib(first_line_with("/proc/meminfo", "MemTotal")).map(|k| k / 1048576.0),
        os: std::fs::read_to_string("/etc/os-release")
            .ok()
            .and_then(|t| {
                t.lines().find_map(|l| {
                    l.strip_prefix("PRETTY_NAME=")
                        .map(|v| v.trim_matches('"').to_string())
                })
            })
            .unwrap_or_else(|| std::env::consts::OS.into()),
        arbiter: env!("CARGO_PKG_VERSION").into(),
        profile: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
        .into(),
    }
}

fn median_seconds(
    repeats: usize,
    mut f: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<f64> {
    let mut t = Vec::with_capacity(repeats);
    for _ in 0..repeats.max(1) {
        let start = Instant::now();
        f()?;
        t.push(start.elapsed().as_secs_f64());
    }
    t.sort_by(f64::total_cmp);
    Ok(t[t.len() / 2])
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let schema = super::schema(&args.schema)?;
    let started = Instant::now();
    let train_data = load(&schema, &args.train, OnError::Fail, &mut |_, _| {})?;
    let read_train_seconds = started.elapsed().as_secs_f64();
    let train_rows = train_data.records.len();
    let input = InputFile {
        name: file_name(&args.train),
        sha256: arbiter_ingest::file_sha256(&args.train)?,
        data: train_data,
        weights: None,
    };
    eprintln!("training on {train_rows} rows …");
    let started = Instant::now();
    let trained = train(&schema, vec![input], &TrainOptions::default(), &Quiet)?;
    let train_seconds = started.elapsed().as_secs_f64();
    let tmp = tempfile::tempdir()?;
    bundle::write(&tmp.path().join("bundle"), &trained.files)?;
    drop(trained);
    let model = Model::load(&tmp.path().join("bundle"))?;

    eprintln!("measuring throughput ({} repeats each) …", args.repeats);
    let test = load(&schema, &args.test, OnError::Fail, &mut |_, _| {})?;
    let rows = test.records.len();
    let (x, _) = model.encoder.encode_all(&test.records);
    let file = args.test.display().to_string();
    let single = median_seconds(args.repeats, || {
        model.baseline_probability(&x)?;
        Ok(())
    })?;
    let mut measures: Vec<(String, f64)> = vec![(
        "plain single LightGBM model, predict on an encoded matrix (the baseline)".into(),
        single,
    )];
    measures.push((
        "ensemble trees only: 5 members + category head".into(),
        median_seconds(args.repeats, || {
            model.infer_trees(&x)?;
            Ok(())
        })?,
    ));
    measures.push((
        "ensemble trees + verdict-conditional kNN OOD search".into(),
        median_seconds(args.repeats, || {
            model.infer(&x)?;
            Ok(())
        })?,
    ));
    measures.push((
        "Arbiter score in batches of 8192: encode, trees, calibration, conformal, OOD, flags"
            .into(),
        median_seconds(args.repeats, || {
            for chunk in test.records.chunks(8192) {
                model.score(chunk, &file, model.spec.flags.alpha)?;
            }
            Ok(())
        })?,
    ));
    measures.push((
        "end to end: read the file, score, write NDJSON (as `arbiter score`)".into(),
        median_seconds(args.repeats, || {
            let data = load(&schema, &args.test, OnError::Fail, &mut |_, _| {})?;
            let mut sink = std::io::BufWriter::new(std::io::sink());
            for chunk in data.records.chunks(8192) {
                for s in model.score(chunk, &file, model.spec.flags.alpha)? {
                    serde_json::to_writer(&mut sink, &s)?;
                    sink.write_all(b"\n")?;
                }
            }
            Ok(())
        })?,
    ));
    let report = Report {
        machine: machine(),
        train_file: file_name(&args.train),
        train_rows,
        read_train_seconds,
        train_seconds,
        test_file: file_name(&args.test),
        repeats: args.repeats,
        throughput: measures
            .into_iter()
            .map(|(what, secs)| Throughput {
                what,
                rows,
                median_seconds: secs,
                rows_per_second: rows as f64 / secs,
                vs_single_model: single / secs,
            })
            .collect(),
        peak_rss_mib: kib(first_line_with("/proc/self/status", "VmHWM")).map(|k| k / 1024.0),
    };
    write_report(&report, &args.out)?;
    print!("{}", markdown(&report));
    Ok(())
}

fn markdown(r: &Report) -> String {
    let mut s = format!(
        "# Benchmark: training and scoring\n\n\
         {}\n\n\
         ## Training\n\n\
         {} rows of {}: read in {:.2} s, trained in {:.1} s (5 members × 100 trees, category \
         head, baseline, calibration, conformal, OOD references, novelty rehearsal, risk \
         control).\n\n\
         ## Scoring throughput on {} ({} rows, median of {} runs)\n\n\
         | what | seconds | rows/s | × single model |\n|---|---:|---:|---:|\n",
        r.machine.line(),
        r.train_rows,
        r.train_file,
        r.read_train_seconds,
        r.train_seconds,
        r.test_file,
        r.throughput.first().map_or(0, |t| t.rows),
        r.repeats
    );
    for t in &r.throughput {
        s.push_str(&format!(
            "| {} | {:.3} | {:.0} | {:.3} |\n",
            t.what, t.median_seconds, t.rows_per_second, t.vs_single_model
        ));
    }
    if let Some(mib) = r.peak_rss_mib {
        s.push_str(&format!(
            "\nPeak resident memory of the whole run: {mib:.0} MiB.\n"
        ));
    }
    s
}

fn write_report(r: &Report, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::write(
        dir.join("bench.json"),
        serde_json::to_string_pretty(r)? + "\n",
    )?;
    std::fs::write(dir.join("bench.md"), markdown(r))?;
    Ok(())
}
