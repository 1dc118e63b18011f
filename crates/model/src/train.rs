//! Training: ensemble, category head, calibrator, conformal sets, OOD detector and the
//! risk-control table, written as one reproducible bundle.
//!
//! Rows are split, stratified by category and seeded, into four parts:
//! 1. training — the ensemble members (each on its own subsample), the category head and the
//!    OOD reference;
//! 2. calibrator fit — choosing and fitting the probability calibrator and the head temperature;
//! 3. conformal — class-conditional conformal scores and the OOD score scale;
//! 4. risk control — the auto-close thresholds and the held-out metrics in the model card.
//!
//! Each later part is untouched by the fitting of earlier steps, so the conformal and
//! risk-control guarantees rest on rows the model never saw.

use std::collections::{BTreeMap, BTreeSet};

use arbiter_core::{BENIGN, Schema, Verdict};
use arbiter_ingest::{Loaded, Record};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::calibrate;
use crate::conformal::Conformal;
use crate::encode::Encoder;
use crate::error::ModelError;
use crate::flags::FlagRules;
use crate::infer::{Model, softmax};
use crate::lgbm::{self, TrainSpec};
use crate::novelty;
use crate::ood::Detector;
use crate::risk;
use crate::spec::{BUNDLE_FORMAT, CategoryHead, DataFile, ModelSpec, TrainingInfo};
use crate::split;

/// Knobs of training. Meaning lives in the schema; these are the modelling choices.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    pub members: usize,
    pub iterations: usize,
    pub learning_rate: f64,
    pub num_leaves: usize,
    pub subsample: f64,
    pub seed: u64,
    /// Conformal level stored as the bundle's default (and used for flags).
    pub alpha: f64,
    /// Risk-control confidence is 1 − delta.
    pub delta: f64,
    pub split: [f64; 4],
    pub ood_k: usize,
    pub ood_reference: usize,
    /// OOD flag level; `None` chooses it by the novelty rehearsal.
    pub ood_quantile: Option<f64>,
    /// Largest share of a never-seen family the rehearsal lets through unflagged.
    pub novelty_target: f64,
    pub flags: FlagRules,
    pub folds: usize,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            members: 5,
            iterations: 100,
            learning_rate: 0.1,
            num_leaves: 31,
            subsample: 0.8,
            seed: 42,
            alpha: 0.05,
            delta: 0.05,
            split: [0.7, 0.1, 0.1, 0.1],
            ood_k: 5,
            ood_reference: 20_000,
            ood_quantile: None,
            novelty_target: 0.01,
            flags: FlagRules::default(),
            folds: 5,
        }
    }
}

/// Reports long steps to whoever is watching (the CLI draws progress bars).
pub trait Progress: Sync {
    fn stage(&self, name: &str, steps: u64);
    fn step(&self);
}

/// Progress that goes nowhere.
pub struct Quiet;

impl Progress for Quiet {
    fn stage(&self, _: &str, _: u64) {}
    fn step(&self) {}
}

/// One training input file.
pub struct InputFile {
    /// File name without directories.
    pub name: String,
    pub sha256: String,
    pub data: Loaded,
}

/// The result of training: the model (ready to score) and the bundle's files.
pub struct Trained {
    pub model: Model,
    pub files: BTreeMap<String, Vec<u8>>,
}

fn gather(x: &[f64], width: usize, rows: &[usize]) -> Vec<f64> {
    let mut out = Vec::with_capacity(rows.len() * width);
    for &r in rows {
        out.extend_from_slice(&x[r * width..(r + 1) * width]);
    }
    out
}

fn base_params(opts: &TrainOptions, seed: u64) -> Vec<(String, String)> {
    [
        ("num_leaves", opts.num_leaves.to_string()),
        ("learning_rate", opts.learning_rate.to_string()),
        ("feature_fraction", "0.9".into()),
        ("seed", seed.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Trains everything on labelled input files.
pub fn train(
    schema: &Schema,
    inputs: Vec<InputFile>,
    opts: &TrainOptions,
    progress: &dyn Progress,
) -> Result<Trained, ModelError> {
    let mut data_files = Vec::new();
    let mut records: Vec<Record> = Vec::new();
    for f in inputs {
        data_files.push(DataFile {
            name: f.name.clone(),
            sha256: f.sha256,
            rows: f.data.report.rows_accepted,
            skipped: f.data.report.rows_skipped,
        });
        for r in f.data.records {
            if r.category.is_none() {
                return Err(ModelError::Row {
                    file: f.name.clone(),
                    line: r.line,
                    message: "the row has no label, and training needs ground truth".into(),
                });
            }
            records.push(r);
        }
    }
    let cats: Vec<&str> = records
        .iter()
        .map(|r| r.category.as_deref().unwrap_or(""))
        .collect();
    let attacks = cats.iter().filter(|c| **c != BENIGN).count();
    if attacks == 0 || attacks == cats.len() {
        return Err(ModelError::Training(format!(
            "need both benign and malicious rows, found {} benign and {attacks} malicious",
            cats.len() - attacks
        )));
    }
    let part = split::stratified(&cats, &opts.split, opts.seed);
    let parts: Vec<Vec<usize>> = (0..4)
        .map(|k| (0..records.len()).filter(|&i| part[i] == k).collect())
        .collect();
    for (k, name) in ["training", "calibrator", "conformal", "risk-control"]
        .iter()
        .enumerate()
    {
        if parts[k].len() < 20 {
            return Err(ModelError::Training(format!(
                "the {name} split holds {} rows; give at least a few hundred labelled rows",
                parts[k].len()
            )));
        }
    }
    let train_recs: Vec<Record> = parts[0].iter().map(|&i| records[i].clone()).collect();
    let encoder = Encoder::fit(schema, &train_recs);
    drop(train_recs);
    let width = encoder.width();
    let (x, notes) = encoder.encode_all(&records);
    let malicious: Vec<bool> = cats.iter().map(|c| *c != BENIGN).collect();
    let mut classes: Vec<String> = cats
        .iter()
        .filter(|c| **c != BENIGN)
        .map(|c| c.to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    classes.insert(0, BENIGN.to_string());
    let class_of: BTreeMap<&str, usize> = classes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let names = encoder.spec.names.clone();
    let categorical = encoder.categorical();

    // Ensemble members, category head and baseline, in parallel.
    progress.stage("training models", (opts.members + 2) as u64);
    let jobs: Vec<usize> = (0..opts.members + 2).collect();
    let texts: Vec<String> = jobs
        .par_iter()
        .map(|&job| {
            let result = if job < opts.members {
                let mut rows = parts[0].clone();
                let mut rng = ChaCha8Rng::seed_from_u64(opts.seed.wrapping_add(1 + job as u64));
                rows.shuffle(&mut rng);
                rows.truncate(((rows.len() as f64) * opts.subsample).ceil() as usize);
                rows.sort_unstable();
                let y: Vec<f32> = rows
                    .iter()
                    .map(|&r| f32::from(u8::from(malicious[r])))
                    .collect();
                let mut params = base_params(opts, opts.seed.wrapping_add(101 + job as u64));
                params.push(("objective".into(), "binary".into()));
                lgbm::train(&TrainSpec {
                    x: &gather(&x, width, &rows),
                    n_features: width,
                    y: &y,
                    names: &names,
                    categorical: &categorical,
                    params,
                    iterations: opts.iterations,
                })
            } else if job == opts.members {
                let rows = &parts[0];
                let y: Vec<f32> = rows.iter().map(|&r| class_of[cats[r]] as f32).collect();
                let mut params = base_params(opts, opts.seed);
                params.push(("objective".into(), "multiclass".into()));
                params.push(("num_class".into(), classes.len().to_string()));
                lgbm::train(&TrainSpec {
                    x: &gather(&x, width, rows),
                    n_features: width,
                    y: &y,
                    names: &names,
                    categorical: &categorical,
                    params,
                    iterations: opts.iterations,
                })
            } else {
                // The plain baseline: one model, default parameters, every labelled row.
                let y: Vec<f32> = malicious.iter().map(|m| f32::from(u8::from(*m))).collect();
                lgbm::train(&TrainSpec {
                    x: &x,
                    n_features: width,
                    y: &y,
                    names: &names,
                    categorical: &categorical,
                    params: vec![
                        ("objective".into(), "binary".into()),
                        ("seed".into(), opts.seed.to_string()),
                    ],
                    iterations: 100,
                })
            };
            progress.step();
            result
        })
        .collect::<Result<_, _>>()?;
    let (member_texts, rest) = texts.split_at(opts.members);

    progress.stage("fitting the OOD reference", 1);
    let train_x = gather(&x, width, &parts[0]);
    let train_malicious: Vec<bool> = parts[0].iter().map(|&r| malicious[r]).collect();
    let mut detector = Detector::fit(
        &encoder,
        &train_x,
        &train_malicious,
        opts.ood_k,
        opts.ood_reference,
        opts.seed,
    );
    drop(train_x);
    progress.step();

    let spec = ModelSpec {
        format: BUNDLE_FORMAT.into(),
        schema: schema.id(),
        synthetic: schema.synthetic,
        encoder: encoder.spec.clone(),
        members: (1..=opts.members)
            .map(|m| format!("members/member-{m}.txt"))
            .collect(),
        category_head: CategoryHead {
            file: "category.txt".into(),
            classes: classes.clone(),
            temperature: 1.0,
        },
        baseline: "baseline.txt".into(),
        calibration: calibrate::Selection {
            chosen: calibrate::Calibrator::Temperature { t: 1.0 },
            cv_log_loss: vec![],
            folds: opts.folds,
        },
        conformal: Conformal {
            benign: vec![],
            malicious: vec![],
        },
        flags: FlagRules {
            alpha: opts.alpha,
            ..opts.flags.clone()
        },
        ood: detector.spec.clone(),
        risk: risk::RiskTable {
            delta: opts.delta,
            max_threshold: opts.flags.low_confidence_band[0],
            rows: 0,
            eligible: 0,
            table: vec![],
        },
        training: TrainingInfo {
            seed: opts.seed,
            members: opts.members,
            iterations: opts.iterations,
            learning_rate: opts.learning_rate,
            num_leaves: opts.num_leaves,
            subsample: opts.subsample,
            split_fractions: opts.split,
            split_rows: [0, 1, 2, 3].map(|k| parts[k].len() as u64),
            labels: records
                .iter()
                .filter_map(|r| r.label.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            categories: cats.iter().fold(BTreeMap::new(), |mut m, c| {
                *m.entry(c.to_string()).or_insert(0) += 1;
                m
            }),
            data: data_files,
            lightgbm: "4.7.0 (lightgbm3-sys 1.0.11)".into(),
        },
        holdout: crate::holdout::empty(),
        novelty: None,
    };
    let mut model = Model::from_parts(
        schema.clone(),
        spec,
        detector.clone(),
        (member_texts, &rest[0], &rest[1]),
    )?;

    // 2. Calibrator and head temperature.
    progress.stage("calibrating", 3);
    let mut cal_rows = parts[1].clone();
    cal_rows.shuffle(&mut ChaCha8Rng::seed_from_u64(opts.seed ^ 0xCA1));
    let (margins, head_raw) = model.infer_trees(&gather(&x, width, &cal_rows))?;
    let mean_margin: Vec<f64> = (0..cal_rows.len())
        .map(|i| margins.iter().map(|m| m[i]).sum::<f64>() / opts.members as f64)
        .collect();
    let y_cal: Vec<bool> = cal_rows.iter().map(|&r| malicious[r]).collect();
    model.spec.calibration = calibrate::select(&mean_margin, &y_cal, opts.folds);
    let truth: Vec<usize> = cal_rows.iter().map(|&r| class_of[cats[r]]).collect();
    model.spec.category_head.temperature = fit_temperature(&head_raw, &truth, classes.len());
    progress.step();

    // 3. Conformal scores and the OOD score scale.
    let rows3 = &parts[2];
    let x3 = gather(&x, width, rows3);
    let (margins3, _) = model.infer_trees(&x3)?;
    let p3: Vec<f64> = (0..rows3.len())
        .map(|i| model.calibrated(&margins3, i))
        .collect();
    let y3: Vec<bool> = rows3.iter().map(|&r| malicious[r]).collect();
    model.spec.conformal = Conformal::fit(&p3, &y3);
    // Each calibration row is measured against the reference of its true class.
    detector.calibrate(&detector.distances(&x3, width, &y3), &y3);
    model.spec.ood = detector.spec.clone();
    model.detector = detector;
    progress.step();

    // The OOD flag level, rehearsed on families left out one at a time.
    progress.stage("rehearsing novel attack families", 1);
    let cats_ref: Vec<&str> = cats.clone();
    let rehearsal = novelty::rehearse(
        &novelty::Inputs {
            x: &x,
            width,
            names: &names,
            categorical: &categorical,
            categories: &cats_ref,
            train_rows: &parts[0],
            iterations: opts.iterations,
            seed: opts.seed,
            benign_below: model.spec.flags.low_confidence_band[0],
        },
        &model.detector,
        opts.novelty_target,
    )?;
    let mut rehearsal = rehearsal;
    let level = opts.ood_quantile.unwrap_or(rehearsal.chosen);
    rehearsal.set_level(level);
    model.spec.flags.ood_quantile = level;
    model.spec.novelty = Some(rehearsal);
    progress.step();

    // 4. Risk control and held-out metrics.
    let rows4 = &parts[3];
    let inf4 = model.infer(&gather(&x, width, rows4))?;
    let views: Vec<_> = rows4
        .iter()
        .enumerate()
        .map(|(i, &r)| model.view(&inf4, i, &notes[r], opts.alpha))
        .collect();
    let p4: Vec<f64> = views.iter().map(|v| v.p).collect();
    let y4: Vec<bool> = rows4.iter().map(|&r| malicious[r]).collect();
    let eligible: Vec<bool> = views.iter().map(|v| v.flags.is_empty()).collect();
    let cap = model.spec.flags.low_confidence_band[0];
    model.spec.risk = risk::control(&p4, &eligible, &y4, &risk::ALPHAS, opts.delta, cap);
    model.spec.holdout = crate::holdout::measure(&views, &y4, opts.alpha);
    progress.step();

    let mut files = BTreeMap::new();
    for (name, text) in model.spec.members.iter().zip(member_texts) {
        files.insert(name.clone(), text.clone().into_bytes());
    }
    files.insert("category.txt".into(), rest[0].clone().into_bytes());
    files.insert("baseline.txt".into(), rest[1].clone().into_bytes());
    files.insert("schema.yaml".into(), schema.to_yaml().into_bytes());
    for (name, reference) in crate::reference::FILES
        .iter()
        .zip(&model.detector.references)
    {
        files.insert(
            name.to_string(),
            crate::reference::encode(
                reference,
                model.detector.spec.numeric.len(),
                model.detector.spec.categorical.len(),
            ),
        );
    }
    files.insert(
        "model.json".into(),
        (serde_json::to_string_pretty(&model.spec).expect("spec serialises") + "\n").into_bytes(),
    );
    files.insert(
        "MODEL_CARD.md".into(),
        crate::card::render(&model.spec, schema).into_bytes(),
    );
    Ok(Trained { model, files })
}

/// Fits the softmax temperature of the category head by minimising log-loss over
/// log-spaced candidates refined by golden-section search.
fn fit_temperature(raw: &[f64], truth: &[usize], k: usize) -> f64 {
    let nll = |t: f64| -> f64 {
        truth
            .iter()
            .enumerate()
            .map(|(i, &c)| -softmax(&raw[i * k..(i + 1) * k], t)[c].max(1e-15).ln())
            .sum::<f64>()
    };
    let (mut lo, mut hi) = ((0.05f64).ln(), (20.0f64).ln());
    let g = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..60 {
        let a = hi - g * (hi - lo);
        let b = lo + g * (hi - lo);
        if nll(a.exp()) < nll(b.exp()) {
            hi = b;
        } else {
            lo = a;
        }
    }
    ((lo + hi) / 2.0).exp()
}

/// Which verdicts a conformal set holds, for metrics.
pub(crate) fn covers(set: &[Verdict], malicious: bool) -> bool {
    set.contains(if malicious {
        &Verdict::Malicious
    } else {
        &Verdict::Benign
    })
}
