//! A whole run: prepare once, then for each seed build the stream and drive every arm through
//! it.

use std::path::PathBuf;
use std::sync::Arc;

use arbiter_core::Tier;
use arbiter_policy::Policy;
use arbiter_triage::Scorer;

use crate::arms::{ArmFactory, ArmSetup, builtin, drive};
use crate::config::Loaded;
use crate::error::SimError;
use crate::outcome::ArmRun;

use crate::source::Prepared;

/// Where a run reads and writes.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Seeds to run (default: the file's `seeds`); seeds are 1..=N.
    pub seeds: Option<u64>,
    /// Output directory (bundle, generated data, report).
    pub out: PathBuf,
    /// Where `${ARBITER_DATA}` points.
    pub data_dir: PathBuf,
    /// Keep each arm's audit log under `out/work/seed-N-ARM` (normally removed after the run).
    pub keep_work: bool,
}

/// How a run reports progress.
pub trait Progress {
    /// A stage in words.
    fn note(&mut self, what: &str);
    /// `total` simulated days (days × arms × seeds) will be driven; called once.
    fn start(&mut self, total: u64);
    /// One more simulated day driven.
    fn day(&mut self);
}

/// Says nothing.
pub struct Quiet;

impl Progress for Quiet {
    fn note(&mut self, _what: &str) {}
    fn start(&mut self, _total: u64) {}
    fn day(&mut self) {}
}

/// What a run produced.
pub struct Runs {
    pub prepared: Prepared,
    pub seeds: u64,
    /// Every arm's run on every seed, seed by seed in the file's arm order.
    pub runs: Vec<ArmRun>,
    /// Each arm's name and description, in run order.
    pub arms: Vec<(String, String)>,
}

/// Runs the arms the configuration lists (`arms:`), each a built-in [`ArmFactory`].
pub fn run(
    loaded: &Loaded,
    opts: &RunOptions,
    progress: &mut dyn Progress,
) -> Result<Runs, SimError> {
    let factories: Vec<Box<dyn ArmFactory>> =
        loaded.config.arms.iter().map(|k| builtin(*k)).collect();
    let refs: Vec<&dyn ArmFactory> = factories.iter().map(|f| f.as_ref()).collect();
    run_with(loaded, opts, progress, &refs)
}

/// Runs the given arms on every seed's stream, in order: the extension point through which a
/// later capability (learning from feedback, trust repair) is measured on exactly the same
/// alerts as the built-in arms, without a change here.
pub fn run_with(
    loaded: &Loaded,
    opts: &RunOptions,
    progress: &mut dyn Progress,
    arms: &[&dyn ArmFactory],
) -> Result<Runs, SimError> {
    let c = &loaded.config;
    std::fs::create_dir_all(&opts.out).map_err(|source| SimError::Io {
        path: opts.out.clone(),
        source,
    })?;
    let prepared =
        crate::source::prepare(loaded, &opts.out, &opts.data_dir, &mut |s| progress.note(s))?;
    let policy_path = loaded.resolve(&c.policy, &opts.data_dir);
    let policy = Arc::new(Policy::load(&policy_path)?);
    let policy_text = std::fs::read_to_string(&policy_path).map_err(|source| SimError::Io {
        path: policy_path.clone(),
        source,
    })?;
    let scorer = Arc::new(Scorer::new(prepared.model.clone(), None, None)?);
    let start_ms = c.start_ms();
    let seeds = opts.seeds.unwrap_or(c.seeds).max(1);
    progress.start(seeds * arms.len() as u64 * u64::from(c.days));
    let work = opts.out.join("work");
    let mut runs = Vec::new();
    for seed in 1..=seeds {
        progress.note(&format!("seed {seed} of {seeds}"));
        let schedule = crate::stream::schedule(c, &prepared, start_ms, seed);
        for factory in arms {
            let audit = work.join(format!("seed-{seed}-{}", factory.name()));
            let _ = std::fs::remove_dir_all(&audit);
            let setup = ArmSetup {
                prepared: &prepared,
                scorer: &scorer,
                policy: &policy,
                policy_text: &policy_text,
                team: &c.analysts,
                audit_dir: &audit,
                seed,
                days: c.days,
                start_ms,
            };
            let mut arm = factory.build(&setup)?;
            drive(arm.as_mut(), &schedule, start_ms, c.days, &mut || {
                progress.day()
            })?;
            runs.push(arm.finish()?);
            if !opts.keep_work {
                let _ = std::fs::remove_dir_all(&audit);
            }
        }
    }
    if !opts.keep_work {
        let _ = std::fs::remove_dir_all(&work);
    }
    Ok(Runs {
        arms: arms
            .iter()
            .map(|f| (f.name().to_string(), f.description().to_string()))
            .collect(),
        prepared,
        seeds,
        runs,
    })
}

/// What the report needs beyond the runs: how it was produced.
#[derive(Debug, Clone)]
pub struct ReportInput<'a> {
    pub loaded: &'a Loaded,
    /// The command line as the user would retype it (printed in the report).
    pub command: String,
}

/// Measures every run, summarises the seeds and writes `report.json`, `report.md` and the
/// plots into `dir`. Returns the summary.
pub fn report(
    runs: &Runs,
    input: &ReportInput<'_>,
    dir: &std::path::Path,
) -> Result<crate::metrics::Summary, SimError> {
    let mut by_arm: std::collections::BTreeMap<String, Vec<crate::metrics::RunMetrics>> =
        std::collections::BTreeMap::new();
    for r in &runs.runs {
        by_arm
            .entry(r.arm.clone())
            .or_default()
            .push(crate::metrics::measure(r));
    }
    let summary = crate::metrics::summarise(&by_arm);
    let c = &input.loaded.config;
    let per_seed: Vec<u64> = runs
        .runs
        .iter()
        .filter(|r| Some(&r.arm) == runs.runs.first().map(|f| &f.arm))
        .map(|r| r.outcomes.len() as u64)
        .collect();
    let alerts_per_seed = if per_seed.is_empty() {
        0
    } else {
        (per_seed.iter().sum::<u64>() as f64 / per_seed.len() as f64).round() as u64
    };
    let meta = crate::report::ReportMeta {
        title: format!("Simulation: {}", c.name),
        config: input.loaded.path.display().to_string(),
        seeds: (1..=runs.seeds).collect(),
        days: c.days,
        alerts_per_seed,
        command: input.command.clone(),
        description: describe(runs, c),
    };
    crate::report::write_report(dir, &meta, &summary)?;
    Ok(summary)
}

/// The report's opening text: the configuration's own description, then what the run set up
/// (day-0 model, novel families, arms) and how each arm routed its alerts, so a low ADR or a
/// long backlog can be read from the report itself.
fn describe(runs: &Runs, c: &crate::config::SimConfig) -> String {
    use std::collections::BTreeMap;
    use std::fmt::Write as _;
    let p = &runs.prepared;
    let mut s = String::new();
    if !c.description.trim().is_empty() {
        let _ = writeln!(s, "{}\n", c.description.trim());
    }
    let known: Vec<&str> = p.known.iter().map(String::as_str).collect();
    let _ = writeln!(
        s,
        "Day 0: model `{}` trained on {} rows of {}.",
        p.model.id,
        p.train_rows,
        known.join(", ")
    );
    let mut novel: Vec<(u32, &str)> = p
        .pool
        .iter()
        .filter(|r| p.novel(&r.family))
        .map(|r| {
            let first = |k: &str| p.first_day.get(k).copied().unwrap_or(0);
            (first(&r.family).max(first(&r.category)), r.family.as_str())
        })
        .collect();
    novel.sort_unstable();
    novel.dedup();
    if !novel.is_empty() {
        let list: Vec<String> = novel
            .iter()
            .map(|(d, f)| format!("{f} (day {d})"))
            .collect();
        let _ = writeln!(
            s,
            "Novel families (not in day-0 training, first day): {}.",
            list.join(", ")
        );
    }
    let team = &c.analysts.team;
    let capacity: f64 = team
        .iter()
        .map(|a| a.reviews_per_hour * a.shift.hours)
        .sum();
    let _ = writeln!(
        s,
        "Team: {} analysts, at most {capacity:.0} reviews a day between them.\n",
        team.len()
    );
    let _ = writeln!(s, "Arms:\n");
    for (name, description) in &runs.arms {
        let _ = writeln!(s, "- `{name}`: {description}");
    }
    s.push('\n');
    for (name, _) in &runs.arms {
        let of_arm: Vec<&ArmRun> = runs.runs.iter().filter(|r| &r.arm == name).collect();
        if of_arm.is_empty() {
            continue;
        }
        let n = of_arm.len() as f64;
        let mut tiers: BTreeMap<String, usize> = BTreeMap::new();
        let mut flags: BTreeMap<String, usize> = BTreeMap::new();
        let mut total = 0usize;
        let mut refused = 0u64;
        for r in &of_arm {
            total += r.outcomes.len();
            refused += r.refused_reviews;
            for o in &r.outcomes {
                let tier = o.tier.map_or("none", Tier::as_str);
                *tiers.entry(tier.to_string()).or_default() += 1;
                for f in &o.flags {
                    *flags.entry(f.as_str().to_string()).or_default() += 1;
                }
            }
        }
        let share = |k: usize| 100.0 * k as f64 / total.max(1) as f64;
        if tiers.len() > 1 || !tiers.contains_key("none") {
            let t: Vec<String> = tiers
                .iter()
                .map(|(k, v)| format!("{k} {:.1} %", share(*v)))
                .collect();
            let f: Vec<String> = flags
                .iter()
                .map(|(k, v)| format!("{k} {:.1} %", share(*v)))
                .collect();
            let _ = writeln!(
                s,
                "`{name}` routed its alerts (all seeds): {}; flags raised: {}; reviews the ledger \
                 refused: {:.1} a seed.",
                t.join(", "),
                if f.is_empty() {
                    "none".to_string()
                } else {
                    f.join(", ")
                },
                refused as f64 / n
            );
        }
    }
    s.trim_end().to_string()
}
