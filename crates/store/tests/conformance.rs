//! The store contract, run against every backend.

arbiter_store::conformance_suite!(memory, arbiter_store::MemoryStore::new());

arbiter_store::conformance_suite!(sqlite, {
    let dir = tempfile::tempdir().unwrap();
    let store = arbiter_store::SqliteStore::open(&dir.path().join("arbiter.db")).unwrap();
    (dir, store)
});
