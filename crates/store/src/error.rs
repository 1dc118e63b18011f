use arbiter_core::{AlertKey, AlertState, ModelId};
use thiserror::Error;

/// What a store can fail with. No backend's own error type appears here: a backend turns its
/// errors into [`StoreError::Backend`] (with the message) or into one of the named cases, so
/// callers handle every backend alike.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The backend failed (I/O, SQL, connection): the message says what and where.
    #[error("{backend} store {target}: {message}")]
    Backend {
        backend: &'static str,
        /// The database file or server.
        target: String,
        message: String,
    },
    /// The backend is busy (locked by another writer) beyond its timeout: retry.
    #[error("{backend} store {target} is busy: {message}")]
    Busy {
        backend: &'static str,
        target: String,
        message: String,
    },
    #[error(
        "database {target} is at schema version {found}, newer than this binary knows ({known}); \
         use a newer arbiter"
    )]
    TooNew {
        target: String,
        found: i64,
        known: i64,
    },
    /// Stored data that does not read back as what was written.
    #[error("store {target}: stored {what} is unreadable: {message}")]
    Corrupt {
        target: String,
        what: String,
        message: String,
    },
    #[error("no alert with id {0}")]
    NoSuchAlert(i64),
    #[error("no alert with key {0}")]
    NoSuchKey(AlertKey),
    /// Compare-and-set failed: the alert is no longer in the state the change was decided on.
    #[error(
        "alert {key} is {found}, not {expected}: it changed meanwhile; reload and decide again"
    )]
    StaleState {
        key: AlertKey,
        expected: AlertState,
        found: AlertState,
    },
    /// A transition the alert lifecycle does not allow.
    #[error("alert {key} cannot go from {from} to {to}")]
    InvalidTransition {
        key: AlertKey,
        from: AlertState,
        to: AlertState,
    },
    #[error("{what} {value} already exists")]
    Duplicate { what: &'static str, value: String },
    #[error("no token with id {0}")]
    NoSuchToken(i64),
    #[error("no teaching example with id {0}")]
    NoSuchExample(i64),
    #[error("no registered model {0}")]
    NoSuchModel(ModelId),
    /// One challenger at a time: a second shadow or canary is refused.
    #[error("model {other} is already in {state}: retire or promote it before starting another")]
    ChallengerRunning {
        other: ModelId,
        state: crate::registry::ModelState,
    },
    /// Compare-and-set on a model's registry state failed.
    #[error("model {id} is {found}, not {expected}")]
    StaleModel {
        id: ModelId,
        expected: String,
        found: String,
    },
}
