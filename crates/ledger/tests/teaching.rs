//! Human decisions and incident imports leave teaching examples with their provenance, on
//! both store backends, and only through the audit log.

mod common;

use common::{backends, clock, key};

use std::sync::Arc;

use arbiter_core::{Actor, AlertState, Clock, Impact, Label, LabelSource, Role, Tier};
use arbiter_ledger::{AlertRecord, DecisionRequest, ImportedLabel, Ledger, LedgerError, Rules};
use arbiter_store::conformance::{alert, observed};
use arbiter_store::{ExampleRow, MemoryStore, Store, StoreRead};

fn rules() -> Rules {
    Rules {
        reason_codes: vec!["model_wrong".into(), "expected_activity".into()],
        labels: vec!["benign".into(), "dos".into(), "probe".into()],
        features: vec!["src_bytes".into(), "duration".into()],
    }
}

/// Alerts 1–5: 1 open for an analyst, 2 a four-eyes approval (critical impact), 3 closed by
/// the policy, 4 and 5 open.
fn opened(store: Arc<dyn Store>, dir: &std::path::Path) -> Ledger {
    let mut l = Ledger::open(store, &dir.join("audit"), clock())
        .unwrap()
        .ledger;
    let mut recs = Vec::new();
    for (i, tier, state) in [
        (1, Tier::Analyst, AlertState::Analyst),
        (2, Tier::Approve, AlertState::PendingApproval),
        (3, Tier::Auto, AlertState::AutoClosed),
        (4, Tier::Analyst, AlertState::Analyst),
        (5, Tier::Analyst, AlertState::Analyst),
    ] {
        let mut a = alert(i, tier, state, 0.8, &format!("c{i}@1"), true);
        if i == 2 {
            a.impact = Some(Impact::Critical);
        }
        recs.push(AlertRecord {
            alert: a,
            entities: vec![],
            second: None,
        });
    }
    l.record_alerts(recs, vec![]).unwrap();
    // Tokens 1 and 2.
    for (name, person, hash) in [("ann-laptop", "ann", "a"), ("bob-laptop", "bob", "b")] {
        l.create_token(
            name,
            person,
            Role::Analyst,
            &hash.repeat(64),
            &Actor::system("cli/token"),
        )
        .unwrap();
    }
    l
}

fn req(action: &str, label: Option<&str>) -> DecisionRequest {
    DecisionRequest {
        action: action.into(),
        reason_code: Some("model_wrong".into()),
        note: Some("seen it before".into()),
        label: label.map(str::to_string),
        feature: Some("duration".into()),
    }
}

fn id(s: &dyn StoreRead, i: u32) -> i64 {
    s.alert_by_key(&key(i)).unwrap().unwrap().id
}

fn by_alert(rows: &[ExampleRow], i: u32) -> Vec<&ExampleRow> {
    rows.iter().filter(|r| r.example.key == key(i)).collect()
}

#[test]
fn each_kind_of_human_decision_teaches_the_source_it_should() {
    for (name, dir, store) in backends() {
        let mut l = opened(store.clone(), dir.path());
        let ann = Actor::person("ann", Role::Analyst, 1);
        let bob = Actor::person("bob", Role::Analyst, 2);
        let s = store.as_ref();
        // An override with the right label; an override that keeps the model's label.
        l.decide(id(s, 1), &req("override", Some("benign")), &ann, &rules())
            .unwrap();
        l.decide(id(s, 4), &req("override", Some("dos")), &ann, &rules())
            .unwrap();
        // Four eyes: the first approval confirms, the second is a second review.
        l.decide(id(s, 2), &req("approve", None), &ann, &rules())
            .unwrap();
        l.decide(id(s, 2), &req("approve", None), &bob, &rules())
            .unwrap();
        // A human looking at what the policy closed by itself is an audit sample.
        l.decide(id(s, 3), &req("override", Some("probe")), &bob, &rules())
            .unwrap();
        // A rejection without a label teaches nothing.
        l.decide(id(s, 5), &req("reject", None), &bob, &rules())
            .unwrap();

        let rows = s.examples(0, 0).unwrap();
        let sources: Vec<(u32, LabelSource, &str)> = [1, 4, 2, 3]
            .into_iter()
            .flat_map(|i| {
                by_alert(&rows, i)
                    .into_iter()
                    .map(move |r| (i, r.example.source, r.example.label.as_str()))
            })
            .collect();
        assert_eq!(
            sources,
            [
                (1, LabelSource::AnalystOverride, "benign"),
                (4, LabelSource::AnalystConfirm, "dos"),
                (2, LabelSource::AnalystConfirm, "dos"),
                (2, LabelSource::SecondReview, "dos"),
                (3, LabelSource::AuditSample, "probe"),
            ],
            "{name}"
        );
        assert!(by_alert(&rows, 5).is_empty(), "{name}");
        assert_eq!(rows.len(), 5, "{name}");
    }
}

#[test]
fn an_example_carries_who_when_why_the_model_the_package_and_the_features() {
    for (name, dir, store) in backends() {
        let mut l = opened(store.clone(), dir.path());
        let ann = Actor::person("ann", Role::Analyst, 1);
        let a = id(store.as_ref(), 1);
        let o = l
            .decide(a, &req("override", Some("benign")), &ann, &rules())
            .unwrap();
        let rows = store.examples(0, 0).unwrap();
        let r = &rows[0];
        let e = &r.example;
        assert_eq!(
            e.labeller, ann,
            "{name}: the person and the token they used"
        );
        assert_eq!(e.token_name.as_deref(), Some("ann-laptop"), "{name}");
        assert_eq!(e.time, clock().now(), "{name}");
        assert_eq!(e.reason_code.as_deref(), Some("model_wrong"));
        assert_eq!(e.feature.as_deref(), Some("duration"));
        assert_eq!(e.model, store.alert(a).unwrap().unwrap().bundle);
        let package = store.package(a).unwrap().unwrap();
        assert_eq!(
            e.package_sha256,
            arbiter_ledger::teach::package_sha256(&package),
            "{name}"
        );
        assert_eq!(e.package_sha256.as_ref().map(String::len), Some(64));
        assert_eq!(r.features, Some(observed(1)), "{name}");
        assert_eq!(r.model_verdict, Some(arbiter_core::Verdict::Malicious));
        assert_eq!(
            r.audit_index, o.audit_index,
            "{name}: the example is part of the decision's own audit entry"
        );
        let entry = l.audit().entry(o.audit_index).unwrap();
        let record = entry.body["record"].to_string();
        assert!(record.contains("\"op\":\"teach\""), "{name}: {record}");
        assert!(record.contains("analyst_override"), "{name}");
    }
}

fn imported(line: u64, i: u32, label: &str, ticket: &str) -> ImportedLabel {
    ImportedLabel {
        line,
        key: key(i),
        label: Label::new(label).unwrap(),
        ticket: ticket.into(),
        responder: Some("carol".into()),
        time: None,
        reason_code: None,
        note: Some("confirmed by the IR team".into()),
        feature: None,
    }
}

#[test]
fn imported_incident_labels_are_the_trusted_tier_and_importing_twice_adds_nothing() {
    for (name, dir, store) in backends() {
        let mut l = opened(store.clone(), dir.path());
        let cli = Actor::system("cli/teach");
        let labels = [
            imported(2, 1, "benign", "INC-1"),
            imported(3, 4, "dos", "INC-2"),
            imported(4, 4, "dos", "INC-2"),
        ];
        let first = l.import_labels(&labels, "tickets.csv", &cli).unwrap();
        assert_eq!((first.added, first.already), (2, 1), "{name}");
        assert_eq!(first.audit.len(), 1, "{name}");
        let again = l.import_labels(&labels, "tickets.csv", &cli).unwrap();
        assert_eq!((again.added, again.already), (0, 3), "{name}");
        assert!(
            again.audit.is_empty(),
            "{name}: nothing new, nothing written"
        );
        let rows = store.examples(0, 0).unwrap();
        assert_eq!(rows.len(), 2, "{name}");
        for r in &rows {
            assert_eq!(r.example.source, LabelSource::IncidentImport);
            assert!(r.example.source.trusted());
            assert_eq!(r.example.labeller, Actor::system("incident/carol"));
            assert!(r.example.reference.is_some());
            assert_eq!(r.audit_index, first.audit[0]);
        }
        let entry = l.audit().entry(first.audit[0]).unwrap();
        assert_eq!(entry.kind, arbiter_audit::EntryKind::Teaching);
        assert!(entry.summary.contains("tickets.csv"), "{}", entry.summary);
    }
}

#[test]
fn an_import_naming_an_alert_the_store_lacks_imports_nothing_and_names_the_line() {
    for (name, dir, store) in backends() {
        let mut l = opened(store.clone(), dir.path());
        let before = l.audit().len();
        let err = l
            .import_labels(
                &[
                    imported(2, 1, "benign", "INC-1"),
                    imported(3, 99, "dos", "INC-2"),
                ],
                "tickets.csv",
                &Actor::system("cli/teach"),
            )
            .unwrap_err();
        let LedgerError::Refused(r) = &err else {
            panic!("{name}: {err}");
        };
        let text = r.to_string();
        assert!(
            text.contains("line 3") && text.contains("conformance/a-99"),
            "{text}"
        );
        assert!(store.examples(0, 0).unwrap().is_empty(), "{name}");
        assert_eq!(l.audit().len(), before, "{name}: nothing audited");
    }
}

#[test]
fn a_store_rebuilt_from_the_log_has_the_same_teaching_set() {
    let dir = tempfile::tempdir().unwrap();
    let first: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let mut l = opened(first.clone(), dir.path());
    let ann = Actor::person("ann", Role::Analyst, 1);
    l.decide(
        id(first.as_ref(), 1),
        &req("override", Some("benign")),
        &ann,
        &rules(),
    )
    .unwrap();
    l.import_labels(
        &[imported(2, 4, "dos", "INC-9")],
        "t.csv",
        &Actor::system("cli/teach"),
    )
    .unwrap();
    drop(l);
    let fresh: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let opened = Ledger::open(fresh.clone(), &dir.path().join("audit"), clock()).unwrap();
    assert!(opened.reconciled.restored > 0);
    let a = first.examples(0, 0).unwrap();
    let b = fresh.examples(0, 0).unwrap();
    assert_eq!(a, b);
    assert_eq!(b.len(), 2);
    assert!(opened.ledger.check_store().unwrap().missing.is_empty());
}

#[test]
fn only_a_lead_releases_a_quarantined_example_with_a_reason_and_only_once() {
    for (name, dir, store) in backends() {
        let mut l = opened(store.clone(), dir.path());
        let ann = Actor::person("ann", Role::Analyst, 1);
        l.decide(
            id(store.as_ref(), 1),
            &req("override", Some("benign")),
            &ann,
            &rules(),
        )
        .unwrap();
        let ex = store.examples(0, 0).unwrap()[0].id;
        let refused = l.release_example(ex, "looks fine", &ann).unwrap_err();
        assert!(
            refused.to_string().contains("a lead or an admin"),
            "{refused}"
        );
        let lee = Actor::person("lee", Role::Lead, 2);
        let blank = l.release_example(ex, "  ", &lee).unwrap_err();
        assert!(blank.to_string().contains("reason"), "{blank}");
        let at = l
            .release_example(ex, "the ticket confirms a backup job", &lee)
            .unwrap();
        let entry = l.audit().entry(at).unwrap();
        assert_eq!(entry.kind, arbiter_audit::EntryKind::Teaching, "{name}");
        assert!(
            entry
                .summary
                .contains("released from quarantine by lead:lee"),
            "{}",
            entry.summary
        );
        let r = store.examples(0, 0).unwrap()[0].release.clone().unwrap();
        assert_eq!(r.reason, "the ticket confirms a backup job", "{name}");
        let again = l.release_example(ex, "again", &lee).unwrap_err();
        assert!(again.to_string().contains("already released"), "{again}");
        let none = l.release_example(999, "x", &lee).unwrap_err();
        assert!(none.to_string().contains("999"), "{none}");
    }
}
