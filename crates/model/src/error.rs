//! Errors of loading bundles and scoring. Training has its own, `arbiter_train::TrainError`.

use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ModelError {
    #[error(transparent)]
    Ingest(#[from] arbiter_ingest::IngestError),
    #[error("cannot read the model text: {0}")]
    ModelText(String),
    #[error("bundle {path}: {message}")]
    Bundle { path: PathBuf, message: String },
    #[error("schema mismatch: {0}")]
    SchemaMismatch(String),
}
