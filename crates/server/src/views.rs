//! Assembling what the API and the console show about alerts.

use arbiter_console::view::{ActionInfo, AlertView, ReasonChoice, TimelineItem};
use arbiter_core::EvidencePackage;
use arbiter_store::{DecisionRow, FeedbackRow, OPEN_STATES, Store};
use serde::Serialize;

use crate::app::App;
use crate::error::ApiError;
use crate::human;

/// An alert with everything known about it: the API's `GET /api/v1/alerts/{id}`.
#[derive(Debug, Serialize)]
pub struct AlertDetail {
    #[serde(flatten)]
    pub view: AlertView,
    pub decisions: Vec<DecisionRow>,
    pub feedback: Vec<FeedbackRow>,
}

pub async fn alert_detail(app: &App, id: i64) -> Result<Option<AlertDetail>, ApiError> {
    let found = app
        .read(move |s| {
            let Some(alert) = s.alert(id)? else {
                return Ok(None);
            };
            let package = s.package(id)?;
            Ok(Some((alert, package, s.decisions(id)?, s.feedback(id)?)))
        })
        .await?;
    let Some((alert, package, decisions, feedback)) = found else {
        return Ok(None);
    };
    let package: Option<EvidencePackage> = package
        .map(|json| serde_json::from_str(&json))
        .transpose()
        .map_err(|e| ApiError::internal(format!("stored package of alert {id} unreadable: {e}")))?;
    let alert_id = alert.alert_id.clone();
    let (timeline, reason_codes, catalogue) = app
        .write(move |core| {
            let timeline = core
                .audit
                .query(&alert_id, None)?
                .into_iter()
                .map(|(index, e)| TimelineItem {
                    audit_index: Some(index),
                    time: e.time.to_rfc3339(),
                    kind: serde_json::to_value(e.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    actor: e.actor,
                    summary: e.summary,
                    reason_code: e.body["reason_code"].as_str().map(str::to_string),
                    note: e.body["note"].as_str().map(str::to_string),
                })
                .collect::<Vec<_>>();
            let policy = core.engine.policy();
            let codes: Vec<ReasonChoice> = policy
                .reason_codes()
                .iter()
                .map(|c| ReasonChoice {
                    code: c.code.clone(),
                    label: c.label.clone(),
                })
                .collect();
            Ok((timeline, codes, policy.actions().clone()))
        })
        .await?;
    let action = alert.action.as_ref().map(|name| {
        let a = catalogue.get(name);
        ActionInfo {
            name: name.clone(),
            impact: alert
                .impact
                .clone()
                .or_else(|| a.map(|a| a.impact.as_str().to_string()))
                .unwrap_or_else(|| "unknown".into()),
            reversible: alert
                .reversible
                .or(a.map(|a| a.reversible))
                .unwrap_or(false),
            blast_radius: alert
                .blast_radius
                .clone()
                .or_else(|| a.map(|a| a.blast_radius.clone()))
                .unwrap_or_default(),
            description: a.and_then(|a| a.description.clone()).unwrap_or_default(),
            needs_two_approvals: human::needs_two(&alert),
        }
    });
    let view = AlertView {
        open: OPEN_STATES.contains(&alert.state.as_str()),
        approvals: human::approvers(&decisions),
        alert,
        package,
        action,
        reason_codes,
        labels: app.0.labels.clone(),
        features: app.0.features.clone(),
        timeline,
    };
    Ok(Some(AlertDetail {
        view,
        decisions,
        feedback,
    }))
}
