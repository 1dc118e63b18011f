//! The evidence package: exact, fast explanations an analyst can act on.
//!
//! [`arbiter_model::forest`] parses LightGBM's model text; [`shap`] computes exact path-dependent TreeSHAP
//! values, equal to LightGBM's `pred_contrib` and much faster; [`Explaining`] turns a scored
//! row into an [`arbiter_core::EvidencePackage`]: drivers in analyst language, competing
//! hypotheses with evidence for and against, explanation stability, a counterfactual over the
//! trees' own split points, the check that would most cheaply falsify the verdict, similar
//! resolved cases, and provenance. [`render`] prints a package for a terminal.

pub mod cases;
pub mod counterfactual;
pub mod drivers;
mod error;
pub mod hypotheses;
pub mod package;
pub mod render;
pub mod shap;

pub use arbiter_model::forest::{Forest, Tree};
pub use cases::CaseStore;
pub use error::ExplainError;
pub use package::Explaining;
pub use shap::Explainer;
