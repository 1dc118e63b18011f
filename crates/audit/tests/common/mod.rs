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
