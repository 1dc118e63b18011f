//! `POST /api/v1/alerts`: one alert (a JSON object), several (a JSON array) or a batch
//! (NDJSON, `application/x-ndjson`). Fields are read with the model's schema, by each
//! field's `path` or name. Bad lines are reported one by one, naming line, field and value;
//! the good ones are triaged (or, with `?on_error=fail`, nothing is). When more alerts are
//! waiting than the queue holds, the answer is `429` with `Retry-After`: never a silent drop.

use std::sync::atomic::Ordering;
use std::time::Instant;

use arbiter_ingest::RowError;
use arbiter_triage::{Incoming, Triaged};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::auth::Permission;
use crate::error::ApiError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestQuery {
    /// `skip` (default): triage the good lines, report the bad; `fail`: accept nothing when
    /// any line is bad.
    pub on_error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct IngestReport {
    /// Alerts newly triaged and stored.
    pub accepted: usize,
    /// Alerts whose key was already stored (resubmissions): nothing was done.
    pub duplicates: usize,
    /// Lines refused, each naming line, field, value and problem.
    pub rejected: Vec<RowError>,
    /// One entry per accepted line, in order.
    pub alerts: Vec<IngestedAlert>,
}

#[derive(Debug, Serialize)]
pub struct IngestedAlert {
    /// Store id: `GET /api/v1/alerts/{id}`.
    pub id: Option<i64>,
    #[serde(flatten)]
    pub triaged: Triaged,
}

/// Turns the body into NDJSON bytes, whatever JSON form it came in.
fn to_ndjson(headers: &HeaderMap, body: Bytes) -> Result<Vec<u8>, ApiError> {
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match ctype.as_str() {
        "application/x-ndjson" | "application/ndjson" | "application/jsonl" => Ok(body.to_vec()),
        "application/json" => {
            let v: serde_json::Value = serde_json::from_slice(&body)
                .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?;
            let items = match v {
                serde_json::Value::Array(items) => items,
                obj @ serde_json::Value::Object(_) => vec![obj],
                other => {
                    return Err(ApiError::bad_request(format!(
                        "expected a JSON object or an array of objects, got {}",
                        kind(&other)
                    )));
                }
            };
            let mut out = Vec::with_capacity(body.len() + items.len());
            for item in items {
                // Non-objects are kept so that the reader names their position.
                serde_json::to_writer(&mut out, &item)?;
                out.push(b'\n');
            }
            Ok(out)
        }
        "" => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "missing Content-Type: send application/json or application/x-ndjson",
        )),
        other => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "Content-Type {other:?} is not accepted: send application/json or application/x-ndjson"
            ),
        )),
    }
}

fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Releases a reservation of queue places when the request ends, however it ends.
struct Reservation<'a>(&'a std::sync::atomic::AtomicUsize, usize);
impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(self.1, Ordering::SeqCst);
    }
}

pub async fn ingest(
    State(app): State<App>,
    headers: HeaderMap,
    query: Result<Query<IngestQuery>, axum::extract::rejection::QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<IngestReport>, ApiError> {
    let received = Instant::now();
    app.require(
        &headers,
        Permission::Ingest,
        "ingest alerts",
        vec!["endpoint:ingest".into()],
    )
    .await?;
    let Query(q) = query.map_err(|e| ApiError::bad_request(format!("bad query string: {e}")))?;
    let fail_fast = match q.on_error.as_deref() {
        None | Some("skip") => false,
        Some("fail") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "on_error must be skip or fail, got {other:?}"
            )));
        }
    };
    if app.0.draining.load(Ordering::SeqCst) {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "the server is shutting down and accepts no new alerts; retry against its successor",
        ));
    }
    let body = body.map_err(|e| {
        ApiError::new(
            e.status(),
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                "too_large"
            } else {
                "bad_request"
            },
            format!(
                "cannot read the body (limit {} bytes): {}",
                app.0.limits.max_body_bytes,
                e.body_text()
            ),
        )
    })?;
    let ndjson = to_ndjson(&headers, body)?;
    let seq = app.0.batch_seq.fetch_add(1, Ordering::SeqCst);
    let file = format!(
        "http-{}-{seq}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ")
    );
    let model = app.model();
    let parsed = arbiter_ingest::parse_ndjson(&model.schema, &file, ndjson);
    if parsed.len() > app.0.limits.max_batch {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "{} alerts in one request; at most {} are accepted: split the batch",
                parsed.len(),
                app.0.limits.max_batch
            ),
        ));
    }
    let mut records = Vec::new();
    let mut rejected = Vec::new();
    for r in parsed {
        match r {
            Ok(rec) => records.push(rec),
            Err(e) => rejected.push(e),
        }
    }
    app.0
        .metrics
        .rejected_lines
        .fetch_add(rejected.len() as u64, Ordering::Relaxed);
    if records.is_empty() || (fail_fast && !rejected.is_empty()) {
        let msg = if records.is_empty() && rejected.is_empty() {
            "the body holds no alerts".to_string()
        } else {
            format!(
                "{} of {} lines refused; nothing was accepted. first: {}",
                rejected.len(),
                rejected.len() + records.len(),
                rejected[0]
            )
        };
        return Err(ApiError::unprocessable(msg).with_detail(serde_json::to_value(&rejected)?));
    }

    // Backpressure: reserve queue places or refuse the whole request, loudly.
    let n = records.len();
    let before = app.0.pending.fetch_add(n, Ordering::SeqCst);
    let reservation = Reservation(&app.0.pending, n);
    if before + n > app.0.limits.queue_capacity {
        drop(reservation);
        app.0.metrics.backpressure.fetch_add(1, Ordering::Relaxed);
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "queue_full",
            format!(
                "{before} alerts are waiting for triage and the queue holds {}: nothing from this \
                 request was accepted; retry after the Retry-After delay",
                app.0.limits.queue_capacity
            ),
        );
        e.retry_after_s = Some(1);
        return Err(e);
    }

    let batch: Vec<Incoming> = records
        .into_iter()
        .map(|record| {
            let key = if record.ids.is_empty() {
                format!("{file}:{}", record.line)
            } else {
                format!("api:{}", arbiter_explain::package::alert_id(&record, &file))
            };
            Incoming { record, key }
        })
        .collect();
    // The writer takes the batch in chunks, so an analyst's click queued behind a big batch
    // waits for one chunk, not the whole request.
    let chunk = app.0.limits.write_chunk.max(1);
    let mut done: Vec<IngestedAlert> = Vec::with_capacity(n);
    let mut batch = batch;
    while !batch.is_empty() {
        let rest = batch.split_off(chunk.min(batch.len()));
        let part = std::mem::replace(&mut batch, rest);
        let file2 = file.clone();
        let written = app
            .write(move |core| {
                let triaged = core.triage(part, &file2)?;
                triaged
                    .into_iter()
                    .map(|t| {
                        let id = arbiter_store::Store::alert_id_for_key(&core.store, &t.key)?;
                        Ok(IngestedAlert { id, triaged: t })
                    })
                    .collect::<Result<Vec<_>, ApiError>>()
            })
            .await;
        match written {
            Ok(v) => done.extend(v),
            Err(mut e) if !done.is_empty() => {
                e.message = format!(
                    "{} (the first {} alerts of this request were triaged and stored before \
                     this failure; alerts with ids can be resubmitted safely)",
                    e.message,
                    done.len()
                );
                return Err(e);
            }
            Err(e) => return Err(e),
        }
    }
    drop(reservation);

    let m = &app.0.metrics;
    let accepted = done.iter().filter(|a| a.triaged.new).count();
    m.ingested.fetch_add(accepted as u64, Ordering::Relaxed);
    m.duplicates
        .fetch_add((done.len() - accepted) as u64, Ordering::Relaxed);
    for a in &done {
        if let Some(t) = &a.triaged.tier {
            m.count("arbiter_decisions_total", t);
        }
    }
    m.ingest_latency(received.elapsed().as_secs_f64());
    Ok(Json(IngestReport {
        accepted,
        duplicates: done.len() - accepted,
        rejected,
        alerts: done,
    }))
}
