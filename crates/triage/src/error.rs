use thiserror::Error;

#[derive(Debug, Error)]
pub enum TriageError {
    #[error(transparent)]
    Store(#[from] arbiter_store::StoreError),
    #[error(transparent)]
    Ledger(#[from] arbiter_ledger::LedgerError),
    #[error(transparent)]
    Policy(#[from] arbiter_policy::PolicyError),
    #[error(transparent)]
    Explain(#[from] arbiter_explain::ExplainError),
    #[error(transparent)]
    Vocab(#[from] arbiter_core::VocabError),
    #[error("model bundle {path}: {message}")]
    Model { path: String, message: String },
    /// The champion in force was promoted (retrained, gated, two admins): a run with another
    /// bundle does not silently replace it.
    #[error(
        "the champion in force is {champion} (promoted; bundle at {path}), not {given}: use that          bundle, or roll back with `arbiter model rollback` first"
    )]
    Promoted {
        champion: String,
        path: String,
        given: String,
    },
}
