//! What every seed of a run shares: the day-0 model (trained once, without the withheld
//! families) and the pool of labelled alerts the stream is drawn from.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arbiter_core::{BENIGN, Schema};
use arbiter_ingest::{OnError, Record};
use arbiter_model::Model;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::config::{Data, Loaded};
use crate::error::SimError;

/// One labelled row the stream can draw.
#[derive(Debug, Clone)]
pub struct Pooled {
    pub record: Record,
    pub malicious: bool,
    /// The finest name the data gives: the attack label (`neptune`), else the category.
    pub family: String,
    /// The category (`dos`, or `benign`): what an analyst's corrected label names.
    pub category: String,
}

/// The shared part of a run.
pub struct Prepared {
    pub schema: Schema,
    pub model: Arc<Model>,
    pub bundle: PathBuf,
    /// Families in the day-0 training rows.
    pub known: BTreeSet<String>,
    pub pool: Vec<Pooled>,
    /// Day each family may first appear (families absent at day 0 default to day 0).
    pub first_day: BTreeMap<String, u32>,
    /// How many training rows day 0 used.
    pub train_rows: usize,
}

impl Prepared {
    /// Whether `family` was not in day-0 training.
    pub fn novel(&self, family: &str) -> bool {
        family != BENIGN && !self.known.contains(family)
    }
}

fn family_of(r: &Record) -> (String, String) {
    let category = r.category.clone().unwrap_or_else(|| BENIGN.to_string());
    let family = if category == BENIGN {
        BENIGN.to_string()
    } else {
        r.label.clone().unwrap_or_else(|| category.clone())
    };
    (family, category)
}

/// Generates or reads the data, trains the day-0 bundle into `out/bundle` and reads the stream
/// pool. `note` reports progress in words.
pub fn prepare(
    loaded: &Loaded,
    out: &Path,
    data_dir: &Path,
    note: &mut dyn FnMut(&str),
) -> Result<Prepared, SimError> {
    let c = &loaded.config;
    let (schema_path, train_path, stream_path) = match &c.data {
        Data::Scenario {
            name,
            seed,
            train_rows,
            stream_rows,
            drift,
            gaps,
        } => {
            let dir = out.join("data");
            note(&format!(
                "generating the SYNTHETIC scenario {name} (seed {seed})"
            ));
            arbiter_scenario::generate(
                name,
                *seed,
                &arbiter_scenario::Options {
                    train_rows: *train_rows,
                    test_rows: *stream_rows,
                    drift: *drift,
                    gaps: *gaps,
                },
                &dir,
            )?;
            (
                dir.join("schema.yaml"),
                dir.join("train.csv"),
                dir.join("test.csv"),
            )
        }
        Data::Files {
            schema,
            train,
            stream,
        } => (
            loaded.resolve(schema, data_dir),
            loaded.resolve(train, data_dir),
            loaded.resolve(stream, data_dir),
        ),
    };
    let schema = arbiter_ingest::load_schema(&schema_path)?;
    note(&format!("reading {}", train_path.display()));
    let mut train = arbiter_ingest::load(&schema, &train_path, OnError::Skip, &mut |_, _| {})?;
    let withheld: BTreeSet<&str> = c.day0.withhold.iter().map(String::as_str).collect();
    train.records.retain(|r| {
        let (family, category) = family_of(r);
        !withheld.contains(family.as_str()) && !withheld.contains(category.as_str())
    });
    if let Some(max) = c.day0.max_train_rows
        && train.records.len() > max
    {
        let mut rng = ChaCha8Rng::seed_from_u64(c.day0.seed.unwrap_or(1));
        train.records.shuffle(&mut rng);
        train.records.truncate(max);
        train.records.sort_by_key(|r| r.line);
    }
    if train.records.is_empty() {
        return Err(SimError::Data(format!(
            "{}: no training rows left after withholding {:?}",
            train_path.display(),
            c.day0.withhold
        )));
    }
    let known: BTreeSet<String> = train.records.iter().map(|r| family_of(r).0).collect();
    let train_rows = train.records.len();
    let mut options = arbiter_train::TrainOptions::default();
    if let Some(m) = c.day0.members {
        options.members = m;
    }
    if let Some(i) = c.day0.iterations {
        options.iterations = i;
    }
    if let Some(s) = c.day0.seed {
        options.seed = s;
    }
    note(&format!("training the day-0 bundle on {train_rows} rows"));
    let inputs = vec![arbiter_train::InputFile {
        name: train_path
            .file_name()
            .map_or("train".into(), |n| n.to_string_lossy().into_owned()),
        sha256: arbiter_ingest::file_sha256(&train_path)?,
        data: train,
    }];
    let trained = arbiter_train::train(&schema, inputs, &options, &arbiter_train::Quiet)?;
    let bundle = out.join("bundle");
    arbiter_train::bundle::write(&bundle, &trained.files)?;
    let model = Arc::new(Model::load(&bundle)?);
    note(&format!("reading the stream {}", stream_path.display()));
    let stream = arbiter_ingest::load(&schema, &stream_path, OnError::Skip, &mut |_, _| {})?;
    let pool: Vec<Pooled> = stream
        .records
        .into_iter()
        .filter(|r| r.category.is_some())
        .map(|record| {
            let (family, category) = family_of(&record);
            Pooled {
                malicious: category != BENIGN,
                family,
                category,
                record,
            }
        })
        .collect();
    if pool.is_empty() {
        return Err(SimError::Data(format!(
            "{}: the stream holds no labelled rows",
            stream_path.display()
        )));
    }
    let mut first_day = c.stream.first_day.clone();
    for p in &pool {
        first_day.entry(p.family.clone()).or_insert(0);
    }
    for (family, day) in &c.stream.first_day {
        if *day >= c.days {
            return Err(SimError::Config {
                origin: loaded.path.display().to_string(),
                line: None,
                message: format!(
                    "stream.first_day.{family} = {day}: the run has only {} days",
                    c.days
                ),
            });
        }
        if !pool
            .iter()
            .any(|p| &p.family == family || &p.category == family)
        {
            return Err(SimError::Config {
                origin: loaded.path.display().to_string(),
                line: None,
                message: format!("stream.first_day.{family}: no such family in the stream"),
            });
        }
    }
    Ok(Prepared {
        schema,
        model,
        bundle,
        known,
        pool,
        first_day,
        train_rows,
    })
}
