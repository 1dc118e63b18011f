//! `verify` finds every kind of tampering and says where.

mod common;

use std::path::Path;

use arbiter_audit::{AuditLog, ProblemKind, VerifyReport, leaf_hash, verify};
use common::entry;

/// A log of 30 entries (of varying sizes) with checkpoints at 10, 20 and 30.
fn build(dir: &Path) {
    let (mut log, _) = AuditLog::open(dir).unwrap();
    for chunk in 0..3u64 {
        let es: Vec<_> = (chunk * 10..chunk * 10 + 10)
            .map(|i| entry(i, &vec!["alert"; 1 + (i % 3) as usize]))
            .collect();
        log.append_batch(&es).unwrap();
        log.checkpoint().unwrap();
    }
}

/// Record start offsets, walked independently of the crate: 8-byte header, then
/// `u32 BE len ‖ payload ‖ 32-byte hash`.
fn record_offsets(bytes: &[u8]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut at = 8usize;
    while at + 4 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        out.push((at as u64, (4 + len + 32) as u64));
        at += 4 + len + 32;
    }
    out
}

fn entries_path(dir: &Path) -> std::path::PathBuf {
    dir.join("entries.log")
}

fn first(r: &VerifyReport, kind: ProblemKind) -> (Option<u64>, Option<u64>) {
    let p = r
        .of_kind(kind)
        .next()
        .unwrap_or_else(|| panic!("no {kind:?} in:\n{r}"));
    (p.entry, p.offset)
}

#[test]
fn a_clean_log_verifies() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    let r = verify(dir.path()).unwrap();
    assert!(r.is_ok(), "{r}");
    assert_eq!(
        (r.entries, r.checkpoints, r.checkpoints_verified),
        (30, 3, 3)
    );
}

#[test]
fn a_flipped_byte_is_reported_with_its_entry_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    let mut bytes = std::fs::read(entries_path(dir.path())).unwrap();
    let records = record_offsets(&bytes);
    let pos = bytes.len() / 2;
    let (k, (start, len)) = records
        .iter()
        .enumerate()
        .find(|(_, (s, l))| (*s..s + l).contains(&(pos as u64)))
        .map(|(k, r)| (k as u64, *r))
        .unwrap();
    // Make sure the flip lands in the payload, not the length field.
    let pos = pos.max(start as usize + 4);
    assert!((pos as u64) < start + len);
    bytes[pos] ^= 0x20;
    std::fs::write(entries_path(dir.path()), &bytes).unwrap();

    let r = verify(dir.path()).unwrap();
    assert_eq!(
        first(&r, ProblemKind::CorruptRecord),
        (Some(k), Some(start)),
        "{r}"
    );
    assert_eq!(first(&r, ProblemKind::RootMismatch).0, Some(k), "{r}");
    assert!(
        r.to_string()
            .contains(&format!("entry {k}, byte {start} of entries.log"))
    );
}

#[test]
fn a_flipped_length_field_is_attributed_to_its_record() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    let mut bytes = std::fs::read(entries_path(dir.path())).unwrap();
    let (start, _) = record_offsets(&bytes)[12];
    bytes[start as usize + 3] ^= 0x01;
    std::fs::write(entries_path(dir.path()), &bytes).unwrap();
    let r = verify(dir.path()).unwrap();
    let p = r.problems.first().unwrap();
    assert_eq!((p.entry, p.offset), (Some(12), Some(start)), "{r}");
    assert_eq!(
        r.entries, 30,
        "scan resynchronised after the damaged record:\n{r}"
    );
}

#[test]
fn a_deleted_record_is_reported_where_it_was() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    let bytes = std::fs::read(entries_path(dir.path())).unwrap();
    let (start, len) = record_offsets(&bytes)[17];
    let mut cut = bytes[..start as usize].to_vec();
    cut.extend_from_slice(&bytes[(start + len) as usize..]);
    std::fs::write(entries_path(dir.path()), &cut).unwrap();

    let r = verify(dir.path()).unwrap();
    assert_eq!(
        first(&r, ProblemKind::RootMismatch),
        (Some(17), Some(start)),
        "{r}"
    );
    assert_eq!(
        first(&r, ProblemKind::LeafIndexMismatch),
        (Some(17), Some(start)),
        "{r}"
    );
    assert_eq!(first(&r, ProblemKind::Truncated).0, Some(29), "{r}");
}

#[test]
fn two_swapped_records_are_reported_at_the_first_one() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    let bytes = std::fs::read(entries_path(dir.path())).unwrap();
    let recs = record_offsets(&bytes);
    let ((a, al), (b, bl)) = (recs[21], recs[22]);
    let mut out = bytes[..a as usize].to_vec();
    out.extend_from_slice(&bytes[b as usize..(b + bl) as usize]);
    out.extend_from_slice(&bytes[a as usize..(a + al) as usize]);
    out.extend_from_slice(&bytes[(b + bl) as usize..]);
    assert_eq!(out.len(), bytes.len());
    std::fs::write(entries_path(dir.path()), &out).unwrap();

    let r = verify(dir.path()).unwrap();
    assert_eq!(
        first(&r, ProblemKind::RootMismatch),
        (Some(21), Some(a)),
        "{r}"
    );
    assert_eq!(r.checkpoints_verified, 2, "{r}");
}

#[test]
fn a_consistent_rewrite_of_record_and_leaf_file_is_caught_by_the_signed_root() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    let mut bytes = std::fs::read(entries_path(dir.path())).unwrap();
    let (start, len) = record_offsets(&bytes)[15];
    let (s, e) = (start as usize + 4, (start + len) as usize - 32);
    let text = String::from_utf8(bytes[s..e].to_vec()).unwrap();
    let forged = text.replace("entry number 15", "entry number 51");
    assert_ne!(text, forged);
    let h = leaf_hash(forged.as_bytes());
    bytes[s..e].copy_from_slice(forged.as_bytes());
    bytes[e..e + 32].copy_from_slice(&h);
    std::fs::write(entries_path(dir.path()), &bytes).unwrap();
    let mut idx = std::fs::read(dir.path().join("leaves.idx")).unwrap();
    idx[15 * 40 + 8..16 * 40].copy_from_slice(&h);
    std::fs::write(dir.path().join("leaves.idx"), &idx).unwrap();

    let r = verify(dir.path()).unwrap();
    assert!(
        r.of_kind(ProblemKind::CorruptRecord).next().is_none(),
        "{r}"
    );
    let offsets = record_offsets(&bytes);
    // Bracketed between the last good checkpoint (10) and the first bad one (20).
    assert_eq!(
        first(&r, ProblemKind::RootMismatch),
        (Some(10), Some(offsets[10].0)),
        "{r}"
    );
    assert_eq!(r.of_kind(ProblemKind::RootMismatch).count(), 2, "{r}");
}

#[test]
fn a_log_truncated_below_its_last_checkpoint_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    let bytes = std::fs::read(entries_path(dir.path())).unwrap();
    let (start, _) = record_offsets(&bytes)[25];
    std::fs::write(entries_path(dir.path()), &bytes[..start as usize]).unwrap();
    let r = verify(dir.path()).unwrap();
    assert_eq!(r.entries, 25);
    assert_eq!(
        first(&r, ProblemKind::Truncated),
        (Some(25), Some(start)),
        "{r}"
    );
    assert_eq!(r.checkpoints_verified, 2, "{r}");
}

#[test]
fn a_torn_final_record_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    let bytes = std::fs::read(entries_path(dir.path())).unwrap();
    let (start, _) = record_offsets(&bytes)[29];
    std::fs::write(entries_path(dir.path()), &bytes[..bytes.len() - 10]).unwrap();
    let r = verify(dir.path()).unwrap();
    assert_eq!(
        first(&r, ProblemKind::TornRecord),
        (Some(29), Some(start)),
        "{r}"
    );
}

#[test]
fn a_checkpoint_signed_by_another_key_is_reported_with_its_offset() {
    let (dir, other) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    build(dir.path());
    build(other.path());
    let cps = dir.path().join("checkpoints.txt");
    let offset = std::fs::metadata(&cps).unwrap().len();
    let foreign = std::fs::read_to_string(other.path().join("checkpoints.txt")).unwrap();
    let last = foreign.split_inclusive('\n').skip(14).collect::<String>();
    let mut text = std::fs::read_to_string(&cps).unwrap();
    text.push_str(&last);
    std::fs::write(&cps, text).unwrap();

    let r = verify(dir.path()).unwrap();
    let bad: Vec<_> = r.of_kind(ProblemKind::BadSignature).collect();
    assert_eq!(bad.len(), 1, "{r}");
    assert_eq!(bad[0].offset, Some(offset));
    assert_eq!(bad[0].file, "checkpoints.txt");
}

#[test]
fn an_edited_checkpoint_size_breaks_its_signature() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    let cps = dir.path().join("checkpoints.txt");
    let text = std::fs::read_to_string(&cps).unwrap();
    // The second checkpoint's size line is line 8 (0-based); claim 19 instead of 20.
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    assert_eq!(lines[8], "20\n");
    lines[8] = "19\n";
    std::fs::write(&cps, lines.concat()).unwrap();
    let offset = lines[..7].concat().len() as u64;
    let r = verify(dir.path()).unwrap();
    assert_eq!(first(&r, ProblemKind::BadSignature).1, Some(offset), "{r}");
}
