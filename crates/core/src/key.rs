//! Alert identity: the source that raised an alert and that source's own id for it.
//!
//! A file name and a line number say where an alert was *read*; they are provenance, never
//! identity. The same alert replayed from another copy of the file, or resubmitted over HTTP,
//! has the same key, so storing it twice is impossible.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::VocabError;

/// Longest source name, in bytes.
pub const MAX_SOURCE_BYTES: usize = 64;
/// Longest source id, in bytes.
pub const MAX_SOURCE_ID_BYTES: usize = 256;

/// `source` + the source's own id. Written `source/id` (the source has no `/`; the id may).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AlertKey {
    source: String,
    id: String,
}

impl AlertKey {
    /// A key from a source name (1 to 64 bytes of `a-z A-Z 0-9 . _ - @ +`) and an id (1 to
    /// 256 bytes, no control characters).
    pub fn new(source: &str, id: &str) -> Result<AlertKey, VocabError> {
        let ok_source = !source.is_empty()
            && source.len() <= MAX_SOURCE_BYTES
            && source
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+'));
        if !ok_source {
            return Err(VocabError::new(
                "alert source",
                source,
                "1 to 64 characters of letters, digits, '.', '_', '-', '@' or '+'",
            ));
        }
        if id.is_empty() || id.len() > MAX_SOURCE_ID_BYTES || id.contains(char::is_control) {
            return Err(VocabError::new(
                "alert id",
                id,
                "1 to 256 bytes without control characters",
            ));
        }
        Ok(AlertKey {
            source: source.to_string(),
            id: id.to_string(),
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The source's own id for the alert.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// How the audit log names this alert: `alert:source/id`.
    pub fn entity(&self) -> String {
        format!("alert:{self}")
    }
}

impl fmt::Display for AlertKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.source, self.id)
    }
}

impl FromStr for AlertKey {
    type Err = VocabError;
    fn from_str(s: &str) -> Result<AlertKey, VocabError> {
        let s = s.strip_prefix("alert:").unwrap_or(s);
        match s.split_once('/') {
            Some((source, id)) => AlertKey::new(source, id),
            None => Err(VocabError::new("alert key", s, "source/id")),
        }
    }
}

impl TryFrom<String> for AlertKey {
    type Error = VocabError;
    fn try_from(s: String) -> Result<AlertKey, VocabError> {
        s.parse()
    }
}

impl From<AlertKey> for String {
    fn from(k: AlertKey) -> String {
        k.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_round_trips_through_its_text_and_keeps_slashes_in_the_id() {
        let k = AlertKey::new("siem-1", "a/b/c").unwrap();
        assert_eq!(k.to_string(), "siem-1/a/b/c");
        assert_eq!("siem-1/a/b/c".parse::<AlertKey>().unwrap(), k);
        assert_eq!("alert:siem-1/a/b/c".parse::<AlertKey>().unwrap(), k);
        assert_eq!(k.entity(), "alert:siem-1/a/b/c");
    }

    #[test]
    fn bad_sources_and_ids_are_refused_by_name() {
        let e = AlertKey::new("a b", "1").unwrap_err().to_string();
        assert!(e.contains("alert source") && e.contains("\"a b\""), "{e}");
        assert!(AlertKey::new("", "1").is_err());
        assert!(AlertKey::new("s", "").is_err());
        assert!(AlertKey::new("s", "x\ny").is_err());
        assert!(AlertKey::new("s", &"x".repeat(257)).is_err());
        assert!("no-slash".parse::<AlertKey>().is_err());
    }
}
