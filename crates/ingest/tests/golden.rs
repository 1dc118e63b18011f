//! Golden test: a hand-written messy file read through its schema, compared exactly with the
//! expected records and report. Regenerate with `UPDATE_GOLDEN=1 cargo test -p arbiter-ingest
//! --test golden` and review the diff.

use std::path::Path;

use arbiter_ingest::{OnError, Value, load, load_schema};
use serde_json::{Value as Json, json};

fn render(dir: &Path) -> String {
    let schema = load_schema(&dir.join("messy.yaml")).unwrap();
    let data = load(
        &schema,
        &dir.join("messy.csv"),
        OnError::Skip,
        &mut |_, _| {},
    )
    .unwrap();
    let records: Vec<Json> = data
        .records
        .iter()
        .map(|r| {
            json!({
                "line": r.line,
                "features": r.features.iter().map(|v| match v {
                    Value::Num(x) => json!(x),
                    Value::Cat(s) => json!(s),
                    Value::Missing => Json::Null,
                }).collect::<Vec<_>>(),
                "label": r.label,
                "category": r.category,
                "time_ms": r.time_ms,
                "ids": r.ids,
            })
        })
        .collect();
    let mut report = serde_json::to_value(&data.report).unwrap();
    // Paths differ between machines; keep the file name only.
    let strip = |v: &mut Json| {
        if let Some(s) = v.as_str() {
            *v = json!(Path::new(s).file_name().unwrap().to_string_lossy());
        }
    };
    strip(&mut report["file"]);
    for e in report["errors"].as_array_mut().unwrap() {
        strip(&mut e["file"]);
    }
    serde_json::to_string_pretty(&json!({"records": records, "report": report})).unwrap() + "\n"
}

#[test]
fn a_messy_file_reads_exactly_as_recorded() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let got = render(&dir);
    let expected_path = dir.join("messy.expected.json");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&expected_path, &got).unwrap();
    }
    let expected = std::fs::read_to_string(&expected_path)
        .expect("messy.expected.json exists (regenerate with UPDATE_GOLDEN=1)");
    assert_eq!(
        got, expected,
        "regenerate with UPDATE_GOLDEN=1 and review the diff"
    );
}
