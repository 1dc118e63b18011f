//! Reading real-shaped files through schemas: formats, bad input, missing values.

use std::path::{Path, PathBuf};

use arbiter_core::Schema;
use arbiter_ingest::{IngestError, OnError, Value, load, load_schema};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn schema(text: &str) -> Schema {
    Schema::from_yaml(text, "test.yaml").unwrap()
}

const FLOWS: &str = r#"
format_version: 1
name: flows
revision: 1
source: {format: csv, header: true, missing: ["", "-"]}
label: {benign: ["0"], categories: {Normal: benign, Exploits: exploit}}
time: {fields: [date, clock], format: "%d-%b-%y %H:%M:%S"}
fields:
  - {name: id, role: identifier}
  - {name: date, role: timestamp}
  - {name: clock, role: timestamp}
  - {name: bytes, role: numeric}
  - {name: proto, role: categorical}
  - {name: attack_cat, role: category}
  - {name: label, role: label}
"#;

fn nothing(_: u64, _: u64) {}

#[test]
fn a_csv_with_bom_crlf_and_header_reads_every_role() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "flows.csv",
        "\u{feff}id,date,clock,bytes,proto,extra,attack_cat,label\r\n\
         7,25-Apr-19, 19:19:40 ,120,tcp,x,Normal,0\r\n\
         8,25-Apr-19,19:19:41,-,udp,y,Exploits,1\r\n",
    );
    let data = load(&schema(FLOWS), &p, OnError::Fail, &mut nothing).unwrap();
    assert_eq!(data.records.len(), 2);
    let a = &data.records[0];
    assert_eq!(a.line, 2);
    assert_eq!(
        a.features,
        vec![Value::Num(120.0), Value::Cat("tcp".into())]
    );
    assert_eq!(a.category.as_deref(), Some("benign"));
    assert_eq!(a.time_ms, Some(1_556_219_980_000));
    assert_eq!(a.ids, vec![("id".to_string(), "7".to_string())]);
    let b = &data.records[1];
    assert_eq!(
        b.features[0],
        Value::Missing,
        "a missing token is never zero"
    );
    assert_eq!(b.category.as_deref(), Some("exploit"));
    assert_eq!(b.is_malicious(), Some(true));
    assert_eq!(data.report.extra_columns, vec!["extra".to_string()]);
    assert_eq!(data.report.missing_by_field.get("bytes"), Some(&1));
    assert_eq!(data.report.rows_with_missing, 1);
}

#[test]
fn a_bad_number_names_file_line_field_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "flows.csv",
        "id,date,clock,bytes,proto,attack_cat,label\n\
         1,25-Apr-19,10:00:00,5,tcp,Normal,0\n\
         2,25-Apr-19,10:00:00,abc,tcp,Normal,0\n",
    );
    let err = load(&schema(FLOWS), &p, OnError::Fail, &mut nothing).unwrap_err();
    let msg = err.to_string();
    assert_eq!(
        msg,
        format!(
            "invalid value \"abc\" for field bytes at line 3 of {}: expected a number",
            p.display()
        )
    );
}

#[test]
fn skipping_counts_bad_rows_by_field_and_keeps_the_good_ones() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "flows.csv",
        "id,date,clock,bytes,proto,attack_cat,label\n\
         1,25-Apr-19,10:00:00,5,tcp,Normal,0\n\
         2,25-Apr-19,10:00:00,abc,tcp,Normal,0\n\
         3,25-Apr-19,10:00:00,5,tcp\n\
         4,25-Apr-19,nonsense,5,tcp,Normal,0\n\
         5,25-Apr-19,10:00:00,5,tcp,Normal,1\n\
         6,25-Apr-19,10:00:01,6,udp,Exploits,1\n",
    );
    let data = load(&schema(FLOWS), &p, OnError::Skip, &mut nothing).unwrap();
    let lines: Vec<u64> = data.records.iter().map(|r| r.line).collect();
    assert_eq!(lines, vec![2, 7]);
    let r = &data.report;
    assert_eq!((r.rows_accepted, r.rows_skipped), (2, 4));
    assert_eq!(r.skipped_by_field.get("bytes"), Some(&1));
    assert_eq!(r.skipped_by_field.get("(row)"), Some(&1));
    assert_eq!(r.skipped_by_field.get("date+clock"), Some(&1));
    assert_eq!(r.skipped_by_field.get("label"), Some(&1));
    assert!(
        r.errors[1]
            .to_string()
            .contains("expected 7 columns, found 5")
    );
    assert!(
        r.errors[3]
            .to_string()
            .contains("label \"1\" says malicious but category \"Normal\" says benign"),
        "{}",
        r.errors[3]
    );
    assert!(r.summary().contains("2 rows accepted, 4 skipped"));
}

#[test]
fn a_file_where_every_row_is_bad_is_an_error_even_when_skipping() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "flows.csv",
        "id,date,clock,bytes,proto,attack_cat,label\n1,x,y,z\n",
    );
    let err = load(&schema(FLOWS), &p, OnError::Skip, &mut nothing).unwrap_err();
    assert!(matches!(err, IngestError::NothingAccepted { rows: 1, .. }));
}

#[test]
fn a_declared_column_absent_from_the_header_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "flows.csv",
        "id,date,clock,proto,attack_cat,label\n",
    );
    let err = load(&schema(FLOWS), &p, OnError::Skip, &mut nothing).unwrap_err();
    assert!(
        err.to_string()
            .contains("column bytes declared in schema flows@1 is not in the header"),
        "{err}"
    );
}

#[test]
fn a_headerless_semicolon_file_reads_by_position() {
    let text = r#"
format_version: 1
name: semi
revision: 1
source: {format: csv, delimiter: ";"}
fields:
  - {name: a, role: numeric}
  - {name: b, role: categorical}
"#;
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "x.csv", "1;\"q;r\"\n2;s\n");
    let data = load(&schema(text), &p, OnError::Fail, &mut nothing).unwrap();
    assert_eq!(data.records[0].features[1], Value::Cat("q;r".into()));
    assert_eq!(data.records[1].features[0], Value::Num(2.0));
    assert_eq!(data.records[0].label, None);
}

const ALERTS: &str = r#"
format_version: 1
name: alerts
revision: 1
source: {format: ndjson}
label: {benign: [benign]}
fields:
  - {name: host, role: identifier, path: host.name}
  - {name: ts, role: timestamp, path: "@timestamp"}
  - {name: bytes, role: numeric, path: network.bytes}
  - {name: orig, role: categorical, path: id.orig_h}
  - {name: truth, role: label}
"#;

#[test]
fn ndjson_fields_are_found_by_path_and_absent_paths_are_missing() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "a.ndjson",
        "{\"host\":{\"name\":\"h1\"},\"@timestamp\":\"2024-01-01T00:00:00Z\",\"network\":{\"bytes\":12},\"id.orig_h\":\"10.0.0.1\",\"truth\":\"benign\"}\r\n\
         \n\
         {\"host\":{\"name\":\"h2\"},\"truth\":\"c2\"}\n",
    );
    let data = load(&schema(ALERTS), &p, OnError::Fail, &mut nothing).unwrap();
    assert_eq!(data.records.len(), 2);
    let a = &data.records[0];
    assert_eq!(
        a.features,
        vec![Value::Num(12.0), Value::Cat("10.0.0.1".into())]
    );
    assert_eq!(a.time_ms, Some(1_704_067_200_000));
    let b = &data.records[1];
    assert_eq!(b.line, 3, "blank lines still count");
    assert_eq!(b.features, vec![Value::Missing, Value::Missing]);
    assert_eq!(b.category.as_deref(), Some("c2"));
    assert_eq!(data.report.missing_by_field.get("bytes"), Some(&1));
}

#[test]
fn a_broken_json_line_is_refused_by_line_and_the_rest_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "a.ndjson.gz",
        "", // replaced below with gzip bytes
    );
    let text = "{\"truth\":\"benign\",\"network\":{\"bytes\":1}}\n{oops\n[1]\n{\"network\":{\"bytes\":{\"x\":1}}}\n{\"truth\":\"x\"}\n";
    {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(
            std::fs::File::create(&p).unwrap(),
            flate2::Compression::default(),
        );
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap();
    }
    let data = load(&schema(ALERTS), &p, OnError::Skip, &mut nothing).unwrap();
    assert_eq!(
        data.records.iter().map(|r| r.line).collect::<Vec<_>>(),
        vec![1, 5]
    );
    let errs: Vec<String> = data.report.errors.iter().map(|e| e.to_string()).collect();
    assert!(
        errs[0].contains("at line 2") && errs[0].contains("not valid JSON"),
        "{errs:?}"
    );
    assert!(errs[1].contains("expected a JSON object"), "{errs:?}");
    assert!(
        errs[2].contains("for field bytes at line 4") && errs[2].contains("nested"),
        "{errs:?}"
    );
}

#[test]
fn every_shipped_schema_is_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "yaml") {
            let s = load_schema(&p).unwrap_or_else(|e| panic!("{e}"));
            assert!(
                s.fields
                    .iter()
                    .filter(|f| f.role.is_feature())
                    .all(|f| !f.about.is_empty() && !f.falsify.is_empty()),
                "every feature of {} needs analyst text",
                p.display()
            );
            n += 1;
        }
    }
    assert!(
        n >= 3,
        "expected the NSL-KDD, UNSW-NB15 and TON_IoT schemas, found {n}"
    );
}

#[test]
fn the_features_a_stored_alert_keeps_read_back_exactly_as_the_model_read_them() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "flows.csv",
        "id,date,clock,bytes,proto,attack_cat,label\n\
         7,25-Apr-19,19:19:40,120,tcp,Normal,0\n\
         8,25-Apr-19,19:19:41,-,udp,Exploits,1\n",
    );
    let s = schema(FLOWS);
    let data = load(&s, &p, OnError::Fail, &mut nothing).unwrap();
    for r in &data.records {
        let kept = r.observed(&s);
        assert_eq!(kept.keys().collect::<Vec<_>>(), ["bytes", "proto"]);
        let back = arbiter_ingest::Record::from_observed(&s, &kept, r.line);
        assert_eq!(back.features, r.features, "line {}", r.line);
    }
    // A value of the wrong kind, or a field the map lacks, is missing: never guessed at.
    let mut odd = data.records[0].observed(&s);
    odd.insert("bytes".into(), arbiter_core::FieldValue::Text("120".into()));
    odd.remove("proto");
    let back = arbiter_ingest::Record::from_observed(&s, &odd, 1);
    assert_eq!(back.features, vec![Value::Missing, Value::Missing]);
}
