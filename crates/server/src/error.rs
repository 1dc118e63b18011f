//! API errors: a status and a JSON body `{"error": {"code", "message", …}}` whose message names
//! what was wrong. Every library error becomes an `ApiError` here and only here: the table of
//! which failure answers with which status is [`From`] below, one arm per case. Clients see a
//! safe message; for a server-side failure (5xx) the cause goes to the server's log.

use arbiter_audit::AuditError;
use arbiter_ledger::{LedgerError, Refusal};
use arbiter_store::StoreError;
use arbiter_triage::TriageError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// Stable machine-readable code: `bad_request`, `unauthorized`, `forbidden`, …
    pub code: &'static str,
    pub message: String,
    pub detail: Option<serde_json::Value>,
    pub retry_after_s: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            detail: None,
            retry_after_s: None,
        }
    }
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
    pub fn unprocessable(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
    }
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, "conflict", message)
    }
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> ApiError {
        let mut e = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, message);
        e.retry_after_s = Some(1);
        e
    }
    /// A server-side failure: the cause is logged, the client gets `what` failed.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        eprintln!("serve: internal error: {cause}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("internal error: {cause}"),
        )
    }
    pub fn with_detail(mut self, detail: serde_json::Value) -> ApiError {
        self.detail = Some(detail);
        self
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({"error": {"code": self.code, "message": self.message}});
        if let Some(d) = self.detail {
            body["error"]["detail"] = d;
        }
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(s) = self.retry_after_s {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"arbiter\""),
            );
        }
        resp
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        let m = e.to_string();
        match e {
            StoreError::NoSuchAlert(_)
            | StoreError::NoSuchKey(_)
            | StoreError::NoSuchToken(_)
            | StoreError::NoSuchExample(_)
            | StoreError::NoSuchModel(_) => ApiError::not_found(m),
            StoreError::StaleState { .. }
            | StoreError::InvalidTransition { .. }
            | StoreError::StaleModel { .. }
            | StoreError::ChallengerRunning { .. }
            | StoreError::Duplicate { .. } => ApiError::conflict(m),
            StoreError::Busy { .. } => ApiError::unavailable("store_busy", m),
            StoreError::Backend { .. } | StoreError::TooNew { .. } | StoreError::Corrupt { .. } => {
                ApiError::internal(m)
            }
        }
    }
}

impl From<AuditError> for ApiError {
    fn from(e: AuditError) -> ApiError {
        let m = e.to_string();
        match e {
            AuditError::OutOfRange { .. } => ApiError::not_found(m),
            AuditError::Locked { .. } => ApiError::unavailable("audit_locked", m),
            AuditError::Poisoned { .. } => ApiError::unavailable("audit_poisoned", m),
            _ => ApiError::internal(m),
        }
    }
}

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> ApiError {
        match e {
            LedgerError::Store(e) => e.into(),
            LedgerError::Audit(e) => e.into(),
            LedgerError::Refused(Refusal::Invalid(m)) => ApiError::unprocessable(m),
            LedgerError::Refused(Refusal::Conflict(m)) => ApiError::conflict(m),
            LedgerError::NoSuchAlert(_)
            | LedgerError::NoSuchToken(_)
            | LedgerError::NoSuchModel(_) => ApiError::not_found(e.to_string()),
            // Audited but not stored: on the record, restored on restart; nothing is lost.
            LedgerError::NotStored { .. } | LedgerError::Poisoned(_) => {
                ApiError::unavailable("not_stored", e.to_string())
            }
            LedgerError::Reconcile { .. }
            | LedgerError::BadRecord { .. }
            | LedgerError::Json { .. } => ApiError::internal(e),
        }
    }
}

impl From<TriageError> for ApiError {
    fn from(e: TriageError) -> ApiError {
        match e {
            TriageError::Ledger(e) => e.into(),
            TriageError::Store(e) => e.into(),
            TriageError::Vocab(e) => ApiError::unprocessable(e.to_string()),
            other => ApiError::internal(other),
        }
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(e: serde_json::Error) -> ApiError {
        ApiError::internal(format!("cannot serialise the answer: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use arbiter_core::{AlertKey, AlertState};

    use super::*;

    fn status(e: impl Into<ApiError>) -> StatusCode {
        e.into().status
    }

    #[test]
    fn each_failure_answers_with_its_one_status() {
        let key = AlertKey::new("t", "1").unwrap();
        assert_eq!(status(StoreError::NoSuchAlert(7)), StatusCode::NOT_FOUND);
        assert_eq!(
            status(StoreError::StaleState {
                key: key.clone(),
                expected: AlertState::Analyst,
                found: AlertState::Approved,
            }),
            StatusCode::CONFLICT
        );
        assert_eq!(
            status(StoreError::Busy {
                backend: "sqlite",
                target: "db".into(),
                message: "locked".into(),
            }),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            status(AuditError::Locked {
                dir: "audit".into()
            }),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            status(LedgerError::Refused(Refusal::Invalid("no".into()))),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            status(LedgerError::Refused(Refusal::Conflict("no".into()))),
            StatusCode::CONFLICT
        );
        assert_eq!(
            status(LedgerError::NotStored {
                first: 1,
                last: 2,
                source: StoreError::NoSuchAlert(1),
            }),
            StatusCode::SERVICE_UNAVAILABLE,
            "audited but not stored: restored on restart, so retry later"
        );
        assert_eq!(
            status(LedgerError::Store(StoreError::NoSuchKey(key))),
            StatusCode::NOT_FOUND,
            "a wrapped store error keeps its status"
        );
        let retry = ApiError::from(AuditError::Locked {
            dir: "audit".into(),
        });
        assert_eq!(retry.retry_after_s, Some(1));
    }
}
