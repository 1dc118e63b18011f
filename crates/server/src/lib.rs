//! `arbiter serve`: the HTTP API (`/api/v1`, JSON, OpenAPI at `/api/v1/openapi.json`) and the
//! analyst console (server-rendered HTML) in one process over one store and audit log.
//!
//! - Every route is in [`routes::ROUTES`]; its gate ([`access::gate`]) authenticates and
//!   authorises before any handler runs or any body is read.
//! - One writer ([`app::Writer`]: the ledger and the guardrails, behind a lock) records
//!   ingested alerts, human decisions and admin changes, each audited before it takes effect;
//!   scoring happens before the writer is taken, and readers (queue, alert pages, audit
//!   proofs and queries, the policy) never take it.
//! - Refusals are counted and written once a second, with a signed checkpoint over any entries
//!   none covers ([`App::flush`]).
//! - Graceful shutdown stops accepting alerts, lets requests in flight finish, writes the
//!   last refusals and signs a final checkpoint.

pub mod access;
pub mod api;
pub mod app;
pub mod challenger;
pub mod console;
pub mod console_models;
pub mod console_teaching;
pub mod denials;
pub mod detail;
pub mod error;
pub mod listen;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod writer;

use std::future::Future;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;

pub use access::{Caller, new_token, token_hash};
pub use app::{App, Limits, OpenError, Paths};
pub use arbiter_core::{Permission, Role};
pub use error::ApiError;

/// The whole application, built from the route table: every route behind its gate, then the
/// body limit, security headers and response counts.
pub fn router(app: App) -> Router {
    let limit = app.0.limits.max_body_bytes;
    let mut r = Router::new();
    for route in routes::ROUTES {
        let gate = access::Gate {
            app: app.clone(),
            route,
        };
        r = r.route(
            route.path,
            (route.handler)().route_layer(middleware::from_fn_with_state(gate, access::gate)),
        );
    }
    r.fallback(|| async { ApiError::not_found("no such endpoint: see /api/v1/openapi.json") })
        .layer(middleware::from_fn_with_state(
            app.clone(),
            headers_and_counts,
        ))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(app)
}

async fn headers_and_counts(State(app): State<App>, req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let class = match resp.status().as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    app.0.metrics.count("arbiter_http_responses_total", class);
    let h = resp.headers_mut();
    // The console needs no script and no third-party anything.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// Serves `app` on `listener` until `shutdown` resolves, then drains: new alerts are refused
/// with 503, requests in flight finish, the last refusals are written and a final audit
/// checkpoint is signed.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let background = app.spawn_background();
    let drain = app.clone();
    let conn = app.0.limits.conn.clone();
    listen::serve_with(listener, router(app.clone()), conn, async move {
        shutdown.await;
        drain.0.draining.store(true, Ordering::SeqCst);
    })
    .await?;
    background.abort();
    app.flush()
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let size = app
        .write(|w| Ok(w.ledger.checkpoint()?.size))
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    eprintln!("serve: stopped; audit checkpoint signed at size {size}");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
