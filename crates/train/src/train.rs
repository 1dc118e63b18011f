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

use std::collections::BTreeMap;

use arbiter_core::{Schema, Verdict};
use arbiter_ingest::Loaded;
use arbiter_model::Model;
use arbiter_model::calibrate::{Calibrator, Selection, softmax};
use arbiter_model::conformal::Conformal;
use arbiter_model::flags::FlagRules;
use arbiter_model::ood::Detector;
use arbiter_model::risk::RiskTable;
use arbiter_model::spec::{BUNDLE_FORMAT, CategoryHead, ModelSpec, TrainingInfo};
use arbiter_model::support::{Blend, LeafSupport};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::error::TrainError;
use crate::options::TrainOptions;
use crate::prepare::{self, Prepared};
use crate::trees::{self, Trees};
use crate::{calibrate, conformal, crossfit, novelty, ood, risk};

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
    /// Training weight of each record (`None`: all 1). Only the fitting of the trees reads
    /// it; calibration, conformal and risk-control rows count once each, so the guarantees are
    /// about alerts, not about weight.
    pub weights: Option<Vec<f32>>,
}

/// The result of training: the model (ready to score) and the bundle's files.
pub struct Trained {
    pub model: Model,
    pub files: BTreeMap<String, Vec<u8>>,
}

/// How a pipeline chooses its OOD score and flag level.
#[derive(Clone, Copy)]
pub(crate) enum Novelty {
    /// By the leave-one-family-out rehearsal (the deployed model).
    Rehearse,
    /// As the deployed model chose them (the fold pipelines of cross-fitting).
    Fixed { knn_weight: f64, level: f64 },
}

/// Trains everything on labelled input files, after checking the options
/// ([`TrainOptions::validate`]).
pub fn train(
    schema: &Schema,
    inputs: Vec<InputFile>,
    opts: &TrainOptions,
    progress: &dyn Progress,
) -> Result<Trained, TrainError> {
    opts.validate()?;
    let mut p = prepare::prepare(schema, inputs, opts)?;
    let (mut model, trees) = fit(schema, &p, opts, progress, Novelty::Rehearse)?;
    let risk_rows = p.parts[3].clone();
    let benign_below = model.spec.flags.low_confidence_band[0];
    let level = model.spec.flags.ood_quantile;

    // 4. Risk control and held-out metrics.
    progress.stage("certifying the risk-control table", 1);
    let inf4 = model.infer(&p.rows(&risk_rows))?;
    let views: Vec<_> = risk_rows
        .iter()
        .enumerate()
        .map(|(i, &r)| model.view(&inf4, i, &p.notes[r], opts.alpha))
        .collect();
    let p4: Vec<f64> = views.iter().map(|v| v.p).collect();
    let y4 = p.truth(&risk_rows);
    let eligible: Vec<bool> = views.iter().map(|v| v.flags.is_empty()).collect();
    model.spec.risk = risk::control(
        &p4,
        &eligible,
        &y4,
        &risk::ALPHAS,
        opts.delta,
        benign_below,
        opts.deployment_attack_rate,
    );
    progress.step();
    if let Some(folds) = opts.cross_fit {
        let novelty = Novelty::Fixed {
            knn_weight: model.spec.blend.as_ref().map_or(1.0, |b| b.knn_weight),
            level,
        };
        let oof = crossfit::scores(schema, &mut p, opts, folds, novelty, progress)?;
        let held_out = crossfit::Scored {
            p: &p4,
            eligible: &eligible,
            attack: &y4,
        };
        let split = model.spec.risk.clone();
        model.spec.risk = crossfit::certify(&oof, &held_out, split, folds, opts);
    }
    model.spec.holdout = crate::holdout::measure(&views, &y4, opts.alpha);
    if let Some(r) = &mut model.spec.novelty {
        let benign: Vec<(bool, f64)> = views
            .iter()
            .zip(&y4)
            .filter(|(_, m)| !**m)
            .map(|(v, _)| (v.p < benign_below, v.ood_score))
            .collect();
        let data_rate = y4.iter().filter(|m| **m).count() as f64 / y4.len().max(1) as f64;
        let rate = opts.deployment_attack_rate.unwrap_or(data_rate);
        let mut levels = novelty::GRID.to_vec();
        if !levels.iter().any(|l| (l - level).abs() < 1e-12) {
            levels.push(level);
            levels.sort_by(|a, b| b.total_cmp(a));
        }
        r.measure_frontier(&levels, &benign, rate);
    }
    let files = bundle_files(&model, schema, &trees);
    Ok(Trained { model, files })
}

/// Fits one pipeline on the first three parts of `p`'s split: trees, OOD references,
/// calibrator, conformal scores, OOD scale and level. The risk-control part is not read.
pub(crate) fn fit(
    schema: &Schema,
    p: &Prepared,
    opts: &TrainOptions,
    progress: &dyn Progress,
    novelty: Novelty,
) -> Result<(Model, Trees), TrainError> {
    let [train_rows, cal_rows, conformal_rows, _] = &p.parts;

    // 1. Trees, and the OOD references from the training split.
    let trees = trees::fit(p, opts, progress)?;
    progress.stage("fitting the OOD references", 1);
    let mut detector = ood::fit(
        &p.encoder,
        &p.rows(train_rows),
        &p.truth(train_rows),
        opts.ood_method,
        opts.ood_k,
        opts.ood_reference,
        opts.seed,
    );
    progress.step();
    let spec = initial_spec(schema, p, opts, &detector);
    let mut model = Model::from_parts(
        schema.clone(),
        spec,
        detector.clone(),
        (&trees.members, &trees.head, &trees.baseline),
    )?;

    // 2. Calibrator and head temperature.
    progress.stage("calibrating", 2);
    let mut rows = cal_rows.clone();
    rows.shuffle(&mut ChaCha8Rng::seed_from_u64(opts.seed ^ 0xCA1));
    let (margins, head_raw) = model.infer_trees(&p.rows(&rows))?;
    let mean_margin: Vec<f64> = (0..rows.len())
        .map(|i| margins.iter().map(|m| m[i]).sum::<f64>() / opts.members as f64)
        .collect();
    model.spec.calibration = calibrate::select(&mean_margin, &p.truth(&rows), opts.folds);
    let truth: Vec<usize> = rows.iter().map(|&r| p.class[r]).collect();
    model.spec.category_head.temperature = fit_temperature(&head_raw, &truth, p.classes.len());
    progress.step();

    // 3. Conformal scores and the OOD score scale.
    let x3 = p.rows(conformal_rows);
    let (margins3, _) = model.infer_trees(&x3)?;
    let p3: Vec<f64> = (0..conformal_rows.len())
        .map(|i| model.calibrated(&margins3, i))
        .collect();
    let y3 = p.truth(conformal_rows);
    model.spec.conformal = conformal::fit(&p3, &y3);
    // Each calibration row is measured against the reference of its true class.
    let distances = detector.distances(&x3, p.width, &y3);
    ood::calibrate(&mut detector, &distances, &y3);
    let knn3: Vec<f64> = distances
        .iter()
        .zip(&y3)
        .map(|(&d, &m)| detector.score(d, m))
        .collect();
    model.spec.ood = detector.spec.clone();
    model.detector = detector;
    progress.step();

    // The OOD score and flag level, rehearsed on families left out one at a time.
    let (knn_weight, level, rehearsal) = match novelty {
        Novelty::Fixed { knn_weight, level } => (knn_weight, level, None),
        Novelty::Rehearse => {
            progress.stage("rehearsing novel attack families", 1);
            let benign_below = model.spec.flags.low_confidence_band[0];
            let benign3: Vec<usize> = (0..conformal_rows.len()).filter(|&i| !y3[i]).collect();
            let calibration = novelty::Calibration {
                rows: &benign3
                    .iter()
                    .map(|&i| conformal_rows[i])
                    .collect::<Vec<_>>(),
                knn: &benign3.iter().map(|&i| knn3[i]).collect::<Vec<_>>(),
            };
            let mut rehearsal =
                novelty::rehearse(p, opts, benign_below, &model.detector, &calibration)?;
            let level = opts.ood_quantile.unwrap_or(rehearsal.chosen);
            rehearsal.set_level(level);
            progress.step();
            (rehearsal.knn_weight, level, Some(rehearsal))
        }
    };
    if knn_weight < 1.0 {
        let support = LeafSupport::fit(
            model.members(),
            &p.rows(train_rows),
            p.width,
            &p.truth(train_rows),
        );
        let own: Vec<f64> = x3
            .chunks(p.width)
            .zip(&y3)
            .map(|(row, &m)| support.support(model.members(), row)[usize::from(m)])
            .collect();
        model.spec.blend = Some(Blend::fit(knn_weight, &knn3, &own, &y3));
        model.set_support(Some(support));
    }
    model.spec.flags.ood_quantile = level;
    model.spec.novelty = rehearsal;
    Ok((model, trees))
}

/// The spec before calibration: what training fixed so far, placeholders for the rest.
fn initial_spec(
    schema: &Schema,
    p: &Prepared,
    opts: &TrainOptions,
    detector: &Detector,
) -> ModelSpec {
    ModelSpec {
        format: BUNDLE_FORMAT.into(),
        schema: schema.id(),
        synthetic: schema.synthetic,
        encoder: p.encoder.spec.clone(),
        members: (1..=opts.members)
            .map(|m| format!("members/member-{m}.txt"))
            .collect(),
        category_head: CategoryHead {
            file: "category.txt".into(),
            classes: p.classes.clone(),
            temperature: 1.0,
        },
        baseline: "baseline.txt".into(),
        calibration: Selection {
            chosen: Calibrator::Temperature { t: 1.0 },
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
        risk: RiskTable {
            delta: opts.delta,
            max_threshold: opts.flags.low_confidence_band[0],
            rows: 0,
            eligible: 0,
            base_rate: opts.deployment_attack_rate,
            table: vec![],
            cross_fit: None,
        },
        training: TrainingInfo {
            seed: opts.seed,
            members: opts.members,
            iterations: opts.iterations,
            learning_rate: opts.learning_rate,
            num_leaves: opts.num_leaves,
            subsample: opts.subsample,
            split_fractions: opts.split,
            split_rows: p.parts.each_ref().map(|r| r.len() as u64),
            labels: p.labels.clone(),
            categories: p.category_counts(),
            data: p.data_files.clone(),
            lightgbm: "4.7.0 (lightgbm3-sys 1.0.11)".into(),
        },
        holdout: crate::holdout::empty(),
        novelty: None,
        blend: None,
        profile: crate::profile::profile(p),
    }
}

/// Every file of the bundle.
fn bundle_files(model: &Model, schema: &Schema, trees: &Trees) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for (name, text) in model.spec.members.iter().zip(&trees.members) {
        files.insert(name.clone(), text.clone().into_bytes());
    }
    files.insert("category.txt".into(), trees.head.clone().into_bytes());
    files.insert("baseline.txt".into(), trees.baseline.clone().into_bytes());
    files.insert("schema.yaml".into(), schema.to_yaml().into_bytes());
    for (name, reference) in arbiter_model::reference::FILES
        .iter()
        .zip(&model.detector.references)
    {
        files.insert(
            name.to_string(),
            arbiter_model::reference::encode(
                reference,
                model.detector.spec.numeric.len(),
                model.detector.spec.categorical.len(),
            ),
        );
    }
    if let Some(support) = model.support() {
        files.insert(
            arbiter_model::support::LEAF_SUPPORT.into(),
            (serde_json::to_string(support).expect("support serialises") + "\n").into_bytes(),
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
    files
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
    let (mut lo, mut hi) = ((0.01f64).ln(), (1000.0f64).ln());
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
