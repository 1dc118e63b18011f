use thiserror::Error;

#[derive(Debug, Error)]
pub enum RetrainError {
    /// A base file that is not one the champion was trained on.
    #[error(
        "base file {file} (sha256 {sha256}) is not one the champion was trained on ({expected}); \
         pass the champion's own training files"
    )]
    BaseData {
        file: String,
        sha256: String,
        expected: String,
    },
    #[error("the champion was trained on {expected} files and {given} were given as --data")]
    BaseCount { expected: usize, given: usize },
    #[error("--recent {0} must lie in [0, 0.9]")]
    Recent(f64),
    #[error(transparent)]
    Train(#[from] arbiter_train::TrainError),
    #[error(transparent)]
    Model(#[from] arbiter_model::ModelError),
}
