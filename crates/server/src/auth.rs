//! Identity: API tokens (stored hashed) and the roles they carry.
//!
//! A token is `arb_` followed by 64 hex digits (256 random bits); the store keeps only its
//! SHA-256. Requests present it as `Authorization: Bearer …`; the console keeps it in an
//! HttpOnly, SameSite=Strict cookie.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// What a token may do. Roles are not a strict ladder: `ingest` is for machines (a SIEM
/// forwarder) and may only submit alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Analyst,
    Lead,
    Admin,
    Ingest,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Viewer,
        Role::Analyst,
        Role::Lead,
        Role::Admin,
        Role::Ingest,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Analyst => "analyst",
            Role::Lead => "lead",
            Role::Admin => "admin",
            Role::Ingest => "ingest",
        }
    }

    /// Whether this role holds `p`.
    pub fn allows(self, p: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Viewer => matches!(p, Read),
            Role::Analyst => matches!(p, Read | Decide),
            Role::Lead => matches!(p, Read | Decide | ManageTokens),
            Role::Admin => true,
            Role::Ingest => matches!(p, Ingest),
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
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!("unknown role {s:?}: expected one of viewer, analyst, lead, admin, ingest")
            })
    }
}

/// What an endpoint needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Queue, alerts, audit proofs, metrics.
    Read,
    /// Submit alerts.
    Ingest,
    /// Approve, reject, override.
    Decide,
    /// Create, list and revoke tokens (within [`Role::may_grant`]).
    ManageTokens,
    /// Change the policy or the model.
    Admin,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Read => "read",
            Permission::Ingest => "ingest",
            Permission::Decide => "decide",
            Permission::ManageTokens => "manage_tokens",
            Permission::Admin => "admin",
        }
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Caller {
    pub token_id: i64,
    pub name: String,
    pub role: Role,
}

impl Caller {
    /// How the audit log names this caller.
    pub fn actor(&self) -> String {
        format!("{}:{}", self.role, self.name)
    }
}

/// A fresh token: `arb_` and 64 hex digits from the operating system's random source.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    format!("arb_{}", hex::encode(bytes))
}

/// A token's name as stored: trimmed, 1 to 64 printable characters.
pub fn token_name(name: &str) -> Result<&str, String> {
    let name = name.trim();
    if name.is_empty() || name.len() > 64 || name.contains(char::is_control) {
        return Err(format!(
            "token name must be 1 to 64 printable characters, got {name:?}"
        ));
    }
    Ok(name)
}

/// The audit entry recording that `actor` created a token (appended before it is stored).
pub fn token_created(actor: &str, name: &str, role: Role, hash: &str) -> arbiter_audit::Entry {
    arbiter_audit::Entry {
        time: chrono::Utc::now(),
        kind: arbiter_audit::EntryKind::Decision,
        actor: actor.to_string(),
        entities: vec![format!("token:{name}")],
        summary: format!("{actor} created token {name} (role {role})"),
        body: serde_json::json!({"token": {"name": name, "role": role.as_str(),
                                           "sha256_prefix": &hash[..12.min(hash.len())]}}),
    }
}

/// What the store keeps of a token.
pub fn token_hash(token: &str) -> String {
    arbiter_triage::sha256_hex(token.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hash_to_hex() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 64);
        assert!(a.starts_with("arb_"));
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }

    #[test]
    fn only_admin_holds_admin_and_ingest_holds_nothing_else() {
        for r in Role::ALL {
            assert_eq!(r.allows(Permission::Admin), r == Role::Admin);
        }
        assert!(Role::Ingest.allows(Permission::Ingest));
        assert!(!Role::Ingest.allows(Permission::Read));
        assert!(!Role::Viewer.allows(Permission::Decide));
    }

    #[test]
    fn a_lead_cannot_mint_leads_or_admins() {
        assert!(Role::Lead.may_grant(Role::Analyst));
        assert!(!Role::Lead.may_grant(Role::Lead));
        assert!(!Role::Lead.may_grant(Role::Admin));
        assert!(!Role::Analyst.may_grant(Role::Viewer));
    }

    #[test]
    fn roles_parse_by_name_and_unknown_names_are_refused_by_name() {
        assert_eq!("lead".parse::<Role>().unwrap(), Role::Lead);
        let e = "root".parse::<Role>().unwrap_err();
        assert!(e.contains("\"root\""), "{e}");
    }
}
