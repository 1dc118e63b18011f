//! Arbiter's domain types (schemas, probabilities, uncertainty flags, the score record) and the
//! statistics every stage shares ([`stats`]).
//!
//! Pure data and logic, no IO, so every later stage (ingest, model, explain, policy, store,
//! server) agrees on one vocabulary.
//!
//! ```
//! use arbiter_core::{Probability, Flag};
//! let p = Probability::new(0.97).unwrap();
//! assert!(Probability::new(f64::NAN).is_err());
//! assert_eq!(Flag::OutOfDistribution.as_str(), "out_of_distribution");
//! # let _ = p;
//! ```

mod error;
mod evidence;
mod schema;
mod score;
pub mod stats;

pub use error::{ProbabilityError, SchemaError};
pub use evidence::{
    Change, Counterfactual, Driver, EVIDENCE_SCHEMA_VERSION, Evidence, EvidencePackage,
    Falsification, FieldValue, Hypothesis, Provenance, SimilarCase, SimilarCases, Summary,
    Uncertainty, VerdictSummary,
};
pub use schema::{
    BENIGN, ExtraColumns, FieldSpec, Format, LabelSpec, NOVEL, Role, SCHEMA_FORMAT_VERSION, Schema,
    SourceSpec, TimeSpec,
};
pub use score::{Flag, Probability, RowSource, Score, Verdict};
