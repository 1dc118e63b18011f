//! The HTTP API, versioned under `/api/v1` (JSON), plus `/metrics` for Prometheus.

pub mod admin;
pub mod audit;
pub mod decision;
pub mod ingest;
pub mod ops;
pub mod queue;

use axum::Router;
use axum::routing::{delete, get, post};

use crate::app::App;
use crate::auth::Permission;

/// Every API route: method, path (axum syntax) and the permission it needs (`None`: open).
/// The router, the OpenAPI document and the authorisation tests are all checked against it.
pub const ROUTES: &[(&str, &str, Option<Permission>)] = &[
    ("GET", "/api/v1/health", None),
    ("GET", "/api/v1/openapi.json", None),
    ("GET", "/metrics", Some(Permission::Read)),
    ("POST", "/api/v1/alerts", Some(Permission::Ingest)),
    ("GET", "/api/v1/queue", Some(Permission::Read)),
    ("GET", "/api/v1/alerts/{id}", Some(Permission::Read)),
    (
        "POST",
        "/api/v1/alerts/{id}/decision",
        Some(Permission::Decide),
    ),
    ("GET", "/api/v1/reason-codes", Some(Permission::Read)),
    ("GET", "/api/v1/audit/checkpoint", Some(Permission::Read)),
    ("GET", "/api/v1/audit/proof/{index}", Some(Permission::Read)),
    ("GET", "/api/v1/audit/consistency", Some(Permission::Read)),
    (
        "GET",
        "/api/v1/audit/entries/{index}",
        Some(Permission::Read),
    ),
    ("GET", "/api/v1/policy", Some(Permission::Read)),
    ("PUT", "/api/v1/policy", Some(Permission::Admin)),
    ("GET", "/api/v1/model", Some(Permission::Read)),
    ("PUT", "/api/v1/model", Some(Permission::Admin)),
    ("GET", "/api/v1/tokens", Some(Permission::ManageTokens)),
    ("POST", "/api/v1/tokens", Some(Permission::ManageTokens)),
    (
        "DELETE",
        "/api/v1/tokens/{id}",
        Some(Permission::ManageTokens),
    ),
];

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/v1/health", get(ops::health))
        .route("/api/v1/openapi.json", get(ops::openapi))
        .route("/metrics", get(ops::metrics))
        .route("/api/v1/alerts", post(ingest::ingest))
        .route("/api/v1/queue", get(queue::queue))
        .route("/api/v1/alerts/{id}", get(queue::alert))
        .route("/api/v1/alerts/{id}/decision", post(decision::decide))
        .route("/api/v1/reason-codes", get(queue::reason_codes))
        .route("/api/v1/audit/checkpoint", get(audit::checkpoint))
        .route("/api/v1/audit/proof/{index}", get(audit::proof))
        .route("/api/v1/audit/consistency", get(audit::consistency))
        .route("/api/v1/audit/entries/{index}", get(audit::entry))
        .route("/api/v1/audit/query", get(audit::query))
        .route(
            "/api/v1/policy",
            get(admin::get_policy).put(admin::put_policy),
        )
        .route("/api/v1/model", get(admin::get_model).put(admin::put_model))
        .route(
            "/api/v1/tokens",
            get(admin::list_tokens).post(admin::create_token),
        )
        .route("/api/v1/tokens/{id}", delete(admin::revoke_token))
}

/// Parses a numeric path segment, naming it when it is not a number.
pub fn path_id(what: &str, raw: &str) -> Result<i64, crate::error::ApiError> {
    raw.parse::<i64>().map_err(|_| {
        crate::error::ApiError::bad_request(format!("{what} must be a number, got {raw:?}"))
    })
}
