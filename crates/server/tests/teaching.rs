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

#[tokio::test]
async fn a_label_against_a_confident_model_is_quarantined_until_a_lead_releases_it() {
    let s = server();
    ingest(&s, &fixture().alerts[..400]).await;
    let viewer = &s.tokens[&Role::Viewer];
    let q = get(&s.app, "/api/v1/queue?limit=1000", viewer).await.json();
    let sure = q["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["p_malicious"].as_f64().is_some_and(|p| p >= 0.99))
        .max_by(|a, b| {
            a["p_malicious"]
                .as_f64()
                .unwrap()
                .total_cmp(&b["p_malicious"].as_f64().unwrap())
        })
        .expect("an open alert the model is sure is malicious")
        .clone();
    let id = sure["id"].as_i64().unwrap();
    let r = post_json(
        &s.app,
        &format!("/api/v1/alerts/{id}/decision"),
        &s.tokens[&Role::Analyst],
        &json!({"action": "override", "reason_code": "model_wrong", "note": "it is fine", "label": "benign"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let held = get(&s.app, "/api/v1/teaching/quarantine", viewer).await;
    assert_eq!(held.status, StatusCode::OK, "{}", held.text);
    let held = held.json();
    let list = held["quarantined"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{held}");
    let ex = list[0]["id"].as_i64().unwrap();
    assert!(
        list[0]["reasons"][0]
            .as_str()
            .unwrap()
            .contains("chance of being right"),
        "{held}"
    );
    assert!(list[0]["posterior"].as_f64().unwrap() < 0.5);

    let path = format!("/api/v1/teaching/{ex}/release");
    let body = json!({"reason": "the host owner confirmed a backup job"});
    let analyst = post_json(&s.app, &path, &s.tokens[&Role::Analyst], &body).await;
    assert_eq!(
        analyst.status,
        StatusCode::FORBIDDEN,
        "only a lead or an admin curates"
    );
    let lead = post_json(&s.app, &path, &s.tokens[&Role::Lead], &body).await;
    assert_eq!(lead.status, StatusCode::OK, "{}", lead.text);
    let at = lead.json()["audit_index"].as_u64().unwrap();
    let proof = get(&s.app, &format!("/api/v1/audit/proof/{at}"), viewer)
        .await
        .json();
    assert_eq!(proof["entry"]["kind"], "teaching", "{proof}");
    let after = get(&s.app, "/api/v1/teaching/quarantine", viewer)
        .await
        .json();
    assert!(
        after["quarantined"].as_array().unwrap().is_empty(),
        "{after}"
    );
    let again = post_json(&s.app, &path, &s.tokens[&Role::Lead], &body).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
}
