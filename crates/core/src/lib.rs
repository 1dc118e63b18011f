//! Arbiter's vocabulary: schemas, probabilities, uncertainty flags, the score record and the
//! evidence package; alert identity ([`AlertKey`]), lifecycle ([`AlertState`], [`Tier`],
//! [`Decision`], [`Impact`]), who acts ([`Role`], [`Permission`], [`Actor`], [`ModelId`]), time
//! as an input ([`Clock`]), what a human teaches ([`Label`], [`LabelSource`], [`Observed`]),
//! how probabilities are shown ([`display`]), and the statistics
//! every stage shares ([`stats`]).
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

mod clock;
pub mod display;
mod error;
mod evidence;
mod identity;
mod key;
mod lifecycle;
mod schema;
mod score;
pub mod stats;
mod teaching;
mod uncertainty;
mod vocab;

#[doc(hidden)]
pub use serde as __serde;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{ProbabilityError, SchemaError, VocabError};
pub use evidence::{
    Change, Counterfactual, Driver, EVIDENCE_SCHEMA_VERSION, Evidence, EvidencePackage,
    Falsification, FieldValue, Hypothesis, Provenance, SimilarCase, SimilarCases, Summary,
    Uncertainty, VerdictSummary,
};
pub use identity::{Actor, ModelId, Permission, Role, checked_name};
pub use key::{AlertKey, MAX_SOURCE_BYTES, MAX_SOURCE_ID_BYTES};
pub use lifecycle::{AlertState, Decision, Impact, Reason, Tier};
pub use schema::{
    BENIGN, ExtraColumns, FieldRole, FieldSpec, Format, LabelSpec, NOVEL, SCHEMA_FORMAT_VERSION,
    Schema, SourceSpec, TimeSpec,
};
pub use score::{Flag, Probability, RowSource, Score, Verdict};
pub use teaching::{Label, LabelSource, MAX_FAMILY_BYTES, Observed};
pub use uncertainty::{
    Aleatoric, DISAGREEMENT_HIGH, DISAGREEMENT_MODERATE, DISTANCE_MODERATE, ENTROPY_HIGH,
    ENTROPY_MODERATE, Epistemic, Level, binary_entropy, member_disagreement,
};
