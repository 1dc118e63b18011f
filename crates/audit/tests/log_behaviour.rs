//! Appending, reopening, crash recovery, keys and queries.

mod common;

use std::fs::OpenOptions;

use arbiter_audit::{AuditLog, EntryKind, leaf_hash, root_of, verify};
use common::{at, entry};

#[test]
fn appended_entries_survive_a_reopen_with_the_same_root() {
    let dir = tempfile::tempdir().unwrap();
    let (root, key) = {
        let (mut log, rec) = AuditLog::open(dir.path()).unwrap();
        assert!(rec.is_clean());
        for i in 0..25 {
            assert_eq!(log.append(&entry(i, &["alert-1"])).unwrap(), i);
        }
        (log.root(), log.public_key_hex())
    };
    let (log, rec) = AuditLog::open(dir.path()).unwrap();
    assert!(rec.is_clean(), "{rec}");
    assert_eq!(log.len(), 25);
    assert_eq!(log.root(), root);
    assert_eq!(log.public_key_hex(), key);
    for i in 0..25 {
        assert_eq!(log.entry(i).unwrap(), entry(i, &["alert-1"]));
    }
}

#[test]
fn the_root_is_the_rfc_root_of_the_stored_entry_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = AuditLog::open(dir.path()).unwrap();
    let es: Vec<_> = (0..13).map(|i| entry(i, &["h"])).collect();
    log.append_batch(&es).unwrap();
    let want: Vec<_> = es
        .iter()
        .map(|e| leaf_hash(&serde_json::to_vec(e).unwrap()))
        .collect();
    assert_eq!(log.root(), root_of(&want));
}

#[test]
fn append_batch_gives_the_same_root_as_appending_one_by_one() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let es: Vec<_> = (0..37).map(|i| entry(i, &["x"])).collect();
    let (mut one, _) = AuditLog::open(a.path()).unwrap();
    for e in &es {
        one.append(e).unwrap();
    }
    let (mut batch, _) = AuditLog::open(b.path()).unwrap();
    assert_eq!(batch.append_batch(&es[..10]).unwrap(), 0..10);
    assert_eq!(batch.append_batch(&es[10..]).unwrap(), 10..37);
    assert_eq!(one.root(), batch.root());
    assert_eq!(batch.len(), 37);
}

#[test]
fn a_torn_tail_is_dropped_reported_and_kept_aside_and_appending_continues() {
    let dir = tempfile::tempdir().unwrap();
    let entries_file = dir.path().join("entries.log");
    let (root5, full_len) = {
        let (mut log, _) = AuditLog::open(dir.path()).unwrap();
        log.append_batch(&(0..5).map(|i| entry(i, &["a"])).collect::<Vec<_>>())
            .unwrap();
        let root5 = log.root();
        log.append(&entry(5, &["a"])).unwrap();
        (root5, std::fs::metadata(&entries_file).unwrap().len())
    };
    // Simulate a crash in the middle of writing record 5 whose slot never reached leaves.idx.
    let leaves = dir.path().join("leaves.idx");
    let llen = std::fs::metadata(&leaves).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&leaves)
        .unwrap()
        .set_len(llen - 40)
        .unwrap();
    let cut = full_len - 17;
    OpenOptions::new()
        .write(true)
        .open(&entries_file)
        .unwrap()
        .set_len(cut)
        .unwrap();

    let (mut log, rec) = AuditLog::open(dir.path()).unwrap();
    assert_eq!(rec.partial_index, Some(5));
    let torn_at = rec.torn_at.expect("the torn record is reported");
    assert_eq!(rec.dropped_bytes, cut - torn_at);
    assert_eq!(rec.quarantined.len(), 1);
    assert_eq!(
        std::fs::read(&rec.quarantined[0]).unwrap().len() as u64,
        rec.dropped_bytes
    );
    // Every complete entry is kept, and the recovery itself is logged as entry 5.
    assert_eq!(rec.logged_as, Some(5));
    assert_eq!(log.len(), 6);
    assert_eq!(log.root_at(5).unwrap(), root5);
    assert_eq!(log.entry(5).unwrap().kind, EntryKind::Recovery);
    assert_eq!(log.append(&entry(6, &["a"])).unwrap(), 6);
    drop(log);
    let (log, rec) = AuditLog::open(dir.path()).unwrap();
    assert!(rec.is_clean(), "{rec}");
    assert_eq!(log.len(), 7);
    assert!(verify(dir.path()).unwrap().is_ok());
}

#[test]
fn a_chopped_entries_file_with_an_intact_leaf_file_is_recovered_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let entries_file = dir.path().join("entries.log");
    {
        let (mut log, _) = AuditLog::open(dir.path()).unwrap();
        for i in 0..8 {
            log.append(&entry(i, &["a"])).unwrap();
        }
    }
    let len = std::fs::metadata(&entries_file).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&entries_file)
        .unwrap()
        .set_len(len - 3)
        .unwrap();
    let (log, rec) = AuditLog::open(dir.path()).unwrap();
    assert_eq!(rec.lost_acknowledged, 1);
    assert_eq!(rec.partial_index, Some(7));
    assert!(rec.torn_at.is_some());
    assert!(!rec.is_clean());
    // Entries 0..7 are kept; entry 7 is now the logged recovery.
    assert_eq!(log.len(), 8);
    for i in 0..7 {
        assert_eq!(log.entry(i).unwrap(), entry(i, &["a"]));
    }
    assert_eq!(log.entry(7).unwrap().kind, EntryKind::Recovery);
}

#[test]
fn opening_a_log_cut_below_its_last_checkpoint_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let entries_file = dir.path().join("entries.log");
    {
        let (mut log, _) = AuditLog::open(dir.path()).unwrap();
        for i in 0..4 {
            log.append(&entry(i, &["a"])).unwrap();
        }
        log.checkpoint().unwrap();
    }
    let len = std::fs::metadata(&entries_file).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&entries_file)
        .unwrap()
        .set_len(len - 3)
        .unwrap();
    let err = AuditLog::open(dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            arbiter_audit::AuditError::Truncated {
                len: 3,
                size: 4,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn complete_records_missing_from_the_leaf_file_are_relinked_not_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let root = {
        let (mut log, _) = AuditLog::open(dir.path()).unwrap();
        log.append_batch(&(0..4).map(|i| entry(i, &["a"])).collect::<Vec<_>>())
            .unwrap();
        log.root()
    };
    // Crash after the entries were synced but before their slots were.
    let leaves = dir.path().join("leaves.idx");
    OpenOptions::new()
        .write(true)
        .open(&leaves)
        .unwrap()
        .set_len(80)
        .unwrap();
    let (log, rec) = AuditLog::open(dir.path()).unwrap();
    assert_eq!(rec.relinked, 2);
    assert_eq!(rec.torn_at, None);
    assert_eq!(log.len(), 4);
    assert_eq!(log.root(), root);
    // The re-linked slots went to the end of leaves.idx, not over its first slots.
    assert_eq!(log.root_at(4).unwrap(), root);
    for i in 0..4 {
        assert_eq!(log.entry(i).unwrap(), entry(i, &["a"]));
    }
    drop(log);
    let r = verify(dir.path()).unwrap();
    assert!(r.is_ok(), "{r}");
}

#[cfg(unix)]
#[test]
fn the_signing_key_file_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = AuditLog::open(dir.path()).unwrap();
    let mode = std::fs::metadata(dir.path().join("signing.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let public = std::fs::read_to_string(dir.path().join("signing.pub")).unwrap();
    assert_eq!(public.trim(), log.public_key_hex());
}

#[test]
fn checkpoints_are_signed_stored_and_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = AuditLog::open(dir.path()).unwrap();
    assert_eq!(log.latest_checkpoint().unwrap(), None);
    log.append_batch(&(0..9).map(|i| entry(i, &["a"])).collect::<Vec<_>>())
        .unwrap();
    let cp = log.checkpoint().unwrap();
    assert_eq!((cp.size, cp.root), (9, log.root()));
    assert!(cp.verify_with_hex(&log.public_key_hex()));
    drop(log);
    let (log, _) = AuditLog::open(dir.path()).unwrap();
    assert_eq!(log.latest_checkpoint().unwrap(), Some(cp));
}

#[test]
fn proofs_from_the_log_verify_against_its_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = AuditLog::open(dir.path()).unwrap();
    log.append_batch(&(0..11).map(|i| entry(i, &["a"])).collect::<Vec<_>>())
        .unwrap();
    let old = log.checkpoint().unwrap();
    log.append_batch(&(11..30).map(|i| entry(i, &["a"])).collect::<Vec<_>>())
        .unwrap();
    let new = log.checkpoint().unwrap();
    let p = log.prove(7, new.size).unwrap();
    assert_eq!(p.root, new.root);
    assert_eq!(
        p.leaf,
        leaf_hash(&serde_json::to_vec(&log.entry(7).unwrap()).unwrap())
    );
    assert!(p.verify());
    let c = log.consistency(old.size, new.size).unwrap();
    assert!(arbiter_audit::verify_consistency(
        old.size, new.size, &old.root, &new.root, &c
    ));
    assert!(log.prove(30, 30).is_err());
    assert!(log.consistency(12, 31).is_err());
}

#[test]
fn query_finds_entries_by_entity_and_respects_since() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = AuditLog::open(dir.path()).unwrap();
    let es: Vec<_> = (0..40)
        .map(|i| {
            if i % 10 == 3 {
                entry(i, &["alert-42", "host-7"])
            } else {
                entry(i, &["host-7"])
            }
        })
        .collect();
    log.append_batch(&es).unwrap();
    let hits = log.query("alert-42", None).unwrap();
    let idx: Vec<u64> = hits.iter().map(|h| h.0).collect();
    assert_eq!(idx, vec![3, 13, 23, 33]);
    assert_eq!(hits[1].1, es[13]);
    let recent: Vec<u64> = log
        .query("alert-42", Some(at(13)))
        .unwrap()
        .iter()
        .map(|h| h.0)
        .collect();
    assert_eq!(recent, vec![13, 23, 33]);
    assert_eq!(log.query("host-7", None).unwrap().len(), 40);
    assert!(log.query("alert-404", None).unwrap().is_empty());
}

#[test]
fn a_deleted_query_index_is_rebuilt_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut log, _) = AuditLog::open(dir.path()).unwrap();
        log.append_batch(
            &(0..20)
                .map(|i| entry(i, &[if i == 4 { "u:bob" } else { "u:eve" }]))
                .collect::<Vec<_>>(),
        )
        .unwrap();
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.path().join(format!("index.sqlite{suffix}")));
    }
    let (mut log, _) = AuditLog::open(dir.path()).unwrap();
    assert_eq!(
        log.query("u:bob", None)
            .unwrap()
            .iter()
            .map(|h| h.0)
            .collect::<Vec<_>>(),
        vec![4]
    );
    log.rebuild_index().unwrap();
    assert_eq!(log.query("u:eve", None).unwrap().len(), 19);
}

#[test]
fn an_inclusion_proof_survives_a_json_round_trip_and_still_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = AuditLog::open(dir.path()).unwrap();
    log.append_batch(&(0..6).map(|i| entry(i, &["a"])).collect::<Vec<_>>())
        .unwrap();
    let p = log.prove(4, 6).unwrap();
    let json = serde_json::to_string(&p).unwrap();
    assert!(json.contains(&hex::encode(p.root)));
    let back: arbiter_audit::InclusionProof = serde_json::from_str(&json).unwrap();
    assert_eq!(back, p);
    assert!(back.verify());
}

#[test]
fn verifying_a_directory_that_does_not_exist_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = verify(&dir.path().join("nope")).unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
}
