//! Alert identity for incoming rows: the source's own id when the row carries one, else a key
//! derived from what the row says, so a resubmitted alert is recognised whichever way it
//! arrives (the same file again, another copy of it, or a client retrying over HTTP).

use std::collections::HashMap;

use arbiter_core::{AlertKey, FieldRole, Schema, VocabError};
use arbiter_ingest::{Record, Value};
use sha2::{Digest, Sha256};

/// Makes the keys of one input (a file run or one HTTP request).
#[derive(Debug)]
pub struct KeyMaker {
    source: String,
    /// The schema's first identifier field: the alert's own id.
    id_field: Option<String>,
    idempotency: Option<String>,
    /// Occurrences so far of each content digest in this input.
    seen: HashMap<String, u32>,
}

impl KeyMaker {
    /// Keys for rows from `source` read with `schema`. A row's id is its value of the
    /// schema's first identifier field.
    pub fn new(source: &str, schema: &Schema) -> Result<KeyMaker, VocabError> {
        // Validates the source name once.
        AlertKey::new(source, "x")?;
        Ok(KeyMaker {
            source: source.to_string(),
            id_field: schema
                .fields
                .iter()
                .find(|f| f.role == FieldRole::Identifier)
                .map(|f| f.name.clone()),
            idempotency: None,
            seen: HashMap::new(),
        })
    }

    /// Rows without an id get `idem:<key>#<line>`: a client that resends the same request with
    /// the same `Idempotency-Key` gets the same keys, and nothing is stored twice.
    pub fn with_idempotency_key(mut self, key: &str) -> Result<KeyMaker, VocabError> {
        let ok = !key.is_empty() && key.len() <= 128 && key.bytes().all(|b| b.is_ascii_graphic());
        if !ok {
            return Err(VocabError::new(
                "Idempotency-Key",
                key,
                "1 to 128 visible ASCII characters",
            ));
        }
        self.idempotency = Some(key.to_string());
        Ok(self)
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The key of `r`: its id; else, with an idempotency key, `idem:<key>#<line>`; else
    /// `sha256:<digest of its values>#<n>` where n counts earlier identical rows in this input.
    pub fn key(&mut self, r: &Record) -> Result<AlertKey, VocabError> {
        let own = self
            .id_field
            .as_ref()
            .and_then(|f| r.ids.iter().find(|(k, _)| k == f))
            .map(|(_, v)| v.clone());
        let id = match (own, &self.idempotency) {
            (Some(id), _) => id,
            (None, Some(idem)) => format!("idem:{idem}#{}", r.line),
            (None, None) => {
                let d = digest(r);
                let n = self.seen.entry(d.clone()).or_insert(0);
                let id = format!("sha256:{d}#{n}");
                *n += 1;
                id
            }
        };
        AlertKey::new(&self.source, &id)
    }
}

/// The row's values and event time, hashed (128 bits, hex).
fn digest(r: &Record) -> String {
    let mut h = Sha256::new();
    for v in &r.features {
        match v {
            Value::Num(x) => {
                h.update(b"n");
                h.update(x.to_bits().to_be_bytes());
            }
            Value::Cat(s) => {
                h.update(b"c");
                h.update((s.len() as u64).to_be_bytes());
                h.update(s.as_bytes());
            }
            Value::Missing => h.update(b"m"),
        }
    }
    if let Some(t) = r.time_ms {
        h.update(b"t");
        h.update(t.to_be_bytes());
    }
    hex::encode(&h.finalize()[..16])
}

/// The row's values, hashed: what "identical" means for flood control on rows without host
/// or user.
pub(crate) fn fingerprint(r: &Record) -> String {
    digest(r)[..16].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arbiter_core::{FieldSpec, Format, SCHEMA_FORMAT_VERSION, SourceSpec};

    fn schema(with_id: bool) -> Schema {
        let field = |name: &str, role| FieldSpec {
            name: name.into(),
            role,
            path: None,
            about: String::new(),
            falsify: String::new(),
        };
        let mut fields = vec![field("bytes", FieldRole::Numeric)];
        if with_id {
            fields.insert(0, field("alert_id", FieldRole::Identifier));
            fields.push(field("host", FieldRole::Identifier));
        }
        Schema {
            format_version: SCHEMA_FORMAT_VERSION,
            name: "s".into(),
            revision: 1,
            description: String::new(),
            synthetic: true,
            source: SourceSpec {
                format: Format::Ndjson,
                header: false,
                delimiter: ",".into(),
                missing: vec![],
                extra_columns: Default::default(),
            },
            label: None,
            time: None,
            fields,
        }
    }

    fn record(line: u64, bytes: f64, ids: &[(&str, &str)]) -> Record {
        Record {
            line,
            features: vec![Value::Num(bytes)],
            label: None,
            category: None,
            time_ms: None,
            ids: ids
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn an_alert_with_its_own_id_is_keyed_by_source_and_that_id_not_by_where_it_was_read() {
        let mut k = KeyMaker::new("siem", &schema(true)).unwrap();
        let a = k
            .key(&record(7, 1.0, &[("alert_id", "A-1"), ("host", "h")]))
            .unwrap();
        assert_eq!(a.to_string(), "siem/A-1");
        let again = k.key(&record(900, 2.0, &[("alert_id", "A-1")])).unwrap();
        assert_eq!(again, a, "line and values do not matter, the id does");
    }

    #[test]
    fn a_row_whose_own_id_is_missing_is_not_keyed_by_another_identifier() {
        let mut k = KeyMaker::new("siem", &schema(true)).unwrap();
        let a = k.key(&record(1, 1.0, &[("host", "h")])).unwrap();
        assert!(a.id().starts_with("sha256:"), "{a}");
    }

    #[test]
    fn issue_10_rows_without_ids_get_content_keys_counted_within_the_input() {
        let mut k = KeyMaker::new("kdd", &schema(false)).unwrap();
        let a = k.key(&record(1, 5.0, &[])).unwrap();
        let b = k.key(&record(2, 5.0, &[])).unwrap();
        let c = k.key(&record(3, 6.0, &[])).unwrap();
        assert!(a.id().ends_with("#0") && b.id().ends_with("#1"), "{a} {b}");
        assert_ne!(a, b, "two identical rows in one input are two alerts");
        assert_ne!(a.id()[..20], c.id()[..20]);
        // The same input again (a retried request, a rerun) gives the same keys.
        let mut again = KeyMaker::new("kdd", &schema(false)).unwrap();
        assert_eq!(again.key(&record(10, 5.0, &[])).unwrap(), a);
        assert_eq!(again.key(&record(11, 5.0, &[])).unwrap(), b);
    }

    #[test]
    fn issue_10_an_idempotency_key_names_rows_without_ids_by_request_and_line() {
        let mut k = KeyMaker::new("api", &schema(false))
            .unwrap()
            .with_idempotency_key("req-42")
            .unwrap();
        assert_eq!(
            k.key(&record(3, 5.0, &[])).unwrap().to_string(),
            "api/idem:req-42#3"
        );
        let bad = KeyMaker::new("api", &schema(false))
            .unwrap()
            .with_idempotency_key("has space")
            .unwrap_err();
        assert!(bad.to_string().contains("Idempotency-Key"), "{bad}");
        assert!(KeyMaker::new("bad source", &schema(false)).is_err());
    }
}
