//! The read side of the SQLite store.

use arbiter_core::{AlertKey, EvidencePackage, ModelId};
use rusqlite::{OptionalExtension, params};

use super::SqliteStore;
use super::row::{
    self, ALERT_COLUMNS, DECISION_COLUMNS, EXAMPLE_COLUMNS, FEEDBACK_COLUMNS, MODEL_COLUMNS,
    TOKEN_COLUMNS,
};
use crate::StoreRead;
use crate::error::StoreError;
use crate::registry::{ModelRow, TokenRow};
use crate::types::{AlertRow, CaseRow, DecisionRow, ExampleRow, FeedbackRow, QueueFilter, Stats};

impl StoreRead for SqliteStore {
    fn existing_keys(&self, keys: &[AlertKey]) -> Result<Vec<AlertKey>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached("SELECT 1 FROM alerts WHERE key = ?1")?;
            let mut out = Vec::new();
            for k in keys {
                if stmt.exists([k.to_string()])? {
                    out.push(k.clone());
                }
            }
            Ok(out)
        })
    }

    fn alert(&self, id: i64) -> Result<Option<AlertRow>, StoreError> {
        self.read(|c| {
            c.query_row(
                &format!(
                    "SELECT {ALERT_COLUMNS} FROM alerts a JOIN cases c ON c.id = a.case_id \
                     WHERE a.id = ?1"
                ),
                [id],
                row::alert,
            )
            .optional()
        })
    }

    fn alert_by_key(&self, key: &AlertKey) -> Result<Option<AlertRow>, StoreError> {
        self.read(|c| {
            c.query_row(
                &format!(
                    "SELECT {ALERT_COLUMNS} FROM alerts a JOIN cases c ON c.id = a.case_id \
                     WHERE a.key = ?1"
                ),
                [key.to_string()],
                row::alert,
            )
            .optional()
        })
    }

    fn package(&self, id: i64) -> Result<Option<EvidencePackage>, StoreError> {
        let json: Option<String> = self.read(|c| {
            c.query_row("SELECT json FROM packages WHERE alert = ?1", [id], |r| {
                r.get(0)
            })
            .optional()
        })?;
        json.map(|j| {
            serde_json::from_str(&j).map_err(|e| StoreError::Corrupt {
                target: self.name.clone(),
                what: format!("evidence package of alert {id}"),
                message: e.to_string(),
            })
        })
        .transpose()
    }

    fn queue(&self, f: &QueueFilter) -> Result<Vec<AlertRow>, StoreError> {
        // Uncertainty first within equal risk: a flagged alert needs a human more.
        let open = arbiter_core::AlertState::OPEN
            .map(|s| format!("'{s}'"))
            .join(", ");
        let q = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts a JOIN cases c ON c.id = a.case_id \
             WHERE ((?2 IS NULL AND a.state IN ({open})) OR a.state = ?2) \
             AND (?1 IS NULL OR a.tier = ?1) \
             AND (?3 IS NULL OR a.category = ?3) \
             AND (?4 IS NULL OR EXISTS (SELECT 1 FROM json_each(a.flags) WHERE value = ?4)) \
             AND (?6 IS NULL OR c.new_pattern = ?6) \
             ORDER BY a.risk DESC, json_array_length(a.flags) DESC, a.id LIMIT ?5"
        );
        let limit = if f.limit == 0 { -1 } else { f.limit as i64 };
        self.read(|c| {
            let mut stmt = c.prepare_cached(&q)?;
            let rows = stmt.query_map(
                params![
                    f.tier.map(|t| t.as_str()),
                    f.state.map(|s| s.as_str()),
                    f.category,
                    f.flag.map(|x| x.as_str()),
                    limit,
                    f.new_pattern.map(i64::from)
                ],
                row::alert,
            )?;
            rows.collect()
        })
    }

    fn decisions(&self, alert: i64) -> Result<Vec<DecisionRow>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {DECISION_COLUMNS} FROM decisions WHERE alert = ?1 ORDER BY id"
            ))?;
            let rows = stmt.query_map([alert], row::decision)?;
            rows.collect()
        })
    }

    fn feedback(&self, alert: i64) -> Result<Vec<FeedbackRow>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {FEEDBACK_COLUMNS} FROM feedback WHERE alert = ?1 ORDER BY id"
            ))?;
            let rows = stmt.query_map([alert], row::feedback)?;
            rows.collect()
        })
    }

    fn examples(&self, after: i64, limit: usize) -> Result<Vec<ExampleRow>, StoreError> {
        let limit = if limit == 0 { -1 } else { limit as i64 };
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {EXAMPLE_COLUMNS} FROM examples e JOIN alerts a ON a.id = e.alert \
                 WHERE e.id > ?1 ORDER BY e.id LIMIT ?2"
            ))?;
            let rows = stmt.query_map(params![after, limit], row::example)?;
            rows.collect()
        })
    }

    fn get_state(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.read(|c| {
            c.query_row("SELECT value FROM state WHERE key = ?1", [name], |r| {
                r.get(0)
            })
            .optional()
        })
    }

    fn stats(&self) -> Result<Stats, StoreError> {
        self.read(|c| {
            let count = |q: &str| -> rusqlite::Result<u64> {
                c.query_row(q, [], |r| r.get::<_, i64>(0)).map(|n| n as u64)
            };
            let by_tier = {
                let mut stmt =
                    c.prepare("SELECT tier, COUNT(*) FROM alerts GROUP BY tier ORDER BY tier")?;
                let rows =
                    stmt.query_map([], |r| Ok((row::parsed(r, 0)?, r.get::<_, i64>(1)? as u64)))?;
                rows.collect::<rusqlite::Result<Vec<_>>>()?
            };
            let by_state = {
                let mut stmt =
                    c.prepare("SELECT state, COUNT(*) FROM alerts GROUP BY state ORDER BY state")?;
                let rows =
                    stmt.query_map([], |r| Ok((row::parsed(r, 0)?, r.get::<_, i64>(1)? as u64)))?;
                rows.collect::<rusqlite::Result<Vec<_>>>()?
            };
            Ok(Stats {
                alerts: count("SELECT COUNT(*) FROM alerts")?,
                by_tier,
                by_state,
                cases: count("SELECT COUNT(*) FROM cases")?,
                new_patterns: count("SELECT COUNT(*) FROM cases WHERE new_pattern = 1")?,
                decisions: count("SELECT COUNT(*) FROM decisions")?,
                feedback: count("SELECT COUNT(*) FROM feedback")?,
                examples: count("SELECT COUNT(*) FROM examples")?,
            })
        })
    }

    fn cases(&self) -> Result<Vec<CaseRow>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare("SELECT key, count, new_pattern FROM cases ORDER BY id")?;
            let rows = stmt.query_map([], |r| {
                Ok(CaseRow {
                    key: r.get(0)?,
                    count: r.get::<_, i64>(1)? as u64,
                    new_pattern: r.get::<_, i64>(2)? != 0,
                })
            })?;
            rows.collect()
        })
    }

    fn token_by_hash(&self, sha256: &str) -> Result<Option<TokenRow>, StoreError> {
        self.read(|c| {
            c.query_row(
                &format!(
                    "SELECT {TOKEN_COLUMNS} FROM tokens WHERE sha256 = ?1 AND revoked_at IS NULL"
                ),
                [sha256],
                row::token,
            )
            .optional()
        })
    }

    fn token(&self, id: i64) -> Result<Option<TokenRow>, StoreError> {
        self.read(|c| {
            c.query_row(
                &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = ?1"),
                [id],
                row::token,
            )
            .optional()
        })
    }

    fn tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(&format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY id"))?;
            let rows = stmt.query_map([], row::token)?;
            rows.collect()
        })
    }

    fn models(&self) -> Result<Vec<ModelRow>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {MODEL_COLUMNS} FROM models ORDER BY registered_at, id"
            ))?;
            let rows = stmt.query_map([], row::model)?;
            rows.collect()
        })
    }

    fn model(&self, id: &ModelId) -> Result<Option<ModelRow>, StoreError> {
        self.read(|c| {
            c.query_row(
                &format!("SELECT {MODEL_COLUMNS} FROM models WHERE id = ?1"),
                [id.as_str()],
                row::model,
            )
            .optional()
        })
    }

    fn gates(&self, candidate: &ModelId) -> Result<Vec<crate::GateRow>, StoreError> {
        self.read_gates(candidate)
    }

    fn opinions(
        &self,
        model: &ModelId,
        disagreeing: bool,
        limit: usize,
    ) -> Result<Vec<crate::OpinionRow>, StoreError> {
        self.read_opinions(model, disagreeing, limit)
    }

    fn canary_tally(&self, model: &ModelId) -> Result<crate::CanaryTally, StoreError> {
        self.read_tally(model)
    }

    fn applied_through(&self) -> Result<Option<u64>, StoreError> {
        self.read(|c| {
            c.query_row(
                "SELECT value FROM ledger WHERE name = 'applied_through'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map(|v| v.map(|v| v as u64))
        })
    }
}
