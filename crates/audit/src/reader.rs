//! Read handles on a log that never take the writer's lock and never wait for an append.
//!
//! A reader knows a *committed length*: the number of entries whose record and `leaves.idx`
//! slot are both durable. It never reads past it, so it never sees a half-written entry.
//!
//! * [`crate::AuditLog::reader`] shares the committed length with the writer in this process
//!   (an atomic the writer stores only after an append is fully durable, and on open), and
//!   shares its file handles (reads are positional, so they never move the writer's cursor).
//! * [`AuditReader::open`] is for another process (`arbiter audit query` while `arbiter
//!   serve` writes): the committed length is what `leaves.idx` covers, whole slots only,
//!   taken at open and advanced by [`AuditReader::refresh`]. Every record read is checked
//!   against its slot's leaf hash, so a slot whose record is not there reads as an error,
//!   never as an entry.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use crate::checkpoint::Checkpoint;
use crate::entry::Entry;
use crate::error::{AuditError, io};
use crate::index::open_read_only;
use crate::keys;
use crate::log::read_checkpoints;
use crate::merkle::{Hash, root_of};
use crate::proof::{InclusionProof, consistency_proof, inclusion_proof};
use crate::storage::{
    ENTRIES_FILE, INDEX_FILE, LEAVES_FILE, MAGIC, SLOT, read_at, read_record, read_slots,
};

/// Idle read-only index connections kept per reader (more may be open while busy).
const POOL: usize = 4;

/// A cheap, cloneable, thread-safe read handle on an audit log. See the module docs.
#[derive(Clone)]
pub struct AuditReader {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub dir: PathBuf,
    pub entries: Arc<File>,
    pub leaves: Arc<File>,
    /// Entries `0..committed` are durable and may be read.
    committed: Arc<AtomicU64>,
    /// True for [`AuditReader::open`]: the length comes from `leaves.idx`, not a writer.
    foreign: bool,
    public_key_hex: String,
    pub index: IndexPool,
}

impl std::fmt::Debug for AuditReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditReader")
            .field("dir", &self.inner.dir)
            .field("len", &self.len())
            .field("foreign", &self.inner.foreign)
            .finish_non_exhaustive()
    }
}

impl AuditReader {
    /// The reader [`crate::AuditLog`] hands out: same files, same committed length.
    pub(crate) fn shared(
        dir: &Path,
        entries: Arc<File>,
        leaves: Arc<File>,
        committed: Arc<AtomicU64>,
        public_key_hex: String,
    ) -> Self {
        Self::build(dir, entries, leaves, committed, false, public_key_hex)
    }

    fn build(
        dir: &Path,
        entries: Arc<File>,
        leaves: Arc<File>,
        committed: Arc<AtomicU64>,
        foreign: bool,
        public_key_hex: String,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                dir: dir.to_path_buf(),
                entries,
                leaves,
                committed,
                foreign,
                public_key_hex,
                index: IndexPool {
                    path: dir.join(INDEX_FILE),
                    idle: Mutex::new(Vec::new()),
                },
            }),
        }
    }

    /// Opens the log in `dir` for reading only, without the writer lock (so it works while
    /// `arbiter serve` or `arbiter triage` holds it), creating and repairing nothing.
    pub fn open(dir: &Path) -> Result<Self, AuditError> {
        let ep = dir.join(ENTRIES_FILE);
        let entries = File::open(&ep).map_err(io(&ep))?;
        let elen = entries.metadata().map_err(io(&ep))?.len();
        let mut head = vec![0u8; elen.min(8) as usize];
        read_at(&entries, &mut head, 0).map_err(io(&ep))?;
        if head.as_slice() != &MAGIC[..head.len()] {
            return Err(AuditError::Corrupt {
                path: ep,
                index: 0,
                offset: 0,
                reason: "not an arbiter audit log (bad magic header)".into(),
            });
        }
        let lp = dir.join(LEAVES_FILE);
        let leaves = File::open(&lp).map_err(io(&lp))?;
        let len = leaves.metadata().map_err(io(&lp))?.len() / SLOT;
        let key = keys::load_public(dir)?;
        Ok(Self::build(
            dir,
            Arc::new(entries),
            Arc::new(leaves),
            Arc::new(AtomicU64::new(len)),
            true,
            hex::encode(key.as_bytes()),
        ))
    }

    /// Brings a reader from [`AuditReader::open`] up to the entries another process has
    /// committed since (whole `leaves.idx` slots); returns the new length. For a reader
    /// shared with a writer in this process the length is always current already.
    pub fn refresh(&self) -> Result<u64, AuditError> {
        if self.inner.foreign {
            let lp = self.inner.dir.join(LEAVES_FILE);
            let n = self.inner.leaves.metadata().map_err(io(&lp))?.len() / SLOT;
            self.inner.committed.fetch_max(n, Ordering::AcqRel);
        }
        Ok(self.len())
    }

    /// Number of committed entries.
    pub fn len(&self) -> u64 {
        self.inner.committed.load(Ordering::Acquire)
    }

    /// True if no entry is committed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The log directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Hex of the Ed25519 public key that signs checkpoints (same as `signing.pub`).
    pub fn public_key_hex(&self) -> String {
        self.inner.public_key_hex.clone()
    }

    /// The last checkpoint in `checkpoints.txt`, if any.
    pub fn latest_checkpoint(&self) -> Result<Option<Checkpoint>, AuditError> {
        Ok(read_checkpoints(&self.inner.dir)?.pop().map(|(_, c)| c))
    }

    /// Entry `index`, read back from disk and checked against its leaf hash.
    pub fn entry(&self, index: u64) -> Result<Entry, AuditError> {
        let (offset, payload) = self.payload(index)?;
        parse_entry(&self.inner.dir, index, offset, &payload)
    }

    /// The stored canonical bytes of entry `index` and its byte offset.
    pub fn payload(&self, index: u64) -> Result<(u64, Vec<u8>), AuditError> {
        let len = self.len();
        if index >= len {
            return Err(AuditError::OutOfRange {
                what: "entry",
                value: index,
                len,
            });
        }
        let lp = self.inner.dir.join(LEAVES_FILE);
        let slot = read_slots(&self.inner.leaves, index, index + 1).map_err(io(&lp))?;
        let (offset, want) = slot[0];
        self.record_at(index, offset, &want)
    }

    /// The payload of the record at `offset`, if it is intact and hashes to `want`.
    pub(crate) fn record_at(
        &self,
        index: u64,
        offset: u64,
        want: &Hash,
    ) -> Result<(u64, Vec<u8>), AuditError> {
        let ep = self.inner.dir.join(ENTRIES_FILE);
        let corrupt = |reason: &str| AuditError::Corrupt {
            path: ep.clone(),
            index,
            offset,
            reason: format!("{reason}; run verify"),
        };
        // Committed records are complete, so the file length is no bound worth a syscall:
        // a record that runs past the end of the file shows up as an unexpected EOF.
        match read_record(&self.inner.entries, offset, u64::MAX) {
            Ok(rec) => match rec.valid() {
                Some((p, h)) if h == *want => Ok((offset, p.to_vec())),
                _ => Err(corrupt("record does not match its leaf hash")),
            },
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                Err(corrupt("record runs past the end of the file"))
            }
            Err(e) => Err(io(&ep)(e)),
        }
    }

    /// Leaf hashes `0..size` from leaves.idx.
    fn leaf_hashes(&self, size: u64) -> Result<Vec<Hash>, AuditError> {
        let lp = self.inner.dir.join(LEAVES_FILE);
        let slots = read_slots(&self.inner.leaves, 0, size).map_err(io(&lp))?;
        Ok(slots.into_iter().map(|(_, h)| h).collect())
    }

    /// Inclusion proof of entry `index` in the tree of the first `size` entries.
    pub fn prove(&self, index: u64, size: u64) -> Result<InclusionProof, AuditError> {
        let len = self.len();
        if size > len {
            return Err(AuditError::OutOfRange {
                what: "proof tree size",
                value: size,
                len,
            });
        }
        if index >= size {
            return Err(AuditError::OutOfRange {
                what: "proof leaf index (must be below the tree size)",
                value: index,
                len: size,
            });
        }
        let leaves = self.leaf_hashes(size)?;
        Ok(InclusionProof {
            index,
            size,
            leaf: leaves[index as usize],
            path: inclusion_proof(&leaves, index),
            root: root_of(&leaves),
        })
    }

    /// Consistency proof from the first `old` entries to the first `new` entries.
    pub fn consistency(&self, old: u64, new: u64) -> Result<Vec<[u8; 32]>, AuditError> {
        let len = self.len();
        if new > len || old > new {
            return Err(AuditError::OutOfRange {
                what: "consistency sizes (need old <= new <= len)",
                value: if new > len { new } else { old },
                len,
            });
        }
        Ok(consistency_proof(&self.leaf_hashes(new)?, old))
    }

    /// Root of the first `size` entries (from leaves.idx).
    pub fn root_at(&self, size: u64) -> Result<[u8; 32], AuditError> {
        let len = self.len();
        if size > len {
            return Err(AuditError::OutOfRange {
                what: "tree size",
                value: size,
                len,
            });
        }
        Ok(root_of(&self.leaf_hashes(size)?))
    }
}

/// Parses stored entry bytes, naming the entry on failure.
pub(crate) fn parse_entry(
    dir: &Path,
    index: u64,
    offset: u64,
    payload: &[u8],
) -> Result<Entry, AuditError> {
    serde_json::from_slice(payload).map_err(|source| AuditError::BadEntry {
        path: dir.join(ENTRIES_FILE),
        index,
        offset,
        source,
    })
}

/// A few read-only connections to `index.sqlite`, so concurrent queries neither share one
/// `Connection` (it is not `Sync`) nor wait for each other; WAL lets them read while the
/// writer indexes.
pub(crate) struct IndexPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl IndexPool {
    /// Runs `f` on a pooled connection, or returns `Ok(None)` if there is no index file.
    pub fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, AuditError>,
    ) -> Result<Option<T>, AuditError> {
        let taken = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match taken {
            Some(c) => c,
            None => match open_read_only(&self.path)? {
                Some(c) => c,
                None => return Ok(None),
            },
        };
        let out = f(&conn);
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < POOL {
            idle.push(conn);
        }
        out.map(Some)
    }

    /// The index file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
