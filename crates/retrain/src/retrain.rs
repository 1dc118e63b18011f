//! The retraining run itself.

use std::collections::BTreeMap;

use arbiter_core::Observed;
use arbiter_ingest::{IngestReport, Loaded, Record};
use arbiter_learn::neighbours::Neighbours;
use arbiter_learn::{Lesson, Screen, lessons};
use arbiter_model::Model;
use arbiter_store::ExampleRow;
use arbiter_train::{InputFile, Progress, TrainOptions, Trained, train};
use sha2::{Digest, Sha256};

use crate::changes::{self, Changes, HeldBack};
use crate::error::RetrainError;
use crate::mattered;

/// Name of the teaching set's input file in the candidate's training record.
pub const TEACHING_FILE: &str = "teaching-set";

/// Knobs of a retraining run; everything else comes from the champion.
#[derive(Debug, Clone)]
pub struct RetrainOptions {
    /// Seed of the candidate (default: the champion's).
    pub seed: Option<u64>,
    /// Share of the accepted examples, newest first, held back from training for the
    /// time-ordered non-inferiority gate.
    pub recent: f64,
    /// The poisoning screen (its high-impact families come from the policy).
    pub screen: Screen,
    /// Neighbours read for k-NN label consistency.
    pub k: usize,
    /// Override the champion's ensemble size or rounds (tests and quick rehearsals).
    pub members: Option<usize>,
    pub iterations: Option<usize>,
}

impl Default for RetrainOptions {
    fn default() -> Self {
        RetrainOptions {
            seed: None,
            recent: 0.2,
            screen: Screen::default(),
            k: 10,
            members: None,
            iterations: None,
        }
    }
}

/// A candidate: the trained bundle (its files include `changes.json`) and what changed.
pub struct Retrained {
    pub trained: Trained,
    pub changes: Changes,
}

/// The champion's training options, as its bundle records them. The OOD flag level and
/// score blend are chosen afresh by the candidate's own novelty rehearsal.
pub fn options_of(champion: &Model) -> TrainOptions {
    let t = &champion.spec.training;
    let d = TrainOptions::default();
    TrainOptions {
        members: t.members,
        iterations: t.iterations,
        learning_rate: t.learning_rate,
        num_leaves: t.num_leaves,
        subsample: t.subsample,
        seed: t.seed,
        alpha: champion.spec.flags.alpha,
        delta: champion.spec.risk.delta,
        split: t.split_fractions,
        ood_method: champion.spec.ood.method,
        ood_k: champion.spec.ood.k,
        ood_reference: d.ood_reference.max(
            champion
                .spec
                .ood
                .reference_rows
                .into_iter()
                .max()
                .unwrap_or(0),
        ),
        novelty_target: champion
            .spec
            .novelty
            .as_ref()
            .map_or(d.novelty_target, |r| r.target),
        flags: champion.spec.flags.clone(),
        deployment_attack_rate: champion.spec.risk.base_rate,
        cross_fit: champion
            .spec
            .risk
            .cross_fit
            .as_ref()
            .map(|c| c.folds as usize),
        ..d
    }
}

/// Trains a candidate on `base` (the champion's own training files, checked by SHA-256) and
/// the accepted teaching examples among `rows`. `schema_of` names the schema of the model an
/// example was made against, when the registry knows it.
pub fn retrain(
    champion: &Model,
    base: Vec<InputFile>,
    rows: &[ExampleRow],
    schema_of: &dyn Fn(&ExampleRow) -> Option<String>,
    opts: &RetrainOptions,
    progress: &dyn Progress,
) -> Result<Retrained, RetrainError> {
    if !(0.0..=0.9).contains(&opts.recent) {
        return Err(RetrainError::Recent(opts.recent));
    }
    check_base(champion, &base)?;
    let schema = &champion.schema;
    let (usable, aside) = lessons(rows, schema, schema_of);

    // The screen: the champion's stored P, k-NN label share among the base rows.
    progress.stage("screening the teaching set", 1);
    let refs: Vec<&Record> = base.iter().flat_map(|f| &f.data.records).collect();
    let nb = Neighbours::new(champion, &refs, opts.k);
    let none = Observed::default();
    let recs: Vec<Record> = rows
        .iter()
        .map(|r| Record::from_observed(schema, r.features.as_ref().unwrap_or(&none), 0))
        .collect();
    let shares = nb.malicious_share(champion, &recs.iter().collect::<Vec<_>>());
    let screening = arbiter_learn::defend::screen_rows(rows, Some(&shares), &opts.screen);
    progress.step();
    let verdict: BTreeMap<i64, &arbiter_learn::Screened> =
        screening.examples.iter().map(|s| (s.id, s)).collect();

    let mut accepted: Vec<&Lesson> = usable
        .iter()
        .filter(|l| verdict.get(&l.id).is_some_and(|s| s.accepted()))
        .collect();
    accepted.sort_by_key(|l| (l.time, l.id));
    let held = (accepted.len() as f64 * opts.recent).floor() as usize;
    let (taught, recent) = accepted.split_at(accepted.len() - held);
    let weight = |l: &Lesson| -> f32 {
        // A released example keeps its labeller's weight; never zero, so training takes it.
        (verdict[&l.id].weight as f32).max(1e-3)
    };

    let mut inputs = base;
    let teaching = teaching_input(taught, &weight);
    inputs.push(teaching);
    let mut topts = options_of(champion);
    if let Some(seed) = opts.seed {
        topts.seed = seed;
    }
    if let Some(m) = opts.members {
        topts.members = m;
    }
    if let Some(i) = opts.iterations {
        topts.iterations = i;
    }
    let mut trained = train(schema, inputs, &topts, progress)?;

    progress.stage("attributing the features analysts named", 1);
    let by_id: BTreeMap<i64, &ExampleRow> = rows.iter().map(|r| (r.id, r)).collect();
    let feature_of = |l: &Lesson| by_id.get(&l.id).and_then(|r| r.example.feature.clone());
    let mattered = mattered::aggregate(champion, &trained.model, taught, &feature_of);
    progress.step();
    let held_back = HeldBack {
        examples: recent.iter().map(|l| l.id).collect(),
        from: recent.first().map(|l| l.time),
    };
    let c = changes::Changes::new(
        champion,
        &trained.model,
        rows,
        taught,
        &screening,
        &aside,
        held_back,
        mattered,
    );
    trained.files.insert(
        changes::FILE.into(),
        (serde_json::to_string_pretty(&c).expect("changes serialise") + "\n").into_bytes(),
    );
    let card = trained
        .files
        .get_mut("MODEL_CARD.md")
        .expect("training writes a model card");
    card.extend_from_slice(c.markdown().as_bytes());
    Ok(Retrained {
        trained,
        changes: c,
    })
}

fn check_base(champion: &Model, base: &[InputFile]) -> Result<(), RetrainError> {
    let known = &champion.spec.training.data;
    let expected = known
        .iter()
        .map(|d| format!("{} {}", d.name, short(&d.sha256)))
        .collect::<Vec<_>>()
        .join(", ");
    for f in base {
        if !known.iter().any(|d| d.sha256 == f.sha256) {
            return Err(RetrainError::BaseData {
                file: f.name.clone(),
                sha256: f.sha256.clone(),
                expected,
            });
        }
    }
    if base.len() != known.len() {
        return Err(RetrainError::BaseCount {
            expected: known.len(),
            given: base.len(),
        });
    }
    Ok(())
}

fn short(s: &str) -> &str {
    &s[..s.len().min(12)]
}

/// The teaching examples as one labelled input file. Its SHA-256 covers every example id,
/// label, weight and feature value, so the candidate's id changes when any of them does.
fn teaching_input(taught: &[&Lesson], weight: &dyn Fn(&Lesson) -> f32) -> InputFile {
    let mut h = Sha256::new();
    let mut records = Vec::with_capacity(taught.len());
    let mut weights = Vec::with_capacity(taught.len());
    for l in taught {
        let mut r = l.record.clone();
        r.line = l.id as u64;
        r.label = Some(l.label.as_str().to_string());
        r.category = Some(l.label.as_str().to_string());
        let w = weight(l);
        h.update(format!("{}\t{}\t{w}\t{:?}\n", l.id, l.label.as_str(), r.features).as_bytes());
        records.push(r);
        weights.push(w);
    }
    let report = IngestReport {
        rows_accepted: records.len() as u64,
        ..IngestReport::default()
    };
    InputFile {
        name: TEACHING_FILE.into(),
        sha256: hex::encode(h.finalize()),
        data: Loaded { records, report },
        weights: Some(weights),
    }
}
