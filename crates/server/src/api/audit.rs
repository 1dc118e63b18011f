//! The audit log over HTTP, read without the writer: the latest signed checkpoint, inclusion
//! and consistency proofs, single entries and paged entity queries whose results can be
//! proven against a signed checkpoint.

use arbiter_audit::{AuditReader, Checkpoint};
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::App;
use crate::error::ApiError;

/// Most entries per query page with proofs (each proof reads the tree's leaves).
pub const MAX_PROVEN_PAGE: usize = 25;

fn index_of(raw: &str) -> Result<u64, ApiError> {
    raw.parse::<u64>().map_err(|_| {
        ApiError::bad_request(format!(
            "audit index must be a number, got {:?}",
            arbiter_ledger::capped(raw, 40)
        ))
    })
}

fn checkpoint_json(cp: &Checkpoint) -> Value {
    json!({"size": cp.size, "root": hex::encode(cp.root), "time": arbiter_core::display::time(&cp.time),
           "text": cp.to_text()})
}

/// `GET /api/v1/audit/checkpoint`: the latest signed checkpoint, the log's size and how many
/// entries no checkpoint covers yet (one is signed every second while entries arrive).
pub async fn checkpoint(State(app): State<App>) -> Result<Json<Value>, ApiError> {
    app.read(|_, audit| {
        let cp = audit.latest_checkpoint()?;
        let len = audit.len();
        Ok(Json(json!({
            "log_size": len,
            "checkpoint": cp.as_ref().map(checkpoint_json),
            "uncovered": len - cp.as_ref().map_or(0, |c| c.size.min(len)),
            "public_key": audit.public_key_hex(),
        })))
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SizeQuery {
    pub size: Option<u64>,
}

/// The tree size proofs use by default: the latest signed checkpoint's when it covers
/// `index`, so the proof can be checked against a signature; else the whole log.
fn default_size(audit: &AuditReader, index: u64) -> Result<(u64, Option<Checkpoint>), ApiError> {
    let cp = audit.latest_checkpoint()?;
    Ok(match cp {
        Some(c) if index < c.size && c.size <= audit.len() => (c.size, Some(c)),
        _ => (audit.len(), None),
    })
}

/// `GET /api/v1/audit/proof/{index}?size=N`: an RFC 9162 inclusion proof of entry `index`.
pub async fn proof(
    State(app): State<App>,
    Path(raw): Path<String>,
    q: Result<Query<SizeQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let index = index_of(&raw)?;
    let Query(q) = q.map_err(super::bad_query)?;
    app.read(move |_, audit| {
        let (size, cp) = match q.size {
            Some(s) => (s, None),
            None => default_size(audit, index)?,
        };
        let proof = audit.prove(index, size)?;
        let entry = audit.entry(index)?;
        Ok(Json(json!({
            "proof": proof, "verified": proof.verify(), "entry": entry,
            "checkpoint": cp.as_ref().map(checkpoint_json),
        })))
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
    q: Result<Query<ConsistencyQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = q.map_err(super::bad_query)?;
    app.read(move |_, audit| {
        let new = q.new.unwrap_or(audit.len());
        let path = audit.consistency(q.old, new)?;
        Ok(Json(json!({
            "old": q.old, "new": new,
            "old_root": hex::encode(audit.root_at(q.old)?),
            "new_root": hex::encode(audit.root_at(new)?),
            "path": path.iter().map(hex::encode).collect::<Vec<_>>(),
        })))
    })
    .await
}

/// `GET /api/v1/audit/entries/{index}`: one entry as recorded.
pub async fn entry(
    State(app): State<App>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let index = index_of(&raw)?;
    app.read(move |_, audit| Ok(Json(json!({"index": index, "entry": audit.entry(index)?}))))
        .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryParams {
    pub entity: String,
    /// RFC 3339 time; entries before it are left out.
    pub since: Option<String>,
    /// The cursor of the previous page (`next`).
    pub after: Option<u64>,
    /// Entries per page: default 100, at most 1000 (25 with `prove`).
    pub limit: Option<usize>,
    /// Attach an inclusion proof of each entry against the latest signed checkpoint.
    #[serde(default)]
    pub prove: bool,
}

/// `GET /api/v1/audit/query?entity=E`: what was recorded about an entity, a page at a time.
pub async fn query(
    State(app): State<App>,
    q: Result<Query<QueryParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = q.map_err(super::bad_query)?;
    if q.entity.is_empty() || q.entity.len() > 256 {
        return Err(ApiError::bad_request(
            "entity must be 1 to 256 bytes (alert:source/id, host:…, user:…, person:…)",
        ));
    }
    let since = q
        .since
        .as_deref()
        .map(|t| {
            chrono::DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&chrono::Utc))
                .map_err(|e| {
                    ApiError::bad_request(format!(
                        "since {:?} is not an RFC 3339 time: {e}",
                        arbiter_ledger::capped(t, 40)
                    ))
                })
        })
        .transpose()?;
    let cap = if q.prove {
        MAX_PROVEN_PAGE
    } else {
        arbiter_audit::MAX_PAGE_ENTRIES
    };
    let limit = q.limit.unwrap_or(100).clamp(1, cap);
    app.read(move |_, audit| {
        let page = audit.query_page(&q.entity, since, q.after, limit)?;
        let cp = if q.prove {
            audit.latest_checkpoint()?
        } else {
            None
        };
        let mut entries = Vec::with_capacity(page.entries.len());
        for (index, e) in page.entries {
            let mut item = json!({"index": index, "entry": e});
            if q.prove {
                item["proof"] = match &cp {
                    Some(c) if index < c.size => json!(audit.prove(index, c.size)?),
                    // Not yet under a signed checkpoint: provable after the next one (≤ 1 s).
                    _ => Value::Null,
                };
            }
            entries.push(item);
        }
        Ok(Json(json!({
            "entity": q.entity, "entries": entries, "next": page.next,
            "checkpoint": cp.as_ref().map(checkpoint_json),
        })))
    })
    .await
}
