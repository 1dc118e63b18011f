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

#[derive(Debug, Serialize)]
pub struct Held {
    #[serde(flatten)]
    pub example: ExampleRow,
    /// Posterior probability that the label is right.
    pub posterior: f64,
    pub quarantine: Vec<arbiter_learn::Quarantine>,
    /// The reasons, one line each, for people.
    pub reasons: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct QuarantineResponse {
    /// Examples held back (not released), oldest first.
    pub quarantined: Vec<Held>,
    pub examples: usize,
    /// Estimated accuracy per labeller (the trusted tier is 1).
    pub accuracy: std::collections::BTreeMap<String, f64>,
    /// What the screen read: the champion's stored probability per alert; no neighbours
    /// (the server does not hold training data; `arbiter teach quarantine --reference` does).
    pub evidence: &'static str,
}

/// What the screen made of the teaching set: every example, what is held back, and each
/// labeller's estimated accuracy.
pub(crate) type Screened = (
    Vec<ExampleRow>,
    Vec<Held>,
    std::collections::BTreeMap<String, f64>,
);

/// The poisoning screen over the whole teaching set as the server sees it (the champion's
/// stored probabilities, no neighbours; the policy's high-impact families).
pub(crate) async fn screened(app: &App) -> Result<Screened, ApiError> {
    let rows = app.read(|s, _| Ok(s.examples(0, 0)?)).await?;
    let screen = arbiter_learn::Screen {
        high_impact: app.policy().policy.high_impact_families().to_vec(),
        ..arbiter_learn::Screen::default()
    };
    let out = arbiter_learn::defend::screen_rows(&rows, None, &screen);
    let held = rows
        .iter()
        .zip(out.examples)
        .filter(|(_, e)| !e.accepted())
        .map(|(r, e)| Held {
            reasons: e.quarantine.iter().map(|q| q.text()).collect(),
            posterior: e.posterior,
            quarantine: e.quarantine,
            example: r.clone(),
        })
        .collect();
    Ok((rows, held, out.accuracy))
}

/// `GET /api/v1/teaching/quarantine`: the poisoning screen over the whole teaching set.
pub async fn quarantine(State(app): State<App>) -> Result<Json<QuarantineResponse>, ApiError> {
    let (rows, quarantined, accuracy) = screened(&app).await?;
    Ok(Json(QuarantineResponse {
        quarantined,
        examples: rows.len(),
        accuracy,
        evidence: "the model's stored probability on each alert and every label with its \
                   labeller; no k-NN neighbours",
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseBody {
    /// Why the label is right although the screen doubted it.
    pub reason: String,
}

/// `POST /api/v1/teaching/{id}/release`: a lead lets a quarantined example into training.
pub async fn release(
    State(app): State<App>,
    axum::Extension(caller): axum::Extension<crate::access::Caller>,
    axum::extract::Path(raw): axum::extract::Path<String>,
    body: Result<Json<ReleaseBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = super::path_id("example id", &raw)?;
    let Json(body) = body.map_err(super::bad_json)?;
    let at = release_as(&app, &caller, id, body.reason).await?;
    Ok(Json(
        serde_json::json!({"example": id, "released": true, "audit_index": at}),
    ))
}

/// Releases example `id` as `caller`, in one turn of the writer; returns the audit index.
pub(crate) async fn release_as(
    app: &App,
    caller: &crate::access::Caller,
    id: i64,
    reason: String,
) -> Result<u64, ApiError> {
    let actor = caller.actor();
    app.write(move |w| Ok(w.ledger.release_example(id, &reason, &actor)?))
        .await
}
