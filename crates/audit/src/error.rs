//! The one error type of the crate.
//!
//! Every variant names the offending input (file, byte offset, entry index) so that an
//! operator reading a CLI message knows where to look without a debugger.

use std::path::{Path, PathBuf};

/// Everything that can go wrong while opening, appending to, reading or proving from a log.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Another process has the log open for writing (one writer at a time keeps the tree
    /// consistent).
    #[error(
        "the audit log at {} is open for writing in another process (arbiter serve or triage): \
         stop it, or go through its API",
        dir.display()
    )]
    Locked {
        /// The log directory.
        dir: PathBuf,
    },
    /// An operating-system I/O call failed on `path`.
    #[error("i/o error on {}: {source}", path.display())]
    Io {
        /// The file or directory the call was about.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An entry could not be turned into its canonical JSON bytes.
    #[error("cannot serialise entry {index}: {source}")]
    Serialize {
        /// Position of the entry in the batch being appended.
        index: usize,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// An entry is larger than the framing accepts.
    #[error("entry {index} is {len} bytes, over the {max}-byte limit")]
    TooLarge {
        /// Position in the batch.
        index: usize,
        /// Its serialised size.
        len: usize,
        /// The limit.
        max: u32,
    },
    /// The stored bytes of an entry are not a valid [`crate::Entry`].
    #[error("entry {index} at byte {offset} of {} is not a valid entry: {source}", path.display())]
    BadEntry {
        /// The entries file.
        path: PathBuf,
        /// Entry index.
        index: u64,
        /// Byte offset of the record in the entries file.
        offset: u64,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// On-disk data is inconsistent in a way that recovery must not paper over.
    #[error("{} is corrupt at byte {offset} (entry {index}): {reason}", path.display())]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// Entry index concerned.
        index: u64,
        /// Byte offset in `path`.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// The log holds fewer entries than a signed checkpoint covers: acknowledged entries are
    /// gone, and extending the log would fork its history.
    #[error("log in {} has {len} entries but checkpoint at byte {offset} of checkpoints.txt signed {size}; refusing to open a truncated log", dir.display())]
    Truncated {
        /// The log directory.
        dir: PathBuf,
        /// Entries present.
        len: u64,
        /// Size the checkpoint signed.
        size: u64,
        /// Byte offset of that checkpoint in the checkpoints file.
        offset: u64,
    },
    /// An index or tree size argument is out of range.
    #[error("{what}: index/size {value} is out of range for a log of {len} entries")]
    OutOfRange {
        /// Which argument.
        what: &'static str,
        /// The offending value.
        value: u64,
        /// Current number of entries.
        len: u64,
    },
    /// A key file is missing, malformed or does not match its partner.
    #[error("key file {}: {reason}", path.display())]
    Key {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A checkpoint could not be parsed.
    #[error("checkpoint at byte {offset} of {}: {reason}", path.display())]
    Checkpoint {
        /// The checkpoints file.
        path: PathBuf,
        /// Byte offset of the checkpoint.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// The SQLite query index failed.
    #[error("query index {}: {source}", path.display())]
    Index {
        /// The index file.
        path: PathBuf,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// A previous append failed half-way and the file could not be rolled back.
    #[error("log in {} is in an unknown state after a failed append; reopen it", dir.display())]
    Poisoned {
        /// The log directory.
        dir: PathBuf,
    },
    /// The operating system could not supply randomness for a new key.
    #[error("cannot generate a signing key for {}: {reason}", path.display())]
    Random {
        /// The key file that was to be created.
        path: PathBuf,
        /// The getrandom error.
        reason: String,
    },
}

/// Builds a closure turning an `io::Error` into [`AuditError::Io`] for `path`.
pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AuditError + '_ {
    move |source| AuditError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Same as [`io`] for SQLite errors on the index file.
pub(crate) fn sql(path: &Path) -> impl FnOnce(rusqlite::Error) -> AuditError + '_ {
    move |source| AuditError::Index {
        path: path.to_path_buf(),
        source,
    }
}
