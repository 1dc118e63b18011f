//! Regression tests for issue 10: audit reads behind the writer lock, unbounded queries, an
//! index trusted for what it omits, and entries no checkpoint protects.

mod common;

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use arbiter_audit::{
    AuditError, AuditLog, AuditReader, Entry, MAX_PAGE_BYTES, MAX_PAGE_ENTRIES, ProblemKind,
    leaf_hash, verify,
};
use common::{at, entry, index, record_offsets};

fn ids(hits: &[(u64, Entry)]) -> Vec<u64> {
    hits.iter().map(|h| h.0).collect()
}

/// Every page of a query for `entity`, following the cursor.
fn all_pages(r: &AuditReader, entity: &str, limit: usize) -> Vec<u64> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = r.query_page(entity, None, after, limit).unwrap();
        out.extend(ids(&page.entries));
        match page.next {
            Some(n) => after = Some(n),
            None => return out,
        }
    }
}

/// An auto-close then an override for alert-7 among other alerts' entries.
fn auto_closed_then_overridden(dir: &Path) {
    let (mut log, _) = AuditLog::open(dir).unwrap();
    let es: Vec<_> = (0..20)
        .map(|i| match i {
            5 => entry(i, &["alert-7", "host-1"]),
            12 => entry(i, &["alert-7", "user:bob"]),
            _ => entry(i, &[&format!("alert-{}", 100 + i), "host-1"]),
        })
        .collect();
    log.append_batch(&es).unwrap();
    log.checkpoint().unwrap();
}

#[test]
fn issue_10_deleting_an_entitys_index_rows_fails_verify() {
    let dir = tempfile::tempdir().unwrap();
    auto_closed_then_overridden(dir.path());
    assert!(verify(dir.path()).unwrap().is_ok());
    let deleted = index(dir.path())
        .execute("DELETE FROM mention WHERE entity = 'alert-7'", [])
        .unwrap();
    assert_eq!(deleted, 2);

    let r = verify(dir.path()).unwrap();
    assert!(!r.is_ok(), "{r}");
    let found: Vec<_> = r.of_kind(ProblemKind::IndexMismatch).collect();
    assert_eq!(
        found.iter().map(|p| p.entry).collect::<Vec<_>>(),
        vec![Some(5), Some(12)],
        "{r}"
    );
    assert!(
        found.iter().all(|p| p.message.contains("\"alert-7\"")),
        "{r}"
    );
    assert!(r.to_string().contains("arbiter audit reindex"), "{r}");

    // Rebuilding the index repairs it.
    let (mut log, _) = AuditLog::open(dir.path()).unwrap();
    log.rebuild_index().unwrap();
    assert_eq!(ids(&log.query("alert-7", None).unwrap()), vec![5, 12]);
    drop(log);
    assert!(verify(dir.path()).unwrap().is_ok());
}

#[test]
fn issue_10_an_index_row_with_a_wrong_time_or_entity_fails_verify() {
    let dir = tempfile::tempdir().unwrap();
    auto_closed_then_overridden(dir.path());
    // A wrong time would hide entry 12 from a `since` query; a stray row is noise.
    let db = index(dir.path());
    db.execute(
        "UPDATE mention SET time_us = 0 WHERE entity = 'alert-7' AND idx = 12",
        [],
    )
    .unwrap();
    db.execute(
        "INSERT INTO mention(idx, entity, time_us) VALUES (3, 'alert-999', 0)",
        [],
    )
    .unwrap();
    drop(db);
    let r = verify(dir.path()).unwrap();
    let found: Vec<_> = r.of_kind(ProblemKind::IndexMismatch).collect();
    assert_eq!(
        found.iter().map(|p| p.entry).collect::<Vec<_>>(),
        vec![Some(3), Some(12)],
        "{r}"
    );
    assert!(found[0].message.contains("alert-999"), "{r}");
    assert!(found[1].message.contains("time"), "{r}");
}

#[test]
fn issue_10_many_index_mismatches_are_listed_first_few_then_counted() {
    let dir = tempfile::tempdir().unwrap();
    auto_closed_then_overridden(dir.path());
    index(dir.path())
        .execute("DELETE FROM mention WHERE entity = 'host-1'", [])
        .unwrap();
    let r = verify(dir.path()).unwrap();
    let found: Vec<_> = r.of_kind(ProblemKind::IndexMismatch).collect();
    assert_eq!(found.len(), 6, "five listed and one count:\n{r}");
    assert!(found[5].message.contains("19 rows missing"), "{r}");
}

#[test]
fn issue_10_a_missing_index_is_a_note_not_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    auto_closed_then_overridden(dir.path());
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.path().join(format!("index.sqlite{suffix}")));
    }
    let r = verify(dir.path()).unwrap();
    assert!(r.is_ok(), "{r}");
    assert_eq!(r.index_checked, None);
    assert!(r.to_string().contains("index.sqlite is absent"), "{r}");
    // Readers answer from the entries alone.
    let reader = AuditReader::open(dir.path()).unwrap();
    assert_eq!(all_pages(&reader, "alert-7", 1), vec![5, 12]);
}

#[test]
fn issue_10_a_damaged_index_fails_verify_and_is_rebuilt_on_open() {
    let dir = tempfile::tempdir().unwrap();
    auto_closed_then_overridden(dir.path());
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.path().join(format!("index.sqlite{suffix}")));
    }
    std::fs::write(dir.path().join("index.sqlite"), vec![0x5a; 8192]).unwrap();
    let r = verify(dir.path()).unwrap();
    let p = r.of_kind(ProblemKind::IndexMismatch).next();
    assert!(
        p.is_some_and(|p| p.message.contains("cannot read index.sqlite")),
        "{r}"
    );
    // Reindexing (or any writer open) sets it aside and rebuilds it.
    let (mut log, rec) = AuditLog::open(dir.path()).unwrap();
    assert!(rec.to_string().contains("index.sqlite.damaged"), "{rec}");
    log.rebuild_index().unwrap();
    assert_eq!(ids(&log.query("alert-7", None).unwrap()), vec![5, 12]);
    drop(log);
    assert!(verify(dir.path()).unwrap().is_ok());
}

#[test]
fn issue_10_a_cursor_past_the_end_returns_an_empty_last_page() {
    let dir = tempfile::tempdir().unwrap();
    auto_closed_then_overridden(dir.path());
    let reader = AuditReader::open(dir.path()).unwrap();
    for after in [19, 20, u64::MAX - 1, u64::MAX] {
        let page = reader.query_page("host-1", None, Some(after), 10).unwrap();
        assert_eq!((page.entries.len(), page.next), (0, None), "after {after}");
    }
}

#[test]
fn issue_10_a_query_page_is_bounded_whatever_the_entity() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = AuditLog::open(dir.path()).unwrap();
    // 1,500 small entries and 40 large ones (400 KiB each: 16 MiB) about one host.
    let mut es: Vec<_> = (0..1500).map(|i| entry(i, &["host-big"])).collect();
    for i in 1500..1540 {
        let mut e = entry(i, &["host-big"]);
        e.body = serde_json::json!({ "blob": "x".repeat(400 << 10) });
        es.push(e);
    }
    for chunk in es.chunks(100) {
        log.append_batch(chunk).unwrap();
    }
    let reader = log.reader();

    let page = reader.query_page("host-big", None, None, 5000).unwrap();
    assert_eq!(page.entries.len(), MAX_PAGE_ENTRIES);
    assert_eq!(page.next, Some(MAX_PAGE_ENTRIES as u64 - 1));

    let mut after = None;
    let mut seen = Vec::new();
    loop {
        let page = reader.query_page("host-big", None, after, 5000).unwrap();
        let bytes: usize = page
            .entries
            .iter()
            .map(|(_, e)| serde_json::to_vec(e).unwrap().len())
            .sum();
        let largest = page
            .entries
            .iter()
            .map(|(_, e)| serde_json::to_vec(e).unwrap().len())
            .max()
            .unwrap_or(0);
        assert!(page.entries.len() <= MAX_PAGE_ENTRIES);
        assert!(
            bytes <= MAX_PAGE_BYTES || page.entries.len() == 1,
            "{bytes} bytes in {} entries (largest {largest})",
            page.entries.len()
        );
        seen.extend(ids(&page.entries));
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(seen, (0..1540).collect::<Vec<u64>>());
}

#[test]
fn issue_10_a_page_holds_an_entry_larger_than_the_byte_cap() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = AuditLog::open(dir.path()).unwrap();
    let mut huge = entry(0, &["alert-huge"]);
    huge.body = serde_json::json!({ "blob": "y".repeat(MAX_PAGE_BYTES + 1) });
    log.append_batch(&[huge, entry(1, &["alert-huge"])])
        .unwrap();
    let reader = log.reader();
    let first = reader.query_page("alert-huge", None, None, 10).unwrap();
    assert_eq!((ids(&first.entries), first.next), (vec![0], Some(0)));
    let second = reader
        .query_page("alert-huge", None, first.next, 10)
        .unwrap();
    assert_eq!((ids(&second.entries), second.next), (vec![1], None));
}

#[test]
fn issue_10_a_lagging_index_still_answers_every_entry() {
    let dir = tempfile::tempdir().unwrap();
    auto_closed_then_overridden(dir.path());
    let (mut log, _) = AuditLog::open(dir.path()).unwrap();
    // As after a crash, or a failed index update: the index has seen only entries 0..8.
    let db = index(dir.path());
    db.execute("DELETE FROM mention WHERE idx >= 8", [])
        .unwrap();
    db.execute("UPDATE meta SET value = 8 WHERE key = 'indexed_len'", [])
        .unwrap();
    let reader = log.reader();
    let page = reader.query_page("alert-7", None, None, 100).unwrap();
    assert_eq!(ids(&page.entries), vec![5, 12]);
    assert_eq!((page.indexed, page.scanned, page.next), (8, 12, None));
    assert_eq!(all_pages(&reader, "alert-7", 1), vec![5, 12]);
    assert_eq!(
        ids(&reader.query("alert-7", Some(at(6))).unwrap()),
        vec![12]
    );
    // The lag is not an index mismatch, and verify says so.
    let r = verify(dir.path()).unwrap();
    assert!(r.is_ok(), "{r}");
    assert_eq!(r.index_checked, Some(8));
    assert!(r.to_string().contains("covers entries 0..8 of 20"), "{r}");

    // The next append catches the index up instead of recording a gap as indexed.
    log.append(&entry(20, &["alert-7"])).unwrap();
    let indexed: i64 = db
        .query_row(
            "SELECT value FROM meta WHERE key = 'indexed_len'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(indexed, 21);
    assert_eq!(ids(&log.query("alert-7", None).unwrap()), vec![5, 12, 20]);
    drop(log);
    let r = verify(dir.path()).unwrap();
    assert!(r.is_ok(), "{r}");
    assert_eq!(r.index_checked, Some(21));
}

#[test]
fn issue_10_truncation_below_a_signed_checkpoint_fails_verify() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut log, _) = AuditLog::open(dir.path()).unwrap();
        log.append_batch(&(0..10).map(|i| entry(i, &["a"])).collect::<Vec<_>>())
            .unwrap();
        log.checkpoint().unwrap();
        log.append_batch(&(10..30).map(|i| entry(i, &["a"])).collect::<Vec<_>>())
            .unwrap();
        log.checkpoint().unwrap();
    }
    // Cut both files consistently at entry 25, as an attacker would.
    let entries = std::fs::read(dir.path().join("entries.log")).unwrap();
    let (start, _) = record_offsets(&entries)[25];
    cut(&dir.path().join("entries.log"), start);
    cut(&dir.path().join("leaves.idx"), 25 * 40);

    let r = verify(dir.path()).unwrap();
    assert!(!r.is_ok(), "{r}");
    let t: Vec<_> = r.of_kind(ProblemKind::Truncated).collect();
    assert_eq!(t.len(), 1, "{r}");
    assert_eq!((t[0].entry, t[0].offset), (Some(25), Some(start)));
    assert!(
        t[0].message.contains("checkpoint #1") && t[0].message.contains("signed 30 entries"),
        "{r}"
    );
    // No LeafIndexMismatch: the cut is consistent, only the signature catches it.
    assert_eq!(r.of_kind(ProblemKind::LeafIndexMismatch).count(), 0, "{r}");

    let err = AuditLog::open(dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            AuditError::Truncated {
                len: 25,
                size: 30,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn issue_10_verify_counts_entries_no_checkpoint_covers() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = AuditLog::open(dir.path()).unwrap();
    log.append_batch(&(0..10).map(|i| entry(i, &["a"])).collect::<Vec<_>>())
        .unwrap();
    let r = verify(dir.path()).unwrap();
    assert!(
        r.is_ok(),
        "uncovered entries are no failure by themselves:\n{r}"
    );
    assert_eq!((r.uncovered, r.first_uncovered), (10, Some(0)));

    log.checkpoint().unwrap();
    log.append_batch(&(10..17).map(|i| entry(i, &["a"])).collect::<Vec<_>>())
        .unwrap();
    let r = verify(dir.path()).unwrap();
    assert!(r.is_ok(), "{r}");
    assert_eq!((r.uncovered, r.first_uncovered), (7, Some(10)));
    assert!(
        r.to_string().contains(
            "7 trailing entries (from entry 10) are covered by no signed checkpoint: they \
             could be cut off undetected"
        ),
        "{r}"
    );
    // Cutting only uncovered entries goes undetected: that is what the count warns of.
    drop(log);
    let entries = std::fs::read(dir.path().join("entries.log")).unwrap();
    cut(
        &dir.path().join("entries.log"),
        record_offsets(&entries)[12].0,
    );
    cut(&dir.path().join("leaves.idx"), 12 * 40);
    let r = verify(dir.path()).unwrap();
    assert_eq!((r.entries, r.uncovered), (12, 2), "{r}");

    let (mut log, _) = AuditLog::open(dir.path()).unwrap();
    log.checkpoint().unwrap();
    let r = verify(dir.path()).unwrap();
    assert_eq!((r.uncovered, r.first_uncovered), (0, None), "{r}");
    assert!(!r.to_string().contains("trailing"), "{r}");
}

#[test]
fn issue_10_a_checkpoint_signed_by_another_key_covers_nothing() {
    let (dir, other) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for d in [dir.path(), other.path()] {
        let (mut log, _) = AuditLog::open(d).unwrap();
        log.append_batch(&(0..5).map(|i| entry(i, &["a"])).collect::<Vec<_>>())
            .unwrap();
    }
    let (mut theirs, _) = AuditLog::open(other.path()).unwrap();
    let forged = theirs.checkpoint_at(at(1)).unwrap();
    drop(theirs);
    append_bytes(
        &dir.path().join("checkpoints.txt"),
        forged.to_text().as_bytes(),
    );
    let r = verify(dir.path()).unwrap();
    assert_eq!(r.uncovered, 5, "{r}");
    // And the writer does not take it for its own: it signs again when asked.
    let (mut ours, _) = AuditLog::open(dir.path()).unwrap();
    assert_eq!(ours.last_signed_size(), 0);
    assert!(ours.checkpoint_if_behind(at(2)).unwrap().is_some());
}

#[test]
fn issue_10_checkpoint_if_behind_signs_only_uncovered_entries_at_the_given_time() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = AuditLog::open(dir.path()).unwrap();
    assert_eq!(log.checkpoint_if_behind(at(0)).unwrap(), None);
    log.append_batch(&(0..3).map(|i| entry(i, &["a"])).collect::<Vec<_>>())
        .unwrap();
    let cp = log
        .checkpoint_if_behind(at(7))
        .unwrap()
        .expect("3 uncovered");
    assert_eq!((cp.size, cp.root, cp.time), (3, log.root(), at(7)));
    assert!(cp.verify_with_hex(&log.public_key_hex()));
    assert_eq!(log.checkpoint_if_behind(at(8)).unwrap(), None);
    log.append(&entry(3, &["a"])).unwrap();
    assert_eq!(
        log.checkpoint_if_behind(at(9)).unwrap().map(|c| c.size),
        Some(4)
    );
    drop(log);
    // The last signed size survives a reopen.
    let (mut log, _) = AuditLog::open(dir.path()).unwrap();
    assert_eq!(log.last_signed_size(), 4);
    assert_eq!(log.checkpoint_if_behind(at(10)).unwrap(), None);
    assert_eq!(
        log.latest_checkpoint().unwrap().map(|c| c.time),
        Some(at(9))
    );
    let r = verify(dir.path()).unwrap();
    assert_eq!(
        (r.checkpoints, r.checkpoints_verified, r.uncovered),
        (2, 2, 0)
    );
}

#[test]
fn issue_10_a_reader_never_sees_an_uncommitted_entry() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = AuditLog::open(dir.path()).unwrap();
    log.append_batch(&(0..4).map(|i| entry(i, &["alert-1"])).collect::<Vec<_>>())
        .unwrap();
    let shared = log.reader();
    drop(log);
    // A writer that died after writing entry 4 to entries.log but before its slot reached
    // leaves.idx, and half-way through writing that slot.
    let payload = serde_json::to_vec(&entry(4, &["alert-1"])).unwrap();
    let mut rec = (payload.len() as u32).to_be_bytes().to_vec();
    rec.extend_from_slice(&payload);
    rec.extend_from_slice(&leaf_hash(&payload));
    append_bytes(&dir.path().join("entries.log"), &rec);
    append_bytes(&dir.path().join("leaves.idx"), &[0u8; 17]);

    let reader = AuditReader::open(dir.path()).unwrap();
    for r in [&reader, &shared] {
        assert_eq!(r.len(), 4);
        assert!(matches!(r.entry(4), Err(AuditError::OutOfRange { .. })));
        assert_eq!(all_pages(r, "alert-1", 2), vec![0, 1, 2, 3]);
        assert!(r.prove(0, 5).is_err());
    }
    assert_eq!(reader.refresh().unwrap(), 4);
    // Recovery re-links the complete record; a refreshed reader then sees it.
    let (log, rec) = AuditLog::open(dir.path()).unwrap();
    assert_eq!(rec.relinked, 1, "{rec}");
    assert_eq!(reader.refresh().unwrap(), 5);
    assert_eq!(reader.entry(4).unwrap(), entry(4, &["alert-1"]));
    assert_eq!(log.len(), 5);
}

fn cut(path: &Path, len: u64) {
    OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

fn append_bytes(path: &Path, bytes: &[u8]) {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
}
