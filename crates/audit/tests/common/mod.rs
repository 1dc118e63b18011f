//! Shared helpers for the integration tests.
#![allow(dead_code)]

use arbiter_audit::{Entry, EntryKind};
use chrono::{DateTime, TimeZone, Utc};

/// A deterministic entry number `i` about `entities`.
pub fn entry(i: u64, entities: &[&str]) -> Entry {
    Entry {
        time: at(i),
        kind: if i.is_multiple_of(2) {
            EntryKind::Suggestion
        } else {
            EntryKind::Decision
        },
        actor: "arbiter/policy".into(),
        entities: entities.iter().map(|s| s.to_string()).collect(),
        summary: format!("entry number {i}"),
        body: serde_json::json!({ "n": i, "evidence": format!("sha256:{i:064x}") }),
    }
}

/// 2025-01-01 plus `i` minutes.
pub fn at(i: u64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::minutes(i as i64)
}

/// A read-write connection to a log's `index.sqlite`, to damage or inspect it.
pub fn index(dir: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.join("index.sqlite")).unwrap()
}

/// Record (start offset, length) pairs of an `entries.log`, walked independently of the
/// crate: 8-byte header, then `u32 BE len ‖ payload ‖ 32-byte hash`.
pub fn record_offsets(bytes: &[u8]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut at = 8usize;
    while at + 4 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        out.push((at as u64, (4 + len + 32) as u64));
        at += 4 + len + 32;
    }
    out
}
