//! Training: from labelled records to a reproducible model bundle.
//!
//! [`train()`] checks its [`TrainOptions`], splits the rows four ways (stratified, seeded: see
//! [`split`]), fits the LightGBM ensemble, category head and baseline through LightGBM's C API,
//! fits the OOD detector ([`ood`]), chooses and fits the probability calibrator ([`calibrate`]),
//! collects the conformal scores ([`conformal`]), chooses the OOD flag level by a
//! leave-one-family-out rehearsal ([`novelty`]), certifies the risk-control table ([`risk`]),
//! measures held-out quality and renders the model card. It returns a [`Trained`]: the model,
//! ready to score, and the bundle's files, which [`bundle::write`] stores under their content
//! hash. The same data, options and seed give the same bundle id.
//!
//! Scoring lives in `arbiter-model`, which holds the types stored in a bundle and knows
//! nothing of LightGBM; this crate depends on it, never the reverse, so the server and the
//! other scoring crates do not build LightGBM.
//!
//! ```no_run
//! use arbiter_ingest::{OnError, load, load_schema};
//! use arbiter_train::{InputFile, Quiet, TrainOptions, bundle, train};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let schema = load_schema("scenario/schema.yaml".as_ref())?;
//! let path = std::path::Path::new("scenario/train.csv");
//! let data = load(&schema, path, OnError::Fail, &mut |_, _| {})?;
//! let input = InputFile {
//!     name: "train.csv".into(),
//!     sha256: arbiter_ingest::file_sha256(path)?,
//!     data,
//!     weights: None,
//! };
//! let options = TrainOptions {
//!     members: 3,
//!     ..TrainOptions::default()
//! };
//! let trained = train(&schema, vec![input], &options, &Quiet)?;
//! let id = bundle::write("bundle".as_ref(), &trained.files)?;
//! println!("bundle {id}, held-out AUC {:?}", trained.model.spec.holdout.auc);
//! # Ok(())
//! # }
//! ```

pub mod bundle;
pub mod calibrate;
mod card;
pub mod conformal;
mod crossfit;
pub mod encode;
mod error;
mod holdout;
mod lgbm;
pub mod novelty;
pub mod ood;
mod options;
mod prepare;
mod profile;
pub mod risk;
mod signals;
pub mod split;
mod train;
mod trees;

pub use error::TrainError;
pub use lgbm::{predict_contrib as lightgbm_contrib, predict_raw as lightgbm_raw};
pub use options::TrainOptions;
pub use train::{InputFile, Progress, Quiet, Trained, train};
