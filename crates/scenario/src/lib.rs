//! Arbiter's built-in scenario generator: labelled, realistic-looking, **synthetic** SOC data.
//!
//! `arbiter generate --scenario NAME --seed N --out DIR` calls [`generate`], which writes
//! `schema.yaml` (readable by [`arbiter_core::Schema::from_yaml`], `synthetic: true`),
//! `train.csv`, `test.csv` and a `README.md` saying what was generated and that it is synthetic.
//! It lets the whole pipeline (train, score, evaluate, auto-close) run on a fresh machine with no
//! real dataset, and gives tests realistic data quickly.
//!
//! One row is one 15-minute alert window for a (host, account) pair with 4 categorical and 27
//! numeric features an EDR/SIEM would compute (authentication, process, network, file). Benign
//! rows (about 70%) come from overlapping sub-populations (office staff, developers, admins,
//! servers, domain controllers, build servers, backup jobs, a vulnerability scanner, VPN
//! logons), so scary-looking benign activity is common. Six attack categories each have a loud
//! and a quiet low-and-slow variant. `ransomware` is held out of training and makes up about 5%
//! of the test file as the novel category. Labels are exact: overlap comes from the features,
//! never from label noise.
//!
//! Output is byte-identical for the same generator version, scenario, seed and [`Options`]:
//! randomness is ChaCha8 with separate streams for the fleet, each file, drift and gaps, so
//! turning drift or gaps on changes only the rows they touch.
//!
//! ```no_run
//! use arbiter_scenario::{Options, generate};
//! let summary = generate("soc-mixed", 7, &Options::default(), "out".as_ref()).unwrap();
//! println!("{} novel rows in test", summary.test.by_category[&summary.novel]);
//! ```

mod attacks;
mod benign;
mod event;
mod fields;
mod inventory;
mod output;
mod split;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rand::SeedableRng;
use serde::Serialize;
use thiserror::Error;

use crate::event::{Event, NOVEL, Rng, TEST_PERIOD, TRAIN_PERIOD};
use crate::inventory::Inventory;

/// Fewest rows a file may have, so that every category is present.
pub const MIN_ROWS: usize = 100;

/// Highest gap rate in training data; the test file uses [`Options::gaps`] itself.
pub const TRAIN_GAP_CAP: f64 = 0.01;

/// How much to generate and which complications to add.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Options {
    /// Rows in `train.csv` (at least [`MIN_ROWS`]).
    pub train_rows: usize,
    /// Rows in `test.csv` (at least [`MIN_ROWS`]).
    pub test_rows: usize,
    /// Shift benign behaviour in the test period (a software rollout on part of the fleet with a
    /// sensor build never seen in training).
    pub drift: bool,
    /// Fraction of test rows with a telemetry gap (features of the failed pipeline left empty),
    /// in `[0, 1]`. Training uses `min(gaps, TRAIN_GAP_CAP)`.
    pub gaps: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            train_rows: 40_000,
            test_rows: 15_000,
            drift: false,
            gaps: 0.03,
        }
    }
}

/// What one generated file holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileSummary {
    pub path: PathBuf,
    pub rows: usize,
    /// Rows per category (`benign` or the attack name).
    pub by_category: BTreeMap<String, usize>,
    /// Rows with at least one feature left empty by a telemetry gap.
    pub rows_with_gaps: usize,
    /// Rows changed by drift (0 in training and when drift is off).
    pub drifted_rows: usize,
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub scenario: String,
    pub seed: u64,
    /// The options in effect (a scenario may force some, e.g. `soc-drift` turns drift on).
    pub options: Options,
    pub schema: PathBuf,
    pub readme: PathBuf,
    pub train: FileSummary,
    pub test: FileSummary,
    /// The category present in test but never in training.
    pub novel: String,
    /// Always true: this data is generated.
    pub synthetic: bool,
}

/// Why generation failed.
#[derive(Debug, Error)]
pub enum ScenarioError {
    #[error("unknown scenario {name:?}: known scenarios are {known}")]
    UnknownScenario { name: String, known: String },
    #[error("invalid option {option} = {value}: {expected}")]
    InvalidOption {
        option: &'static str,
        value: String,
        expected: String,
    },
    #[error("cannot create output directory {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

const SCENARIOS: &[(&str, &str)] = &[
    (
        "soc-mixed",
        "SYNTHETIC SOC alert windows: about 70% benign from overlapping sub-populations, six \
         attack categories with loud and quiet variants, ransomware held out of training as novel",
    ),
    (
        "soc-drift",
        "soc-mixed with drift always on: in the test period a software rollout on a third of \
         Windows workstations brings a new EDR sensor build and extra outbound traffic",
    ),
];

/// The built-in scenarios: (name, one-line description).
pub fn scenarios() -> &'static [(&'static str, &'static str)] {
    SCENARIOS
}

/// Random stream numbers: each part of the output draws from its own stream.
mod stream {
    pub const FLEET: u64 = 0;
    pub const TRAIN: u64 = 1;
    pub const TEST: u64 = 2;
    pub const DRIFT: u64 = 3;
    pub const TRAIN_GAPS: u64 = 4;
    pub const TEST_GAPS: u64 = 5;
}

fn rng(seed: u64, stream: u64) -> Rng {
    let mut r = Rng::seed_from_u64(seed);
    r.set_stream(stream);
    r
}

fn validate(options: &Options) -> Result<(), ScenarioError> {
    for (option, n) in [
        ("train_rows", options.train_rows),
        ("test_rows", options.test_rows),
    ] {
        if n < MIN_ROWS {
            return Err(ScenarioError::InvalidOption {
                option,
                value: n.to_string(),
                expected: format!("expected at least {MIN_ROWS} rows so every category appears"),
            });
        }
    }
    if !(0.0..=1.0).contains(&options.gaps) {
        return Err(ScenarioError::InvalidOption {
            option: "gaps",
            value: options.gaps.to_string(),
            expected: "expected a fraction of rows between 0 and 1".into(),
        });
    }
    Ok(())
}

/// Generates scenario `scenario` with `seed` into `out_dir` (created if needed; existing files
/// of the same names are replaced) and says what was written.
pub fn generate(
    scenario: &str,
    seed: u64,
    options: &Options,
    out_dir: &Path,
) -> Result<Summary, ScenarioError> {
    if !SCENARIOS.iter().any(|(n, _)| *n == scenario) {
        let known: Vec<&str> = SCENARIOS.iter().map(|(n, _)| *n).collect();
        return Err(ScenarioError::UnknownScenario {
            name: scenario.to_string(),
            known: known.join(", "),
        });
    }
    validate(options)?;
    let mut options = options.clone();
    options.drift |= scenario == "soc-drift";

    let inv = Inventory::new(&mut rng(seed, stream::FLEET));
    let mut train = split::events(
        &mut rng(seed, stream::TRAIN),
        &inv,
        TRAIN_PERIOD,
        &split::counts(options.train_rows, true),
    );
    let mut test = split::events(
        &mut rng(seed, stream::TEST),
        &inv,
        TEST_PERIOD,
        &split::counts(options.test_rows, false),
    );
    split::sort(&mut train);
    split::sort(&mut test);
    let drifted = if options.drift {
        split::drift(&mut rng(seed, stream::DRIFT), &inv, &mut test)
    } else {
        0
    };
    let train_gap_rate = options.gaps.min(TRAIN_GAP_CAP);
    let train_gaps = split::gaps(
        &mut rng(seed, stream::TRAIN_GAPS),
        &mut train,
        train_gap_rate,
    );
    let test_gaps = split::gaps(&mut rng(seed, stream::TEST_GAPS), &mut test, options.gaps);

    std::fs::create_dir_all(out_dir).map_err(|source| ScenarioError::CreateDir {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let schema = out_dir.join("schema.yaml");
    output::write(&schema, &fields::schema_yaml())?;
    let file = |name: &str, events: &[Event], gaps: usize, drifted: usize| FileSummary {
        path: out_dir.join(name),
        rows: events.len(),
        by_category: by_category(events),
        rows_with_gaps: gaps,
        drifted_rows: drifted,
    };
    let train_summary = file("train.csv", &train, train_gaps, 0);
    output::write(&train_summary.path, &output::csv(&train, &inv, "train"))?;
    let test_summary = file("test.csv", &test, test_gaps, drifted);
    output::write(&test_summary.path, &output::csv(&test, &inv, "test"))?;

    let summary = Summary {
        scenario: scenario.to_string(),
        seed,
        options,
        schema,
        readme: out_dir.join("README.md"),
        train: train_summary,
        test: test_summary,
        novel: NOVEL.as_str().to_string(),
        synthetic: true,
    };
    output::write(&summary.readme, &output::readme(&summary))?;
    Ok(summary)
}

fn by_category(events: &[Event]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for e in events {
        *m.entry(e.category.as_str().to_string()).or_insert(0) += 1;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Category;

    #[test]
    fn the_novel_category_is_ransomware() {
        assert_eq!(NOVEL, Category::Ransomware);
    }
}
