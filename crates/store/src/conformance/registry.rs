//! The registry's part of the contract: one champion and one challenger at a time, promotion
//! requests that do not outlive a state change, gate reports, second opinions and the canary's
//! tally.

use arbiter_core::{Actor, AlertState, Decision, ModelId, Role, Tier, Verdict};

use super::{alert, insert, key, t, transition};
use crate::{
    Applied, CanaryBounds, ModelState, Mutation, NewGate, NewModel, Recorded, SecondOpinion, Store,
    StoreError,
};

pub(crate) fn model_id(c: char) -> ModelId {
    ModelId::new(&format!("sha256:{}", c.to_string().repeat(64))).unwrap()
}

fn register(i: u64, c: char) -> Recorded {
    Recorded {
        audit_index: i,
        mutations: vec![Mutation::RegisterModel(NewModel {
            id: model_id(c),
            path: format!("/models/{c}"),
            schema: "nsl-kdd@1".into(),
            parent: (c != 'a').then(|| model_id('a')),
            by: Actor::system("serve"),
            at: t(i as u32),
        })],
    }
}

fn set_state(i: u64, c: char, from: ModelState, to: ModelState) -> Recorded {
    Recorded {
        audit_index: i,
        mutations: vec![Mutation::SetModelState {
            id: model_id(c),
            from,
            to,
            by: Actor::person("root", Role::Admin, 1),
            at: t(i as u32),
            canary: (to == ModelState::Canary).then(bounds),
        }],
    }
}

fn bounds() -> CanaryBounds {
    CanaryBounds {
        share: 0.25,
        max_override_rate: 0.2,
        min_reviewed: 10,
        max_automated_overridden: 0,
    }
}

pub fn a_new_champion_retires_the_one_before_and_says_when(s: &dyn Store) {
    use ModelState::*;
    s.apply(&[register(1, 'a'), register(2, 'b')]).unwrap();
    s.apply(&[set_state(3, 'a', Candidate, Champion)]).unwrap();
    s.apply(&[set_state(4, 'b', Candidate, Champion)]).unwrap();
    let a = s.model(&model_id('a')).unwrap().unwrap();
    let b = s.model(&model_id('b')).unwrap().unwrap();
    assert_eq!((a.state, b.state), (Retired, Champion));
    assert_eq!(a.changed_at, t(4));
    assert_eq!((a.champion_at, b.champion_at), (Some(t(3)), Some(t(4))));
    assert_eq!((a.parent, b.parent), (None, Some(model_id('a'))));
    // Retired by hand (a rollback): a is champion again, b forgets it ever was.
    s.apply(&[Recorded {
        audit_index: 5,
        mutations: vec![
            set_state(5, 'b', Champion, Retired).mutations.remove(0),
            set_state(5, 'a', Retired, Champion).mutations.remove(0),
        ],
    }])
    .unwrap();
    let a = s.model(&model_id('a')).unwrap().unwrap();
    let b = s.model(&model_id('b')).unwrap().unwrap();
    assert_eq!((a.state, b.state), (Champion, Retired));
    assert_eq!((a.champion_at, b.champion_at), (Some(t(5)), None));
    assert_eq!(
        s.models()
            .unwrap()
            .iter()
            .filter(|m| m.state == Champion)
            .count(),
        1
    );
    assert!(matches!(
        s.apply(&[register(6, 'a')]),
        Err(StoreError::Duplicate { .. })
    ));
}

pub fn a_model_state_change_from_a_stale_state_fails(s: &dyn Store) {
    use ModelState::*;
    s.apply(&[register(1, 'a')]).unwrap();
    let e = s
        .apply(&[set_state(2, 'a', Champion, Retired)])
        .unwrap_err();
    assert!(matches!(e, StoreError::StaleModel { .. }), "{e}");
    let e = s
        .apply(&[set_state(3, 'f', Candidate, Champion)])
        .unwrap_err();
    assert!(matches!(e, StoreError::NoSuchModel(_)), "{e}");
}

pub fn a_second_challenger_is_refused_while_one_runs(s: &dyn Store) {
    use ModelState::*;
    s.apply(&[register(1, 'a'), register(2, 'b'), register(3, 'c')])
        .unwrap();
    s.apply(&[set_state(4, 'b', Candidate, Canary)]).unwrap();
    assert_eq!(
        s.model(&model_id('b')).unwrap().unwrap().canary,
        Some(bounds())
    );
    let e = s
        .apply(&[set_state(5, 'c', Candidate, Shadow)])
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::ChallengerRunning { other, state: Canary } if *other == model_id('b')),
        "{e}"
    );
    assert_eq!(s.model(&model_id('c')).unwrap().unwrap().state, Candidate);
    s.apply(&[set_state(6, 'b', Canary, Retired)]).unwrap();
    s.apply(&[set_state(7, 'c', Candidate, Shadow)]).unwrap();
    assert_eq!(s.model(&model_id('c')).unwrap().unwrap().state, Shadow);
}

pub fn a_promotion_request_is_cleared_by_any_state_change(s: &dyn Store) {
    use ModelState::*;
    s.apply(&[register(1, 'a')]).unwrap();
    let admin = Actor::person("ann", Role::Admin, 7);
    s.apply(&[Recorded {
        audit_index: 2,
        mutations: vec![Mutation::RequestPromotion {
            id: model_id('a'),
            by: admin.clone(),
            at: t(2),
        }],
    }])
    .unwrap();
    let m = s.model(&model_id('a')).unwrap().unwrap();
    assert_eq!(
        (
            m.promotion_requested_by.map(|a| a.to_string()),
            m.promotion_requested_at
        ),
        (Some(admin.to_string()), Some(t(2)))
    );
    s.apply(&[set_state(3, 'a', Candidate, Shadow)]).unwrap();
    let m = s.model(&model_id('a')).unwrap().unwrap();
    assert_eq!(
        (m.promotion_requested_by, m.promotion_requested_at),
        (None, None)
    );
}

fn gate(i: u64, candidate: char, passed: bool) -> Recorded {
    Recorded {
        audit_index: i,
        mutations: vec![Mutation::RecordGate(Box::new(NewGate {
            candidate: model_id(candidate),
            champion: model_id('a'),
            passed,
            sha256: format!("{i}").repeat(64),
            report: serde_json::json!({"passed": passed, "gates": [{"name": "regression"}]}),
            by: Actor::person("ann", Role::Admin, 7),
            at: t(i as u32),
        }))],
    }
}

pub fn gate_reports_read_back_per_candidate(s: &dyn Store) {
    s.apply(&[register(1, 'a'), register(2, 'b'), register(3, 'c')])
        .unwrap();
    let applied = s
        .apply(&[gate(4, 'b', false), gate(5, 'b', true), gate(6, 'c', true)])
        .unwrap();
    assert!(matches!(applied[0], Applied::Gate { .. }));
    let b = s.gates(&model_id('b')).unwrap();
    assert_eq!(
        b.iter()
            .map(|g| (g.passed, g.audit_index, g.champion.clone()))
            .collect::<Vec<_>>(),
        vec![(false, 4, model_id('a')), (true, 5, model_id('a'))]
    );
    assert_eq!(b[1].report["gates"][0]["name"], "regression");
    assert_eq!(b[1].sha256, "5".repeat(64));
    assert_eq!(s.gates(&model_id('c')).unwrap().len(), 1);
    let e = s.apply(&[gate(7, 'f', true)]).unwrap_err();
    assert!(matches!(e, StoreError::NoSuchModel(_)), "{e}");
}

fn opinion(i: u32, model: char, role: ModelState, tier: Tier) -> Mutation {
    Mutation::SecondOpinion {
        key: key(i),
        opinion: Box::new(SecondOpinion {
            model: model_id(model),
            role,
            tier,
            action: Some("close".into()),
            p_malicious: Some(0.02),
            verdict: Some(Verdict::Benign),
            category: Some("benign".into()),
            reasons: vec![],
            package: None,
        }),
    }
}

pub fn a_second_opinion_reads_back_beside_the_acted_decision(s: &dyn Store) {
    // Alerts 1 and 2 decided by the champion ('0'), beside the shadow 'e'.
    let a1 = alert(1, Tier::Analyst, AlertState::Analyst, 0.55, "c1", true);
    let a2 = alert(2, Tier::Auto, AlertState::AutoClosed, 0.01, "c2", true);
    let mut batch = insert(1, a1);
    batch
        .mutations
        .push(opinion(1, 'e', ModelState::Shadow, Tier::Auto));
    let mut b2 = insert(2, a2);
    b2.mutations
        .push(opinion(2, 'e', ModelState::Shadow, Tier::Auto));
    // The same opinion again, and one on an alert never stored, change nothing.
    b2.mutations
        .push(opinion(2, 'e', ModelState::Shadow, Tier::Analyst));
    b2.mutations
        .push(opinion(9, 'e', ModelState::Shadow, Tier::Auto));
    let applied = s.apply(&[batch, b2]).unwrap();
    assert_eq!(
        applied[2..],
        [
            Applied::Alert {
                id: 2,
                inserted: true
            },
            Applied::Opinion { inserted: true },
            Applied::Opinion { inserted: false },
            Applied::Opinion { inserted: false },
        ]
    );
    let all = s.opinions(&model_id('e'), false, 0).unwrap();
    assert_eq!(
        all.iter().map(|o| o.alert).collect::<Vec<_>>(),
        vec![2, 1],
        "newest first"
    );
    let differ = s.opinions(&model_id('e'), true, 0).unwrap();
    assert_eq!(differ.len(), 1);
    let d = &differ[0];
    assert_eq!(
        (d.key.clone(), d.acted_tier, d.opinion.tier),
        (key(1), Tier::Analyst, Tier::Auto)
    );
    assert_eq!(d.acted_by, Some(model_id('0')));
    // The champion's view finds the same rows (it acted on them); a limit caps them.
    assert_eq!(s.opinions(&model_id('0'), false, 1).unwrap().len(), 1);
    assert!(s.opinions(&model_id('d'), false, 0).unwrap().is_empty());
}

pub fn the_canary_tally_counts_reviews_and_overrides_of_its_own_decisions(s: &dyn Store) {
    let canary = model_id('c');
    let mut batch = Vec::new();
    for (i, tier, state) in [
        (1, Tier::Auto, AlertState::AutoClosed),
        (2, Tier::Auto, AlertState::AutoClosed),
        (3, Tier::Analyst, AlertState::Analyst),
        (4, Tier::Analyst, AlertState::Analyst),
        (5, Tier::Analyst, AlertState::Analyst),
    ] {
        let mut a = alert(i, tier, state, 0.3, &format!("c{i}"), true);
        a.bundle = Some(canary.clone());
        batch.push(insert(u64::from(i), a));
    }
    // Alert 6 is the champion's.
    batch.push(insert(
        6,
        alert(6, Tier::Analyst, AlertState::Analyst, 0.3, "c6", true),
    ));
    s.apply(&batch).unwrap();
    let human = |i: u64, k: u32, from: AlertState, to: AlertState, kind: Decision| Recorded {
        audit_index: i,
        mutations: vec![transition(key(k), from, to, kind)],
    };
    s.apply(&[
        human(
            7,
            1,
            AlertState::AutoClosed,
            AlertState::Overridden,
            Decision::Override,
        ),
        human(
            8,
            3,
            AlertState::Analyst,
            AlertState::Approved,
            Decision::Approve,
        ),
        human(
            9,
            4,
            AlertState::Analyst,
            AlertState::Rejected,
            Decision::Reject,
        ),
        human(
            10,
            6,
            AlertState::Analyst,
            AlertState::Overridden,
            Decision::Override,
        ),
    ])
    .unwrap();
    let t = s.canary_tally(&canary).unwrap();
    assert_eq!(
        (
            t.decided,
            t.automated,
            t.reviewed,
            t.overridden,
            t.automated_overridden
        ),
        (5, 2, 3, 2, 1)
    );
    assert_eq!(s.canary_tally(&model_id('f')).unwrap().decided, 0);
}
