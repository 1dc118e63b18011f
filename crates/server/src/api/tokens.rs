//! Token management: `lead` for viewers, analysts and forwarders, `admin` for everyone. A
//! token belongs to a person; the minter is recorded, so four eyes can tell a second person
//! from a second token.

use arbiter_core::{Role, checked_name};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::access::{Caller, new_token, token_hash};
use crate::app::App;
use crate::error::ApiError;

/// `GET /api/v1/tokens`: names, people, roles and dates; never the secrets.
pub async fn list(State(app): State<App>) -> Result<Json<Value>, ApiError> {
    let rows = app.read(|s, _| Ok(s.tokens()?)).await?;
    Ok(Json(json!(rows)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    pub name: String,
    pub role: String,
    /// Who holds it; default: the token's name.
    #[serde(default)]
    pub person: Option<String>,
}

/// `POST /api/v1/tokens`: a new token, shown once in the answer.
pub async fn create(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    body: Result<Json<TokenBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(body) = body.map_err(super::bad_json)?;
    let role: Role = body
        .role
        .parse()
        .map_err(|e: arbiter_core::VocabError| ApiError::unprocessable(e.to_string()))?;
    let name = checked_name("token name", &body.name)
        .map_err(|e| ApiError::unprocessable(e.to_string()))?
        .to_string();
    let person = checked_name("person", body.person.as_deref().unwrap_or(&name))
        .map_err(|e| ApiError::unprocessable(e.to_string()))?
        .to_string();
    if !caller.role.may_grant(role) {
        let msg = format!(
            "{} (role {}) may not create {role} tokens",
            caller.name, caller.role
        );
        app.deny(
            caller.actor(),
            &format!("create a {role} token"),
            vec![format!("token:{name}")],
            None,
        );
        return Err(ApiError::forbidden(msg));
    }
    let token = new_token();
    let hash = token_hash(&token);
    let actor = caller.actor();
    let (n2, p2) = (name.clone(), person.clone());
    let (id, index) = app
        .write(move |w| Ok(w.ledger.create_token(&n2, &p2, role, &hash, &actor)?))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(
            json!({"id": id, "name": name, "person": person, "role": role, "token": token,
                    "audit_index": index,
                    "note": "the token is shown once; only its hash is stored"}),
        ),
    ))
}

/// `DELETE /api/v1/tokens/{id}`: revokes a token at once.
pub async fn revoke(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = super::path_id("token id", &raw)?;
    let target = app
        .read(move |s, _| Ok(s.token(id)?))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no token with id {id}")))?;
    if !caller.role.may_grant(target.role) {
        let msg = format!(
            "{} (role {}) may not revoke {} tokens",
            caller.name, caller.role, target.role
        );
        app.deny(
            caller.actor(),
            &format!("revoke a {} token", target.role),
            vec![format!("token:{}", target.name)],
            None,
        );
        return Err(ApiError::forbidden(msg));
    }
    let actor = caller.actor();
    let (revoked, index) = app
        .write(move |w| Ok(w.ledger.revoke_token(id, &actor)?))
        .await?;
    if !revoked {
        return Err(ApiError::conflict(format!(
            "token {id} was already revoked"
        )));
    }
    Ok(Json(json!({"revoked": id, "audit_index": index})))
}
