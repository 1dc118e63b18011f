//! Persistence behind one interface: alerts, their evidence packages, decisions, cases,
//! feedback, and the small pieces of state guardrails must keep across restarts.
//!
//! [`Store`] is what the rest of Arbiter programs against; [`SqliteStore`] (one file, WAL
//! journal, versioned migrations) is the embedded default, and a PostgreSQL backend can
//! implement the same trait later. The audit log is not here: it lives in its own append-only
//! files (`arbiter-audit`), and rows here point at audit entries by index.

mod error;
mod migrations;
mod sqlite;
mod tokens;
mod types;

pub use error::StoreError;
pub use migrations::MIGRATIONS;
pub use sqlite::SqliteStore;
pub use tokens::Tokens;
pub use types::{
    AlertRow, CaseUpdate, DecisionRow, FeedbackRow, NewAlert, QueueFilter, Stats, TokenRow,
};

/// States in which an alert still awaits a human: what the queue shows by default.
pub const OPEN_STATES: [&str; 4] = [
    "pending_approval",
    "pending_second_approval",
    "analyst",
    "abstained",
];

/// The storage interface. Methods that write several rows take a whole batch so that a
/// backend can make it one transaction.
pub trait Store {
    /// Stores new alerts with their packages, decisions and case updates atomically. An alert
    /// whose `key` is already stored is skipped (rerunning an input is idempotent); returns how
    /// many were inserted.
    fn insert_alerts(&mut self, alerts: &[NewAlert]) -> Result<usize, StoreError>;
    /// Which of these alert keys are already stored.
    fn existing_keys(&self, keys: &[String]) -> Result<Vec<String>, StoreError>;
    fn alert(&self, id: i64) -> Result<Option<AlertRow>, StoreError>;
    /// The evidence package of an alert, as stored (JSON).
    fn package(&self, id: i64) -> Result<Option<String>, StoreError>;
    /// Alerts awaiting a human, riskiest and most uncertain first.
    fn queue(&self, filter: &QueueFilter) -> Result<Vec<AlertRow>, StoreError>;
    fn decisions(&self, alert: i64) -> Result<Vec<DecisionRow>, StoreError>;
    /// Records a human decision and moves the alert to `state`, with the analyst's feedback
    /// (corrected label, reason) in the same transaction when given.
    fn record_decision(
        &mut self,
        d: &DecisionRow,
        state: &str,
        feedback: Option<&FeedbackRow>,
    ) -> Result<i64, StoreError>;
    fn record_feedback(&mut self, f: &FeedbackRow) -> Result<i64, StoreError>;
    /// Feedback recorded on an alert, oldest first.
    fn feedback(&self, alert: i64) -> Result<Vec<FeedbackRow>, StoreError>;
    /// The id of the alert stored under an idempotency key.
    fn alert_id_for_key(&self, key: &str) -> Result<Option<i64>, StoreError>;
    /// Small named state (rate-limit buckets, flood-control windows), as JSON.
    fn get_state(&self, key: &str) -> Result<Option<String>, StoreError>;
    fn put_state(&mut self, key: &str, value: &str) -> Result<(), StoreError>;
    fn stats(&self) -> Result<Stats, StoreError>;
}
