//! Strict JSON: a duplicate key in any object, at any depth, is an error.
//!
//! `serde_json` keeps the last of two equal keys without a word, and other parsers keep the
//! first. When a filter upstream of Arbiter reads `{"user": "alice", "user": "root"}` one way
//! and Arbiter reads it the other, the two disagree about the same event, which an attacker can
//! use to slip a field past whichever looks first. Refusing the line leaves one reading only.
//!
//! The check runs inside the one parse (a [`DeserializeSeed`] that builds the
//! [`serde_json::Value`] itself), so there is no second pass over the text; the cost is one
//! map lookup per key, which the map insertion does anyway.
//!
//! ```
//! let err = arbiter_ingest::json::from_slice_strict(br#"{"event": {"a": 1, "a": 2}}"#)
//!     .unwrap_err();
//! assert_eq!(err.to_string(), r#"duplicate key "a" in object at $.event"#);
//! ```

use std::cell::RefCell;
use std::fmt::{self, Write as _};

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Number, Value};
use thiserror::Error;

use crate::record::prefix;

/// Why strict parsing refused the input.
#[derive(Debug, Error)]
pub enum StrictJsonError {
    /// An object holds the same key twice. `path` is where the object is, `$` for the top
    /// level (`$.event`, `$.items[2]`, `$["id.orig_h"]`); both are cut to a short prefix.
    #[error("duplicate key {key:?} in object at {path}")]
    DuplicateKey { key: String, path: String },
    /// The input is not JSON (or has trailing characters, or nests too deep).
    #[error("{0}")]
    Syntax(#[source] serde_json::Error),
}

/// Parses one JSON document from bytes, refusing duplicate keys.
pub fn from_slice_strict(bytes: &[u8]) -> Result<Value, StrictJsonError> {
    strict(serde_json::Deserializer::from_slice(bytes))
}

/// Parses one JSON document from text, refusing duplicate keys. Faster than
/// [`from_slice_strict`] when the text is at hand, since it is known to be UTF-8 already.
pub fn from_str_strict(text: &str) -> Result<Value, StrictJsonError> {
    strict(serde_json::Deserializer::from_str(text))
}

fn strict<'de, R: serde_json::de::Read<'de>>(
    mut de: serde_json::Deserializer<R>,
) -> Result<Value, StrictJsonError> {
    let found = RefCell::new(None);
    let parsed = Strict {
        at: &At::Root,
        duplicate: &found,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v));
    match (parsed, found.into_inner()) {
        (_, Some(dup)) => Err(dup),
        (Ok(v), None) => Ok(v),
        (Err(e), None) => Err(StrictJsonError::Syntax(e)),
    }
}

/// Where a value sits, as a list on the stack: rendered only when a duplicate is found.
enum At<'a> {
    Root,
    Key(&'a At<'a>, &'a str),
    Index(&'a At<'a>, usize),
}

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            At::Root => f.write_char('$'),
            At::Key(parent, key) => {
                parent.fmt(f)?;
                let simple =
                    !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if simple {
                    write!(f, ".{}", prefix(key))
                } else {
                    write!(f, "[{:?}]", prefix(key))
                }
            }
            At::Index(parent, i) => {
                parent.fmt(f)?;
                write!(f, "[{i}]")
            }
        }
    }
}

/// Builds a [`Value`] like `serde_json` does, noting the first duplicate key.
#[derive(Clone, Copy)]
struct Strict<'a> {
    at: &'a At<'a>,
    duplicate: &'a RefCell<Option<StrictJsonError>>,
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        loop {
            let at = At::Index(self.at, items.len());
            let seed = Strict {
                at: &at,
                duplicate: self.duplicate,
            };
            match seq.next_element_seed(seed)? {
                Some(v) => items.push(v),
                None => return Ok(Value::Array(items)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = {
                let at = At::Key(self.at, &key);
                map.next_value_seed(Strict {
                    at: &at,
                    duplicate: self.duplicate,
                })?
            };
            // One lookup for both the check and the insertion.
            match object.entry(key) {
                Entry::Vacant(slot) => {
                    slot.insert(value);
                }
                Entry::Occupied(seen) => {
                    let err = StrictJsonError::DuplicateKey {
                        key: prefix(seen.key()),
                        path: self.at.to_string(),
                    };
                    let message = err.to_string();
                    self.duplicate.borrow_mut().get_or_insert(err);
                    return Err(de::Error::custom(message));
                }
            }
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dup(text: &str) -> String {
        match from_str_strict(text) {
            Err(e @ StrictJsonError::DuplicateKey { .. }) => e.to_string(),
            other => panic!("expected a duplicate key error for {text}, got {other:?}"),
        }
    }

    #[test]
    fn a_document_without_duplicates_parses_exactly_as_serde_json_does() {
        let text = r#"{"a": [1, -2, 3.5, 1e300, 18446744073709551615, null, true, "x\u00e9\n"],
                       "b": {"c": {}, "d": []}, "": 0, "id.orig_h": "10.0.0.1"}"#;
        let strict = from_str_strict(text).unwrap();
        let loose: Value = serde_json::from_str(text).unwrap();
        assert_eq!(strict, loose);
        assert_eq!(from_str_strict("7").unwrap(), json!(7));
    }

    #[test]
    fn a_duplicate_key_is_named_with_the_path_of_its_object() {
        assert_eq!(
            dup(r#"{"a": 1, "a": 2}"#),
            r#"duplicate key "a" in object at $"#
        );
        assert_eq!(
            dup(r#"{"event": {"src_bytes": 1, "x": 0, "src_bytes": 2}}"#),
            r#"duplicate key "src_bytes" in object at $.event"#
        );
        assert_eq!(
            dup(r#"{"items": [{"k": 1}, {"k": 1, "k": 1}]}"#),
            r#"duplicate key "k" in object at $.items[1]"#
        );
        assert_eq!(
            dup(r#"{"id.orig_h": {"p": 1, "p": 1}}"#),
            r#"duplicate key "p" in object at $["id.orig_h"]"#
        );
    }

    #[test]
    fn keys_that_differ_only_by_escaping_are_still_duplicates() {
        assert_eq!(
            dup(r#"{"user": "alice", "us\u0065r": "root"}"#),
            r#"duplicate key "user" in object at $"#
        );
    }

    #[test]
    fn equal_keys_in_different_objects_are_not_duplicates() {
        let v = from_str_strict(r#"{"a": {"k": 1}, "b": {"k": 2}, "k": [{"k": 3}, {"k": 4}]}"#);
        assert!(v.is_ok(), "{v:?}");
    }

    #[test]
    fn a_long_duplicate_key_is_quoted_by_a_prefix_only() {
        let key = "k".repeat(100_000);
        let message = dup(&format!(r#"{{"{key}": 1, "{key}": 2}}"#));
        assert!(message.len() < 200, "{message}");
        assert!(message.contains('…'), "{message}");
    }

    #[test]
    fn bad_json_and_trailing_text_are_syntax_errors() {
        for text in [r#"{"a": "#, r#"{"a": 1} x"#, "", "[1,]"] {
            assert!(
                matches!(from_str_strict(text), Err(StrictJsonError::Syntax(_))),
                "{text:?}"
            );
        }
    }

    #[test]
    fn nesting_deeper_than_serde_json_allows_is_refused_not_overflowed() {
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert!(matches!(
            from_str_strict(&deep),
            Err(StrictJsonError::Syntax(_))
        ));
    }
}
