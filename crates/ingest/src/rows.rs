//! Turning the raw cells of one row into a [`Record`], shared by the CSV and NDJSON readers.

use arbiter_core::{FieldRole, Schema};

use crate::error::RowError;
use crate::record::{self, Cap, CellError, Plan, Raw, Record, Value, prefix};

/// Builds records for one source file.
pub(crate) struct Builder {
    pub schema: Schema,
    pub plan: Plan,
    pub file: String,
}

impl Builder {
    pub fn new(schema: Schema, file: String) -> Builder {
        Builder {
            plan: Plan::new(&schema),
            schema,
            file,
        }
    }

    pub fn row_error(
        &self,
        line: u64,
        field: Option<&str>,
        value: Option<String>,
        problem: impl Into<String>,
    ) -> RowError {
        RowError {
            file: self.file.clone(),
            line,
            field: field.map(str::to_string),
            value,
            problem: problem.into(),
        }
    }

    /// Converts one row. `cell(i)` gives the raw cell of declared field `i`.
    pub fn build<'a>(
        &self,
        line: u64,
        cell: impl Fn(usize) -> Raw<'a>,
    ) -> Result<Record, RowError> {
        let missing = &self.schema.source.missing;
        let mut features = vec![Value::Missing; self.plan.n_features];
        let mut label = None;
        let mut category_field = None;
        let mut ids = Vec::new();
        let mut stamps: Vec<(&str, String)> = Vec::new();
        for (i, spec) in self.schema.fields.iter().enumerate() {
            let (role, slot) = self.plan.slots[i];
            let raw = cell(i);
            let err =
                |e: CellError| self.row_error(line, Some(&spec.name), Some(e.value), e.problem);
            match role {
                FieldRole::Numeric => {
                    features[slot.expect("features have slots")] =
                        record::number(raw, missing).map_err(err)?;
                }
                FieldRole::Categorical => {
                    features[slot.expect("features have slots")] =
                        record::category(raw, missing).map_err(err)?;
                }
                FieldRole::Identifier => {
                    if let Some(v) = record::text(raw, missing, Cap::ID).map_err(err)? {
                        ids.push((spec.name.clone(), v));
                    }
                }
                FieldRole::Label => label = record::text(raw, missing, Cap::LABEL).map_err(err)?,
                FieldRole::Category => {
                    category_field = record::text(raw, missing, Cap::LABEL).map_err(err)?
                }
                FieldRole::Timestamp => {
                    if let Some(v) = record::text(raw, missing, Cap::CELL).map_err(err)? {
                        stamps.push((spec.name.as_str(), v));
                    }
                }
                FieldRole::Ignore => {}
            }
        }
        let category = match &label {
            Some(l) => Some(
                record::resolve_category(&self.schema, l, category_field.as_deref()).map_err(
                    |problem| {
                        let name = self
                            .schema
                            .field_with_role(FieldRole::Label)
                            .map(|f| &f.name);
                        self.row_error(line, name.map(String::as_str), Some(prefix(l)), problem)
                    },
                )?,
            ),
            None => None,
        };
        let time_ms = self.time(line, &stamps)?;
        Ok(Record {
            line,
            features,
            label,
            category,
            time_ms,
            ids,
        })
    }

    fn time(&self, line: u64, stamps: &[(&str, String)]) -> Result<Option<i64>, RowError> {
        if stamps.is_empty() {
            return Ok(None);
        }
        let (names, format): (Vec<&str>, &str) = match &self.schema.time {
            Some(t) => (t.fields.iter().map(String::as_str).collect(), &t.format),
            None => (vec![stamps[0].0], "rfc3339"),
        };
        let mut parts = Vec::with_capacity(names.len());
        for name in &names {
            match stamps.iter().find(|(n, _)| n == name) {
                Some((_, v)) => parts.push(v.trim()),
                // A partial time is no time: report it as missing rather than guess.
                None => return Ok(None),
            }
        }
        let joined = parts.join(" ");
        record::parse_time(&joined, format)
            .map(Some)
            .map_err(|problem| {
                self.row_error(line, Some(&names.join("+")), Some(prefix(&joined)), problem)
            })
    }
}
