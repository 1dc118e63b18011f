//! Errors of training and of writing bundles.

use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum TrainError {
    /// A training option outside the range training accepts.
    #[error("invalid training option {option} = {value}: {expected}")]
    Option {
        option: &'static str,
        value: String,
        expected: String,
    },
    #[error("invalid split fractions {0:?}: each must be positive and together they must sum to 1")]
    Fractions(Vec<f64>),
    #[error("lightgbm: {0}")]
    LightGbm(String),
    #[error("cannot train: {0}")]
    Training(String),
    #[error("{file} line {line}: {message}")]
    Row {
        file: String,
        line: u64,
        message: String,
    },
    /// Scoring a split with the partly trained model, or parsing a freshly trained tree.
    #[error(transparent)]
    Model(#[from] arbiter_model::ModelError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("bundle {path}: {message}")]
    Bundle { path: PathBuf, message: String },
}

impl TrainError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> TrainError {
        let path = path.into();
        move |source| TrainError::Io { path, source }
    }

    pub(crate) fn option(
        option: &'static str,
        value: impl std::fmt::Display,
        expected: impl Into<String>,
    ) -> TrainError {
        TrainError::Option {
            option,
            value: value.to_string(),
            expected: expected.into(),
        }
    }
}
