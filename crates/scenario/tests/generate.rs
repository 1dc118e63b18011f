//! Generating scenarios end to end and reading them back through the ingest crate: schema,
//! row counts, missing values, determinism and errors.

mod common;

use std::collections::BTreeMap;

use arbiter_core::FieldRole;
use arbiter_ingest::{Loaded, Value};
use arbiter_scenario::{Options, ScenarioError, generate, scenarios};
use common::{read, read_schema, run, small};

fn categories(data: &Loaded) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in &data.records {
        *m.entry(r.category.clone().unwrap()).or_insert(0) += 1;
    }
    m
}

#[test]
fn the_schema_parses_is_marked_synthetic_and_explains_every_feature() {
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), "soc-mixed", 7, &small());
    let schema = read_schema(dir.path());
    assert!(schema.synthetic);
    assert!(schema.description.contains("SYNTHETIC"));
    assert_eq!(
        schema.features().count(),
        31,
        "4 categorical and 27 numeric features"
    );
    for f in schema.features() {
        assert!(f.about.ends_with('.'), "{} needs an about sentence", f.name);
        assert!(
            f.falsify.ends_with('.'),
            "{} needs a falsify sentence",
            f.name
        );
    }
    assert_eq!(schema.source.missing, vec![String::new()]);
    assert_eq!(
        schema.field_with_role(FieldRole::Label).unwrap().name,
        "label"
    );
    assert!(schema.is_benign("benign"));
}

#[test]
fn both_files_load_without_skipped_rows_and_only_test_holds_the_novel_category() {
    let dir = tempfile::tempdir().unwrap();
    let summary = run(dir.path(), "soc-mixed", 7, &small());
    let schema = read_schema(dir.path());
    let train = read(&schema, &summary.train.path);
    let test = read(&schema, &summary.test.path);
    assert_eq!((train.records.len(), train.report.rows_skipped), (4_000, 0));
    assert_eq!((test.records.len(), test.report.rows_skipped), (2_000, 0));
    assert_eq!(categories(&train), summary.train.by_category);
    assert_eq!(categories(&test), summary.test.by_category);
    assert_eq!(summary.novel, "ransomware");
    assert!(!summary.train.by_category.contains_key("ransomware"));
    assert_eq!(summary.test.by_category["ransomware"], 100);
    assert_eq!(summary.train.by_category.len(), 7, "benign and six attacks");
    let benign = summary.train.by_category["benign"] as f64 / 4_000.0;
    assert!((0.65..0.75).contains(&benign), "{benign}");
    let times: Vec<i64> = train.records.iter().map(|r| r.time_ms.unwrap()).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "rows are in time order"
    );
    assert!(test.records[0].time_ms > train.records.last().unwrap().time_ms);
    let readme = std::fs::read_to_string(&summary.readme).unwrap();
    assert!(readme.contains("SYNTHETIC"));
    assert!(readme.contains("seed 7"));
    assert!(readme.contains("ransomware (novel, held out of training) | 0 | 100 |"));
}

#[test]
fn categorical_columns_hold_the_values_their_names_promise() {
    let dir = tempfile::tempdir().unwrap();
    let summary = run(dir.path(), "soc-mixed", 3, &small());
    let schema = read_schema(dir.path());
    let data = read(&schema, &summary.train.path);
    let cat = |i: usize| -> Vec<String> {
        let mut v: Vec<String> = data
            .records
            .iter()
            .map(|r| match &r.features[i] {
                Value::Cat(s) => s.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        v.sort();
        v.dedup();
        v
    };
    assert_eq!(cat(0), ["linux", "macos", "windows"]);
    assert!(cat(1).contains(&"domain_controller".to_string()));
    assert!(cat(2).contains(&"service".to_string()));
    assert!(cat(3).iter().all(|s| s.starts_with("edr-")));
}

#[test]
fn gaps_leave_cells_missing_never_zero_and_only_in_whole_telemetry_groups() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        gaps: 0.2,
        ..small()
    };
    let summary = run(dir.path(), "soc-mixed", 11, &options);
    let schema = read_schema(dir.path());
    let test = read(&schema, &summary.test.path);
    let with_gaps = test.report.rows_with_missing as usize;
    assert_eq!(with_gaps, summary.test.rows_with_gaps);
    assert!(
        (250..550).contains(&with_gaps),
        "{with_gaps} of 2000 at 20%"
    );
    let idx = |n: &str| common::feature(&schema, n);
    let mut edr = 0;
    for r in &test.records {
        if r.features[idx("lsass_access")].is_missing() {
            edr += 1;
            assert!(r.features[idx("process_starts")].is_missing());
            assert!(r.features[idx("shadow_copy_delete")].is_missing());
            assert!(!r.features[idx("bytes_out")].is_missing());
            assert!(!r.features[idx("failed_logins")].is_missing());
        }
        if r.features[idx("bytes_out")].is_missing() {
            assert!(r.features[idx("beacon_regularity")].is_missing());
            assert!(!r.features[idx("process_starts")].is_missing());
        }
        // Process starts are never zero when the sensor was up.
        if let Value::Num(x) = r.features[idx("process_starts")] {
            assert!(x >= 1.0);
        }
    }
    assert!(edr > with_gaps / 2, "{edr} EDR gaps of {with_gaps}");
    let train = read(&schema, &summary.train.path);
    let rate = train.report.rows_with_missing as f64 / 4_000.0;
    assert!(
        rate > 0.0 && rate < 0.02,
        "training gaps are capped at 1%: {rate}"
    );

    let dir = tempfile::tempdir().unwrap();
    let none = Options {
        gaps: 0.0,
        ..small()
    };
    let summary = run(dir.path(), "soc-mixed", 11, &none);
    let test = read(&schema, &summary.test.path);
    assert_eq!(test.report.rows_with_missing, 0);
}

#[test]
fn the_same_seed_gives_identical_bytes_and_another_seed_does_not() {
    let files = ["schema.yaml", "train.csv", "test.csv", "README.md"];
    let bytes = |seed: u64, scenario: &str| -> Vec<Vec<u8>> {
        let dir = tempfile::tempdir().unwrap();
        let options = Options {
            drift: true,
            ..small()
        };
        run(dir.path(), scenario, seed, &options);
        files
            .iter()
            .map(|f| std::fs::read(dir.path().join(f)).unwrap())
            .collect()
    };
    let a = bytes(42, "soc-mixed");
    assert_eq!(a, bytes(42, "soc-mixed"));
    let b = bytes(43, "soc-mixed");
    assert_ne!(a[1], b[1]);
    assert_ne!(a[2], b[2]);
    assert_eq!(a[0], b[0], "the schema does not depend on the seed");
}

#[test]
fn an_unknown_scenario_is_refused_naming_it_and_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let err = generate("soc-mixd", 1, &small(), dir.path()).unwrap_err();
    assert!(matches!(err, ScenarioError::UnknownScenario { .. }));
    let msg = err.to_string();
    assert!(msg.contains("\"soc-mixd\""), "{msg}");
    for (name, about) in scenarios() {
        assert!(msg.contains(name), "{msg}");
        assert!(!about.is_empty());
    }
    assert!(!dir.path().join("train.csv").exists());
}

#[test]
fn bad_options_are_refused_naming_the_option() {
    let dir = tempfile::tempdir().unwrap();
    let err = generate(
        "soc-mixed",
        1,
        &Options {
            gaps: 1.5,
            ..small()
        },
        dir.path(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("invalid option gaps = 1.5"), "{err}");
    let err = generate(
        "soc-mixed",
        1,
        &Options {
            test_rows: 5,
            ..small()
        },
        dir.path(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("test_rows = 5"), "{err}");
}

#[test]
fn an_output_path_that_is_a_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("taken");
    std::fs::write(&file, "x").unwrap();
    let err = generate("soc-mixed", 1, &small(), &file)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("cannot create output directory"), "{err}");
    assert!(err.contains("taken"), "{err}");
}
