//! The ledger end to end on both store backends: audit first, then store, one failure story.

mod common;

use common::{backends, clock, key};

use std::sync::Arc;

use arbiter_core::{Actor, AlertState, Role, Tier};
use arbiter_ledger::{AlertRecord, DecisionRequest, Ledger, LedgerError, Refusal, Rules};
use arbiter_store::conformance::alert;
use arbiter_store::{MemoryStore, Store, StoreRead};

fn rules() -> Rules {
    Rules {
        reason_codes: vec!["model_wrong".into()],
        labels: vec!["benign".into(), "dos".into()],
        features: vec!["src_bytes".into()],
    }
}

fn rec(i: u32, tier: Tier, state: AlertState) -> AlertRecord {
    AlertRecord {
        alert: alert(i, tier, state, 0.8, &format!("c{i}@1"), true),
        entities: vec![format!("host:ws-{i}")],
        second: None,
    }
}

#[test]
fn every_decided_alert_is_one_audit_entry_then_one_stored_row() {
    for (name, dir, store) in backends() {
        let mut l = Ledger::open(store.clone(), &dir.path().join("audit"), clock())
            .unwrap()
            .ledger;
        let out = l
            .record_alerts(
                vec![
                    rec(1, Tier::Approve, AlertState::PendingApproval),
                    rec(2, Tier::Analyst, AlertState::Analyst),
                    rec(1, Tier::Approve, AlertState::PendingApproval),
                ],
                vec![("rate_limiter".into(), "{\"b\":1}".into())],
            )
            .unwrap();
        assert_eq!(out.len(), 3, "{name}");
        assert!(out[0].new && out[1].new && !out[2].new, "{name}: {out:?}");
        assert_eq!(
            out[2].id, out[0].id,
            "a repeat in the batch is the same alert"
        );
        assert_eq!(l.audit().len(), 2, "{name}: one entry per new alert");
        for o in &out[..2] {
            let d = store.decisions(o.id).unwrap();
            assert_eq!(Some(d[0].audit_index), o.audit_index, "{name}");
            let e = l.audit().entry(o.audit_index.unwrap()).unwrap();
            assert!(
                e.entities.contains(&o.key.entity()),
                "{name}: {:?}",
                e.entities
            );
            assert!(e.body["record"].is_array(), "{name}");
        }
        assert_eq!(
            store.get_state("rate_limiter").unwrap().as_deref(),
            Some("{\"b\":1}"),
            "{name}: guard state in the same transaction"
        );
        assert_eq!(store.applied_through().unwrap(), Some(1), "{name}");
        // Resubmitting writes nothing.
        let again = l
            .record_alerts(vec![rec(2, Tier::Analyst, AlertState::Analyst)], vec![])
            .unwrap();
        assert!(!again[0].new);
        assert_eq!(l.audit().len(), 2);
    }
}

#[test]
fn a_human_decision_is_audited_then_moves_the_alert_once() {
    for (name, dir, store) in backends() {
        let mut l = Ledger::open(store.clone(), &dir.path().join("audit"), clock())
            .unwrap()
            .ledger;
        let id = l
            .record_alerts(
                vec![rec(1, Tier::Approve, AlertState::PendingApproval)],
                vec![],
            )
            .unwrap()[0]
            .id;
        let ann = Actor::person("ann", Role::Analyst, 1);
        let req = DecisionRequest {
            action: "reject".into(),
            reason_code: Some("model_wrong".into()),
            note: Some("a backup job".into()),
            label: Some("benign".into()),
            ..Default::default()
        };
        let o = l.decide(id, &req, &ann, &rules()).unwrap();
        assert_eq!(o.state, AlertState::Rejected, "{name}");
        let e = l.audit().entry(o.audit_index).unwrap();
        assert_eq!(e.actor, "analyst:ann");
        assert!(
            e.entities.contains(&"person:ann".to_string()),
            "{:?}",
            e.entities
        );
        let a = store.alert(id).unwrap().unwrap();
        assert_eq!(a.state, AlertState::Rejected);
        let f = store.feedback(id).unwrap();
        assert_eq!(f[0].label.as_deref(), Some("benign"));
        assert_eq!(f[0].audit_index, o.audit_index);
        // The same request again conflicts with the new state: refused before any entry.
        let before = l.audit().len();
        match l.decide(id, &req, &ann, &rules()) {
            Err(LedgerError::Refused(Refusal::Conflict(m))) => assert!(m.contains("rejected")),
            other => panic!("{name}: {other:?}"),
        }
        assert_eq!(l.audit().len(), before);
    }
}

#[test]
fn tokens_policies_and_models_are_recorded_and_stored() {
    for (name, dir, store) in backends() {
        let mut l = Ledger::open(store.clone(), &dir.path().join("audit"), clock())
            .unwrap()
            .ledger;
        let root = Actor::system("cli/token");
        let (id, at) = l
            .create_token("ann-laptop", "ann", Role::Analyst, &"ab".repeat(32), &root)
            .unwrap();
        assert_eq!(store.token(id).unwrap().unwrap().person, "ann", "{name}");
        let e = l.audit().entry(at).unwrap();
        assert!(e.entities.contains(&"person:ann".to_string()));
        assert!(
            !e.summary.contains(&"ab".repeat(32)),
            "no hash in the summary"
        );
        assert!(l.revoke_token(id, &root).unwrap().0);
        assert!(!l.revoke_token(id, &root).unwrap().0);
        assert!(matches!(
            l.revoke_token(99, &root),
            Err(LedgerError::NoSuchToken(99))
        ));
        l.record_policy("version: 1", "cafe", "p.yaml", &root)
            .unwrap();
        assert_eq!(
            store
                .get_state(arbiter_ledger::POLICY_STATE)
                .unwrap()
                .as_deref(),
            Some("cafe")
        );
        let m = arbiter_core::ModelId::new(&format!("sha256:{}", "1".repeat(64))).unwrap();
        l.register_model(&m, "/models/1", "nsl-kdd@1", None, &root)
            .unwrap();
        assert!(l.activate_model(&m, &root).unwrap().is_some());
        assert!(
            l.activate_model(&m, &root).unwrap().is_none(),
            "already active"
        );
    }
}

#[test]
fn a_fresh_store_is_rebuilt_from_the_audit_log() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit");
    {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let mut l = Ledger::open(store, &audit, clock()).unwrap().ledger;
        l.record_alerts(
            (1..=5)
                .map(|i| rec(i, Tier::Analyst, AlertState::Analyst))
                .collect(),
            vec![("rate_limiter".into(), "{}".into())],
        )
        .unwrap();
        let ann = Actor::person("ann", Role::Analyst, 1);
        let req = DecisionRequest {
            action: "override".into(),
            reason_code: Some("model_wrong".into()),
            note: Some("scanner".into()),
            ..Default::default()
        };
        l.decide(3, &req, &ann, &rules()).unwrap();
    }
    // The database is gone; the log is the record.
    let store = Arc::new(MemoryStore::new());
    let opened = Ledger::open(store.clone(), &audit, clock()).unwrap();
    assert_eq!(opened.reconciled.restored, 6, "{}", opened.reconciled);
    assert_eq!(store.stats().unwrap().alerts, 5);
    let a3 = store.alert_by_key(&key(3)).unwrap().unwrap();
    assert_eq!(a3.state, AlertState::Overridden);
    assert_eq!(store.decisions(a3.id).unwrap().len(), 2);
    assert_eq!(
        store.get_state("rate_limiter").unwrap().as_deref(),
        Some("{}")
    );
    drop(opened);
    // Reopening again finds nothing missing.
    let again = Ledger::open(store, &audit, clock()).unwrap();
    assert_eq!(again.reconciled.restored, 0);
    assert_eq!(again.ledger.check_store().unwrap().missing, vec![]);
}

#[test]
fn the_same_inputs_on_the_same_clock_give_byte_identical_audit_entries() {
    let run = || {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let c = clock();
        let mut l = Ledger::open(store, &dir.path().join("audit"), c.clone())
            .unwrap()
            .ledger;
        l.record_policy("version: 1", "cafe", "p.yaml", &Actor::system("serve"))
            .unwrap();
        l.record_alerts(
            (1..=4)
                .map(|i| rec(i, Tier::Approve, AlertState::PendingApproval))
                .collect(),
            vec![],
        )
        .unwrap();
        c.advance_ms(65_000);
        let req = DecisionRequest {
            action: "approve".into(),
            ..Default::default()
        };
        l.decide(2, &req, &Actor::person("ann", Role::Analyst, 1), &rules())
            .unwrap();
        drop(l);
        std::fs::read(dir.path().join("audit/entries.log")).unwrap()
    };
    let (a, b) = (run(), run());
    assert!(a.len() > 1000);
    assert_eq!(a, b);
}
