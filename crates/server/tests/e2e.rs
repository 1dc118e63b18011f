//! A real server on port 0 with a fresh database, spoken to over TCP: ingest, queue, decide,
//! then a graceful shutdown that loses nothing and leaves an audit log that verifies.

mod common;

use arbiter_server::Role;
use common::*;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One HTTP/1.1 request on its own connection; returns status and body.
async fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    token: &str,
    ctype: &str,
    body: &str,
) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status: u16 = text[9..12].parse().unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    (status, body)
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_on_port_0_triages_serves_decides_and_shuts_down_without_loss() {
    let s = server();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = s.app.clone();
    let handle = tokio::spawn(arbiter_server::serve(listener, app, async move {
        let _ = stopped.await;
    }));

    let ingest_token = &s.tokens[&Role::Ingest];
    let body = ndjson(&fixture().alerts[..150]);
    let (status, text) = http(
        addr,
        "POST",
        "/api/v1/alerts",
        ingest_token,
        "application/x-ndjson",
        &body,
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let report: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["accepted"], 150);

    let viewer = &s.tokens[&Role::Viewer];
    let (status, text) = http(addr, "GET", "/api/v1/queue", viewer, "application/json", "").await;
    assert_eq!(status, 200);
    let queue: Value = serde_json::from_str(&text).unwrap();
    let first = &queue["alerts"][0];
    let id = first["id"].as_i64().unwrap();

    let analyst = &s.tokens[&Role::Analyst];
    let decision = json!({"action": "override", "reason_code": "missing_context", "note": "asset owner confirms a backup job"});
    let (status, text) = http(
        addr,
        "POST",
        &format!("/api/v1/alerts/{id}/decision"),
        analyst,
        "application/json",
        &decision.to_string(),
    )
    .await;
    assert_eq!(status, 200, "{text}");

    // The console answers too: unauthenticated, it sends you to the login page.
    let (status, _) = http(addr, "GET", "/queue", "", "text/html", "").await;
    assert_eq!(status, 303);

    // A batch in flight when shutdown begins still completes and is kept.
    let late = ndjson(&fixture().alerts[150..400]);
    let t = ingest_token.clone();
    let in_flight = tokio::spawn(async move {
        http(
            addr,
            "POST",
            "/api/v1/alerts",
            &t,
            "application/x-ndjson",
            &late,
        )
        .await
    });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    stop.send(()).unwrap();
    let (late_status, late_text) = in_flight.await.unwrap();
    handle.await.unwrap().unwrap();

    // After shutdown: everything acknowledged is in the store and the log verifies.
    let db = s.dir.path().join("arbiter.db");
    let audit = s.dir.path().join("audit");
    drop(s.app);
    let store = arbiter_store::SqliteStore::open(&db).unwrap();
    let stats = arbiter_store::StoreRead::stats(&store).unwrap();
    let late_accepted = if late_status == 200 {
        serde_json::from_str::<Value>(&late_text).unwrap()["accepted"]
            .as_u64()
            .unwrap()
    } else {
        // Refused because draining had begun (503): then nothing of it may be stored.
        assert_eq!(late_status, 503, "{late_text}");
        0
    };
    assert_eq!(stats.alerts, 150 + late_accepted);
    assert_eq!(stats.decisions, 150 + late_accepted + 1);
    let report = arbiter_audit::verify(&audit).unwrap();
    assert!(report.problems.is_empty(), "{report:?}");
    assert_eq!(
        report.uncovered, 0,
        "the final checkpoint covers every entry: {report}"
    );
}
