//! The model registry in SQLite: lifecycle states, gate reports, second opinions.

use arbiter_core::ModelId;
use rusqlite::{OptionalExtension, Transaction, params};

use super::SqliteStore;
use super::row::{self, parsed, parsed_opt, time, time_text};
use crate::error::StoreError;
use crate::mutation::{Applied, Mutation};
use crate::registry::{CanaryTally, GateRow, ModelState, OpinionRow, SecondOpinion};

pub(super) fn apply(
    tx: &Transaction<'_>,
    audit_index: u64,
    m: &Mutation,
    name: &str,
) -> Result<Applied, StoreError> {
    let err = |e| super::backend(name, e);
    let state_of = |id: &ModelId| -> Result<String, StoreError> {
        tx.query_row(
            "SELECT state FROM models WHERE id = ?1",
            [id.as_str()],
            |r| r.get(0),
        )
        .optional()
        .map_err(err)?
        .ok_or_else(|| StoreError::NoSuchModel(id.clone()))
    };
    match m {
        Mutation::RegisterModel(m) => {
            let exists = tx
                .prepare_cached("SELECT 1 FROM models WHERE id = ?1")
                .and_then(|mut s| s.exists([m.id.as_str()]))
                .map_err(err)?;
            if exists {
                return Err(StoreError::Duplicate {
                    what: "model",
                    value: m.id.to_string(),
                });
            }
            tx.execute(
                "INSERT INTO models (id, path, schema, state, registered_by, registered_at, \
                 changed_by, changed_at, parent) \
                 VALUES (?1, ?2, ?3, 'candidate', ?4, ?5, ?4, ?5, ?6)",
                params![
                    m.id.as_str(),
                    m.path,
                    m.schema,
                    m.by.to_string(),
                    time_text(&m.at),
                    m.parent.as_ref().map(ModelId::as_str)
                ],
            )
            .map_err(err)?;
            Ok(Applied::Model)
        }
        Mutation::SetModelState {
            id,
            from,
            to,
            by,
            at,
            canary,
        } => {
            let state = state_of(id)?;
            if state != from.as_str() {
                return Err(StoreError::StaleModel {
                    id: id.clone(),
                    expected: from.to_string(),
                    found: state,
                });
            }
            if to.is_challenger() {
                let other: Option<(String, String)> = tx
                    .query_row(
                        "SELECT id, state FROM models WHERE state IN ('shadow', 'canary') \
                         AND id != ?1",
                        [id.as_str()],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()
                    .map_err(err)?;
                if let Some((other, state)) = other {
                    return Err(StoreError::ChallengerRunning {
                        other: other.parse().map_err(|e| corrupt(name, "model id", e))?,
                        state: state.parse().map_err(|e| corrupt(name, "model state", e))?,
                    });
                }
            }
            let (by, at) = (by.to_string(), time_text(at));
            if *to == ModelState::Champion {
                tx.execute(
                    "UPDATE models SET state = 'retired', changed_by = ?2, changed_at = ?3 \
                     WHERE state = 'champion' AND id != ?1",
                    params![id.as_str(), by, at],
                )
                .map_err(err)?;
            }
            let canary = canary
                .as_ref()
                .filter(|_| *to == ModelState::Canary)
                .map(|c| serde_json::to_string(c).expect("bounds serialise"));
            tx.execute(
                "UPDATE models SET state = ?2, changed_by = ?3, changed_at = ?4, \
                 promotion_requested_by = NULL, promotion_requested_at = NULL, \
                 champion_at = CASE WHEN ?2 = 'champion' THEN ?4 WHEN ?6 = 'champion' THEN NULL \
                 ELSE champion_at END, \
                 canary = CASE WHEN ?2 = 'canary' THEN ?5 ELSE canary END WHERE id = ?1",
                params![id.as_str(), to.as_str(), by, at, canary, from.as_str()],
            )
            .map_err(err)?;
            Ok(Applied::Model)
        }
        Mutation::RequestPromotion { id, by, at } => {
            state_of(id)?;
            tx.execute(
                "UPDATE models SET promotion_requested_by = ?2, promotion_requested_at = ?3 \
                 WHERE id = ?1",
                params![id.as_str(), by.to_string(), time_text(at)],
            )
            .map_err(err)?;
            Ok(Applied::Model)
        }
        Mutation::RecordGate(g) => {
            state_of(&g.candidate)?;
            tx.execute(
                "INSERT INTO gates (candidate, champion, passed, sha256, report, by_actor, at, \
                 audit_index) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    g.candidate.as_str(),
                    g.champion.as_str(),
                    g.passed,
                    g.sha256,
                    g.report.to_string(),
                    g.by.to_string(),
                    time_text(&g.at),
                    audit_index as i64
                ],
            )
            .map_err(err)?;
            Ok(Applied::Gate {
                id: tx.last_insert_rowid(),
            })
        }
        Mutation::SecondOpinion { key, opinion } => {
            let alert: Option<i64> = tx
                .query_row(
                    "SELECT id FROM alerts WHERE key = ?1",
                    [key.to_string()],
                    |r| r.get(0),
                )
                .optional()
                .map_err(err)?;
            let Some(alert) = alert else {
                return Ok(Applied::Opinion { inserted: false });
            };
            let n = tx
                .execute(
                    "INSERT OR IGNORE INTO opinions (alert, model, role, tier, json, audit_index) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        alert,
                        opinion.model.as_str(),
                        opinion.role.as_str(),
                        opinion.tier.as_str(),
                        serde_json::to_string(opinion).expect("opinions serialise"),
                        audit_index as i64
                    ],
                )
                .map_err(err)?;
            Ok(Applied::Opinion { inserted: n == 1 })
        }
        other => unreachable!("not a registry mutation: {other:?}"),
    }
}

fn corrupt(name: &str, what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        target: name.to_string(),
        what: what.to_string(),
        message: e.to_string(),
    }
}

impl SqliteStore {
    pub(super) fn read_gates(&self, candidate: &ModelId) -> Result<Vec<GateRow>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT id, candidate, champion, passed, sha256, report, by_actor, at, \
                 audit_index FROM gates WHERE candidate = ?1 ORDER BY id",
            )?;
            let rows = stmt.query_map([candidate.as_str()], |r| {
                Ok(GateRow {
                    id: r.get(0)?,
                    candidate: parsed(r, 1)?,
                    champion: parsed(r, 2)?,
                    passed: r.get(3)?,
                    sha256: r.get(4)?,
                    report: row::json(r, 5)?,
                    by: parsed(r, 6)?,
                    at: time(r, 7)?,
                    audit_index: r.get::<_, i64>(8)? as u64,
                })
            })?;
            rows.collect()
        })
    }

    pub(super) fn read_opinions(
        &self,
        model: &ModelId,
        disagreeing: bool,
        limit: usize,
    ) -> Result<Vec<OpinionRow>, StoreError> {
        let limit = if limit == 0 { -1 } else { limit as i64 };
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT a.id, a.key, a.bundle, a.tier, a.action, a.p_malicious, o.json \
                 FROM opinions o JOIN alerts a ON a.id = o.alert \
                 WHERE (o.model = ?1 OR a.bundle = ?1) AND (?2 = 0 OR o.tier != a.tier) \
                 ORDER BY a.id DESC LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![model.as_str(), disagreeing, limit], |r| {
                Ok(OpinionRow {
                    alert: r.get(0)?,
                    key: parsed(r, 1)?,
                    acted_by: parsed_opt(r, 2)?,
                    acted_tier: parsed(r, 3)?,
                    acted_action: r.get(4)?,
                    acted_p_malicious: r.get(5)?,
                    opinion: row::json::<SecondOpinion>(r, 6)?,
                })
            })?;
            rows.collect()
        })
    }

    pub(super) fn read_tally(&self, model: &ModelId) -> Result<CanaryTally, StoreError> {
        self.read(|c| {
            c.query_row(
                "SELECT COUNT(*), COALESCE(SUM(auto), 0), COALESCE(SUM(reviewed), 0), \
                 COALESCE(SUM(overridden), 0), COALESCE(SUM(auto AND overridden), 0) FROM ( \
                   SELECT a.tier = 'auto' AS auto, \
                     EXISTS (SELECT 1 FROM decisions d WHERE d.alert = a.id \
                             AND d.kind != 'suggested') AS reviewed, \
                     EXISTS (SELECT 1 FROM decisions d WHERE d.alert = a.id \
                             AND d.kind IN ('override', 'reject')) AS overridden \
                   FROM alerts a WHERE a.bundle = ?1)",
                [model.as_str()],
                |r| {
                    let n = |i: usize| r.get::<_, i64>(i).map(|v| v as u64);
                    Ok(CanaryTally {
                        decided: n(0)?,
                        automated: n(1)?,
                        reviewed: n(2)?,
                        overridden: n(3)?,
                        automated_overridden: n(4)?,
                    })
                },
            )
        })
    }
}
