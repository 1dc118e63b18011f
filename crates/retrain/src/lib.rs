//! Retraining: a candidate bundle from the champion's base data and the screened teaching set.
//!
//! [`retrain()`] reads the teaching set as the store holds it, screens it for poisoning
//! (`arbiter_learn::defend`, with k-NN label consistency against the base rows), keeps the
//! accepted examples, holds the most recent share of them back for the time-ordered
//! non-inferiority gate, and trains a full bundle — calibration, conformal sets, OOD detector,
//! risk-control table — with the champion's training options on base data plus the rest,
//! each teaching example weighted by its labeller's estimated reliability. The trees see the
//! weights; calibration, conformal and risk-control rows count once each and are rows the
//! candidate never trained on, so the re-certified auto-close threshold keeps its guarantee
//! (see `arbiter_train`). The bundle carries `changes.json` and a "What changed" section in its
//! model card ([`changes`]). The same champion, data, teaching set and seed give the same
//! candidate id.
//!
//! No retraining promotes anything: the candidate is a directory until someone registers it,
//! and promotion is the registry's business, behind gates and two admins.

pub mod changes;
mod error;
mod mattered;
mod retrain;

pub use changes::{Changes, HeldBack, LabellerChange};
pub use error::RetrainError;
pub use mattered::{Attribution, Mattered};
pub use retrain::{RetrainOptions, Retrained, options_of, retrain};
