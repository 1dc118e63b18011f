//! Training, bundling and scoring on a small generated scenario.

use std::path::Path;
use std::sync::OnceLock;

use arbiter_core::{Flag, Verdict};
use arbiter_ingest::{Loaded, OnError, load, load_schema};
use arbiter_model::Model;
use arbiter_model::risk::RowSource;
use arbiter_train::{InputFile, Quiet, TrainOptions, bundle, train};

struct Scenario {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
}

/// One small SYNTHETIC scenario shared by the tests of this file.
fn scenario() -> &'static Scenario {
    static S: OnceLock<Scenario> = OnceLock::new();
    S.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let options = arbiter_scenario::Options {
            train_rows: 4_000,
            test_rows: 2_000,
            drift: true,
            gaps: 0.05,
        };
        arbiter_scenario::generate("soc-mixed", 3, &options, &root).unwrap();
        Scenario { _dir: dir, root }
    })
}

fn read(file: &str) -> (arbiter_core::Schema, Loaded) {
    let root = &scenario().root;
    let schema = load_schema(&root.join("schema.yaml")).unwrap();
    let data = load(&schema, &root.join(file), OnError::Fail, &mut |_, _| {}).unwrap();
    (schema, data)
}

fn options(seed: u64) -> TrainOptions {
    TrainOptions {
        members: 3,
        iterations: 30,
        seed,
        ..TrainOptions::default()
    }
}

fn train_into(dir: &Path, seed: u64) -> String {
    let (schema, data) = read("train.csv");
    let input = InputFile {
        name: "train.csv".into(),
        sha256: "test".into(),
        data,
        weights: None,
    };
    let trained = train(&schema, vec![input], &options(seed), &Quiet).unwrap();
    bundle::write(dir, &trained.files).unwrap()
}

fn trained_bundle() -> &'static Path {
    static B: OnceLock<(tempfile::TempDir, std::path::PathBuf)> = OnceLock::new();
    let (_, p) = B.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bundle");
        train_into(&p, 7);
        (dir, p)
    });
    p
}

#[test]
fn training_is_deterministic_for_a_seed() {
    let dir = tempfile::tempdir().unwrap();
    let a = train_into(&dir.path().join("a"), 7);
    let b = train_into(&dir.path().join("b"), 7);
    let c = train_into(&dir.path().join("c"), 8);
    assert_eq!(a, b, "same data and seed must give the same bundle id");
    assert_ne!(a, c, "another seed gives another model");
    assert_eq!(
        Model::load(trained_bundle()).unwrap().id,
        a,
        "the id does not depend on where the bundle was written"
    );
}

#[test]
fn every_score_is_a_probability_with_consistent_uncertainty() {
    let model = Model::load(trained_bundle()).unwrap();
    let (_, test) = read("test.csv");
    let scores = model.score(&test.records, "test.csv", 0.05).unwrap();
    assert_eq!(scores.len(), test.records.len());
    for (s, r) in scores.iter().zip(&test.records) {
        let p = s.p_malicious.get();
        assert!((0.0..=1.0).contains(&p));
        assert!(
            s.interval[0] <= p + 1e-12 && p <= s.interval[1] + 1e-12,
            "{s:?}"
        );
        assert!((0.0..=1.0).contains(&s.ood_score));
        let total: f64 = s.categories.values().sum();
        assert!(
            (total - 1.0).abs() < 1e-9,
            "category probabilities sum to {total}"
        );
        assert!((s.categories["benign"] - (1.0 - p)).abs() < 1e-9);
        let missing = r.features.iter().any(|v| v.is_missing());
        assert_eq!(
            missing,
            s.flags.contains(&Flag::MissingTelemetry),
            "line {}",
            r.line
        );
        assert_eq!(missing, !s.missing_fields.is_empty());
        if !s.unseen_values.is_empty() {
            assert!(
                s.flags.contains(&Flag::OutOfDistribution),
                "{:?}",
                s.unseen_values
            );
        }
        if s.conformal_set.is_empty() {
            assert!(s.flags.contains(&Flag::LowConfidence));
        }
        if s.conformal_set == [Verdict::Benign, Verdict::Malicious] {
            assert!(s.flags.contains(&Flag::ConflictingSignals));
        }
        assert_eq!(s.bundle, model.id);
        assert_eq!(s.source.line, r.line);
        assert_eq!(s.observed_label, r.label);
    }
}

#[test]
fn a_novel_attack_family_looks_more_unusual_than_benign_traffic() {
    let model = Model::load(trained_bundle()).unwrap();
    let (_, test) = read("test.csv");
    let scores = model.score(&test.records, "test.csv", 0.05).unwrap();
    let novel: Vec<bool> = test
        .records
        .iter()
        .map(|r| r.label.as_deref() == Some("ransomware"))
        .collect();
    assert!(
        novel.iter().any(|n| *n),
        "the test file holds the held-out family"
    );
    let ood: Vec<f64> = scores.iter().map(|s| s.ood_score).collect();
    let auc = arbiter_core::stats::roc_auc(&ood, &novel).unwrap();
    assert!(auc > 0.8, "OOD AUROC of the held-out family is only {auc}");
}

#[test]
fn the_bundle_holds_models_in_lightgbm_text_format_and_a_model_card() {
    let dir = trained_bundle();
    let member = std::fs::read_to_string(dir.join("members/member-1.txt")).unwrap();
    assert!(member.starts_with("tree\nversion=v4"), "{}", &member[..40]);
    assert!(
        member.contains("feature_names=os asset_role"),
        "named features"
    );
    let card = std::fs::read_to_string(dir.join("MODEL_CARD.md")).unwrap();
    for section in [
        "SYNTHETIC DATA",
        "## Training data",
        "## Held-out quality",
        "## Risk-control table",
        "## Limitations and known failure modes",
    ] {
        assert!(card.contains(section), "model card lacks {section}");
    }
}

#[test]
fn a_tampered_bundle_is_refused_by_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("b");
    std::fs::create_dir_all(copy.join("members")).unwrap();
    for entry in walk(trained_bundle()) {
        let rel = entry.strip_prefix(trained_bundle()).unwrap();
        std::fs::copy(&entry, copy.join(rel)).unwrap();
    }
    let spec = copy.join("model.json");
    let text = std::fs::read_to_string(&spec).unwrap();
    std::fs::write(&spec, text.replacen("\"alpha\": 0.05", "\"alpha\": 0.5", 1)).unwrap();
    let err = Model::load(&copy).err().unwrap().to_string();
    assert!(err.contains("model.json does not match its hash"), "{err}");
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn training_without_both_classes_says_what_it_found() {
    let (schema, mut data) = read("train.csv");
    data.records
        .retain(|r| r.category.as_deref() == Some("benign"));
    let input = InputFile {
        name: "benign-only.csv".into(),
        sha256: "x".into(),
        data,
        weights: None,
    };
    let err = train(&schema, vec![input], &options(1), &Quiet)
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .contains("need both benign and malicious rows"),
        "{err}"
    );
}

#[test]
fn a_declared_deployment_attack_rate_is_recorded_in_the_bundle_and_stated_in_the_model_card() {
    let (schema, data) = read("train.csv");
    let input = InputFile {
        name: "train.csv".into(),
        sha256: "test".into(),
        data,
        weights: None,
    };
    let opts = TrainOptions {
        deployment_attack_rate: Some(0.02),
        ..options(7)
    };
    let trained = train(&schema, vec![input], &opts, &Quiet).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let id = bundle::write(dir.path(), &trained.files).unwrap();
    let model = Model::load(dir.path()).unwrap();
    assert_eq!(model.spec.risk.base_rate, Some(0.02));
    assert_ne!(
        id,
        Model::load(trained_bundle()).unwrap().id,
        "a table certified for another share is another bundle"
    );
    for r in model
        .spec
        .risk
        .table
        .iter()
        .filter(|r| r.threshold.is_some())
    {
        assert!(r.upper_bound <= r.alpha, "{r:?}");
    }
    let card = std::fs::read_to_string(dir.path().join("MODEL_CARD.md")).unwrap();
    assert!(
        card.contains("declared deployment attack share of 2.00 %"),
        "the card does not state the declared share"
    );
    assert!(
        card.contains("only the class share"),
        "the card does not state the assumption"
    );
}

fn train_with(opts: &TrainOptions) -> (tempfile::TempDir, String, Model) {
    let (schema, data) = read("train.csv");
    let input = InputFile {
        name: "train.csv".into(),
        sha256: "test".into(),
        data,
        weights: None,
    };
    let trained = train(&schema, vec![input], opts, &Quiet).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let id = bundle::write(dir.path(), &trained.files).unwrap();
    let model = Model::load(dir.path()).unwrap();
    (dir, id, model)
}

#[test]
fn cross_fitting_certifies_on_every_labelled_row_and_checks_each_threshold_on_held_out_rows() {
    let opts = TrainOptions {
        cross_fit: Some(3),
        ..options(7)
    };
    let (dir, id, model) = train_with(&opts);
    let split_model = Model::load(trained_bundle()).unwrap();
    let risk = &model.spec.risk;
    let cf = risk
        .cross_fit
        .as_ref()
        .expect("the table says it is cross-fitted");
    assert_eq!(cf.folds, 3);
    assert_eq!(risk.rows, 4_000, "every labelled row is scored out of fold");
    assert_eq!(cf.split.rows, model.spec.training.split_rows[3]);
    assert_eq!(
        cf.split.table, split_model.spec.risk.table,
        "the split's own table is the one training without cross-fitting certifies"
    );
    assert_eq!(cf.checks.len(), risk.table.len());
    for ((row, check), split) in risk.table.iter().zip(&cf.checks).zip(&cf.split.table) {
        assert_eq!(row.alpha, check.alpha);
        assert_eq!(
            check.kept,
            check.attacks as f64 <= check.alpha * check.closed as f64,
            "{check:?}"
        );
        match check.row {
            RowSource::CrossFitted => {
                assert!(check.kept);
                assert_eq!(row.threshold, check.cross_fitted, "{row:?} {check:?}");
            }
            RowSource::Split => {
                assert!(!check.kept);
                assert_eq!(
                    row, split,
                    "a refuted threshold falls back to the split's row"
                );
            }
            RowSource::Tighter { alpha } => assert!(alpha < row.alpha, "{check:?}"),
        }
        if row.threshold.is_some() {
            assert!(row.upper_bound <= row.alpha, "{row:?}");
        }
    }
    // Only the table differs: the deployed model is the one trained without cross-fitting.
    let member = |d: &Path| std::fs::read(d.join("members/member-1.txt")).unwrap();
    assert_eq!(member(dir.path()), member(trained_bundle()));
    assert_eq!(model.spec.holdout, split_model.spec.holdout);
    assert_ne!(id, split_model.id);
    let card = std::fs::read_to_string(dir.path().join("MODEL_CARD.md")).unwrap();
    for needle in [
        "**Cross-fitted:**",
        "stability assumption",
        "nominal",
        "the split alone",
    ] {
        assert!(card.contains(needle), "the card does not say {needle:?}");
    }
    let (_, again, _) = train_with(&opts);
    assert_eq!(id, again, "cross-fitting is deterministic for a seed");
}

#[test]
fn a_bundle_trained_without_cross_fitting_says_its_table_rests_on_the_split() {
    let model = Model::load(trained_bundle()).unwrap();
    assert!(model.spec.risk.cross_fit.is_none());
    let card = std::fs::read_to_string(trained_bundle().join("MODEL_CARD.md")).unwrap();
    assert!(card.contains("risk-control rows"), "{card}");
    assert!(!card.contains("Cross-fitted"));
}

#[test]
fn row_weights_change_the_trees_and_the_bundle_id_and_a_bad_weight_is_refused_by_file() {
    let (schema, data) = read("train.csv");
    let n = data.records.len();
    let input = |weights: Option<Vec<f32>>| InputFile {
        name: "train.csv".into(),
        sha256: "test".into(),
        data: Loaded {
            records: data.records.clone(),
            report: data.report.clone(),
        },
        weights,
    };
    let opts = options(7);
    let plain = train(&schema, vec![input(None)], &opts, &Quiet).unwrap();
    let ones = train(&schema, vec![input(Some(vec![1.0; n]))], &opts, &Quiet).unwrap();
    let (plain_id, _) = arbiter_model::bundle::content_id(&plain.files);
    assert_eq!(
        plain_id,
        arbiter_model::bundle::content_id(&ones.files).0,
        "weight 1 everywhere is no weighting"
    );
    // Down-weight every malicious row: the ensemble must lean benign.
    let w: Vec<f32> = data
        .records
        .iter()
        .map(|r| {
            if r.category.as_deref() == Some("benign") {
                1.0
            } else {
                0.05
            }
        })
        .collect();
    let weighted = train(&schema, vec![input(Some(w))], &opts, &Quiet).unwrap();
    assert_ne!(
        plain_id,
        arbiter_model::bundle::content_id(&weighted.files).0
    );
    let members = |t: &arbiter_train::Trained| -> Vec<Vec<u8>> {
        t.files
            .iter()
            .filter(|(k, _)| k.contains("member"))
            .map(|(_, v)| v.clone())
            .collect()
    };
    assert!(!members(&plain).is_empty(), "{:?}", plain.files.keys());
    assert_ne!(
        members(&plain),
        members(&weighted),
        "the trees saw the weights"
    );
    let short = train(&schema, vec![input(Some(vec![1.0; n - 1]))], &opts, &Quiet)
        .err()
        .expect("a short weight vector is refused");
    assert!(
        short.to_string().contains("train.csv") && short.to_string().contains("weights for"),
        "{short}"
    );
    let mut zero = vec![1.0; n];
    zero[3] = 0.0;
    let e = train(&schema, vec![input(Some(zero))], &opts, &Quiet)
        .err()
        .expect("a zero weight is refused");
    assert!(e.to_string().contains("not a positive number"), "{e}");
}
