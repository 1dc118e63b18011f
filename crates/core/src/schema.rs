//! The schema file: how to read a source and what each field means.
//!
//! A schema is the only thing a user writes to bring their own CSV or NDJSON data to Arbiter.
//! It is versioned (`format_version` for the file format, `revision` for the meaning of the
//! fields) and rejects unknown keys, so a typo is an error instead of a silently ignored line.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::error::SchemaError;

/// The schema file format this build reads.
pub const SCHEMA_FORMAT_VERSION: u32 = 1;

/// A parsed, validated schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schema {
    /// Version of the schema file format; must equal [`SCHEMA_FORMAT_VERSION`].
    pub format_version: u32,
    /// Short machine name, e.g. `nsl-kdd`.
    pub name: String,
    /// Revision of the field list and its meaning; `name@revision` identifies the schema.
    pub revision: u32,
    /// One paragraph on what the data is and where it comes from.
    #[serde(default)]
    pub description: String,
    /// True for generated data; every report built on it says so.
    #[serde(default)]
    pub synthetic: bool,
    /// How to read the bytes.
    pub source: SourceSpec,
    /// How to read ground truth, when the data carries it.
    #[serde(default)]
    pub label: Option<LabelSpec>,
    /// How to assemble the event time from timestamp fields.
    #[serde(default)]
    pub time: Option<TimeSpec>,
    /// Every field, in file order for headerless CSV.
    pub fields: Vec<FieldSpec>,
}

/// The container format of a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Delimited text, optionally with a header row.
    Csv,
    /// One JSON object per line; fields are found by `path`.
    Ndjson,
}

/// How to read a source's bytes. Compression (`.gz`, `.xz`, `.zst`) is chosen by file extension
/// and a UTF-8 byte-order mark and CRLF line ends are always accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    pub format: Format,
    /// CSV only: whether the first row names the columns.
    #[serde(default)]
    pub header: bool,
    /// CSV only: one ASCII character.
    #[serde(default = "default_delimiter")]
    pub delimiter: String,
    /// Cell contents that mean "no value" (compared after trimming spaces).
    #[serde(default = "default_missing")]
    pub missing: Vec<String>,
    /// CSV with header only: columns present in the file but not declared here.
    #[serde(default)]
    pub extra_columns: ExtraColumns,
}

fn default_delimiter() -> String {
    ",".to_string()
}

fn default_missing() -> Vec<String> {
    vec![String::new()]
}

/// What to do with undeclared columns in a CSV file with a header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExtraColumns {
    /// Read nothing from them, but name them in the ingest report.
    #[default]
    Ignore,
    /// Refuse the file.
    Error,
}

/// Ground truth: which label value is benign and which category each label belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelSpec {
    /// Values of the label field that mean benign (e.g. `normal`, or `0`).
    pub benign: Vec<String>,
    /// Label (or category-field) value to category, e.g. `neptune: dos`. Benign rows are always
    /// in category `benign`; a value missing from the map is its own category.
    #[serde(default)]
    pub categories: BTreeMap<String, String>,
}

/// How to turn timestamp fields into one event time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeSpec {
    /// Timestamp fields, joined with one space in this order before parsing.
    pub fields: Vec<String>,
    /// `rfc3339`, `unix` (seconds), `unix_ms`, or a strftime pattern such as
    /// `%d-%b-%y %H:%M:%S` (read as UTC).
    pub format: String,
}

/// The role a field plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldRole {
    /// A number the model reads.
    Numeric,
    /// A symbol the model reads as an unordered category.
    Categorical,
    /// Names the event or its entity (host, user, flow id); never a model input.
    Identifier,
    /// Part of the event time; never a model input.
    Timestamp,
    /// Ground truth verdict: benign or an attack name.
    Label,
    /// Ground truth attack family, when the data carries it separately from the label.
    Category,
    /// Read past and dropped.
    Ignore,
}

impl FieldRole {
    /// Whether the model reads this field.
    pub fn is_feature(self) -> bool {
        matches!(self, FieldRole::Numeric | FieldRole::Categorical)
    }
}

/// One field of the source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// Column name (CSV) or output name (NDJSON).
    pub name: String,
    pub role: FieldRole,
    /// NDJSON only: dotted path to the value, `a.b.0.c`; defaults to `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// What the field means, in an analyst's words.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub about: String,
    /// The check that would falsify a verdict driven by this field.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub falsify: String,
}

impl Schema {
    /// Parses and validates a schema from YAML text. `origin` names the text in errors.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Schema, SchemaError> {
        let schema: Schema =
            serde_yaml_ng::from_str(text).map_err(|e| SchemaError::syntax(origin, &e))?;
        schema.validate(origin)?;
        Ok(schema)
    }

    /// `name@revision`, the identifier carried in every score and bundle.
    pub fn id(&self) -> String {
        format!("{}@{}", self.name, self.revision)
    }

    /// Fields the model reads, in schema order.
    pub fn features(&self) -> impl Iterator<Item = &FieldSpec> {
        self.fields.iter().filter(|f| f.role.is_feature())
    }

    /// The field with the given role, if exactly one is declared.
    pub fn field_with_role(&self, role: FieldRole) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.role == role)
    }

    /// Looks a field up by name.
    pub fn field(&self, name: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The category a labelled row belongs to: `benign` for benign labels, otherwise the
    /// category field's value (when present) or the label, mapped through `label.categories`.
    pub fn category_of(&self, label: &str, category_field: Option<&str>) -> String {
        let Some(spec) = &self.label else {
            return label.to_string();
        };
        if spec.benign.iter().any(|b| b == label) {
            return BENIGN.to_string();
        }
        let raw = category_field.unwrap_or(label);
        spec.categories
            .get(raw)
            .cloned()
            .unwrap_or_else(|| raw.to_string())
    }

    /// Whether a label value means benign.
    pub fn is_benign(&self, label: &str) -> bool {
        self.label
            .as_ref()
            .is_some_and(|s| s.benign.iter().any(|b| b == label))
    }

    /// Serialises back to YAML (used to store the schema inside a model bundle).
    pub fn to_yaml(&self) -> String {
        serde_yaml_ng::to_string(self).expect("a schema always serialises")
    }

    fn validate(&self, origin: &str) -> Result<(), SchemaError> {
        let invalid = |message: String| SchemaError::Invalid {
            origin: origin.to_string(),
            message,
        };
        if self.format_version != SCHEMA_FORMAT_VERSION {
            return Err(invalid(format!(
                "format_version {} is not supported: this build reads format_version {}",
                self.format_version, SCHEMA_FORMAT_VERSION
            )));
        }
        if self.name.trim().is_empty() {
            return Err(invalid("name must not be empty".into()));
        }
        if self.source.delimiter.len() != 1 || !self.source.delimiter.is_ascii() {
            return Err(invalid(format!(
                "delimiter {:?} must be exactly one ASCII character",
                self.source.delimiter
            )));
        }
        let mut seen = BTreeSet::new();
        for f in &self.fields {
            if f.name.trim().is_empty() {
                return Err(invalid("a field has an empty name".into()));
            }
            if !seen.insert(f.name.as_str()) {
                return Err(invalid(format!("field {} is declared twice", f.name)));
            }
            if f.path.is_some() && self.source.format == Format::Csv {
                return Err(invalid(format!(
                    "field {} has a path, but paths apply to ndjson sources only",
                    f.name
                )));
            }
        }
        if self.features().next().is_none() {
            return Err(invalid(
                "no field has role numeric or categorical, so there is nothing to model".into(),
            ));
        }
        for role in [FieldRole::Label, FieldRole::Category] {
            if self.fields.iter().filter(|f| f.role == role).count() > 1 {
                return Err(invalid(format!("more than one field has role {role:?}")));
            }
        }
        let has_label_field = self.field_with_role(FieldRole::Label).is_some();
        match (&self.label, has_label_field) {
            (Some(spec), true) if spec.benign.is_empty() => {
                return Err(invalid("label.benign must list at least one value".into()));
            }
            (Some(_), false) => {
                return Err(invalid(
                    "a label section is given but no field has role label".into(),
                ));
            }
            (None, true) => {
                return Err(invalid(
                    "a field has role label but there is no label section naming the benign value"
                        .into(),
                ));
            }
            _ => {}
        }
        if self.field_with_role(FieldRole::Category).is_some() && !has_label_field {
            return Err(invalid(
                "a field has role category but no field has role label".into(),
            ));
        }
        let stamp_fields: Vec<&str> = self
            .fields
            .iter()
            .filter(|f| f.role == FieldRole::Timestamp)
            .map(|f| f.name.as_str())
            .collect();
        if let Some(time) = &self.time {
            if time.fields.is_empty() {
                return Err(invalid("time.fields must name at least one field".into()));
            }
            for name in &time.fields {
                if !stamp_fields.contains(&name.as_str()) {
                    return Err(invalid(format!(
                        "time.fields names {name}, which is not a field with role timestamp"
                    )));
                }
            }
        } else if stamp_fields.len() > 1 {
            return Err(invalid(
                "several timestamp fields need a time section saying how to join them".into(),
            ));
        }
        Ok(())
    }
}

/// The category name of benign rows.
pub const BENIGN: &str = "benign";

/// The hypothesis name for "none of the categories seen in training".
pub const NOVEL: &str = "novel";

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
format_version: 1
name: tiny
revision: 2
source: {format: csv, header: true}
label: {benign: [normal], categories: {neptune: dos}}
fields:
  - {name: bytes, role: numeric, about: bytes sent, falsify: check the flow log}
  - {name: proto, role: categorical}
  - {name: attack, role: label}
"#;

    #[test]
    fn a_minimal_schema_parses_and_names_itself_with_its_revision() {
        let s = Schema::from_yaml(MINIMAL, "tiny.yaml").unwrap();
        assert_eq!(s.id(), "tiny@2");
        assert_eq!(s.features().count(), 2);
        assert_eq!(s.source.delimiter, ",");
        assert_eq!(s.source.missing, vec![String::new()]);
    }

    #[test]
    fn an_unknown_key_is_an_error_naming_the_file_and_line() {
        let text = MINIMAL.replace("revision: 2", "revision: 2\nrevison: 3");
        let err = Schema::from_yaml(&text, "tiny.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("tiny.yaml"), "{err}");
        assert!(
            err.starts_with("tiny.yaml line 5 column 1: unknown field `revison`"),
            "{err}"
        );
        assert!(err.contains("revison"), "{err}");
    }

    #[test]
    fn an_unknown_role_is_an_error_naming_the_role() {
        let text = MINIMAL.replace("role: categorical", "role: categoric");
        let err = Schema::from_yaml(&text, "tiny.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("categoric"), "{err}");
        assert!(err.contains("line"), "{err}");
    }

    #[test]
    fn categories_map_labels_and_benign_rows_are_always_benign() {
        let s = Schema::from_yaml(MINIMAL, "tiny.yaml").unwrap();
        assert_eq!(s.category_of("normal", None), "benign");
        assert_eq!(s.category_of("neptune", None), "dos");
        assert_eq!(s.category_of("mscan", None), "mscan");
        assert_eq!(s.category_of("1", Some("neptune")), "dos");
    }

    #[test]
    fn a_schema_without_features_is_rejected() {
        let text = MINIMAL
            .replace("role: numeric", "role: ignore")
            .replace("role: categorical", "role: identifier");
        let err = Schema::from_yaml(&text, "tiny.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("nothing to model"), "{err}");
    }

    #[test]
    fn a_duplicate_field_is_rejected_by_name() {
        let text = MINIMAL.replace("name: proto", "name: bytes");
        let err = Schema::from_yaml(&text, "tiny.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("field bytes is declared twice"), "{err}");
    }

    #[test]
    fn a_label_field_needs_a_benign_value() {
        let text = MINIMAL.replace(
            "label: {benign: [normal], categories: {neptune: dos}}\n",
            "",
        );
        let err = Schema::from_yaml(&text, "tiny.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("benign"), "{err}");
    }

    #[test]
    fn a_future_format_version_is_refused() {
        let text = MINIMAL.replace("format_version: 1", "format_version: 9");
        let err = Schema::from_yaml(&text, "tiny.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("format_version 9"), "{err}");
    }

    #[test]
    fn a_schema_survives_a_yaml_round_trip() {
        let s = Schema::from_yaml(MINIMAL, "tiny.yaml").unwrap();
        let back = Schema::from_yaml(&s.to_yaml(), "round-trip").unwrap();
        assert_eq!(s, back);
    }
}
