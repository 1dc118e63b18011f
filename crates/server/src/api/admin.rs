//! Policy, model and token administration. Changing the policy or the model needs `admin`;
//! managing tokens needs `lead` (for viewers, analysts and forwarders) or `admin`.

use std::path::PathBuf;

use arbiter_store::Tokens;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::App;
use crate::auth::{Permission, Role, new_token, token_hash};
use crate::error::ApiError;

fn bad_json(e: JsonRejection) -> ApiError {
    ApiError::new(
        e.status(),
        "bad_request",
        format!("bad body: {}", e.body_text()),
    )
}

/// `GET /api/v1/policy`: the policy in force, as text, with its hash.
pub async fn get_policy(
    State(app): State<App>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    app.require(&headers, Permission::Read, "read the policy", vec![])
        .await?;
    app.write(|core| {
        let text = core.policy_text.clone();
        Ok(Json(
            json!({"sha256": arbiter_triage::sha256_hex(text.as_bytes()), "text": text}),
        ))
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    /// The new policy file's YAML text.
    pub text: String,
}

/// `PUT /api/v1/policy`: validates the new policy and its embedded tests, audits the change,
/// then puts it in force. A policy that fails is refused and the old one stays.
pub async fn put_policy(
    State(app): State<App>,
    headers: HeaderMap,
    body: Result<Json<PolicyBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let caller = app
        .require(
            &headers,
            Permission::Admin,
            "change the policy",
            vec!["policy".into()],
        )
        .await?;
    let Json(body) = body.map_err(bad_json)?;
    let actor = caller.actor();
    let index = app
        .write(move |core| core.change_policy(&body.text, &actor))
        .await?;
    Ok(Json(
        json!({"audit_index": index, "status": "policy in force"}),
    ))
}

/// `GET /api/v1/model`: the bundle in force.
pub async fn get_model(
    State(app): State<App>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    app.require(&headers, Permission::Read, "read the model", vec![])
        .await?;
    let m = app.model();
    Ok(Json(json!({
        "bundle": m.id, "schema": m.schema.id(), "synthetic": m.spec.synthetic,
        "calibration": m.spec.calibration, "risk_control": m.spec.risk,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelBody {
    /// A bundle directory on the server's file system.
    pub path: PathBuf,
}

/// `PUT /api/v1/model`: loads a bundle from the server's disk, audits the change, then uses
/// it for every later alert.
pub async fn put_model(
    State(app): State<App>,
    headers: HeaderMap,
    body: Result<Json<ModelBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let caller = app
        .require(
            &headers,
            Permission::Admin,
            "change the model",
            vec!["model".into()],
        )
        .await?;
    let Json(body) = body.map_err(bad_json)?;
    let actor = caller.actor();
    let app2 = app.clone();
    let index = app
        .write(move |core| {
            let index = core.change_model(&body.path, &actor)?;
            *app2.0.model.write().expect("model lock") = core.engine.model;
            Ok(index)
        })
        .await?;
    Ok(Json(
        json!({"audit_index": index, "bundle": app.model().id}),
    ))
}

/// `GET /api/v1/tokens`: names, roles and dates; never the secrets.
pub async fn list_tokens(
    State(app): State<App>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    app.require(&headers, Permission::ManageTokens, "list tokens", vec![])
        .await?;
    let rows = app.read(|s| Ok(s.tokens()?)).await?;
    Ok(Json(json!(rows)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    pub name: String,
    pub role: String,
}

/// `POST /api/v1/tokens`: a new token, shown once in the answer.
pub async fn create_token(
    State(app): State<App>,
    headers: HeaderMap,
    body: Result<Json<TokenBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let caller = app
        .require(&headers, Permission::ManageTokens, "create a token", vec![])
        .await?;
    let Json(body) = body.map_err(bad_json)?;
    let role: Role = body.role.parse().map_err(ApiError::unprocessable)?;
    let name = crate::auth::token_name(&body.name)
        .map_err(ApiError::unprocessable)?
        .to_string();
    if !caller.role.may_grant(role) {
        let msg = format!(
            "{} (role {}) may not create {role} tokens",
            caller.name, caller.role
        );
        app.deny(caller.actor(), vec![format!("token:{name}")], msg.clone())
            .await;
        return Err(ApiError::forbidden(msg));
    }
    let token = new_token();
    let hash = token_hash(&token);
    let actor = caller.actor();
    let (id, index) = issue(&app, name.clone(), role, hash, actor).await?;
    Ok((
        StatusCode::CREATED,
        Json(
            json!({"id": id, "name": name, "role": role, "token": token, "audit_index": index,
                    "note": "the token is shown once; only its hash is stored"}),
        ),
    ))
}

/// Audits, then stores a new token's hash.
pub async fn issue(
    app: &App,
    name: String,
    role: Role,
    hash: String,
    actor: String,
) -> Result<(i64, u64), ApiError> {
    app.write(move |core| {
        let index = core.audit(crate::auth::token_created(&actor, &name, role, &hash))?;
        let id = core.store.create_token(
            &name,
            role.as_str(),
            &hash,
            &chrono::Utc::now().to_rfc3339(),
        )?;
        Ok((id, index))
    })
    .await
}

/// `DELETE /api/v1/tokens/{id}`: revokes a token at once.
pub async fn revoke_token(
    State(app): State<App>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let caller = app
        .require(
            &headers,
            Permission::ManageTokens,
            "revoke a token",
            vec![format!("token:{raw}")],
        )
        .await?;
    let id = super::path_id("token id", &raw)?;
    let target = app
        .read(move |s| Ok(s.tokens()?.into_iter().find(|t| t.id == id)))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no token with id {id}")))?;
    let target_role: Role = target.role.parse().map_err(ApiError::internal)?;
    if !caller.role.may_grant(target_role) {
        let msg = format!(
            "{} (role {}) may not revoke {target_role} tokens",
            caller.name, caller.role
        );
        app.deny(
            caller.actor(),
            vec![format!("token:{}", target.name)],
            msg.clone(),
        )
        .await;
        return Err(ApiError::forbidden(msg));
    }
    let actor = caller.actor();
    let name = target.name.clone();
    let (revoked, index) = app
        .write(move |core| {
            let index = core.audit(arbiter_audit::Entry {
                time: chrono::Utc::now(),
                kind: arbiter_audit::EntryKind::Decision,
                actor: actor.clone(),
                entities: vec![format!("token:{name}")],
                summary: format!("{actor} revoked token {name} (role {target_role})"),
                body: json!({"revoke_token": id}),
            })?;
            Ok((
                core.store
                    .revoke_token(id, &chrono::Utc::now().to_rfc3339())?,
                index,
            ))
        })
        .await?;
    if !revoked {
        return Err(ApiError::conflict(format!(
            "token {id} was already revoked"
        )));
    }
    Ok(Json(json!({"revoked": id, "audit_index": index})))
}
