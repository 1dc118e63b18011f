//! The SQLite store: migrations, idempotent inserts, cases, the queue, decisions and state.

use arbiter_store::{
    CaseUpdate, DecisionRow, FeedbackRow, MIGRATIONS, NewAlert, QueueFilter, SqliteStore, Store,
};

fn decision(tier: &str) -> DecisionRow {
    DecisionRow {
        alert: 0,
        kind: "suggested".into(),
        tier: tier.into(),
        action: Some("close_alert".into()),
        reasons: r#"[{"code":"band_auto","text":"…"}]"#.into(),
        actor: "arbiter/policy".into(),
        time: "2026-11-22T00:00:00Z".into(),
        audit_index: Some(7),
        reason_code: None,
        note: None,
        ms_to_decision: None,
    }
}

fn alert(line: u64, tier: &str, state: &str, risk: f64, case: (&str, bool)) -> NewAlert {
    NewAlert {
        key: format!("test.csv:{line}:a{line}"),
        alert_id: format!("a{line}"),
        source_file: "test.csv".into(),
        source_line: line,
        time: Some(format!("2026-11-22T00:00:{:02}Z", line % 60)),
        received_at: "2026-11-22T01:00:00Z".into(),
        bundle: Some("sha256:x".into()),
        p_malicious: Some(risk),
        verdict: Some(if risk >= 0.5 { "malicious" } else { "benign" }.into()),
        category: Some("dos".into()),
        flags: if risk > 0.4 && risk < 0.6 {
            vec!["low_confidence".into()]
        } else {
            vec![]
        },
        risk,
        impact: Some("none".into()),
        reversible: Some(true),
        blast_radius: Some("one alert".into()),
        package: Some(r#"{"schema_version":"1.0","alert_id":"x"}"#.into()),
        decision: decision(tier),
        state: state.into(),
        case: CaseUpdate {
            key: case.0.into(),
            opens: case.1,
            new_pattern: case.1,
        },
    }
}

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
    let err = SqliteStore::open(&path).unwrap_err().to_string();
    assert!(err.contains("999") && err.contains("arbiter.db"), "{err}");
}

#[test]
fn inserting_the_same_alerts_twice_stores_them_once() {
    let (_d, mut s) = store();
    let batch = vec![
        alert(1, "auto", "auto_closed", 0.01, ("k1", true)),
        alert(2, "analyst", "analyst", 0.7, ("k2", true)),
    ];
    assert_eq!(s.insert_alerts(&batch).unwrap(), 2);
    assert_eq!(s.insert_alerts(&batch).unwrap(), 0);
    assert_eq!(s.stats().unwrap().alerts, 2);
    assert_eq!(s.stats().unwrap().decisions, 2);
    let keys: Vec<String> = batch.iter().map(|a| a.key.clone()).collect();
    assert_eq!(s.existing_keys(&keys).unwrap(), keys);
}

#[test]
fn alerts_in_the_same_window_join_one_case_with_a_count() {
    let (_d, mut s) = store();
    s.insert_alerts(&[
        alert(1, "analyst", "analyst", 0.7, ("dos|web-1", true)),
        alert(2, "analyst", "analyst", 0.7, ("dos|web-1", false)),
        alert(3, "analyst", "analyst", 0.7, ("dos|web-1", false)),
        alert(4, "analyst", "analyst", 0.7, ("dos|web-1", true)),
    ])
    .unwrap();
    let st = s.stats().unwrap();
    assert_eq!(st.cases, 2, "a new window opens a second case");
    let a = s.alert(3).unwrap().unwrap();
    assert_eq!(a.case_key, "dos|web-1");
}

#[test]
fn the_queue_holds_only_alerts_awaiting_a_human_riskiest_first_and_filters() {
    let (_d, mut s) = store();
    s.insert_alerts(&[
        alert(1, "auto", "auto_closed", 0.001, ("a", true)),
        alert(2, "analyst", "analyst", 0.55, ("b", true)),
        alert(3, "approve", "pending_approval", 0.95, ("c", true)),
        alert(4, "analyst", "analyst", 0.30, ("d", true)),
    ])
    .unwrap();
    let q = s.queue(&QueueFilter::default()).unwrap();
    let ids: Vec<&str> = q.iter().map(|a| a.alert_id.as_str()).collect();
    assert_eq!(ids, ["a3", "a2", "a4"]);
    let flagged = s
        .queue(&QueueFilter {
            flag: Some("low_confidence".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(flagged.len(), 1);
    assert_eq!(flagged[0].flags, ["low_confidence"]);
    let approve = s
        .queue(&QueueFilter {
            tier: Some("approve".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(approve.len(), 1);
}

#[test]
fn a_human_decision_moves_the_alert_and_keeps_the_history() {
    let (_d, mut s) = store();
    s.insert_alerts(&[alert(1, "approve", "pending_approval", 0.9, ("a", true))])
        .unwrap();
    let mut d = decision("approve");
    d.alert = 1;
    d.kind = "override".into();
    d.actor = "analyst:alice".into();
    d.reason_code = Some("expected_activity".into());
    let fb = FeedbackRow {
        alert: 1,
        actor: "analyst:alice".into(),
        time: "2026-11-22T02:00:00Z".into(),
        label: Some("benign".into()),
        reason_code: "expected_activity".into(),
        note: None,
        feature: None,
        audit_index: Some(8),
    };
    d.ms_to_decision = Some(3_600_000);
    s.record_decision(&d, "resolved", Some(&fb)).unwrap();
    assert_eq!(s.alert(1).unwrap().unwrap().state, "resolved");
    let history = s.decisions(1).unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1].reason_code.as_deref(), Some("expected_activity"));
    assert_eq!(history[1].ms_to_decision, Some(3_600_000));
    assert_eq!(s.feedback(1).unwrap(), vec![fb]);
    assert_eq!(s.alert(1).unwrap().unwrap().impact.as_deref(), Some("none"));
    assert!(s.queue(&QueueFilter::default()).unwrap().is_empty());
    let missing = s.record_decision(
        &DecisionRow {
            alert: 42,
            ..decision("approve")
        },
        "resolved",
        None,
    );
    assert!(missing.unwrap_err().to_string().contains("42"));
}

#[test]
fn feedback_and_named_state_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("arbiter.db");
    {
        let mut s = SqliteStore::open(&path).unwrap();
        s.insert_alerts(&[alert(1, "analyst", "analyst", 0.7, ("a", true))])
            .unwrap();
        s.record_feedback(&FeedbackRow {
            alert: 1,
            actor: "analyst:bob".into(),
            time: "2026-11-22T02:00:00Z".into(),
            label: Some("benign".into()),
            reason_code: "known_application".into(),
            note: Some("backup job".into()),
            feature: Some("bytes_out".into()),
            audit_index: Some(3),
        })
        .unwrap();
        s.put_state("rate_limits", r#"{"close_alert":1}"#).unwrap();
        s.put_state("rate_limits", r#"{"close_alert":2}"#).unwrap();
    }
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.stats().unwrap().feedback, 1);
    assert_eq!(
        s.get_state("rate_limits").unwrap().as_deref(),
        Some(r#"{"close_alert":2}"#)
    );
    assert_eq!(s.get_state("absent").unwrap(), None);
    assert!(s.package(1).unwrap().unwrap().contains("schema_version"));
}

#[test]
fn tokens_are_found_by_hash_only_while_live() {
    use arbiter_store::Tokens;
    let (_d, mut s) = store();
    let id = s
        .create_token("alice", "analyst", "ab12", "2026-12-01T00:00:00Z")
        .unwrap();
    assert_eq!(s.token_by_hash("ab12").unwrap().unwrap().name, "alice");
    assert!(s.token_by_hash("cd34").unwrap().is_none());
    assert!(
        s.create_token("bob", "viewer", "ab12", "t").is_err(),
        "hashes are unique"
    );
    assert!(s.revoke_token(id, "2026-12-01T01:00:00Z").unwrap());
    assert!(!s.revoke_token(id, "2026-12-01T02:00:00Z").unwrap());
    assert!(s.token_by_hash("ab12").unwrap().is_none());
    assert_eq!(
        s.tokens().unwrap()[0].revoked_at.as_deref(),
        Some("2026-12-01T01:00:00Z")
    );
}

#[test]
fn a_version_1_database_is_migrated_in_place_keeping_its_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)",
        )
        .unwrap();
        c.execute_batch(MIGRATIONS[0].2).unwrap();
        c.execute(
            "INSERT INTO schema_migrations VALUES (1, 'v1', '2026-11-22T00:00:00Z')",
            [],
        )
        .unwrap();
        c.execute_batch(
            "INSERT INTO cases (key, opened_at, last_seen, count, new_pattern) VALUES ('c', 't', 't', 1, 0);
             INSERT INTO alerts (key, alert_id, source_file, source_line, received_at, flags, risk, tier, state, case_id)
             VALUES ('k', 'a1', 'f', 1, 't', '[]', 0.7, 'approve', 'pending_approval', 1);",
        )
        .unwrap();
    }
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.version().unwrap(), MIGRATIONS.last().unwrap().0);
    let a = s.alert(1).unwrap().unwrap();
    assert_eq!(a.alert_id, "a1");
    assert_eq!(a.impact, None);
}
