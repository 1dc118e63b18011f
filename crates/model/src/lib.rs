//! The scoring core: a calibrated, uncertainty-aware tree ensemble.
//!
//! [`train()`] turns labelled records into a [`Trained`] model and the files of a bundle;
//! [`bundle::write`] stores them under a content hash; [`Model::load`] reads a bundle back and
//! [`Model::score`] turns records into [`arbiter_core::Score`]s: calibrated probability,
//! member spread, conformal set, category probabilities, OOD score and uncertainty flags.
//!
//! ```no_run
//! use arbiter_model::Model;
//! let model = Model::load("bundle".as_ref()).unwrap();
//! println!("{} reads {}", model.id, model.schema.id());
//! ```

pub mod bundle;
pub mod calibrate;
mod card;
pub mod conformal;
pub mod encode;
mod error;
pub mod flags;
mod holdout;
mod infer;
mod knn;
mod lgbm;
pub mod novelty;
pub mod ood;
mod prepare;
mod reference;
pub mod risk;
pub mod spec;
pub mod split;
mod train;
mod trees;

pub use error::ModelError;
pub use holdout::ECE_BINS;
pub use infer::{Inference, Model, RowView};
pub use train::{InputFile, Progress, Quiet, TrainOptions, Trained, train};
