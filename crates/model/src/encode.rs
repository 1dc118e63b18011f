//! From records to the numeric matrix the trees read.
//!
//! Numbers pass through; categorical values become integer codes in order of training frequency
//! (ties broken by name, so the coding is deterministic); a value never seen in training gets
//! the code one past the vocabulary, which the trees send down their "other" branch, and is
//! reported. Missing stays missing (NaN), never zero.

use std::collections::HashMap;

use arbiter_ingest::{Record, Value};
use serde::{Deserialize, Serialize};

/// How one feature is encoded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum FeatureCoding {
    Numeric,
    Categorical { values: Vec<String> },
}

/// The fitted encoder, as stored in a bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncoderSpec {
    pub names: Vec<String>,
    pub codings: Vec<FeatureCoding>,
}

/// What encoding one row noticed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RowNotes {
    /// Feature indices with no value.
    pub missing: Vec<usize>,
    /// Feature indices whose categorical value was never seen in training, with the value.
    pub unseen: Vec<(usize, String)>,
}

/// The encoder with its lookup tables built.
#[derive(Debug, Clone)]
pub struct Encoder {
    pub spec: EncoderSpec,
    lookup: Vec<Option<HashMap<String, u32>>>,
}

impl Encoder {
    /// The encoder of a stored spec, with its lookup tables built.
    pub fn from_spec(spec: EncoderSpec) -> Encoder {
        let lookup = spec
            .codings
            .iter()
            .map(|c| match c {
                FeatureCoding::Numeric => None,
                FeatureCoding::Categorical { values } => Some(
                    values
                        .iter()
                        .enumerate()
                        .map(|(i, v)| (v.clone(), i as u32))
                        .collect(),
                ),
            })
            .collect();
        Encoder { spec, lookup }
    }

    pub fn width(&self) -> usize {
        self.spec.names.len()
    }

    /// Indices of categorical features.
    pub fn categorical(&self) -> Vec<usize> {
        self.lookup
            .iter()
            .enumerate()
            .filter(|(_, l)| l.is_some())
            .map(|(i, _)| i)
            .collect()
    }

    /// Appends one row's encoded values to `out` and says what it noticed.
    pub fn encode(&self, record: &Record, out: &mut Vec<f64>) -> RowNotes {
        let mut notes = RowNotes::default();
        for (i, v) in record.features.iter().enumerate() {
            let x = match (v, &self.lookup[i]) {
                (Value::Missing, _) => {
                    notes.missing.push(i);
                    f64::NAN
                }
                (Value::Num(x), None) => *x,
                (Value::Cat(s), Some(map)) => match map.get(s) {
                    Some(code) => f64::from(*code),
                    None => {
                        notes.unseen.push((i, s.clone()));
                        map.len() as f64
                    }
                },
                // The schema decides roles, so a number in a categorical slot cannot occur;
                // treat a mismatch as missing rather than guess.
                (Value::Num(_), Some(_)) | (Value::Cat(_), None) => {
                    notes.missing.push(i);
                    f64::NAN
                }
            };
            out.push(x);
        }
        notes
    }

    /// Encodes many rows into a row-major matrix.
    pub fn encode_all(&self, records: &[Record]) -> (Vec<f64>, Vec<RowNotes>) {
        let mut x = Vec::with_capacity(records.len() * self.width());
        let notes = records.iter().map(|r| self.encode(r, &mut x)).collect();
        (x, notes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn codes_follow_the_stored_vocabulary_and_unseen_values_are_reported() {
        let enc = Encoder::from_spec(EncoderSpec {
            names: vec!["n".into(), "c".into()],
            codings: vec![
                FeatureCoding::Numeric,
                FeatureCoding::Categorical {
                    values: vec!["tcp".into(), "udp".into()],
                },
            ],
        });
        assert_eq!(enc.categorical(), vec![1]);
        let mut x = Vec::new();
        enc.encode(&rec(Value::Num(2.0), Value::Cat("udp".into())), &mut x);
        assert_eq!(x, vec![2.0, 1.0]);
        let notes = enc.encode(&rec(Value::Missing, Value::Cat("icmp".into())), &mut x);
        assert!(x[2].is_nan(), "missing is NaN, never zero");
        assert_eq!(
            x[3], 2.0,
            "an unseen value gets the code one past the vocabulary"
        );
        assert_eq!(notes.missing, vec![0]);
        assert_eq!(notes.unseen, vec![(1, "icmp".to_string())]);
    }
}
