//! Offline verification of a log directory, trusting nothing but `signing.pub`.
//!
//! Every record is re-hashed from its stored bytes; the RFC 9162 root is recomputed at every
//! checkpoint size and compared with the signed root; signatures are checked; checkpoints
//! are checked against each other. The query index, `tree.state` and (until authenticated)
//! `leaves.idx` are not trusted: the first is checked against the entries, the others
//! against the signed roots.
//!
//! # How positions are found
//!
//! * A changed byte inside a record's payload breaks that record's trailer hash: reported as
//!   [`ProblemKind::CorruptRecord`] with the entry index and the record's starting offset.
//! * A changed length field is caught as a bad length or a trailer mismatch at that record;
//!   scanning resynchronises at the next valid record (natural position or `leaves.idx`).
//! * Deleted, inserted or reordered (self-consistent) records are found by comparison with
//!   `leaves.idx`, and — when the checkpoint root authenticates `leaves.idx` — the first entry
//!   whose hash differs from the signed leaf hash is named. If an attacker also rewrote
//!   `leaves.idx`, the change is bracketed between the last matching and first mismatching
//!   checkpoint sizes.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use crate::attribute::{check_roots, compare_leaf_index};
use crate::checkpoint::{CHECKPOINTS_FILE, Checkpoint, parse_file};
use crate::entry::Entry;
use crate::error::{AuditError, io};
use crate::index_check::IndexCheck;
use crate::keys::{self, PUB_FILE};
use crate::merkle::{Frontier, Hash, leaf_hash};
use crate::report::{ProblemKind as K, VerifyReport};
use crate::storage::{
    ENTRIES_FILE, LEAVES_FILE, MAGIC, RecordReader, SLOT, Scanned, read_record, read_slots,
};

/// What the entries scan produced.
pub(crate) struct Scan {
    pub offsets: Vec<u64>,
    pub hashes: Vec<Hash>,
    /// Entries whose stored bytes are damaged (their hash is unknown or wrong).
    pub damaged: Vec<u64>,
    pub end: u64,
}

/// Verifies the log in `dir`.
///
/// Fails only if `dir` is not a directory; everything wrong inside it (unreadable or missing
/// files included) is a located [`crate::Problem`] in the report.
pub fn verify(dir: &Path) -> Result<VerifyReport, AuditError> {
    if !std::fs::metadata(dir).map_err(io(dir))?.is_dir() {
        return Err(io(dir)(std::io::Error::new(
            std::io::ErrorKind::NotADirectory,
            "not a directory",
        )));
    }
    Ok(verify_dir(dir))
}

fn verify_dir(dir: &Path) -> VerifyReport {
    let mut r = VerifyReport {
        dir: dir.to_path_buf(),
        ..VerifyReport::default()
    };
    let key = match keys::load_public(dir) {
        Ok(k) => Some(k),
        Err(e) => {
            r.push(K::MissingKey, None, None, PUB_FILE, e.to_string());
            None
        }
    };
    let checkpoints = read_checkpoints(dir, &mut r);
    r.checkpoints = checkpoints.len();
    let mut trusted: Vec<(usize, u64, &Checkpoint)> = Vec::new();
    let mut prev: Option<&Checkpoint> = None;
    for (i, (off, cp)) in checkpoints.iter().enumerate() {
        if let Some(p) = prev
            && (cp.size < p.size || (cp.size == p.size && cp.root != p.root))
        {
            r.push(
                K::InconsistentCheckpoints,
                None,
                Some(*off),
                CHECKPOINTS_FILE,
                format!(
                    "checkpoint #{i} (size {}) contradicts the previous one (size {})",
                    cp.size, p.size
                ),
            );
        }
        prev = Some(cp);
        match &key {
            Some(k) if !cp.verify_signature(k) => r.push(
                K::BadSignature,
                None,
                Some(*off),
                CHECKPOINTS_FILE,
                format!(
                    "checkpoint #{i} (size {}) is not signed by {PUB_FILE}",
                    cp.size
                ),
            ),
            _ => trusted.push((i, *off, cp)),
        }
    }

    let idx = read_leaf_index(dir, &mut r);
    let sizes: Vec<u64> = trusted.iter().map(|t| t.2.size).collect();
    // Before the scan: the index snapshot must be no newer than the entries read.
    let mut check = IndexCheck::open(dir, &mut r);
    let Some((scan, roots)) = scan_entries(dir, &idx, &sizes, &mut check, &mut r) else {
        return r;
    };
    let n = scan.hashes.len() as u64;
    r.entries = n;
    compare_leaf_index(&scan, &idx, &mut r);
    let covered = check_roots(&scan, &roots, &trusted, &idx, &mut r);
    if n > covered {
        r.uncovered = n - covered;
        r.first_uncovered = Some(covered);
    }
    if let Some(c) = check {
        c.finish(n, &mut r);
    }
    r
}

fn read_checkpoints(dir: &Path, r: &mut VerifyReport) -> Vec<(u64, Checkpoint)> {
    let path = dir.join(CHECKPOINTS_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            r.push(K::Io, None, None, CHECKPOINTS_FILE, e.to_string());
            return Vec::new();
        }
    };
    let parsed = parse_file(&bytes);
    for (off, reason) in parsed.malformed {
        r.push(
            K::MalformedCheckpoint,
            None,
            Some(off),
            CHECKPOINTS_FILE,
            reason,
        );
    }
    if let Some((off, len)) = parsed.torn {
        r.push(
            K::MalformedCheckpoint,
            None,
            Some(off),
            CHECKPOINTS_FILE,
            format!("incomplete final checkpoint ({len} bytes)"),
        );
    }
    parsed.checkpoints
}

fn read_leaf_index(dir: &Path, r: &mut VerifyReport) -> Vec<(u64, Hash)> {
    let path = dir.join(LEAVES_FILE);
    let read = File::open(&path).and_then(|f| {
        let n = f.metadata()?.len() / SLOT;
        read_slots(&f, 0, n)
    });
    match read {
        Ok(v) => v,
        Err(e) => {
            r.push(K::Io, None, None, LEAVES_FILE, e.to_string());
            Vec::new()
        }
    }
}

/// Reads every record, recomputing leaf hashes and the roots at `sizes`.
fn scan_entries(
    dir: &Path,
    idx: &[(u64, Hash)],
    sizes: &[u64],
    check: &mut Option<IndexCheck>,
    r: &mut VerifyReport,
) -> Option<(Scan, BTreeMap<u64, Hash>)> {
    let path = dir.join(ENTRIES_FILE);
    let opened = File::open(&path).and_then(|f| {
        let len = f.metadata()?.len();
        let mut head = vec![0u8; len.min(8) as usize];
        crate::storage::read_at(&f, &mut head, 0)?;
        Ok((f, len, head))
    });
    let (file, file_len, head) = match opened {
        Ok(v) => v,
        Err(e) => {
            r.push(K::Io, None, None, ENTRIES_FILE, e.to_string());
            return None;
        }
    };
    if head.as_slice() != MAGIC {
        r.push(
            K::BadHeader,
            None,
            Some(0),
            ENTRIES_FILE,
            "bad magic header".into(),
        );
        return None;
    }
    let mut reader = match RecordReader::open(&path, 8) {
        Ok(rd) => rd,
        Err(e) => {
            r.push(K::Io, None, None, ENTRIES_FILE, e.to_string());
            return None;
        }
    };
    let mut scan = Scan {
        offsets: Vec::new(),
        hashes: Vec::new(),
        damaged: Vec::new(),
        end: 8,
    };
    let mut frontier = Frontier::new();
    let mut roots = BTreeMap::new();
    let mut want: Vec<u64> = sizes.to_vec();
    want.sort_unstable();
    want.dedup();
    let mut want = want.into_iter().peekable();
    let mut record_root = |f: &Frontier, roots: &mut BTreeMap<u64, Hash>| {
        while let Some(s) = want.next_if(|s| *s <= f.size()) {
            if s == f.size() {
                roots.insert(s, f.root());
            }
        }
    };
    record_root(&frontier, &mut roots);
    loop {
        let start = reader.offset;
        let i = scan.hashes.len() as u64;
        let item = match reader.next_record() {
            Ok(Some(item)) => item,
            Ok(None) => break,
            Err(e) => {
                r.push(K::Io, Some(i), Some(start), ENTRIES_FILE, e.to_string());
                break;
            }
        };
        let (hash, natural) = match item {
            Scanned::Incomplete { have, need } => {
                r.push(
                    K::TornRecord,
                    Some(i),
                    Some(start),
                    ENTRIES_FILE,
                    format!("file ends {have} bytes into a record that needs {need}"),
                );
                break;
            }
            Scanned::BadLength(len) => {
                r.push(
                    K::BadLength,
                    Some(i),
                    Some(start),
                    ENTRIES_FILE,
                    format!("length field says {len} bytes, over the limit"),
                );
                ([0u8; 32], None)
            }
            Scanned::Record { payload, stored } => {
                let h = leaf_hash(&payload);
                let end = start + crate::storage::record_len(payload.len() as u64);
                if h != stored {
                    r.push(
                        K::CorruptRecord,
                        Some(i),
                        Some(start),
                        ENTRIES_FILE,
                        format!(
                            "bytes {start}..{end} do not hash to the leaf hash stored with them"
                        ),
                    );
                    (h, Some(end))
                } else {
                    match serde_json::from_slice::<Entry>(&payload) {
                        Ok(e) => {
                            if let Some(c) = check.as_mut() {
                                c.entry(i, &e);
                            }
                        }
                        Err(e) => r.push(
                            K::UnreadableEntry,
                            Some(i),
                            Some(start),
                            ENTRIES_FILE,
                            e.to_string(),
                        ),
                    }
                    scan.offsets.push(start);
                    scan.hashes.push(h);
                    frontier.push(h);
                    record_root(&frontier, &mut roots);
                    continue;
                }
            }
        };
        // Damaged record: count it (with whatever hash it has) and find where the next starts.
        scan.damaged.push(i);
        scan.offsets.push(start);
        scan.hashes.push(hash);
        frontier.push(hash);
        record_root(&frontier, &mut roots);
        let candidates = natural
            .into_iter()
            .chain(idx.get(i as usize + 1).map(|s| s.0));
        let next = candidates.into_iter().find(|&c| {
            c == file_len || read_record(&file, c, file_len).is_ok_and(|s| s.valid().is_some())
        });
        match next.map(|c| reader.seek(c)) {
            Some(Ok(())) => {}
            _ => {
                r.push(
                    K::BadLength,
                    Some(i + 1),
                    None,
                    ENTRIES_FILE,
                    format!("cannot find where entry {} starts; scan stopped", i + 1),
                );
                break;
            }
        }
    }
    scan.end = reader.offset;
    Some((scan, roots))
}
