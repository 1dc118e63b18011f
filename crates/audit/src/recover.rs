//! Opening a log directory and recovering from a crash.
//!
//! Invariant relied upon: an append is acknowledged only after both `entries.log` and
//! `leaves.idx` are synced, so every acknowledged entry has a slot in `leaves.idx`. Bytes of
//! `entries.log` past the last slot's record were never acknowledged. Recovery keeps any
//! complete, self-consistent records there (they were durable, just not confirmed), and
//! drops from the first torn or damaged one — after copying the dropped bytes to a
//! `recovered-…bin` file and reporting them in [`Recovery`]. It never silently discards data.

use std::fs::{File, OpenOptions};
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use crate::checkpoint::{CHECKPOINTS_FILE, parse_file};
use crate::entry::{Entry, EntryKind};
use crate::error::{AuditError, io};
use crate::index::{Index, SCHEMA};
use crate::keys;
use crate::log::AuditLog;
use crate::merkle::Frontier;
use crate::reader::AuditReader;
use crate::state::{frontier_from_leaves, load_state};
use crate::storage::{
    ENTRIES_FILE, INDEX_FILE, LEAVES_FILE, MAGIC, RecordReader, SLOT, STATE_FILE, encode_slot,
    quarantine, read_at, read_record, read_slots, record_len,
};

/// What [`AuditLog::open`] had to repair. `Recovery::default()` means nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Byte offset in `entries.log` where a torn (incomplete or damaged) tail began.
    pub torn_at: Option<u64>,
    /// How many bytes were dropped from `entries.log`.
    pub dropped_bytes: u64,
    /// The index the dropped partial record would have had.
    pub partial_index: Option<u64>,
    /// Where the dropped bytes (entries or checkpoints) were preserved.
    pub quarantined: Vec<PathBuf>,
    /// Entries that had been acknowledged (they had a `leaves.idx` slot) but whose records are
    /// gone or damaged at the end of `entries.log`. Zero after any real crash; non-zero means
    /// the storage lost synced data (or someone cut the file).
    pub lost_acknowledged: u64,
    /// Complete records found past `leaves.idx` and re-linked (durable, never acknowledged).
    pub relinked: u64,
    /// A torn final checkpoint block that was dropped: (byte offset, length).
    pub checkpoint_torn: Option<(u64, u64)>,
    /// Index of the [`EntryKind::Recovery`] entry appended to record this recovery.
    pub logged_as: Option<u64>,
    /// Repairs of derived files (leaf index, tree cache), for the operator's information.
    pub notes: Vec<String>,
}

impl Recovery {
    /// True if open found nothing to repair in the entries or checkpoints files.
    pub fn is_clean(&self) -> bool {
        self.torn_at.is_none()
            && self.checkpoint_torn.is_none()
            && self.relinked == 0
            && self.lost_acknowledged == 0
    }
}

impl std::fmt::Display for Recovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(at) = self.torn_at {
            write!(
                f,
                "dropped a torn tail of {} bytes at byte {at} of {ENTRIES_FILE} (partial entry {}); ",
                self.dropped_bytes,
                self.partial_index.unwrap_or_default()
            )?;
        }
        if let Some((at, n)) = self.checkpoint_torn {
            write!(
                f,
                "dropped a torn checkpoint of {n} bytes at byte {at} of {CHECKPOINTS_FILE}; "
            )?;
        }
        if self.relinked > 0 {
            write!(f, "re-linked {} unconfirmed entries; ", self.relinked)?;
        }
        for p in &self.quarantined {
            write!(f, "dropped bytes kept in {}; ", p.display())?;
        }
        for n in &self.notes {
            write!(f, "{n}; ")?;
        }
        if self.is_clean() && self.notes.is_empty() {
            write!(f, "clean")?;
        }
        Ok(())
    }
}

fn open_rw(path: &Path) -> Result<File, AuditError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io(path))
}

impl AuditLog {
    /// Opens `dir` (creating it, the key and the files on first run) and recovers a torn
    /// tail. Refuses to open a log shorter than its last checkpoint.
    pub fn open(dir: &Path) -> Result<(AuditLog, Recovery), AuditError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let lock = take_lock(dir)?;
        let key = keys::load_or_create(dir)?;
        let mut rec = Recovery::default();

        let ep = dir.join(ENTRIES_FILE);
        let entries = open_rw(&ep)?;
        let mut elen = entries.metadata().map_err(io(&ep))?.len();
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
        if elen < 8 {
            if elen > 0 {
                rec.notes
                    .push(format!("completed a torn {elen}-byte file header"));
            }
            let mut w = &entries;
            w.seek(std::io::SeekFrom::Start(elen)).map_err(io(&ep))?;
            w.write_all(&MAGIC[elen as usize..]).map_err(io(&ep))?;
            entries.sync_data().map_err(io(&ep))?;
            elen = 8;
        }

        let lp = dir.join(LEAVES_FILE);
        let leaves = open_rw(&lp)?;
        let llen = leaves.metadata().map_err(io(&lp))?.len();
        let mut n = llen / SLOT;
        if llen % SLOT != 0 {
            leaves.set_len(n * SLOT).map_err(io(&lp))?;
            rec.notes.push(format!(
                "dropped {} trailing bytes of a torn {LEAVES_FILE} slot",
                llen % SLOT
            ));
        }
        // Find the last slot whose record is intact. Normally that is the last slot; if the
        // entries file lost synced bytes (a disk that lied about fsync, or a hand-truncated
        // file) we walk back, and report every acknowledged entry that is gone.
        let mut end = 8;
        let slots_before = n;
        while n > 0 {
            let (off, want) = read_slots(&leaves, n - 1, n).map_err(io(&lp))?[0];
            let rec_at = read_record(&entries, off, elen).map_err(io(&ep))?;
            if let Some((p, h)) = rec_at.valid()
                && h == want
            {
                end = off + record_len(p.len() as u64);
                break;
            }
            n -= 1;
        }
        if n < slots_before {
            rec.lost_acknowledged = slots_before - n;
            rec.notes.push(format!(
                "{} acknowledged entries (from entry {n}) no longer match {LEAVES_FILE}",
                slots_before - n
            ));
        }
        // Records past the last slot: keep the complete, valid ones; drop from the first bad one.
        let mut reader = RecordReader::open(&ep, end)?;
        let mut new_slots = Vec::new();
        let mut torn_at = None;
        loop {
            let start = reader.offset;
            match reader.next_record().map_err(io(&ep))? {
                None => break,
                Some(s) => match s.valid() {
                    Some((_, h)) => {
                        encode_slot(start, &h, &mut new_slots);
                        end = reader.offset;
                    }
                    None => {
                        torn_at = Some(start);
                        break;
                    }
                },
            }
        }
        let latest = recover_checkpoints(dir, &mut rec)?;
        if let Some((offset, cp)) = &latest
            && cp.size > n + new_slots.len() as u64 / SLOT
        {
            return Err(AuditError::Truncated {
                dir: dir.to_path_buf(),
                len: n + new_slots.len() as u64 / SLOT,
                size: cp.size,
                offset: *offset,
            });
        }

        // Only now, with the checkpoint check passed, change anything.
        if n < slots_before {
            leaves.set_len(n * SLOT).map_err(io(&lp))?;
            leaves.sync_data().map_err(io(&lp))?;
        }
        if let Some(at) = torn_at {
            let mut tail = vec![0u8; (elen - at) as usize];
            read_at(&entries, &mut tail, at).map_err(io(&ep))?;
            rec.quarantined.push(quarantine(dir, "entries", at, &tail)?);
            entries.set_len(at).map_err(io(&ep))?;
            entries.sync_data().map_err(io(&ep))?;
            rec.torn_at = Some(at);
            rec.dropped_bytes = elen - at;
            rec.partial_index = Some(n + new_slots.len() as u64 / SLOT);
        }
        if !new_slots.is_empty() {
            // At slot n, not at the file cursor: every read so far was positional, so the
            // cursor is still at 0 and a plain write would overwrite the first slots.
            let mut w = &leaves;
            w.seek(std::io::SeekFrom::Start(n * SLOT))
                .and_then(|_| w.write_all(&new_slots))
                .and_then(|_| leaves.sync_data())
                .map_err(io(&lp))?;
            rec.relinked = new_slots.len() as u64 / SLOT;
            n += rec.relinked;
        }

        let sp = dir.join(STATE_FILE);
        let state = open_rw(&sp)?;
        let mut frontier = load_state(&state, &leaves, n, &lp, &mut rec)?;
        if let Some((_, cp)) = &latest
            && cp.size == n
            && cp.root != frontier.root()
        {
            rec.notes.push(format!(
                "{STATE_FILE} disagreed with the last checkpoint; rebuilt it"
            ));
            frontier = frontier_from_leaves(&leaves, 0, n, Frontier::new(), &lp)?;
        }
        keys::sync_dir(dir)?;

        let index = open_index(dir, &mut rec)?;
        if let Some(v) = index.rebuilt_from {
            rec.notes.push(format!(
                "{INDEX_FILE} had schema version {v}; rebuilt it as version {SCHEMA}"
            ));
        }
        // Only a checkpoint this key signed counts as covering anything.
        let last_signed = latest
            .as_ref()
            .filter(|(_, cp)| cp.verify_signature(&key.verifying_key()))
            .map_or(0, |(_, cp)| cp.size);
        let (entries, leaves) = (Arc::new(entries), Arc::new(leaves));
        let committed = Arc::new(AtomicU64::new(n));
        let reader = AuditReader::shared(
            dir,
            Arc::clone(&entries),
            Arc::clone(&leaves),
            Arc::clone(&committed),
            hex::encode(key.verifying_key().as_bytes()),
        );
        let mut log = AuditLog {
            _lock: lock,
            dir: dir.to_path_buf(),
            entries,
            leaves,
            state,
            end,
            len: n,
            frontier,
            key,
            index,
            committed,
            reader,
            last_signed,
            poisoned: false,
        };
        log.save_state().map_err(io(&sp))?;
        if log.index.indexed_len()? > n {
            log.index.clear()?;
        }
        log.catch_up_index()?;
        if rec.torn_at.is_some() || rec.lost_acknowledged > 0 {
            rec.logged_as = Some(log.append(&recovery_entry(&rec))?);
        }
        Ok((log, rec))
    }

    /// Indexes every entry the query index has not seen yet (after a crash, or a rebuild).
    pub(crate) fn catch_up_index(&self) -> Result<(), AuditError> {
        self.catch_up_index_by(u64::MAX)
    }

    /// Indexes at most `max` of the entries the query index has not seen yet.
    pub(crate) fn catch_up_index_by(&self, max: u64) -> Result<(), AuditError> {
        let from = self.index.indexed_len()?;
        let to = self.len.min(from.saturating_add(max));
        if from >= to {
            return Ok(());
        }
        let lp = self.dir.join(LEAVES_FILE);
        let ep = self.dir.join(ENTRIES_FILE);
        let (start, _) = read_slots(&self.leaves, from, from + 1).map_err(io(&lp))?[0];
        let mut reader = RecordReader::open(&ep, start)?;
        let mut batch = Vec::new();
        let mut batch_start = from;
        for i in from..to {
            let offset = reader.offset;
            let payload = match reader.next_record().map_err(io(&ep))? {
                Some(crate::storage::Scanned::Record { payload, .. }) => payload,
                _ => {
                    return Err(AuditError::Corrupt {
                        path: ep,
                        index: i,
                        offset,
                        reason: "record missing or damaged while indexing; run verify".into(),
                    });
                }
            };
            let e: Entry =
                serde_json::from_slice(&payload).map_err(|source| AuditError::BadEntry {
                    path: ep.clone(),
                    index: i,
                    offset,
                    source,
                })?;
            batch.push(e);
            if batch.len() == 50_000 {
                self.index.add(batch_start, &batch)?;
                batch_start = i + 1;
                batch.clear();
            }
        }
        self.index.add(batch_start, &batch)?;
        Ok(())
    }
}

/// Opens the query index. It is derived data, so one SQLite cannot open (damaged, or not
/// SQLite at all) is set aside as `index.sqlite.damaged` and rebuilt rather than keeping the
/// log closed — which would also keep `arbiter audit reindex` from repairing it.
fn open_index(dir: &Path, rec: &mut Recovery) -> Result<Index, AuditError> {
    let path = dir.join(INDEX_FILE);
    let err = match Index::open(&path) {
        Ok(index) => return Ok(index),
        Err(e @ AuditError::Index { .. }) if is_damage(&e) => e,
        Err(e) => return Err(e),
    };
    let aside = dir.join(format!("{INDEX_FILE}.damaged"));
    std::fs::rename(&path, &aside).map_err(io(&path))?;
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("{INDEX_FILE}{suffix}")));
    }
    rec.notes.push(format!(
        "{err}; moved it to {} and rebuilt it",
        aside.display()
    ));
    Index::open(&path)
}

/// True for SQLite's "this file is damaged / not a database", not for a busy or full disk.
fn is_damage(e: &AuditError) -> bool {
    use rusqlite::ErrorCode::{DatabaseCorrupt, NotADatabase};
    matches!(e, AuditError::Index { source, .. }
        if matches!(source.sqlite_error_code(), Some(DatabaseCorrupt | NotADatabase)))
}

/// Drops (after quarantining) a torn final checkpoint; returns the last good one.
fn recover_checkpoints(
    dir: &Path,
    rec: &mut Recovery,
) -> Result<Option<(u64, crate::Checkpoint)>, AuditError> {
    let path = dir.join(CHECKPOINTS_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(&path)(e)),
    };
    let mut parsed = parse_file(&bytes);
    if let Some((offset, reason)) = parsed.malformed.into_iter().next() {
        return Err(AuditError::Checkpoint {
            path,
            offset,
            reason,
        });
    }
    if let Some((at, len)) = parsed.torn {
        rec.quarantined
            .push(quarantine(dir, "checkpoints", at, &bytes[at as usize..])?);
        let f = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(io(&path))?;
        f.set_len(at).map_err(io(&path))?;
        f.sync_data().map_err(io(&path))?;
        rec.checkpoint_torn = Some((at, len));
    }
    Ok(parsed.checkpoints.pop())
}

fn recovery_entry(rec: &Recovery) -> Entry {
    Entry {
        time: chrono::Utc::now(),
        kind: EntryKind::Recovery,
        actor: "arbiter-audit".into(),
        entities: vec!["audit-log".into()],
        summary: rec.to_string(),
        body: serde_json::json!({
            "torn_at": rec.torn_at,
            "dropped_bytes": rec.dropped_bytes,
            "partial_index": rec.partial_index,
            "lost_acknowledged": rec.lost_acknowledged,
            "quarantined": rec.quarantined.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        }),
    }
}

/// Holds `LOCK` in the log directory exclusively for as long as the log is open: a second
/// writer would interleave appends and fork the tree.
fn take_lock(dir: &Path) -> Result<File, AuditError> {
    let path = dir.join("LOCK");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io(&path))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => Err(AuditError::Locked {
            dir: dir.to_path_buf(),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(AuditError::Io { path, source: e }),
    }
}
