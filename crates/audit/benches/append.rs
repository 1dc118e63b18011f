//! Appending to the RFC 9162 Merkle audit log: [`AuditLog::append`] of one entry and
//! [`AuditLog::append_batch`] of 64, each into its own log in a temporary directory, opened
//! once and growing as the bench runs. Every call fsyncs `entries.log` and `leaves.idx` and updates
//! the SQLite index, so the figures mostly measure the disk under the temporary directory.
//!
//! Run with `cargo bench -p arbiter-audit --bench append`.

use arbiter_audit::{AuditLog, Entry, EntryKind};
use chrono::{TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

const BATCH: usize = 64;
/// Distinct entries cycled through, so encoding never sees a single cached shape.
const POOL: usize = 1024;

/// A deterministic entry number `i`, shaped like a policy decision on an alert.
fn entry(i: usize) -> Entry {
    Entry {
        time: Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap()
            + chrono::Duration::seconds(i as i64),
        kind: if i.is_multiple_of(2) {
            EntryKind::Suggestion
        } else {
            EntryKind::Decision
        },
        actor: "arbiter/policy".into(),
        entities: vec![format!("alert-{i}"), format!("host:web-{}", i % 16)],
        summary: format!("auto-closed alert {i}: benign scanner"),
        body: serde_json::json!({ "confidence": 0.97, "evidence": format!("sha256:{i:064x}") }),
    }
}

fn append(c: &mut Criterion) {
    let pool: Vec<Entry> = (0..POOL).map(entry).collect();
    let mut g = c.benchmark_group("audit_append");

    let dir = tempfile::tempdir().unwrap();
    let (mut one, _) = AuditLog::open(&dir.path().join("one")).unwrap();
    let mut i = 0;
    g.throughput(Throughput::Elements(1));
    g.bench_function("one", |b| {
        b.iter(|| {
            i = (i + 1) % POOL;
            one.append(&pool[i]).unwrap()
        })
    });

    g.throughput(Throughput::Elements(BATCH as u64));
    let (mut batch, _) = AuditLog::open(&dir.path().join("batch")).unwrap();
    let mut chunks = pool.chunks(BATCH).cycle();
    g.bench_function(BenchmarkId::new("batch", BATCH), |b| {
        b.iter(|| batch.append_batch(chunks.next().unwrap()).unwrap())
    });
    g.finish();
}

criterion_group!(benches, append);
criterion_main!(benches);
