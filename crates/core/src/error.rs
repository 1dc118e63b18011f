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
