//! One parsed row and the conversion of raw cells into typed values by role.

use arbiter_core::{BENIGN, FieldRole, FieldValue, Observed, Schema};
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

    /// The features by name, as the model reads them: what a stored alert keeps so a label
    /// given on it later can be trained on.
    pub fn observed(&self, schema: &Schema) -> Observed {
        schema
            .features()
            .zip(&self.features)
            .map(|(f, v)| {
                let v = match v {
                    Value::Num(x) => FieldValue::Number(*x),
                    Value::Cat(s) => FieldValue::Text(s.clone()),
                    Value::Missing => FieldValue::Missing,
                };
                (f.name.clone(), v)
            })
            .collect()
    }

    /// A record back from stored features: a feature the map lacks is missing, and a value
    /// of the wrong kind for its role (text where a number is read) is missing too, so a
    /// stored alert is read exactly as the model read it, never guessed at.
    pub fn from_observed(schema: &Schema, observed: &Observed, line: u64) -> Record {
        let features = schema
            .features()
            .map(|f| match (observed.get(&f.name), f.role) {
                (Some(FieldValue::Number(x)), FieldRole::Numeric) => Value::Num(*x),
                (Some(FieldValue::Text(s)), FieldRole::Categorical) => Value::Cat(s.clone()),
                _ => Value::Missing,
            })
            .collect();
        Record {
            line,
            features,
            label: None,
            category: None,
            time_ms: None,
            ids: Vec::new(),
        }
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

/// Longest identifier value a row may carry, in bytes (after trimming spaces).
///
/// Identifiers name hosts, users, flows and processes and are stored with every alert and
/// shown in every view of it. 256 bytes holds the longest DNS name (253), a Windows SID, a
/// GUID, an IPv6 address with zone or a Zeek uid with room to spare; anything longer is a
/// payload in the wrong column, not a name.
pub const MAX_ID_BYTES: usize = 256;

/// Longest categorical feature value, and the longest label or category-field value, in bytes.
///
/// A category is a symbol the model counts (protocol, service, process image, event id), and
/// a label names a class. Each distinct value is kept in the model's encodings, in the stored
/// evidence of every alert that has it and in its explanation, so one oversized value is
/// stored many times over (a 1 MB value became a 7.35 MB evidence package). 1 KiB holds a
/// Windows path (260), a URL of ordinary length or a user agent. In the real Windows event logs
/// of the shared data (696,000 events), 127 `CommandLine` values exceed it: such a field is a
/// payload and belongs in `ignore` or in an identifier-like field the schema keeps out of the
/// model, not in a categorical one.
pub const MAX_CATEGORY_BYTES: usize = 1024;

/// Longest text of any other cell that is read (timestamp parts and numbers written as text),
/// in bytes. These are parsed, not stored as text, so the limit only bounds the work and the
/// error a malformed cell can cause; 4 KiB is far above any time or number.
pub const MAX_CELL_BYTES: usize = 4096;

/// A quoted value keeps this many characters, then `…`, so an error is never larger than a
/// line of a terminal however large the input was.
pub const QUOTE_CHARS: usize = 64;

/// The byte limit for one kind of cell, and how errors name that kind.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cap {
    pub bytes: usize,
    pub what: &'static str,
}

impl Cap {
    pub const ID: Cap = Cap {
        bytes: MAX_ID_BYTES,
        what: "an identifier",
    };
    pub const CATEGORY: Cap = Cap {
        bytes: MAX_CATEGORY_BYTES,
        what: "a categorical value",
    };
    pub const LABEL: Cap = Cap {
        bytes: MAX_CATEGORY_BYTES,
        what: "a label or category",
    };
    pub const CELL: Cap = Cap {
        bytes: MAX_CELL_BYTES,
        what: "a text cell",
    };
}

/// The first [`QUOTE_CHARS`] characters of `s`, with `…` when anything was cut.
pub(crate) fn prefix(s: &str) -> String {
    match s.char_indices().nth(QUOTE_CHARS) {
        Some((end, _)) => format!("{}…", &s[..end]),
        None => s.to_string(),
    }
}

/// A JSON value as text, cut like [`prefix`], without ever writing out more than a few
/// hundred bytes of it.
fn quote_json(v: &Json) -> String {
    struct Bounded(Vec<u8>);
    impl std::io::Write for Bounded {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            // Four bytes per character at most: enough to know whether more than
            // QUOTE_CHARS characters follow.
            let room = (4 * QUOTE_CHARS + 4).saturating_sub(self.0.len());
            if room == 0 {
                return Err(std::io::Error::other("quote is long enough"));
            }
            let n = buf.len().min(room);
            self.0.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut out = Bounded(Vec::new());
    // A full buffer ends the writing early with an error; what was written is what we want.
    let _ = serde_json::to_writer(&mut out, v);
    prefix(&String::from_utf8_lossy(&out.0))
}

/// Reads a cell as text; `None` when absent or a missing-value token. A value longer than
/// `cap` (after trimming) is an error quoting its prefix.
pub(crate) fn text(
    raw: Raw<'_>,
    missing: &[String],
    cap: Cap,
) -> Result<Option<String>, CellError> {
    let s = match raw {
        Raw::Absent | Raw::Json(Json::Null) => return Ok(None),
        Raw::Text(s) => s.trim(),
        Raw::Json(Json::String(s)) => s.trim(),
        Raw::Json(Json::Number(n)) => return Ok(Some(n.to_string())),
        Raw::Json(Json::Bool(b)) => return Ok(Some(b.to_string())),
        Raw::Json(other) => {
            return Err(CellError {
                value: quote_json(other),
                problem: "expected a text or number, found a nested object or array".into(),
            });
        }
    };
    if missing.iter().any(|m| m == s) {
        return Ok(None);
    }
    if s.len() > cap.bytes {
        return Err(CellError {
            value: prefix(s),
            problem: format!(
                "{} bytes, over the limit of {} bytes for {}",
                s.len(),
                cap.bytes,
                cap.what
            ),
        });
    }
    Ok(Some(s.to_string()))
}

/// Reads a cell as a number, booleans as 1 and 0.
pub(crate) fn number(raw: Raw<'_>, missing: &[String]) -> Result<Value, CellError> {
    if let Raw::Json(Json::Number(n)) = raw {
        return n.as_f64().map(Value::Num).ok_or_else(|| CellError {
            value: n.to_string(),
            problem: "expected a number that fits in 64-bit floating point".into(),
        });
    }
    let Some(s) = text(raw, missing, Cap::CELL)? else {
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
            value: prefix(&s),
            problem: "expected a finite number (list the token under source.missing if it means no value)".into(),
        }),
        Err(_) => Err(CellError {
            value: prefix(&s),
            problem: "expected a number".into(),
        }),
    }
}

/// Reads a categorical cell.
pub(crate) fn category(raw: Raw<'_>, missing: &[String]) -> Result<Value, CellError> {
    Ok(text(raw, missing, Cap::CATEGORY)?.map_or(Value::Missing, Value::Cat))
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
                "label {:?} says {} but category {:?} says {}",
                prefix(label),
                if label_benign { "benign" } else { "malicious" },
                prefix(cat),
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
