//! What the server tests share: a small SYNTHETIC scenario and a bundle trained on it (once
//! per test binary), a fresh server state with one token per role, and request helpers that
//! go through the router without a socket.
#![allow(dead_code)]

pub mod lifecycle;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use std::sync::Arc;

use arbiter_core::{Actor, SystemClock};
use arbiter_ledger::Ledger;
use arbiter_server::{App, Limits, Paths, Role};
use arbiter_store::SqliteStore;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

pub struct Fixture {
    _dir: tempfile::TempDir,
    pub bundle: PathBuf,
    /// The training file: resolved past cases.
    pub cases: PathBuf,
    /// Test alerts as JSON objects (field name → text), with their true labels.
    pub alerts: Vec<Value>,
    /// The scenario directory (schema.yaml, train.csv, test.csv).
    pub scn: PathBuf,
}

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The scenario and bundle, built on first use.
pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let scn = dir.path().join("scn");
        let opts = arbiter_scenario::Options {
            train_rows: 3000,
            test_rows: 800,
            drift: true,
            gaps: 0.03,
        };
        arbiter_scenario::generate("soc-mixed", 5, &opts, &scn).unwrap();
        let schema = arbiter_ingest::load_schema(&scn.join("schema.yaml")).unwrap();
        let train = scn.join("train.csv");
        let data = arbiter_ingest::load(
            &schema,
            &train,
            arbiter_ingest::OnError::Fail,
            &mut |_, _| {},
        )
        .unwrap();
        let inputs = vec![arbiter_train::InputFile {
            name: "train.csv".into(),
            sha256: arbiter_ingest::file_sha256(&train).unwrap(),
            data,
            weights: None,
        }];
        let options = arbiter_train::TrainOptions {
            members: 3,
            iterations: 30,
            ..Default::default()
        };
        let trained =
            arbiter_train::train(&schema, inputs, &options, &arbiter_train::Quiet).unwrap();
        let bundle = dir.path().join("bundle");
        arbiter_train::bundle::write(&bundle, &trained.files).unwrap();
        let mut rdr = csv::Reader::from_path(scn.join("test.csv")).unwrap();
        let headers = rdr.headers().unwrap().clone();
        let alerts = rdr
            .records()
            .map(|r| {
                let r = r.unwrap();
                let obj: serde_json::Map<String, Value> = headers
                    .iter()
                    .zip(r.iter())
                    .map(|(h, v)| (h.to_string(), Value::String(v.to_string())))
                    .collect();
                Value::Object(obj)
            })
            .collect();
        Fixture {
            _dir: dir,
            bundle,
            cases: train,
            alerts,
            scn,
        }
    })
}

/// A server state on a fresh database, with one live token per role.
pub struct Server {
    pub dir: tempfile::TempDir,
    pub app: App,
    pub tokens: BTreeMap<Role, String>,
    /// A second analyst, for four eyes.
    pub analyst2: String,
}

pub fn server_with(limits: Limits) -> Server {
    server_with_policy(limits, repo().join("policies/default.yaml"))
}

/// A server under the policy file at `policy`.
pub fn server_with_policy(limits: Limits, policy: PathBuf) -> Server {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("arbiter.db");
    let mut tokens = BTreeMap::new();
    // Tokens are minted through the ledger, as `arbiter token create` does.
    let store = Arc::new(SqliteStore::open(&db).unwrap());
    let mut ledger = Ledger::open(store, &dir.path().join("audit"), Arc::new(SystemClock))
        .unwrap()
        .ledger;
    let mut add = |name: &str, role: Role| {
        let t = arbiter_server::new_token();
        ledger
            .create_token(
                name,
                name,
                role,
                &arbiter_server::token_hash(&t),
                &Actor::system("cli/token"),
            )
            .unwrap();
        t
    };
    for &role in Role::ALL {
        tokens.insert(role, add(role.as_str(), role));
    }
    let analyst2 = add("second-analyst", Role::Analyst);
    drop(ledger);
    let paths = Paths {
        db,
        audit: None,
        model: f.bundle.clone(),
        policy,
        cases: Some(f.cases.clone()),
    };
    let app = App::open(
        &paths,
        limits,
        Duration::from_secs(30),
        Arc::new(SystemClock),
    )
    .unwrap();
    Server {
        dir,
        app,
        tokens,
        analyst2,
    }
}

pub fn server() -> Server {
    server_with(Limits::default())
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
}

/// Sends one request through the router (no socket).
pub async fn send(app: &App, req: Request<Body>) -> Reply {
    let resp = arbiter_server::router(app.clone())
        .oneshot(req)
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

pub fn request(
    method: &str,
    uri: &str,
    token: Option<&str>,
    ctype: Option<&str>,
    body: impl Into<Body>,
) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    if let Some(c) = ctype {
        b = b.header("content-type", c);
    }
    b.body(body.into()).unwrap()
}

pub async fn get(app: &App, uri: &str, token: &str) -> Reply {
    send(app, request("GET", uri, Some(token), None, Body::empty())).await
}

pub async fn post_json(app: &App, uri: &str, token: &str, body: &Value) -> Reply {
    send(
        app,
        request(
            "POST",
            uri,
            Some(token),
            Some("application/json"),
            body.to_string(),
        ),
    )
    .await
}

/// NDJSON of the given alerts.
pub fn ndjson(alerts: &[Value]) -> String {
    alerts.iter().map(|a| format!("{a}\n")).collect()
}

/// Ingests alerts and returns the report.
pub async fn ingest(s: &Server, alerts: &[Value]) -> Value {
    let r = send(
        &s.app,
        request(
            "POST",
            "/api/v1/alerts",
            Some(&s.tokens[&Role::Ingest]),
            Some("application/x-ndjson"),
            ndjson(alerts),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json()
}

/// Number of entries in the audit log.
pub async fn audit_size(s: &Server) -> u64 {
    let r = get(&s.app, "/api/v1/audit/checkpoint", &s.tokens[&Role::Viewer]).await;
    r.json()["log_size"]
        .as_u64()
        .unwrap_or_else(|| panic!("{}", r.text))
}

/// Writes the refusals counted so far and signs a checkpoint (what the server does every
/// second).
pub async fn flush(s: &Server) {
    s.app.flush().await.unwrap();
}

/// `GET /api/v1/alerts/{id}` as a viewer.
pub async fn alert(s: &Server, id: i64) -> Value {
    let r = get(
        &s.app,
        &format!("/api/v1/alerts/{id}"),
        &s.tokens[&Role::Viewer],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json()
}
