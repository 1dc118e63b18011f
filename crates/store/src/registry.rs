//! Identities and models: API tokens (stored hashed, tied to a person) and the model registry.

use arbiter_core::{Actor, ModelId, Role};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use arbiter_core::vocab_words;

/// An API token as stored: only the SHA-256 of the secret is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRow {
    pub id: i64,
    /// What the token is called (`alice-laptop`, `siem-forwarder`).
    pub name: String,
    /// The person (or machine) who holds it: four eyes counts persons, not tokens.
    pub person: String,
    pub role: Role,
    #[serde(skip_serializing)]
    pub sha256: String,
    pub created_at: DateTime<Utc>,
    /// Who minted it (a person, or a program such as `cli/token`).
    pub created_by: Actor,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A token to store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub name: String,
    pub person: String,
    pub role: Role,
    pub sha256: String,
    pub created_at: DateTime<Utc>,
    pub created_by: Actor,
}

vocab_words! {
    /// Where a model is in its life. Promotion and rollback are state changes.
    pub enum ModelState: "model state" {
        /// Known and verified, not in force.
        Registered = "registered",
        /// In force: scores every new alert. At most one model is active.
        Active = "active",
        /// Was in force, replaced.
        Retired = "retired",
    }
}

/// A registered model bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelRow {
    pub id: ModelId,
    /// Where the bundle lives on the server's disk.
    pub path: String,
    pub schema: String,
    pub state: ModelState,
    pub registered_by: Actor,
    pub registered_at: DateTime<Utc>,
    pub changed_by: Actor,
    pub changed_at: DateTime<Utc>,
}

/// A model to register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewModel {
    pub id: ModelId,
    pub path: String,
    pub schema: String,
    pub by: Actor,
    pub at: DateTime<Utc>,
}
