//! The model lifecycle in a running server: a retrained candidate cannot be put in force
//! except by promotion; its gate report is recorded with its hash; as the shadow it scores
//! live alerts beside the champion without acting; promotion takes two admins and swaps the
//! scorer at once; rollback restores the exact champion before and frees the retired one; a
//! canary whose automated decision a human overrides is retired in the same turn.

mod common;

use arbiter_core::Role;
use axum::http::StatusCode;
use common::lifecycle::{gated_twin, second_admin, server};
use common::{fixture, get, ingest, post_json, send};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retrained_model_reaches_the_champion_only_through_gate_shadow_and_two_admins() {
    let s = server();
    let admin = s.tokens[&Role::Admin].clone();
    let dana = second_admin(&s).await;
    let (champion, id) = gated_twin(&s).await;
    let promote = |token: String| {
        let (app, id) = (s.app.clone(), id.clone());
        async move {
            post_json(
                &app,
                &format!("/api/v1/models/{id}/promote"),
                &token,
                &json!({}),
            )
            .await
        }
    };
    // Putting it in force directly is refused: it was retrained.
    let put = send(
        &s.app,
        common::request(
            "PUT",
            "/api/v1/model",
            Some(&admin),
            Some("application/json"),
            json!({"id": id}).to_string(),
        ),
    )
    .await;
    assert_eq!(put.status, StatusCode::CONFLICT, "{}", put.text);
    assert!(put.text.contains("only by promotion"), "{}", put.text);

    // As the shadow it scores every new alert; the champion still decides all of them.
    let r = post_json(
        &s.app,
        &format!("/api/v1/models/{id}/shadow"),
        &admin,
        &json!({}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let out = ingest(&s, &fixture().alerts[200..240]).await;
    let first = common::alert(&s, out["alerts"][0]["id"].as_i64().unwrap()).await;
    assert_eq!(first["alert"]["bundle"], champion.as_str());
    let shown = get(&s.app, &format!("/api/v1/models/{id}"), &admin)
        .await
        .json();
    assert_eq!(shown["model"]["state"], "shadow");
    assert_eq!(shown["second_opinions"]["all"], 40);
    assert_eq!(
        shown["second_opinions"]["disagreeing"], 0,
        "a model that scores as the champion does never disagrees"
    );
    let d = get(
        &s.app,
        &format!("/api/v1/models/{id}/disagreements"),
        &admin,
    )
    .await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.text);

    // Four eyes: ann asks, ann again is refused, dana promotes.
    let old = std::sync::Arc::downgrade(&s.app.model());
    let asked = promote(admin.clone()).await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.text);
    assert_eq!(asked.json()["promotion"]["awaiting_second_admin"], true);
    assert_eq!(s.app.model().id, champion, "one admin changes nothing");
    let again = promote(admin.clone()).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    let done = promote(dana.clone()).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    let gate_sha = done.json()["promotion"]["gate_sha256"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(s.app.model().id, id, "in force at once, no restart");
    assert!(
        s.app.challenger().is_none(),
        "the shadow it was stops challenging"
    );
    assert!(old.upgrade().is_none(), "the retired champion is freed");
    let out = ingest(&s, &fixture().alerts[240..250]).await;
    let a = common::alert(&s, out["alerts"][0]["id"].as_i64().unwrap()).await;
    assert_eq!(a["alert"]["bundle"], id.as_str());
    // The promotion's audit entry carries the gate report's hash.
    let q = get(
        &s.app,
        &format!("/api/v1/audit/query?entity=model:{id}&limit=100"),
        &admin,
    )
    .await
    .json();
    let promoted = q["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["entry"])
        .find(|e| {
            e["summary"]
                .as_str()
                .unwrap()
                .contains("promoted to champion")
        })
        .expect("a promotion entry");
    assert!(
        promoted["summary"]
            .as_str()
            .unwrap()
            .contains(&gate_sha[..12]),
        "{promoted}"
    );

    // Rollback restores the exact champion before, in this server, and frees the candidate.
    let promoted_model = std::sync::Arc::downgrade(&s.app.model());
    let rb = post_json(&s.app, "/api/v1/model/rollback", &admin, &json!({})).await;
    assert_eq!(rb.status, StatusCode::OK, "{}", rb.text);
    assert_eq!(rb.json()["rollback"]["champion"], champion.as_str());
    assert_eq!(s.app.model().id, champion);
    assert!(promoted_model.upgrade().is_none());
    let models = get(&s.app, "/api/v1/models", &admin).await.json();
    let states: Vec<(String, String)> = models["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["id"].as_str().unwrap().to_string(),
                m["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        states.contains(&(champion.clone(), "champion".into())),
        "{states:?}"
    );
    assert!(
        states.contains(&(id.clone(), "retired".into())),
        "{states:?}"
    );
    let none = post_json(&s.app, "/api/v1/model/rollback", &admin, &json!({})).await;
    assert_eq!(none.status, StatusCode::CONFLICT, "{}", none.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_whose_automated_decision_is_overridden_is_rolled_back_in_the_same_turn() {
    let s = server();
    let admin = s.tokens[&Role::Admin].clone();
    let (champion, id) = gated_twin(&s).await;
    let bounds = json!({"share": 0.5, "max_override_rate": 0.5, "min_reviewed": 50,
                        "max_automated_overridden": 0});
    let bad = post_json(
        &s.app,
        &format!("/api/v1/models/{id}/canary"),
        &admin,
        &json!({"share": 0.0, "max_override_rate": 0.5, "min_reviewed": 1,
                "max_automated_overridden": 0}),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    let r = post_json(
        &s.app,
        &format!("/api/v1/models/{id}/canary"),
        &admin,
        &bounds,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let out = ingest(&s, &fixture().alerts[200..400]).await;
    // About half the alerts are the canary's, chosen by key; the rest the champion's.
    let mut by_canary = Vec::new();
    for a in out["alerts"].as_array().unwrap() {
        let full = common::alert(&s, a["id"].as_i64().unwrap()).await;
        if full["alert"]["bundle"] == id.as_str() {
            by_canary.push((
                a["id"].as_i64().unwrap(),
                a["state"].as_str().unwrap().to_string(),
            ));
        }
    }
    assert!(
        (60..=140).contains(&by_canary.len()),
        "{} of 200 decided by the canary",
        by_canary.len()
    );
    let closed = by_canary
        .iter()
        .find(|(_, st)| st == "auto_closed")
        .expect("the canary auto-closed some alert")
        .0;
    // An audit of one of its auto-closes finds it wrong: the canary is retired at once.
    let attack = fixture()
        .alerts
        .iter()
        .find_map(|a| a["label"].as_str().filter(|l| *l == "port_scan"))
        .unwrap();
    let r = post_json(
        &s.app,
        &format!("/api/v1/alerts/{closed}/decision"),
        &s.tokens[&Role::Analyst],
        &json!({"action": "override", "reason_code": "model_wrong", "label": attack,
                "note": "audit sample: this was an attack"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(s.app.challenger().is_none());
    let shown = get(&s.app, &format!("/api/v1/models/{id}"), &admin)
        .await
        .json();
    assert_eq!(shown["model"]["state"], "retired");
    assert_eq!(shown["model"]["changed_by"], "canary-guard");
    let out = ingest(&s, &fixture().alerts[400..420]).await;
    for a in out["alerts"].as_array().unwrap() {
        let full = common::alert(&s, a["id"].as_i64().unwrap()).await;
        assert_eq!(full["alert"]["bundle"], champion.as_str());
    }
}
