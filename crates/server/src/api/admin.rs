//! Policy and model administration: reading needs `read`; changing needs `admin`. Every change
//! is validated before the writer is taken, audited, then put in force; a refused change
//! leaves the old one in force.

use std::path::PathBuf;
use std::sync::Arc;

use arbiter_core::ModelId;
use arbiter_model::Model;
use arbiter_policy::Policy;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::access::Caller;
use crate::app::{App, PolicyInForce};
use crate::error::ApiError;

/// `GET /api/v1/policy`: the policy in force, as text, with its hash.
pub async fn get_policy(State(app): State<App>) -> Result<Json<Value>, ApiError> {
    let p = app.policy();
    Ok(Json(json!({"sha256": p.sha256, "text": p.text})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    /// The new policy file's YAML text.
    pub text: String,
}

/// `PUT /api/v1/policy`: validates the new policy and its embedded tests, audits the change,
/// then puts it in force.
pub async fn put_policy(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    body: Result<Json<PolicyBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(body) = body.map_err(super::bad_json)?;
    let policy = Policy::from_yaml(&body.text, "policy (uploaded)")
        .map_err(|e| ApiError::unprocessable(format!("the policy was not changed: {e}")))?;
    let report = arbiter_policy::run_tests(&policy);
    if !report.passed() {
        let failing: Vec<String> = report
            .cases
            .iter()
            .filter(|c| !c.passed)
            .map(|c| format!("{}: got {}", c.name, c.got_tier))
            .collect();
        return Err(ApiError::unprocessable(format!(
            "the policy was not changed: {} of its embedded tests fail",
            failing.len()
        ))
        .with_detail(json!(failing)));
    }
    let policy = Arc::new(policy);
    let sha256 = arbiter_triage::sha256_hex(body.text.as_bytes());
    let actor = caller.actor();
    let (app2, sha2) = (app.clone(), sha256.clone());
    let index = app
        .write(move |w| {
            let index = w
                .ledger
                .record_policy(&body.text, &sha2, "policy (uploaded)", &actor)?;
            let model = app2.model();
            w.guards.set_policy(policy.clone(), &model);
            *app2.0.policy.write().expect("policy lock") = Arc::new(PolicyInForce {
                policy,
                text: body.text,
                sha256: sha2,
            });
            Ok(index)
        })
        .await?;
    Ok(Json(
        json!({"audit_index": index, "sha256": sha256, "status": "policy in force"}),
    ))
}

/// `GET /api/v1/model`: the bundle in force.
pub async fn get_model(State(app): State<App>) -> Result<Json<Value>, ApiError> {
    let m = app.model();
    Ok(Json(json!({
        "bundle": m.id, "schema": m.schema.id(), "synthetic": m.spec.synthetic,
        "calibration": m.spec.calibration, "risk_control": m.spec.risk,
    })))
}

/// `GET /api/v1/models`: the registry.
pub async fn list_models(State(app): State<App>) -> Result<Json<Value>, ApiError> {
    let rows = app.read(|s, _| Ok(s.models()?)).await?;
    Ok(Json(json!({"models": rows})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    /// A bundle directory on the server's file system.
    pub path: PathBuf,
}

/// Loads and verifies a bundle off the async threads.
async fn load(path: PathBuf) -> Result<Arc<Model>, ApiError> {
    tokio::task::spawn_blocking(move || {
        Model::load(&path).map(Arc::new).map_err(|e| {
            ApiError::unprocessable(format!(
                "the model was not changed: cannot load {}: {e}",
                path.display()
            ))
        })
    })
    .await
    .map_err(|e| ApiError::internal(format!("the loading task failed: {e}")))?
}

/// `POST /api/v1/models`: verifies a bundle on the server's disk against its content hash and
/// records it in the registry (state `registered`); `PUT /api/v1/model` then puts it in force.
pub async fn register_model(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    body: Result<Json<RegisterBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(body) = body.map_err(super::bad_json)?;
    let model = load(body.path.clone()).await?;
    let id = ModelId::new(&model.id).map_err(|e| ApiError::unprocessable(e.to_string()))?;
    let path = std::fs::canonicalize(&body.path).unwrap_or(body.path);
    let actor = caller.actor();
    let (id2, schema) = (id.clone(), model.schema.id());
    let parent = model
        .parent
        .as_deref()
        .map(ModelId::new)
        .transpose()
        .map_err(|e| ApiError::unprocessable(format!("the bundle's parent: {e}")))?;
    let index = app
        .write(move |w| {
            if w.ledger.store().model(&id2)?.is_some() {
                return Err(ApiError::conflict(format!(
                    "model {id2} is already registered"
                )));
            }
            Ok(w.ledger.register_model(
                &id2,
                &path.display().to_string(),
                &schema,
                parent.as_ref(),
                &actor,
            )?)
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": id, "state": "candidate", "audit_index": index})),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelBody {
    /// A registered model's id.
    pub id: String,
}

/// `PUT /api/v1/model`: puts a registered model in force. Its bundle is loaded from the
/// registry's path and must still have the registered id; the change is audited, then every
/// later alert uses it. The model before is retired and freed once no request holds it.
pub async fn put_model(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    body: Result<Json<ModelBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(body) = body.map_err(super::bad_json)?;
    let id = ModelId::new(&body.id).map_err(|e| ApiError::unprocessable(e.to_string()))?;
    let id2 = id.clone();
    let row = app
        .read(move |s, _| Ok(s.model(&id2)?))
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no registered model {id}: register it first with POST /api/v1/models"
            ))
        })?;
    let model = load(PathBuf::from(&row.path)).await?;
    if model.id != id.as_str() {
        return Err(ApiError::conflict(format!(
            "the bundle at {} is now {}, not the registered {id}: register it again",
            row.path, model.id
        )));
    }
    let (cases, store) = (app.0.cases.clone(), app.0.store.clone());
    let scorer = tokio::task::spawn_blocking(move || {
        crate::challenger::scorer(model, cases.as_deref(), store.as_ref())
    })
    .await
    .map_err(|e| ApiError::internal(format!("the loading task failed: {e}")))??;
    let actor = caller.actor();
    let app2 = app.clone();
    let index = app
        .write(move |w| {
            let index = w.ledger.activate_model(&id, &actor)?;
            super::models::swap_champion(&app2, w, Arc::new(scorer));
            Ok(index)
        })
        .await?;
    Ok(Json(
        json!({"audit_index": index, "bundle": app.model().id, "status": "model in force"}),
    ))
}
