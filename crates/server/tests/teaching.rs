//! The teaching set over the API: decisions with labels become examples with provenance.

mod common;

use arbiter_server::Role;
use axum::http::StatusCode;
use common::*;
use serde_json::json;

#[tokio::test]
async fn labelled_decisions_are_listed_as_teaching_examples_with_their_provenance() {
    let s = server();
    let report = ingest(&s, &fixture().alerts[..400]).await;
    let analyst = &s.tokens[&Role::Analyst];
    let open: Vec<i64> = report["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| matches!(a["state"].as_str(), Some("analyst" | "abstained")))
        .map(|a| a["id"].as_i64().unwrap())
        .take(2)
        .collect();
    assert_eq!(open.len(), 2, "two alerts awaiting an analyst");
    for (id, label) in open.iter().zip(["benign", "c2_beacon"]) {
        let r = post_json(
            &s.app,
            &format!("/api/v1/alerts/{id}/decision"),
            analyst,
            &json!({"action": "override", "reason_code": "model_wrong", "note": "checked the host",
                    "label": label, "feature": "bytes_out"}),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let viewer = &s.tokens[&Role::Viewer];
    let r = get(&s.app, "/api/v1/teaching", viewer).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let body = r.json();
    let ex = body["examples"].as_array().unwrap();
    assert_eq!(ex.len(), 2, "{body}");
    for (e, label) in ex.iter().zip(["benign", "c2_beacon"]) {
        assert_eq!(e["label"], label);
        assert!(
            matches!(
                e["source"].as_str(),
                Some("analyst_override" | "analyst_confirm")
            ),
            "{e}"
        );
        assert_eq!(e["labeller"]["name"], "analyst:analyst", "{e}");
        assert!(
            e["labeller"]["token"].is_i64(),
            "the token used is named: {e}"
        );
        assert!(e["token_name"].is_string(), "{e}");
        assert_eq!(e["feature"], "bytes_out");
        assert_eq!(e["package_sha256"].as_str().map(str::len), Some(64), "{e}");
        assert!(e["model"].as_str().unwrap().starts_with("sha256:"), "{e}");
        assert!(
            e["features"].as_object().is_some_and(|f| !f.is_empty()),
            "{e}"
        );
        assert!(e["audit_index"].is_u64());
    }
    assert_eq!(body["counts"]["examples"], 2);
    assert!(body["next_after"].is_null());

    let page = get(&s.app, "/api/v1/teaching?limit=1", viewer).await.json();
    assert_eq!(page["examples"].as_array().unwrap().len(), 1);
    let next = page["next_after"].as_i64().unwrap();
    let rest = get(&s.app, &format!("/api/v1/teaching?after={next}"), viewer)
        .await
        .json();
    assert_eq!(rest["examples"][0]["label"], "c2_beacon");

    let bad = get(&s.app, "/api/v1/teaching?since=monday", viewer).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.text.contains("since"), "{}", bad.text);
}
