//! Scale check (ignored by default; run with `--release -- --ignored --nocapture`).
//!
//! Appends 1,000,000 entries with `append_batch` (10,000 per batch), then — in the same run
//! and, when `ARBITER_AUDIT_BENCH_DIR` points at an existing log, in a fresh process — times
//! `AuditLog::open` + `query`, a paged query through `AuditReader::open`, and `verify` (which
//! also compares `index.sqlite` with every entry). It prints timings and asserts only
//! correctness (no timing thresholds: machines differ).

mod common;

use std::time::Instant;

use arbiter_audit::{AuditLog, AuditReader, verify};
use common::entry;

const N: u64 = 1_000_000;
const BATCH: u64 = 10_000;

fn entities(i: u64) -> [String; 3] {
    [
        format!("alert-{i}"),
        format!("host-{}", i % 1000),
        format!("user:{}", i % 5000),
    ]
}

#[test]
#[ignore = "takes minutes; run explicitly to measure"]
fn a_million_entries_append_open_query_and_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::env::var_os("ARBITER_AUDIT_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| tmp.path().to_path_buf());
    if !dir.join("entries.log").exists() {
        let (mut log, _) = AuditLog::open(&dir).unwrap();
        let t = Instant::now();
        for b in 0..N / BATCH {
            let es: Vec<_> = (b * BATCH..(b + 1) * BATCH)
                .map(|i| {
                    let ents = entities(i);
                    entry(i, &[ents[0].as_str(), ents[1].as_str(), ents[2].as_str()])
                })
                .collect();
            log.append_batch(&es).unwrap();
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "append_batch: {N} entries in {secs:.2} s = {:.0} entries/s",
            N as f64 / secs
        );
        log.checkpoint().unwrap();
    }

    let t = Instant::now();
    let (log, rec) = AuditLog::open(&dir).unwrap();
    let opened = t.elapsed();
    let hits = log.query("alert-765432", None).unwrap();
    let one = t.elapsed();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].0, 765_432);
    let t2 = Instant::now();
    let host = log.query("host-7", Some(common::at(500_000))).unwrap();
    let many = t2.elapsed();
    assert_eq!(host.len(), 500);
    assert!(rec.is_clean(), "{rec}");
    println!(
        "open: {:.1} ms; open + query(alert, 1 hit): {:.1} ms; query(host since t, {} hits): {:.1} ms",
        opened.as_secs_f64() * 1e3,
        one.as_secs_f64() * 1e3,
        host.len(),
        many.as_secs_f64() * 1e3
    );
    drop(log);

    let t = Instant::now();
    let reader = AuditReader::open(&dir).unwrap();
    let page = reader
        .query_page("host-7", None, Some(500_000), 1000)
        .unwrap();
    let paged = t.elapsed();
    assert_eq!(page.entries.len(), 500);
    assert_eq!((page.next, page.indexed, page.scanned), (None, N, 0));
    println!(
        "reader open + query_page(host after 500000, 500 hits): {:.1} ms",
        paged.as_secs_f64() * 1e3
    );

    let t = Instant::now();
    let report = verify(&dir).unwrap();
    println!("verify: {:.2} s ({report})", t.elapsed().as_secs_f64());
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.index_checked, Some(N));
    assert_eq!(report.uncovered, 0);
}
