//! Train → score → evaluate on a small real sample: NSL-KDD's 20 % training subset, evaluated
//! on KDDTest-21 (the hard part of KDDTest+, full of attack types never seen in training).
//!
//! The data is read from `$ARBITER_DATA` (default `../shared/data`); when it is absent the test
//! says so and passes, unless `ARBITER_REQUIRE_DATA=1` (CI) makes it fail.

use std::path::{Path, PathBuf};

use arbiter_eval::{EvalOptions, evaluate, write};
use arbiter_ingest::{OnError, load, load_schema, shared_data_for_test};
use arbiter_model::Model;
use arbiter_train::{InputFile, Quiet, TrainOptions, bundle, train};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn a_real_sample_trains_scores_and_evaluates_end_to_end() {
    let Some(data) = shared_data_for_test(&root(), "NSL-KDD") else {
        return;
    };
    let schema = load_schema(&root().join("schemas/nsl-kdd.yaml")).unwrap();
    let train_path = data.join("nsl-kdd/KDDTrain+_20Percent.txt.xz");
    let test_path = data.join("nsl-kdd/KDDTest-21.txt.xz");
    let train_data = load(&schema, &train_path, OnError::Fail, &mut |_, _| {}).unwrap();
    let options = TrainOptions {
        members: 3,
        iterations: 50,
        ood_reference: 5_000,
        ..TrainOptions::default()
    };
    let input = InputFile {
        name: "KDDTrain+_20Percent.txt.xz".into(),
        sha256: arbiter_ingest::file_sha256(&train_path).unwrap(),
        data: train_data,
        weights: None,
    };
    let trained = train(&schema, vec![input], &options, &Quiet).unwrap();
    let dir = tempfile::tempdir().unwrap();
    bundle::write(&dir.path().join("bundle"), &trained.files).unwrap();
    let model = Model::load(&dir.path().join("bundle")).unwrap();

    let test = load(&schema, &test_path, OnError::Fail, &mut |_, _| {}).unwrap();
    assert_eq!(test.records.len(), 11_850);
    let e = evaluate(&model, &test.records, "KDDTest-21", &EvalOptions::default()).unwrap();
    let out = dir.path().join("report");
    write(&e, &out).unwrap();

    for f in [
        "report.md",
        "report.json",
        "reliability.png",
        "risk_coverage.png",
    ] {
        assert!(out.join(f).is_file(), "{f} was not written");
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    for rule in ["baseline", "arbiter"] {
        for key in ["benign_coverage", "attack_rate", "attacks_closed"] {
            assert!(
                json["auto_close"][rule][key].is_number(),
                "auto_close.{rule}.{key}"
            );
        }
    }
    for key in ["ece", "auc", "macro_f1"] {
        assert!(json[key].is_number(), "{key}");
    }
    assert!(e.auc.unwrap() > 0.8, "AUC {:?}", e.auc);
    assert!(
        e.ood.novel_rows > 0,
        "KDDTest-21 holds attack types unseen in training"
    );
    assert!(e.ood.auroc.unwrap() > 0.7, "OOD AUROC {:?}", e.ood.auroc);
    let (a, b) = (&e.auto_close.arbiter.result, &e.auto_close.baseline.result);
    assert!(
        a.attack_rate < b.attack_rate,
        "Arbiter's auto-close rule lets through a smaller share of attacks than the plain \
         model: {} vs {}",
        a.attack_rate,
        b.attack_rate
    );
}
