//! arbiter-audit: an append-only, tamper-evident audit log.
//!
//! Every suggestion, decision, approval, override, policy change and model change in
//! Arbiter is an [`Entry`], appended and fsynced *before* it takes effect, so that when a
//! missed intrusion surfaces months later, "did the AI see this and dismiss it, and on what
//! evidence?" is answered from a record no one could have edited unnoticed.
//!
//! * Entries are leaves of an RFC 9162 Merkle tree (SHA-256, 0x00/0x01 domain separation).
//! * [`AuditLog`] is the one writer (it holds an exclusive lock on the directory).
//!   [`AuditLog::checkpoint_at`] signs (size, root, time) with an Ed25519 key kept in the log
//!   directory; [`AuditLog::checkpoint_if_behind`] does so only when some entry is not yet
//!   covered, for a server to call on a short cadence. Inclusion and consistency proofs tie
//!   any entry or older checkpoint to a checkpoint.
//! * [`AuditReader`] reads without the writer's lock and without ever waiting for an append:
//!   [`AuditLog::reader`] shares the writer's *committed length* (published only once an
//!   append is durable), [`AuditReader::open`] serves another process. It is `Clone + Send +
//!   Sync`; a reader never sees part of an entry, nor one past the committed length.
//! * [`AuditReader::query_page`] answers "what happened to this alert/host/user" a bounded
//!   page at a time ([`MAX_PAGE_ENTRIES`], [`MAX_PAGE_BYTES`]) from a SQLite sidecar index,
//!   scanning `entries.log` for whatever the index has not caught up with, so a lagging
//!   index never hides an entry.
//! * [`verify()`] re-derives everything from the stored bytes and `signing.pub`, names the
//!   entry index and byte offset of any change, compares the index with the entries (it is
//!   trusted for what it omits, so a missing row is a [`ProblemKind::IndexMismatch`]), and
//!   counts the trailing entries no signed checkpoint covers ([`VerifyReport::uncovered`]):
//!   those are the ones a truncation could remove undetected.
//!
//! # Example
//!
//! ```
//! use arbiter_audit::{AuditLog, Entry, EntryKind, verify};
//! use chrono::{TimeZone, Utc};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let (mut log, _recovery) = AuditLog::open(dir.path())?;
//! let reader = log.reader(); // hand this to request handlers; it never waits for `log`
//! let at = Utc.with_ymd_and_hms(2026, 11, 1, 9, 30, 0).unwrap();
//! log.append(&Entry {
//!     time: at,
//!     kind: EntryKind::Decision,
//!     actor: "arbiter/policy".into(),
//!     entities: vec!["alert-42".into(), "host:web-1".into()],
//!     summary: "auto-closed: benign scanner".into(),
//!     body: serde_json::json!({ "confidence": 0.97 }),
//! })?;
//! assert!(log.checkpoint_if_behind(at)?.is_some()); // one entry was uncovered
//! assert!(log.checkpoint_if_behind(at)?.is_none()); // nothing new since
//!
//! let page = reader.query_page("alert-42", None, None, 100)?;
//! assert_eq!(page.entries.len(), 1);
//! assert_eq!(page.next, None); // `Some(i)` would be passed back as `after`
//! assert!(reader.prove(page.entries[0].0, reader.len())?.verify());
//!
//! let report = verify(dir.path())?;
//! assert!(report.is_ok(), "{report}");
//! assert_eq!(report.uncovered, 0);
//! # Ok(())
//! # }
//! ```
//!
//! # Directory layout
//!
//! | file | content | durability |
//! |---|---|---|
//! | `entries.log` | magic `ARBLOG1\n`, then records `u32 BE len ‖ JSON ‖ leaf hash` | fsynced per append/batch |
//! | `leaves.idx` | 40-byte slots `u64 BE offset ‖ leaf hash` | fsynced per append/batch |
//! | `checkpoints.txt` | signed-note-style checkpoints (see [`checkpoint`]) | fsynced per checkpoint |
//! | `signing.key` / `signing.pub` | Ed25519 seed (hex, mode 0600) / public key (hex) | written once |
//! | `tree.state` | cached right edge of the tree + checksum | cache |
//! | `index.sqlite` | entity → entry index (schema version in `meta`) | derived, rebuildable, checked by [`verify()`] |

mod attribute;
mod b64;
pub mod checkpoint;
pub mod entry;
pub mod error;
mod index;
mod index_check;
pub mod keys;
pub mod log;
pub mod merkle;
pub mod proof;
pub mod query;
pub mod reader;
mod recover;
pub mod report;
mod state;
pub mod storage;
pub mod verify;

pub use checkpoint::Checkpoint;
pub use entry::{Entry, EntryKind};
pub use error::AuditError;
pub use log::{AuditLog, Recovery};
pub use merkle::{Frontier, Hash, leaf_hash, node_hash, root_of};
pub use proof::{
    InclusionProof, consistency_proof, inclusion_proof, verify_consistency, verify_inclusion,
};
pub use query::{MAX_PAGE_BYTES, MAX_PAGE_ENTRIES, MAX_PAGE_SCAN, QueryPage};
pub use reader::AuditReader;
pub use report::{Problem, ProblemKind, VerifyReport};
pub use verify::verify;
