use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database {path}: {source}")]
    Sqlite {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "database {path} is at schema version {found}, newer than this binary knows ({known}); \
         use a newer arbiter"
    )]
    TooNew {
        path: String,
        found: i64,
        known: i64,
    },
    #[error("database {path}: stored {what} is not valid JSON: {message}")]
    Corrupt {
        path: String,
        what: String,
        message: String,
    },
    #[error("no alert with id {0}")]
    NoSuchAlert(i64),
}
