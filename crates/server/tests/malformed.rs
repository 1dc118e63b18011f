//! Bad input gets a clear 4xx naming what was wrong, and nothing accepted earlier is lost.

mod common;

use arbiter_server::{Limits, Role};
use axum::http::StatusCode;
use common::*;
use serde_json::json;

async fn ingest_raw(
    s: &Server,
    ctype: &str,
    body: impl Into<axum::body::Body>,
    query: &str,
) -> Reply {
    send(
        &s.app,
        request(
            "POST",
            &format!("/api/v1/alerts{query}"),
            Some(&s.tokens[&Role::Ingest]),
            Some(ctype),
            body,
        ),
    )
    .await
}

fn message(r: &Reply) -> String {
    r.json()["error"]["message"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_bad_line_is_named_and_the_good_lines_of_the_batch_are_still_triaged() {
    let s = server();
    let mut alerts = fixture().alerts[..5].to_vec();
    alerts[2]["bytes_out"] = json!("lots");
    alerts[3]["process_starts"] = json!({"nested": 1});
    let r = ingest_raw(
        &s,
        "application/x-ndjson",
        format!("{}not json at all\n", ndjson(&alerts)),
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let j = r.json();
    assert_eq!(j["accepted"], 3);
    let rejected = j["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 3, "{j}");
    assert_eq!(rejected[0]["line"], 3);
    assert_eq!(rejected[0]["field"], "bytes_out");
    assert_eq!(rejected[0]["value"], "\"lots\"".trim_matches('"'));
    assert_eq!(rejected[1]["line"], 4);
    assert_eq!(rejected[1]["field"], "process_starts");
    assert_eq!(rejected[2]["line"], 6);
    assert!(
        rejected[2]["problem"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
}

#[tokio::test]
async fn with_on_error_fail_one_bad_line_refuses_the_whole_batch() {
    let s = server();
    let before = audit_size(&s).await;
    let mut alerts = fixture().alerts[..4].to_vec();
    alerts[1]["bytes_out"] = json!("-");
    let r = ingest_raw(
        &s,
        "application/x-ndjson",
        ndjson(&alerts),
        "?on_error=fail",
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let m = message(&r);
    assert!(
        m.contains("line 2") && m.contains("bytes_out") && m.contains("nothing was accepted"),
        "{m}"
    );
    assert_eq!(audit_size(&s).await, before);
    let bad = ingest_raw(
        &s,
        "application/x-ndjson",
        ndjson(&alerts),
        "?on_error=maybe",
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(message(&bad).contains("\"maybe\""));
}

#[tokio::test]
async fn malformed_bodies_get_clear_errors_and_earlier_alerts_survive_them() {
    let s = server_with(Limits {
        max_body_bytes: 64 * 1024,
        max_batch: 50,
        ..Limits::default()
    });
    let first = ingest(&s, &fixture().alerts[..10]).await;
    let ids: Vec<i64> = first["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect();
    let size = audit_size(&s).await;

    let r = ingest_raw(&s, "application/json", "{\"host\": ", "").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(message(&r).contains("not valid JSON"), "{}", r.text);

    let r = ingest_raw(&s, "application/json", "42", "").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(message(&r).contains("got a number"), "{}", r.text);

    let r = ingest_raw(&s, "text/csv", "a,b\n1,2\n", "").await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(message(&r).contains("text/csv"));

    let r = ingest_raw(&s, "application/x-ndjson", "", "").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(message(&r).contains("no alerts"));

    let big = ndjson(&vec![fixture().alerts[0].clone(); 200]);
    assert!(big.len() > 64 * 1024);
    let r = ingest_raw(&s, "application/x-ndjson", big, "").await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
    assert!(message(&r).contains("65536"), "{}", r.text);

    let many = ndjson(&fixture().alerts[10..70]);
    assert!(many.len() < 64 * 1024);
    let r = ingest_raw(&s, "application/x-ndjson", many, "").await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
    assert!(message(&r).contains("at most 50"));

    let analyst = &s.tokens[&Role::Analyst];
    let url = format!("/api/v1/alerts/{}/decision", ids[0]);
    for (body, needle) in [
        ("{\"action\": 5}", "action"),
        ("{\"action\": \"approve\", \"colour\": \"red\"}", "colour"),
        ("[", "bad decision body"),
    ] {
        let r = send(
            &s.app,
            request("POST", &url, Some(analyst), Some("application/json"), body),
        )
        .await;
        assert!(r.status.is_client_error(), "{body}: {}", r.status);
        assert!(r.text.contains(needle), "{body}: {}", r.text);
    }
    let r = send(
        &s.app,
        request("POST", &url, Some(analyst), Some("text/plain"), "approve"),
    )
    .await;
    assert!(r.status.is_client_error());

    // Nothing accepted before is lost, and no refused request left a trace but its refusal.
    assert_eq!(audit_size(&s).await, size);
    for id in ids {
        let a = get(
            &s.app,
            &format!("/api/v1/alerts/{id}"),
            &s.tokens[&Role::Viewer],
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "alert {id} lost");
    }
}

#[tokio::test]
async fn a_full_queue_answers_429_with_retry_after_and_accepts_nothing_from_that_request() {
    let s = server_with(Limits {
        queue_capacity: 10,
        ..Limits::default()
    });
    let size = audit_size(&s).await;
    let r = ingest_raw(
        &s,
        "application/x-ndjson",
        ndjson(&fixture().alerts[..11]),
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert_eq!(r.headers["retry-after"], "1");
    assert!(message(&r).contains("nothing from this request was accepted"));
    assert_eq!(audit_size(&s).await, size);
    // Within capacity it goes through.
    let ok = ingest(&s, &fixture().alerts[..10]).await;
    assert_eq!(ok["accepted"], 10);
}
