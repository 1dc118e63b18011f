//! Health, Prometheus metrics and the OpenAPI document.

use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::app::App;
use crate::error::ApiError;

/// `GET /api/v1/health`: open to load balancers; says whether automation is degraded.
pub async fn health(State(app): State<App>) -> (StatusCode, Json<Value>) {
    let draining = app.0.draining.load(Ordering::SeqCst);
    let model = app.model();
    let breaker = app.0.breaker_open.load(Ordering::Relaxed);
    let status = if draining {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (
        status,
        Json(json!({
            "status": if draining { "draining" } else { "ok" },
            "model": model.id,
            "schema": model.schema.id(),
            "pending_alerts": app.0.pending.load(Ordering::SeqCst),
            "queue_capacity": app.0.limits.queue_capacity,
            "circuit_breaker_open": breaker,
            "uptime_s": app.0.started.elapsed().as_secs(),
        })),
    )
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(app): State<App>) -> Result<Response, ApiError> {
    let stats = app.read(|s, _| Ok(s.stats()?)).await?;
    let open = stats.open();
    let gauges = [
        (
            "arbiter_alerts_stored",
            "alerts in the store",
            stats.alerts as f64,
        ),
        ("arbiter_queue_open", "alerts awaiting a human", open as f64),
        ("arbiter_cases", "flood-control cases", stats.cases as f64),
        (
            "arbiter_new_patterns",
            "cases marked new_pattern",
            stats.new_patterns as f64,
        ),
        (
            "arbiter_feedback_stored",
            "analyst feedback rows",
            stats.feedback as f64,
        ),
        (
            "arbiter_ingest_pending",
            "alerts accepted and waiting for triage",
            app.0.pending.load(Ordering::SeqCst) as f64,
        ),
    ];
    let text = app.0.metrics.render(&gauges);
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// `GET /api/v1/openapi.json`.
pub async fn openapi() -> Json<Value> {
    Json(crate::openapi::document())
}
