//! The audit log over HTTP: the latest signed checkpoint, inclusion and consistency proofs,
//! and single entries, so a third party can check what Arbiter recorded.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::App;
use crate::auth::Permission;
use crate::error::ApiError;

fn index_of(raw: &str) -> Result<u64, ApiError> {
    raw.parse::<u64>()
        .map_err(|_| ApiError::bad_request(format!("audit index must be a number, got {raw:?}")))
}

fn out_of_range(e: arbiter_audit::AuditError) -> ApiError {
    match e {
        arbiter_audit::AuditError::OutOfRange { .. } => ApiError::not_found(e.to_string()),
        other => ApiError::internal(other.to_string()),
    }
}

/// `GET /api/v1/audit/checkpoint`: a fresh signed checkpoint of the whole log.
pub async fn checkpoint(
    State(app): State<App>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    app.require(
        &headers,
        Permission::Read,
        "read the audit checkpoint",
        vec![],
    )
    .await?;
    app.write(|core| {
        let cp = core.audit.checkpoint()?;
        Ok(Json(json!({
            "size": cp.size,
            "root": hex::encode(cp.root),
            "time": cp.time.to_rfc3339(),
            "public_key": core.audit.public_key_hex(),
            "text": cp.to_text(),
        })))
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SizeQuery {
    pub size: Option<u64>,
}

/// `GET /api/v1/audit/proof/{index}?size=N`: an RFC 9162 inclusion proof of entry `index` in
/// the tree of `size` entries (default: the whole log), with the entry itself.
pub async fn proof(
    State(app): State<App>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    q: Result<Query<SizeQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    app.require(&headers, Permission::Read, "read an audit proof", vec![])
        .await?;
    let index = index_of(&raw)?;
    let Query(q) =
        q.map_err(|e| ApiError::bad_request(format!("bad query string: {}", e.body_text())))?;
    app.write(move |core| {
        let size = q.size.unwrap_or(core.audit.len());
        let proof = core.audit.prove(index, size).map_err(out_of_range)?;
        let entry = core.audit.entry(index).map_err(out_of_range)?;
        Ok(Json(
            json!({"proof": proof, "verified": proof.verify(), "entry": entry}),
        ))
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    pub old: u64,
    pub new: Option<u64>,
}

/// `GET /api/v1/audit/consistency?old=A&new=B`: proof that the log of `new` entries extends
/// the log of `old` entries without rewriting it.
pub async fn consistency(
    State(app): State<App>,
    headers: HeaderMap,
    q: Result<Query<ConsistencyQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    app.require(&headers, Permission::Read, "read an audit proof", vec![])
        .await?;
    let Query(q) =
        q.map_err(|e| ApiError::bad_request(format!("bad query string: {}", e.body_text())))?;
    app.write(move |core| {
        let new = q.new.unwrap_or(core.audit.len());
        let path = core.audit.consistency(q.old, new).map_err(out_of_range)?;
        Ok(Json(json!({
            "old": q.old, "new": new,
            "old_root": hex::encode(core.audit.root_at(q.old).map_err(out_of_range)?),
            "new_root": hex::encode(core.audit.root_at(new).map_err(out_of_range)?),
            "path": path.iter().map(hex::encode).collect::<Vec<_>>(),
        })))
    })
    .await
}

/// `GET /api/v1/audit/entries/{index}`: one entry as recorded.
pub async fn entry(
    State(app): State<App>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    app.require(&headers, Permission::Read, "read an audit entry", vec![])
        .await?;
    let index = index_of(&raw)?;
    app.write(move |core| {
        let e = core.audit.entry(index).map_err(out_of_range)?;
        Ok(Json(json!({"index": index, "entry": e})))
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryParams {
    pub entity: String,
    /// RFC 3339 time; entries before it are left out.
    pub since: Option<String>,
}

/// `GET /api/v1/audit/query?entity=E&since=T`: what was recorded about an entity, from the
/// log's index ("did the AI see this and dismiss it, and on what evidence?").
pub async fn query(
    State(app): State<App>,
    headers: HeaderMap,
    q: Result<Query<QueryParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    app.require(&headers, Permission::Read, "query the audit log", vec![])
        .await?;
    let Query(q) =
        q.map_err(|e| ApiError::bad_request(format!("bad query string: {}", e.body_text())))?;
    let since = q
        .since
        .as_deref()
        .map(|t| {
            chrono::DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&chrono::Utc))
                .map_err(|e| {
                    ApiError::bad_request(format!("since {t:?} is not an RFC 3339 time: {e}"))
                })
        })
        .transpose()?;
    app.write(move |core| {
        let hits = core.audit.query(&q.entity, since)?;
        let entries: Vec<Value> = hits
            .into_iter()
            .map(|(index, e)| json!({"index": index, "entry": e}))
            .collect();
        Ok(Json(json!({"entity": q.entity, "entries": entries})))
    })
    .await
}
