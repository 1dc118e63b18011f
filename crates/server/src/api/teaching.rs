//! The teaching set over the API: every example with its provenance, oldest first, in pages.

use arbiter_learn::Counts;
use arbiter_store::ExampleRow;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::error::ApiError;

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeachingQuery {
    /// Examples with an id above this.
    pub after: Option<i64>,
    /// At most this many (default 200, at most 5,000).
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize)]
pub struct TeachingResponse {
    pub examples: Vec<ExampleRow>,
    /// Counts over this page.
    pub counts: Counts,
    /// Pass as `after` for the next page; absent on the last.
    pub next_after: Option<i64>,
}

/// `GET /api/v1/teaching`: teaching examples with their provenance, oldest first.
pub async fn list(
    State(app): State<App>,
    q: Result<Query<TeachingQuery>, QueryRejection>,
) -> Result<Json<TeachingResponse>, ApiError> {
    let Query(q) = q.map_err(super::bad_query)?;
    let after = q.after.unwrap_or(0).max(0);
    let limit = q.limit.unwrap_or(200).clamp(1, 5_000);
    let examples = app.read(move |s, _| Ok(s.examples(after, limit)?)).await?;
    let next_after = (examples.len() == limit)
        .then(|| examples.last().map(|e| e.id))
        .flatten();
    Ok(Json(TeachingResponse {
        counts: Counts::of(&examples),
        examples,
        next_after,
    }))
}
