//! Reading sources by a declared schema.
//!
//! A schema file says how to read the bytes (CSV or NDJSON, compression by extension) and what
//! each field means. Rows come out as [`Record`]s: typed feature values with missing values kept
//! missing, ground truth resolved into a category, event time and identifiers. A malformed row
//! is a [`RowError`] naming file, line, field and value; the caller chooses to stop at the first
//! one or to skip and count them.
//!
//! What a row can carry is bounded ([`MAX_ID_BYTES`], [`MAX_CATEGORY_BYTES`],
//! [`MAX_CELL_BYTES`]) and an error quotes at most [`QUOTE_CHARS`] characters of a value, so
//! no input is amplified into storage or into its own error. Each NDJSON line is parsed
//! strictly ([`json`]): a key written twice refuses the line rather than being read one way.
//!
//! ```no_run
//! use arbiter_ingest::{load, load_schema, OnError};
//! let schema = load_schema("schemas/nsl-kdd.yaml".as_ref()).unwrap();
//! let data = load(&schema, "KDDTest+.txt.xz".as_ref(), OnError::Skip, &mut |_, _| {}).unwrap();
//! println!("{}", data.report.summary());
//! ```

mod error;
mod formats;
pub mod json;
mod open;
mod record;
mod rows;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use arbiter_core::Schema;
use serde::Serialize;
use sha2::{Digest, Sha256};

pub use error::{IngestError, RowError};
pub use formats::Rows;
pub use json::{StrictJsonError, from_slice_strict};
pub use open::{Compression, Progress};
pub use record::{MAX_CATEGORY_BYTES, MAX_CELL_BYTES, MAX_ID_BYTES, QUOTE_CHARS, Record, Value};

/// How many refused rows a report quotes in full.
pub const QUOTED_ERRORS: usize = 20;

/// Reads and validates a schema file.
pub fn load_schema(path: &Path) -> Result<Schema, IngestError> {
    let text = std::fs::read_to_string(path).map_err(|source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(Schema::from_yaml(&text, &path.display().to_string())?)
}

/// What to do with a malformed row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// Stop at the first malformed row, naming it.
    Fail,
    /// Skip malformed rows, counting them by field and quoting the first few.
    Skip,
}

/// What happened while reading one file.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IngestReport {
    pub file: String,
    pub rows_accepted: u64,
    pub rows_skipped: u64,
    /// The first [`QUOTED_ERRORS`] refused rows.
    pub errors: Vec<RowError>,
    /// Refused rows per field at fault (`(row)` when no single field was).
    pub skipped_by_field: BTreeMap<String, u64>,
    /// Accepted rows lacking a value, per feature field.
    pub missing_by_field: BTreeMap<String, u64>,
    /// Accepted rows with at least one missing feature.
    pub rows_with_missing: u64,
    /// Columns present in the file but not declared in the schema.
    pub extra_columns: Vec<String>,
}

impl IngestReport {
    /// One line for a terminal.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{}: {} rows accepted, {} skipped",
            self.file, self.rows_accepted, self.rows_skipped
        );
        if self.rows_skipped > 0 {
            let by: Vec<String> = self
                .skipped_by_field
                .iter()
                .map(|(f, n)| format!("{f}: {n}"))
                .collect();
            s.push_str(&format!(" ({})", by.join(", ")));
        }
        if self.rows_with_missing > 0 {
            s.push_str(&format!(
                ", {} with missing telemetry",
                self.rows_with_missing
            ));
        }
        if !self.extra_columns.is_empty() {
            s.push_str(&format!(
                ", undeclared columns ignored: {}",
                self.extra_columns.join(", ")
            ));
        }
        s
    }

    fn refuse(&mut self, e: RowError) {
        self.rows_skipped += 1;
        let key = e.field.clone().unwrap_or_else(|| "(row)".into());
        *self.skipped_by_field.entry(key).or_default() += 1;
        if self.errors.len() < QUOTED_ERRORS {
            self.errors.push(e);
        }
    }
}

/// An open source, read row by row or in chunks.
pub struct Source {
    rows: Rows,
    feature_names: Vec<String>,
    on_error: OnError,
    pub report: IngestReport,
    /// Size of the file on disk, for progress.
    pub file_len: u64,
    /// Bytes of the file on disk read so far.
    pub progress: Progress,
}

impl Source {
    /// Opens `path` to be read with `schema`.
    pub fn open(schema: &Schema, path: &Path, on_error: OnError) -> Result<Source, IngestError> {
        let opened = open::open(path)?;
        let file = path.display().to_string();
        let builder = rows::Builder::new(schema.clone(), file.clone());
        let (rows, extra_columns): (Rows, Vec<String>) = match schema.source.format {
            arbiter_core::Format::Csv => {
                let newlines = open::Newlines::default();
                let reader = Box::new(open::CrlfToLf::new(opened.reader, newlines.clone()));
                let (rows, extra) = formats::csv_rows(reader, builder, newlines)?;
                (Box::new(rows), extra)
            }
            arbiter_core::Format::Ndjson => (
                Box::new(formats::ndjson_rows(opened.reader, builder)),
                Vec::new(),
            ),
        };
        Ok(Source {
            rows,
            feature_names: schema.features().map(|f| f.name.clone()).collect(),
            on_error,
            report: IngestReport {
                file,
                extra_columns,
                ..IngestReport::default()
            },
            file_len: opened.file_len,
            progress: opened.progress,
        })
    }

    /// The next accepted record; `Ok(None)` at the end of the file.
    pub fn next_record(&mut self) -> Result<Option<Record>, IngestError> {
        loop {
            match self.rows.next() {
                None => return Ok(None),
                Some(Ok(r)) => {
                    self.report.rows_accepted += 1;
                    let mut any = false;
                    for (v, name) in r.features.iter().zip(&self.feature_names) {
                        if v.is_missing() {
                            any = true;
                            *self
                                .report
                                .missing_by_field
                                .entry(name.clone())
                                .or_default() += 1;
                        }
                    }
                    self.report.rows_with_missing += u64::from(any);
                    return Ok(Some(r));
                }
                Some(Err(IngestError::Row(e))) if self.on_error == OnError::Skip => {
                    self.report.refuse(e)
                }
                Some(Err(e)) => return Err(e),
            }
        }
    }

    /// Up to `n` accepted records; an empty vector at the end of the file.
    pub fn next_chunk(&mut self, n: usize) -> Result<Vec<Record>, IngestError> {
        let mut out = Vec::with_capacity(n.min(1 << 16));
        while out.len() < n {
            match self.next_record()? {
                Some(r) => out.push(r),
                None => break,
            }
        }
        Ok(out)
    }
}

/// A whole file read into memory.
#[derive(Debug)]
pub struct Loaded {
    pub records: Vec<Record>,
    pub report: IngestReport,
}

/// Reads a whole file. `progress(bytes_read, file_len)` is called every few thousand rows.
/// A file where every row was refused is an error even when skipping.
pub fn load(
    schema: &Schema,
    path: &Path,
    on_error: OnError,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Loaded, IngestError> {
    let mut source = Source::open(schema, path, on_error)?;
    let mut records = Vec::new();
    while let Some(r) = source.next_record()? {
        records.push(r);
        if records.len() % 4096 == 0 {
            progress(source.progress.bytes_read(), source.file_len);
        }
    }
    progress(source.file_len, source.file_len);
    if records.is_empty() && source.report.rows_skipped > 0 {
        return Err(IngestError::NothingAccepted {
            file: source.report.file.clone(),
            rows: source.report.rows_skipped,
            first: Box::new(source.report.errors[0].clone()),
        });
    }
    Ok(Loaded {
        records,
        report: source.report,
    })
}

/// Environment variable naming the folder of shared public datasets.
pub const DATA_ENV: &str = "ARBITER_DATA";

/// The folder of shared public datasets: `$ARBITER_DATA`, or `../shared/data` beside the
/// project root given (`None` for the current directory).
pub fn shared_data_dir(project_root: Option<&Path>) -> std::path::PathBuf {
    match std::env::var_os(DATA_ENV) {
        Some(d) => d.into(),
        None => project_root
            .unwrap_or(Path::new("."))
            .join("../shared/data"),
    }
}

/// For tests that read the shared datasets: the folder, or `None` after printing why the
/// calling test is skipped. With `ARBITER_REQUIRE_DATA=1` (set by CI, which always has the
/// data) a missing folder fails instead of skipping.
pub fn shared_data_for_test(project_root: &Path, what: &str) -> Option<std::path::PathBuf> {
    let dir = shared_data_dir(Some(project_root));
    if dir.is_dir() {
        return Some(dir);
    }
    let message = format!(
        "{} not found (set {DATA_ENV}); this test reads the real {what} files",
        dir.display()
    );
    if std::env::var_os("ARBITER_REQUIRE_DATA").is_some_and(|v| v == "1") {
        panic!("ARBITER_REQUIRE_DATA=1 but {message}");
    }
    eprintln!("skipped: {message}");
    None
}

/// The decompressed text of a file (byte-order mark dropped), for tools that route raw lines.
pub fn open_text(path: &Path) -> Result<Box<dyn Read + Send>, IngestError> {
    Ok(open::open(path)?.reader)
}

/// SHA-256 of a file's bytes on disk, hex encoded, for data provenance.
pub fn file_sha256(path: &Path) -> Result<String, IngestError> {
    let io_err = |source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(io_err)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(io_err)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Reads NDJSON held in memory (an HTTP body) with `schema`, whatever the schema's declared
/// source format: each field is found by its `path`, else its name. One result per non-empty
/// line, in order; a bad line is an error naming `name`, the line, field and value, and does
/// not affect the others.
pub fn parse_ndjson(schema: &Schema, name: &str, bytes: Vec<u8>) -> Vec<Result<Record, RowError>> {
    let builder = rows::Builder::new(schema.clone(), name.to_string());
    let reader: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(bytes));
    formats::ndjson_rows(reader, builder)
        .map(|r| {
            r.map_err(|e| match e {
                IngestError::Row(e) => e,
                other => RowError {
                    file: name.to_string(),
                    line: 0,
                    field: None,
                    value: None,
                    problem: other.to_string(),
                },
            })
        })
        .collect()
}
