//! Who acts: roles and what they allow, the actor named on every record, and model ids.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::VocabError;
use crate::vocab::words;

words! {
    /// What a token may do. Roles are not a strict ladder: `ingest` is for machines (a SIEM
    /// forwarder) and may only submit alerts.
    pub enum Role: "role" {
        Viewer = "viewer",
        Analyst = "analyst",
        Lead = "lead",
        Admin = "admin",
        Ingest = "ingest",
    }
}

words! {
    /// What an endpoint or a console page needs.
    pub enum Permission: "permission" {
        /// Queue, alerts, audit proofs, metrics.
        Read = "read",
        /// Submit alerts.
        Ingest = "ingest",
        /// Approve, reject, override.
        Decide = "decide",
        /// Create, list and revoke tokens (within [`Role::may_grant`]).
        ManageTokens = "manage_tokens",
        /// Decide what enters training: release quarantined teaching examples.
        Curate = "curate",
        /// Change the policy or the model.
        Admin = "admin",
    }
}

impl Role {
    /// Whether this role holds `p`: the one rule the API and the console both apply.
    pub fn allows(self, p: Permission) -> bool {
        use Permission as P;
        match self {
            Role::Viewer => matches!(p, P::Read),
            Role::Analyst => matches!(p, P::Read | P::Decide),
            Role::Lead => matches!(p, P::Read | P::Decide | P::ManageTokens | P::Curate),
            Role::Admin => true,
            Role::Ingest => matches!(p, P::Ingest),
        }
    }

    /// Roles a holder of this role may create tokens for: a lead onboards viewers, analysts
    /// and forwarders; only an admin creates leads and admins.
    pub fn may_grant(self, other: Role) -> bool {
        match self {
            Role::Admin => true,
            Role::Lead => matches!(other, Role::Viewer | Role::Analyst | Role::Ingest),
            _ => false,
        }
    }

    /// Whether a token of this role may sign in to the console (machines may not).
    pub fn may_sign_in(self) -> bool {
        self != Role::Ingest
    }
}

/// A person's or a token's name: trimmed, 1 to 64 printable characters.
pub fn checked_name<'a>(what: &'static str, name: &'a str) -> Result<&'a str, VocabError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 64 || name.contains(char::is_control) || name.contains(':') {
        return Err(VocabError::new(
            what,
            name,
            "1 to 64 printable characters without ':'",
        ));
    }
    Ok(name)
}

/// Who did something, as every record names them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    /// The policy, deciding on an alert's arrival.
    Policy,
    /// A person acting through one of their tokens. Four eyes counts persons, not tokens.
    Person {
        person: String,
        role: Role,
        /// The token presented (absent when read back from text alone).
        token: Option<i64>,
    },
    /// A program acting on its operator's authority (`cli/triage`, `serve`, …).
    System(String),
    /// A request that presented no valid token.
    Anonymous,
}

impl Actor {
    pub fn person(person: &str, role: Role, token: i64) -> Actor {
        Actor::Person {
            person: person.to_string(),
            role,
            token: Some(token),
        }
    }

    pub fn system(name: &str) -> Actor {
        Actor::System(name.to_string())
    }

    /// The person behind the actor, if it is one.
    pub fn person_name(&self) -> Option<&str> {
        match self {
            Actor::Person { person, .. } => Some(person),
            _ => None,
        }
    }

    pub fn token(&self) -> Option<i64> {
        match self {
            Actor::Person { token, .. } => *token,
            _ => None,
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Policy => f.write_str("arbiter/policy"),
            Actor::Person { person, role, .. } => write!(f, "{role}:{person}"),
            Actor::System(s) => f.write_str(s),
            Actor::Anonymous => f.write_str("anonymous"),
        }
    }
}

impl FromStr for Actor {
    type Err = VocabError;
    fn from_str(s: &str) -> Result<Actor, VocabError> {
        if s.is_empty() {
            return Err(VocabError::new("actor", s, "a non-empty name"));
        }
        Ok(match s {
            "arbiter/policy" => Actor::Policy,
            "anonymous" => Actor::Anonymous,
            _ => match s.split_once(':') {
                Some((role, person)) if role.parse::<Role>().is_ok() => Actor::Person {
                    person: person.to_string(),
                    role: role.parse()?,
                    token: None,
                },
                _ => Actor::System(s.to_string()),
            },
        })
    }
}

impl Serialize for Actor {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Actor {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Actor, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A model bundle's content id: `sha256:` and 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ModelId(String);

impl ModelId {
    pub fn new(s: &str) -> Result<ModelId, VocabError> {
        let hex = s.strip_prefix("sha256:").unwrap_or("");
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(VocabError::new("model id", s, "sha256: and 64 hex digits"));
        }
        Ok(ModelId(s.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ModelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ModelId {
    type Err = VocabError;
    fn from_str(s: &str) -> Result<ModelId, VocabError> {
        ModelId::new(s)
    }
}

impl TryFrom<String> for ModelId {
    type Error = VocabError;
    fn try_from(s: String) -> Result<ModelId, VocabError> {
        ModelId::new(&s)
    }
}

impl From<ModelId> for String {
    fn from(m: ModelId) -> String {
        m.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admin_holds_admin_and_ingest_holds_nothing_else() {
        for r in Role::ALL {
            assert_eq!(r.allows(Permission::Admin), *r == Role::Admin);
        }
        assert!(Role::Ingest.allows(Permission::Ingest));
        assert!(!Role::Ingest.allows(Permission::Read));
        assert!(!Role::Viewer.allows(Permission::Decide));
        assert!(!Role::Ingest.may_sign_in());
    }

    #[test]
    fn only_leads_and_admins_decide_what_enters_training() {
        let curators: Vec<_> = Role::ALL
            .iter()
            .filter(|r| r.allows(Permission::Curate))
            .collect();
        assert_eq!(curators, [&Role::Lead, &Role::Admin]);
    }

    #[test]
    fn a_lead_cannot_mint_leads_or_admins() {
        assert!(Role::Lead.may_grant(Role::Analyst));
        assert!(!Role::Lead.may_grant(Role::Lead));
        assert!(!Role::Lead.may_grant(Role::Admin));
        assert!(!Role::Analyst.may_grant(Role::Viewer));
    }

    #[test]
    fn actors_read_back_from_the_names_records_carry() {
        for a in [
            Actor::Policy,
            Actor::Anonymous,
            Actor::system("cli/triage"),
            Actor::Person {
                person: "alice".into(),
                role: Role::Analyst,
                token: None,
            },
        ] {
            assert_eq!(a.to_string().parse::<Actor>().unwrap(), a);
        }
        assert_eq!(
            Actor::person("bob", Role::Lead, 7).to_string(),
            "lead:bob",
            "the token is not part of the name"
        );
    }

    #[test]
    fn model_ids_are_content_hashes() {
        let id = format!("sha256:{}", "a".repeat(64));
        assert_eq!(ModelId::new(&id).unwrap().as_str(), id);
        assert!(ModelId::new("sha256:xyz").is_err());
        assert!(ModelId::new("/srv/models/a").is_err());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(checked_name("person", "  alice ").unwrap(), "alice");
        assert!(checked_name("person", "").is_err());
        assert!(checked_name("person", &"x".repeat(65)).is_err());
        assert!(checked_name("person", "a:b").is_err());
    }
}
