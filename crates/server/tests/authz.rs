//! Every role against every endpoint: allowed roles get through, the others get 403, no token
//! or a revoked one gets 401 — and every refusal is in the audit log.

mod common;

use arbiter_server::routes::{Access, api_routes};
use arbiter_server::{Permission, Role};
use axum::http::StatusCode;
use common::*;

/// A harmless request body per route, so that allowed calls do as little as possible.
fn body(method: &str, path: &str) -> (&'static str, String) {
    match (method, path) {
        ("POST", "/api/v1/alerts") => ("application/x-ndjson", "{\"nonsense\": true}\n".into()),
        ("POST", "/api/v1/alerts/{id}/decision") => {
            ("application/json", "{\"action\":\"approve\"}".into())
        }
        ("PUT", "/api/v1/policy") => ("application/json", "{\"text\":\"version: 99\"}".into()),
        ("PUT", "/api/v1/model") => (
            "application/json",
            format!("{{\"id\":\"sha256:{}\"}}", "0".repeat(64)),
        ),
        ("POST", "/api/v1/models") => (
            "application/json",
            "{\"path\":\"/nonexistent/bundle\"}".into(),
        ),
        ("POST", "/api/v1/tokens") => (
            "application/json",
            "{\"name\":\"matrix\",\"role\":\"viewer\"}".into(),
        ),
        _ => ("application/json", String::new()),
    }
}

/// Refusals on the record: each denied entry counts the refusals it stands for.
async fn count_denied(s: &Server) -> u64 {
    flush(s).await;
    let size = audit_size(s).await;
    let mut n = 0;
    for i in 0..size {
        let e = get(
            &s.app,
            &format!("/api/v1/audit/entries/{i}"),
            &s.tokens[&Role::Admin],
        )
        .await
        .json();
        if e["entry"]["kind"] == "denied" {
            n += e["entry"]["body"]["count"].as_u64().unwrap_or(1);
        }
    }
    n
}

#[tokio::test]
async fn every_role_is_allowed_exactly_what_it_holds_and_every_refusal_is_audited() {
    let s = server();
    ingest(&s, &fixture().alerts[..20]).await;
    let denied_before = count_denied(&s).await;
    let mut refusals = 0u64;
    let mut table = Vec::new();
    let callers: Vec<(String, Option<String>, Option<Role>)> = Role::ALL
        .iter()
        .map(|r| (r.as_str().to_string(), Some(s.tokens[r].clone()), Some(*r)))
        .chain([
            ("anonymous".to_string(), None, None),
            ("forged".to_string(), Some("arb_0000".to_string()), None),
        ])
        .collect();
    let routes: Vec<_> = api_routes().collect();
    for route in &routes {
        let (method, path) = (route.method, route.path);
        let perm = match route.access {
            Access::Api(p) | Access::Console(p) => Some(p),
            Access::Open | Access::ConsoleForm => None,
        };
        let uri = path.replace("{id}", "999999").replace("{index}", "0");
        for (who, token, role) in &callers {
            let (ctype, b) = body(method, path);
            let r = send(
                &s.app,
                request(method, &uri, token.as_deref(), Some(ctype), b),
            )
            .await;
            let expected = match (perm, role) {
                (None, _) => "open",
                (Some(_), None) => "401",
                (Some(p), Some(r)) if r.allows(p) => "allowed",
                (Some(_), Some(_)) => "403",
            };
            let ok = match expected {
                "open" | "allowed" => {
                    r.status != StatusCode::UNAUTHORIZED && r.status != StatusCode::FORBIDDEN
                }
                "401" => r.status == StatusCode::UNAUTHORIZED,
                _ => r.status == StatusCode::FORBIDDEN,
            };
            if r.status == StatusCode::UNAUTHORIZED || r.status == StatusCode::FORBIDDEN {
                refusals += 1;
                let msg = r.json()["error"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                assert!(
                    !msg.is_empty(),
                    "{method} {uri} as {who}: refusal without a message"
                );
            }
            table.push(format!(
                "{method} {path} as {who}: {} (expected {expected})",
                r.status
            ));
            assert!(
                ok,
                "{method} {uri} as {who}: got {} expected {expected}: {}",
                r.status, r.text
            );
        }
    }
    // Spot checks of the rules the brief names.
    assert!(!Role::Viewer.allows(Permission::Decide));
    assert!(Role::Analyst.allows(Permission::Decide));
    assert!(!Role::Lead.allows(Permission::Admin));
    assert!(table.len() == routes.len() * 7);
    let denied_after = count_denied(&s).await;
    assert_eq!(
        denied_after - denied_before,
        refusals,
        "every 401/403 is audited (counted)"
    );
}

#[tokio::test]
async fn a_revoked_token_is_refused_at_once() {
    let s = server();
    let admin = &s.tokens[&Role::Admin];
    let created = post_json(
        &s.app,
        "/api/v1/tokens",
        admin,
        &serde_json::json!({"name": "temp", "role": "analyst"}),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let c = created.json();
    let token = c["token"].as_str().unwrap().to_string();
    assert_eq!(
        get(&s.app, "/api/v1/queue", &token).await.status,
        StatusCode::OK
    );
    let id = c["id"].as_i64().unwrap();
    let r = send(
        &s.app,
        request(
            "DELETE",
            &format!("/api/v1/tokens/{id}"),
            Some(admin),
            None,
            "",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        get(&s.app, "/api/v1/queue", &token).await.status,
        StatusCode::UNAUTHORIZED
    );
    // Listing shows names and roles, never secrets or hashes.
    let list = get(&s.app, "/api/v1/tokens", admin).await;
    assert!(
        !list.text.contains(&token) && !list.text.contains(&arbiter_server::token_hash(&token))
    );
}

#[tokio::test]
async fn a_lead_onboards_analysts_but_cannot_mint_admins() {
    let s = server();
    let lead = &s.tokens[&Role::Lead];
    let ok = post_json(
        &s.app,
        "/api/v1/tokens",
        lead,
        &serde_json::json!({"name": "new-analyst", "role": "analyst"}),
    )
    .await;
    assert_eq!(ok.status, StatusCode::CREATED);
    let no = post_json(
        &s.app,
        "/api/v1/tokens",
        lead,
        &serde_json::json!({"name": "boss", "role": "admin"}),
    )
    .await;
    assert_eq!(no.status, StatusCode::FORBIDDEN);
    assert!(
        no.text.contains("may not create admin tokens"),
        "{}",
        no.text
    );
}

#[tokio::test]
async fn only_an_admin_changes_the_policy_and_a_broken_policy_is_refused_with_the_old_kept() {
    let s = server();
    let text = std::fs::read_to_string(repo().join("policies/default.yaml")).unwrap();
    let body = serde_json::json!({"text": text});
    let put = |token: String, body: serde_json::Value| {
        let app = s.app.clone();
        async move {
            send(
                &app,
                request(
                    "PUT",
                    "/api/v1/policy",
                    Some(&token),
                    Some("application/json"),
                    body.to_string(),
                ),
            )
            .await
        }
    };
    assert_eq!(
        put(s.tokens[&Role::Lead].clone(), body.clone())
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let ok = put(s.tokens[&Role::Admin].clone(), body).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    let broken = text.replace("min_confidence: 0.90", "min_confidance: 0.90");
    let bad = put(
        s.tokens[&Role::Admin].clone(),
        serde_json::json!({"text": broken}),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text.contains("min_confidance"), "{}", bad.text);
    let now = get(&s.app, "/api/v1/policy", &s.tokens[&Role::Viewer])
        .await
        .json();
    assert_eq!(now["text"], text);
}
