//! Regression tests for the defects issue 10 found by probing the running server, and for its
//! guarantees: readers never wait for the writer, the timeline cannot be emptied by a damaged
//! index, refusals are counted without flooding the log, four eyes counts people, retries store
//! nothing twice, input cannot be amplified into storage, and models are values.

mod common;

use std::time::Duration;

use arbiter_server::Role;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use serde_json::{Value, json};

fn open_four_eyes(report: &Value) -> Vec<i64> {
    report["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| {
            matches!(a["state"].as_str(), Some("pending_approval" | "analyst"))
                && matches!(
                    a["action"].as_str(),
                    Some("reset_credentials" | "block_org_domain")
                )
        })
        .map(|a| a["id"].as_i64().unwrap())
        .collect()
}

/// Waits at most `secs` for `f`, so a reader stuck behind the writer fails the test instead of
/// hanging it. A generous bound on a liveness property, not a performance threshold.
async fn within<T>(secs: u64, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .expect("a reader waited for the writer")
}

#[tokio::test]
async fn issue_10_readers_answer_while_the_writer_is_held() {
    let s = server();
    let report = ingest(&s, &fixture().alerts[..30]).await;
    let id = report["alerts"][0]["id"].as_i64().unwrap();
    let key = report["alerts"][0]["key"].as_str().unwrap().to_string();
    let v = s.tokens[&Role::Viewer].clone();
    let held = s.app.0.writer.enter(arbiter_server::writer::Turn::Priority);
    for uri in [
        "/api/v1/queue".to_string(),
        format!("/api/v1/alerts/{id}"),
        format!("/api/v1/audit/query?entity=alert:{key}"),
        "/api/v1/audit/checkpoint".to_string(),
        "/api/v1/audit/entries/0".to_string(),
        "/api/v1/audit/proof/0".to_string(),
        "/api/v1/policy".to_string(),
        "/api/v1/model".to_string(),
        "/api/v1/models".to_string(),
        "/api/v1/reason-codes".to_string(),
        "/metrics".to_string(),
    ] {
        let r = within(30, get(&s.app, &uri, &v)).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.text);
    }
    // A refusal does not wait either: it is counted, and written later.
    let r = within(30, get(&s.app, "/api/v1/queue", "arb_wrong")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    drop(held);
}

#[tokio::test]
async fn issue_10_the_audit_query_comes_in_bounded_pages_that_can_be_proven() {
    let s = server();
    ingest(&s, &fixture().alerts[..120]).await;
    flush(&s).await;
    let v = &s.tokens[&Role::Viewer];
    let entity = "entity=arbiter%2Fpolicy"; // nobody: an entity with no entries
    let empty = get(&s.app, &format!("/api/v1/audit/query?{entity}"), v)
        .await
        .json();
    assert_eq!(empty["entries"], json!([]));
    // Every decision names its host: page through one host's entries ten at a time.
    let first = ingest(&s, &fixture().alerts[..1]).await;
    let _ = first;
    let host = fixture().alerts[..120]
        .iter()
        .filter_map(|a| a["host"].as_str())
        .fold(
            std::collections::BTreeMap::<&str, usize>::new(),
            |mut m, h| {
                *m.entry(h).or_default() += 1;
                m
            },
        )
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .unwrap();
    let mut after: Option<u64> = None;
    let mut seen = Vec::new();
    loop {
        let cursor = after.map_or(String::new(), |a| format!("&after={a}"));
        let page = get(
            &s.app,
            &format!("/api/v1/audit/query?entity=host:{}&limit=3{cursor}", host.0),
            v,
        )
        .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        let page = page.json();
        let entries = page["entries"].as_array().unwrap();
        assert!(entries.len() <= 3);
        seen.extend(entries.iter().map(|e| e["index"].as_u64().unwrap()));
        match page["next"].as_u64() {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(seen.len(), host.1, "every entry about host {}", host.0);
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "oldest first, no repeats"
    );
    let too_many = get(&s.app, "/api/v1/audit/query?entity=x&limit=100000", v).await;
    assert_eq!(
        too_many.status,
        StatusCode::OK,
        "the limit is clamped, not an error"
    );
    // With prove=true each entry comes with an inclusion proof against the signed checkpoint.
    flush(&s).await;
    let proven = get(
        &s.app,
        &format!("/api/v1/audit/query?entity=host:{}&prove=true", host.0),
        v,
    )
    .await
    .json();
    let root = proven["checkpoint"]["root"].as_str().unwrap().to_string();
    for e in proven["entries"].as_array().unwrap() {
        let p = &e["proof"];
        assert_eq!(p["index"], e["index"]);
        assert_eq!(hex_of(&p["root"]), root, "{p}");
    }
}

/// The root of a serialised proof as hex (proofs serialise hashes as hex strings).
fn hex_of(v: &Value) -> String {
    v.as_str()
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string())
}

#[tokio::test]
async fn issue_10_a_gutted_index_cannot_make_the_timeline_say_nothing_happened() {
    let s = server();
    let report = ingest(&s, &fixture().alerts[..200]).await;
    let target = report["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["state"] == "auto_closed")
        .or_else(|| report["alerts"].as_array().unwrap().first())
        .unwrap()
        .clone();
    let id = target["id"].as_i64().unwrap();
    let key = target["key"].as_str().unwrap().to_string();
    let r = post_json(
        &s.app,
        &format!("/api/v1/alerts/{id}/decision"),
        &s.tokens[&Role::Analyst],
        &json!({"action": "override", "reason_code": "model_wrong", "note": "it was the attacker"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    flush(&s).await;
    // Someone deletes the alert's rows from the derived index.
    let audit = s.dir.path().join("audit");
    let c = rusqlite::Connection::open(audit.join("index.sqlite")).unwrap();
    let gone = c
        .execute(
            "DELETE FROM mention WHERE entity = ?1",
            [format!("alert:{key}")],
        )
        .unwrap();
    assert!(gone >= 2, "the decision and the override were indexed");
    drop(c);
    let a = alert(&s, id).await;
    let kinds: Vec<&str> = a["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["decision", "override"], "{a}");
    assert_eq!(a["timeline_complete"], false);
    assert!(
        a["timeline_note"].as_str().unwrap().contains("reindex"),
        "{}",
        a["timeline_note"]
    );
    let report = arbiter_audit::verify(&audit).unwrap();
    assert!(!report.is_ok(), "verify notices: {report}");
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.kind == arbiter_audit::ProblemKind::IndexMismatch),
        "{report}"
    );
}

#[tokio::test]
async fn issue_10_refusals_are_counted_cut_short_and_written_together() {
    let s = server();
    let before = audit_size(&s).await;
    let long = "7".repeat(65_000);
    for _ in 0..300 {
        let r = send(
            &s.app,
            request("GET", &format!("/api/v1/alerts/{long}"), None, None, ""),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        audit_size(&s).await,
        before,
        "refusals are not written one by one on the request path"
    );
    let bytes = std::fs::metadata(s.dir.path().join("audit/entries.log"))
        .unwrap()
        .len();
    flush(&s).await;
    let after = audit_size(&s).await;
    assert_eq!(after, before + 1, "300 refusals, one counted entry");
    let e = get(
        &s.app,
        &format!("/api/v1/audit/entries/{before}"),
        &s.tokens[&Role::Viewer],
    )
    .await
    .json();
    assert_eq!(e["entry"]["kind"], "denied");
    assert_eq!(e["entry"]["body"]["count"], 300);
    let grown = std::fs::metadata(s.dir.path().join("audit/entries.log"))
        .unwrap()
        .len()
        - bytes;
    assert!(
        grown < 2_000,
        "a 65 KB id costs {grown} bytes of log, not 145 KB"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_10_an_unauthenticated_body_is_refused_before_it_is_read() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = server();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(arbiter_server::serve(listener, s.app.clone(), async move {
        let _ = stopped.await;
    }));
    let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
    // Announces 15 MiB, sends 1 KiB, and waits: the answer must not wait for the rest.
    let head = format!(
        "POST /api/v1/alerts HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-ndjson\r\n\
         Content-Length: {}\r\n\r\n",
        15 << 20
    );
    c.write_all(head.as_bytes()).await.unwrap();
    c.write_all(&[b' '; 1024]).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = within(20, c.read(&mut buf)).await.unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 401"), "{text}");
    let _ = stop.send(());
    drop(c);
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn issue_10_four_eyes_needs_two_people_not_two_tokens() {
    let s = server();
    let report = ingest(&s, &fixture().alerts).await;
    let targets = open_four_eyes(&report);
    assert!(
        targets.len() >= 2,
        "the scenario proposes irreversible actions"
    );
    let admin = &s.tokens[&Role::Admin];
    let mint = |name: &str, person: &str, by: &str| {
        let (app, body, by) = (
            s.app.clone(),
            json!({"name": name, "role": "analyst", "person": person}),
            by.to_string(),
        );
        async move {
            let r = post_json(&app, "/api/v1/tokens", &by, &body).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
            r.json()["token"].as_str().unwrap().to_string()
        }
    };
    let approve = json!({"action": "approve"});
    // The same person with a second token is still one pair of eyes.
    let laptop = mint("analyst-laptop", "analyst", admin).await;
    let url = format!("/api/v1/alerts/{}/decision", targets[0]);
    let first = post_json(&s.app, &url, &s.tokens[&Role::Analyst], &approve).await;
    assert_eq!(first.json()["state"], "pending_second_approval");
    let same = post_json(&s.app, &url, &laptop, &approve).await;
    assert_eq!(same.status, StatusCode::CONFLICT, "{}", same.text);
    assert!(
        same.text.contains("analyst already approved"),
        "{}",
        same.text
    );
    // A lead cannot complete four eyes with a token he minted for "someone else".
    let lead = &s.tokens[&Role::Lead];
    let carl = mint("carl", "carl", lead).await;
    let url = format!("/api/v1/alerts/{}/decision", targets[1]);
    assert_eq!(
        post_json(&s.app, &url, lead, &approve).await.status,
        StatusCode::OK
    );
    let sock = post_json(&s.app, &url, &carl, &approve).await;
    assert_eq!(sock.status, StatusCode::CONFLICT, "{}", sock.text);
    assert!(sock.text.contains("minted"), "{}", sock.text);
    // A second person does.
    let ok = post_json(&s.app, &url, &s.analyst2, &approve).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert_eq!(ok.json()["state"], "approved");
}

#[tokio::test]
async fn issue_10_a_retried_request_without_ids_stores_nothing_twice() {
    let s = server();
    let anonymous: Vec<Value> = fixture().alerts[..20]
        .iter()
        .map(|a| {
            let mut a = a.clone();
            a.as_object_mut().unwrap().remove("alert_id");
            a
        })
        .collect();
    let first = ingest(&s, &anonymous).await;
    assert_eq!(first["accepted"], 20);
    assert!(
        first["alerts"][0]["key"]
            .as_str()
            .unwrap()
            .contains("/sha256:"),
        "{}",
        first["alerts"][0]
    );
    let retry = ingest(&s, &anonymous).await;
    assert_eq!(retry["accepted"], 0, "derived from the content");
    assert_eq!(retry["duplicates"], 20);
    // With an Idempotency-Key, the key names the request.
    let post = |idem: &'static str| {
        let mut req = request(
            "POST",
            "/api/v1/alerts",
            Some(&s.tokens[&Role::Ingest]),
            Some("application/x-ndjson"),
            ndjson(&anonymous),
        );
        req.headers_mut()
            .insert("idempotency-key", idem.parse().unwrap());
        let app = s.app.clone();
        async move { send(&app, req).await.json() }
    };
    assert_eq!(post("batch-1").await["accepted"], 20);
    assert_eq!(post("batch-1").await["duplicates"], 20, "a retry");
    assert_eq!(post("batch-2").await["accepted"], 20, "another request");
    let bad = send(&s.app, {
        let mut r = request(
            "POST",
            "/api/v1/alerts",
            Some(&s.tokens[&Role::Ingest]),
            Some("application/x-ndjson"),
            ndjson(&anonymous),
        );
        r.headers_mut()
            .insert("idempotency-key", "has space".parse().unwrap());
        r
    })
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
}

#[tokio::test]
async fn issue_10_duplicate_keys_and_oversized_values_and_notes_are_refused_by_name() {
    let s = server();
    let mut body = fixture().alerts[0].to_string();
    body.insert_str(1, "\"alert_id\": \"forged\", ");
    let r = send(
        &s.app,
        request(
            "POST",
            "/api/v1/alerts",
            Some(&s.tokens[&Role::Ingest]),
            Some("application/json"),
            body.clone(),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(
        r.text.contains("duplicate key \\\"alert_id\\\""),
        "{}",
        r.text
    );
    let r = send(
        &s.app,
        request(
            "POST",
            "/api/v1/alerts",
            Some(&s.tokens[&Role::Ingest]),
            Some("application/x-ndjson"),
            format!("{body}\n"),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("duplicate key"), "{}", r.text);
    // A 1 MB categorical value is refused, quoting a prefix only.
    let mut big = fixture().alerts[1].clone();
    big["os"] = json!("x".repeat(1 << 20));
    let r = send(
        &s.app,
        request(
            "POST",
            "/api/v1/alerts",
            Some(&s.tokens[&Role::Ingest]),
            Some("application/x-ndjson"),
            format!("{big}\n"),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.text.contains("1048576 bytes") && r.text.contains("os"),
        "{}",
        &r.text[..300.min(r.text.len())]
    );
    assert!(
        r.text.len() < 4_000,
        "the refusal does not repeat the value"
    );
    // A 10 MB note is refused before it reaches the log.
    let id = ingest(&s, &fixture().alerts[..1]).await["alerts"][0]["id"]
        .as_i64()
        .unwrap();
    let before = audit_size(&s).await;
    let r = post_json(
        &s.app,
        &format!("/api/v1/alerts/{id}/decision"),
        &s.tokens[&Role::Analyst],
        &json!({"action": "override", "reason_code": "model_wrong", "note": "n".repeat(10 << 20)}),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        &r.text[..200.min(r.text.len())]
    );
    assert!(
        r.text.contains("bytes"),
        "{}",
        &r.text[..200.min(r.text.len())]
    );
    assert_eq!(audit_size(&s).await, before);
}

#[tokio::test]
async fn issue_10_sign_in_and_sign_out_refuse_a_cross_site_post() {
    let s = server();
    for uri in ["/login", "/logout"] {
        let req = Request::builder()
            .method("POST")
            .uri(uri)
            .header("host", "127.0.0.1:8080")
            .header("origin", "http://evil.example")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(format!("token={}", s.tokens[&Role::Analyst])))
            .unwrap();
        let r = send(&s.app, req).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{uri}");
        assert!(!r.headers.contains_key("set-cookie"), "{uri}");
    }
}

#[tokio::test]
async fn issue_10_a_model_is_put_in_force_by_its_registered_id_and_the_old_one_is_freed() {
    let s = server();
    let admin = &s.tokens[&Role::Admin];
    let put = |body: Value| {
        let (app, t) = (s.app.clone(), admin.clone());
        async move {
            send(
                &app,
                request(
                    "PUT",
                    "/api/v1/model",
                    Some(&t),
                    Some("application/json"),
                    body.to_string(),
                ),
            )
            .await
        }
    };
    let by_path = put(json!({"path": fixture().bundle})).await;
    assert!(
        by_path.status.is_client_error(),
        "a path is no longer accepted"
    );
    let unknown = put(json!({"id": format!("sha256:{}", "e".repeat(64))})).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.text);
    // A second bundle, trained on the same scenario with another seed.
    let f = fixture();
    let schema = arbiter_ingest::load_schema(&f.scn.join("schema.yaml")).unwrap();
    let data = arbiter_ingest::load(
        &schema,
        &f.scn.join("train.csv"),
        arbiter_ingest::OnError::Fail,
        &mut |_, _| {},
    )
    .unwrap();
    let options = arbiter_train::TrainOptions {
        members: 2,
        iterations: 10,
        seed: 99,
        ..Default::default()
    };
    let input = arbiter_train::InputFile {
        name: "train.csv".into(),
        sha256: "synthetic".into(),
        data,
        weights: None,
    };
    let trained =
        arbiter_train::train(&schema, vec![input], &options, &arbiter_train::Quiet).unwrap();
    let second = s.dir.path().join("bundle-2");
    arbiter_train::bundle::write(&second, &trained.files).unwrap();
    let reg = post_json(&s.app, "/api/v1/models", admin, &json!({"path": second})).await;
    assert_eq!(reg.status, StatusCode::CREATED, "{}", reg.text);
    let id = reg.json()["id"].as_str().unwrap().to_string();
    let again = post_json(&s.app, "/api/v1/models", admin, &json!({"path": second})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    let old = std::sync::Arc::downgrade(&s.app.model());
    let r = put(json!({"id": id})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(s.app.model().id, id);
    assert!(
        old.upgrade().is_none(),
        "the retired bundle is freed once nothing uses it"
    );
    let models = get(&s.app, "/api/v1/models", &s.tokens[&Role::Viewer])
        .await
        .json();
    let states: Vec<(&str, &str)> = models["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["id"].as_str().unwrap(), m["state"].as_str().unwrap()))
        .collect();
    assert!(states.contains(&(id.as_str(), "champion")), "{states:?}");
    assert!(states.iter().any(|(_, st)| *st == "retired"), "{states:?}");
    // Alerts are scored by the new model from now on.
    let out = ingest(&s, &fixture().alerts[..5]).await;
    let a = alert(&s, out["alerts"][0]["id"].as_i64().unwrap()).await;
    assert_eq!(a["alert"]["bundle"], id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_10_a_running_server_signs_checkpoints_on_a_cadence() {
    let s = server_with(arbiter_server::Limits {
        checkpoint_every: Duration::from_millis(100),
        ..arbiter_server::Limits::default()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(arbiter_server::serve(listener, s.app.clone(), async move {
        let _ = stopped.await;
    }));
    ingest(&s, &fixture().alerts[..40]).await;
    let v = &s.tokens[&Role::Viewer];
    let covered = within(30, async {
        loop {
            let c = get(&s.app, "/api/v1/audit/checkpoint", v).await.json();
            if c["uncovered"] == 0 && c["checkpoint"]["size"] == c["log_size"] {
                break c;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(covered["log_size"].as_u64().unwrap() >= 40);
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
