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
