//! Errors from loading and validating a policy file.
//!
//! Every message names the file and, when it can be found, the line of the offending key, so
//! an analyst editing YAML at 2 a.m. can jump straight to the mistake.

use std::fmt;
use std::path::PathBuf;

/// Where in a policy file something went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file name as given to [`crate::Policy::from_yaml`] or [`crate::Policy::load`].
    pub file: String,
    /// 1-based line, when the offending text could be located.
    pub line: Option<usize>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{} line {line}", self.file),
            None => f.write_str(&self.file),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read policy file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The YAML does not parse, or does not fit the policy format (unknown key, wrong type).
    #[error("{at}: {message}")]
    Syntax { at: Location, message: String },
    /// The `version` key is absent or names a format this build does not know.
    #[error("{at}: unsupported policy version {version}, expected 1")]
    Version { at: Location, version: String },
    /// The file parses but breaks a rule (undeclared action, threshold out of range …).
    #[error("{at}: {key}: {message}")]
    Invalid {
        at: Location,
        key: String,
        message: String,
    },
    /// Saved guardrail state (rate limiter, breaker, flood control) could not be read back.
    #[error("cannot restore {what} state: {source}")]
    State {
        what: &'static str,
        source: serde_json::Error,
    },
}
