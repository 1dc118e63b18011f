use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum SimError {
    #[error("{origin}{}: {message}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Config {
        origin: String,
        line: Option<usize>,
        message: String,
    },
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Data(String),
    #[error(transparent)]
    Ingest(#[from] arbiter_ingest::IngestError),
    #[error(transparent)]
    Scenario(#[from] arbiter_scenario::ScenarioError),
    #[error(transparent)]
    Train(#[from] arbiter_train::TrainError),
    #[error(transparent)]
    Model(#[from] arbiter_model::ModelError),
    #[error(transparent)]
    Policy(#[from] arbiter_policy::PolicyError),
    #[error(transparent)]
    Ledger(#[from] arbiter_ledger::LedgerError),
    #[error(transparent)]
    Store(#[from] arbiter_store::StoreError),
    #[error(transparent)]
    Triage(#[from] arbiter_triage::TriageError),
    #[error(transparent)]
    Team(#[from] crate::analysts::AnalystError),
    #[error(transparent)]
    Vocab(#[from] arbiter_core::VocabError),
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
}
