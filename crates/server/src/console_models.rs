//! The console's Models page: the registry, gate reports, the challenger's disagreements, and
//! for admins the lifecycle's forms (shadow, canary, promote under four eyes, retire, roll
//! back), each the same operation as its API route.

use std::collections::BTreeMap;

use arbiter_console::view::{ChallengerView, ModelsView, User};
use arbiter_core::Permission;
use arbiter_store::{CanaryBounds, ModelState};
use axum::Extension;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::access::Caller;
use crate::api::models;
use crate::app::App;
use crate::console::{error_page, page};
use crate::error::ApiError;

/// Disagreements listed.
const LATEST: usize = 20;

#[derive(Debug, Default, Deserialize)]
pub struct ModelsQuery {
    done: Option<String>,
}

pub async fn models_page(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<ModelsQuery>, QueryRejection>,
) -> Response {
    let read = app
        .read(|s, _| {
            let mut models = s.models()?;
            models.reverse();
            let mut gates = BTreeMap::new();
            for m in &models {
                if let Some(g) = s.gates(&m.id)?.pop() {
                    gates.insert(m.id.to_string(), g);
                }
            }
            let challenger = match models.iter().find(|m| m.state.is_challenger()) {
                None => None,
                Some(c) => Some(ChallengerView {
                    id: c.id.to_string(),
                    opinions: s.opinions(&c.id, false, 0)?.len(),
                    disagreeing: s.opinions(&c.id, true, 0)?.len(),
                    latest: s.opinions(&c.id, true, LATEST)?,
                    tally: (c.state == ModelState::Canary)
                        .then(|| s.canary_tally(&c.id))
                        .transpose()?,
                }),
            };
            Ok((models, gates, challenger))
        })
        .await;
    let (models, gates, challenger) = match read {
        Ok(r) => r,
        Err(e) => return error_page(Some(&caller), &e),
    };
    let flash = q
        .ok()
        .and_then(|Query(q)| q.done)
        .map(|d| match d.as_str() {
            "asked" => "Promotion asked: a second, different admin must approve it.".to_string(),
            "promoted" => "Promoted: the new champion decides every alert from now on.".to_string(),
            "rolled_back" => "Rolled back: the champion before is in force again.".to_string(),
            other => format!("Done: {}.", other.replace('_', " ")),
        });
    let view = ModelsView {
        models,
        gates,
        challenger,
        may_change: caller.role.allows(Permission::Admin),
        flash,
    };
    let user = User {
        name: caller.person.clone(),
        role: caller.role,
    };
    page(StatusCode::OK, arbiter_console::models_page(&user, &view))
}

fn done(r: Result<&str, ApiError>, caller: &Caller) -> Response {
    match r {
        Ok(what) => Redirect::to(&format!("/models?done={what}")).into_response(),
        Err(e) => error_page(Some(caller), &e),
    }
}

pub async fn promote(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(raw): Path<String>,
) -> Response {
    let r = models::promote_as(&app, &caller, &raw).await.map(|v| {
        if v["promotion"]["awaiting_second_admin"] == true {
            "asked"
        } else {
            "promoted"
        }
    });
    done(r, &caller)
}

pub async fn shadow(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(raw): Path<String>,
) -> Response {
    let r = models::start_as(&app, &caller, &raw, None).await;
    done(r.map(|_| "shadow_started"), &caller)
}

#[derive(Debug, Deserialize)]
pub struct CanaryForm {
    share: f64,
}

pub async fn canary(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(raw): Path<String>,
    form: Result<Form<CanaryForm>, FormRejection>,
) -> Response {
    let share = match form {
        Ok(Form(f)) => f.share,
        Err(e) => {
            let e = ApiError::bad_request(format!("the form could not be read: {}", e.body_text()));
            return error_page(Some(&caller), &e);
        }
    };
    // The console declares the usual bounds; the API takes any.
    let bounds = CanaryBounds {
        share,
        max_override_rate: 0.2,
        min_reviewed: 20,
        max_automated_overridden: 0,
    };
    let r = models::start_as(&app, &caller, &raw, Some(bounds)).await;
    done(r.map(|_| "canary_started"), &caller)
}

#[derive(Debug, Deserialize)]
pub struct RetireForm {
    reason: String,
}

pub async fn retire(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(raw): Path<String>,
    form: Result<Form<RetireForm>, FormRejection>,
) -> Response {
    let reason = match form {
        Ok(Form(f)) => f.reason,
        Err(e) => {
            let e = ApiError::bad_request(format!("the form could not be read: {}", e.body_text()));
            return error_page(Some(&caller), &e);
        }
    };
    let r = models::retire_as(&app, &caller, &raw, reason).await;
    done(r.map(|_| "retired"), &caller)
}

pub async fn rollback(State(app): State<App>, Extension(caller): Extension<Caller>) -> Response {
    let r = models::rollback_as(&app, &caller).await;
    done(r.map(|_| "rolled_back"), &caller)
}
