//! The queue, one alert, and the reason codes analysts pick from.

use arbiter_core::{AlertState, Flag, Tier};
use arbiter_store::QueueFilter;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};

use super::types::{AlertDetailJson, AlertJson, DecisionJson, FeedbackJson};
use crate::app::App;
use crate::detail;
use crate::error::ApiError;

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

impl QueueQuery {
    /// Checks the filter values, naming any that cannot match anything.
    pub fn filter(&self) -> Result<QueueFilter, ApiError> {
        fn word<T: std::str::FromStr<Err = arbiter_core::VocabError>>(
            s: &Option<String>,
        ) -> Result<Option<T>, ApiError> {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse::<T>()
                        .map_err(|e| ApiError::bad_request(e.to_string()))
                })
                .transpose()
        }
        Ok(QueueFilter {
            tier: word::<Tier>(&self.tier)?,
            state: word::<AlertState>(&self.state)?,
            category: self
                .category
                .clone()
                .filter(|s| !s.trim().is_empty())
                .map(|s| arbiter_ledger::capped(&s, 128)),
            flag: word::<Flag>(&self.flag)?,
            new_pattern: self.new_pattern,
            limit: self.limit.unwrap_or(200).clamp(1, 5_000),
        })
    }
}

#[derive(Debug, Serialize)]
pub struct QueueResponse {
    pub filter: QueueFilter,
    pub alerts: Vec<AlertJson>,
}

/// `GET /api/v1/queue`: alerts awaiting a human (or in `state`), riskiest and most uncertain
/// first.
pub async fn queue(
    State(app): State<App>,
    q: Result<Query<QueueQuery>, QueryRejection>,
) -> Result<Json<QueueResponse>, ApiError> {
    let Query(q) = q.map_err(super::bad_query)?;
    let filter = q.filter()?;
    let f = filter.clone();
    let rows = app.read(move |s, _| Ok(s.queue(&f)?)).await?;
    Ok(Json(QueueResponse {
        filter,
        alerts: rows.iter().map(AlertJson::from).collect(),
    }))
}

/// `GET /api/v1/alerts/{id}`: the alert, its evidence package, decisions, feedback and the
/// audit timeline.
pub async fn alert(
    State(app): State<App>,
    Path(raw): Path<String>,
) -> Result<Json<AlertDetailJson>, ApiError> {
    let id = super::path_id("alert id", &raw)?;
    let Some(d) = detail::load(&app, id).await? else {
        return Err(ApiError::not_found(format!("no alert with id {id}")));
    };
    Ok(Json(AlertDetailJson {
        alert: AlertJson::from(&d.alert),
        action: detail::action(&app, &d.alert),
        approvals: detail::approvals(&d.decisions),
        open: d.alert.state.is_open(),
        package: d.package,
        decisions: d.decisions.iter().map(DecisionJson::from).collect(),
        feedback: d.feedback.iter().map(FeedbackJson::from).collect(),
        timeline: d.timeline,
        timeline_complete: d.timeline_complete,
        timeline_note: d.timeline_note,
    }))
}

/// `GET /api/v1/reason-codes`: what an analyst may give as the reason for a decision.
pub async fn reason_codes(State(app): State<App>) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(serde_json::to_value(
        app.policy().policy.reason_codes(),
    )?))
}
