//! The model lifecycle through the ledger: gates block promotion, promotion takes two admins,
//! rollback restores the exact champion before, a canary past its bound is retired, and a
//! shadow's opinion is recorded beside the decision that was acted on.

mod common;

use common::{backends, clock, key};

use std::sync::Arc;

use arbiter_core::{Actor, AlertState, ManualClock, ModelId, Role, Tier};
use arbiter_ledger::{AlertRecord, DecisionRequest, Ledger, LedgerError, Rules};
use arbiter_store::conformance::alert;
use arbiter_store::{CanaryBounds, MemoryStore, ModelState, NewGate, SecondOpinion, Store};
use proptest::prelude::*;

fn ledger() -> (tempfile::TempDir, Ledger) {
    let (d, l, _) = ledger_and_clock();
    (d, l)
}

fn ledger_and_clock() -> (tempfile::TempDir, Ledger, Arc<ManualClock>) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let c = clock();
    let l = Ledger::open(store, &dir.path().join("audit"), c.clone())
        .unwrap()
        .ledger;
    (dir, l, c)
}

fn mid(i: u32) -> ModelId {
    ModelId::new(&format!("sha256:{i:064x}")).unwrap()
}

fn admin(name: &str) -> Actor {
    Actor::person(name, Role::Admin, 1)
}

/// Registers base model 0 and puts it in force.
fn with_base(l: &mut Ledger) {
    l.register_model(&mid(0), "/m/0", "s@1", None, &Actor::system("serve"))
        .unwrap();
    l.activate_model(&mid(0), &Actor::system("serve")).unwrap();
}

fn register_child(l: &mut Ledger, i: u32, parent: u32) {
    l.register_model(
        &mid(i),
        &format!("/m/{i}"),
        "s@1",
        Some(&mid(parent)),
        &Actor::system("retrain"),
    )
    .unwrap();
}

fn gate(l: &mut Ledger, candidate: u32, champion: u32, passed: bool) {
    let report = serde_json::json!({"passed": passed, "gates": [
        {"name": "regression", "passed": passed, "measured": if passed {1.0} else {0.9}, "bound": 1.0},
    ]});
    l.record_gate(NewGate {
        candidate: mid(candidate),
        champion: mid(champion),
        passed,
        sha256: format!("{:064x}", u64::from(candidate) * 2 + u64::from(passed)),
        report,
        by: admin("ann"),
        at: l.clock().now(),
    })
    .unwrap();
}

fn state(l: &Ledger, i: u32) -> ModelState {
    l.store().model(&mid(i)).unwrap().unwrap().state
}

fn champion(l: &Ledger) -> ModelId {
    l.champion().unwrap().unwrap().id
}

#[test]
fn a_retrained_model_is_refused_by_activation_and_must_be_promoted() {
    let (_d, mut l) = ledger();
    with_base(&mut l);
    register_child(&mut l, 1, 0);
    let e = l.activate_model(&mid(1), &admin("ann")).unwrap_err();
    assert!(e.to_string().contains("only by promotion"), "{e}");
    assert_eq!(state(&l, 1), ModelState::Candidate);
}

#[test]
fn promotion_takes_two_different_admins_and_names_both() {
    let (_d, mut l) = ledger();
    with_base(&mut l);
    register_child(&mut l, 1, 0);
    gate(&mut l, 1, 0, true);
    for who in [
        Actor::person("lee", Role::Lead, 2),
        Actor::system("cli/model"),
    ] {
        let e = l.promote_model(&mid(1), &who).unwrap_err();
        assert!(e.to_string().contains("needs an admin person"), "{e}");
    }
    let first = l.promote_model(&mid(1), &admin("ann")).unwrap();
    assert!(first.awaiting_second_admin);
    assert_eq!(state(&l, 1), ModelState::Candidate);
    let again = l
        .promote_model(&mid(1), &Actor::person("ann", Role::Admin, 9))
        .unwrap_err();
    assert!(
        again.to_string().contains("second, different admin"),
        "{again}"
    );
    let second = l.promote_model(&mid(1), &admin("bob")).unwrap();
    assert!(!second.awaiting_second_admin);
    assert_eq!(second.retired, Some(mid(0)));
    assert_eq!(
        (state(&l, 0), state(&l, 1)),
        (ModelState::Retired, ModelState::Champion)
    );
    // The audit entry names both admins and the gate report's hash.
    let last = l.audit().reader().entry(second.audit_index).unwrap();
    assert!(last.summary.contains("by ann and bob"), "{}", last.summary);
    assert!(
        last.summary.contains(&second.gate_sha256[..12]),
        "{}",
        last.summary
    );
}

#[test]
fn a_failed_gate_blocks_promotion_and_says_which_gate_and_by_how_much() {
    let (_d, mut l) = ledger();
    with_base(&mut l);
    register_child(&mut l, 1, 0);
    let none = l.promote_model(&mid(1), &admin("ann")).unwrap_err();
    assert!(none.to_string().contains("none is recorded"), "{none}");
    gate(&mut l, 1, 0, false);
    let failed = l.promote_model(&mid(1), &admin("ann")).unwrap_err();
    let m = failed.to_string();
    assert!(
        m.contains("failed: regression (measured 0.9, bound 1.0)"),
        "{m}"
    );
    // A canary needs the same passing gate; a shadow does not.
    let b = CanaryBounds {
        share: 0.1,
        max_override_rate: 0.2,
        min_reviewed: 5,
        max_automated_overridden: 0,
    };
    assert!(l.start_challenger(&mid(1), Some(b), &admin("ann")).is_err());
    l.start_challenger(&mid(1), None, &admin("ann")).unwrap();
    assert_eq!(state(&l, 1), ModelState::Shadow);
    // Only an admin ends it.
    let analyst = Actor::person("alice", Role::Analyst, 3);
    assert!(l.retire_model(&mid(1), "enough", &analyst).is_err());
    l.retire_model(&mid(1), "enough", &admin("ann")).unwrap();
    assert_eq!(state(&l, 1), ModelState::Retired);
}

#[test]
fn a_first_request_does_not_survive_a_gate_that_fails_before_the_second_admin() {
    let (_d, mut l) = ledger();
    with_base(&mut l);
    register_child(&mut l, 1, 0);
    gate(&mut l, 1, 0, true);
    assert!(
        l.promote_model(&mid(1), &admin("ann"))
            .unwrap()
            .awaiting_second_admin
    );
    gate(&mut l, 1, 0, false);
    assert!(l.promote_model(&mid(1), &admin("bob")).is_err());
    assert_eq!(champion(&l), mid(0));
}

#[test]
fn rollback_with_no_earlier_champion_is_refused() {
    let (_d, mut l) = ledger();
    with_base(&mut l);
    let e = l.rollback_model(&admin("ann")).unwrap_err();
    assert!(e.to_string().contains("no earlier champion"), "{e}");
    assert_eq!(champion(&l), mid(0));
}

fn rules() -> Rules {
    Rules {
        reason_codes: vec!["model_wrong".into()],
        labels: vec!["benign".into(), "dos".into()],
        features: vec!["src_bytes".into()],
    }
}

#[test]
fn a_canary_whose_automated_decision_a_human_overrides_is_retired_at_once() {
    let (_d, mut l) = ledger();
    with_base(&mut l);
    register_child(&mut l, 1, 0);
    gate(&mut l, 1, 0, true);
    let b = CanaryBounds {
        share: 0.5,
        max_override_rate: 0.5,
        min_reviewed: 3,
        max_automated_overridden: 0,
    };
    l.start_challenger(&mid(1), Some(b), &admin("ann")).unwrap();
    // The canary auto-closed alert 1 and sent alert 2 to an analyst.
    let mut recs = Vec::new();
    for (i, tier, st) in [
        (1, Tier::Auto, AlertState::AutoClosed),
        (2, Tier::Analyst, AlertState::Analyst),
    ] {
        let mut a = alert(i, tier, st, 0.3, &format!("c{i}"), true);
        a.bundle = Some(mid(1));
        recs.push(AlertRecord {
            alert: a,
            entities: vec![],
            second: None,
        });
    }
    l.record_alerts(recs, vec![]).unwrap();
    let alice = Actor::person("alice", Role::Analyst, 3);
    let approve = DecisionRequest {
        action: "approve".into(),
        ..Default::default()
    };
    let id2 = l.store().alert_by_key(&key(2)).unwrap().unwrap().id;
    l.decide(id2, &approve, &alice, &rules()).unwrap();
    assert_eq!(
        l.check_canary().unwrap(),
        None,
        "an approval crosses no bound"
    );
    let id1 = l.store().alert_by_key(&key(1)).unwrap().unwrap().id;
    let over = DecisionRequest {
        action: "override".into(),
        reason_code: Some("model_wrong".into()),
        label: Some("dos".into()),
        note: Some("this was a flood, not a backup".into()),
        ..Default::default()
    };
    l.decide(id1, &over, &alice, &rules()).unwrap();
    let rb = l.check_canary().unwrap().expect("the bound is crossed");
    assert_eq!(rb.model, mid(1));
    assert!(
        rb.reason.contains("1 of its 1 automated decisions"),
        "{}",
        rb.reason
    );
    assert_eq!(state(&l, 1), ModelState::Retired);
    assert_eq!(champion(&l), mid(0));
    let entry = l.audit().reader().entry(rb.audit_index).unwrap();
    assert_eq!(entry.actor, "canary-guard");
}

#[test]
fn a_shadow_opinion_is_recorded_in_the_same_entry_as_the_decision() {
    for (name, dir, store) in backends() {
        shadow_opinion_on(name, dir, store);
    }
}

fn shadow_opinion_on(name: &str, dir: tempfile::TempDir, store: Arc<dyn Store>) {
    let mut l = Ledger::open(store, &dir.path().join("audit"), clock())
        .unwrap()
        .ledger;
    let a = alert(1, Tier::Analyst, AlertState::Analyst, 0.55, "c1", true);
    let o = SecondOpinion {
        model: mid(7),
        role: ModelState::Shadow,
        tier: Tier::Auto,
        action: Some("close".into()),
        p_malicious: Some(0.01),
        verdict: None,
        category: None,
        reasons: vec![],
        package: None,
    };
    let out = l
        .record_alerts(
            vec![AlertRecord {
                alert: a,
                entities: vec![],
                second: Some(o.clone()),
            }],
            vec![],
        )
        .unwrap();
    let e = l
        .audit()
        .reader()
        .entry(out[0].audit_index.unwrap())
        .unwrap();
    assert!(
        e.summary.contains("shadow sha256:0000"),
        "{name}: {}",
        e.summary
    );
    assert_eq!(e.body["second_opinion"]["tier"], "auto");
    let stored = l.store().opinions(&mid(7), true, 0).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].opinion, o);
    assert_eq!(stored[0].acted_tier, Tier::Analyst);
}

/// One step of a random registry history.
#[derive(Debug, Clone)]
enum Op {
    /// A gate of the newest candidate against the champion in force (or, when `stale`,
    /// against a model that is not the champion).
    Gate {
        passed: bool,
        stale: bool,
    },
    /// Admin `who` calls promote on the newest candidate.
    Promote {
        who: usize,
    },
    /// A new candidate retrained from the champion.
    Retrain,
    Rollback,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (any::<bool>(), any::<bool>()).prop_map(|(passed, stale)| Op::Gate { passed, stale }),
        (0usize..3).prop_map(|who| Op::Promote { who }),
        Just(Op::Retrain),
        Just(Op::Rollback),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the order of gates and calls, a model becomes champion only when a second,
    /// different admin calls promote while its latest gate against the champion in force
    /// has passed.
    #[test]
    fn promotion_is_impossible_with_a_failed_gate(ops in prop::collection::vec(op(), 1..40)) {
        let (_d, mut l, clock) = ledger_and_clock();
        with_base(&mut l);
        let admins = ["ann", "bob", "cy"];
        let mut next = 1u32;
        let mut newest: Option<u32> = None;
        for op in ops {
            clock.advance_ms(1000);
            match op {
                Op::Retrain => {
                    let parent = champion(&l);
                    l.register_model(&mid(next), "/m", "s@1", Some(&parent), &Actor::system("retrain")).unwrap();
                    newest = Some(next);
                    next += 1;
                }
                Op::Gate { passed, stale } => {
                    let Some(c) = newest else { continue };
                    let champ = champion(&l);
                    let against = if stale { mid(999) } else { champ };
                    l.record_gate(NewGate {
                        candidate: mid(c), champion: against, passed,
                        sha256: "ab".repeat(32), report: serde_json::json!({"gates": []}),
                        by: admin("ann"), at: l.clock().now(),
                    }).unwrap();
                }
                Op::Promote { who } => {
                    let Some(c) = newest else { continue };
                    let before = champion(&l);
                    let row = l.store().model(&mid(c)).unwrap().unwrap();
                    let gates = l.store().gates(&mid(c)).unwrap();
                    let latest_passed = gates.iter().rev().find(|g| g.champion == before).map(|g| g.passed);
                    let asked_by_other = row.promotion_requested_by.as_ref()
                        .and_then(|a| a.person_name().map(str::to_string))
                        .is_some_and(|p| p != admins[who]);
                    let result = l.promote_model(&mid(c), &admin(admins[who]));
                    let after = champion(&l);
                    if after != before {
                        // It was promoted: every condition held.
                        prop_assert_eq!(after.clone(), mid(c));
                        prop_assert_eq!(latest_passed, Some(true));
                        prop_assert!(asked_by_other);
                        prop_assert!(matches!(result, Ok(ref p) if !p.awaiting_second_admin));
                    } else if latest_passed != Some(true) {
                        prop_assert!(matches!(result, Err(LedgerError::Refused(_))), "{:?}", result);
                    }
                }
                Op::Rollback => {
                    let _ = l.rollback_model(&admin("ann"));
                }
            }
            let champions = l.store().models().unwrap().into_iter().filter(|m| m.state == ModelState::Champion).count();
            prop_assert_eq!(champions, 1);
        }
    }

    /// After a chain of promotions, each rollback restores exactly the bundle that was champion
    /// before the one it retires, down to the first; one more is refused.
    #[test]
    fn rollback_restores_the_exact_previous_bundle_id(n in 1u32..8, back in 1u32..10) {
        let (_d, mut l, clock) = ledger_and_clock();
        with_base(&mut l);
        let mut chain = vec![mid(0)];
        for i in 1..=n {
            let parent = chain.last().unwrap().clone();
            l.register_model(&mid(i), "/m", "s@1", Some(&parent), &Actor::system("retrain")).unwrap();
            l.record_gate(NewGate {
                candidate: mid(i), champion: parent, passed: true,
                sha256: "cd".repeat(32), report: serde_json::json!({"gates": []}),
                by: admin("ann"), at: l.clock().now(),
            }).unwrap();
            l.promote_model(&mid(i), &admin("ann")).unwrap();
            l.promote_model(&mid(i), &admin("bob")).unwrap();
            clock.advance_ms(1000);
            chain.push(mid(i));
        }
        for _ in 0..back {
            let retired = chain.pop().unwrap();
            match chain.last() {
                Some(previous) => {
                    let r = l.rollback_model(&admin("cy")).unwrap();
                    prop_assert_eq!(&r.champion, previous);
                    prop_assert_eq!(&r.retired, &retired);
                    prop_assert_eq!(champion(&l), previous.clone());
                    clock.advance_ms(1000);
                }
                None => {
                    prop_assert!(l.rollback_model(&admin("cy")).is_err());
                    prop_assert_eq!(champion(&l), mid(0));
                    break;
                }
            }
        }
    }
}
