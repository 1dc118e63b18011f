//! Who is calling, and whether they may: tokens (stored hashed), the caller they identify,
//! and the gate every route passes through — authentication and authorisation happen here,
//! from the route table, before any handler runs or any body is read.
//!
//! A token is `arb_` followed by 64 hex digits (256 random bits); the store keeps only its
//! SHA-256. API requests present it as `Authorization: Bearer …`; the console keeps it in an
//! HttpOnly, SameSite=Strict cookie and checks the origin of every form post.

use std::net::SocketAddr;

use arbiter_core::{Actor, Role};
use arbiter_ledger::capped;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Serialize;

use crate::app::App;
use crate::error::ApiError;
use crate::routes::{Access, Route};

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Caller {
    pub token_id: i64,
    /// The token's name.
    pub name: String,
    /// The person holding it: decisions and four eyes count people.
    pub person: String,
    pub role: Role,
}

impl Caller {
    /// How records name this caller, with the token presented.
    pub fn actor(&self) -> Actor {
        Actor::person(&self.person, self.role, self.token_id)
    }
}

/// A fresh token: `arb_` and 64 hex digits from the operating system's random source.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    format!("arb_{}", hex::encode(bytes))
}

/// What the store keeps of a token.
pub fn token_hash(token: &str) -> String {
    arbiter_triage::sha256_hex(token.as_bytes())
}

/// The bearer token of a request, if any.
pub fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let t = v
        .strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))?;
    Some(t.trim().to_string()).filter(|t| !t.is_empty() && t.len() <= 256)
}

/// The console's session cookie, if any.
pub fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().strip_prefix("arbiter_token="))
        .map(str::to_string)
        .find(|t| !t.is_empty() && t.len() <= 256)
}

/// A request that says where it came from must come from here (the cookie is also
/// SameSite=Strict; this is the second lock on the door).
pub fn same_origin(headers: &HeaderMap) -> bool {
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

impl App {
    /// Who presented `token`, if it is live.
    pub async fn caller_for(&self, token: String) -> Result<Option<Caller>, ApiError> {
        let hash = token_hash(&token);
        let row = self.read(move |s, _| Ok(s.token_by_hash(&hash)?)).await?;
        Ok(row.map(|t| Caller {
            token_id: t.id,
            name: t.name,
            person: t.person,
            role: t.role,
        }))
    }
}

/// What a route's gate knows.
#[derive(Clone)]
pub struct Gate {
    pub app: App,
    pub route: &'static Route,
}

/// Authenticates and authorises a request by its route's [`Access`]; every refusal is
/// counted for the audit log. On success the [`Caller`] is in the request's extensions.
pub async fn gate(State(g): State<Gate>, mut req: Request, next: Next) -> Response {
    let what = g.route.what;
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let entities = vec![
        format!("endpoint:{} {}", g.route.method, g.route.path),
        format!("path:{}", capped(req.uri().path(), 80)),
    ];
    let app = &g.app;
    match g.route.access {
        Access::Open => next.run(req).await,
        Access::ConsoleForm => {
            if req.method() != Method::GET && !same_origin(req.headers()) {
                app.deny(
                    Actor::Anonymous,
                    &format!("cross-site: {what}"),
                    entities,
                    peer,
                );
                return crate::console::error_page(
                    None,
                    &ApiError::forbidden("cross-site request refused"),
                );
            }
            next.run(req).await
        }
        Access::Api(perm) => {
            let caller = match bearer(req.headers()) {
                Some(t) => app.caller_for(t).await,
                None => Ok(None),
            };
            match caller {
                Err(e) => e.into_response(),
                Ok(None) => {
                    app.deny(Actor::Anonymous, what, entities, peer);
                    ApiError::unauthorized(format!(
                        "no valid token to {what}: send Authorization: Bearer <token>"
                    ))
                    .into_response()
                }
                Ok(Some(c)) if !c.role.allows(perm) => {
                    app.deny(c.actor(), what, entities, peer);
                    ApiError::forbidden(format!(
                        "{} (role {}) may not {what}: it needs the {perm} permission",
                        c.name, c.role
                    ))
                    .into_response()
                }
                Ok(Some(c)) => {
                    req.extensions_mut().insert(c);
                    next.run(req).await
                }
            }
        }
        Access::Console(perm) => {
            let Some(token) = cookie_token(req.headers()) else {
                return Redirect::to("/login").into_response();
            };
            if req.method() != Method::GET && !same_origin(req.headers()) {
                app.deny(
                    Actor::Anonymous,
                    &format!("cross-site: {what}"),
                    entities,
                    peer,
                );
                return crate::console::error_page(
                    None,
                    &ApiError::forbidden("cross-site request refused"),
                );
            }
            match app.caller_for(token).await {
                Err(e) => crate::console::error_page(None, &e),
                Ok(None) => {
                    app.deny(Actor::Anonymous, what, entities, peer);
                    crate::console::page(
                        StatusCode::UNAUTHORIZED,
                        arbiter_console::login_page(Some(
                            "your token is not valid or was revoked: sign in again",
                        )),
                    )
                }
                Ok(Some(c)) if !c.role.allows(perm) || !c.role.may_sign_in() => {
                    app.deny(c.actor(), what, entities, peer);
                    let e = ApiError::forbidden(format!(
                        "{} (role {}) may not {what}: it needs the {perm} permission",
                        c.name, c.role
                    ));
                    crate::console::error_page(Some(&c), &e)
                }
                Ok(Some(c)) => {
                    req.extensions_mut().insert(c);
                    next.run(req).await
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hash_to_hex() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 64);
        assert!(a.starts_with("arb_"));
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }

    #[test]
    fn a_cross_site_post_is_told_apart_from_a_same_origin_one() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
        assert!(same_origin(&h), "no Origin header: a non-browser client");
        h.insert(header::ORIGIN, "http://127.0.0.1:8080".parse().unwrap());
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, "http://evil.example".parse().unwrap());
        assert!(!same_origin(&h));
        h.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(!same_origin(&h));
    }
}
