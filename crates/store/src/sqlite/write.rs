//! The write side of the SQLite store: [`Store::apply`], one transaction per batch.

use arbiter_core::{Actor, AlertState};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::SqliteStore;
use super::row::time_text;
use crate::Store;
use crate::error::StoreError;
use crate::mutation::{Applied, Mutation, Recorded};
use crate::types::{NewAlert, NewExample};

impl Store for SqliteStore {
    fn apply(&self, batch: &[Recorded]) -> Result<Vec<Applied>, StoreError> {
        let name = self.name.clone();
        self.write(|conn| {
            let err = |e| super::backend(&name, e);
            let tx = conn.transaction().map_err(err)?;
            let mut out = Vec::new();
            for rec in batch {
                for m in &rec.mutations {
                    out.push(apply_one(&tx, rec.audit_index, m, &name)?);
                }
            }
            if let Some(max) = batch.iter().map(|r| r.audit_index).max() {
                mark(&tx, max).map_err(err)?;
            }
            tx.commit().map_err(err)?;
            Ok(out)
        })
    }

    fn mark_applied(&self, index: u64) -> Result<(), StoreError> {
        let name = self.name.clone();
        self.write(|conn| mark(conn, index).map_err(|e| super::backend(&name, e)))
    }
}

fn mark(c: &Connection, index: u64) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO ledger (name, value) VALUES ('applied_through', ?1) \
         ON CONFLICT(name) DO UPDATE SET value = MAX(value, excluded.value)",
        [index as i64],
    )
    .map(|_| ())
}

fn apply_one(
    tx: &Transaction<'_>,
    audit_index: u64,
    m: &Mutation,
    name: &str,
) -> Result<Applied, StoreError> {
    let err = |e| super::backend(name, e);
    match m {
        Mutation::InsertAlert(a) => insert_alert(tx, a, audit_index).map_err(err),
        Mutation::Transition {
            key,
            from,
            to,
            decision,
            feedback,
        } => {
            if !from.can_become(*to) {
                return Err(StoreError::InvalidTransition {
                    key: key.clone(),
                    from: *from,
                    to: *to,
                });
            }
            let found: Option<(i64, String, String, Option<String>)> = tx
                .query_row(
                    "SELECT id, state, tier, action FROM alerts WHERE key = ?1",
                    [key.to_string()],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()
                .map_err(err)?;
            let Some((id, state, tier, action)) = found else {
                return Err(StoreError::NoSuchKey(key.clone()));
            };
            let state: AlertState =
                state
                    .parse()
                    .map_err(|e: arbiter_core::VocabError| StoreError::Corrupt {
                        target: name.to_string(),
                        what: format!("state of alert {key}"),
                        message: e.to_string(),
                    })?;
            if state != *from {
                return Err(StoreError::StaleState {
                    key: key.clone(),
                    expected: *from,
                    found: state,
                });
            }
            tx.execute(
                "UPDATE alerts SET state = ?2 WHERE id = ?1 AND state = ?3",
                params![id, to.as_str(), from.as_str()],
            )
            .map_err(err)?;
            tx.execute(
                "INSERT INTO decisions (alert, kind, tier, action, reasons, actor, time, \
                 audit_index, reason_code, note, ms_to_decision, actor_token) \
                 VALUES (?1, ?2, ?3, ?4, '[]', ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    id,
                    decision.kind.as_str(),
                    tier,
                    action,
                    decision.actor.to_string(),
                    time_text(&decision.time),
                    audit_index as i64,
                    decision.reason_code,
                    decision.note,
                    decision.ms_to_decision,
                    decision.actor.token()
                ],
            )
            .map_err(err)?;
            if let Some(f) = feedback {
                tx.execute(
                    "INSERT INTO feedback (alert, actor, time, label, reason_code, note, \
                     feature, audit_index) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![
                        id,
                        decision.actor.to_string(),
                        time_text(&decision.time),
                        f.label,
                        f.reason_code,
                        f.note,
                        f.feature,
                        audit_index as i64
                    ],
                )
                .map_err(err)?;
            }
            Ok(Applied::Decision { alert: id })
        }
        Mutation::Teach(e) => match insert_example(tx, e, audit_index).map_err(err)? {
            Some((id, inserted)) => Ok(Applied::Example { id, inserted }),
            None => Err(StoreError::NoSuchKey(e.key.clone())),
        },
        Mutation::ReleaseExample { id, by, at, reason } => {
            let n = tx
                .execute(
                    "UPDATE examples SET released_by = ?2, released_at = ?3, release_reason = ?4 \
                     WHERE id = ?1 AND released_by IS NULL",
                    params![id, by.to_string(), time_text(at), reason],
                )
                .map_err(err)?;
            if n == 0 {
                let exists = tx
                    .prepare_cached("SELECT 1 FROM examples WHERE id = ?1")
                    .and_then(|mut s| s.exists([id]))
                    .map_err(err)?;
                if !exists {
                    return Err(StoreError::NoSuchExample(*id));
                }
            }
            Ok(Applied::Released {
                id: *id,
                released: n == 1,
            })
        }
        Mutation::PutState { name: key, value } => {
            tx.execute(
                "INSERT INTO state (key, value) VALUES (?1, ?2) \
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map_err(err)?;
            Ok(Applied::State)
        }
        Mutation::CreateToken(t) => {
            let taken: bool = tx
                .prepare_cached("SELECT 1 FROM tokens WHERE sha256 = ?1")
                .and_then(|mut s| s.exists([&t.sha256]))
                .map_err(err)?;
            if taken {
                return Err(StoreError::Duplicate {
                    what: "token with hash",
                    value: format!("{}…", &t.sha256[..12.min(t.sha256.len())]),
                });
            }
            tx.execute(
                "INSERT INTO tokens (name, person, role, sha256, created_at, created_by) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    t.name,
                    t.person,
                    t.role.as_str(),
                    t.sha256,
                    time_text(&t.created_at),
                    t.created_by.to_string()
                ],
            )
            .map_err(err)?;
            Ok(Applied::Token {
                id: tx.last_insert_rowid(),
            })
        }
        Mutation::RevokeToken { id, at } => {
            let n = tx
                .execute(
                    "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                    params![id, time_text(at)],
                )
                .map_err(err)?;
            if n == 0 {
                let exists = tx
                    .prepare_cached("SELECT 1 FROM tokens WHERE id = ?1")
                    .and_then(|mut s| s.exists([id]))
                    .map_err(err)?;
                if !exists {
                    return Err(StoreError::NoSuchToken(*id));
                }
            }
            Ok(Applied::Revoked {
                id: *id,
                revoked: n == 1,
            })
        }
        Mutation::RegisterModel(_)
        | Mutation::SetModelState { .. }
        | Mutation::RequestPromotion { .. }
        | Mutation::RecordGate(_)
        | Mutation::SecondOpinion { .. } => super::registry::apply(tx, audit_index, m, name),
    }
}

fn insert_alert(tx: &Connection, a: &NewAlert, audit_index: u64) -> rusqlite::Result<Applied> {
    let key = a.key.to_string();
    if let Some(id) = tx
        .query_row("SELECT id FROM alerts WHERE key = ?1", [&key], |r| r.get(0))
        .optional()?
    {
        return Ok(Applied::Alert {
            id,
            inserted: false,
        });
    }
    let case = case_for(tx, a)?;
    let verdict = a.verdict.map(arbiter_core::Verdict::as_str);
    tx.execute(
        "INSERT INTO alerts (key, alert_id, source_file, source_line, time, received_at, bundle, \
         p_malicious, verdict, category, flags, risk, tier, action, state, case_id, impact, \
         reversible, blast_radius, features) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, \
         ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
        params![
            key,
            a.key.id(),
            a.source_file,
            a.source_line as i64,
            a.time,
            time_text(&a.received_at),
            a.bundle.as_ref().map(|b| b.as_str()),
            a.p_malicious,
            verdict,
            a.category,
            serde_json::to_string(&a.flags).unwrap_or_else(|_| "[]".into()),
            a.risk,
            a.tier.as_str(),
            a.action,
            a.state.as_str(),
            case,
            a.impact.map(|i| i.as_str()),
            a.reversible.map(i64::from),
            a.blast_radius,
            a.features.as_ref().map(to_json).transpose()?
        ],
    )?;
    let id = tx.last_insert_rowid();
    if let Some(p) = &a.package {
        let json = to_json(p)?;
        tx.execute(
            "INSERT INTO packages (alert, schema_version, json) VALUES (?1, ?2, ?3)",
            params![id, p.schema_version, json],
        )?;
    }
    tx.execute(
        "INSERT INTO decisions (alert, kind, tier, action, reasons, actor, time, audit_index) \
         VALUES (?1, 'suggested', ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            id,
            a.tier.as_str(),
            a.action,
            serde_json::to_string(&a.reasons).unwrap_or_else(|_| "[]".into()),
            Actor::Policy.to_string(),
            time_text(&a.received_at),
            audit_index as i64
        ],
    )?;
    Ok(Applied::Alert { id, inserted: true })
}

fn to_json<T: serde::Serialize>(v: &T) -> rusqlite::Result<String> {
    serde_json::to_string(v).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

/// Stores an example unless the alert holds one with the same source and reference.
fn insert_example(
    tx: &Connection,
    e: &NewExample,
    audit_index: u64,
) -> Result<Option<(i64, bool)>, rusqlite::Error> {
    let Some(alert): Option<i64> = tx
        .query_row(
            "SELECT id FROM alerts WHERE key = ?1",
            [e.key.to_string()],
            |r| r.get(0),
        )
        .optional()?
    else {
        return Ok(None);
    };
    if let Some(reference) = &e.reference {
        let found: Option<i64> = tx
            .query_row(
                "SELECT id FROM examples WHERE alert = ?1 AND source = ?2 AND reference = ?3",
                params![alert, e.source.as_str(), reference],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = found {
            return Ok(Some((id, false)));
        }
    }
    tx.execute(
        "INSERT INTO examples (alert, source, labeller, labeller_token, token_name, time, label, \
         reason_code, note, feature, model, package_sha256, reference, audit_index) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        params![
            alert,
            e.source.as_str(),
            e.labeller.to_string(),
            e.labeller.token(),
            e.token_name,
            time_text(&e.time),
            e.label.as_str(),
            e.reason_code,
            e.note,
            e.feature,
            e.model.as_ref().map(|m| m.as_str()),
            e.package_sha256,
            e.reference,
            audit_index as i64
        ],
    )?;
    Ok(Some((tx.last_insert_rowid(), true)))
}

/// The case row an alert joins: a new one when it opens a window, else the key's latest.
fn case_for(tx: &Connection, a: &NewAlert) -> rusqlite::Result<i64> {
    let seen = a.time.clone().unwrap_or_else(|| time_text(&a.received_at));
    let latest: Option<i64> = if a.case.opens {
        None
    } else {
        tx.query_row(
            "SELECT id FROM cases WHERE key = ?1 ORDER BY id DESC LIMIT 1",
            [&a.case.key],
            |r| r.get(0),
        )
        .optional()?
    };
    match latest {
        Some(id) => {
            tx.execute(
                "UPDATE cases SET count = count + 1, last_seen = ?2 WHERE id = ?1",
                params![id, seen],
            )?;
            Ok(id)
        }
        None => {
            tx.execute(
                "INSERT INTO cases (key, opened_at, last_seen, count, new_pattern) \
                 VALUES (?1, ?2, ?2, 1, ?3)",
                params![a.case.key, seen, a.case.new_pattern as i64],
            )?;
            Ok(tx.last_insert_rowid())
        }
    }
}
