//! Ingest errors. Every message names the file, and where it can the line, field and value.

use std::fmt;
use std::path::PathBuf;

use arbiter_core::SchemaError;
use serde::Serialize;
use thiserror::Error;

/// A problem with one row. The row is refused; rows before it are unaffected.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowError {
    /// File name as given.
    pub file: String,
    /// 1-based line number in the decompressed file.
    pub line: u64,
    /// The field at fault, when one is.
    pub field: Option<String>,
    /// The offending value, when there is one (cut to [`crate::QUOTE_CHARS`] characters and
    /// `…`, so an error never repeats a large input).
    pub value: Option<String>,
    /// What was expected or what went wrong.
    pub problem: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.value, &self.field) {
            (Some(v), Some(field)) => write!(f, "invalid value {v:?} for field {field}")?,
            (None, Some(field)) => write!(f, "bad field {field}")?,
            (Some(v), None) => write!(f, "invalid row {v:?}")?,
            (None, None) => write!(f, "invalid row")?,
        }
        write!(
            f,
            " at line {} of {}: {}",
            self.line, self.file, self.problem
        )
    }
}

impl std::error::Error for RowError {}

/// Everything that can stop ingest.
#[derive(Debug, Error)]
pub enum IngestError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Schema(#[from] SchemaError),
    #[error("{file}: {message}")]
    File { file: String, message: String },
    #[error("{0}")]
    Row(RowError),
    #[error("{file}: all {rows} rows were refused; the first: {first}")]
    NothingAccepted {
        file: String,
        rows: u64,
        first: Box<RowError>,
    },
}
