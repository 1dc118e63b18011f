//! The model lifecycle over HTTP: show, diff, gate, shadow, canary, promote (four eyes), roll
//! back, retire, and the disagreement report. Bundles are loaded and verified before the
//! writer is taken; inside it the change is audited, then the scorer or challenger is swapped,
//! so the next alert already uses it. A retired model's scorer is freed once no request holds
//! it.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use arbiter_core::ModelId;
use arbiter_ledger::{completes_promotion, rollback_target};
use arbiter_store::{CanaryBounds, ModelState, NewGate};
use arbiter_triage::{Challenger, Scorer};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::access::Caller;
use crate::app::App;
use crate::error::ApiError;

fn model_id(raw: &str) -> Result<ModelId, ApiError> {
    ModelId::new(raw).map_err(|e| ApiError::bad_request(e.to_string()))
}

async fn row(app: &App, id: &ModelId) -> Result<arbiter_store::ModelRow, ApiError> {
    let id2 = id.clone();
    app.read(move |s, _| Ok(s.model(&id2)?))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no registered model {id}")))
}

/// Loads, verifies and prepares a registered bundle off the async threads.
async fn load_scorer(app: &App, row: &arbiter_store::ModelRow) -> Result<Scorer, ApiError> {
    let (path, id) = (PathBuf::from(&row.path), row.id.clone());
    let (cases, store) = (app.0.cases.clone(), app.0.store.clone());
    tokio::task::spawn_blocking(move || {
        let model = crate::challenger::verified(&path, &id)?;
        crate::challenger::scorer(Arc::new(model), cases.as_deref(), store.as_ref())
    })
    .await
    .map_err(|e| ApiError::internal(format!("the loading task failed: {e}")))?
    .map_err(|e| ApiError::unprocessable(format!("the registry was not changed: {e}")))
}

/// `GET /api/v1/models/{id}`: the row, its gate reports, its second opinions and, in canary,
/// its tally.
pub async fn show(
    State(app): State<App>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = model_id(&raw)?;
    let m = row(&app, &id).await?;
    let out = app
        .read(move |s, _| {
            let gates = s.gates(&id)?;
            let all = s.opinions(&id, false, 0)?.len();
            let differ = s.opinions(&id, true, 0)?.len();
            let tally = (m.state == ModelState::Canary)
                .then(|| s.canary_tally(&id))
                .transpose()?;
            Ok(json!({"model": m, "gates": gates, "tally": tally,
                      "second_opinions": {"all": all, "disagreeing": differ}}))
        })
        .await?;
    Ok(Json(out))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    pub limit: Option<usize>,
}

/// `GET /api/v1/models/{id}/disagreements`: alerts where this model and the one beside it
/// differ in tier, newest first, with both packages.
pub async fn disagreements(
    State(app): State<App>,
    Path(raw): Path<String>,
    q: Result<Query<Limit>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = q.map_err(super::bad_query)?;
    let id = model_id(&raw)?;
    let limit = q.limit.unwrap_or(50).clamp(1, 1000);
    let out = app
        .read(move |s, _| {
            let mut rows = Vec::new();
            for o in s.opinions(&id, true, limit)? {
                let acted = s.package(o.alert)?;
                rows.push(json!({
                    "alert": o.alert, "key": o.key,
                    "acted": {"model": o.acted_by, "tier": o.acted_tier,
                              "action": o.acted_action, "p_malicious": o.acted_p_malicious,
                              "package": acted},
                    "second": o.opinion,
                }));
            }
            Ok(json!({"model": id, "disagreements": rows}))
        })
        .await?;
    Ok(Json(out))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Against {
    /// The other model (default: the champion).
    pub against: Option<String>,
    pub all: Option<bool>,
}

/// `GET /api/v1/models/{id}/diff`: what differs from another registered model.
pub async fn diff(
    State(app): State<App>,
    Path(raw): Path<String>,
    q: Result<Query<Against>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = q.map_err(super::bad_query)?;
    let b = row(&app, &model_id(&raw)?).await?;
    let a = match &q.against {
        Some(other) => row(&app, &model_id(other)?).await?,
        None => {
            row(
                &app,
                &ModelId::new(&app.model().id).map_err(ApiError::internal)?,
            )
            .await?
        }
    };
    let all = q.all.unwrap_or(false);
    let rows = tokio::task::spawn_blocking(move || {
        let ma = crate::challenger::verified(FsPath::new(&a.path), &a.id)?;
        let mb = crate::challenger::verified(FsPath::new(&b.path), &b.id)?;
        Ok::<_, arbiter_triage::TriageError>(arbiter_model::diff::diff(&ma, &mb, all))
    })
    .await
    .map_err(|e| ApiError::internal(format!("the diff task failed: {e}")))??;
    Ok(Json(json!({"differences": rows})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateBody {
    /// The regression suite on the server's disk.
    pub suite: PathBuf,
}

/// `POST /api/v1/models/{id}/gate`: runs every gate of a registered candidate against the
/// champion in force, with the policy in force, and records the report (audited).
pub async fn gate(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(raw): Path<String>,
    body: Result<Json<GateBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(body) = body.map_err(super::bad_json)?;
    let id = model_id(&raw)?;
    let cand = row(&app, &id).await?;
    let champion = app.model();
    let policy = app.policy().policy.clone();
    let store = app.0.store.clone();
    let report = tokio::task::spawn_blocking(move || {
        let dir = PathBuf::from(&cand.path);
        let candidate = Arc::new(
            crate::challenger::verified(&dir, &cand.id)
                .map_err(|e| ApiError::unprocessable(e.to_string()))?,
        );
        arbiter_gate::evaluate(
            &champion,
            &candidate,
            &dir,
            &policy,
            &body.suite,
            store.as_ref(),
        )
        .map_err(|e| ApiError::unprocessable(format!("the gates could not run: {e}")))
    })
    .await
    .map_err(|e| ApiError::internal(format!("the gate task failed: {e}")))??;
    let champion_id = ModelId::new(&app.model().id).map_err(ApiError::internal)?;
    let (passed, sha, failures) = (report.passed, report.sha256(), report.failures());
    let gate = NewGate {
        candidate: id.clone(),
        champion: champion_id.clone(),
        passed,
        sha256: sha.clone(),
        report: serde_json::from_slice(&report.json())?,
        by: caller.actor(),
        at: app.0.clock.now(),
    };
    let index = app.write(move |w| Ok(w.ledger.record_gate(gate)?)).await?;
    Ok(Json(
        json!({"candidate": id, "champion": champion_id, "passed": passed,
                   "sha256": sha, "failures": failures, "audit_index": index,
                   "report": report}),
    ))
}

/// `POST /api/v1/models/{id}/shadow`: the candidate scores live traffic beside the champion.
pub async fn shadow(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(start_as(&app, &caller, &raw, None).await?))
}

/// `POST /api/v1/models/{id}/canary`: the candidate decides a share of live traffic.
pub async fn canary(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(raw): Path<String>,
    body: Result<Json<CanaryBounds>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(bounds) = body.map_err(super::bad_json)?;
    Ok(Json(start_as(&app, &caller, &raw, Some(bounds)).await?))
}

/// Starts model `raw` as the shadow or (with bounds) the canary, as `caller`.
pub async fn start_as(
    app: &App,
    caller: &Caller,
    raw: &str,
    bounds: Option<CanaryBounds>,
) -> Result<Value, ApiError> {
    let id = model_id(raw)?;
    let r = row(app, &id).await?;
    let scorer = Arc::new(load_scorer(app, &r).await?);
    if scorer.model().schema.id() != app.model().schema.id() {
        return Err(ApiError::unprocessable(format!(
            "model {id} reads {} and the champion {}: a challenger scores the champion's alerts",
            scorer.model().schema.id(),
            app.model().schema.id()
        )));
    }
    let challenger = Arc::new(match &bounds {
        Some(b) => Challenger::canary(scorer, b.share),
        None => Challenger::shadow(scorer),
    });
    let actor = caller.actor();
    let app2 = app.clone();
    let (id2, b2) = (id.clone(), bounds.clone());
    let index = app
        .write(move |w| {
            let index = w.ledger.start_challenger(&id2, b2, &actor)?;
            app2.set_challenger(Some(challenger));
            Ok(index)
        })
        .await?;
    let state = if bounds.is_some() { "canary" } else { "shadow" };
    Ok(json!({"id": id, "state": state, "audit_index": index}))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetireBody {
    pub reason: String,
}

/// `POST /api/v1/models/{id}/retire`: ends a shadow or canary, or sets a candidate aside.
pub async fn retire(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(raw): Path<String>,
    body: Result<Json<RetireBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(body) = body.map_err(super::bad_json)?;
    Ok(Json(retire_as(&app, &caller, &raw, body.reason).await?))
}

/// Retires model `raw` as `caller`, for `reason`.
pub async fn retire_as(
    app: &App,
    caller: &Caller,
    raw: &str,
    reason: String,
) -> Result<Value, ApiError> {
    let id = model_id(raw)?;
    if reason.trim().is_empty() {
        return Err(ApiError::unprocessable(
            "a reason is required to retire a model",
        ));
    }
    let actor = caller.actor();
    let app2 = app.clone();
    let id2 = id.clone();
    let index = app
        .write(move |w| {
            let index = w.ledger.retire_model(&id2, reason.trim(), &actor)?;
            if app2.challenger().is_some_and(|c| c.id() == id2.as_str()) {
                app2.set_challenger(None);
            }
            Ok(index)
        })
        .await?;
    Ok(json!({"id": id, "state": "retired", "audit_index": index}))
}

/// Swaps the champion's scorer (under the writer, after the change is audited); a challenger
/// that just became champion stops challenging.
pub(crate) fn swap_champion(app: &App, w: &mut crate::app::Writer, scorer: Arc<Scorer>) {
    w.guards.set_model(scorer.model());
    if app
        .challenger()
        .is_some_and(|c| c.id() == scorer.model().id)
    {
        app.set_challenger(None);
    }
    *app.0.scorer.write().expect("scorer lock") = scorer;
}

/// `POST /api/v1/models/{id}/promote`: the first admin asks, a second, different admin's call
/// promotes (the latest gate report against the champion must have passed both times).
pub async fn promote(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(promote_as(&app, &caller, &raw).await?))
}

/// Asks for or approves the promotion of model `raw`, as `caller`.
pub async fn promote_as(app: &App, caller: &Caller, raw: &str) -> Result<Value, ApiError> {
    let id = model_id(raw)?;
    let r = row(app, &id).await?;
    let actor = caller.actor();
    // Load the bundle only when this call can promote (a different admin asked first).
    let preloaded = if completes_promotion(&r, &actor) {
        Some(Arc::new(load_scorer(app, &r).await?))
    } else {
        None
    };
    let app2 = app.clone();
    let id2 = id.clone();
    let p = app
        .write(move |w| {
            // Checked again under the writer, before anything is recorded: a call that would
            // promote must have the bundle loaded.
            let now = w.ledger.store().model(&id2)?;
            let would_promote = now.is_some_and(|m| completes_promotion(&m, &actor));
            if would_promote && preloaded.is_none() {
                return Err(ApiError::conflict(
                    "another admin asked for this promotion meanwhile: send the request again",
                ));
            }
            let p = w.ledger.promote_model(&id2, &actor)?;
            if !p.awaiting_second_admin
                && let Some(scorer) = preloaded
            {
                swap_champion(&app2, w, scorer);
            }
            Ok(p)
        })
        .await?;
    Ok(json!({"promotion": p, "bundle": app.model().id}))
}

/// `POST /api/v1/model/rollback`: retires the champion and restores the one before it, in
/// this running server at once.
pub async fn rollback(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(rollback_as(&app, &caller).await?))
}

/// Rolls the champion back, as `caller`.
pub async fn rollback_as(app: &App, caller: &Caller) -> Result<Value, ApiError> {
    let (_, previous) = app.read(|s, _| Ok(rollback_target(s)?)).await?;
    let scorer = Arc::new(load_scorer(app, &previous).await?);
    let actor = caller.actor();
    let app2 = app.clone();
    let r = app
        .write(move |w| {
            // Checked again under the writer, before anything is recorded.
            let (_, target) = rollback_target(w.ledger.store().as_ref())?;
            if target.id.as_str() != scorer.model().id {
                return Err(ApiError::conflict(format!(
                    "the registry changed meanwhile (the rollback would now restore {}): try again",
                    target.id
                )));
            }
            let r = w.ledger.rollback_model(&actor)?;
            swap_champion(&app2, w, scorer);
            Ok(r)
        })
        .await?;
    Ok(json!({"rollback": r, "bundle": app.model().id}))
}
