//! arbiter-audit: an append-only, tamper-evident audit log.
//!
//! Every suggestion, decision, approval, override, policy change and model change in
//! Arbiter is an [`Entry`], appended and fsynced *before* it takes effect, so that when a
//! missed intrusion surfaces months later, "did the AI see this and dismiss it, and on what
//! evidence?" is answered from a record no one could have edited unnoticed.
//!
//! * Entries are leaves of an RFC 9162 Merkle tree (SHA-256, 0x00/0x01 domain separation).
//! * [`AuditLog::checkpoint`] signs (size, root, time) with an Ed25519 key kept in the log
//!   directory; inclusion and consistency proofs tie any entry or older checkpoint to it.
//! * [`verify`] re-derives everything from the stored bytes and `signing.pub`, and names the
//!   entry index and byte offset of any change.
//! * [`AuditLog::query`] answers "what happened to this alert/host/user" from a SQLite
//!   sidecar index that is derived data: rebuildable, and never trusted by [`verify`].
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
//! | `index.sqlite` | entity → (time, entry index) | derived, rebuildable |

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
