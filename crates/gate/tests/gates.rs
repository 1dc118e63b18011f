//! The promotion gates on a small generated scenario: a candidate identical to the champion
//! passes what it can, a candidate taught to close one family fails the regression suite by
//! name, and a suite that lies about its rows is refused.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use arbiter_core::{BENIGN, Schema};
use arbiter_gate::{Expect, Recent, load_suite, run};
use arbiter_ingest::{Loaded, OnError, load, load_schema};
use arbiter_model::Model;
use arbiter_policy::Policy;
use arbiter_train::{InputFile, Quiet, TrainOptions, train};

struct Fixture {
    dir: tempfile::TempDir,
    schema: Schema,
    test: Loaded,
    champion: Arc<Model>,
    /// Trained with every row of `family` relabelled benign.
    poisoned: Arc<Model>,
    family: String,
}

fn policy() -> Policy {
    Policy::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/default.yaml")).unwrap()
}

/// The default policy closing at α = 0.05: the small scenario certifies no threshold at 0.01.
fn lenient() -> Policy {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/default.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.replace("auto_close:\n  alpha: 0.01", "auto_close:\n  alpha: 0.05");
    Policy::from_yaml(&text, "lenient.yaml").unwrap()
}

fn fit(schema: &Schema, data: &Loaded, out: &Path) -> Arc<Model> {
    let input = InputFile {
        name: "train.csv".into(),
        sha256: "t".into(),
        data: Loaded {
            records: data.records.clone(),
            report: data.report.clone(),
        },
        weights: None,
    };
    let opts = TrainOptions {
        members: 3,
        iterations: 30,
        seed: 5,
        ..TrainOptions::default()
    };
    let t = train(schema, vec![input], &opts, &Quiet).unwrap();
    arbiter_train::bundle::write(out, &t.files).unwrap();
    Arc::new(Model::load(out).unwrap())
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let options = arbiter_scenario::Options {
            train_rows: 6_000,
            test_rows: 3_000,
            drift: false,
            gaps: 0.0,
        };
        arbiter_scenario::generate("soc-mixed", 9, &options, root).unwrap();
        let schema = load_schema(&root.join("schema.yaml")).unwrap();
        let read = |f: &str| load(&schema, &root.join(f), OnError::Fail, &mut |_, _| {}).unwrap();
        let (train_data, test) = (read("train.csv"), read("test.csv"));
        let champion = fit(&schema, &train_data, &root.join("champion"));
        // The most frequent attack family of the training data.
        let mut counts = std::collections::BTreeMap::new();
        for r in &train_data.records {
            if let Some(c) = r.category.as_deref().filter(|c| *c != BENIGN) {
                *counts.entry(c.to_string()).or_insert(0) += 1;
            }
        }
        let family = counts.into_iter().max_by_key(|(_, n)| *n).unwrap().0;
        let mut flipped = Loaded {
            records: train_data.records.clone(),
            report: train_data.report.clone(),
        };
        for r in &mut flipped.records {
            if r.category.as_deref() == Some(family.as_str()) {
                r.category = Some(BENIGN.into());
                r.label = Some(BENIGN.into());
            }
        }
        let poisoned = fit(&schema, &flipped, &root.join("poisoned"));
        Fixture {
            dir,
            schema,
            test,
            champion,
            poisoned,
            family,
        }
    })
}

fn write_suite(name: &str, body: &str) -> PathBuf {
    let f = fixture();
    let p = f.dir.path().join(name);
    let text = format!(
        "version: 1\nname: {name}\nschema: {}\nroot: suite\ncases:\n{body}",
        f.schema.id()
    );
    std::fs::write(&p, text).unwrap();
    p
}

fn lines(pred: impl Fn(&str) -> bool, n: usize) -> Vec<u64> {
    fixture()
        .test
        .records
        .iter()
        .filter(|r| pred(r.category.as_deref().unwrap_or(BENIGN)))
        .take(n)
        .map(|r| r.line)
        .collect()
}

/// Recent alerts: the last 600 test rows, labelled with the truth.
fn recent() -> Recent {
    let f = fixture();
    let rows = &f.test.records[f.test.records.len() - 600..];
    Recent {
        records: rows.to_vec(),
        malicious: rows
            .iter()
            .map(|r| r.category.as_deref() != Some(BENIGN))
            .collect(),
        ids: (1..=rows.len() as i64).collect(),
    }
}

#[test]
fn a_candidate_identical_to_the_champion_passes_non_inferiority_and_the_report_hash_is_stable() {
    let f = fixture();
    let family = f.family.clone();
    let suite = write_suite(
        "same.yaml",
        &format!(
            "  - file: test.csv\n    expect: must_catch\n    lines: {:?}\n  - file: test.csv\n    expect: must_not_act\n    lines: {:?}\n",
            lines(|c| c == family, 40),
            lines(|c| c == BENIGN, 40)
        ),
    );
    let suite = load_suite(&suite, &f.schema, f.dir.path()).unwrap();
    assert_eq!(suite.count(Expect::MustCatch), 40);
    let report = run(&f.champion, &f.champion, &policy(), &suite, &recent()).unwrap();
    for name in [
        "non_inferiority.recall",
        "non_inferiority.fpoa",
        "non_inferiority.ece",
    ] {
        let g = report.gates.iter().find(|g| g.name == name).unwrap();
        assert!(g.passed, "{name}: {g:?}");
    }
    let recall = report
        .gates
        .iter()
        .find(|g| g.name == "non_inferiority.recall")
        .unwrap();
    assert_eq!(
        recall.measured,
        Some(0.0),
        "no discordant pairs, no difference"
    );
    // The same inputs give the same report, byte for byte, so its hash can be audited.
    let again = run(&f.champion, &f.champion, &policy(), &suite, &recent()).unwrap();
    assert_eq!(report.sha256(), again.sha256());
    let back: arbiter_gate::GateReport = serde_json::from_slice(&report.json()).unwrap();
    assert_eq!(back, report);
    assert!(
        report
            .markdown()
            .contains("| non_inferiority.recall | pass |")
    );
}

#[test]
fn a_candidate_taught_to_close_a_family_fails_the_must_catch_gate_naming_the_rows() {
    let f = fixture();
    let family = f.family.clone();
    let suite = write_suite(
        "poison.yaml",
        &format!(
            "  - file: test.csv\n    expect: must_catch\n    note: the family the poisoner wanted closed\n    lines: {:?}\n",
            lines(|c| c == family, 60)
        ),
    );
    let suite = load_suite(&suite, &f.schema, f.dir.path()).unwrap();
    // Under the default policy nothing of this small scenario auto-closes (no threshold is
    // certified at α = 0.01), so the poisoned candidate fails on recall and calibration.
    let strict = run(&f.champion, &f.poisoned, &policy(), &suite, &recent()).unwrap();
    assert!(!strict.passed);
    let failed: Vec<&str> = strict
        .gates
        .iter()
        .filter(|g| !g.passed)
        .map(|g| g.name.as_str())
        .collect();
    assert!(failed.contains(&"non_inferiority.recall"), "{failed:?}");
    // Closing at α = 0.05, it auto-closes rows of the family it was taught to close.
    let report = run(&f.champion, &f.poisoned, &lenient(), &suite, &recent()).unwrap();
    assert!(
        report.candidate.auto_close_threshold.is_some(),
        "{}",
        report.markdown()
    );
    assert!(!report.passed);
    let g = report
        .gates
        .iter()
        .find(|g| g.name == "regression.must_catch")
        .unwrap();
    assert!(!g.passed, "{g:?}");
    assert!(g.detail.contains("test.csv line"), "{}", g.detail);
    let failures = report.failures();
    assert!(
        failures
            .iter()
            .any(|f| f.starts_with("regression.must_catch missed its bound 1.0000 by")),
        "{failures:?}"
    );
    assert!(report.markdown().contains("**FAIL** by"));
}

#[test]
fn a_suite_naming_a_missing_line_or_a_mislabelled_row_is_refused_by_line() {
    let f = fixture();
    let p = write_suite(
        "missing.yaml",
        "  - file: test.csv\n    expect: must_catch\n    lines: [999999]\n",
    );
    let e = load_suite(&p, &f.schema, f.dir.path())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("missing.yaml") && e.contains("line 999999"),
        "{e}"
    );
    let benign = lines(|c| c == BENIGN, 1)[0];
    let p = write_suite(
        "liar.yaml",
        &format!("  - file: test.csv\n    expect: must_catch\n    lines: [{benign}]\n"),
    );
    let e = load_suite(&p, &f.schema, f.dir.path())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!("line {benign} is labelled benign")),
        "{e}"
    );
    let p = write_suite(
        "typo.yaml",
        "  - file: test.csv\n    expect: must_catch\n    line: [3]\n",
    );
    let e = load_suite(&p, &f.schema, f.dir.path())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("typo.yaml") && e.contains("unknown field"),
        "{e}"
    );
}
