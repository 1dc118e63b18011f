//! What every seed of a run shares: the day-0 model (trained once, without the withheld
//! families) and the pool of labelled alerts the stream is drawn from.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arbiter_core::{BENIGN, Schema};
use arbiter_ingest::{OnError, Record};
use arbiter_model::Model;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
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

/// `(family, category)` of a labelled row. The family is the finest name the data gives: the
/// label when the schema maps it to a category (NSL-KDD's `neptune` → `dos`), else the category
/// (UNSW-NB15's label is only 0/1, its family is `attack_cat`).
fn family_of(schema: &Schema, r: &Record) -> (String, String) {
    let category = r.category.clone().unwrap_or_else(|| BENIGN.to_string());
    let named = r.label.as_ref().filter(|l| {
        schema
            .label
            .as_ref()
            .is_some_and(|s| s.categories.contains_key(l.as_str()))
    });
    let family = match named {
        Some(label) if category != BENIGN => label.clone(),
        _ => category.clone(),
    };
    (family, category)
}

/// Default share of a split train file that is streamed.
pub const DEFAULT_STREAM_SHARE: f64 = 0.3;

/// Generates or reads the data, trains the day-0 bundle into `out/bundle` and reads the stream
/// pool. `note` reports progress in words.
pub fn prepare(
    loaded: &Loaded,
    out: &Path,
    data_dir: &Path,
    note: &mut dyn FnMut(&str),
) -> Result<Prepared, SimError> {
    let c = &loaded.config;
    let mut split = None;
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
                Some(dir.join("test.csv")),
            )
        }
        Data::Files {
            schema,
            train,
            stream,
            stream_share,
        } => {
            if stream.is_none() {
                split = Some(stream_share.unwrap_or(DEFAULT_STREAM_SHARE));
            }
            (
                loaded.resolve(schema, data_dir),
                loaded.resolve(train, data_dir),
                stream.as_ref().map(|s| loaded.resolve(s, data_dir)),
            )
        }
    };
    let schema = arbiter_ingest::load_schema(&schema_path)?;
    check_event_fields(loaded, &schema)?;
    note(&format!("reading {}", train_path.display()));
    let mut train = arbiter_ingest::load(&schema, &train_path, OnError::Skip, &mut |_, _| {})?;
    let withheld: BTreeSet<&str> = c.day0.withhold.iter().map(String::as_str).collect();
    let is_withheld = |r: &Record| {
        let (family, category) = family_of(&schema, r);
        withheld.contains(family.as_str()) || withheld.contains(category.as_str())
    };
    // Rows streamed from the train file itself (a split): withheld families and a seeded share.
    let mut streamed = Vec::new();
    if let Some(share) = split {
        let mut rng = ChaCha8Rng::seed_from_u64(c.day0.seed.unwrap_or(1));
        rng.set_stream(7);
        let (mut keep, mut out) = (Vec::new(), Vec::new());
        for r in std::mem::take(&mut train.records) {
            if is_withheld(&r) || rng.random_bool(share) {
                out.push(r);
            } else {
                keep.push(r);
            }
        }
        train.records = keep;
        streamed = out;
    } else {
        train.records.retain(|r| !is_withheld(r));
    }
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
    let known: BTreeSet<String> = train
        .records
        .iter()
        .map(|r| family_of(&schema, r).0)
        .collect();
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
        weights: None,
    }];
    let trained = arbiter_train::train(&schema, inputs, &options, &arbiter_train::Quiet)?;
    let bundle = out.join("bundle");
    arbiter_train::bundle::write(&bundle, &trained.files)?;
    let model = Arc::new(Model::load(&bundle)?);
    let (stream_name, stream) = match &stream_path {
        Some(path) => {
            note(&format!("reading the stream {}", path.display()));
            let data = arbiter_ingest::load(&schema, path, OnError::Skip, &mut |_, _| {})?;
            (path.display().to_string(), data.records)
        }
        None => (
            format!("{} (streamed share)", train_path.display()),
            streamed,
        ),
    };
    let pool: Vec<Pooled> = stream
        .into_iter()
        .filter(|r| r.category.is_some())
        .map(|record| {
            let (family, category) = family_of(&schema, &record);
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
            "{stream_name}: the stream holds no labelled rows"
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

/// Every field an event names must be a feature of the schema, and a drifted one numeric: an
/// event on a misspelt field would otherwise do nothing, silently.
fn check_event_fields(loaded: &Loaded, schema: &Schema) -> Result<(), SimError> {
    use crate::config::Event;
    use arbiter_core::FieldRole;
    let role = |name: &str| schema.features().find(|f| f.name == name).map(|f| f.role);
    let features = || {
        schema
            .features()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    for (i, e) in loaded.config.events.iter().enumerate() {
        let (fields, numeric): (Vec<&String>, bool) = match e {
            Event::Drift { fields, .. } => (fields.keys().collect(), true),
            Event::Telemetry { missing, .. } => (missing.iter().collect(), false),
            _ => continue,
        };
        for name in fields {
            let problem = match role(name) {
                None => format!(
                    "field {name:?} is not a feature of the schema (features: {})",
                    features()
                ),
                Some(r) if numeric && r != FieldRole::Numeric => {
                    format!("field {name:?} is not numeric, so it cannot drift by scale and shift")
                }
                Some(_) => continue,
            };
            return Err(SimError::Config {
                origin: loaded.path.display().to_string(),
                line: None,
                message: format!("events[{i}]: {problem}"),
            });
        }
    }
    Ok(())
}
