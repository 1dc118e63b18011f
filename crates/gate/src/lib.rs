//! Promotion gates: what a candidate model must pass before the registry lets anyone promote
//! it.
//!
//! - **Regression suite** ([`suite`]): a declared file of real rows — must-catch incidents,
//!   none of which the candidate may auto-close, and must-not-act benign cases it may never
//!   act on by itself.
//! - **Time-ordered non-inferiority** on recent labelled alerts neither model trained on (the
//!   examples `arbiter retrain` held back): recall's lower one-sided 95 % bound of the paired
//!   difference within [`gates::RECALL_MARGIN`], false-positive automated actions no worse,
//!   ECE at most max(champion's, [`gates::ECE_FLOOR`]).
//! - **A certified auto-close threshold** at the policy's α.
//!
//! Every row is decided the way a live alert is: scorer, evidence package, certified
//! threshold, policy. The [`GateReport`] says which gate failed and by how much; its JSON's
//! SHA-256 is what the registry and the audit log record with each transition.

mod error;
pub mod gates;
mod report;
pub mod suite;

pub use error::GateError;
pub use gates::{Recent, run};
pub use report::{Gate, GateReport, ModelSide, RecentInfo, SuiteInfo};
pub use suite::{Expect, Suite, data_root, load as load_suite};
