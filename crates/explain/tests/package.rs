//! The evidence package as a contract: golden files, the published JSON Schema, and the
//! promises each part makes (a found counterfactual really flips the verdict, unstable
//! explanations are flagged where they matter, similar cases say what they are). Runs on a
//! generated SYNTHETIC scenario with drift and telemetry gaps.
//!
//! Regenerate the golden files after an intended change with
//! `UPDATE_GOLDEN=1 cargo test -p arbiter-explain --test package`.

use std::path::PathBuf;
use std::sync::OnceLock;

use arbiter_core::{EVIDENCE_SCHEMA_VERSION, EvidencePackage, FieldValue, Flag, NOVEL};
use arbiter_explain::package::{MID_CONFIDENCE, UNSTABLE_BELOW};
use arbiter_explain::{CaseStore, Explaining, render};
use arbiter_ingest::{OnError, Record, Value, load, load_schema};
use arbiter_model::Model;
use arbiter_train::{InputFile, Quiet, TrainOptions, bundle, train};
use serde_json::Value as Json;

const FILE: &str = "test.csv";
const GOLDEN_ROWS: usize = 8;

struct Fixture {
    model: std::sync::Arc<Model>,
    train: Vec<Record>,
    test: Vec<Record>,
    packages: Vec<EvidencePackage>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let options = arbiter_scenario::Options {
            train_rows: 3_000,
            test_rows: 600,
            drift: true,
            gaps: 0.2,
        };
        arbiter_scenario::generate("soc-mixed", 5, &options, dir.path()).unwrap();
        let schema = load_schema(&dir.path().join("schema.yaml")).unwrap();
        let read = |name: &str| {
            load(
                &schema,
                &dir.path().join(name),
                OnError::Fail,
                &mut |_, _| {},
            )
            .unwrap()
            .records
        };
        let data = load(
            &schema,
            &dir.path().join("train.csv"),
            OnError::Fail,
            &mut |_, _| {},
        )
        .unwrap();
        let train_rows = data.records.clone();
        let input = InputFile {
            name: "train.csv".into(),
            sha256: "synthetic".into(),
            data,
            weights: None,
        };
        let opts = TrainOptions {
            members: 3,
            iterations: 40,
            ..TrainOptions::default()
        };
        let trained = train(&schema, vec![input], &opts, &Quiet).unwrap();
        let out = dir.path().join("bundle");
        bundle::write(&out, &trained.files).unwrap();
        let model = std::sync::Arc::new(Model::load(&out).unwrap());
        let test = read("test.csv");
        let packages = Explaining::new(model.clone(), None)
            .unwrap()
            .explain(&test, FILE)
            .unwrap();
        Fixture {
            model,
            train: train_rows,
            test,
            packages,
        }
    })
}

/// A package as JSON with what legitimately varies taken out: the bundle id (a hash of the
/// model bytes) and the last digits of floating-point values.
fn normalised(p: &EvidencePackage) -> Json {
    fn round(v: &mut Json) {
        match v {
            Json::Number(n) => {
                if let Some(f) = n.as_f64().filter(|_| !n.is_i64() && !n.is_u64()) {
                    let r: f64 = format!("{f:.6e}").parse().unwrap();
                    *v = serde_json::json!(r);
                }
            }
            Json::Array(a) => a.iter_mut().for_each(round),
            Json::Object(o) => o.values_mut().for_each(round),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(p).unwrap();
    v["provenance"]["bundle"] = Json::String("<bundle id>".into());
    round(&mut v);
    v
}

fn golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (create it with UPDATE_GOLDEN=1)", path.display()));
    assert!(
        expected == actual,
        "{} differs from this run's output; if the change is intended, rerun with \
         UPDATE_GOLDEN=1 and review the diff\n--- this run ---\n{actual}",
        path.display()
    );
}

#[test]
fn packages_match_the_golden_file() {
    let fx = fixture();
    let docs: Vec<Json> = fx.packages[..GOLDEN_ROWS].iter().map(normalised).collect();
    golden(
        "packages.json",
        &(serde_json::to_string_pretty(&docs).unwrap() + "\n"),
    );
}

#[test]
fn the_terminal_rendering_matches_the_golden_file() {
    let fx = fixture();
    let text: String = fx.packages[..3]
        .iter()
        .map(|p| {
            let mut p = p.clone();
            p.provenance.bundle = "<bundle id>".into();
            render::text(&p) + "\n"
        })
        .collect();
    golden("packages.txt", &text);
}

fn validator() -> jsonschema::Validator {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/schemas/evidence-package.schema.json");
    let schema: Json = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

#[test]
fn every_package_validates_against_the_published_json_schema() {
    let fx = fixture();
    let v = validator();
    for p in &fx.packages {
        let doc = serde_json::to_value(p).unwrap();
        let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", p.alert_id);
    }
}

#[test]
fn the_json_schema_refuses_a_package_without_its_version_or_with_an_unknown_field() {
    let v = validator();
    let mut doc = serde_json::to_value(&fixture().packages[0]).unwrap();
    assert!(v.is_valid(&doc));
    doc["surprise"] = Json::Bool(true);
    assert!(!v.is_valid(&doc), "unknown top-level field accepted");
    let mut doc = serde_json::to_value(&fixture().packages[0]).unwrap();
    doc.as_object_mut().unwrap().remove("schema_version");
    assert!(!v.is_valid(&doc), "missing schema_version accepted");
}

#[test]
fn a_package_round_trips_through_json_and_carries_the_schema_version() {
    for p in &fixture().packages {
        assert_eq!(p.schema_version, EVIDENCE_SCHEMA_VERSION);
        let back: EvidencePackage =
            serde_json::from_str(&serde_json::to_string(p).unwrap()).unwrap();
        assert_eq!(&back, p);
    }
}

fn with_changes(r: &Record, model: &Model, p: &EvidencePackage) -> Record {
    let mut r = r.clone();
    for c in &p.counterfactual.changes {
        let j = model
            .encoder
            .spec
            .names
            .iter()
            .position(|n| *n == c.field)
            .unwrap();
        r.features[j] = match &c.to {
            FieldValue::Number(v) => Value::Num(*v),
            FieldValue::Text(s) => Value::Cat(s.clone()),
            FieldValue::Missing => Value::Missing,
        };
    }
    r
}

#[test]
fn a_found_counterfactual_flips_the_verdict_when_applied_to_the_alert() {
    let fx = fixture();
    let mut found = 0;
    for (r, p) in fx.test.iter().zip(&fx.packages) {
        if !p.counterfactual.found {
            assert!(p.counterfactual.changes.is_empty());
            assert!(p.counterfactual.statement.contains("flips the verdict"));
            continue;
        }
        found += 1;
        assert!((1..=2).contains(&p.counterfactual.changes.len()));
        let changed = with_changes(r, &fx.model, p);
        let s = &fx.model.score(&[changed], FILE, 0.05).unwrap()[0];
        assert_eq!(
            Some(s.verdict()),
            p.counterfactual.flips_to,
            "{}",
            p.alert_id
        );
        assert_ne!(s.verdict(), p.verdict.label, "{}", p.alert_id);
        let after = p.counterfactual.p_after.unwrap();
        assert!((s.p_malicious.get() - after).abs() < 1e-9, "{}", p.alert_id);
    }
    assert!(found > 10, "only {found} counterfactuals found in 600 rows");
}

#[test]
fn an_unstable_explanation_is_flagged_exactly_on_mid_confidence_alerts_with_diverging_members() {
    for p in &fixture().packages {
        let pm = p.verdict.p_malicious;
        let should = p.uncertainty.stability < UNSTABLE_BELOW
            && pm > MID_CONFIDENCE[0]
            && pm < MID_CONFIDENCE[1];
        let has = p.uncertainty.flags.contains(&Flag::UnstableExplanation);
        assert_eq!(has, should, "{}", p.alert_id);
        assert!((0.0..=1.0).contains(&p.uncertainty.stability));
    }
}

#[test]
fn hypotheses_always_include_benign_and_novel_and_close_calls_are_named() {
    for p in &fixture().packages {
        let names: Vec<&str> = p.hypotheses.iter().map(|h| h.name.as_str()).collect();
        assert!(names.contains(&"benign"), "{}: {names:?}", p.alert_id);
        assert!(names.contains(&NOVEL), "{}: {names:?}", p.alert_id);
        assert!(p.hypotheses.windows(2).all(|w| w[0].p >= w[1].p));
        let (a, b) = (&p.hypotheses[0], &p.hypotheses[1]);
        if a.name != NOVEL && b.p >= 0.5 * a.p && b.p > 0.05 {
            assert!(p.summary.why.contains("close call"), "{}", p.summary.why);
        }
    }
}

#[test]
fn drivers_name_the_value_what_is_typical_and_the_fields_meaning() {
    let fx = fixture();
    for p in &fx.packages {
        assert!(!p.drivers.is_empty());
        assert!(
            p.drivers
                .windows(2)
                .all(|w| { w[0].contribution.abs() >= w[1].contribution.abs() })
        );
        for d in &p.drivers {
            let about = &fx.model.schema.field(&d.field).unwrap().about;
            assert!(d.text.starts_with(&d.field), "{}", d.text);
            assert!(d.text.contains(about.trim_end_matches('.')), "{}", d.text);
        }
    }
}

#[test]
fn the_falsification_check_comes_from_the_schema_text_of_its_field() {
    let fx = fixture();
    for p in &fx.packages {
        let field = p
            .falsify
            .field
            .as_ref()
            .expect("a driver toward the verdict");
        let text = &fx.model.schema.field(field).unwrap().falsify;
        assert_eq!(&p.falsify.check, text);
        assert_eq!(p.summary.check_next, p.falsify.check);
    }
}

#[test]
fn provenance_says_which_features_the_row_lacked() {
    let fx = fixture();
    let mut gaps = 0;
    for p in &fx.packages {
        let v = &p.provenance;
        assert_eq!(v.features_present + v.missing.len(), v.features_expected);
        if !v.missing.is_empty() {
            gaps += 1;
            assert!(p.uncertainty.flags.contains(&Flag::MissingTelemetry));
        }
    }
    assert!(gaps > 0, "the scenario has telemetry gaps");
}

#[test]
fn without_a_store_similar_cases_are_empty_and_say_so() {
    let p = &fixture().packages[0];
    assert!(p.similar_cases.cases.is_empty());
    assert!(p.similar_cases.store.is_none());
    assert!(
        p.similar_cases
            .note
            .as_deref()
            .unwrap_or("")
            .contains("no store")
    );
}

#[test]
fn with_a_store_similar_cases_are_the_nearest_resolved_alerts_with_their_resolution() {
    let fx = fixture();
    let store = CaseStore::new(&fx.model, "train.csv", "train.csv", &fx.train);
    let explaining = Explaining::new(fx.model.clone(), Some(store)).unwrap();
    let packages = explaining.explain(&fx.test[..50], FILE).unwrap();
    let schema = validator();
    for p in &packages {
        assert!(schema.is_valid(&serde_json::to_value(p).unwrap()));
        let c = &p.similar_cases;
        assert!(!c.cases.is_empty(), "{}", p.alert_id);
        assert!(c.store.as_deref().unwrap().starts_with("train.csv"));
        assert!(c.cases.windows(2).all(|w| w[0].distance <= w[1].distance));
        for case in &c.cases {
            let line = case.source.line as usize;
            let r = fx.train.iter().find(|r| r.line as usize == line).unwrap();
            assert_eq!(Some(&case.resolution), r.label.as_ref());
        }
    }
}
