//! What the ledger's test files share: a fixed clock, the conformance suite's alert keys, and
//! a fresh store of each backend.

use std::sync::Arc;

use arbiter_core::{AlertKey, ManualClock};
use arbiter_store::{MemoryStore, SqliteStore, Store};

pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::at("2026-12-01T12:00:00Z"))
}

/// The key of the conformance suite's alert `i`.
pub fn key(i: u32) -> AlertKey {
    AlertKey::new("conformance", &format!("a-{i}")).unwrap()
}

/// `(name, directory the store and log live in, store)` for each backend.
pub fn backends() -> Vec<(&'static str, tempfile::TempDir, Arc<dyn Store>)> {
    let d1 = tempfile::tempdir().unwrap();
    let d2 = tempfile::tempdir().unwrap();
    let sqlite: Arc<dyn Store> = Arc::new(SqliteStore::open(&d2.path().join("a.db")).unwrap());
    vec![
        ("memory", d1, Arc::new(MemoryStore::new())),
        ("sqlite", d2, sqlite),
    ]
}
