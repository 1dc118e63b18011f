//! Reading the real public datasets through the shipped schemas: every published row count,
//! no refused row, every label resolved to a known category and, for TON_IoT, every time parsed.
//!
//! The data lives outside the repository, in `$ARBITER_DATA` or by default `../shared/data`
//! next to the workspace root. When that folder is absent each test says so and passes, unless
//! `ARBITER_REQUIRE_DATA=1` (CI) makes it fail.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arbiter_core::Schema;
use arbiter_ingest::{Loaded, OnError, Value, load, load_schema};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The data folder, or `None` after saying why the calling test is skipped.
fn data_dir(what: &str) -> Option<PathBuf> {
    arbiter_ingest::shared_data_for_test(&workspace_root(), what)
}

fn schema(file: &str) -> Schema {
    load_schema(&workspace_root().join("schemas").join(file)).unwrap_or_else(|e| panic!("{e}"))
}

/// Loads a whole file, stopping at the first malformed row, and checks nothing was refused.
fn read(schema: &Schema, path: &Path) -> Loaded {
    let data = load(schema, path, OnError::Fail, &mut |_, _| {})
        .unwrap_or_else(|e| panic!("{} through {}: {e}", path.display(), schema.id()));
    assert_eq!(data.report.rows_skipped, 0, "{}", data.report.summary());
    assert_eq!(
        data.report.rows_accepted,
        data.records.len() as u64,
        "{}",
        data.report.summary()
    );
    data
}

/// Rows per category, every row labelled.
fn categories(data: &Loaded) -> BTreeMap<&str, usize> {
    let mut counts = BTreeMap::new();
    for r in &data.records {
        let c = r
            .category
            .as_deref()
            .unwrap_or_else(|| panic!("line {} has no label", r.line));
        *counts.entry(c).or_default() += 1;
    }
    counts
}

fn counts<'a>(pairs: &[(&'a str, usize)]) -> BTreeMap<&'a str, usize> {
    pairs.iter().copied().collect()
}

// NSL-KDD ---------------------------------------------------------------------------------

/// Reads one NSL-KDD file and checks its row count and family counts; every attack name must
/// map to one of the four families, so a raw name left over would show up here as a key.
fn check_nsl_kdd(file: &str, rows: usize, families: &[(&str, usize)]) {
    let Some(dir) = data_dir("NSL-KDD") else {
        return;
    };
    let schema = schema("nsl-kdd.yaml");
    let data = read(&schema, &dir.join("nsl-kdd").join(file));
    assert_eq!(data.records.len(), rows, "{file}");
    assert_eq!(categories(&data), counts(families), "{file}");
    assert_eq!(
        data.report.rows_with_missing,
        0,
        "{}",
        data.report.summary()
    );
    let first = &data.records[0];
    assert_eq!(
        first.features.len(),
        41,
        "the difficulty level is never a feature"
    );
    assert!(matches!(first.features[1], Value::Cat(_)), "protocol_type");
    assert!(matches!(first.features[0], Value::Num(_)), "duration");
}

#[test]
fn nsl_kdd_train_reads_every_row_with_its_schema() {
    check_nsl_kdd(
        "KDDTrain+.txt.xz",
        125_973,
        &[
            ("benign", 67_343),
            ("dos", 45_927),
            ("probe", 11_656),
            ("r2l", 995),
            ("u2r", 52),
        ],
    );
}

#[test]
fn nsl_kdd_test_reads_every_row_and_maps_the_attacks_unseen_in_training() {
    check_nsl_kdd(
        "KDDTest+.txt.xz",
        22_544,
        &[
            ("benign", 9_711),
            ("dos", 7_458),
            ("probe", 2_421),
            ("r2l", 2_887),
            ("u2r", 67),
        ],
    );
}

#[test]
fn nsl_kdd_test_21_reads_every_row_with_its_schema() {
    check_nsl_kdd(
        "KDDTest-21.txt.xz",
        11_850,
        &[
            ("benign", 2_152),
            ("dos", 4_342),
            ("probe", 2_402),
            ("r2l", 2_887),
            ("u2r", 67),
        ],
    );
}

#[test]
fn nsl_kdd_train_20_percent_reads_every_row_with_its_schema() {
    check_nsl_kdd(
        "KDDTrain+_20Percent.txt.xz",
        25_192,
        &[
            ("benign", 13_449),
            ("dos", 9_234),
            ("probe", 2_289),
            ("r2l", 209),
            ("u2r", 11),
        ],
    );
}

// UNSW-NB15 -------------------------------------------------------------------------------

#[test]
fn unsw_nb15_reads_every_row_with_the_published_category_counts() {
    let Some(dir) = data_dir("UNSW-NB15") else {
        return;
    };
    let schema = schema("unsw-nb15.yaml");
    let data = read(
        &schema,
        &dir.join("unsw-nb15/UNSW_NB15_training-set.csv.xz"),
    );
    assert_eq!(data.records.len(), 82_332);
    assert_eq!(
        categories(&data),
        counts(&[
            ("benign", 37_000),
            ("generic", 18_871),
            ("exploits", 11_132),
            ("fuzzers", 6_062),
            ("dos", 4_089),
            ("reconnaissance", 3_496),
            ("analysis", 677),
            ("backdoor", 583),
            ("shellcode", 378),
            ("worms", 44),
        ])
    );
    assert!(data.report.extra_columns.is_empty());
    assert_eq!(
        data.report.rows_with_missing,
        0,
        "a \"-\" service is a value, not a gap: {}",
        data.report.summary()
    );
    let first = &data.records[0];
    assert_eq!(
        first.features.len(),
        42,
        "id, attack_cat and label are not features"
    );
    assert_eq!(first.ids, vec![("id".to_string(), "1".to_string())]);
    let service = schema.features().position(|f| f.name == "service").unwrap();
    assert_eq!(first.features[service], Value::Cat("-".into()));
}

// TON_IoT ---------------------------------------------------------------------------------

/// 2019-03-31T00:00:00Z and 2019-04-30T00:00:00Z: every TON_IoT reading lies between them.
const TON_IOT_FIRST_DAY_MS: i64 = 1_553_990_400_000;
const TON_IOT_AFTER_LAST_DAY_MS: i64 = 1_556_582_400_000;

/// Reads one TON_IoT device file and checks its row count, its attack types and that every
/// row's date and time parse into the capture period.
/// `None` when the data folder is absent.
fn check_ton_iot(
    schema_file: &str,
    file: &str,
    rows: usize,
    types: &[(&str, usize)],
) -> Option<Loaded> {
    let dir = data_dir("TON_IoT")?;
    let schema = schema(schema_file);
    let data = read(&schema, &dir.join("ton_iot").join(file));
    assert_eq!(data.records.len(), rows, "{file}");
    assert_eq!(categories(&data), counts(types), "{file}");
    assert_eq!(
        data.report.rows_with_missing,
        0,
        "{}",
        data.report.summary()
    );
    for r in &data.records {
        let t = r
            .time_ms
            .unwrap_or_else(|| panic!("{file} line {} has no time", r.line));
        assert!(
            (TON_IOT_FIRST_DAY_MS..TON_IOT_AFTER_LAST_DAY_MS).contains(&t),
            "{file} line {}: time {t} outside the capture period",
            r.line
        );
    }
    Some(data)
}

#[test]
fn ton_iot_fridge_reads_every_row_and_its_times() {
    let Some(data) = check_ton_iot(
        "ton_iot-fridge.yaml",
        "Train_Test_IoT_Fridge.csv.xz",
        39_944,
        &[
            ("benign", 15_000),
            ("backdoor", 5_000),
            ("ddos", 5_000),
            ("injection", 5_000),
            ("password", 5_000),
            ("ransomware", 2_902),
            ("xss", 2_042),
        ],
    ) else {
        return;
    };
    // The first row is "25-Apr-19, 19:19:40 ": the padded time still parses, read as UTC.
    assert_eq!(data.records[0].time_ms, Some(1_556_219_980_000));
    for r in &data.records {
        assert!(
            matches!(&r.features[1], Value::Cat(c) if c == "high" || c == "low"),
            "line {}: temp_condition {:?} (trailing spaces must be trimmed)",
            r.line,
            r.features[1]
        );
    }
}

#[test]
fn ton_iot_gps_tracker_reads_every_row_and_its_times() {
    check_ton_iot(
        "ton_iot-gps_tracker.yaml",
        "Train_Test_IoT_GPS_Tracker.csv.xz",
        38_960,
        &[
            ("benign", 15_000),
            ("backdoor", 5_000),
            ("ddos", 5_000),
            ("injection", 5_000),
            ("password", 5_000),
            ("ransomware", 2_833),
            ("scanning", 550),
            ("xss", 577),
        ],
    );
}

#[test]
fn ton_iot_garage_door_reads_both_spellings_of_the_phone_signal_as_the_same_numbers() {
    let Some(data) = check_ton_iot(
        "ton_iot-garage_door.yaml",
        "Train_Test_IoT_Garage_Door.csv.xz",
        39_587,
        &[
            ("benign", 15_000),
            ("backdoor", 5_000),
            ("ddos", 5_000),
            ("injection", 5_000),
            ("password", 5_000),
            ("ransomware", 2_902),
            ("scanning", 529),
            ("xss", 1_156),
        ],
    ) else {
        return;
    };
    // Normal rows spell the signal false/true, attack rows 0/1: read as text it would give
    // the label away, read as a number both spellings agree (and match the door state).
    for r in &data.records {
        let open = match &r.features[0] {
            Value::Cat(s) if s == "open" => 1.0,
            Value::Cat(s) if s == "closed" => 0.0,
            other => panic!("line {}: door_state {other:?}", r.line),
        };
        assert_eq!(r.features[1], Value::Num(open), "line {}", r.line);
    }
}

#[test]
fn ton_iot_modbus_reads_every_row_and_its_times() {
    check_ton_iot(
        "ton_iot-modbus.yaml",
        "Train_Test_IoT_Modbus.csv.xz",
        31_106,
        &[
            ("benign", 15_000),
            ("backdoor", 5_000),
            ("injection", 5_000),
            ("password", 5_000),
            ("scanning", 529),
            ("xss", 577),
        ],
    );
}

#[test]
fn ton_iot_motion_light_reads_every_row_and_its_times() {
    let Some(data) = check_ton_iot(
        "ton_iot-motion_light.yaml",
        "Train_Test_IoT_Motion_Light.csv.xz",
        39_488,
        &[
            ("benign", 15_000),
            ("backdoor", 5_000),
            ("ddos", 5_000),
            ("injection", 5_000),
            ("password", 5_000),
            ("ransomware", 2_264),
            ("scanning", 1_775),
            ("xss", 449),
        ],
    ) else {
        return;
    };
    for r in &data.records {
        assert!(
            matches!(&r.features[1], Value::Cat(c) if c == "on" || c == "off"),
            "line {}: light_status {:?} (the leading space must be trimmed)",
            r.line,
            r.features[1]
        );
    }
}

#[test]
fn ton_iot_thermostat_reads_every_row_and_its_times() {
    check_ton_iot(
        "ton_iot-thermostat.yaml",
        "Train_Test_IoT_Thermostat.csv.xz",
        32_774,
        &[
            ("benign", 15_000),
            ("backdoor", 5_000),
            ("injection", 5_000),
            ("password", 5_000),
            ("ransomware", 2_264),
            ("scanning", 61),
            ("xss", 449),
        ],
    );
}

#[test]
fn ton_iot_weather_reads_every_row_and_its_times() {
    check_ton_iot(
        "ton_iot-weather.yaml",
        "Train_Test_IoT_Weather.csv.xz",
        39_260,
        &[
            ("benign", 15_000),
            ("backdoor", 5_000),
            ("ddos", 5_000),
            ("injection", 5_000),
            ("password", 5_000),
            ("ransomware", 2_865),
            ("scanning", 529),
            ("xss", 866),
        ],
    );
}
