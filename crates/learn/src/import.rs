//! Incident-ticket labels from a file: CSV with a header, or NDJSON, one label per row, by
//! alert id. Every bad row is named by line and field; a file with any bad row imports
//! nothing, so an import is never half done.
//!
//! Columns (CSV header names or NDJSON keys): `alert` (the alert's `source/id`), `label`
//! (`benign` or the attack family) and `ticket` are required; `responder`, `time` (RFC 3339),
//! `reason_code`, `note` and `feature` are optional. Any other column is an error, so a
//! misspelt column never silently drops what it held.

use std::path::Path;

use arbiter_core::{AlertKey, Label, checked_name};
use arbiter_ledger::ImportedLabel;
use arbiter_ledger::human::MAX_NOTE_BYTES;
use chrono::{DateTime, Utc};
use serde_json::Value as Json;

/// The columns a label file may have, required ones first.
pub const COLUMNS: [&str; 8] = [
    "alert",
    "label",
    "ticket",
    "responder",
    "time",
    "reason_code",
    "note",
    "feature",
];
const REQUIRED: usize = 3;

/// Longest ticket reference and reason code, in bytes.
pub const MAX_TICKET_BYTES: usize = 128;
/// Most rows one file may hold.
pub const MAX_ROWS: usize = 1_000_000;
/// Most row errors a refusal lists (all are counted).
pub const MAX_LISTED: usize = 50;

/// How a label file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelFormat {
    Csv,
    Ndjson,
}

impl LabelFormat {
    /// From the file name: `.csv`, or `.ndjson` / `.jsonl` / `.json`.
    pub fn of_path(p: &Path) -> Option<LabelFormat> {
        let ext = p.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(LabelFormat::Csv),
            "ndjson" | "jsonl" | "json" => Some(LabelFormat::Ndjson),
            _ => None,
        }
    }
}

/// One bad row: where, which field (when one is to blame), and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub field: Option<String>,
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "line {}, field `{field}`: {}", self.line, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

/// Why a file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{file}: {} bad rows of {rows}, so nothing was imported:\n  {}{}", errors.len(),
        errors.iter().take(MAX_LISTED).map(ToString::to_string).collect::<Vec<_>>().join("\n  "),
        if errors.len() > MAX_LISTED { format!("\n  … and {} more", errors.len() - MAX_LISTED) } else { String::new() })]
    BadRows {
        file: String,
        rows: usize,
        errors: Vec<RowError>,
    },
    #[error("{file}: holds no labels")]
    Empty { file: String },
}

/// Parses a whole label file. `file` names it in errors.
pub fn parse_labels(
    text: &str,
    format: LabelFormat,
    file: &str,
) -> Result<Vec<ImportedLabel>, ImportError> {
    let mut errors = Vec::new();
    let labels = match format {
        LabelFormat::Csv => csv_rows(text, &mut errors),
        LabelFormat::Ndjson => ndjson_rows(text, &mut errors),
    };
    let rows = labels.len()
        + errors
            .iter()
            .map(|e| e.line)
            .collect::<std::collections::BTreeSet<_>>()
            .len();
    if !errors.is_empty() {
        return Err(ImportError::BadRows {
            file: file.to_string(),
            rows,
            errors,
        });
    }
    if labels.is_empty() {
        return Err(ImportError::Empty {
            file: file.to_string(),
        });
    }
    Ok(labels)
}

/// The cells of one row by column, `None` when absent or blank.
type Cells = [Option<String>; COLUMNS.len()];

fn csv_rows(text: &str, errors: &mut Vec<RowError>) -> Vec<ImportedLabel> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            errors.push(RowError {
                line: 1,
                field: None,
                message: format!("the header cannot be read: {e}"),
            });
            return Vec::new();
        }
    };
    let mut columns = Vec::with_capacity(header.len());
    for name in header.iter() {
        let name = name.trim();
        match COLUMNS.iter().position(|c| *c == name) {
            Some(i) if columns.contains(&Some(i)) => errors.push(RowError {
                line: 1,
                field: Some(name.to_string()),
                message: "the column appears twice in the header".into(),
            }),
            Some(i) => columns.push(Some(i)),
            None => {
                errors.push(unknown_column(1, name));
                columns.push(None);
            }
        }
    }
    for (i, c) in COLUMNS[..REQUIRED].iter().enumerate() {
        if !columns.contains(&Some(i)) {
            errors.push(RowError {
                line: 1,
                field: Some((*c).to_string()),
                message: format!(
                    "the header lacks this required column (the header has: {})",
                    header.iter().collect::<Vec<_>>().join(", ")
                ),
            });
        }
    }
    if !errors.is_empty() {
        return Vec::new();
    }
    // Lines from byte offsets: the csv crate's own line count is off by one after CRLF.
    let newlines: Vec<usize> = text.match_indices('\n').map(|(i, _)| i).collect();
    let line_at = |byte: u64| newlines.partition_point(|&n| (n as u64) <= byte) as u64 + 1;
    let mut out = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| line_at(p.byte()));
                errors.push(RowError {
                    line,
                    field: None,
                    message: format!("not a CSV row: {e}"),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| line_at(p.byte()));
        if out.len() + errors.len() >= MAX_ROWS {
            errors.push(too_many(line));
            break;
        }
        if record.len() != columns.len() {
            errors.push(RowError {
                line,
                field: None,
                message: format!(
                    "{} cells where the header has {} columns",
                    record.len(),
                    columns.len()
                ),
            });
            continue;
        }
        let mut cells: Cells = Default::default();
        for (cell, col) in record.iter().zip(&columns) {
            if let Some(i) = col {
                let v = cell.trim();
                cells[*i] = (!v.is_empty()).then(|| v.to_string());
            }
        }
        if let Some(l) = label_of(line, &cells, errors) {
            out.push(l);
        }
    }
    out
}

fn ndjson_rows(text: &str, errors: &mut Vec<RowError>) -> Vec<ImportedLabel> {
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = n as u64 + 1;
        let raw = raw.trim().trim_start_matches('\u{feff}');
        if raw.is_empty() {
            continue;
        }
        if out.len() + errors.len() >= MAX_ROWS {
            errors.push(too_many(line));
            break;
        }
        let obj = match serde_json::from_str::<Json>(raw) {
            Ok(Json::Object(o)) => o,
            Ok(_) => {
                errors.push(RowError {
                    line,
                    field: None,
                    message: "not a JSON object".into(),
                });
                continue;
            }
            Err(e) => {
                errors.push(RowError {
                    line,
                    field: None,
                    message: format!("not JSON: {e}"),
                });
                continue;
            }
        };
        let mut cells: Cells = Default::default();
        let mut ok = true;
        for (k, v) in &obj {
            let Some(i) = COLUMNS.iter().position(|c| c == k) else {
                errors.push(unknown_column(line, k));
                ok = false;
                continue;
            };
            match v {
                Json::Null => {}
                Json::String(s) => {
                    let s = s.trim();
                    cells[i] = (!s.is_empty()).then(|| s.to_string());
                }
                other => {
                    errors.push(RowError {
                        line,
                        field: Some(k.clone()),
                        message: format!("expected a string, found {}", kind(other)),
                    });
                    ok = false;
                }
            }
        }
        if ok && let Some(l) = label_of(line, &cells, errors) {
            out.push(l);
        }
    }
    out
}

/// One label from its cells, or its errors (all of them, not just the first).
fn label_of(line: u64, cells: &Cells, errors: &mut Vec<RowError>) -> Option<ImportedLabel> {
    let before = errors.len();
    let mut err = |field: &str, message: String| {
        errors.push(RowError {
            line,
            field: Some(field.to_string()),
            message,
        })
    };
    let [
        alert,
        label,
        ticket,
        responder,
        time,
        reason_code,
        note,
        feature,
    ] = cells;
    for (c, v) in COLUMNS[..REQUIRED].iter().zip([alert, label, ticket]) {
        if v.is_none() {
            err(c, "required, but empty".into());
        }
    }
    let key = alert.as_deref().and_then(|a| match a.parse::<AlertKey>() {
        Ok(k) => Some(k),
        Err(e) => {
            err("alert", format!("{e} (write the alert as source/id)"));
            None
        }
    });
    let label = label.as_deref().and_then(|l| match Label::new(l) {
        Ok(l) => Some(l),
        Err(e) => {
            err("label", e.to_string());
            None
        }
    });
    if let Some(t) = ticket {
        short(&mut err, "ticket", t);
    }
    if let Some(r) = reason_code {
        short(&mut err, "reason_code", r);
    }
    if let Some(f) = feature {
        short(&mut err, "feature", f);
    }
    let responder = responder
        .as_deref()
        .and_then(|r| match checked_name("responder", r) {
            Ok(r) => Some(r.to_string()),
            Err(e) => {
                err("responder", e.to_string());
                None
            }
        });
    let time = time
        .as_deref()
        .and_then(|t| match DateTime::parse_from_rfc3339(t) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(e) => {
                err(
                    "time",
                    format!("{t:?} is not an RFC 3339 time such as 2026-12-01T09:30:00Z: {e}"),
                );
                None
            }
        });
    if let Some(n) = note
        && n.len() > MAX_NOTE_BYTES
    {
        err(
            "note",
            format!("{} bytes; at most {MAX_NOTE_BYTES} are kept", n.len()),
        );
    }
    if errors.len() > before {
        return None;
    }
    Some(ImportedLabel {
        line,
        key: key?,
        label: label?,
        ticket: ticket.clone()?,
        responder,
        time,
        reason_code: reason_code.clone(),
        note: note.clone(),
        feature: feature.clone(),
    })
}

fn short(err: &mut impl FnMut(&str, String), field: &str, v: &str) {
    if v.len() > MAX_TICKET_BYTES || v.contains(char::is_control) {
        err(
            field,
            format!("at most {MAX_TICKET_BYTES} bytes without control characters"),
        );
    }
}

fn unknown_column(line: u64, name: &str) -> RowError {
    RowError {
        line,
        field: Some(name.chars().take(64).collect()),
        message: format!(
            "not a column of a label file (expected: {})",
            COLUMNS.join(", ")
        ),
    }
}

fn too_many(line: u64) -> RowError {
    RowError {
        line,
        field: None,
        message: format!("more than {MAX_ROWS} rows: split the file"),
    }
}

fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}
