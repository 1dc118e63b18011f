//! Crashing at each step of a write: the test binary runs itself as a child that aborts at a
//! crash point (no destructors, no flushing), then reopens the ledger in the parent and checks
//! that every audited change is in the store, restored from the log where the crash cut it.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use arbiter_core::{Actor, AlertKey, AlertState, ManualClock, Role, Tier};
use arbiter_ledger::{AlertRecord, CrashPoint, DecisionRequest, Ledger, Rules};
use arbiter_store::conformance::alert;
use arbiter_store::{SqliteStore, Store, StoreRead};

fn open(dir: &Path) -> arbiter_ledger::Opened {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.join("arbiter.db")).unwrap());
    let clock = Arc::new(ManualClock::at("2026-12-01T12:00:00Z"));
    Ledger::open(store, &dir.join("audit"), clock).unwrap()
}

fn rec(i: u32) -> AlertRecord {
    AlertRecord {
        alert: alert(
            i,
            Tier::Approve,
            AlertState::PendingApproval,
            0.8,
            "c@1",
            i == 1,
        ),
        entities: vec![],
        second: None,
    }
}

fn key(i: u32) -> AlertKey {
    AlertKey::new("conformance", &format!("a-{i}")).unwrap()
}

fn point(name: &str) -> CrashPoint {
    match name {
        "before_audit" => CrashPoint::BeforeAudit,
        "after_audit" => CrashPoint::AfterAudit,
        "after_store" => CrashPoint::AfterStore,
        other => panic!("unknown crash point {other}"),
    }
}

/// Runs in the child only: writes, then aborts at `LEDGER_CRASH_AT`.
#[test]
#[ignore = "run as a child process by the crash tests"]
fn crash_child() {
    let (Ok(dir), Ok(at), Ok(what)) = (
        std::env::var("LEDGER_DIR"),
        std::env::var("LEDGER_CRASH_AT"),
        std::env::var("LEDGER_WRITE"),
    ) else {
        return;
    };
    let mut l = open(Path::new(&dir)).ledger;
    l.crash_at(Some(point(&at)));
    match what.as_str() {
        "alerts" => {
            l.record_alerts(
                vec![rec(2), rec(3), rec(4)],
                vec![("rate_limiter".into(), "{\"after\":true}".into())],
            )
            .unwrap();
        }
        "decision" => {
            let req = DecisionRequest {
                action: "approve".into(),
                ..Default::default()
            };
            let rules = Rules::default();
            l.decide(1, &req, &Actor::person("ann", Role::Analyst, 1), &rules)
                .unwrap();
        }
        other => panic!("unknown write {other}"),
    }
    unreachable!("the ledger should have aborted at {at}");
}

/// Prepares one stored alert, then runs the child writing `what` and crashing at `at`.
fn crash(what: &str, at: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut l = open(dir.path()).ledger;
        l.record_alerts(vec![rec(1)], vec![]).unwrap();
    }
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["crash_child", "--exact", "--ignored", "--nocapture"])
        .env("LEDGER_DIR", dir.path())
        .env("LEDGER_CRASH_AT", at)
        .env("LEDGER_WRITE", what)
        .output()
        .unwrap();
    assert!(
        !status.status.success(),
        "the child did not crash: {}",
        String::from_utf8_lossy(&status.stdout)
    );
    dir
}

#[test]
fn a_crash_before_the_audit_append_leaves_nothing_to_restore() {
    let dir = crash("alerts", "before_audit");
    let o = open(dir.path());
    assert_eq!(o.ledger.audit().len(), 1);
    assert_eq!(o.reconciled.restored, 0, "{}", o.reconciled);
    let s = o.ledger.store();
    assert!(s.alert_by_key(&key(2)).unwrap().is_none());
    assert_eq!(s.get_state("rate_limiter").unwrap(), None);
}

#[test]
fn a_crash_between_audit_and_store_is_restored_from_the_log_on_reopen() {
    let dir = crash("alerts", "after_audit");
    // Before reopening: the entries are durable, the store lacks them.
    {
        let s = SqliteStore::open(&dir.path().join("arbiter.db")).unwrap();
        assert!(s.alert_by_key(&key(2)).unwrap().is_none());
        assert_eq!(s.applied_through().unwrap(), Some(0));
    }
    let o = open(dir.path());
    assert_eq!(o.ledger.audit().len(), 4);
    assert_eq!(o.reconciled.restored, 3, "{}", o.reconciled);
    assert!(o.reconciled.to_string().contains("restored from the log"));
    let s = o.ledger.store();
    for i in 2..=4 {
        let a = s.alert_by_key(&key(i)).unwrap().expect("restored");
        let d = s.decisions(a.id).unwrap();
        assert_eq!(
            d[0].audit_index,
            u64::from(i - 1),
            "the row points at its entry"
        );
    }
    assert_eq!(
        s.get_state("rate_limiter").unwrap().as_deref(),
        Some("{\"after\":true}"),
        "guard state restored with the decisions that consumed it"
    );
    assert_eq!(o.ledger.check_store().unwrap().missing, vec![]);
}

#[test]
fn a_crash_after_the_store_write_needs_no_repair() {
    let dir = crash("alerts", "after_store");
    let o = open(dir.path());
    assert_eq!(o.reconciled.restored, 0, "{}", o.reconciled);
    assert_eq!(o.ledger.store().stats().unwrap().alerts, 4);
}

#[test]
fn a_human_decision_cut_by_a_crash_is_restored_on_reopen() {
    let dir = crash("decision", "after_audit");
    let o = open(dir.path());
    assert_eq!(o.reconciled.restored, 1, "{}", o.reconciled);
    let s = o.ledger.store();
    let a = s.alert(1).unwrap().unwrap();
    assert_eq!(a.state, AlertState::Approved);
    let d = s.decisions(1).unwrap();
    assert_eq!(d[1].actor.person_name(), Some("ann"));
    assert_eq!(
        d[1].actor.token(),
        Some(1),
        "the token survives the round trip"
    );
}

#[test]
fn a_restored_change_the_store_has_moved_past_is_voided_not_applied() {
    let dir = crash("decision", "after_audit");
    // Meanwhile the alert moved on (as another writer would have moved it).
    {
        let s = SqliteStore::open(&dir.path().join("arbiter.db")).unwrap();
        let m = arbiter_store::Mutation::Transition {
            key: key(1),
            from: AlertState::PendingApproval,
            to: AlertState::Rejected,
            decision: arbiter_store::NewDecision {
                kind: arbiter_core::Decision::Reject,
                actor: Actor::person("bob", Role::Analyst, 2),
                time: chrono::Utc::now(),
                reason_code: Some("model_wrong".into()),
                note: None,
                ms_to_decision: None,
            },
            feedback: None,
        };
        s.apply(&[arbiter_store::Recorded {
            audit_index: 0,
            mutations: vec![m],
        }])
        .unwrap();
    }
    let o = open(dir.path());
    assert_eq!(o.reconciled.voided.len(), 1, "{}", o.reconciled);
    let s = o.ledger.store();
    assert_eq!(s.alert(1).unwrap().unwrap().state, AlertState::Rejected);
    let last = o.ledger.audit().entry(o.ledger.audit().len() - 1).unwrap();
    assert!(
        last.summary.contains("did not take effect"),
        "{}",
        last.summary
    );
    drop(o);
    // The void is on the record: reopening does not try again.
    let again = open(dir.path());
    assert!(again.reconciled.voided.is_empty());
}
