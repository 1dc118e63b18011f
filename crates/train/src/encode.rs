//! Fitting the encoder ([`Encoder`]): categorical vocabularies in order of training frequency,
//! ties broken by name so the coding is deterministic.

use std::collections::HashMap;

use arbiter_core::{FieldRole, Schema};
use arbiter_ingest::{Record, Value};
use arbiter_model::encode::{Encoder, EncoderSpec, FeatureCoding};

/// Fits vocabularies on training records.
pub fn fit(schema: &Schema, records: &[Record]) -> Encoder {
    let feats: Vec<_> = schema.features().collect();
    let mut codings = Vec::with_capacity(feats.len());
    for (i, f) in feats.iter().enumerate() {
        if f.role == FieldRole::Numeric {
            codings.push(FeatureCoding::Numeric);
            continue;
        }
        let mut counts: HashMap<&str, u64> = HashMap::new();
        for r in records {
            if let Value::Cat(v) = &r.features[i] {
                *counts.entry(v.as_str()).or_default() += 1;
            }
        }
        let mut values: Vec<(&str, u64)> = counts.into_iter().collect();
        values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        codings.push(FeatureCoding::Categorical {
            values: values.into_iter().map(|(v, _)| v.to_string()).collect(),
        });
    }
    Encoder::from_spec(EncoderSpec {
        names: feats.iter().map(|f| f.name.clone()).collect(),
        codings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Schema {
        Schema::from_yaml(
            r#"
format_version: 1
name: t
revision: 1
source: {format: csv}
fields:
  - {name: n, role: numeric}
  - {name: c, role: categorical}
"#,
            "t",
        )
        .unwrap()
    }

    fn rec(n: Value, c: Value) -> Record {
        Record {
            line: 1,
            features: vec![n, c],
            label: None,
            category: None,
            time_ms: None,
            ids: vec![],
        }
    }

    #[test]
    fn codes_follow_training_frequency_and_unseen_values_are_reported() {
        let train = vec![
            rec(Value::Num(1.0), Value::Cat("udp".into())),
            rec(Value::Num(2.0), Value::Cat("tcp".into())),
            rec(Value::Num(3.0), Value::Cat("tcp".into())),
        ];
        let enc = fit(&schema(), &train);
        assert_eq!(enc.categorical(), vec![1]);
        let mut x = Vec::new();
        enc.encode(&train[1], &mut x);
        assert_eq!(x, vec![2.0, 0.0]);
        let notes = enc.encode(&rec(Value::Missing, Value::Cat("icmp".into())), &mut x);
        assert!(x[2].is_nan(), "missing is NaN, never zero");
        assert_eq!(x[3], 2.0);
        assert_eq!(notes.missing, vec![0]);
        assert_eq!(notes.unseen, vec![(1, "icmp".to_string())]);
    }
}
