//! The console's own routes through the router: sign-in, cookies, cross-site refusal, and a
//! decision made from the form.

mod common;

use arbiter_server::Role;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;

fn form(uri: &str, cookie: Option<&str>, origin: Option<&str>, body: &str) -> Request<Body> {
    let mut b = Request::builder()
        .method("POST")
        .uri(uri)
        .header("host", "127.0.0.1:8080")
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        b = b.header("cookie", format!("arbiter_token={c}"));
    }
    if let Some(o) = origin {
        b = b.header("origin", o);
    }
    b.body(Body::from(body.to_string())).unwrap()
}

#[tokio::test]
async fn signing_in_sets_an_httponly_strict_cookie_and_bad_tokens_are_refused() {
    let s = server();
    let ok = send(
        &s.app,
        form(
            "/login",
            None,
            None,
            &format!("token={}", s.tokens[&Role::Analyst]),
        ),
    )
    .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let cookie = ok.headers["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let bad = send(&s.app, form("/login", None, None, "token=arb_nope")).await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert!(bad.text.contains("not valid"));
    let machine = send(
        &s.app,
        form(
            "/login",
            None,
            None,
            &format!("token={}", s.tokens[&Role::Ingest]),
        ),
    )
    .await;
    assert_eq!(machine.status, StatusCode::FORBIDDEN);
    let anon = send(&s.app, Request::get("/queue").body(Body::empty()).unwrap()).await;
    assert_eq!(anon.status, StatusCode::SEE_OTHER);
    assert_eq!(anon.headers["location"], "/login");
}

#[tokio::test]
async fn a_cross_site_form_post_is_refused_and_a_same_site_one_is_recorded() {
    let s = server();
    let report = ingest(&s, &fixture().alerts[..300]).await;
    let target = report["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| {
            matches!(
                a["state"].as_str(),
                Some("pending_approval" | "analyst" | "abstained")
            )
        })
        .unwrap();
    let id = target["id"].as_i64().unwrap();
    let uri = format!("/alerts/{id}/decision");
    let analyst = s.tokens[&Role::Analyst].clone();
    let body = "action=override&reason_code=model_wrong&note=seen+before&label=&feature=";
    let evil = send(
        &s.app,
        form(&uri, Some(&analyst), Some("https://evil.example"), body),
    )
    .await;
    assert_eq!(evil.status, StatusCode::FORBIDDEN);
    let still = alert(&s, id).await;
    assert_eq!(still["alert"]["state"], target["state"]);

    let missing_note = send(
        &s.app,
        form(
            &uri,
            Some(&analyst),
            Some("http://127.0.0.1:8080"),
            "action=override&reason_code=model_wrong&note=",
        ),
    )
    .await;
    assert_eq!(missing_note.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        missing_note.text.contains("flash error"),
        "{}",
        missing_note.text
    );
    assert!(
        missing_note.text.contains("note is required"),
        "{}",
        missing_note.text
    );

    let ok = send(
        &s.app,
        form(&uri, Some(&analyst), Some("http://127.0.0.1:8080"), body),
    )
    .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text);
    assert_eq!(
        ok.headers["location"],
        format!("/alerts/{id}?done=override")
    );
    let after = alert(&s, id).await;
    assert_eq!(after["alert"]["state"], "overridden");

    // A viewer's cookie cannot decide.
    let viewer = s.tokens[&Role::Viewer].clone();
    let r = send(&s.app, form(&uri, Some(&viewer), None, body)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}
