//! `AuditReader`: reads that never take the writer's lock, never wait for an append and never
//! see part of one; paged queries that add up to the whole answer.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use arbiter_audit::{AuditError, AuditLog, AuditReader, Entry};
use common::{at, entry, index};
use proptest::prelude::*;

fn ids(hits: &[(u64, Entry)]) -> Vec<u64> {
    hits.iter().map(|h| h.0).collect()
}

#[test]
fn a_reader_is_clone_send_and_sync() {
    fn assert_shareable<T: Clone + Send + Sync + 'static>() {}
    assert_shareable::<AuditReader>();
}

#[test]
fn a_reader_taken_before_appends_sees_them_after() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = AuditLog::open(dir.path()).unwrap();
    let reader = log.reader();
    assert!(reader.is_empty());
    assert_eq!(reader.latest_checkpoint().unwrap(), None);
    log.append_batch(&(0..9).map(|i| entry(i, &["alert-1"])).collect::<Vec<_>>())
        .unwrap();
    let cp = log.checkpoint().unwrap();
    log.append(&entry(9, &["alert-2"])).unwrap();

    assert_eq!(reader.len(), 10);
    assert_eq!(reader.entry(9).unwrap(), entry(9, &["alert-2"]));
    assert_eq!(reader.payload(3).unwrap(), log.payload(3).unwrap());
    assert_eq!(reader.root_at(10).unwrap(), log.root());
    assert_eq!(reader.prove(4, 9).unwrap(), log.prove(4, 9).unwrap());
    assert_eq!(
        reader.consistency(3, 10).unwrap(),
        log.consistency(3, 10).unwrap()
    );
    assert_eq!(reader.latest_checkpoint().unwrap(), Some(cp));
    assert_eq!(reader.public_key_hex(), log.public_key_hex());
    assert_eq!(ids(&reader.query("alert-2", None).unwrap()), vec![9]);
    assert!(matches!(
        reader.entry(10),
        Err(AuditError::OutOfRange {
            value: 10,
            len: 10,
            ..
        })
    ));
}

#[test]
fn a_reader_opened_by_another_process_works_while_the_writer_holds_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = AuditLog::open(dir.path()).unwrap();
    log.append_batch(&(0..5).map(|i| entry(i, &["host-1"])).collect::<Vec<_>>())
        .unwrap();
    assert!(matches!(
        AuditLog::open(dir.path()),
        Err(AuditError::Locked { .. })
    ));
    let reader = AuditReader::open(dir.path()).unwrap();
    assert_eq!(reader.len(), 5);
    assert_eq!(reader.public_key_hex(), log.public_key_hex());
    assert_eq!(reader.prove(2, 5).unwrap(), log.prove(2, 5).unwrap());

    log.append(&entry(5, &["host-1"])).unwrap();
    assert_eq!(reader.len(), 5, "a foreign reader keeps its snapshot");
    assert_eq!(reader.refresh().unwrap(), 6);
    assert_eq!(
        ids(&reader.query("host-1", None).unwrap()),
        (0..6).collect::<Vec<_>>()
    );
}

#[test]
fn opening_a_reader_on_a_directory_without_a_log_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let err = AuditReader::open(dir.path()).unwrap_err();
    assert!(err.to_string().contains("entries.log"), "{err}");
    assert!(
        !dir.path().join("LOCK").exists(),
        "a reader creates nothing"
    );
}

#[test]
fn a_reader_answers_while_the_writer_is_held_by_its_owner() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = AuditLog::open(dir.path()).unwrap();
    log.append_batch(&(0..50).map(|i| entry(i, &["alert-9"])).collect::<Vec<_>>())
        .unwrap();
    let reader = log.reader();
    let writer = Mutex::new(log);
    // The server's writer lock is held for the whole time the reader works: if any read
    // needed the writer, this would never finish.
    let held = writer.lock().unwrap();
    let answer = std::thread::spawn(move || {
        let page = reader.query_page("alert-9", None, Some(9), 5).unwrap();
        (ids(&page.entries), reader.prove(3, 50).unwrap().verify())
    })
    .join()
    .unwrap();
    drop(held);
    assert_eq!(answer, (vec![10, 11, 12, 13, 14], true));
}

#[test]
fn readers_on_other_threads_only_ever_see_whole_committed_entries() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = AuditLog::open(dir.path()).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (r, done) = (log.reader(), Arc::clone(&done));
            std::thread::spawn(move || {
                let mut last = 0;
                let mut rounds = 0u64;
                loop {
                    let finished = done.load(Ordering::Acquire);
                    let n = r.len();
                    assert!(n >= last, "the committed length never goes back");
                    last = n;
                    if n > 0 {
                        assert_eq!(
                            r.entry(n - 1).unwrap().summary,
                            format!("entry number {}", n - 1)
                        );
                        assert!(r.prove(n - 1, n).unwrap().verify());
                    }
                    // Entries 0, 3, 6, … name "every-third"; a page never reaches past n.
                    let page = r.query_page("every-third", None, None, 1000).unwrap();
                    assert!(
                        page.entries
                            .iter()
                            .all(|(i, _)| i % 3 == 0 && *i < page.log_len)
                    );
                    assert_eq!(
                        page.entries.len() as u64,
                        page.log_len.div_ceil(3).min(1000)
                    );
                    assert!(page.log_len >= n);
                    rounds += 1;
                    if finished {
                        return (last, rounds);
                    }
                }
            })
        })
        .collect();
    for b in 0..60u64 {
        let es: Vec<_> = (b * 7..b * 7 + 7)
            .map(|i| {
                if i % 3 == 0 {
                    entry(i, &["every-third"])
                } else {
                    entry(i, &["other"])
                }
            })
            .collect();
        log.append_batch(&es).unwrap();
    }
    done.store(true, Ordering::Release);
    for r in readers {
        let (last, rounds) = r.join().unwrap();
        assert_eq!(last, 420);
        assert!(rounds >= 1);
    }
}

#[test]
fn an_index_of_an_older_schema_is_rebuilt_on_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut log, _) = AuditLog::open(dir.path()).unwrap();
        log.append_batch(&(0..6).map(|i| entry(i, &["u:eve"])).collect::<Vec<_>>())
            .unwrap();
    }
    // The version-1 layout: no schema row, primary key (entity, time_us, idx).
    let db = index(dir.path());
    db.execute_batch(
        "DROP TABLE mention; DELETE FROM meta;
         CREATE TABLE mention(entity TEXT NOT NULL, time_us INTEGER NOT NULL,
             idx INTEGER NOT NULL, PRIMARY KEY(entity, time_us, idx)) WITHOUT ROWID;
         INSERT INTO meta(key, value) VALUES ('indexed_len', 6);",
    )
    .unwrap();
    drop(db);
    // Readers do not trust it: they scan.
    let reader = AuditReader::open(dir.path()).unwrap();
    let page = reader.query_page("u:eve", None, None, 100).unwrap();
    assert_eq!((page.entries.len(), page.indexed, page.scanned), (6, 0, 6));
    let r = arbiter_audit::verify(dir.path()).unwrap();
    assert!(
        r.is_ok() && r.to_string().contains("schema version none"),
        "{r}"
    );

    let (log, rec) = AuditLog::open(dir.path()).unwrap();
    assert!(rec.is_clean(), "{rec}");
    assert!(
        rec.to_string().contains("schema version 1; rebuilt it"),
        "{rec}"
    );
    let page = log.query_page("u:eve", None, None, 100).unwrap();
    assert_eq!((page.entries.len(), page.indexed, page.scanned), (6, 6, 0));
    drop(log);
    assert_eq!(
        arbiter_audit::verify(dir.path()).unwrap().index_checked,
        Some(6)
    );
}

/// The naive answer: every entry naming `entity` at or after `since`.
fn expected(names: &[Vec<&str>], entity: &str, since: u64) -> Vec<u64> {
    (0..names.len() as u64)
        .filter(|&i| i >= since && names[i as usize].contains(&entity))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn pages_concatenated_equal_the_whole_answer_for_any_page_size_and_index_lag(
        picks in prop::collection::vec(0u8..8, 1..60),
        lag in any::<prop::sample::Index>(),
        limit in 1usize..8,
        since in 0u64..20,
    ) {
        let names: Vec<Vec<&str>> = picks
            .iter()
            .map(|p| ["a", "b", "c"].into_iter().enumerate()
                .filter(|(k, _)| p & (1 << k) != 0)
                .map(|(_, s)| s)
                .collect())
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = AuditLog::open(dir.path()).unwrap();
        let es: Vec<_> = names.iter().enumerate().map(|(i, n)| entry(i as u64, n)).collect();
        log.append_batch(&es).unwrap();
        // The index has seen only a prefix (crash, failed update).
        let k = lag.index(names.len() + 1) as i64;
        let db = index(dir.path());
        db.execute("DELETE FROM mention WHERE idx >= ?1", [k]).unwrap();
        db.execute("UPDATE meta SET value = ?1 WHERE key = 'indexed_len'", [k]).unwrap();
        let reader = log.reader();
        for entity in ["a", "b", "c", "d"] {
            let mut got = Vec::new();
            let mut after = None;
            loop {
                let page = reader.query_page(entity, Some(at(since)), after, limit).unwrap();
                prop_assert!(page.entries.len() <= limit);
                prop_assert!(page.entries.iter().all(|(i, e)| es[*i as usize] == *e));
                got.extend(ids(&page.entries));
                match page.next {
                    Some(n) => after = Some(n),
                    None => break,
                }
            }
            prop_assert_eq!(&got, &expected(&names, entity, since));
            prop_assert_eq!(ids(&reader.query(entity, Some(at(since))).unwrap()), got);
        }
    }
}
