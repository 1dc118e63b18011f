//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::Path;

use arbiter_core::Schema;
use arbiter_ingest::{Loaded, OnError, Record, Value, load};
use arbiter_scenario::{Options, Summary, generate};

pub fn small() -> Options {
    Options {
        train_rows: 4_000,
        test_rows: 2_000,
        drift: false,
        gaps: 0.05,
    }
}

pub fn run(dir: &Path, scenario: &str, seed: u64, options: &Options) -> Summary {
    generate(scenario, seed, options, dir).unwrap()
}

pub fn read_schema(dir: &Path) -> Schema {
    let text = std::fs::read_to_string(dir.join("schema.yaml")).unwrap();
    Schema::from_yaml(&text, "schema.yaml").unwrap()
}

pub fn read(schema: &Schema, path: &Path) -> Loaded {
    load(schema, path, OnError::Fail, &mut |_, _| {}).unwrap()
}

/// Position of a feature in `Record::features`.
pub fn feature(schema: &Schema, name: &str) -> usize {
    schema.features().position(|f| f.name == name).unwrap()
}

/// A numeric feature's value, panicking when it is missing.
pub fn num(schema: &Schema, r: &Record, name: &str) -> f64 {
    match r.features[feature(schema, name)] {
        Value::Num(x) => x,
        ref other => panic!("{name}: {other:?}"),
    }
}
