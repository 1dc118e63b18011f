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

/// The recent labelled alerts a retrained candidate held back (its `changes.json`), as
/// teaching-set ids; none for a bundle that was not retrained.
pub fn held_back(candidate_dir: &std::path::Path) -> Result<Vec<i64>, GateError> {
    #[derive(serde::Deserialize)]
    struct Changes {
        held_back: HeldBack,
    }
    #[derive(serde::Deserialize)]
    struct HeldBack {
        examples: Vec<i64>,
    }
    let path = candidate_dir.join(arbiter_model::CHANGES);
    match std::fs::read(&path) {
        Err(_) => Ok(Vec::new()),
        Ok(bytes) => serde_json::from_slice::<Changes>(&bytes)
            .map(|c| c.held_back.examples)
            .map_err(|e| GateError::Suite {
                file: path.display().to_string(),
                message: format!("the candidate's {} is invalid: {e}", arbiter_model::CHANGES),
            }),
    }
}

/// Every gate of `candidate` (whose bundle is `candidate_dir`) against `champion`, with the
/// regression suite at `suite` and the recent alerts the candidate held back read from `store`.
pub fn evaluate(
    champion: &std::sync::Arc<arbiter_model::Model>,
    candidate: &std::sync::Arc<arbiter_model::Model>,
    candidate_dir: &std::path::Path,
    policy: &arbiter_policy::Policy,
    suite: &std::path::Path,
    store: &dyn arbiter_store::StoreRead,
) -> Result<GateReport, GateError> {
    let suite = load_suite(suite, &candidate.schema, &data_root())?;
    let held = held_back(candidate_dir)?;
    let rows = if held.is_empty() {
        Vec::new()
    } else {
        store
            .examples(0, 0)
            .map_err(arbiter_triage::TriageError::from)?
    };
    let recent = Recent::from_examples(&rows, &held, candidate);
    run(champion, candidate, policy, &suite, &recent)
}
