//! The two readers: delimited text and newline-delimited JSON.

use std::io::{BufRead, BufReader, Read};

use arbiter_core::ExtraColumns;
use serde_json::{Map, Value as Json};

use crate::error::{IngestError, RowError};
use crate::json::{self, StrictJsonError};
use crate::open::Newlines;
use crate::record::{Raw, Record, prefix as cut};
use crate::rows::Builder;

/// Items are records, skippable row errors (`IngestError::Row`) or a fatal error, after which
/// the iterator ends.
pub type Rows = Box<dyn Iterator<Item = Result<Record, IngestError>> + Send>;

pub(crate) struct CsvRows {
    rdr: csv::Reader<Box<dyn Read + Send>>,
    newlines: Newlines,
    builder: Builder,
    /// Declared field index to column index.
    columns: Vec<usize>,
    width: usize,
    record: csv::StringRecord,
    done: bool,
}

/// Opens a CSV stream. Returns the rows and the names of undeclared columns.
pub(crate) fn csv_rows(
    reader: Box<dyn Read + Send>,
    builder: Builder,
    newlines: Newlines,
) -> Result<(CsvRows, Vec<String>), IngestError> {
    let source = &builder.schema.source;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(source.delimiter.as_bytes()[0])
        .from_reader(reader);
    let declared = builder.schema.fields.len();
    let (columns, width, extra) = if source.header {
        let mut header = csv::StringRecord::new();
        let read = rdr
            .read_record(&mut header)
            .map_err(|e| IngestError::File {
                file: builder.file.clone(),
                message: format!("cannot read the header row: {e}"),
            })?;
        if !read {
            return Err(IngestError::File {
                file: builder.file.clone(),
                message: "the file is empty but the schema expects a header row".into(),
            });
        }
        let names: Vec<&str> = header.iter().map(str::trim).collect();
        let mut columns = Vec::with_capacity(declared);
        for f in &builder.schema.fields {
            match names.iter().position(|n| *n == f.name) {
                Some(i) => columns.push(i),
                None => {
                    return Err(IngestError::File {
                        file: builder.file.clone(),
                        message: format!(
                            "column {} declared in schema {} is not in the header (found: {})",
                            f.name,
                            builder.schema.id(),
                            cut(&names.join(", "))
                        ),
                    });
                }
            }
        }
        let extra: Vec<String> = names
            .iter()
            .enumerate()
            .filter(|(i, _)| !columns.contains(i))
            .map(|(_, n)| n.to_string())
            .collect();
        if !extra.is_empty() && source.extra_columns == ExtraColumns::Error {
            return Err(IngestError::File {
                file: builder.file.clone(),
                message: format!(
                    "columns not declared in schema {}: {}",
                    builder.schema.id(),
                    extra.join(", ")
                ),
            });
        }
        (columns, names.len(), extra)
    } else {
        ((0..declared).collect(), declared, Vec::new())
    };
    Ok((
        CsvRows {
            rdr,
            newlines,
            builder,
            columns,
            width,
            record: csv::StringRecord::new(),
            done: false,
        },
        extra,
    ))
}

impl Iterator for CsvRows {
    type Item = Result<Record, IngestError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.rdr.read_record(&mut self.record) {
            Ok(false) => {
                self.done = true;
                None
            }
            Ok(true) => {
                let line = self
                    .record
                    .position()
                    .map_or(0, |p| self.newlines.line_at(p.byte()));
                if self.record.len() != self.width {
                    let joined: Vec<&str> = self.record.iter().collect();
                    return Some(Err(IngestError::Row(self.builder.row_error(
                        line,
                        None,
                        Some(cut(&joined.join(&self.builder.schema.source.delimiter))),
                        format!(
                            "expected {} columns, found {}",
                            self.width,
                            self.record.len()
                        ),
                    ))));
                }
                let record = &self.record;
                let columns = &self.columns;
                Some(
                    self.builder
                        .build(line, |i| Raw::Text(&record[columns[i]]))
                        .map_err(IngestError::Row),
                )
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| self.newlines.line_at(p.byte()));
                match e.kind() {
                    csv::ErrorKind::Utf8 { err, .. } => {
                        let field = self
                            .builder
                            .schema
                            .fields
                            .iter()
                            .zip(&self.columns)
                            .find(|(_, c)| **c == err.field())
                            .map(|(f, _)| f.name.clone());
                        Some(Err(IngestError::Row(RowError {
                            file: self.builder.file.clone(),
                            line,
                            field,
                            value: None,
                            problem: "the text is not valid UTF-8".into(),
                        })))
                    }
                    _ => {
                        self.done = true;
                        Some(Err(IngestError::File {
                            file: self.builder.file.clone(),
                            message: format!("reading stopped near line {line}: {e}"),
                        }))
                    }
                }
            }
        }
    }
}

pub(crate) struct NdjsonRows {
    reader: BufReader<Box<dyn Read + Send>>,
    builder: Builder,
    /// Per declared field: its path split on dots.
    paths: Vec<Vec<String>>,
    line: u64,
    buf: Vec<u8>,
    done: bool,
}

pub(crate) fn ndjson_rows(reader: Box<dyn Read + Send>, builder: Builder) -> NdjsonRows {
    let paths = builder
        .schema
        .fields
        .iter()
        .map(|f| {
            f.path
                .as_deref()
                .unwrap_or(&f.name)
                .split('.')
                .map(str::to_string)
                .collect()
        })
        .collect();
    NdjsonRows {
        reader: BufReader::with_capacity(1 << 16, reader),
        builder,
        paths,
        line: 0,
        buf: Vec::new(),
        done: false,
    }
}

/// Finds a dotted path in a JSON object. At each level the longest run of segments that is a
/// key wins, so keys that themselves hold dots (Zeek's `id.orig_h`) are found too.
pub(crate) fn lookup<'a>(obj: &'a Map<String, Json>, path: &[String]) -> Option<&'a Json> {
    for take in (1..=path.len()).rev() {
        let key = path[..take].join(".");
        if let Some(v) = obj.get(&key) {
            let rest = &path[take..];
            if rest.is_empty() {
                return Some(v);
            }
            let found = match v {
                Json::Object(inner) => lookup(inner, rest),
                Json::Array(items) => rest[0].parse::<usize>().ok().and_then(|i| {
                    let item = items.get(i)?;
                    match (&rest[1..], item) {
                        ([], item) => Some(item),
                        (more, Json::Object(inner)) => lookup(inner, more),
                        _ => None,
                    }
                }),
                _ => None,
            };
            if found.is_some() {
                return found;
            }
        }
    }
    None
}

impl Iterator for NdjsonRows {
    type Item = Result<Record, IngestError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            self.buf.clear();
            match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => {
                    self.done = true;
                    return None;
                }
                Ok(_) => {}
                Err(e) => {
                    self.done = true;
                    return Some(Err(IngestError::File {
                        file: self.builder.file.clone(),
                        message: format!("reading stopped after line {}: {e}", self.line),
                    }));
                }
            }
            self.line += 1;
            let line = self.line;
            let text = match std::str::from_utf8(&self.buf) {
                Ok(t) => t.trim(),
                Err(_) => {
                    return Some(Err(IngestError::Row(self.builder.row_error(
                        line,
                        None,
                        None,
                        "the text is not valid UTF-8",
                    ))));
                }
            };
            if text.is_empty() {
                continue;
            }
            let obj = match json::from_str_strict(text) {
                Ok(Json::Object(obj)) => obj,
                Ok(_) => {
                    return Some(Err(IngestError::Row(self.builder.row_error(
                        line,
                        None,
                        Some(cut(text)),
                        "expected a JSON object",
                    ))));
                }
                Err(e) => {
                    let problem = match e {
                        StrictJsonError::Syntax(e) => format!("not valid JSON: {e}"),
                        // Two readings of one line: refuse it rather than pick one.
                        dup @ StrictJsonError::DuplicateKey { .. } => dup.to_string(),
                    };
                    return Some(Err(IngestError::Row(self.builder.row_error(
                        line,
                        None,
                        Some(cut(text)),
                        problem,
                    ))));
                }
            };
            let paths = &self.paths;
            return Some(
                self.builder
                    .build(line, |i| {
                        lookup(&obj, &paths[i]).map_or(Raw::Absent, Raw::Json)
                    })
                    .map_err(IngestError::Row),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(p: &str) -> Vec<String> {
        p.split('.').map(str::to_string).collect()
    }

    #[test]
    fn paths_reach_nested_objects_array_items_and_dotted_keys() {
        let v = json!({"a": {"b": [{"c": 1}, {"c": 2}]}, "id.orig_h": "10.0.0.1", "x": {"y.z": 3}});
        let obj = v.as_object().unwrap();
        assert_eq!(lookup(obj, &path("a.b.1.c")), Some(&json!(2)));
        assert_eq!(lookup(obj, &path("id.orig_h")), Some(&json!("10.0.0.1")));
        assert_eq!(lookup(obj, &path("x.y.z")), Some(&json!(3)));
        assert_eq!(lookup(obj, &path("a.q")), None);
        assert_eq!(lookup(obj, &path("a.b.7.c")), None);
    }
}
