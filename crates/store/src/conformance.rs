//! The store contract as tests: every backend must pass every check here. A backend's test
//! file calls [`crate::conformance_suite!`] with an expression that makes a fresh, empty
//! store; each check then runs as its own test named after the rule it checks.
//!
//! ```ignore
//! arbiter_store::conformance_suite!(sqlite, {
//!     let dir = tempfile::tempdir().unwrap();
//!     let s = arbiter_store::SqliteStore::open(&dir.path().join("a.db")).unwrap();
//!     (dir, s)
//! });
//! ```

use arbiter_core::{
    Actor, AlertKey, AlertState, Decision, Flag, Impact, ModelId, Reason, Role, Tier, Verdict,
};
use chrono::{DateTime, TimeZone, Utc};

use crate::{
    Applied, CaseUpdate, Mutation, NewAlert, NewDecision, NewFeedback, NewToken, QueueFilter,
    Recorded, Store, StoreError,
};

/// Generates one `#[test]` per check for the backend `make` builds. `make` may return the
/// store or a `(guard, store)` pair whose guard (a temporary directory) lives as long as the
/// test.
#[macro_export]
macro_rules! conformance_suite {
    ($backend:ident, $make:expr) => {
        mod $backend {
            #[allow(unused_imports)]
            use super::*;
            $crate::conformance_suite!(@checks $make;
                an_inserted_alert_reads_back_with_its_package_decision_and_case,
                inserting_a_stored_key_again_changes_nothing,
                existing_keys_names_exactly_the_stored_ones,
                the_queue_holds_open_alerts_riskiest_and_most_uncertain_first,
                the_queue_filters_by_tier_state_category_flag_and_pattern,
                a_transition_from_the_current_state_records_decision_and_feedback,
                a_transition_from_a_state_the_alert_left_fails_and_changes_nothing,
                a_transition_the_lifecycle_forbids_is_refused,
                a_transition_on_an_unknown_key_names_the_key,
                a_failing_batch_applies_nothing_not_even_state,
                the_applied_mark_follows_the_highest_audit_index_and_never_goes_back,
                alerts_of_one_case_share_it_and_count,
                tokens_are_found_by_hash_until_revoked,
                a_token_hash_cannot_be_stored_twice,
                a_new_champion_retires_the_one_before_and_says_when,
                a_model_state_change_from_a_stale_state_fails,
                a_second_challenger_is_refused_while_one_runs,
                a_promotion_request_is_cleared_by_any_state_change,
                gate_reports_read_back_per_candidate,
                a_second_opinion_reads_back_beside_the_acted_decision,
                the_canary_tally_counts_reviews_and_overrides_of_its_own_decisions,
                stats_count_alerts_by_tier_and_state,
                replaying_the_same_batches_gives_the_same_ids,
                an_example_reads_back_with_its_provenance_verdict_and_features,
                an_example_on_an_unknown_key_is_refused_and_nothing_is_applied,
                an_example_with_a_stored_source_and_reference_is_stored_once,
                examples_are_read_in_pages_oldest_first,
                a_released_example_says_who_released_it_and_why_once,
            );
        }
    };
    (@checks $make:expr; $($check:ident),+ $(,)?) => {
        $(
            #[test]
            fn $check() {
                #[allow(unused_variables)]
                let made = $make;
                $crate::conformance::$check($crate::conformance::Made::store(&made));
            }
        )+
    };
}

mod registry;
mod teaching;
pub use registry::*;
pub use teaching::*;

/// What `make` returns: a store, or a guard and a store.
pub trait Made {
    fn store(&self) -> &dyn Store;
}

impl<S: Store> Made for S {
    fn store(&self) -> &dyn Store {
        self
    }
}

impl<G, S: Store> Made for (G, S) {
    fn store(&self) -> &dyn Store {
        &self.1
    }
}

pub(crate) fn t(s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap() + chrono::Duration::seconds(s.into())
}

pub(crate) fn key(i: u32) -> AlertKey {
    AlertKey::new("conformance", &format!("a-{i}")).unwrap()
}

/// An alert decided by the policy: `risk` is also p, flagged when close to 0.5.
pub fn alert(
    i: u32,
    tier: Tier,
    state: AlertState,
    risk: f64,
    case: &str,
    opens: bool,
) -> NewAlert {
    NewAlert {
        key: key(i),
        source_file: "conformance.ndjson".into(),
        source_line: u64::from(i),
        time: Some(t(i).to_rfc3339()),
        received_at: t(i),
        bundle: Some(ModelId::new(&format!("sha256:{}", "0".repeat(64))).unwrap()),
        p_malicious: Some(risk),
        verdict: Some(if risk >= 0.5 {
            Verdict::Malicious
        } else {
            Verdict::Benign
        }),
        category: Some(if risk >= 0.5 { "dos" } else { "benign" }.into()),
        flags: if (0.4..0.6).contains(&risk) {
            vec![Flag::LowConfidence]
        } else {
            vec![]
        },
        risk,
        tier,
        action: Some("isolate_host".into()),
        impact: Some(Impact::High),
        reversible: Some(true),
        blast_radius: Some("one host".into()),
        reasons: vec![Reason::new("band_approve", "p in the approve band")],
        package: Some(arbiter_core::EvidencePackage::verdict_only(
            &key(i).to_string(),
            if risk >= 0.5 {
                Verdict::Malicious
            } else {
                Verdict::Benign
            },
            risk,
            Some("dos"),
            vec![],
        )),
        state,
        case: CaseUpdate {
            key: case.into(),
            opens,
            new_pattern: opens,
        },
        features: Some(observed(i)),
    }
}

/// The features alert `i` was scored on: a number, a symbol and a missing value.
pub fn observed(i: u32) -> arbiter_core::Observed {
    use arbiter_core::FieldValue;
    [
        ("duration".to_string(), FieldValue::Number(f64::from(i))),
        ("protocol".to_string(), FieldValue::Text("tcp".into())),
        ("src_bytes".to_string(), FieldValue::Missing),
    ]
    .into_iter()
    .collect()
}

pub(crate) fn insert(i: u64, a: NewAlert) -> Recorded {
    Recorded {
        audit_index: i,
        mutations: vec![Mutation::InsertAlert(Box::new(a))],
    }
}

pub(crate) fn analyst(name: &str) -> Actor {
    Actor::person(name, Role::Analyst, 3)
}

pub(crate) fn transition(
    k: AlertKey,
    from: AlertState,
    to: AlertState,
    kind: Decision,
) -> Mutation {
    Mutation::Transition {
        key: k,
        from,
        to,
        decision: NewDecision {
            kind,
            actor: analyst("alice"),
            time: t(100),
            reason_code: Some("model_wrong".into()),
            note: Some("benign backup job".into()),
            ms_to_decision: Some(99_000),
        },
        feedback: Some(NewFeedback {
            label: Some("benign".into()),
            reason_code: "model_wrong".into(),
            note: Some("benign backup job".into()),
            feature: Some("src_bytes".into()),
        }),
    }
}

fn open_alerts(s: &dyn Store) {
    // a-5 opens a case for a pattern seen before (a new window, not a new pattern).
    let mut a5 = alert(5, Tier::Analyst, AlertState::Analyst, 0.5, "c5@1", true);
    a5.case.new_pattern = false;
    let batch = vec![
        insert(
            1,
            alert(
                1,
                Tier::Approve,
                AlertState::PendingApproval,
                0.8,
                "c1@1",
                true,
            ),
        ),
        insert(
            2,
            alert(2, Tier::Analyst, AlertState::Analyst, 0.55, "c2@1", true),
        ),
        insert(
            3,
            alert(3, Tier::Auto, AlertState::AutoClosed, 0.01, "c3@1", true),
        ),
        insert(
            4,
            alert(4, Tier::Abstain, AlertState::Abstained, 0.9, "c1@1", false),
        ),
        insert(5, a5),
    ];
    s.apply(&batch).unwrap();
}

pub fn an_inserted_alert_reads_back_with_its_package_decision_and_case(s: &dyn Store) {
    let a = alert(
        1,
        Tier::Approve,
        AlertState::PendingApproval,
        0.8,
        "c1@1",
        true,
    );
    let applied = s.apply(&[insert(7, a.clone())]).unwrap();
    let Applied::Alert { id, inserted: true } = applied[0] else {
        panic!("not inserted: {applied:?}");
    };
    let row = s.alert(id).unwrap().expect("stored");
    assert_eq!(row.key, a.key);
    assert_eq!(row.state, AlertState::PendingApproval);
    assert_eq!(row.tier, Tier::Approve);
    assert_eq!(row.received_at, a.received_at);
    assert_eq!(row.bundle, a.bundle);
    assert_eq!(row.verdict, Some(Verdict::Malicious));
    assert_eq!(row.impact, Some(Impact::High));
    assert_eq!(row.case_key, "c1@1");
    assert!(row.new_pattern);
    assert_eq!(s.alert_by_key(&a.key).unwrap(), Some(row));
    let p = s.package(id).unwrap().expect("the package is stored");
    assert_eq!(Some(p), a.package);
    let d = s.decisions(id).unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].kind, Decision::Suggested);
    assert_eq!(d[0].actor, Actor::Policy);
    assert_eq!(d[0].audit_index, 7);
    assert_eq!(d[0].reasons, a.reasons);
    assert_eq!(d[0].time, a.received_at);
    assert!(s.alert(id + 100).unwrap().is_none());
}

pub fn inserting_a_stored_key_again_changes_nothing(s: &dyn Store) {
    let a = alert(
        1,
        Tier::Approve,
        AlertState::PendingApproval,
        0.8,
        "c1@1",
        true,
    );
    s.apply(&[insert(1, a.clone())]).unwrap();
    let mut again = a;
    again.risk = 0.1;
    let applied = s.apply(&[insert(2, again)]).unwrap();
    assert!(matches!(
        applied[0],
        Applied::Alert {
            inserted: false,
            ..
        }
    ));
    let st = s.stats().unwrap();
    assert_eq!((st.alerts, st.decisions, st.cases), (1, 1, 1));
    assert_eq!(s.alert_by_key(&key(1)).unwrap().unwrap().risk, 0.8);
}

pub fn existing_keys_names_exactly_the_stored_ones(s: &dyn Store) {
    open_alerts(s);
    let asked = vec![key(1), key(42), key(3)];
    let mut found = s.existing_keys(&asked).unwrap();
    found.sort();
    assert_eq!(found, vec![key(1), key(3)]);
}

pub fn the_queue_holds_open_alerts_riskiest_and_most_uncertain_first(s: &dyn Store) {
    open_alerts(s);
    let q = s.queue(&QueueFilter::default()).unwrap();
    let ids: Vec<String> = q.iter().map(|a| a.key.id().to_string()).collect();
    // 0.9, 0.8, then 0.55 and 0.5 (both flagged): risk first; the auto-closed one is absent.
    assert_eq!(ids, vec!["a-4", "a-1", "a-2", "a-5"]);
    let limited = s
        .queue(&QueueFilter {
            limit: 2,
            ..QueueFilter::default()
        })
        .unwrap();
    assert_eq!(limited.len(), 2);
}

pub fn the_queue_filters_by_tier_state_category_flag_and_pattern(s: &dyn Store) {
    open_alerts(s);
    let ids = |f: QueueFilter| -> Vec<String> {
        let mut v: Vec<String> = s
            .queue(&f)
            .unwrap()
            .iter()
            .map(|a| a.key.id().to_string())
            .collect();
        v.sort();
        v
    };
    let any = QueueFilter::default();
    assert_eq!(
        ids(QueueFilter {
            tier: Some(Tier::Analyst),
            ..any.clone()
        }),
        vec!["a-2", "a-5"]
    );
    assert_eq!(
        ids(QueueFilter {
            state: Some(AlertState::AutoClosed),
            ..any.clone()
        }),
        vec!["a-3"]
    );
    assert_eq!(
        ids(QueueFilter {
            category: Some("dos".into()),
            ..any.clone()
        }),
        vec!["a-1", "a-2", "a-4", "a-5"]
    );
    assert_eq!(
        ids(QueueFilter {
            flag: Some(Flag::LowConfidence),
            ..any.clone()
        }),
        vec!["a-2", "a-5"]
    );
    assert_eq!(
        ids(QueueFilter {
            new_pattern: Some(false),
            ..any.clone()
        }),
        vec!["a-5"]
    );
    for a in s.queue(&any).unwrap() {
        assert!(
            any.admits(&a),
            "the backend's queue and QueueFilter::admits disagree"
        );
    }
}

pub fn a_transition_from_the_current_state_records_decision_and_feedback(s: &dyn Store) {
    open_alerts(s);
    let m = transition(
        key(1),
        AlertState::PendingApproval,
        AlertState::Overridden,
        Decision::Override,
    );
    let applied = s
        .apply(&[Recorded {
            audit_index: 9,
            mutations: vec![m],
        }])
        .unwrap();
    let Applied::Decision { alert } = applied[0] else {
        panic!("{applied:?}");
    };
    assert_eq!(
        s.alert(alert).unwrap().unwrap().state,
        AlertState::Overridden
    );
    let d = s.decisions(alert).unwrap();
    assert_eq!(d.len(), 2);
    let human = &d[1];
    assert_eq!(human.kind, Decision::Override);
    assert_eq!(
        human.actor,
        analyst("alice"),
        "the token comes back with the actor"
    );
    assert_eq!(human.audit_index, 9);
    assert_eq!(human.tier, Tier::Approve);
    assert_eq!(human.action.as_deref(), Some("isolate_host"));
    assert_eq!(human.ms_to_decision, Some(99_000));
    let f = s.feedback(alert).unwrap();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].label.as_deref(), Some("benign"));
    assert_eq!(f[0].feature.as_deref(), Some("src_bytes"));
    assert_eq!(f[0].audit_index, 9);
    assert_eq!(f[0].actor.person_name(), Some("alice"));
}

pub fn a_transition_from_a_state_the_alert_left_fails_and_changes_nothing(s: &dyn Store) {
    open_alerts(s);
    let first = transition(
        key(1),
        AlertState::PendingApproval,
        AlertState::Approved,
        Decision::Approve,
    );
    s.apply(&[Recorded {
        audit_index: 9,
        mutations: vec![first.clone()],
    }])
    .unwrap();
    // A second approval decided on the state the alert had before the first.
    let e = s
        .apply(&[Recorded {
            audit_index: 10,
            mutations: vec![first],
        }])
        .unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::StaleState {
                expected: AlertState::PendingApproval,
                found: AlertState::Approved,
                ..
            }
        ),
        "{e}"
    );
    let id = s.alert_by_key(&key(1)).unwrap().unwrap().id;
    assert_eq!(s.decisions(id).unwrap().len(), 2);
    assert_eq!(s.feedback(id).unwrap().len(), 1);
    assert_eq!(s.applied_through().unwrap(), Some(9));
}

pub fn a_transition_the_lifecycle_forbids_is_refused(s: &dyn Store) {
    open_alerts(s);
    let m = transition(
        key(3),
        AlertState::AutoClosed,
        AlertState::Approved,
        Decision::Approve,
    );
    let e = s
        .apply(&[Recorded {
            audit_index: 9,
            mutations: vec![m],
        }])
        .unwrap_err();
    assert!(matches!(e, StoreError::InvalidTransition { .. }), "{e}");
}

pub fn a_transition_on_an_unknown_key_names_the_key(s: &dyn Store) {
    let m = transition(
        key(77),
        AlertState::Analyst,
        AlertState::Rejected,
        Decision::Reject,
    );
    let e = s
        .apply(&[Recorded {
            audit_index: 1,
            mutations: vec![m],
        }])
        .unwrap_err();
    assert!(e.to_string().contains("conformance/a-77"), "{e}");
}

pub fn a_failing_batch_applies_nothing_not_even_state(s: &dyn Store) {
    open_alerts(s);
    let before = s.stats().unwrap();
    let batch = vec![
        insert(
            20,
            alert(20, Tier::Analyst, AlertState::Analyst, 0.7, "c1@1", false),
        ),
        Recorded {
            audit_index: 21,
            mutations: vec![
                Mutation::PutState {
                    name: "rate_limiter".into(),
                    value: "{}".into(),
                },
                transition(
                    key(1),
                    AlertState::PendingApproval,
                    AlertState::Rejected,
                    Decision::Reject,
                ),
            ],
        },
        Recorded {
            audit_index: 22,
            mutations: vec![transition(
                key(3),
                AlertState::Analyst,
                AlertState::Rejected,
                Decision::Reject,
            )],
        },
    ];
    assert!(s.apply(&batch).is_err());
    assert_eq!(s.stats().unwrap(), before);
    assert!(s.alert_by_key(&key(20)).unwrap().is_none());
    assert_eq!(s.get_state("rate_limiter").unwrap(), None);
    assert_eq!(
        s.alert_by_key(&key(1)).unwrap().unwrap().state,
        AlertState::PendingApproval
    );
    assert_eq!(s.applied_through().unwrap(), Some(5));
    let cases = s.cases().unwrap();
    assert_eq!(cases.iter().find(|c| c.key == "c1@1").unwrap().count, 2);
}

pub fn the_applied_mark_follows_the_highest_audit_index_and_never_goes_back(s: &dyn Store) {
    assert_eq!(s.applied_through().unwrap(), None);
    let put = |i: u64| Recorded {
        audit_index: i,
        mutations: vec![Mutation::PutState {
            name: "x".into(),
            value: i.to_string(),
        }],
    };
    s.apply(&[put(3), put(8)]).unwrap();
    assert_eq!(s.applied_through().unwrap(), Some(8));
    assert_eq!(s.get_state("x").unwrap().as_deref(), Some("8"));
    s.mark_applied(5).unwrap();
    assert_eq!(s.applied_through().unwrap(), Some(8));
    s.mark_applied(12).unwrap();
    assert_eq!(s.applied_through().unwrap(), Some(12));
}

pub fn alerts_of_one_case_share_it_and_count(s: &dyn Store) {
    open_alerts(s);
    s.apply(&[insert(
        6,
        alert(6, Tier::Analyst, AlertState::Analyst, 0.7, "c1@1", false),
    )])
    .unwrap();
    let cases = s.cases().unwrap();
    assert_eq!(cases.len(), 4);
    let c1 = cases.iter().find(|c| c.key == "c1@1").unwrap();
    assert_eq!(c1.count, 3);
    assert!(c1.new_pattern);
    let a6 = s.alert_by_key(&key(6)).unwrap().unwrap();
    assert_eq!(a6.case_key, "c1@1");
    assert!(a6.new_pattern, "an alert shows its case's pattern flag");
    // A new window of the same pattern is a new case.
    s.apply(&[insert(
        7,
        alert(7, Tier::Analyst, AlertState::Analyst, 0.7, "c1@1", true),
    )])
    .unwrap();
    assert_eq!(s.cases().unwrap().len(), 5);
}

fn token(name: &str, hash: &str) -> NewToken {
    NewToken {
        name: name.into(),
        person: "alice".into(),
        role: Role::Analyst,
        sha256: hash.into(),
        created_at: t(1),
        created_by: Actor::person("lead-1", Role::Lead, 1),
    }
}

pub fn tokens_are_found_by_hash_until_revoked(s: &dyn Store) {
    let applied = s
        .apply(&[Recorded {
            audit_index: 1,
            mutations: vec![Mutation::CreateToken(token(
                "alice-laptop",
                &"ab".repeat(32),
            ))],
        }])
        .unwrap();
    let Applied::Token { id } = applied[0] else {
        panic!("{applied:?}");
    };
    let row = s.token_by_hash(&"ab".repeat(32)).unwrap().unwrap();
    assert_eq!(row.id, id);
    assert_eq!(row.person, "alice");
    assert_eq!(row.role, Role::Analyst);
    assert_eq!(row.created_by.person_name(), Some("lead-1"));
    assert_eq!(s.token(id).unwrap(), Some(row));
    let revoke = |i| Recorded {
        audit_index: i,
        mutations: vec![Mutation::RevokeToken { id, at: t(5) }],
    };
    assert_eq!(
        s.apply(&[revoke(2)]).unwrap()[0],
        Applied::Revoked { id, revoked: true }
    );
    assert!(s.token_by_hash(&"ab".repeat(32)).unwrap().is_none());
    assert_eq!(s.token(id).unwrap().unwrap().revoked_at, Some(t(5)));
    assert_eq!(
        s.apply(&[revoke(3)]).unwrap()[0],
        Applied::Revoked { id, revoked: false }
    );
    let missing = s.apply(&[Recorded {
        audit_index: 4,
        mutations: vec![Mutation::RevokeToken { id: 999, at: t(5) }],
    }]);
    assert!(matches!(missing, Err(StoreError::NoSuchToken(999))));
    assert_eq!(s.tokens().unwrap().len(), 1);
}

pub fn a_token_hash_cannot_be_stored_twice(s: &dyn Store) {
    let create = |i| Recorded {
        audit_index: i,
        mutations: vec![Mutation::CreateToken(token("t", &"cd".repeat(32)))],
    };
    s.apply(&[create(1)]).unwrap();
    assert!(matches!(
        s.apply(&[create(2)]),
        Err(StoreError::Duplicate { .. })
    ));
}

pub fn stats_count_alerts_by_tier_and_state(s: &dyn Store) {
    open_alerts(s);
    let st = s.stats().unwrap();
    assert_eq!(st.alerts, 5);
    assert_eq!(st.open(), 4);
    assert_eq!(st.cases, 4);
    assert_eq!(st.new_patterns, 3);
    assert_eq!(st.decisions, 5);
    let analyst = st
        .by_tier
        .iter()
        .find(|(t, _)| *t == Tier::Analyst)
        .unwrap();
    assert_eq!(analyst.1, 2);
    let closed = st
        .by_state
        .iter()
        .find(|(s, _)| *s == AlertState::AutoClosed)
        .unwrap();
    assert_eq!(closed.1, 1);
}

pub fn replaying_the_same_batches_gives_the_same_ids(s: &dyn Store) {
    open_alerts(s);
    let ids: Vec<i64> = (1..=5)
        .map(|i| s.alert_by_key(&key(i)).unwrap().unwrap().id)
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "ids follow insertion order");
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "{ids:?}");
}
