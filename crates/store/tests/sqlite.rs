//! What only the SQLite backend has: migrations, a file that survives reopening, and readers
//! on their own connections. The contract itself is in tests/conformance.rs.

use arbiter_core::{AlertKey, AlertState, Tier};
use arbiter_store::conformance::alert;
use arbiter_store::{MIGRATIONS, Mutation, Recorded, SqliteStore, Store, StoreRead};

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("arbiter.db")).unwrap();
    (dir, s)
}

#[test]
fn a_new_database_is_migrated_to_the_latest_version_and_reopening_keeps_it() {
    let (dir, s) = store();
    let latest = MIGRATIONS.last().unwrap().0;
    assert_eq!(s.version().unwrap(), latest);
    drop(s);
    let s = SqliteStore::open(&dir.path().join("arbiter.db")).unwrap();
    assert_eq!(s.version().unwrap(), latest);
}

#[test]
fn a_database_newer_than_the_binary_is_refused_by_name() {
    let (dir, s) = store();
    drop(s);
    let path = dir.path().join("arbiter.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "INSERT INTO schema_migrations VALUES (999, 'future', 'now')",
        [],
    )
    .unwrap();
    drop(conn);
    let e = SqliteStore::open(&path).unwrap_err().to_string();
    assert!(e.contains("999") && e.contains("arbiter.db"), "{e}");
}

#[test]
fn everything_applied_survives_a_reopen() {
    let (dir, s) = store();
    s.apply(&[
        Recorded {
            audit_index: 4,
            mutations: vec![Mutation::InsertAlert(Box::new(alert(
                1,
                Tier::Analyst,
                AlertState::Analyst,
                0.7,
                "c@1",
                true,
            )))],
        },
        Recorded {
            audit_index: 5,
            mutations: vec![Mutation::PutState {
                name: "rate_limiter".into(),
                value: "{\"a\":1}".into(),
            }],
        },
    ])
    .unwrap();
    drop(s);
    let s = SqliteStore::open(&dir.path().join("arbiter.db")).unwrap();
    let key = AlertKey::new("conformance", "a-1").unwrap();
    assert_eq!(s.alert_by_key(&key).unwrap().unwrap().risk, 0.7);
    assert_eq!(
        s.get_state("rate_limiter").unwrap().as_deref(),
        Some("{\"a\":1}")
    );
    assert_eq!(s.applied_through().unwrap(), Some(5));
}

#[test]
fn a_version_2_database_is_migrated_in_place_keeping_alerts_and_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)",
        )
        .unwrap();
        for (v, _, sql) in &MIGRATIONS[..2] {
            c.execute_batch(sql).unwrap();
            c.execute(
                "INSERT INTO schema_migrations VALUES (?1, 'old', '2026-11-22T00:00:00Z')",
                [v],
            )
            .unwrap();
        }
        c.execute_batch(
            "INSERT INTO cases (key, opened_at, last_seen, count, new_pattern) VALUES ('c', 't', 't', 1, 0);
             INSERT INTO alerts (key, alert_id, source_file, source_line, received_at, flags, risk, tier, state, case_id)
             VALUES ('KDDTest+.txt:12:KDDTest+.txt:12', 'KDDTest+.txt:12', 'KDDTest+.txt', 12,
                     '2026-11-22T01:00:00.123+00:00', '[\"low_confidence\"]', 0.7, 'approve', 'pending_approval', 1);
             INSERT INTO tokens (name, role, sha256, created_at) VALUES ('alice', 'analyst', 'ab', '2026-11-22T00:00:00Z');",
        )
        .unwrap();
    }
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.version().unwrap(), MIGRATIONS.last().unwrap().0);
    let a = s.alert(1).unwrap().unwrap();
    assert_eq!(a.key.source(), "legacy");
    assert_eq!(a.key.id(), "KDDTest+.txt:12:KDDTest+.txt:12");
    assert_eq!(a.state, AlertState::PendingApproval);
    assert_eq!(a.impact, None);
    let t = s.token_by_hash("ab").unwrap().unwrap();
    assert_eq!(t.person, "alice", "a token's person defaults to its name");
    assert_eq!(s.applied_through().unwrap(), None);
}

#[test]
fn a_version_5_registry_is_migrated_to_the_lifecycle_words_keeping_who_was_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v5.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)",
        )
        .unwrap();
        for (v, _, sql) in &MIGRATIONS[..5] {
            c.execute_batch(sql).unwrap();
            c.execute(
                "INSERT INTO schema_migrations VALUES (?1, 'old', '2026-11-22T00:00:00Z')",
                [v],
            )
            .unwrap();
        }
        let a = format!("sha256:{}", "a".repeat(64));
        let b = format!("sha256:{}", "b".repeat(64));
        for (id, state) in [(&a, "retired"), (&b, "active")] {
            c.execute(
                "INSERT INTO models VALUES (?1, '/m', 's@1', ?2, 'serve', '2026-11-22T00:00:00Z', \
                 'serve', '2026-11-23T00:00:00Z')",
                [id.as_str(), state],
            )
            .unwrap();
        }
        c.execute(
            "INSERT INTO models VALUES (?1, '/m', 's@1', 'registered', 'serve', \
             '2026-11-22T00:00:00Z', 'serve', '2026-11-22T00:00:00Z')",
            [format!("sha256:{}", "c".repeat(64))],
        )
        .unwrap();
    }
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.version().unwrap(), MIGRATIONS.last().unwrap().0);
    let states: Vec<(char, String, bool)> = s
        .models()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m.id.as_str().chars().last().unwrap(),
                m.state.to_string(),
                m.champion_at.is_some(),
            )
        })
        .collect();
    assert_eq!(
        states,
        vec![
            ('a', "retired".into(), false),
            ('b', "champion".into(), true),
            ('c', "candidate".into(), false)
        ]
    );
}

#[test]
fn readers_use_their_own_connections_while_the_writer_is_busy() {
    let (_dir, s) = store();
    let s = std::sync::Arc::new(s);
    let writer = {
        let s = s.clone();
        std::thread::spawn(move || {
            for i in 0..200u32 {
                s.apply(&[Recorded {
                    audit_index: u64::from(i),
                    mutations: vec![Mutation::InsertAlert(Box::new(alert(
                        i,
                        Tier::Analyst,
                        AlertState::Analyst,
                        0.7,
                        &format!("c{i}@1"),
                        true,
                    )))],
                }])
                .unwrap();
            }
        })
    };
    // Reads interleave with writes and always see whole batches: alerts and their decisions
    // arrive together.
    let mut seen = 0;
    while seen < 200 {
        let finished = writer.is_finished();
        let st = s.stats().unwrap();
        assert_eq!(st.alerts, st.decisions, "{st:?}");
        seen = st.alerts;
        assert!(!finished || seen == 200, "the writer stopped at {seen}");
    }
    writer.join().unwrap();
}
