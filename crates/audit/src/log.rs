//! The append-only log: appending (durably, before the caller acts), reading, proving,
//! checkpointing and querying. Opening and crash recovery live in `recover.rs`.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;

use crate::checkpoint::{CHECKPOINTS_FILE, Checkpoint, parse_file};
use crate::entry::{Entry, encode_all};
use crate::error::{AuditError, io};
use crate::index::Index;
use crate::merkle::{Frontier, Hash, leaf_hash, root_of};
use crate::proof::{InclusionProof, consistency_proof, inclusion_proof};
use crate::storage::{
    ENTRIES_FILE, LEAVES_FILE, MAX_ENTRY, SLOT, encode_record, encode_slot, read_record, read_slots,
};

pub use crate::recover::Recovery;

/// An open audit log directory. See the crate docs for the file layout.
pub struct AuditLog {
    /// The exclusive writer lock on `LOCK`, released when the log is dropped.
    pub(crate) _lock: File,
    pub(crate) dir: PathBuf,
    pub(crate) entries: File,
    pub(crate) leaves: File,
    pub(crate) state: File,
    /// Byte length of `entries.log` (end of the last acknowledged record).
    pub(crate) end: u64,
    pub(crate) len: u64,
    pub(crate) frontier: Frontier,
    pub(crate) key: SigningKey,
    pub(crate) index: Index,
    /// Set when a failed append could not be rolled back; every later write refuses.
    pub(crate) poisoned: bool,
}

impl std::fmt::Debug for AuditLog {
    // Hand-written so the signing key can never end up in a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("dir", &self.dir)
            .field("len", &self.len)
            .field("root", &hex::encode(self.root()))
            .finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Appends one entry; returns its index once it is on stable storage.
    pub fn append(&mut self, e: &Entry) -> Result<u64, AuditError> {
        Ok(self.append_batch(std::slice::from_ref(e))?.start)
    }

    /// Appends many entries with one `sync_data` of the entries file (plus one of the
    /// leaf-hash file), returning their index range. Nothing is acknowledged unless all are.
    ///
    /// Order of writes: entries (fsync) → leaves.idx (fsync) → tree.state and the query index
    /// (no fsync: derived data, repaired on open). Because leaves.idx is synced before this
    /// returns, every acknowledged entry is covered by it, and recovery may safely drop
    /// anything in `entries.log` beyond it.
    pub fn append_batch(&mut self, es: &[Entry]) -> Result<Range<u64>, AuditError> {
        if self.poisoned {
            return Err(AuditError::Poisoned {
                dir: self.dir.clone(),
            });
        }
        let first = self.len;
        if es.is_empty() {
            return Ok(first..first);
        }
        let payloads = encode_all(es)?;
        let mut records = Vec::new();
        let mut slots = Vec::with_capacity(es.len() * SLOT as usize);
        let mut hashes = Vec::with_capacity(es.len());
        for (index, p) in payloads.iter().enumerate() {
            if p.len() > MAX_ENTRY as usize {
                return Err(AuditError::TooLarge {
                    index,
                    len: p.len(),
                    max: MAX_ENTRY,
                });
            }
            let h = leaf_hash(p);
            encode_slot(self.end + records.len() as u64, &h, &mut slots);
            encode_record(p, &h, &mut records);
            hashes.push(h);
        }
        let entries_path = self.dir.join(ENTRIES_FILE);
        let leaves_path = self.dir.join(LEAVES_FILE);
        if let Err(e) = write_synced(&self.entries, self.end, &records) {
            self.roll_back();
            return Err(io(&entries_path)(e));
        }
        if let Err(e) = write_synced(&self.leaves, self.len * SLOT, &slots) {
            self.roll_back();
            return Err(io(&leaves_path)(e));
        }
        for h in hashes {
            self.frontier.push(h);
        }
        self.len += es.len() as u64;
        self.end += records.len() as u64;
        // Derived data: a failure here loses nothing. tree.state carries a checksum and is
        // rebuilt on open if stale or damaged; the query index catches up on the next query.
        let _ = self.save_state();
        let _ = self.index.add(first, es);
        Ok(first..self.len)
    }

    /// Undoes a partial append so the files end at the last acknowledged entry.
    fn roll_back(&mut self) {
        let ok = self.entries.set_len(self.end).is_ok()
            && self.entries.sync_data().is_ok()
            && self.leaves.set_len(self.len * SLOT).is_ok()
            && self.leaves.sync_data().is_ok();
        self.poisoned = !ok;
    }

    /// Writes the tree.state cache: frontier bytes followed by their SHA-256.
    pub(crate) fn save_state(&mut self) -> std::io::Result<()> {
        let mut bytes = self.frontier.to_bytes();
        let sum = sha2_digest(&bytes);
        bytes.extend_from_slice(&sum);
        self.state.seek(SeekFrom::Start(0))?;
        self.state.write_all(&bytes)?;
        self.state.set_len(bytes.len() as u64)
    }

    /// Number of entries.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True if no entry was ever appended.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Current RFC 9162 root.
    pub fn root(&self) -> [u8; 32] {
        self.frontier.root()
    }

    /// The log directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Hex of the Ed25519 public key that signs checkpoints (same as `signing.pub`).
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.key.verifying_key().as_bytes())
    }

    /// Signs the current (size, root, now), appends it to `checkpoints.txt` (fsynced) and
    /// returns it.
    pub fn checkpoint(&mut self) -> Result<Checkpoint, AuditError> {
        let cp = Checkpoint::sign(&self.key, self.len, self.root(), Utc::now());
        let path = self.dir.join(CHECKPOINTS_FILE);
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        f.write_all(cp.to_text().as_bytes()).map_err(io(&path))?;
        f.sync_data().map_err(io(&path))?;
        Ok(cp)
    }

    /// The last checkpoint in `checkpoints.txt`, if any.
    pub fn latest_checkpoint(&self) -> Result<Option<Checkpoint>, AuditError> {
        Ok(read_checkpoints(&self.dir)?.pop().map(|(_, c)| c))
    }

    /// Entry `index`, read back from disk and checked against its leaf hash.
    pub fn entry(&self, index: u64) -> Result<Entry, AuditError> {
        let (offset, payload) = self.payload(index)?;
        serde_json::from_slice(&payload).map_err(|source| AuditError::BadEntry {
            path: self.dir.join(ENTRIES_FILE),
            index,
            offset,
            source,
        })
    }

    /// The stored canonical bytes of entry `index` and its byte offset.
    pub fn payload(&self, index: u64) -> Result<(u64, Vec<u8>), AuditError> {
        if index >= self.len {
            return Err(AuditError::OutOfRange {
                what: "entry",
                value: index,
                len: self.len,
            });
        }
        let lp = self.dir.join(LEAVES_FILE);
        let ep = self.dir.join(ENTRIES_FILE);
        let slot = read_slots(&self.leaves, index, index + 1).map_err(io(&lp))?;
        let (offset, want) = slot[0];
        let rec = read_record(&self.entries, offset, self.end).map_err(io(&ep))?;
        match rec.valid() {
            Some((p, h)) if h == want => Ok((offset, p.to_vec())),
            _ => Err(AuditError::Corrupt {
                path: ep,
                index,
                offset,
                reason: "record does not match its leaf hash; run verify".into(),
            }),
        }
    }

    /// Leaf hashes `0..size` from leaves.idx.
    fn leaf_hashes(&self, size: u64) -> Result<Vec<Hash>, AuditError> {
        let lp = self.dir.join(LEAVES_FILE);
        let slots = read_slots(&self.leaves, 0, size).map_err(io(&lp))?;
        Ok(slots.into_iter().map(|(_, h)| h).collect())
    }

    /// Inclusion proof of entry `index` in the tree of the first `size` entries.
    pub fn prove(&self, index: u64, size: u64) -> Result<InclusionProof, AuditError> {
        if size > self.len {
            return Err(AuditError::OutOfRange {
                what: "proof tree size",
                value: size,
                len: self.len,
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
        if new > self.len || old > new {
            return Err(AuditError::OutOfRange {
                what: "consistency sizes (need old <= new <= len)",
                value: if new > self.len { new } else { old },
                len: self.len,
            });
        }
        Ok(consistency_proof(&self.leaf_hashes(new)?, old))
    }

    /// Root of the first `size` entries (from leaves.idx).
    pub fn root_at(&self, size: u64) -> Result<[u8; 32], AuditError> {
        if size > self.len {
            return Err(AuditError::OutOfRange {
                what: "tree size",
                value: size,
                len: self.len,
            });
        }
        Ok(root_of(&self.leaf_hashes(size)?))
    }

    /// Entries mentioning `entity` (exact match) at or after `since`, in log order.
    pub fn query(
        &self,
        entity: &str,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<(u64, Entry)>, AuditError> {
        self.catch_up_index()?;
        let since_us = since.map(|t| t.timestamp_micros());
        let mut out = Vec::new();
        for idx in self.index.lookup(entity, since_us)? {
            let e = self.entry(idx)?;
            // The index stores floored microseconds; the entry's own time is authoritative.
            if since.is_none_or(|s| e.time >= s) && e.entities.iter().any(|x| x == entity) {
                out.push((idx, e));
            }
        }
        Ok(out)
    }

    /// Drops and rebuilds the query index from the entries file.
    pub fn rebuild_index(&mut self) -> Result<(), AuditError> {
        self.index.clear()?;
        self.catch_up_index()
    }
}

/// Writes `bytes` at `offset` and syncs the file's data.
fn write_synced(mut f: &File, offset: u64, bytes: &[u8]) -> std::io::Result<()> {
    f.seek(SeekFrom::Start(offset))?;
    f.write_all(bytes)?;
    f.sync_data()
}

pub(crate) fn sha2_digest(b: &[u8]) -> Hash {
    use sha2::Digest;
    sha2::Sha256::digest(b).into()
}

/// All well-formed checkpoints of `dir` with their byte offsets; an error names the first
/// malformed one. A torn final block is ignored here (recovery deals with it on open).
pub(crate) fn read_checkpoints(dir: &Path) -> Result<Vec<(u64, Checkpoint)>, AuditError> {
    let path = dir.join(CHECKPOINTS_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(&path)(e)),
    };
    let parsed = parse_file(&bytes);
    if let Some((offset, reason)) = parsed.malformed.into_iter().next() {
        return Err(AuditError::Checkpoint {
            path,
            offset,
            reason,
        });
    }
    Ok(parsed.checkpoints)
}
