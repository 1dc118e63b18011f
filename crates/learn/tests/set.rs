//! The teaching set as training reads it: only examples with their provenance and features.

use arbiter_core::{
    Actor, AlertKey, AlertState, FieldValue, Label, LabelSource, Observed, Role, Schema,
};
use arbiter_learn::{Counts, SetAside, lessons};
use arbiter_store::{ExampleRow, NewExample};
use chrono::{TimeZone, Utc};
use proptest::prelude::*;

const SCHEMA: &str = r#"
format_version: 1
name: flows
revision: 1
source: {format: csv, header: true}
label: {benign: ["0"]}
fields:
  - {name: id, role: identifier}
  - {name: bytes, role: numeric}
  - {name: proto, role: categorical}
  - {name: label, role: label}
"#;

fn row(id: i64, source: LabelSource, features: bool, label: &str) -> ExampleRow {
    let observed: Observed = [
        ("bytes".to_string(), FieldValue::Number(id as f64)),
        ("proto".to_string(), FieldValue::Text("tcp".into())),
    ]
    .into_iter()
    .collect();
    ExampleRow {
        id,
        alert: id,
        example: NewExample {
            key: AlertKey::new("siem", &format!("A-{id}")).unwrap(),
            source,
            labeller: Actor::person("ann", Role::Analyst, 1),
            token_name: None,
            time: Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap(),
            label: Label::new(label).unwrap(),
            reason_code: None,
            note: None,
            feature: None,
            model: None,
            package_sha256: None,
            reference: None,
        },
        model_verdict: Some(arbiter_core::Verdict::Malicious),
        model_category: Some("dos".into()),
        model_p: Some(0.9),
        state: AlertState::Overridden,
        release: None,
        features: features.then_some(observed),
        audit_index: 100 + id as u64,
    }
}

proptest! {
    #[test]
    fn no_example_enters_training_without_its_provenance_and_features(
        rows in prop::collection::vec((0usize..5, any::<bool>(), any::<bool>()), 0..40)
    ) {
        let schema = Schema::from_yaml(SCHEMA, "t.yaml").unwrap();
        let rows: Vec<ExampleRow> = rows
            .iter()
            .enumerate()
            .map(|(i, (s, f, mal))| row(i as i64 + 1, LabelSource::ALL[*s], *f, if *mal { "dos" } else { "benign" }))
            .collect();
        let (ok, aside) = lessons(&rows, &schema, &|_| None);
        prop_assert_eq!(ok.len() + aside.len(), rows.len());
        for l in &ok {
            let r = rows.iter().find(|r| r.id == l.id).unwrap();
            prop_assert!(r.features.is_some());
            prop_assert_eq!(l.source, r.example.source);
            prop_assert_eq!(&l.labeller, &r.example.labeller);
            prop_assert_eq!(l.audit_index, r.audit_index);
            prop_assert_eq!(&l.label, &r.example.label);
            prop_assert_eq!(l.record.features.len(), 2);
        }
        for (id, why) in &aside {
            let r = rows.iter().find(|r| r.id == *id).unwrap();
            prop_assert!(r.features.is_none());
            prop_assert_eq!(*why, SetAside::NoFeatures);
        }
    }
}

#[test]
fn examples_read_under_another_schema_are_set_aside_and_counts_name_each_source() {
    let schema = Schema::from_yaml(SCHEMA, "t.yaml").unwrap();
    let rows = vec![
        row(1, LabelSource::AnalystOverride, true, "benign"),
        row(2, LabelSource::IncidentImport, true, "dos"),
    ];
    let (ok, aside) = lessons(&rows, &schema, &|r| {
        (r.id == 2).then(|| "other@1".to_string())
    });
    assert_eq!(ok.len(), 1);
    assert_eq!(aside, [(2, SetAside::OtherSchema)]);
    let c = Counts::of(&rows);
    assert_eq!(c.by_source["analyst_override"], 1);
    assert_eq!(c.by_source["incident_import"], 1);
    assert_eq!(
        c.against_model, 1,
        "the benign label disagrees with a malicious verdict"
    );
}

#[test]
fn a_released_example_is_accepted_and_keeps_the_reasons_it_was_held_for() {
    // Ann labels an alert the model is sure is malicious as benign: held back.
    let mut rows: Vec<ExampleRow> = (1..=20)
        .map(|i| {
            let mut r = row(i, LabelSource::AnalystConfirm, true, "dos");
            r.model_p = Some(0.999);
            r
        })
        .collect();
    let mut doubted = row(21, LabelSource::AnalystOverride, true, "benign");
    doubted.model_p = Some(0.999);
    rows.push(doubted);
    let screen = arbiter_learn::Screen::default();
    let before = arbiter_learn::defend::screen_rows(&rows, None, &screen);
    let held = before.examples.last().unwrap();
    assert!(!held.accepted() && !held.quarantine.is_empty(), "{held:?}");
    assert!(before.examples[..20].iter().all(|e| e.accepted()));
    rows.last_mut().unwrap().release = Some(arbiter_store::Release {
        by: Actor::person("lee", Role::Lead, 9),
        at: Utc.with_ymd_and_hms(2026, 12, 2, 0, 0, 0).unwrap(),
        reason: "the owner confirmed a backup".into(),
    });
    let after = arbiter_learn::defend::screen_rows(&rows, None, &screen);
    let released = after.examples.last().unwrap();
    assert!(released.accepted(), "{released:?}");
    assert_eq!(released.released_by.as_deref(), Some("lead:lee"));
    assert_eq!(
        released.quarantine, held.quarantine,
        "the reasons stay on record"
    );
    assert!(released.weight > 0.0);
}
