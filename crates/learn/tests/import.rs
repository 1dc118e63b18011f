//! Incident-label files: what is read, and how every bad row is named.

use arbiter_learn::{ImportError, LabelFormat, parse_labels};

fn errors(text: &str, format: LabelFormat) -> Vec<String> {
    match parse_labels(text, format, "tickets") {
        Err(ImportError::BadRows { errors, .. }) => {
            errors.iter().map(ToString::to_string).collect()
        }
        other => panic!("expected bad rows, got {other:?}"),
    }
}

#[test]
fn a_csv_with_a_bom_optional_columns_and_blank_cells_reads_every_label() {
    let text = "\u{feff}alert,label,ticket,responder,time,reason_code,note,feature\r\n\
                siem/A-1,benign,INC-1,carol,2026-11-30T08:00:00Z,false_positive,backup job,src_bytes\r\n\
                siem/A-2, dos ,INC-2,,,,,\r\n";
    let l = parse_labels(text, LabelFormat::Csv, "t.csv").unwrap();
    assert_eq!(l.len(), 2);
    assert_eq!(l[0].line, 2);
    assert_eq!(l[0].responder.as_deref(), Some("carol"));
    assert_eq!(l[0].time.unwrap().to_rfc3339(), "2026-11-30T08:00:00+00:00");
    assert_eq!(l[0].feature.as_deref(), Some("src_bytes"));
    assert_eq!(l[1].label.as_str(), "dos", "cells are trimmed");
    assert_eq!(l[1].responder, None, "a blank cell is absent");
    assert_eq!(l[1].line, 3);
}

#[test]
fn ndjson_reads_the_same_labels_and_skips_blank_lines() {
    let text = "{\"alert\":\"siem/A-1\",\"label\":\"benign\",\"ticket\":\"INC-1\",\"note\":null}\n\n\
                {\"alert\":\"alert:siem/A-2\",\"label\":\"dos\",\"ticket\":\"INC-2\"}\n";
    let l = parse_labels(text, LabelFormat::Ndjson, "t.ndjson").unwrap();
    assert_eq!(l.len(), 2);
    assert_eq!(l[1].line, 3);
    assert_eq!(
        l[1].key.to_string(),
        "siem/A-2",
        "the audit log's alert: prefix is accepted"
    );
}

#[test]
fn every_bad_csv_row_is_named_by_line_and_field_and_nothing_is_imported() {
    let text = "alert,label,ticket,time\n\
                siem/A-1,benign,INC-1,\n\
                nosource,benign,INC-2,\n\
                siem/A-3,Not A Family,INC-3,\n\
                siem/A-4,dos,,\n\
                siem/A-5,dos,INC-5,yesterday\n\
                siem/A-6,dos\n";
    let e = errors(text, LabelFormat::Csv);
    assert_eq!(e.len(), 5, "{e:#?}");
    assert!(e[0].starts_with("line 3, field `alert`"), "{}", e[0]);
    assert!(e[1].starts_with("line 4, field `label`"), "{}", e[1]);
    assert!(
        e[2].starts_with("line 5, field `ticket`: required"),
        "{}",
        e[2]
    );
    assert!(
        e[3].starts_with("line 6, field `time`") && e[3].contains("yesterday"),
        "{}",
        e[3]
    );
    assert!(
        e[4].starts_with("line 7:") && e[4].contains("2 cells"),
        "{}",
        e[4]
    );
    let all = parse_labels(text, LabelFormat::Csv, "tickets.csv")
        .unwrap_err()
        .to_string();
    assert!(
        all.starts_with("tickets.csv: 5 bad rows of 6, so nothing was imported"),
        "{all}"
    );
}

#[test]
fn a_header_with_a_misspelt_or_missing_column_is_refused_before_any_row() {
    let e = errors(
        "alert,lable,ticket\nsiem/A-1,benign,INC-1\n",
        LabelFormat::Csv,
    );
    assert!(
        e.iter()
            .any(|m| m.starts_with("line 1, field `lable`: not a column")),
        "{e:#?}"
    );
    assert!(
        e.iter()
            .any(|m| m.starts_with("line 1, field `label`: the header lacks")),
        "{e:#?}"
    );
}

#[test]
fn every_bad_ndjson_line_is_named_by_line_and_key() {
    let text = "{\"alert\":\"siem/A-1\",\"label\":\"benign\",\"ticket\":\"INC-1\",\"who\":\"x\"}\n\
                {\"alert\":\"siem/A-2\",\"label\":\"dos\",\"ticket\":7}\n\
                {\"alert\":\"siem/A-3\",\n\
                [1,2]\n\
                {\"alert\":\"siem/A-5\",\"label\":\"dos\",\"ticket\":\"INC-5\",\"responder\":\"a:b\"}\n";
    let e = errors(text, LabelFormat::Ndjson);
    assert_eq!(e.len(), 5, "{e:#?}");
    assert!(
        e[0].starts_with("line 1, field `who`: not a column"),
        "{}",
        e[0]
    );
    assert!(
        e[1].starts_with("line 2, field `ticket`: expected a string, found a number"),
        "{}",
        e[1]
    );
    assert!(e[2].starts_with("line 3: not JSON"), "{}", e[2]);
    assert!(e[3].starts_with("line 4: not a JSON object"), "{}", e[3]);
    assert!(e[4].starts_with("line 5, field `responder`"), "{}", e[4]);
}

#[test]
fn an_empty_file_is_refused_as_empty() {
    let e = parse_labels("alert,label,ticket\n", LabelFormat::Csv, "t.csv").unwrap_err();
    assert!(matches!(e, ImportError::Empty { .. }), "{e}");
    assert_eq!(e.to_string(), "t.csv: holds no labels");
}

#[test]
fn the_format_follows_the_file_name() {
    use std::path::Path;
    assert_eq!(
        LabelFormat::of_path(Path::new("a/T.CSV")),
        Some(LabelFormat::Csv)
    );
    assert_eq!(
        LabelFormat::of_path(Path::new("t.jsonl")),
        Some(LabelFormat::Ndjson)
    );
    assert_eq!(LabelFormat::of_path(Path::new("t.txt")), None);
}
