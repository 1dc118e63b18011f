//! The scoring core: a calibrated, uncertainty-aware tree ensemble, in pure Rust.
//!
//! [`Model::load`] reads and verifies a bundle; [`Model::score`] turns records into
//! [`arbiter_core::Score`]s: calibrated probability, member spread, conformal set, category
//! probabilities, OOD score and uncertainty flags. The trees are LightGBM's, walked by
//! [`forest`] without linking LightGBM.
//!
//! The types stored in a bundle live here ([`spec::ModelSpec`], [`calibrate::Calibrator`],
//! [`conformal::Conformal`], [`risk::RiskTable`], [`novelty::Rehearsal`], [`ood::OodSpec`],
//! [`profile::FeatureProfile`], …) with what scoring does with them. Fitting them — LightGBM
//! training, calibrator selection, rehearsal, risk-control certification — and writing bundles
//! live in `arbiter-train`, which depends on this crate and never the reverse.
//!
//! ```no_run
//! use arbiter_model::Model;
//! let model = Model::load("bundle".as_ref()).unwrap();
//! println!("{} reads {}", model.id, model.schema.id());
//! ```

pub mod bundle;
pub mod calibrate;
pub mod conformal;
pub mod diff;
pub mod encode;
mod error;
pub mod flags;
mod flat;
pub mod forest;
mod infer;
pub mod knn;
pub mod novelty;
pub mod ood;
pub mod profile;
pub mod reference;
pub mod risk;
pub mod spec;
pub mod support;
pub mod synthetic;

pub use error::ModelError;
pub use infer::{CHANGES, Inference, Model, RowView};
pub use spec::ECE_BINS;
