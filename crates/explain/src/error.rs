//! Errors of explaining.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ExplainError {
    #[error("cannot read the model: {0}")]
    Model(String),
    #[error(transparent)]
    Scoring(#[from] arbiter_model::ModelError),
    #[error(transparent)]
    Ingest(#[from] arbiter_ingest::IngestError),
}
