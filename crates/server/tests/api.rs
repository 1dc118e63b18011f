//! The API through the router, without a socket: ingest, queue, alert, decisions, four eyes,
//! audit proofs, metrics and the OpenAPI document.

mod common;

use arbiter_server::Role;
use axum::http::StatusCode;
use common::*;
use serde_json::{Value, json};

fn open_with_action(report: &Value, pred: impl Fn(&Value) -> bool) -> Option<&Value> {
    report["alerts"].as_array().unwrap().iter().find(|a| {
        matches!(a["state"].as_str(), Some("pending_approval" | "analyst"))
            && !a["action"].is_null()
            && pred(a)
    })
}

#[tokio::test]
async fn ingested_alerts_are_decided_audited_stored_and_queued_once() {
    let s = server();
    let alerts = &fixture().alerts[..200];
    let before = audit_size(&s).await;
    let report = ingest(&s, alerts).await;
    assert_eq!(report["accepted"], 200, "{report}");
    assert_eq!(report["duplicates"], 0);
    let items = report["alerts"].as_array().unwrap();
    assert_eq!(items.len(), 200);
    for a in items {
        assert!(a["id"].as_i64().is_some(), "{a}");
        assert!(
            a["tier"].is_string() && a["state"].is_string() && a["audit_index"].is_u64(),
            "{a}"
        );
    }
    // Every decision is an audit entry (plus the checkpoint's own none).
    assert_eq!(audit_size(&s).await, before + 200);

    // Resubmitting the same alerts changes nothing.
    let again = ingest(&s, alerts).await;
    assert_eq!(again["accepted"], 0);
    assert_eq!(again["duplicates"], 200);
    assert_eq!(audit_size(&s).await, before + 200);

    let q = get(&s.app, "/api/v1/queue?limit=1000", &s.tokens[&Role::Viewer]).await;
    assert_eq!(q.status, StatusCode::OK, "{}", q.text);
    let rows = q.json()["alerts"].as_array().unwrap().clone();
    assert!(!rows.is_empty());
    let open = [
        "pending_approval",
        "pending_second_approval",
        "analyst",
        "abstained",
    ];
    for a in items {
        let key = a["key"].as_str().unwrap();
        assert!(key.starts_with("soc-synthetic/"), "source/id: {key}");
    }
    assert!(
        rows.iter()
            .all(|r| open.contains(&r["state"].as_str().unwrap()))
    );
    let risks: Vec<f64> = rows.iter().map(|r| r["risk"].as_f64().unwrap()).collect();
    assert!(
        risks.windows(2).all(|w| w[0] >= w[1]),
        "queue not sorted by risk: {risks:?}"
    );
    let expected_open = items
        .iter()
        .filter(|a| open.contains(&a["state"].as_str().unwrap()))
        .count();
    assert_eq!(rows.len(), expected_open);
}

#[tokio::test]
async fn the_queue_filters_by_tier_flag_and_state_and_names_bad_filters() {
    let s = server();
    ingest(&s, &fixture().alerts[..300]).await;
    let v = &s.tokens[&Role::Viewer];
    for tier in ["approve", "analyst", "abstain"] {
        let rows = get(&s.app, &format!("/api/v1/queue?tier={tier}"), v)
            .await
            .json();
        assert!(
            rows["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["tier"] == tier)
        );
    }
    let flagged = get(&s.app, "/api/v1/queue?flag=out_of_distribution", v)
        .await
        .json();
    for r in flagged["alerts"].as_array().unwrap() {
        assert!(
            r["flags"]
                .as_array()
                .unwrap()
                .contains(&json!("out_of_distribution"))
        );
    }
    let closed = get(&s.app, "/api/v1/queue?state=auto_closed", v)
        .await
        .json();
    assert!(
        closed["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["state"] == "auto_closed")
    );
    let bad = get(&s.app, "/api/v1/queue?tier=urgent", v).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("\"urgent\"")
    );
    let unknown = get(&s.app, "/api/v1/queue?colour=red", v).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.text);
}

#[tokio::test]
async fn an_alert_comes_with_its_evidence_package_action_and_audit_timeline() {
    let s = server();
    let report = ingest(&s, &fixture().alerts[..100]).await;
    let id = report["alerts"][0]["id"].as_i64().unwrap();
    let a = get(
        &s.app,
        &format!("/api/v1/alerts/{id}"),
        &s.tokens[&Role::Viewer],
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = a.json();
    assert_eq!(a["alert"]["id"], id);
    assert!(a["package"]["summary"]["why"].is_string(), "{a}");
    assert_eq!(a["package"]["schema_version"], "1.1");
    let similar = a["package"]["similar_cases"]["cases"].as_array().unwrap();
    assert!(!similar.is_empty(), "the server was given past cases: {a}");
    let tl = a["timeline"].as_array().unwrap();
    assert_eq!(tl.len(), 1, "the policy's decision: {tl:?}");
    assert_eq!(tl[0]["kind"], "decision");
    assert_eq!(tl[0]["actor"], "arbiter/policy");
    let missing = get(&s.app, "/api/v1/alerts/999999", &s.tokens[&Role::Viewer]).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let word = get(&s.app, "/api/v1/alerts/seven", &s.tokens[&Role::Viewer]).await;
    assert_eq!(word.status, StatusCode::BAD_REQUEST);
    assert!(word.text.contains("\\\"seven\\\""), "{}", word.text);
}

#[tokio::test]
async fn approve_and_override_are_audited_before_they_take_effect_and_kept_as_feedback() {
    let s = server();
    let report = ingest(&s, &fixture().alerts[..400]).await;
    let target = open_with_action(&report, |a| {
        !matches!(
            a["action"].as_str(),
            Some("reset_credentials" | "block_org_domain")
        )
    })
    .expect("an open alert with a one-analyst action");
    let id = target["id"].as_i64().unwrap();
    let analyst = &s.tokens[&Role::Analyst];
    let before = audit_size(&s).await;
    let r = post_json(
        &s.app,
        &format!("/api/v1/alerts/{id}/decision"),
        analyst,
        &json!({"action": "approve"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let out = r.json();
    assert_eq!(out["state"], "approved");
    assert_eq!(out["audit_index"].as_u64().unwrap(), before);
    let proof = get(&s.app, &format!("/api/v1/audit/proof/{before}"), analyst)
        .await
        .json();
    assert_eq!(proof["verified"], true);
    assert_eq!(proof["entry"]["kind"], "approval");
    assert_eq!(proof["entry"]["actor"], "analyst:analyst");

    // Approving again is a conflict, and is itself audited as denied.
    let twice = post_json(
        &s.app,
        &format!("/api/v1/alerts/{id}/decision"),
        analyst,
        &json!({"action": "approve"}),
    )
    .await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "{}", twice.text);

    // Override an auto-closed alert: the model was wrong.
    let closed = report["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["state"] == "auto_closed");
    let other = closed
        .or_else(|| open_with_action(&report, |a| a["id"] != id))
        .unwrap();
    let oid = other["id"].as_i64().unwrap();
    let body = json!({"action": "override", "reason_code": "model_wrong", "note": "beaconing to a new domain",
                      "label": "c2_beacon", "feature": "bytes_out"});
    let r = post_json(
        &s.app,
        &format!("/api/v1/alerts/{oid}/decision"),
        analyst,
        &body,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let a = alert(&s, oid).await;
    assert_eq!(a["alert"]["state"], "overridden");
    let fb = &a["feedback"][0];
    assert_eq!(fb["label"], "c2_beacon");
    assert_eq!(fb["reason_code"], "model_wrong");
    assert_eq!(fb["feature"], "bytes_out");
    let last = a["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "override");
    assert_eq!(last["reason_code"], "model_wrong");
    assert_eq!(last["note"], "beaconing to a new domain");
    let entity = format!("alert:{}", a["alert"]["key"].as_str().unwrap());
    let q = get(
        &s.app,
        &format!("/api/v1/audit/query?entity={entity}"),
        analyst,
    )
    .await
    .json();
    let kinds: Vec<&str> = q["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["entry"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["decision", "override"], "{q}");
    let bad = get(
        &s.app,
        "/api/v1/audit/query?entity=x&since=yesterday",
        analyst,
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let d = a["decisions"].as_array().unwrap().last().unwrap().clone();
    assert!(d["ms_to_decision"].as_i64().unwrap() >= 0, "{d}");
}

#[tokio::test]
async fn an_irreversible_action_needs_two_different_analysts() {
    let s = server();
    let report = ingest(&s, &fixture().alerts).await;
    let Some(target) = open_with_action(&report, |a| {
        matches!(
            a["action"].as_str(),
            Some("reset_credentials" | "block_org_domain")
        )
    }) else {
        panic!(
            "the scenario holds lateral movement and exfiltration: expected an irreversible or critical proposal"
        );
    };
    let id = target["id"].as_i64().unwrap();
    let url = format!("/api/v1/alerts/{id}/decision");
    let approve = json!({"action": "approve"});
    let first = post_json(&s.app, &url, &s.tokens[&Role::Analyst], &approve)
        .await
        .json();
    assert_eq!(first["state"], "pending_second_approval", "{first}");
    assert_eq!(first["awaiting_second_approval"], true);
    let same = post_json(&s.app, &url, &s.tokens[&Role::Analyst], &approve).await;
    assert_eq!(same.status, StatusCode::CONFLICT);
    assert!(same.text.contains("four eyes"), "{}", same.text);
    let second = post_json(&s.app, &url, &s.analyst2, &approve).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text);
    assert_eq!(second.json()["state"], "approved");
    let a = alert(&s, id).await;
    assert_eq!(
        a["approvals"],
        json!(["analyst:analyst", "analyst:second-analyst"])
    );
    let kinds: Vec<&str> = a["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["decision", "approval", "denied", "approval"]);
}

#[tokio::test]
async fn reject_and_override_without_their_reasons_are_refused_and_change_nothing() {
    let s = server();
    let report = ingest(&s, &fixture().alerts[..300]).await;
    let target = open_with_action(&report, |_| true).unwrap();
    let id = target["id"].as_i64().unwrap();
    let url = format!("/api/v1/alerts/{id}/decision");
    let a = &s.tokens[&Role::Analyst];
    let before = audit_size(&s).await;
    for body in [
        json!({"action": "reject"}),
        json!({"action": "override", "reason_code": "model_wrong"}),
        json!({"action": "override", "reason_code": "not_a_code", "note": "x"}),
        json!({"action": "override", "reason_code": "model_wrong", "note": "x", "label": "martian"}),
        json!({"action": "dismiss"}),
    ] {
        let r = post_json(&s.app, &url, a, &body).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.text
        );
        assert!(r.json()["error"]["message"].is_string());
    }
    assert_eq!(
        audit_size(&s).await,
        before,
        "refused bad input is not a decision"
    );
    let still = alert(&s, id).await;
    assert_eq!(still["alert"]["state"], target["state"]);
    let codes = get(&s.app, "/api/v1/reason-codes", &s.tokens[&Role::Viewer])
        .await
        .json();
    let codes: Vec<&str> = codes
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    for c in [
        "expected_activity",
        "known_application",
        "authorised_user",
        "change_window",
        "rule_too_sensitive",
        "model_wrong",
        "missing_context",
        "true_positive_confirmed",
    ] {
        assert!(codes.contains(&c), "{c} missing from {codes:?}");
    }
}

#[tokio::test]
async fn metrics_count_ingest_decisions_and_refusals_in_prometheus_format() {
    let s = server();
    ingest(&s, &fixture().alerts[..50]).await;
    let _ = get(&s.app, "/api/v1/queue", "arb_not_a_token").await;
    let m = get(&s.app, "/metrics", &s.tokens[&Role::Viewer]).await;
    assert_eq!(m.status, StatusCode::OK);
    assert!(
        m.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert!(
        m.text.contains("arbiter_alerts_ingested_total 50"),
        "{}",
        m.text
    );
    assert!(m.text.contains("arbiter_denied_total 1"), "{}", m.text);
    assert!(
        m.text
            .contains("arbiter_ingest_to_decision_seconds_count 1")
    );
    assert!(m.text.contains("# TYPE arbiter_queue_open gauge"));
    let h = send(&s.app, request("GET", "/api/v1/health", None, None, "")).await;
    assert_eq!(h.status, StatusCode::OK);
    assert_eq!(h.json()["status"], "ok");
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes_served() {
    let s = server();
    let doc = send(
        &s.app,
        request("GET", "/api/v1/openapi.json", None, None, ""),
    )
    .await
    .json();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    let mut listed = 0;
    for route in arbiter_server::routes::api_routes() {
        let (method, path) = (route.method, route.path);
        let op = &paths[path][method.to_ascii_lowercase()];
        assert!(
            op["operationId"].is_string(),
            "{method} {path} missing from the document"
        );
        listed += 1;
        // And the router serves it: anything but 404/405 without a token.
        let uri = path.replace("{id}", "1").replace("{index}", "0");
        let r = send(&s.app, request(method, &uri, None, None, "")).await;
        assert!(
            r.status != StatusCode::NOT_FOUND && r.status != StatusCode::METHOD_NOT_ALLOWED,
            "{method} {uri}: {}",
            r.status
        );
    }
    let ops: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(ops, listed);
}

#[tokio::test]
async fn a_batch_larger_than_the_write_chunk_is_triaged_whole_and_in_order() {
    let s = server_with(arbiter_server::Limits {
        score_chunk: 11,
        write_chunk: 4,
        ..arbiter_server::Limits::default()
    });
    let report = ingest(&s, &fixture().alerts[..30]).await;
    assert_eq!(report["accepted"], 30);
    let items = report["alerts"].as_array().unwrap();
    let lines: Vec<u64> = items.iter().map(|a| a["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, (1..=30).collect::<Vec<u64>>());
    let audit: Vec<u64> = items
        .iter()
        .map(|a| a["audit_index"].as_u64().unwrap())
        .collect();
    assert!(audit.windows(2).all(|w| w[0] < w[1]), "{audit:?}");
    let again = ingest(&s, &fixture().alerts[..30]).await;
    assert_eq!(again["duplicates"], 30);
}
