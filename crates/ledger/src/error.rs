use arbiter_core::ModelId;
use thiserror::Error;

use crate::human::Refusal;

#[derive(Debug, Error)]
pub enum LedgerError {
    #[error(transparent)]
    Audit(#[from] arbiter_audit::AuditError),
    #[error(transparent)]
    Store(#[from] arbiter_store::StoreError),
    /// The audit entries were appended but the store write failed: they are on the record and
    /// will be applied when the ledger is next opened. The ledger refuses writes until then.
    #[error(
        "audit entries {first}..={last} were recorded but not stored ({source}); \
         they will be restored from the audit log when the ledger reopens"
    )]
    NotStored {
        first: u64,
        last: u64,
        #[source]
        source: arbiter_store::StoreError,
    },
    /// An earlier write was audited but not stored: reopen to reconcile.
    #[error("the ledger refuses writes until it is reopened: {0}")]
    Poisoned(String),
    /// A human decision the rules refuse.
    #[error("{0}")]
    Refused(Refusal),
    #[error("no alert with id {0}")]
    NoSuchAlert(i64),
    #[error("no token with id {0}")]
    NoSuchToken(i64),
    #[error("no registered model {0}")]
    NoSuchModel(ModelId),
    /// Reopening found audited changes the store lacks and could not apply one.
    #[error("cannot restore audit entry {index} into the store: {source}")]
    Reconcile {
        index: u64,
        #[source]
        source: arbiter_store::StoreError,
    },
    #[error("audit entry {index} holds an unreadable record: {message}")]
    BadRecord { index: u64, message: String },
    #[error("cannot serialise {what}: {source}")]
    Json {
        what: &'static str,
        source: serde_json::Error,
    },
}
