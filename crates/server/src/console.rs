//! The console's routes: login with a token (kept in an HttpOnly, SameSite=Strict cookie),
//! the queue, the alert page, and the decision form. Pages come from `arbiter-console`.

use arbiter_console::view::{QueueCounts, QueueView, User};
use arbiter_store::Store;
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::api::decision;
use crate::api::queue::QueueQuery;
use crate::app::{App, cookie_token};
use crate::auth::{Caller, Permission};
use crate::error::ApiError;
use crate::human::DecisionRequest;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/queue") }))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/queue", get(queue))
        .route("/alerts/{id}", get(alert))
        .route("/alerts/{id}/decision", post(decide))
        .route("/console/style.css", get(style))
}

fn user(c: &Caller) -> User {
    User {
        name: c.name.clone(),
        role: c.role.as_str().to_string(),
    }
}

fn page(status: StatusCode, html: String) -> Response {
    (status, Html(html)).into_response()
}

fn error_page(c: Option<&Caller>, e: &ApiError) -> Response {
    let u = c.map(user);
    page(
        e.status,
        arbiter_console::error_page(u.as_ref(), e.status.as_u16(), &e.message),
    )
}

/// The signed-in caller, or the response to send instead (the login page, or a refusal).
async fn signed_in(
    app: &App,
    headers: &HeaderMap,
    perm: Permission,
    what: &str,
    entities: Vec<String>,
) -> Result<Caller, Response> {
    let Some(token) = cookie_token(headers) else {
        return Err(Redirect::to("/login").into_response());
    };
    if !same_origin(headers) {
        let e = ApiError::forbidden("cross-site request refused");
        app.deny(
            "anonymous".into(),
            entities,
            format!("cross-site attempt to {what}"),
        )
        .await;
        return Err(error_page(None, &e));
    }
    let caller = match app.caller_for(token).await {
        Ok(c) => c,
        Err(e) => return Err(error_page(None, &e)),
    };
    match app.authorize(caller.clone(), perm, what, entities).await {
        Ok(c) => Ok(c),
        Err(e) if e.status == StatusCode::UNAUTHORIZED => Err(page(
            StatusCode::UNAUTHORIZED,
            arbiter_console::login_page(Some(
                "your token is not valid or was revoked: sign in again",
            )),
        )),
        Err(e) => Err(error_page(caller.as_ref(), &e)),
    }
}

/// A request that says where it came from must come from here (the cookie is also
/// SameSite=Strict; this is the second lock on the door).
fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest.trim_end_matches('/') == host)
}

/// [`signed_in`] for a page about one alert: also parses the alert id.
async fn signed_in_alert(
    app: &App,
    headers: &HeaderMap,
    perm: Permission,
    what: &str,
    raw: &str,
) -> Result<(Caller, i64), Response> {
    let caller = signed_in(app, headers, perm, what, vec![format!("alert:{raw}")]).await?;
    match crate::api::path_id("alert id", raw) {
        Ok(id) => Ok((caller, id)),
        Err(e) => Err(error_page(Some(&caller), &e)),
    }
}

async fn login_form() -> Html<String> {
    Html(arbiter_console::login_page(None))
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    token: String,
}

async fn login(State(app): State<App>, form: Result<Form<LoginForm>, FormRejection>) -> Response {
    let Ok(Form(form)) = form else {
        return page(
            StatusCode::BAD_REQUEST,
            arbiter_console::login_page(Some("paste your API token to sign in")),
        );
    };
    let token = form.token.trim().to_string();
    match app.caller_for(token.clone()).await {
        Ok(Some(c)) if c.role != crate::auth::Role::Ingest => {
            let secure = if app.0.limits.secure_cookies {
                "; Secure"
            } else {
                ""
            };
            let cookie =
                format!("arbiter_token={token}; HttpOnly; SameSite=Strict; Path=/{secure}");
            let mut resp = Redirect::to("/queue").into_response();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
            resp
        }
        Ok(Some(c)) => {
            app.deny(
                c.actor(),
                vec![],
                "ingest tokens cannot sign in to the console".into(),
            )
            .await;
            page(
                StatusCode::FORBIDDEN,
                arbiter_console::login_page(Some("ingest tokens cannot sign in to the console")),
            )
        }
        Ok(None) => {
            app.deny(
                "anonymous".into(),
                vec![],
                "console sign-in with an invalid token".into(),
            )
            .await;
            page(
                StatusCode::UNAUTHORIZED,
                arbiter_console::login_page(Some("that token is not valid or was revoked")),
            )
        }
        Err(e) => error_page(None, &e),
    }
}

async fn logout() -> Response {
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("arbiter_token=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    resp
}

async fn queue(
    State(app): State<App>,
    headers: HeaderMap,
    q: Result<Query<QueueQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let caller = match signed_in(&app, &headers, Permission::Read, "read the queue", vec![]).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let filter = match q.filter() {
        Ok(f) => f,
        Err(e) => return error_page(Some(&caller), &e),
    };
    let f = filter.clone();
    let found = app.read(move |s| Ok((s.queue(&f)?, s.stats()?))).await;
    match found {
        Ok((rows, stats)) => {
            let view = QueueView {
                rows,
                tier: filter.tier,
                state: filter.state,
                category: filter.category,
                flag: filter.flag,
                new_pattern: filter.new_pattern == Some(true),
                counts: QueueCounts {
                    by_state: stats.by_state,
                    new_patterns: stats.new_patterns,
                },
            };
            page(
                StatusCode::OK,
                arbiter_console::queue_page(&user(&caller), &view),
            )
        }
        Err(e) => error_page(Some(&caller), &e),
    }
}

#[derive(Debug, Default, Deserialize)]
struct AlertQuery {
    done: Option<String>,
}

fn done_message(kind: &str) -> Option<&'static str> {
    match kind {
        "approve" => Some("Approved. The decision is in the audit log."),
        "approve1" => Some("Approved (1 of 2). A second, different analyst must approve."),
        "reject" => Some("Rejected. The decision is in the audit log."),
        "override" => Some("Overridden. Your reason is kept for calibration and retraining."),
        _ => None,
    }
}

async fn render_alert(
    app: &App,
    caller: &Caller,
    id: i64,
    flash: Option<&str>,
    status: StatusCode,
) -> Response {
    let u = user(caller);
    match crate::views::alert_detail(app, id).await {
        Ok(Some(d)) => page(
            status,
            match flash {
                Some(m) if !status.is_success() => {
                    arbiter_console::alert_page_error(&u, &d.view, m)
                }
                _ => arbiter_console::alert_page(&u, &d.view, flash),
            },
        ),
        Ok(None) => error_page(
            Some(caller),
            &ApiError::not_found(format!("no alert with id {id}")),
        ),
        Err(e) => error_page(Some(caller), &e),
    }
}

async fn alert(
    State(app): State<App>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    q: Result<Query<AlertQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let (caller, id) =
        match signed_in_alert(&app, &headers, Permission::Read, "read an alert", &raw).await {
            Ok(c) => c,
            Err(r) => return r,
        };
    let flash = q
        .ok()
        .and_then(|Query(q)| q.done)
        .as_deref()
        .and_then(done_message);
    render_alert(&app, &caller, id, flash, StatusCode::OK).await
}

async fn decide(
    State(app): State<App>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    form: Result<Form<DecisionRequest>, FormRejection>,
) -> Response {
    let (caller, id) = match signed_in_alert(
        &app,
        &headers,
        Permission::Decide,
        "decide on an alert",
        &raw,
    )
    .await
    {
        Ok(c) => c,
        Err(r) => return r,
    };
    let req = match form {
        Ok(Form(f)) => f,
        Err(e) => {
            let msg = format!("the form could not be read: {}", e.body_text());
            return render_alert(&app, &caller, id, Some(&msg), StatusCode::BAD_REQUEST).await;
        }
    };
    match decision::apply(&app, caller.clone(), id, req).await {
        Ok(o) => {
            let done = if o.awaiting_second_approval {
                "approve1"
            } else {
                o.decision.as_str()
            };
            Redirect::to(&format!("/alerts/{id}?done={done}")).into_response()
        }
        Err(e) => {
            let msg = format!("not recorded: {}", e.message);
            render_alert(&app, &caller, id, Some(&msg), e.status).await
        }
    }
}

async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        arbiter_console::STYLE,
    )
        .into_response()
}
