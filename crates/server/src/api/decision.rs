//! `POST /api/v1/alerts/{id}/decision`: approve, reject or override, checked, audited and
//! then stored (see [`crate::human`] for the rules).

use arbiter_audit::Entry;
use arbiter_store::{DecisionRow, FeedbackRow, Store};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::Serialize;

use crate::app::App;
use crate::auth::{Caller, Permission};
use crate::error::ApiError;
use crate::human::{self, Context, DecisionRequest, Refusal};

#[derive(Debug, Serialize)]
pub struct DecisionOutcome {
    pub alert: i64,
    pub alert_id: String,
    pub decision: String,
    pub state: String,
    /// The audit entry appended before the decision took effect.
    pub audit_index: u64,
    /// A four-eyes action approved once: a second, different analyst must approve.
    pub awaiting_second_approval: bool,
}

/// Applies `req` by `caller` to alert `id`: under the writer's lock, so two analysts cannot
/// both be "the first approver".
pub async fn apply(
    app: &App,
    caller: Caller,
    id: i64,
    req: DecisionRequest,
) -> Result<DecisionOutcome, ApiError> {
    let labels = app.0.labels.clone();
    let features = app.0.features.clone();
    let metrics_app = app.clone();
    let outcome = app
        .write(move |core| {
            let Some(alert) = core.store.alert(id)? else {
                return Err(ApiError::not_found(format!("no alert with id {id}")));
            };
            let decisions = core.store.decisions(id)?;
            let codes: Vec<String> = core
                .engine
                .policy()
                .reason_codes()
                .iter()
                .map(|c| c.code.clone())
                .collect();
            let actor = caller.actor();
            let cx = Context {
                reason_codes: &codes,
                labels: &labels,
                features: &features,
                actor: &actor,
            };
            let plan = match human::plan(&alert, &decisions, &req, &cx) {
                Ok(p) => p,
                Err(Refusal::Invalid(m)) => return Err(ApiError::unprocessable(m)),
                Err(Refusal::Conflict(m)) => {
                    core.audit_denied(
                        &actor,
                        vec![alert.alert_id.clone(), format!("alert:{id}")],
                        format!("{} refused: {m}", req.action),
                    );
                    return Err(ApiError::conflict(m));
                }
            };
            let now = chrono::Utc::now();
            let ms = chrono::DateTime::parse_from_rfc3339(&alert.received_at)
                .ok()
                .map(|t| {
                    (now - t.with_timezone(&chrono::Utc))
                        .num_milliseconds()
                        .max(0)
                });
            let clean = |s: &Option<String>| human::trimmed(s).map(str::to_string);
            let (reason_code, note, label, feature) = (
                clean(&req.reason_code),
                clean(&req.note),
                clean(&req.label),
                clean(&req.feature),
            );
            let action = alert.action.clone().unwrap_or_else(|| "(no action)".into());
            let summary = match plan.kind {
                "approve" if plan.first_of_two => {
                    format!(
                        "{}: {actor} approved {action} (1 of 2: four eyes)",
                        alert.alert_id
                    )
                }
                "approve" => format!("{}: {actor} approved {action}", alert.alert_id),
                "reject" => format!(
                    "{}: {actor} rejected {action} ({})",
                    alert.alert_id,
                    reason_code.as_deref().unwrap_or("")
                ),
                _ => format!(
                    "{}: {actor} overrode the {} decision ({}{})",
                    alert.alert_id,
                    alert.tier,
                    reason_code.as_deref().unwrap_or(""),
                    label
                        .as_deref()
                        .map_or(String::new(), |l| format!(", label {l}"))
                ),
            };
            // Audit first: the decision is on the record before it takes effect.
            let index = core.audit(Entry {
                time: now,
                kind: plan.entry_kind,
                actor: actor.clone(),
                entities: vec![alert.alert_id.clone(), format!("alert:{id}")],
                summary,
                body: serde_json::json!({
                    "alert": id, "decision": plan.kind, "action": alert.action,
                    "from_state": alert.state, "to_state": plan.new_state,
                    "reason_code": reason_code, "note": note, "label": label,
                    "feature": feature, "ms_to_decision": ms,
                }),
            })?;
            let row = DecisionRow {
                alert: id,
                kind: plan.kind.into(),
                tier: alert.tier.clone(),
                action: alert.action.clone(),
                reasons: "[]".into(),
                actor: actor.clone(),
                time: now.to_rfc3339(),
                audit_index: Some(index),
                reason_code: reason_code.clone(),
                note: note.clone(),
                ms_to_decision: ms,
            };
            let feedback = plan.feedback.then(|| FeedbackRow {
                alert: id,
                actor: actor.clone(),
                time: now.to_rfc3339(),
                label,
                reason_code: reason_code.clone().unwrap_or_default(),
                note,
                feature,
                audit_index: Some(index),
            });
            core.store
                .record_decision(&row, plan.new_state, feedback.as_ref())?;
            Ok((
                DecisionOutcome {
                    alert: id,
                    alert_id: alert.alert_id,
                    decision: plan.kind.into(),
                    state: plan.new_state.into(),
                    audit_index: index,
                    awaiting_second_approval: plan.first_of_two,
                },
                ms,
            ))
        })
        .await?;
    let (outcome, ms) = outcome;
    let m = &metrics_app.0.metrics;
    m.count("arbiter_human_decisions_total", &outcome.decision);
    if let Some(ms) = ms {
        m.time_to_decision(ms as f64 / 1000.0);
    }
    Ok(outcome)
}

pub async fn decide(
    State(app): State<App>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    body: Result<Json<DecisionRequest>, JsonRejection>,
) -> Result<Json<DecisionOutcome>, ApiError> {
    let caller = app
        .require(
            &headers,
            Permission::Decide,
            "decide on an alert",
            vec![format!("alert:{raw}")],
        )
        .await?;
    let id = super::path_id("alert id", &raw)?;
    let Json(req) = body.map_err(|e| {
        ApiError::new(
            e.status(),
            "bad_request",
            format!("bad decision body: {}", e.body_text()),
        )
    })?;
    Ok(Json(apply(&app, caller, id, req).await?))
}
