//! The console's routes: sign-in with a token (kept in an HttpOnly, SameSite=Strict cookie),
//! the queue, the alert page and the decision form. Who may see what is decided by the route
//! table's gate before these run; pages come from `arbiter-console`.

use arbiter_console::view::{
    ActionInfo, AlertView, QueueCounts, QueueView, ReasonChoice, TimelineItem, User,
};
use arbiter_ledger::DecisionRequest;
use axum::Extension;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::access::Caller;
use crate::api::decision;
use crate::api::queue::QueueQuery;
use crate::app::App;
use crate::detail;
use crate::error::ApiError;

fn user(c: &Caller) -> User {
    User {
        name: c.person.clone(),
        role: c.role,
    }
}

pub(crate) fn page(status: StatusCode, html: String) -> Response {
    (status, Html(html)).into_response()
}

pub(crate) fn error_page(c: Option<&Caller>, e: &ApiError) -> Response {
    let u = c.map(user);
    page(
        e.status,
        arbiter_console::error_page(u.as_ref(), e.status.as_u16(), &e.message),
    )
}

pub async fn home() -> Redirect {
    Redirect::to("/queue")
}

pub async fn login_form() -> Html<String> {
    Html(arbiter_console::login_page(None))
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    token: String,
}

pub async fn login(
    State(app): State<App>,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return page(
            StatusCode::BAD_REQUEST,
            arbiter_console::login_page(Some("paste your API token to sign in")),
        );
    };
    let token = form.token.trim().to_string();
    if token.is_empty() || token.len() > 256 {
        return page(
            StatusCode::BAD_REQUEST,
            arbiter_console::login_page(Some("paste your API token to sign in")),
        );
    }
    match app.caller_for(token.clone()).await {
        Ok(Some(c)) if c.role.may_sign_in() => {
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
                "sign in to the console with an ingest token",
                vec![],
                None,
            );
            page(
                StatusCode::FORBIDDEN,
                arbiter_console::login_page(Some("ingest tokens cannot sign in to the console")),
            )
        }
        Ok(None) => {
            app.deny(
                arbiter_core::Actor::Anonymous,
                "sign in to the console (invalid token)",
                vec![],
                None,
            );
            page(
                StatusCode::UNAUTHORIZED,
                arbiter_console::login_page(Some("that token is not valid or was revoked")),
            )
        }
        Err(e) => error_page(None, &e),
    }
}

pub async fn logout() -> Response {
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("arbiter_token=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    resp
}

pub async fn queue(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<QueueQuery>, QueryRejection>,
) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let filter = match q.filter() {
        Ok(f) => f,
        Err(e) => return error_page(Some(&caller), &e),
    };
    let f = filter.clone();
    match app.read(move |s, _| Ok((s.queue(&f)?, s.stats()?))).await {
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
pub struct AlertQuery {
    done: Option<String>,
}

fn done_message(kind: &str) -> Option<&'static str> {
    match kind {
        "approve" => Some("Approved. The decision is in the audit log."),
        "approve1" => Some("Approved (1 of 2). A second, different person must approve."),
        "reject" => Some("Rejected. The decision is in the audit log."),
        "override" => Some("Overridden. Your reason is kept for calibration and retraining."),
        _ => None,
    }
}

/// The alert page's view: the same reads as the API's alert, in the console's own types.
async fn alert_view(app: &App, id: i64) -> Result<Option<AlertView>, ApiError> {
    let Some(d) = detail::load(app, id).await? else {
        return Ok(None);
    };
    let rules = app.rules();
    let policy = app.policy();
    let action = detail::action(app, &d.alert).map(|a| ActionInfo {
        name: a.name,
        impact: a.impact,
        reversible: a.reversible,
        blast_radius: a.blast_radius,
        description: a.description,
        needs_two_approvals: a.needs_two_approvals,
    });
    Ok(Some(AlertView {
        open: d.alert.state.is_open(),
        approvals: detail::approvals(&d.decisions),
        action,
        reason_codes: policy
            .policy
            .reason_codes()
            .iter()
            .map(|c| ReasonChoice {
                code: c.code.clone(),
                label: c.label.clone(),
            })
            .collect(),
        labels: rules.labels,
        features: rules.features,
        timeline: d
            .timeline
            .into_iter()
            .map(|t| TimelineItem {
                audit_index: Some(t.audit_index),
                time: t.time,
                kind: t.kind,
                actor: t.actor,
                summary: t.summary,
                reason_code: t.reason_code,
                note: t.note,
            })
            .collect(),
        timeline_note: d.timeline_note,
        alert: d.alert,
        package: d.package,
    }))
}

async fn render_alert(
    app: &App,
    caller: &Caller,
    id: i64,
    flash: Option<&str>,
    status: StatusCode,
) -> Response {
    let u = user(caller);
    match alert_view(app, id).await {
        Ok(Some(v)) => page(
            status,
            match flash {
                Some(m) if !status.is_success() => arbiter_console::alert_page_error(&u, &v, m),
                _ => arbiter_console::alert_page(&u, &v, flash),
            },
        ),
        Ok(None) => error_page(
            Some(caller),
            &ApiError::not_found(format!("no alert with id {id}")),
        ),
        Err(e) => error_page(Some(caller), &e),
    }
}

pub async fn alert(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(raw): Path<String>,
    q: Result<Query<AlertQuery>, QueryRejection>,
) -> Response {
    let id = match crate::api::path_id("alert id", &raw) {
        Ok(id) => id,
        Err(e) => return error_page(Some(&caller), &e),
    };
    let flash = q
        .ok()
        .and_then(|Query(q)| q.done)
        .as_deref()
        .and_then(done_message);
    render_alert(&app, &caller, id, flash, StatusCode::OK).await
}

pub async fn decide(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(raw): Path<String>,
    form: Result<Form<DecisionRequest>, FormRejection>,
) -> Response {
    let id = match crate::api::path_id("alert id", &raw) {
        Ok(id) => id,
        Err(e) => return error_page(Some(&caller), &e),
    };
    let req = match form {
        Ok(Form(f)) => f,
        Err(e) => {
            let msg = format!("the form could not be read: {}", e.body_text());
            return render_alert(&app, &caller, id, Some(&msg), StatusCode::BAD_REQUEST).await;
        }
    };
    match decision::apply(&app, &caller, id, req).await {
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

pub async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        arbiter_console::STYLE,
    )
        .into_response()
}
