//! Loading registered bundles for a running server: the champion the registry names, and the
//! shadow or canary beside it, each re-verified against its registered id.

use std::path::Path;
use std::sync::Arc;

use arbiter_core::ModelId;
use arbiter_model::Model;
use arbiter_store::{ModelRow, ModelState, StoreRead};
use arbiter_triage::{Challenger, Scorer, TriageError};

/// The bundle at `path`, which must still hash to `id`.
pub fn verified(path: &Path, id: &ModelId) -> Result<Model, TriageError> {
    let bad = |message: String| TriageError::Model {
        path: path.display().to_string(),
        message,
    };
    let model = Model::load(path).map_err(|e| bad(e.to_string()))?;
    if model.id != id.as_str() {
        return Err(bad(format!(
            "the bundle is now {}, not the registered {id}: register it again",
            model.id
        )));
    }
    Ok(model)
}

/// A scorer for `model`, with the similar cases of `cases` and of the resolved alerts.
pub fn scorer(
    model: Arc<Model>,
    cases: Option<&Path>,
    store: &dyn StoreRead,
) -> Result<Scorer, TriageError> {
    let cases = cases
        .map(|p| arbiter_triage::load_cases(&model, p))
        .transpose()?;
    let scorer = Scorer::new(model, cases, None)?;
    scorer.learn_cases(store)?;
    Ok(scorer)
}

/// The registered shadow or canary `row`, ready to score beside `champion` (same schema).
pub fn load(
    row: &ModelRow,
    champion: &Model,
    cases: Option<&Path>,
    store: &dyn StoreRead,
) -> Result<Challenger, TriageError> {
    let model = verified(Path::new(&row.path), &row.id)?;
    if model.schema.id() != champion.schema.id() {
        return Err(TriageError::Model {
            path: row.path.clone(),
            message: format!(
                "it reads {} and the champion {}: a challenger scores the champion's alerts",
                model.schema.id(),
                champion.schema.id()
            ),
        });
    }
    let scorer = Arc::new(scorer(Arc::new(model), cases, store)?);
    Ok(match (row.state, &row.canary) {
        (ModelState::Canary, Some(b)) => Challenger::canary(scorer, b.share),
        _ => Challenger::shadow(scorer),
    })
}
