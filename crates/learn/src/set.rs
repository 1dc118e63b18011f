//! The teaching set as training reads it: each stored example turned into a record the model
//! can read, with its label and provenance, or set aside with the reason it cannot be used.

use std::collections::BTreeMap;

use arbiter_core::{Actor, Label, LabelSource, Schema};
use arbiter_ingest::Record;
use arbiter_store::ExampleRow;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// An example training may use. Every field is required: an example without provenance
/// cannot be built, so none can enter training.
#[derive(Debug, Clone)]
pub struct Lesson {
    /// The example's id in the store.
    pub id: i64,
    /// The features as the model read them when the label was given.
    pub record: Record,
    pub label: Label,
    pub source: LabelSource,
    pub labeller: Actor,
    pub time: DateTime<Utc>,
    /// The audit entry the example was recorded in.
    pub audit_index: u64,
}

/// Why a stored example cannot be trained on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SetAside {
    /// The alert was stored before alerts kept their features (or could not be read).
    NoFeatures,
    /// The features were read under another schema than the one being trained.
    OtherSchema,
}

/// Examples by source, labeller and label: what a model card and `teach list` report.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Counts {
    pub examples: usize,
    pub by_source: BTreeMap<String, usize>,
    pub by_labeller: BTreeMap<String, usize>,
    pub by_label: BTreeMap<String, usize>,
    /// Examples whose label disagrees with the model's verdict on the alert.
    pub against_model: usize,
}

impl Counts {
    pub fn of(rows: &[ExampleRow]) -> Counts {
        let mut c = Counts::default();
        for r in rows {
            let e = &r.example;
            c.examples += 1;
            *c.by_source.entry(e.source.to_string()).or_default() += 1;
            *c.by_labeller.entry(e.labeller.to_string()).or_default() += 1;
            *c.by_label.entry(e.label.to_string()).or_default() += 1;
            if r.model_verdict.is_some_and(|v| v != e.label.verdict()) {
                c.against_model += 1;
            }
        }
        c
    }
}

/// The stored examples training can use under `schema`, and those it cannot, with why.
/// `schema_of` names the schema an example's model was trained on, when known.
pub fn lessons(
    rows: &[ExampleRow],
    schema: &Schema,
    schema_of: &dyn Fn(&ExampleRow) -> Option<String>,
) -> (Vec<Lesson>, Vec<(i64, SetAside)>) {
    let mut ok = Vec::new();
    let mut aside = Vec::new();
    let id = schema.id();
    for r in rows {
        let Some(features) = &r.features else {
            aside.push((r.id, SetAside::NoFeatures));
            continue;
        };
        if schema_of(r).is_some_and(|s| s != id) {
            aside.push((r.id, SetAside::OtherSchema));
            continue;
        }
        let e = &r.example;
        ok.push(Lesson {
            id: r.id,
            record: Record::from_observed(schema, features, r.id as u64),
            label: e.label.clone(),
            source: e.source,
            labeller: e.labeller.clone(),
            time: e.time,
            audit_index: r.audit_index,
        });
    }
    (ok, aside)
}
