//! The queue, one alert, and the reason codes analysts pick from.

use arbiter_store::{QueueFilter, Store};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::auth::Permission;
use crate::error::ApiError;
use crate::views::{AlertDetail, alert_detail};

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    pub tier: Option<String>,
    pub state: Option<String>,
    pub category: Option<String>,
    pub flag: Option<String>,
    /// `true`: only first-seen patterns; `false`: only the others.
    pub new_pattern: Option<bool>,
    pub limit: Option<usize>,
}

const TIERS: [&str; 4] = ["auto", "approve", "analyst", "abstain"];
const FLAGS: [&str; 5] = [
    "out_of_distribution",
    "missing_telemetry",
    "conflicting_signals",
    "low_confidence",
    "unstable_explanation",
];

impl QueueQuery {
    /// Checks the filter values, naming any that cannot match anything.
    pub fn filter(&self) -> Result<QueueFilter, ApiError> {
        let empty = |s: &Option<String>| s.clone().filter(|s| !s.trim().is_empty());
        let tier = empty(&self.tier);
        if let Some(t) = &tier
            && !TIERS.contains(&t.as_str())
        {
            return Err(ApiError::bad_request(format!(
                "unknown tier {t:?}: expected one of {}",
                TIERS.join(", ")
            )));
        }
        let flag = empty(&self.flag);
        if let Some(f) = &flag
            && !FLAGS.contains(&f.as_str())
        {
            return Err(ApiError::bad_request(format!(
                "unknown flag {f:?}: expected one of {}",
                FLAGS.join(", ")
            )));
        }
        Ok(QueueFilter {
            tier,
            state: empty(&self.state),
            category: empty(&self.category),
            flag,
            new_pattern: self.new_pattern,
            limit: self.limit.unwrap_or(200).min(5_000),
        })
    }
}

#[derive(Debug, Serialize)]
pub struct QueueResponse {
    pub filter: QueueFilter,
    pub alerts: Vec<arbiter_store::AlertRow>,
}

fn bad_query(e: axum::extract::rejection::QueryRejection) -> ApiError {
    ApiError::bad_request(format!("bad query string: {}", e.body_text()))
}

/// `GET /api/v1/queue`: alerts awaiting a human (or in `state`), riskiest and most uncertain
/// first.
pub async fn queue(
    State(app): State<App>,
    headers: HeaderMap,
    q: Result<Query<QueueQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<QueueResponse>, ApiError> {
    app.require(&headers, Permission::Read, "read the queue", vec![])
        .await?;
    let Query(q) = q.map_err(bad_query)?;
    let filter = q.filter()?;
    let f = filter.clone();
    let alerts = app.read(move |s| Ok(s.queue(&f)?)).await?;
    Ok(Json(QueueResponse { filter, alerts }))
}

/// `GET /api/v1/alerts/{id}`: the alert, its evidence package, decisions, feedback and the
/// audit timeline.
pub async fn alert(
    State(app): State<App>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Result<Json<AlertDetail>, ApiError> {
    app.require(
        &headers,
        Permission::Read,
        "read an alert",
        vec![format!("alert:{raw}")],
    )
    .await?;
    let id = super::path_id("alert id", &raw)?;
    match alert_detail(&app, id).await? {
        Some(d) => Ok(Json(d)),
        None => Err(ApiError::not_found(format!("no alert with id {id}"))),
    }
}

/// `GET /api/v1/reason-codes`: what an analyst may give as the reason for a decision.
pub async fn reason_codes(
    State(app): State<App>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    app.require(&headers, Permission::Read, "read reason codes", vec![])
        .await?;
    app.write(|core| {
        Ok(Json(serde_json::to_value(
            core.engine.policy().reason_codes(),
        )?))
    })
    .await
}
