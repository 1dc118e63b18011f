//! Errors of training, bundles and scoring.

use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ModelError {
    #[error(transparent)]
    Ingest(#[from] arbiter_ingest::IngestError),
    #[error("lightgbm: {0}")]
    LightGbm(String),
    #[error("cannot read the model text: {0}")]
    ModelText(String),
    #[error("cannot train: {0}")]
    Training(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("bundle {path}: {message}")]
    Bundle { path: PathBuf, message: String },
    #[error("{file} line {line}: {message}")]
    Row {
        file: String,
        line: u64,
        message: String,
    },
    #[error("schema mismatch: {0}")]
    SchemaMismatch(String),
}

impl ModelError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> ModelError {
        let path = path.into();
        move |source| ModelError::Io { path, source }
    }
}
