//! Issue 10: a row could carry values of any length into storage (a 1 MB categorical value
//! became a 7.35 MB evidence package), and a JSON line with a key written twice was read as
//! its last value without a word. Both are refused now, by name, by every reader: CSV and
//! NDJSON files and `parse_ndjson`, which the HTTP API uses.

use std::path::{Path, PathBuf};

use arbiter_core::Schema;
use arbiter_ingest::{
    MAX_CATEGORY_BYTES, MAX_CELL_BYTES, MAX_ID_BYTES, OnError, QUOTE_CHARS, RowError,
    StrictJsonError, Value, from_slice_strict, load, parse_ndjson,
};
use proptest::prelude::*;
use serde_json::json;

const ALERTS: &str = r#"
format_version: 1
name: alerts
revision: 1
source: {format: ndjson}
label: {benign: [benign]}
fields:
  - {name: host, role: identifier, path: event.host}
  - {name: ts, role: timestamp}
  - {name: src_bytes, role: numeric, path: event.src_bytes}
  - {name: proto, role: categorical}
  - {name: truth, role: label}
"#;

const FLOWS: &str = r#"
format_version: 1
name: flows
revision: 1
source: {format: csv, header: true}
label: {benign: ["0"]}
fields:
  - {name: id, role: identifier}
  - {name: bytes, role: numeric}
  - {name: proto, role: categorical}
  - {name: label, role: label}
"#;

fn schema(text: &str) -> Schema {
    Schema::from_yaml(text, "test.yaml").unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn alert(host: &str, proto: &str, truth: &str) -> String {
    json!({
        "event": {"host": host, "src_bytes": 12},
        "ts": "2024-01-01T00:00:00Z",
        "proto": proto,
        "truth": truth,
    })
    .to_string()
}

fn one(lines: &[String]) -> Vec<Result<arbiter_ingest::Record, RowError>> {
    parse_ndjson(
        &schema(ALERTS),
        "body",
        (lines.join("\n") + "\n").into_bytes(),
    )
}

/// The error quotes a prefix only: never more than QUOTE_CHARS characters and the ellipsis.
fn assert_quoted_by_prefix(e: &RowError) {
    let value = e.value.as_deref().expect("the error quotes the value");
    assert!(value.ends_with('…'), "{value:?}");
    assert_eq!(value.chars().count(), QUOTE_CHARS + 1, "{value:?}");
    assert!(e.to_string().len() < 400, "the error must not amplify: {e}");
}

#[test]
fn issue_10_a_categorical_value_over_the_cap_is_refused_by_name() {
    let huge = "x".repeat(1 << 20);
    let out = one(&[alert("h1", "tcp", "benign"), alert("h2", &huge, "benign")]);
    assert!(out[0].is_ok(), "the line before is unaffected");
    let e = out[1].as_ref().unwrap_err();
    assert_eq!((e.line, e.field.as_deref()), (2, Some("proto")));
    assert_eq!(
        e.problem,
        format!(
            "1048576 bytes, over the limit of {MAX_CATEGORY_BYTES} bytes for a categorical value"
        )
    );
    assert_quoted_by_prefix(e);
    assert!(
        e.to_string().starts_with("invalid value \"xxxx")
            && e.to_string()
                .contains("for field proto at line 2 of body: 1048576 bytes"),
        "{e}"
    );
}

#[test]
fn issue_10_a_value_of_exactly_the_cap_is_accepted_and_one_byte_more_is_not() {
    let cases = [
        (MAX_ID_BYTES, "host", "an identifier"),
        (MAX_CATEGORY_BYTES, "proto", "a categorical value"),
        (MAX_CATEGORY_BYTES, "truth", "a label or category"),
    ];
    for (cap, field, what) in cases {
        let line = |n: usize| {
            let v = "é".repeat(n / 2) + &"a".repeat(n % 2);
            match field {
                "host" => alert(&v, "tcp", "benign"),
                "proto" => alert("h", &v, "benign"),
                _ => alert("h", "tcp", &v),
            }
        };
        let out = one(&[line(cap), line(cap + 1)]);
        let ok = out[0]
            .as_ref()
            .expect("a value of exactly the cap is accepted");
        match field {
            "host" => assert_eq!(ok.ids[0].1.len(), cap),
            "proto" => assert!(matches!(&ok.features[1], Value::Cat(s) if s.len() == cap)),
            _ => assert_eq!(ok.label.as_ref().map(String::len), Some(cap)),
        }
        let e = out[1].as_ref().unwrap_err();
        assert_eq!(e.field.as_deref(), Some(field));
        assert_eq!(
            e.problem,
            format!(
                "{} bytes, over the limit of {cap} bytes for {what}",
                cap + 1
            )
        );
        assert_quoted_by_prefix(e);
    }
}

#[test]
fn issue_10_spaces_around_a_value_do_not_count_against_the_cap() {
    let padded = format!("{}tcp{}", " ".repeat(5000), " ".repeat(5000));
    let out = one(&[alert("h", &padded, "benign")]);
    let r = out[0]
        .as_ref()
        .expect("the stored value is the trimmed one");
    assert_eq!(r.features[1], Value::Cat("tcp".into()));
}

#[test]
fn issue_10_an_identifier_over_the_cap_is_refused_in_a_csv_file() {
    let dir = tempfile::tempdir().unwrap();
    let long_id = "f".repeat(MAX_ID_BYTES + 1);
    let p = write(
        dir.path(),
        "flows.csv",
        &format!("id,bytes,proto,label\nf1,5,tcp,0\n{long_id},5,tcp,0\nf3,5,udp,0\n"),
    );
    let data = load(&schema(FLOWS), &p, OnError::Skip, &mut |_, _| {}).unwrap();
    let lines: Vec<u64> = data.records.iter().map(|r| r.line).collect();
    assert_eq!(lines, vec![2, 4]);
    assert_eq!(data.report.skipped_by_field.get("id"), Some(&1));
    let e = &data.report.errors[0];
    assert_eq!(e.line, 3);
    assert!(
        e.problem.contains(&format!(
            "257 bytes, over the limit of {MAX_ID_BYTES} bytes"
        )),
        "{e}"
    );
    assert_quoted_by_prefix(e);
}

#[test]
fn issue_10_a_label_over_the_cap_is_refused_in_an_ndjson_file() {
    let dir = tempfile::tempdir().unwrap();
    let label = "attack-".repeat(MAX_CATEGORY_BYTES);
    let text = format!(
        "{}\n{}\n",
        alert("h", "tcp", "benign"),
        alert("h", "tcp", &label)
    );
    let p = write(dir.path(), "alerts.ndjson", &text);
    let err = load(&schema(ALERTS), &p, OnError::Fail, &mut |_, _| {}).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("for field truth at line 2 of"), "{msg}");
    assert!(msg.contains("over the limit of 1024 bytes"), "{msg}");
    assert!(msg.len() < 400 + p.display().to_string().len(), "{msg}");
}

#[test]
fn issue_10_huge_number_and_time_cells_are_refused_without_being_quoted_whole() {
    let digits = "1".repeat(MAX_CELL_BYTES + 1);
    let mut number = json!({"event": {"host": "h", "src_bytes": digits}, "truth": "benign"});
    let out = one(&[number.to_string()]);
    let e = out[0].as_ref().unwrap_err();
    assert_eq!(e.field.as_deref(), Some("src_bytes"));
    assert!(e.problem.contains("for a text cell"), "{e}");
    assert_quoted_by_prefix(e);

    number["event"]["src_bytes"] = json!(format!("{}x", "1".repeat(2000)));
    let out = one(&[number.to_string()]);
    let e = out[0].as_ref().unwrap_err();
    assert_eq!(e.problem, "expected a number");
    assert_quoted_by_prefix(e);

    let time = json!({"ts": format!("2024-{}", "9".repeat(3000)), "truth": "benign"});
    let out = one(&[time.to_string()]);
    let e = out[0].as_ref().unwrap_err();
    assert_eq!(e.field.as_deref(), Some("ts"));
    assert_quoted_by_prefix(e);
}

#[test]
fn issue_10_a_large_nested_object_in_a_cell_is_quoted_by_a_prefix() {
    let nested: Vec<u32> = (0..200_000).collect();
    let line = json!({"proto": {"many": nested}, "truth": "benign"}).to_string();
    let out = one(&[line]);
    let e = out[0].as_ref().unwrap_err();
    assert!(e.problem.contains("nested object or array"), "{e}");
    assert_quoted_by_prefix(e);
}

#[test]
fn issue_10_duplicate_json_keys_are_refused_naming_the_key() {
    let lines = [
        alert("h1", "tcp", "benign"),
        r#"{"event": {"host": "h2", "src_bytes": 1, "src_bytes": 99999}, "truth": "benign"}"#
            .to_string(),
        r#"{"truth": "benign", "proto": "tcp", "truth": "malware"}"#.to_string(),
        alert("h4", "udp", "benign"),
    ];
    let out = one(&lines);
    assert!(
        out[0].is_ok() && out[3].is_ok(),
        "other lines are unaffected"
    );
    let e = out[1].as_ref().unwrap_err();
    assert_eq!(e.line, 2);
    assert_eq!(
        e.problem,
        r#"duplicate key "src_bytes" in object at $.event"#
    );
    assert_eq!(
        out[2].as_ref().unwrap_err().problem,
        r#"duplicate key "truth" in object at $"#
    );
}

#[test]
fn issue_10_duplicate_json_keys_refuse_the_line_of_an_ndjson_file() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{}\n{}\n",
        r#"{"event": {"host": "h1", "host": "h1"}, "truth": "benign"}"#,
        alert("h2", "tcp", "benign")
    );
    let p = write(dir.path(), "alerts.ndjson", &text);
    let data = load(&schema(ALERTS), &p, OnError::Skip, &mut |_, _| {}).unwrap();
    assert_eq!(data.records.len(), 1);
    assert_eq!(data.report.skipped_by_field.get("(row)"), Some(&1));
    let e = &data.report.errors[0];
    assert_eq!(e.line, 1);
    assert_eq!(e.problem, r#"duplicate key "host" in object at $.event"#);
}

#[test]
fn issue_10_the_strict_parser_is_exported_for_json_bodies() {
    let body = br#"[{"a": 1}, {"b": {"c": [1, {"d": 1, "d": 2}]}}]"#;
    match from_slice_strict(body) {
        Err(e @ StrictJsonError::DuplicateKey { .. }) => {
            assert_eq!(
                e.to_string(),
                r#"duplicate key "d" in object at $[1].b.c[1]"#
            )
        }
        other => panic!("expected a duplicate key error, got {other:?}"),
    }
    assert_eq!(
        from_slice_strict(br#"{"a": [1, 2]}"#).unwrap(),
        json!({"a": [1, 2]})
    );
    assert!(matches!(
        from_slice_strict(b"{\"a\": 1"),
        Err(StrictJsonError::Syntax(_))
    ));
}

proptest! {
    #[test]
    fn issue_10_any_categorical_value_within_the_cap_is_kept_and_any_longer_is_refused(
        value in "[a-zA-Z0-9é€😀_./:-]{1,400}",
        repeat in 1usize..6,
    ) {
        let value = value.repeat(repeat);
        let out = one(&[alert("h", &value, "benign")]);
        if value.len() <= MAX_CATEGORY_BYTES {
            let r = out[0].as_ref().unwrap();
            prop_assert_eq!(&r.features[1], &Value::Cat(value.clone()));
        } else {
            let e = out[0].as_ref().unwrap_err();
            prop_assert_eq!(e.field.as_deref(), Some("proto"));
            prop_assert!(e.value.as_ref().unwrap().chars().count() <= QUOTE_CHARS + 1);
        }
    }
}
