//! The teaching set's part of the contract: examples keep their provenance, refer to a
//! stored alert, and an import of the same ticket adds nothing.

use arbiter_core::{Actor, AlertState, Label, LabelSource, ModelId, Role, Tier, Verdict};

use super::{alert, insert, key, observed, t};
use crate::{Applied, Mutation, NewExample, Recorded, Store};

fn example(i: u32, source: LabelSource, label: &str, reference: Option<&str>) -> NewExample {
    NewExample {
        key: key(i),
        source,
        labeller: Actor::person("alice", Role::Analyst, 3),
        token_name: Some("alice-laptop".into()),
        time: t(200 + i),
        label: Label::new(label).unwrap(),
        reason_code: Some("model_wrong".into()),
        note: Some("backup job".into()),
        feature: Some("duration".into()),
        model: Some(ModelId::new(&format!("sha256:{}", "0".repeat(64))).unwrap()),
        package_sha256: Some("ab".repeat(32)),
        reference: reference.map(str::to_string),
    }
}

fn teach(index: u64, e: NewExample) -> Recorded {
    Recorded {
        audit_index: index,
        mutations: vec![Mutation::Teach(Box::new(e))],
    }
}

fn stored(s: &dyn Store, i: u32) {
    s.apply(&[insert(
        u64::from(i),
        alert(i, Tier::Analyst, AlertState::Analyst, 0.8, "c1@1", i == 1),
    )])
    .unwrap();
}

pub fn an_example_reads_back_with_its_provenance_verdict_and_features(s: &dyn Store) {
    stored(s, 1);
    let e = example(1, LabelSource::AnalystOverride, "benign", None);
    let applied = s.apply(&[teach(9, e.clone())]).unwrap();
    assert_eq!(
        applied,
        [Applied::Example {
            id: 1,
            inserted: true
        }]
    );
    let rows = s.examples(0, 0).unwrap();
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r.example, e, "every provenance field reads back as written");
    assert_eq!(
        r.example.labeller.token(),
        Some(3),
        "the token presented is kept"
    );
    assert_eq!(r.alert, 1);
    assert_eq!(r.audit_index, 9);
    assert_eq!(r.model_verdict, Some(Verdict::Malicious));
    assert_eq!(r.model_category.as_deref(), Some("dos"));
    assert_eq!(r.state, AlertState::Analyst);
    assert_eq!(r.features, Some(observed(1)));
    assert_eq!(s.stats().unwrap().examples, 1);
}

pub fn an_example_on_an_unknown_key_is_refused_and_nothing_is_applied(s: &dyn Store) {
    stored(s, 1);
    let err = s
        .apply(&[
            teach(9, example(1, LabelSource::AnalystConfirm, "dos", None)),
            teach(
                10,
                example(42, LabelSource::IncidentImport, "dos", Some("INC-1")),
            ),
        ])
        .unwrap_err();
    assert!(err.to_string().contains("conformance/a-42"), "{err}");
    assert!(s.examples(0, 0).unwrap().is_empty());
    assert_eq!(s.applied_through().unwrap(), Some(1));
}

pub fn an_example_with_a_stored_source_and_reference_is_stored_once(s: &dyn Store) {
    stored(s, 1);
    let first = example(1, LabelSource::IncidentImport, "dos", Some("INC-7"));
    s.apply(&[teach(9, first.clone())]).unwrap();
    let again = s.apply(&[teach(10, first)]).unwrap();
    assert_eq!(
        again,
        [Applied::Example {
            id: 1,
            inserted: false
        }]
    );
    // Another ticket, or the same ticket reviewed by an analyst, is another example; so is
    // an example without a reference.
    s.apply(&[
        teach(
            11,
            example(1, LabelSource::IncidentImport, "dos", Some("INC-8")),
        ),
        teach(
            12,
            example(1, LabelSource::AnalystConfirm, "dos", Some("INC-7")),
        ),
        teach(13, example(1, LabelSource::AnalystConfirm, "dos", None)),
        teach(14, example(1, LabelSource::AnalystConfirm, "dos", None)),
    ])
    .unwrap();
    assert_eq!(s.examples(0, 0).unwrap().len(), 5);
}

pub fn examples_are_read_in_pages_oldest_first(s: &dyn Store) {
    stored(s, 1);
    stored(s, 2);
    for i in 0..5u32 {
        s.apply(&[teach(
            u64::from(10 + i),
            example(1 + i % 2, LabelSource::AnalystConfirm, "dos", None),
        )])
        .unwrap();
    }
    let ids = |after, limit| -> Vec<i64> {
        s.examples(after, limit)
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect()
    };
    assert_eq!(ids(0, 0), [1, 2, 3, 4, 5]);
    assert_eq!(ids(0, 2), [1, 2]);
    assert_eq!(ids(2, 2), [3, 4]);
    assert_eq!(ids(5, 2), Vec::<i64>::new());
    assert_eq!(s.examples(0, 0).unwrap()[1].alert, 2);
}

pub fn a_released_example_says_who_released_it_and_why_once(s: &dyn Store) {
    stored(s, 1);
    s.apply(&[teach(
        9,
        example(1, LabelSource::AnalystOverride, "benign", None),
    )])
    .unwrap();
    assert_eq!(s.examples(0, 0).unwrap()[0].release, None);
    let lead = Actor::Person {
        person: "lee".into(),
        role: Role::Lead,
        token: None,
    };
    let release = |index: u64, id: i64| Recorded {
        audit_index: index,
        mutations: vec![Mutation::ReleaseExample {
            id,
            by: lead.clone(),
            at: t(300),
            reason: "checked the ticket: a backup job".into(),
        }],
    };
    assert_eq!(
        s.apply(&[release(10, 1)]).unwrap(),
        [Applied::Released {
            id: 1,
            released: true
        }]
    );
    let r = s.examples(0, 0).unwrap()[0]
        .release
        .clone()
        .expect("released");
    assert_eq!(r.by, lead);
    assert_eq!(r.at, t(300));
    assert_eq!(r.reason, "checked the ticket: a backup job");
    assert_eq!(
        s.apply(&[release(11, 1)]).unwrap(),
        [Applied::Released {
            id: 1,
            released: false
        }],
        "releasing twice changes nothing"
    );
    let e = s.apply(&[release(12, 77)]).unwrap_err();
    assert!(e.to_string().contains("77"), "{e}");
    assert_eq!(s.examples(0, 0).unwrap()[0].model_p, Some(0.8));
}
