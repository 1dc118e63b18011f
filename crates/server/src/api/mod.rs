//! The HTTP API, versioned under `/api/v1` (JSON), plus `/metrics` for Prometheus. Routes and
//! their permissions are in [`crate::routes::ROUTES`]; the JSON shapes in [`types`].

pub mod admin;
pub mod audit;
pub mod decision;
pub mod ingest;
pub mod models;
pub mod ops;
pub mod queue;
pub mod teaching;
pub mod tokens;
pub mod types;

use axum::extract::rejection::{JsonRejection, QueryRejection};

use crate::error::ApiError;

/// Parses a numeric path segment, naming it (cut short) when it is not a number.
pub fn path_id(what: &str, raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>().map_err(|_| {
        ApiError::bad_request(format!(
            "{what} must be a number, got {:?}",
            arbiter_ledger::capped(raw, 40)
        ))
    })
}

pub(crate) fn bad_query(e: QueryRejection) -> ApiError {
    ApiError::bad_request(format!("bad query string: {}", e.body_text()))
}

pub(crate) fn bad_json(e: JsonRejection) -> ApiError {
    ApiError::new(
        e.status(),
        "bad_request",
        format!("bad body: {}", e.body_text()),
    )
}
