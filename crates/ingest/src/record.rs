//! One parsed row and the conversion of raw cells into typed values by role.

use arbiter_core::{BENIGN, FieldRole, Schema};
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde_json::Value as Json;

/// A feature value. Missing stays missing: it is never read as zero.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Num(f64),
    Cat(String),
    Missing,
}

impl Value {
    pub fn is_missing(&self) -> bool {
        matches!(self, Value::Missing)
    }
}

/// One accepted row.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// 1-based line number in the decompressed file.
    pub line: u64,
    /// One value per feature field, in schema order.
    pub features: Vec<Value>,
    /// Ground truth label as written, when the data carries one.
    pub label: Option<String>,
    /// Ground truth category (`benign` or an attack family), when labelled.
    pub category: Option<String>,
    /// Event time in milliseconds since the Unix epoch.
    pub time_ms: Option<i64>,
    /// Identifier fields present in the row, in schema order.
    pub ids: Vec<(String, String)>,
}

impl Record {
    /// Whether the ground truth says malicious (`None` when unlabelled).
    pub fn is_malicious(&self) -> Option<bool> {
        self.category.as_ref().map(|c| c != BENIGN)
    }
}

/// A raw cell before conversion.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Raw<'a> {
    Absent,
    Text(&'a str),
    Json(&'a Json),
}

/// What a single cell conversion can fail with: the problem, and the value to quote.
pub(crate) struct CellError {
    pub value: String,
    pub problem: String,
}

fn quote(v: &Json) -> String {
    let s = v.to_string();
    if s.chars().count() > 80 {
        let cut: String = s.chars().take(77).collect();
        format!("{cut}...")
    } else {
        s
    }
}

/// Reads a cell as text; `None` when absent or a missing-value token.
pub(crate) fn text(raw: Raw<'_>, missing: &[String]) -> Result<Option<String>, CellError> {
    let s = match raw {
        Raw::Absent | Raw::Json(Json::Null) => return Ok(None),
        Raw::Text(s) => s.trim(),
        Raw::Json(Json::String(s)) => s.trim(),
        Raw::Json(Json::Number(n)) => return Ok(Some(n.to_string())),
        Raw::Json(Json::Bool(b)) => return Ok(Some(b.to_string())),
        Raw::Json(other) => {
            return Err(CellError {
                value: quote(other),
                problem: "expected a text or number, found a nested object or array".into(),
            });
        }
    };
    if missing.iter().any(|m| m == s) {
        Ok(None)
    } else {
        Ok(Some(s.to_string()))
    }
}

/// Reads a cell as a number, booleans as 1 and 0.
pub(crate) fn number(raw: Raw<'_>, missing: &[String]) -> Result<Value, CellError> {
    if let Raw::Json(Json::Number(n)) = raw {
        return n.as_f64().map(Value::Num).ok_or_else(|| CellError {
            value: n.to_string(),
            problem: "expected a number that fits in 64-bit floating point".into(),
        });
    }
    let Some(s) = text(raw, missing)? else {
        return Ok(Value::Missing);
    };
    if s.eq_ignore_ascii_case("true") {
        return Ok(Value::Num(1.0));
    }
    if s.eq_ignore_ascii_case("false") {
        return Ok(Value::Num(0.0));
    }
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(Value::Num(x)),
        Ok(_) => Err(CellError {
            value: s,
            problem: "expected a finite number (list the token under source.missing if it means no value)".into(),
        }),
        Err(_) => Err(CellError {
            value: s,
            problem: "expected a number".into(),
        }),
    }
}

/// Reads a categorical cell.
pub(crate) fn category(raw: Raw<'_>, missing: &[String]) -> Result<Value, CellError> {
    Ok(text(raw, missing)?.map_or(Value::Missing, Value::Cat))
}

/// Parses a joined timestamp by the schema's format into milliseconds since the epoch (UTC).
pub(crate) fn parse_time(s: &str, format: &str) -> Result<i64, String> {
    let s = s.trim();
    let fail = || format!("expected a time in format {format:?}");
    match format {
        "rfc3339" => DateTime::parse_from_rfc3339(s)
            .map(|t| t.timestamp_millis())
            .map_err(|_| fail()),
        "unix" => s
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(|x| (x * 1000.0).round() as i64)
            .ok_or_else(fail),
        "unix_ms" => s
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(|x| x.round() as i64)
            .ok_or_else(fail),
        pattern => NaiveDateTime::parse_from_str(s, pattern)
            .map(|t| t.and_utc().timestamp_millis())
            .or_else(|_| {
                NaiveDate::parse_from_str(s, pattern)
                    .map(|d| d.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp_millis())
            })
            .map_err(|_| fail()),
    }
}

/// Resolves ground truth into a category, refusing rows whose label and category field
/// contradict each other.
pub(crate) fn resolve_category(
    schema: &Schema,
    label: &str,
    category_field: Option<&str>,
) -> Result<String, String> {
    let label_benign = schema.is_benign(label);
    let resolved = schema.category_of(label, category_field);
    if let Some(cat) = category_field {
        let cat_benign = schema.is_benign(cat) || schema.category_of("\0", Some(cat)) == BENIGN;
        if cat_benign != label_benign {
            return Err(format!(
                "label {label:?} says {} but category {cat:?} says {}",
                if label_benign { "benign" } else { "malicious" },
                if cat_benign { "benign" } else { "malicious" }
            ));
        }
    }
    Ok(resolved)
}

/// Field roles resolved once per source.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// For each declared field: its role and, for features, its slot.
    pub slots: Vec<(FieldRole, Option<usize>)>,
    pub n_features: usize,
}

impl Plan {
    pub fn new(schema: &Schema) -> Plan {
        let mut n = 0;
        let slots = schema
            .fields
            .iter()
            .map(|f| {
                if f.role.is_feature() {
                    n += 1;
                    (f.role, Some(n - 1))
                } else {
                    (f.role, None)
                }
            })
            .collect();
        Plan {
            slots,
            n_features: n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none() -> Vec<String> {
        vec![String::new(), "?".into()]
    }

    #[test]
    fn a_missing_token_stays_missing_and_never_becomes_zero() {
        assert_eq!(number(Raw::Text(" ? "), &none()).ok(), Some(Value::Missing));
        assert_eq!(number(Raw::Text(""), &none()).ok(), Some(Value::Missing));
        assert_eq!(number(Raw::Absent, &none()).ok(), Some(Value::Missing));
        assert_eq!(
            number(Raw::Json(&Json::Null), &none()).ok(),
            Some(Value::Missing)
        );
    }

    #[test]
    fn numbers_parse_from_text_json_and_booleans() {
        assert_eq!(
            number(Raw::Text(" 1.5 "), &none()).ok(),
            Some(Value::Num(1.5))
        );
        assert_eq!(
            number(Raw::Json(&Json::from(7)), &none()).ok(),
            Some(Value::Num(7.0))
        );
        assert_eq!(
            number(Raw::Json(&Json::Bool(true)), &none()).ok(),
            Some(Value::Num(1.0))
        );
        assert_eq!(
            number(Raw::Text("FALSE"), &none()).ok(),
            Some(Value::Num(0.0))
        );
    }

    #[test]
    fn a_word_in_a_numeric_field_is_an_error_quoting_it() {
        let e = number(Raw::Text("abc"), &none()).err().unwrap();
        assert_eq!(e.value, "abc");
        assert_eq!(e.problem, "expected a number");
        let e = number(Raw::Text("NaN"), &none()).err().unwrap();
        assert!(e.problem.contains("finite"));
    }

    #[test]
    fn times_parse_in_every_declared_format() {
        assert_eq!(parse_time("1970-01-01T00:00:01Z", "rfc3339"), Ok(1000));
        assert_eq!(parse_time("2", "unix"), Ok(2000));
        assert_eq!(parse_time("2500", "unix_ms"), Ok(2500));
        assert_eq!(
            parse_time("25-Apr-19  19:19:40 ", "%d-%b-%y %H:%M:%S"),
            Ok(1_556_219_980_000)
        );
        assert_eq!(parse_time("2019-04-25", "%Y-%m-%d"), Ok(1_556_150_400_000));
        assert!(parse_time("yesterday", "rfc3339").is_err());
    }
}
