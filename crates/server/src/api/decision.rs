//! `POST /api/v1/alerts/{id}/decision`: approve, reject or override, checked by the rules in
//! `arbiter_ledger::human`, audited, then stored as a compare-and-set state change.

use arbiter_ledger::{DecisionRequest, HumanOutcome, LedgerError, Refusal};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::{Extension, Json};

use crate::access::Caller;
use crate::app::App;
use crate::error::ApiError;

/// Applies `req` by `caller` to alert `id` in one turn of the writer, so two people cannot
/// both be "the first approver". A request the alert's state or history refuses (a second
/// approval by the same person, a decided alert) is itself audited.
pub async fn apply(
    app: &App,
    caller: &Caller,
    id: i64,
    req: DecisionRequest,
) -> Result<HumanOutcome, ApiError> {
    let rules = app.rules();
    let actor = caller.actor();
    let app2 = app.clone();
    let outcome = app
        .write(move |w| {
            let outcome = match w.ledger.decide(id, &req, &actor, &rules) {
                Err(LedgerError::Refused(r @ Refusal::Conflict(_))) => {
                    if let Ok(Some(a)) = w.ledger.store().alert(id) {
                        w.ledger.record_refusal(&actor, &a.key, &req.action, &r)?;
                    }
                    return Err(LedgerError::Refused(r).into());
                }
                other => other?,
            };
            // A human verdict is what moves a canary's bounds: check them in the same turn,
            // so a canary past its bound decides nothing more.
            match w.ledger.check_canary() {
                Ok(Some(rb)) => {
                    app2.set_challenger(None);
                    eprintln!("serve: canary {} rolled back: {}", rb.model, rb.reason);
                }
                Ok(None) => {}
                Err(e) => eprintln!("serve: could not check the canary's bounds: {e}"),
            }
            Ok(outcome)
        })
        .await?;
    // A resolved alert is a similar case for every later package.
    let scorer = app.scorer();
    app.read(move |s, _| Ok(scorer.learn_cases(s)?)).await?;
    let m = &app.0.metrics;
    m.count("arbiter_human_decisions_total", outcome.decision.as_str());
    if let Some(ms) = outcome.ms_to_decision {
        m.time_to_decision(ms as f64 / 1000.0);
    }
    Ok(outcome)
}

pub async fn decide(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(raw): Path<String>,
    body: Result<Json<DecisionRequest>, JsonRejection>,
) -> Result<Json<HumanOutcome>, ApiError> {
    let id = super::path_id("alert id", &raw)?;
    let Json(req) = body.map_err(|e| {
        ApiError::new(
            e.status(),
            "bad_request",
            format!("bad decision body: {}", e.body_text()),
        )
    })?;
    Ok(Json(apply(&app, &caller, id, req).await?))
}
