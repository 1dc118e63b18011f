//! Retraining a candidate from a champion and a teaching set, on a small generated scenario.

use std::sync::OnceLock;

use arbiter_core::{Actor, AlertKey, AlertState, BENIGN, Label, LabelSource, Role, Schema};
use arbiter_ingest::{Loaded, OnError, load, load_schema};
use arbiter_model::Model;
use arbiter_retrain::{RetrainError, RetrainOptions, retrain};
use arbiter_store::{ExampleRow, NewExample};
use arbiter_train::{InputFile, Quiet, TrainOptions, train};
use chrono::{Duration, TimeZone, Utc};

struct Fixture {
    _dir: tempfile::TempDir,
    schema: Schema,
    train: Loaded,
    test: Loaded,
    champion: Model,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let options = arbiter_scenario::Options {
            train_rows: 4_000,
            test_rows: 2_000,
            drift: true,
            gaps: 0.0,
        };
        arbiter_scenario::generate("soc-mixed", 5, &options, root).unwrap();
        let schema = load_schema(&root.join("schema.yaml")).unwrap();
        let read = |f: &str| load(&schema, &root.join(f), OnError::Fail, &mut |_, _| {}).unwrap();
        let (train_data, test) = (read("train.csv"), read("test.csv"));
        let opts = TrainOptions {
            members: 3,
            iterations: 30,
            seed: 3,
            ..TrainOptions::default()
        };
        let trained = train(&schema, vec![base(&train_data)], &opts, &Quiet).unwrap();
        let out = root.join("champion");
        arbiter_train::bundle::write(&out, &trained.files).unwrap();
        Fixture {
            champion: Model::load(&out).unwrap(),
            _dir: dir,
            schema,
            train: train_data,
            test,
        }
    })
}

fn base(data: &Loaded) -> InputFile {
    InputFile {
        name: "train.csv".into(),
        sha256: "base-sha".into(),
        data: Loaded {
            records: data.records.clone(),
            report: data.report.clone(),
        },
        weights: None,
    }
}

/// `n` test rows labelled with the truth by three analysts, one a minute, each naming the
/// first feature of the schema as the one that should have mattered.
fn examples(n: usize) -> Vec<ExampleRow> {
    let f = fixture();
    let scores = f.champion.score(&f.test.records, "test.csv", 0.05).unwrap();
    let t0 = Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap();
    let feature = f.schema.features().next().unwrap().name.clone();
    f.test
        .records
        .iter()
        .zip(&scores)
        .take(n)
        .enumerate()
        .map(|(i, (r, s))| {
            let label = Label::new(r.category.as_deref().unwrap_or(BENIGN)).unwrap();
            let verdict = s.verdict();
            ExampleRow {
                id: i as i64 + 1,
                alert: i as i64 + 1,
                example: NewExample {
                    key: AlertKey::new("siem", &format!("A-{i}")).unwrap(),
                    source: if label.verdict() == verdict {
                        LabelSource::AnalystConfirm
                    } else {
                        LabelSource::AnalystOverride
                    },
                    labeller: Actor::person(&format!("analyst-{}", i % 3), Role::Analyst, 1),
                    token_name: Some("laptop".into()),
                    time: t0 + Duration::minutes(i as i64),
                    label,
                    reason_code: None,
                    note: None,
                    feature: Some(feature.clone()),
                    model: None,
                    package_sha256: None,
                    reference: None,
                },
                model_verdict: Some(verdict),
                model_category: None,
                model_p: Some(s.p_malicious.get()),
                state: AlertState::Overridden,
                release: None,
                features: Some(r.observed(&f.schema)),
                audit_index: i as u64,
            }
        })
        .collect()
}

fn quick() -> RetrainOptions {
    RetrainOptions {
        members: Some(3),
        iterations: Some(30),
        ..RetrainOptions::default()
    }
}

fn champion_with_base_sha() -> &'static Model {
    // The fixture's champion records the base file's sha as given: "base-sha".
    let f = fixture();
    assert_eq!(f.champion.spec.training.data[0].sha256, "base-sha");
    &f.champion
}

#[test]
fn a_candidate_trains_on_the_accepted_examples_and_holds_the_newest_back_for_the_gate() {
    let f = fixture();
    let champion = champion_with_base_sha();
    let rows = examples(400);
    let out = retrain(
        champion,
        vec![base(&f.train)],
        &rows,
        &|_| None,
        &quick(),
        &Quiet,
    )
    .unwrap();
    let c = &out.changes;
    assert_eq!(c.champion, champion.id);
    assert_eq!(c.examples, 400);
    let accepted = c.trained_on + c.held_back.examples.len();
    assert_eq!(accepted + c.quarantined, 400, "{c:?}");
    assert_eq!(c.held_back.examples.len(), accepted / 5, "20 % held back");
    // The held-back examples are the newest accepted ones: nothing trained on is later.
    let newest_trained = rows
        .iter()
        .filter(|r| !c.held_back.examples.contains(&r.id))
        .filter(|r| c.quarantined == 0 || r.id < *c.held_back.examples.first().unwrap())
        .map(|r| r.example.time)
        .max()
        .unwrap();
    assert!(newest_trained < c.held_back.from.unwrap());
    assert_eq!(c.by_source.values().sum::<usize>(), c.trained_on);
    assert_eq!(c.by_family.values().sum::<usize>(), c.trained_on);
    assert_eq!(c.labellers.len(), 3);
    // Training data: the base file plus the teaching set, with its own hash.
    let data = &out.trained.model.spec.training.data;
    assert_eq!(data.len(), 2);
    assert_eq!(data[1].name, "teaching-set");
    assert_eq!(data[1].rows, c.trained_on as u64);
    assert_ne!(out.trained.model.id, champion.id);
    // The bundle says what changed, in the card and as JSON.
    let card = String::from_utf8(out.trained.files["MODEL_CARD.md"].clone()).unwrap();
    assert!(card.contains("## What changed (retrained from"), "{card}");
    let json: arbiter_retrain::Changes =
        serde_json::from_slice(&out.trained.files["changes.json"]).unwrap();
    assert_eq!(&json, c);
    // The named feature is attributed by both models, per family.
    assert!(!c.mattered.is_empty());
    for m in &c.mattered {
        let (a, b) = (m.champion.as_ref().unwrap(), m.candidate.as_ref().unwrap());
        assert!((0.0..=1.0).contains(&a.share) && (0.0..=1.0).contains(&b.share));
        assert!(a.rank >= 1.0 && b.rank >= 1.0);
    }
}

#[test]
fn the_same_champion_teaching_set_and_seed_give_the_same_candidate() {
    let f = fixture();
    let champion = champion_with_base_sha();
    let rows = examples(200);
    let run = || {
        retrain(
            champion,
            vec![base(&f.train)],
            &rows,
            &|_| None,
            &quick(),
            &Quiet,
        )
        .unwrap()
        .trained
        .model
        .id
    };
    assert_eq!(run(), run());
}

#[test]
fn a_family_the_champion_never_saw_is_named_in_the_changes() {
    let f = fixture();
    let champion = champion_with_base_sha();
    let mut rows = examples(300);
    for r in rows.iter_mut().filter(|r| r.id % 10 == 0) {
        r.example.label = Label::new("brand-new-family").unwrap();
        r.example.source = LabelSource::IncidentImport;
        r.example.reference = Some(format!("INC-{}", r.id));
    }
    let out = retrain(
        champion,
        vec![base(&f.train)],
        &rows,
        &|_| None,
        &RetrainOptions {
            recent: 0.0,
            ..quick()
        },
        &Quiet,
    )
    .unwrap();
    let seen = &champion.spec.training.categories;
    let unseen: Vec<&String> = out
        .changes
        .by_family
        .keys()
        .filter(|f| !seen.contains_key(*f))
        .collect();
    assert!(
        unseen.iter().any(|f| *f == "brand-new-family"),
        "{unseen:?}"
    );
    assert_eq!(
        out.changes.new_families.iter().collect::<Vec<_>>(),
        unseen,
        "every family the champion's training never held, and only those"
    );
    assert!(
        out.trained
            .model
            .spec
            .category_head
            .classes
            .iter()
            .any(|c| c == "brand-new-family"),
        "the candidate's category head knows the new family"
    );
}

#[test]
fn base_data_the_champion_was_not_trained_on_is_refused_by_name() {
    let f = fixture();
    let champion = champion_with_base_sha();
    let mut other = base(&f.train);
    other.name = "other.csv".into();
    other.sha256 = "f00d".into();
    let e = retrain(champion, vec![other], &[], &|_| None, &quick(), &Quiet)
        .err()
        .expect("refused");
    assert!(matches!(e, RetrainError::BaseData { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("other.csv") && msg.contains("train.csv"),
        "{msg}"
    );
    let e = retrain(
        champion,
        vec![base(&f.train)],
        &[],
        &|_| None,
        &RetrainOptions {
            recent: 1.5,
            ..quick()
        },
        &Quiet,
    )
    .err()
    .expect("refused");
    assert!(e.to_string().contains("--recent 1.5"), "{e}");
}
