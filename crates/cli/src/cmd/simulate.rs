//! `arbiter simulate`: replay weeks of SOC traffic through the real pipeline for several arms
//! and report what a field study measures.

use std::path::PathBuf;

use arbiter_simulate::run::{Progress, RunOptions};
use indicatif::ProgressBar;

#[derive(clap::Args)]
pub struct Args {
    /// Simulation file (YAML, see sims/)
    #[arg(long)]
    pub config: PathBuf,
    /// Output directory: report.md, report.json, plots, the day-0 bundle
    #[arg(long)]
    pub out: PathBuf,
    /// Seeds to run (default: the file's `seeds`)
    #[arg(long)]
    pub seeds: Option<u64>,
    /// Shared datasets, for `${ARBITER_DATA}` in the file
    #[arg(long, env = "ARBITER_DATA", default_value = "../shared/data")]
    pub data: PathBuf,
    /// Keep every arm's audit log under OUT/work (for `arbiter audit verify`)
    #[arg(long)]
    pub keep_audit: bool,
}

struct Bar(Option<ProgressBar>);

impl Progress for Bar {
    fn note(&mut self, what: &str) {
        match &self.0 {
            Some(pb) => pb.set_message(what.to_string()),
            None => eprintln!("simulate: {what}"),
        }
    }
    fn start(&mut self, total: u64) {
        let pb = crate::progress::counter(total, "simulated days");
        self.0 = Some(pb);
    }
    fn day(&mut self) {
        if let Some(pb) = &self.0 {
            pb.inc(1);
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let loaded = arbiter_simulate::config::load(&args.config)?;
    let opts = RunOptions {
        seeds: args.seeds,
        out: args.out.clone(),
        data_dir: args.data.clone(),
        keep_work: args.keep_audit,
    };
    let started = std::time::Instant::now();
    let mut bar = Bar(None);
    let runs = arbiter_simulate::run::run(&loaded, &opts, &mut bar)?;
    if let Some(pb) = bar.0 {
        pb.finish_and_clear();
    }
    let mut command = format!(
        "arbiter simulate --config {} --out {}",
        args.config.display(),
        args.out.display()
    );
    if let Some(n) = args.seeds {
        command.push_str(&format!(" --seeds {n}"));
    }
    let input = arbiter_simulate::run::ReportInput {
        loaded: &loaded,
        command,
    };
    let summary = arbiter_simulate::run::report(&runs, &input, &args.out)?;
    for (arm, s) in &summary.arms {
        let get = |m: &str| s.overall.get(m).copied().flatten().map(|e| e.mean);
        let show = |m: &str, k: f64, unit: &str| {
            get(m).map_or("n/a".to_string(), |v| format!("{:.2}{unit}", v * k))
        };
        println!(
            "{arm:<15} ADR {}  FPOA {}  silent misses {}  HIY {}  backlog (mean) {}",
            show("adr", 100.0, " %"),
            show("fpoa_per_1000", 1.0, " per 1,000"),
            show("silent_miss_share", 100.0, " % of attacks"),
            show("hiy", 100.0, " %"),
            show("backlog", 1.0, ""),
        );
    }
    println!("report: {}", args.out.join("report.md").display());
    eprintln!("simulated in {:.1}s", started.elapsed().as_secs_f64());
    Ok(())
}
