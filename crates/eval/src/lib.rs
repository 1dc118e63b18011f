//! Evaluating a model bundle on labelled data, and the plots of the report.
//!
//! [`evaluate`] scores test rows with a bundle and measures ranking, calibration (ECE over
//! 15 equal-width bins), conformal coverage per class, OOD detection of labels never seen in
//! training, and the auto-close comparison between a plain single model and Arbiter's rule;
//! [`write`] renders `report.md`, `report.json`, `reliability.png` and `risk_coverage.png`.
//! The metrics themselves live in [`arbiter_core::stats`].
//!
//! Plots need a TrueType font, found via `ARBITER_FONT` or the usual DejaVu/Liberation paths
//! (see [`EvalError::NoFont`]).
//!
//! ```no_run
//! use arbiter_eval::{EvalOptions, evaluate, write};
//! # fn run(model: &arbiter_model::Model, rows: &[arbiter_ingest::Record]) -> Result<(), arbiter_eval::EvalError> {
//! let e = evaluate(model, rows, "KDDTest+.txt.xz", &EvalOptions::default())?;
//! write(&e, "report".as_ref())?;
//! # Ok(()) }
//! ```

mod error;
mod evaluate;
mod plot;
mod report;

pub use error::EvalError;
pub use evaluate::{EvalOptions, Evaluation, evaluate};
pub use plot::{Series, SeriesPoint, series_png};
pub use plot::{reliability_png, risk_coverage_png};
pub use report::{attack_rate_at_share, auto_close_table, markdown, write};
