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
pub mod forest;
mod holdout;
mod infer;
pub mod knn;
mod lgbm;
pub mod novelty;
pub mod ood;
mod prepare;
pub mod profile;
mod reference;
pub mod risk;
pub mod spec;
pub mod split;
mod train;
mod trees;

pub use error::ModelError;
pub use holdout::ECE_BINS;
pub use infer::{Inference, Model, RowView};
pub use lgbm::{predict_contrib as lightgbm_contrib, predict_raw as lightgbm_raw};
pub use train::{InputFile, Progress, Quiet, TrainOptions, Trained, train};
