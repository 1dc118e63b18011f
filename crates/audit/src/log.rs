//! The append-only log: appending (durably, before the caller acts), reading, proving,
//! checkpointing and querying. Opening and crash recovery live in `recover.rs`.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;

use crate::checkpoint::{CHECKPOINTS_FILE, Checkpoint, parse_file};
use crate::entry::{Entry, encode_all};
use crate::error::{AuditError, io};
use crate::index::Index;
use crate::merkle::{Frontier, Hash, leaf_hash};
use crate::proof::InclusionProof;
use crate::query::QueryPage;
use crate::reader::AuditReader;
use crate::storage::{ENTRIES_FILE, LEAVES_FILE, MAX_ENTRY, SLOT, encode_record, encode_slot};

pub use crate::recover::Recovery;

/// Most lagging entries one append indexes on top of its own (the rest follow on later
/// appends): catching up never stalls ingest for long.
const CATCH_UP_PER_APPEND: u64 = 10_000;

/// An open audit log directory. See the crate docs for the file layout.
pub struct AuditLog {
    /// The exclusive writer lock on `LOCK`, released when the log is dropped.
    pub(crate) _lock: File,
    pub(crate) dir: PathBuf,
    pub(crate) entries: Arc<File>,
    pub(crate) leaves: Arc<File>,
    pub(crate) state: File,
    /// Byte length of `entries.log` (end of the last acknowledged record).
    pub(crate) end: u64,
    pub(crate) len: u64,
    pub(crate) frontier: Frontier,
    pub(crate) key: SigningKey,
    pub(crate) index: Index,
    /// Entries `0..committed` are durable; stored only after an append is fully synced.
    pub(crate) committed: Arc<AtomicU64>,
    /// The read handle sharing `committed` and the files.
    pub(crate) reader: AuditReader,
    /// Size of the last checkpoint signed (or found on open): what `checkpoint_if_behind`
    /// compares with, without re-reading `checkpoints.txt`.
    pub(crate) last_signed: u64,
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
        // Only now may readers see the new entries: both files are synced.
        self.committed.store(self.len, Ordering::Release);
        // Derived data: a failure here loses nothing. tree.state carries a checksum and is
        // rebuilt on open if stale or damaged; a lagging query index is caught up a bounded
        // step per append (and fully on open), and readers scan what it has not seen.
        let _ = self.save_state();
        let _ = self.index_appended(first, es);
        Ok(first..self.len)
    }

    /// Indexes a just-appended batch, or, if the index lags behind it, catches up a step.
    fn index_appended(&self, first: u64, es: &[Entry]) -> Result<(), AuditError> {
        if !self.index.add(first, es)? {
            self.catch_up_index_by(CATCH_UP_PER_APPEND)?;
        }
        Ok(())
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

    /// A read handle sharing this writer's files and committed length: it sees each append
    /// once it is durable, never part of one, and never waits for the writer (so a server
    /// can answer audit reads outside its writer lock). Cheap; clone it freely.
    pub fn reader(&self) -> AuditReader {
        self.reader.clone()
    }

    /// Hex of the Ed25519 public key that signs checkpoints (same as `signing.pub`).
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.key.verifying_key().as_bytes())
    }

    /// Signs the current (size, root, now); see [`AuditLog::checkpoint_at`].
    pub fn checkpoint(&mut self) -> Result<Checkpoint, AuditError> {
        self.checkpoint_at(Utc::now())
    }

    /// Signs the current (size, root, `time`), appends it to `checkpoints.txt` (fsynced) and
    /// returns it.
    pub fn checkpoint_at(&mut self, time: DateTime<Utc>) -> Result<Checkpoint, AuditError> {
        let cp = Checkpoint::sign(&self.key, self.len, self.root(), time);
        let path = self.dir.join(CHECKPOINTS_FILE);
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        f.write_all(cp.to_text().as_bytes()).map_err(io(&path))?;
        f.sync_data().map_err(io(&path))?;
        self.last_signed = self.last_signed.max(cp.size);
        Ok(cp)
    }

    /// Signs a checkpoint at `time` only if some entry is covered by no checkpoint this log
    /// signed (or found on open); `Ok(None)` otherwise. Cheap when there is nothing to do (no
    /// file access), so a server can call it on a short cadence: entries after the last
    /// checkpoint are the ones a truncation could remove undetected.
    pub fn checkpoint_if_behind(
        &mut self,
        time: DateTime<Utc>,
    ) -> Result<Option<Checkpoint>, AuditError> {
        if self.len <= self.last_signed {
            return Ok(None);
        }
        self.checkpoint_at(time).map(Some)
    }

    /// Size of the last checkpoint this log signed (or found, validly signed, on open).
    pub fn last_signed_size(&self) -> u64 {
        self.last_signed
    }

    /// The last checkpoint in `checkpoints.txt`, if any.
    pub fn latest_checkpoint(&self) -> Result<Option<Checkpoint>, AuditError> {
        self.reader.latest_checkpoint()
    }

    /// Entry `index`, read back from disk and checked against its leaf hash.
    pub fn entry(&self, index: u64) -> Result<Entry, AuditError> {
        self.reader.entry(index)
    }

    /// The stored canonical bytes of entry `index` and its byte offset.
    pub fn payload(&self, index: u64) -> Result<(u64, Vec<u8>), AuditError> {
        self.reader.payload(index)
    }

    /// Inclusion proof of entry `index` in the tree of the first `size` entries.
    pub fn prove(&self, index: u64, size: u64) -> Result<InclusionProof, AuditError> {
        self.reader.prove(index, size)
    }

    /// Consistency proof from the first `old` entries to the first `new` entries.
    pub fn consistency(&self, old: u64, new: u64) -> Result<Vec<[u8; 32]>, AuditError> {
        self.reader.consistency(old, new)
    }

    /// Root of the first `size` entries (from leaves.idx).
    pub fn root_at(&self, size: u64) -> Result<[u8; 32], AuditError> {
        self.reader.root_at(size)
    }

    /// One page of entries mentioning `entity`; see [`AuditReader::query_page`].
    pub fn query_page(
        &self,
        entity: &str,
        since: Option<DateTime<Utc>>,
        after: Option<u64>,
        limit: usize,
    ) -> Result<QueryPage, AuditError> {
        self.reader.query_page(entity, since, after, limit)
    }

    /// Every entry mentioning `entity` (exact match) at or after `since`, in log order,
    /// gathered page by page. Its memory grows with the answer: servers should page instead.
    pub fn query(
        &self,
        entity: &str,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<(u64, Entry)>, AuditError> {
        self.reader.query(entity, since)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::EntryKind;

    fn entry(n: u64) -> Entry {
        Entry {
            time: DateTime::from_timestamp(1_750_000_000 + n as i64, 0).unwrap_or_default(),
            kind: EntryKind::Decision,
            actor: "test".into(),
            entities: vec!["alert-1".into()],
            summary: format!("entry {n}"),
            body: serde_json::Value::Null,
        }
    }

    #[test]
    fn issue_10_a_shared_reader_sees_an_append_only_once_it_is_published() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = AuditLog::open(dir.path()).unwrap();
        log.append(&entry(0)).unwrap();
        let reader = log.reader();
        // Every durable step of appending entry 1 — record and slot written and synced — but
        // not the last one, publishing the committed length.
        let p = serde_json::to_vec(&entry(1)).unwrap();
        let h = leaf_hash(&p);
        let (mut rec, mut slot) = (Vec::new(), Vec::new());
        encode_record(&p, &h, &mut rec);
        encode_slot(log.end, &h, &mut slot);
        write_synced(&log.entries, log.end, &rec).unwrap();
        write_synced(&log.leaves, log.len * SLOT, &slot).unwrap();

        assert_eq!(reader.len(), 1);
        assert!(matches!(
            reader.entry(1),
            Err(AuditError::OutOfRange { value: 1, .. })
        ));
        let page = reader.query_page("alert-1", None, None, 10).unwrap();
        assert_eq!((page.entries.len(), page.next), (1, None));
        assert!(reader.prove(0, 2).is_err());

        // Publishing is the step that makes it visible.
        log.committed.store(2, Ordering::Release);
        assert_eq!(reader.entry(1).unwrap(), entry(1));
        assert_eq!(reader.query("alert-1", None).unwrap().len(), 2);
    }
}
