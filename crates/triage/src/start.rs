//! Putting a policy and a model in force: audited before the first decision that uses them.

use std::path::Path;

use arbiter_core::{Actor, ModelId};
use arbiter_ledger::{Ledger, POLICY_STATE};
use arbiter_model::Model;
use serde::Serialize;

use crate::{TriageError, sha256_hex};

/// What [`put_in_force`] had to record (audit indices); `None` where nothing changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InForce {
    pub policy: Option<u64>,
    pub model_registered: Option<u64>,
    pub model_activated: Option<u64>,
}

/// Records the policy (by its text) and the model bundle (registered from `model_path`, then
/// activated) when they differ from the ones in force, before any decision uses them. A
/// retrained bundle that is not already the champion is refused: it gets there only by
/// promotion.
pub fn put_in_force(
    ledger: &mut Ledger,
    policy_text: &str,
    policy_file: &str,
    model: &Model,
    model_path: &Path,
    actor: &Actor,
) -> Result<InForce, TriageError> {
    let mut out = InForce::default();
    let sha = sha256_hex(policy_text.as_bytes());
    if ledger.store().get_state(POLICY_STATE)?.as_deref() != Some(sha.as_str()) {
        out.policy = Some(ledger.record_policy(policy_text, &sha, policy_file, actor)?);
    }
    let id = ModelId::new(&model.id)?;
    if let Some(c) = ledger.champion()?
        && c.id != id
        && c.parent.is_some()
    {
        return Err(TriageError::Promoted {
            champion: c.id.to_string(),
            path: c.path,
            given: id.to_string(),
        });
    }
    if ledger.store().model(&id)?.is_none() {
        let path = std::fs::canonicalize(model_path).unwrap_or_else(|_| model_path.to_path_buf());
        let parent = model.parent.as_deref().map(ModelId::new).transpose()?;
        out.model_registered = Some(ledger.register_model(
            &id,
            &path.display().to_string(),
            &model.schema.id(),
            parent.as_ref(),
            actor,
        )?);
    }
    out.model_activated = ledger.activate_model(&id, actor)?;
    Ok(out)
}
