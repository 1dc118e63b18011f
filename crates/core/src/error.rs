//! Errors of the domain types.

use thiserror::Error;

/// A schema that cannot be read or does not make sense.
#[derive(Debug, Error)]
pub enum SchemaError {
    #[error("{origin}{}: {message}", position.map(|(l, c)| format!(" line {l} column {c}")).unwrap_or_default())]
    Syntax {
        origin: String,
        position: Option<(usize, usize)>,
        message: String,
    },
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
}

impl SchemaError {
    /// Wraps a YAML error, moving its position into the prefix so the message reads
    /// `file line L column C: what went wrong`.
    pub fn syntax(origin: &str, err: &serde_yaml_ng::Error) -> SchemaError {
        let mut message = err.to_string();
        if let Some(at) = message.rfind(" at line ") {
            message.truncate(at);
        }
        SchemaError::Syntax {
            origin: origin.to_string(),
            position: err.location().map(|l| (l.line(), l.column())),
            message,
        }
    }
}

/// A value that is not a probability.
#[derive(Debug, Error, PartialEq)]
#[error("{value} is not a probability: expected a number in [0, 1]")]
pub struct ProbabilityError {
    pub value: f64,
}

/// A word of the vocabulary (a state, a role, a key …) that is not one.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("invalid {what} {value:?}: expected {expected}")]
pub struct VocabError {
    pub what: &'static str,
    /// The offending text, cut to 80 characters so an error never amplifies its input.
    pub value: String,
    pub expected: String,
}

impl VocabError {
    pub fn new(what: &'static str, value: &str, expected: impl Into<String>) -> VocabError {
        let value = if value.chars().count() > 80 {
            format!("{}…", value.chars().take(80).collect::<String>())
        } else {
            value.to_string()
        };
        VocabError {
            what,
            value,
            expected: expected.into(),
        }
    }
}
