//! `POST /api/v1/alerts`: one alert (a JSON object), several (a JSON array) or a batch
//! (NDJSON, `application/x-ndjson`). Fields are read with the model's schema, by each
//! field's `path` or name; duplicate keys are refused. Bad lines are reported one by one,
//! naming line, field and value; the good ones are triaged (or, with `?on_error=fail`, nothing
//! is). When more alerts wait than the queue holds, the answer is `429` with `Retry-After`.
//!
//! Identity: an alert is `source/id`, where `source` is `?source=` (default the schema's
//! name) and `id` the schema's first identifier field. Without one, a client's
//! `Idempotency-Key` header gives `idem:<key>#<line>`; without that, a digest of the alert's
//! values (`sha256:<digest>#<n>`, n counting identical alerts in the request). Either way a
//! retried request stores nothing twice; without an id or an Idempotency-Key, identical
//! alerts sent in separate requests count as one.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use arbiter_ingest::RowError;
use arbiter_triage::{Incoming, KeyMaker, Summary, Triaged};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};

use crate::access::Caller;
use crate::app::App;
use crate::error::ApiError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestQuery {
    /// `skip` (default): triage the good lines, report the bad; `fail`: accept nothing when
    /// any line is bad.
    pub on_error: Option<String>,
    /// The source that raised these alerts (default: the schema's name).
    pub source: Option<String>,
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
    pub alerts: Vec<Triaged>,
}

/// Turns the body into NDJSON bytes, whatever JSON form it came in; duplicate keys refused.
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
            let v = arbiter_ingest::from_slice_strict(&body)
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
                "Content-Type {:?} is not accepted: send application/json or application/x-ndjson",
                arbiter_ledger::capped(other, 60)
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
    Extension(_caller): Extension<Caller>,
    headers: HeaderMap,
    query: Result<Query<IngestQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<IngestReport>, ApiError> {
    let received = Instant::now();
    let Query(q) = query.map_err(super::bad_query)?;
    let fail_fast = match q.on_error.as_deref() {
        None | Some("skip") => false,
        Some("fail") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "on_error must be skip or fail, got {:?}",
                arbiter_ledger::capped(other, 40)
            )));
        }
    };
    if app.0.draining.load(Ordering::SeqCst) {
        return Err(ApiError::unavailable(
            "shutting_down",
            "the server is shutting down and accepts no new alerts; retry against its successor",
        ));
    }
    let model = app.model();
    let mut keys = KeyMaker::new(
        q.source.as_deref().unwrap_or(&model.schema.name),
        &model.schema,
    )
    .map_err(|e| ApiError::bad_request(e.to_string()))?;
    if let Some(v) = headers.get("idempotency-key") {
        let v = v
            .to_str()
            .map_err(|_| ApiError::bad_request("Idempotency-Key must be visible ASCII"))?;
        keys = keys
            .with_idempotency_key(v)
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
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
    let seq = app.0.batch_seq.fetch_add(1, Ordering::SeqCst);
    let file = format!(
        "http-{}-{seq}",
        app.0.clock.now().format("%Y%m%dT%H%M%S%.3fZ")
    );
    // Parsing a large body is CPU work: off the async threads, so other requests (an
    // analyst's click) are not held up behind it.
    let max_batch = app.0.limits.max_batch;
    let file2 = file.clone();
    let (batch, rejected) = tokio::task::spawn_blocking(move || {
        let ndjson = to_ndjson(&headers, body)?;
        let parsed = arbiter_ingest::parse_ndjson(&model.schema, &file2, ndjson);
        if parsed.len() > max_batch {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!(
                    "{} alerts in one request; at most {max_batch} are accepted: split the batch",
                    parsed.len(),
                ),
            ));
        }
        let mut batch = Vec::new();
        let mut rejected = Vec::new();
        for r in parsed {
            match r {
                Ok(record) => match keys.key(&record) {
                    Ok(key) => batch.push(Incoming { record, key }),
                    Err(e) => rejected.push(RowError {
                        file: file2.clone(),
                        line: record.line,
                        field: None,
                        value: None,
                        problem: e.to_string(),
                    }),
                },
                Err(e) => rejected.push(e),
            }
        }
        Ok((batch, rejected))
    })
    .await
    .map_err(|e| ApiError::internal(format!("the parsing task failed: {e}")))??;
    app.0
        .metrics
        .rejected_lines
        .fetch_add(rejected.len() as u64, Ordering::Relaxed);
    if batch.is_empty() || (fail_fast && !rejected.is_empty()) {
        let msg = if batch.is_empty() && rejected.is_empty() {
            "the body holds no alerts".to_string()
        } else {
            format!(
                "{} of {} lines refused; nothing was accepted. first: {}",
                rejected.len(),
                rejected.len() + batch.len(),
                rejected[0]
            )
        };
        return Err(ApiError::unprocessable(msg).with_detail(serde_json::to_value(&rejected)?));
    }

    // Backpressure: reserve queue places or refuse the whole request, loudly.
    let n = batch.len();
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

    let done = triage_chunks(&app, batch, file).await?;
    drop(reservation);

    let m = &app.0.metrics;
    let accepted = done.iter().filter(|a| a.new).count();
    m.ingested.fetch_add(accepted as u64, Ordering::Relaxed);
    m.duplicates
        .fetch_add((done.len() - accepted) as u64, Ordering::Relaxed);
    for a in &done {
        if let Some(t) = a.tier {
            m.count("arbiter_decisions_total", t.as_str());
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

/// Triages `batch` a chunk at a time: each chunk of `score_chunk` alerts is scored and
/// explained without the writer, then decided and recorded `write_chunk` alerts per short turn
/// of it, so a decision queued meanwhile waits for one such turn, never for scoring.
async fn triage_chunks(
    app: &App,
    mut batch: Vec<Incoming>,
    file: String,
) -> Result<Vec<Triaged>, ApiError> {
    let chunk = app.0.limits.score_chunk.max(1);
    let per_turn = app.0.limits.write_chunk.max(1);
    let scorer = app.scorer();
    let challenger = app.challenger();
    let mut done: Vec<Triaged> = Vec::with_capacity(batch.len());
    while !batch.is_empty() {
        let rest = batch.split_off(chunk.min(batch.len()));
        let part = std::mem::replace(&mut batch, rest);
        let step = async {
            let prepared = app
                .read(move |s, _| Ok(arbiter_triage::prepare(part, s)?))
                .await?;
            let (scorer2, challenger2, file2, clock, deadline) = (
                scorer.clone(),
                challenger.clone(),
                file.clone(),
                app.0.clock.clone(),
                app.0.deadline,
            );
            let parts = tokio::task::spawn_blocking(move || {
                let (scored, theirs) = arbiter_triage::score_pair(
                    &scorer2,
                    challenger2.as_deref(),
                    &prepared.records(),
                    &file2,
                    deadline,
                    &clock,
                );
                prepared.split_pair(scored, theirs, per_turn)
            })
            .await
            .map_err(|e| ApiError::internal(format!("the scoring task failed: {e}")))?;
            let mut out = Vec::new();
            for (prepared, scored, theirs) in parts {
                let (scorer3, file3, app3) = (scorer.clone(), file.clone(), app.clone());
                let challenger3 = challenger.clone();
                let recorded = app
                    .write_bulk(move |w| {
                        let mut sum = Summary::default();
                        // Under the writer: a challenger retired or rolled back since scoring
                        // neither decides nor is recorded; the champion decides alone.
                        if !Arc::ptr_eq(&app3.scorer(), &scorer3) {
                            return Err(ApiError::unavailable(
                                "model_changed",
                                "the champion changed (promotion or rollback) while these alerts \
                                 were scored by the one before; resubmit them",
                            ));
                        }
                        let current = app3.challenger();
                        let same = match (&current, &challenger3) {
                            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                            _ => false,
                        };
                        let challenge = if same {
                            challenger3.as_deref().zip(theirs)
                        } else {
                            None
                        };
                        let out = arbiter_triage::record_with(
                            prepared,
                            scored,
                            challenge,
                            &scorer3,
                            &mut w.guards,
                            &mut w.ledger,
                            &file3,
                            &mut sum,
                        )?;
                        let now = w.ledger.clock().now_ms();
                        app3.0
                            .breaker_open
                            .store(w.guards.breaker_open(now), Ordering::Relaxed);
                        Ok(out)
                    })
                    .await?;
                out.extend(recorded);
            }
            out.sort_by_key(|t| t.line);
            Ok::<_, ApiError>(out)
        };
        match step.await {
            Ok(v) => done.extend(v),
            Err(mut e) if !done.is_empty() => {
                e.message = format!(
                    "{} (the first {} alerts of this request were triaged and stored before \
                     this failure; resubmitting the request stores nothing twice)",
                    e.message,
                    done.len()
                );
                return Err(e);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}
