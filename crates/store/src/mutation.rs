//! The write side as data: every change to the store is a [`Mutation`], applied in a batch
//! that is one transaction. The ledger writes the same mutations into the audit entry that
//! precedes them, so a change lost to a crash between the two can be re-applied from the log.

use arbiter_core::{AlertKey, AlertState, ModelId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::registry::{CanaryBounds, ModelState, NewGate, NewModel, NewToken, SecondOpinion};
use crate::types::{NewAlert, NewDecision, NewExample, NewFeedback};

/// One change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Mutation {
    /// A new alert with its package, the policy's decision and its case. A key already
    /// stored is skipped (idempotent).
    InsertAlert(Box<NewAlert>),
    /// A human decision: the alert moves `from` → `to` only if it is still in `from`
    /// (compare-and-set), and the decision and feedback are stored with the move.
    Transition {
        key: AlertKey,
        from: AlertState,
        to: AlertState,
        decision: NewDecision,
        #[serde(default)]
        feedback: Option<NewFeedback>,
    },
    /// A labelled example enters the teaching set. The alert must be stored; an example with
    /// the same alert, source and reference as one stored is skipped (idempotent imports).
    Teach(Box<NewExample>),
    /// A lead lets a quarantined example into training. Releasing a released example
    /// changes nothing.
    ReleaseExample {
        id: i64,
        by: arbiter_core::Actor,
        at: DateTime<Utc>,
        reason: String,
    },
    /// Small named state (rate-limit buckets, the policy in force), as JSON or text.
    PutState {
        name: String,
        value: String,
    },
    CreateToken(NewToken),
    RevokeToken {
        id: i64,
        at: DateTime<Utc>,
    },
    /// Records a verified bundle in the registry (state `candidate`).
    RegisterModel(NewModel),
    /// Moves a model `from` → `to` (compare-and-set) and clears any pending promotion request.
    /// A new champion retires the one before in the same transaction and records when it
    /// became champion; a champion retired by this mutation itself (a rollback) forgets when,
    /// so it is never restored again; a new shadow or canary is refused while another challenger runs.
    SetModelState {
        id: ModelId,
        from: ModelState,
        to: ModelState,
        by: arbiter_core::Actor,
        at: DateTime<Utc>,
        /// The bounds a canary runs under (only with `to: canary`).
        #[serde(default)]
        canary: Option<CanaryBounds>,
    },
    /// The first admin of two asks for a model's promotion (four eyes).
    RequestPromotion {
        id: ModelId,
        by: arbiter_core::Actor,
        at: DateTime<Utc>,
    },
    /// A gate report of a registered candidate against a champion.
    RecordGate(Box<NewGate>),
    /// What a second model would have decided on an alert stored in the same batch (or
    /// before); a second opinion of the same model on the same alert is skipped.
    SecondOpinion {
        key: AlertKey,
        opinion: Box<SecondOpinion>,
    },
}

/// Mutations that follow one audit entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recorded {
    /// Index of the audit entry appended before these changes.
    pub audit_index: u64,
    pub mutations: Vec<Mutation>,
}

/// What one mutation did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "applied", rename_all = "snake_case")]
pub enum Applied {
    /// The alert's store id; `inserted` is false when its key was already stored.
    Alert {
        id: i64,
        inserted: bool,
    },
    /// The alert moved and the decision row was stored.
    Decision {
        alert: i64,
    },
    /// The example's id; `inserted` is false when the same one was already stored.
    Example {
        id: i64,
        inserted: bool,
    },
    /// `released` is false when the example was already released.
    Released {
        id: i64,
        released: bool,
    },
    State,
    Token {
        id: i64,
    },
    /// `revoked` is false when the token was already revoked.
    Revoked {
        id: i64,
        revoked: bool,
    },
    Model,
    Gate {
        id: i64,
    },
    /// `inserted` is false when the alert was not stored or the opinion already was.
    Opinion {
        inserted: bool,
    },
}
