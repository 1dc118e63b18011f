use thiserror::Error;

#[derive(Debug, Error)]
pub enum TriageError {
    #[error(transparent)]
    Store(#[from] arbiter_store::StoreError),
    #[error(transparent)]
    Audit(#[from] arbiter_audit::AuditError),
    #[error(transparent)]
    Policy(#[from] arbiter_policy::PolicyError),
    #[error(transparent)]
    Explain(#[from] arbiter_explain::ExplainError),
    #[error("cannot serialise {what}: {source}")]
    Json {
        what: &'static str,
        source: serde_json::Error,
    },
}
