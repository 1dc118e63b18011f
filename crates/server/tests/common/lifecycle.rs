//! A model lifecycle to test against: a server whose policy certifies auto-close on the small
//! fixture model, a second admin, analysts' labels held back as recent alerts, and a gated
//! retrained candidate of the champion.

use std::collections::BTreeMap;
use std::path::PathBuf;

use arbiter_core::Role;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{Server, fixture, get, ingest, post_json};

/// A server whose policy closes at α = 0.05, where the small fixture model certifies an
/// auto-close threshold (at the default 0.01 its 3,000 training rows certify none).
pub fn server() -> Server {
    let text = std::fs::read_to_string(super::repo().join("policies/default.yaml")).unwrap();
    assert!(text.contains("  alpha: 0.01\n"));
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("policy.yaml");
    std::fs::write(&p, text.replace("  alpha: 0.01\n", "  alpha: 0.05\n")).unwrap();
    let s = super::server_with_policy(arbiter_server::Limits::default(), p);
    // The server read the policy on open; its text is in the audit log.
    drop(dir);
    s
}

pub async fn second_admin(s: &Server) -> String {
    let r = post_json(
        &s.app,
        "/api/v1/tokens",
        &s.tokens[&Role::Admin],
        &json!({"name": "dana-laptop", "person": "dana", "role": "admin"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.json()["token"].as_str().unwrap().to_string()
}

/// Analysts label `n` open alerts with their true category: the teaching examples a
/// retraining holds back as "recent labelled alerts". Returns their ids.
pub async fn label_open_alerts(s: &Server, out: &Value, n: usize) -> Vec<i64> {
    let f = fixture();
    let known = arbiter_server::app::labels(&s.app.model());
    let mut labelled = 0;
    for (i, a) in out["alerts"].as_array().unwrap().iter().enumerate() {
        if labelled == n {
            break;
        }
        let state = a["state"].as_str().unwrap_or("");
        if !matches!(state, "analyst" | "abstained" | "pending_approval") {
            continue;
        }
        let truth = f.alerts[i]["label"].as_str().unwrap();
        if !known.iter().any(|l| l == truth) {
            continue;
        }
        let r = post_json(
            &s.app,
            &format!("/api/v1/alerts/{}/decision", a["id"]),
            &s.tokens[&Role::Analyst],
            &json!({"action": "override", "reason_code": "model_wrong",
                    "label": truth, "note": "ticket says so"}),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        labelled += 1;
    }
    assert_eq!(labelled, n, "enough open alerts to label");
    s.app
        .read(|st, _| Ok(st.examples(0, 0)?))
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect()
}

/// A bundle that scores exactly as the champion does, written as a retraining of it that held
/// back `held` (its `changes.json`, inside the content hash): a candidate whose gates can
/// pass. Returns its directory.
pub fn twin(s: &Server, champion: &str, held: &[i64]) -> PathBuf {
    let (_, mut files) = arbiter_model::bundle::read(&fixture().bundle).unwrap();
    let changes = json!({"champion": champion, "held_back": {"examples": held}});
    files.insert(
        arbiter_model::CHANGES.into(),
        serde_json::to_vec_pretty(&changes).unwrap(),
    );
    let dir = s.dir.path().join("twin");
    arbiter_train::bundle::write(&dir, &files).unwrap();
    dir
}

/// A regression suite of the first 200 test rows: the malicious ones the champion did not
/// auto-close must be caught, the benign ones it did not act on must not be acted on.
pub fn suite(s: &Server, out: &Value) -> PathBuf {
    let f = fixture();
    let schema = arbiter_ingest::load_schema(&f.scn.join("schema.yaml")).unwrap();
    let test = arbiter_ingest::load(
        &schema,
        &f.scn.join("test.csv"),
        arbiter_ingest::OnError::Fail,
        &mut |_, _| {},
    )
    .unwrap();
    let mut by: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for (i, a) in out["alerts"].as_array().unwrap().iter().enumerate() {
        let benign = f.alerts[i]["label"] == "benign";
        let expect = match (benign, a["state"].as_str().unwrap()) {
            (false, "auto_closed") | (true, "auto_acted") => continue,
            (false, _) => "must_catch",
            (true, _) => "must_not_act",
        };
        by.entry(expect).or_default().push(test.records[i].line);
    }
    std::fs::copy(f.scn.join("test.csv"), s.dir.path().join("test.csv")).unwrap();
    let mut text = format!(
        "version: 1\nname: server-test\nschema: {}\nroot: suite\ncases:\n",
        schema.id()
    );
    for (expect, lines) in by {
        text.push_str(&format!(
            "  - file: test.csv\n    expect: {expect}\n    lines: {lines:?}\n"
        ));
    }
    let p = s.dir.path().join("suite.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

/// Champion id, and a registered, gated twin candidate of it.
pub async fn gated_twin(s: &Server) -> (String, String) {
    let champion = s.app.model().id.clone();
    let out = ingest(s, &fixture().alerts[..200]).await;
    let held = label_open_alerts(s, &out, 30).await;
    let dir = twin(s, &champion, &held);
    let admin = &s.tokens[&Role::Admin];
    let reg = post_json(&s.app, "/api/v1/models", admin, &json!({"path": dir})).await;
    assert_eq!(reg.status, StatusCode::CREATED, "{}", reg.text);
    let id = reg.json()["id"].as_str().unwrap().to_string();
    let shown = get(&s.app, &format!("/api/v1/models/{id}"), admin)
        .await
        .json();
    assert_eq!(shown["model"]["state"], "candidate");
    assert_eq!(shown["model"]["parent"], champion.as_str());
    let suite = suite(s, &out);
    let g = post_json(
        &s.app,
        &format!("/api/v1/models/{id}/gate"),
        admin,
        &json!({"suite": suite}),
    )
    .await;
    assert_eq!(g.status, StatusCode::OK, "{}", g.text);
    let g = g.json();
    assert_eq!(g["passed"], true, "{}", g["failures"]);
    assert_eq!(g["sha256"].as_str().unwrap().len(), 64);
    (champion, id)
}
