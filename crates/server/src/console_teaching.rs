//! The console's Teaching page: recent examples with their provenance, and what the
//! poisoning screen holds back, which a lead or an admin can release with a reason.

use arbiter_console::view::{HeldView, TeachingView, User};
use arbiter_core::Permission;
use axum::Extension;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::access::Caller;
use crate::api::teaching::{ReleaseBody, release_as, screened};
use crate::app::App;
use crate::console::{error_page, page};

/// Recent examples shown.
const RECENT: usize = 100;

#[derive(Debug, Default, Deserialize)]
pub struct TeachingQuery {
    done: Option<String>,
}

pub async fn teaching(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<TeachingQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    match screened(&app).await {
        Ok((rows, held, accuracy)) => {
            let view = TeachingView {
                total: rows.len(),
                recent: rows.into_iter().rev().take(RECENT).collect(),
                held: held
                    .into_iter()
                    .map(|h| HeldView {
                        example: h.example,
                        posterior: h.posterior,
                        reasons: h.reasons,
                    })
                    .collect(),
                accuracy,
                may_release: caller.role.allows(Permission::Curate),
                flash: q
                    .ok()
                    .and_then(|Query(q)| q.done)
                    .filter(|d| d == "released")
                    .map(|_| "Released into training; the audit log records who and why.".into()),
            };
            let user = User {
                name: caller.person.clone(),
                role: caller.role,
            };
            page(StatusCode::OK, arbiter_console::teaching_page(&user, &view))
        }
        Err(e) => error_page(Some(&caller), &e),
    }
}

pub async fn release(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(raw): Path<String>,
    form: Result<Form<ReleaseBody>, FormRejection>,
) -> Response {
    let id = match crate::api::path_id("example id", &raw) {
        Ok(id) => id,
        Err(e) => return error_page(Some(&caller), &e),
    };
    let body = match form {
        Ok(Form(b)) => b,
        Err(e) => {
            let e = crate::error::ApiError::bad_request(format!(
                "the form could not be read: {}",
                e.body_text()
            ));
            return error_page(Some(&caller), &e);
        }
    };
    match release_as(&app, &caller, id, body.reason).await {
        Ok(_) => Redirect::to("/teaching?done=released").into_response(),
        Err(e) => error_page(Some(&caller), &e),
    }
}
