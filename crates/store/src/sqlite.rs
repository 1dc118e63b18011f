//! The embedded default: one SQLite file in WAL mode.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::Store;
use crate::error::StoreError;
use crate::migrations::MIGRATIONS;
use crate::types::{AlertRow, DecisionRow, FeedbackRow, NewAlert, QueueFilter, Stats};

pub struct SqliteStore {
    conn: Connection,
    path: String,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SqliteStore({})", self.path)
    }
}

const ALERT_COLUMNS: &str = "a.id, a.key, a.alert_id, a.source_file, a.source_line, a.time, \
     a.received_at, a.bundle, a.p_malicious, a.verdict, a.category, a.flags, a.risk, a.tier, \
     a.action, a.state, c.key, c.new_pattern, a.impact, a.reversible, a.blast_radius";

impl SqliteStore {
    /// Opens (creating if absent) the database at `path` and applies pending migrations.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let name = path.display().to_string();
        let conn = Connection::open(path).map_err(|e| sql(&name, e))?;
        let mut store = SqliteStore { conn, path: name };
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    pub(crate) fn err(&self, e: rusqlite::Error) -> StoreError {
        sql(&self.path, e)
    }

    fn configure(&self) -> Result<(), StoreError> {
        // WAL lets the console read while triage writes; NORMAL is durable across process
        // crashes in WAL mode (the audit log, not the store, is the record of what happened).
        self.conn
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
            )
            .map_err(|e| self.err(e))
    }

    /// The schema version the database is at (0 when new).
    pub fn version(&self) -> Result<i64, StoreError> {
        self.conn
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS schema_migrations \
                 (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)",
            )
            .map_err(|e| self.err(e))?;
        self.conn
            .query_row(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let current = self.version()?;
        let known = MIGRATIONS.last().map_or(0, |m| m.0);
        if current > known {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found: current,
                known,
            });
        }
        for &(version, description, sql_text) in MIGRATIONS.iter().filter(|m| m.0 > current) {
            let path = self.path.clone();
            let tx = self.conn.transaction().map_err(|e| sql(&path, e))?;
            tx.execute_batch(sql_text).map_err(|e| sql(&path, e))?;
            tx.execute(
                "INSERT INTO schema_migrations (version, description, applied_at) \
                 VALUES (?1, ?2, ?3)",
                params![version, description, chrono::Utc::now().to_rfc3339()],
            )
            .map_err(|e| sql(&path, e))?;
            tx.commit().map_err(|e| sql(&path, e))?;
        }
        Ok(())
    }

    fn alert_row(&self, r: &Row<'_>) -> rusqlite::Result<AlertRow> {
        let flags: String = r.get(11)?;
        Ok(AlertRow {
            id: r.get(0)?,
            key: r.get(1)?,
            alert_id: r.get(2)?,
            source_file: r.get(3)?,
            source_line: r.get::<_, i64>(4)? as u64,
            time: r.get(5)?,
            received_at: r.get(6)?,
            bundle: r.get(7)?,
            p_malicious: r.get(8)?,
            verdict: r.get(9)?,
            category: r.get(10)?,
            flags: serde_json::from_str(&flags).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(11, rusqlite::types::Type::Text, e.into())
            })?,
            risk: r.get(12)?,
            tier: r.get(13)?,
            action: r.get(14)?,
            state: r.get(15)?,
            case_key: r.get(16)?,
            new_pattern: r.get::<_, i64>(17)? != 0,
            impact: r.get(18)?,
            reversible: r.get::<_, Option<i64>>(19)?.map(|v| v != 0),
            blast_radius: r.get(20)?,
        })
    }
}

fn sql(path: &str, source: rusqlite::Error) -> StoreError {
    StoreError::Sqlite {
        path: path.to_string(),
        source,
    }
}

fn insert_decision(tx: &Connection, d: &DecisionRow, alert: i64) -> rusqlite::Result<i64> {
    tx.execute(
        "INSERT INTO decisions (alert, kind, tier, action, reasons, actor, time, audit_index, \
         reason_code, note, ms_to_decision) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            alert,
            d.kind,
            d.tier,
            d.action,
            d.reasons,
            d.actor,
            d.time,
            d.audit_index.map(|i| i as i64),
            d.reason_code,
            d.note,
            d.ms_to_decision
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

/// The case row an alert joins: a new one when it opens a window, else the key's latest.
fn case_for(tx: &Connection, a: &NewAlert) -> rusqlite::Result<i64> {
    let seen = a.time.clone().unwrap_or_else(|| a.received_at.clone());
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

impl Store for SqliteStore {
    fn insert_alerts(&mut self, alerts: &[NewAlert]) -> Result<usize, StoreError> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| sql(&path, e))?;
        let mut inserted = 0;
        {
            let exists = |key: &str| -> rusqlite::Result<bool> {
                tx.query_row("SELECT 1 FROM alerts WHERE key = ?1", [key], |_| Ok(()))
                    .optional()
                    .map(|o| o.is_some())
            };
            for a in alerts {
                if exists(&a.key).map_err(|e| sql(&path, e))? {
                    continue;
                }
                let case = case_for(&tx, a).map_err(|e| sql(&path, e))?;
                tx.execute(
                    "INSERT INTO alerts (key, alert_id, source_file, source_line, time, \
                     received_at, bundle, p_malicious, verdict, category, flags, risk, tier, \
                     action, state, case_id, impact, reversible, blast_radius) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, \
                     ?16, ?17, ?18, ?19)",
                    params![
                        a.key,
                        a.alert_id,
                        a.source_file,
                        a.source_line as i64,
                        a.time,
                        a.received_at,
                        a.bundle,
                        a.p_malicious,
                        a.verdict,
                        a.category,
                        serde_json::to_string(&a.flags).unwrap_or_else(|_| "[]".into()),
                        a.risk,
                        a.decision.tier,
                        a.decision.action,
                        a.state,
                        case,
                        a.impact,
                        a.reversible.map(i64::from),
                        a.blast_radius
                    ],
                )
                .map_err(|e| sql(&path, e))?;
                let id = tx.last_insert_rowid();
                if let Some(json) = &a.package {
                    let version = serde_json::from_str::<serde_json::Value>(json)
                        .ok()
                        .and_then(|v| v["schema_version"].as_str().map(str::to_string))
                        .unwrap_or_default();
                    tx.execute(
                        "INSERT INTO packages (alert, schema_version, json) VALUES (?1, ?2, ?3)",
                        params![id, version, json],
                    )
                    .map_err(|e| sql(&path, e))?;
                }
                insert_decision(&tx, &a.decision, id).map_err(|e| sql(&path, e))?;
                inserted += 1;
            }
        }
        tx.commit().map_err(|e| sql(&path, e))?;
        Ok(inserted)
    }

    fn existing_keys(&self, keys: &[String]) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT 1 FROM alerts WHERE key = ?1")
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for k in keys {
            if stmt.exists([k]).map_err(|e| self.err(e))? {
                out.push(k.clone());
            }
        }
        Ok(out)
    }

    fn alert(&self, id: i64) -> Result<Option<AlertRow>, StoreError> {
        let q = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts a JOIN cases c ON c.id = a.case_id WHERE a.id = ?1"
        );
        self.conn
            .query_row(&q, [id], |r| self.alert_row(r))
            .optional()
            .map_err(|e| self.err(e))
    }

    fn package(&self, id: i64) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row("SELECT json FROM packages WHERE alert = ?1", [id], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))
    }

    fn queue(&self, f: &QueueFilter) -> Result<Vec<AlertRow>, StoreError> {
        // Uncertainty first within equal risk: a flagged alert needs a human more. Without a
        // state filter the queue holds the alerts still awaiting a human.
        let open = crate::OPEN_STATES.map(|s| format!("'{s}'")).join(", ");
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
        let mut stmt = self.conn.prepare(&q).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(
                params![
                    f.tier,
                    f.state,
                    f.category,
                    f.flag,
                    limit,
                    f.new_pattern.map(i64::from)
                ],
                |r| self.alert_row(r),
            )
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }

    fn decisions(&self, alert: i64) -> Result<Vec<DecisionRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT alert, kind, tier, action, reasons, actor, time, audit_index, \
                 reason_code, note, ms_to_decision FROM decisions WHERE alert = ?1 ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([alert], |r| {
                Ok(DecisionRow {
                    alert: r.get(0)?,
                    kind: r.get(1)?,
                    tier: r.get(2)?,
                    action: r.get(3)?,
                    reasons: r.get(4)?,
                    actor: r.get(5)?,
                    time: r.get(6)?,
                    audit_index: r.get::<_, Option<i64>>(7)?.map(|i| i as u64),
                    reason_code: r.get(8)?,
                    note: r.get(9)?,
                    ms_to_decision: r.get(10)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }

    fn record_decision(
        &mut self,
        d: &DecisionRow,
        state: &str,
        feedback: Option<&FeedbackRow>,
    ) -> Result<i64, StoreError> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| sql(&path, e))?;
        let changed = tx
            .execute(
                "UPDATE alerts SET state = ?2 WHERE id = ?1",
                params![d.alert, state],
            )
            .map_err(|e| sql(&path, e))?;
        if changed == 0 {
            return Err(StoreError::NoSuchAlert(d.alert));
        }
        let id = insert_decision(&tx, d, d.alert).map_err(|e| sql(&path, e))?;
        if let Some(f) = feedback {
            insert_feedback(&tx, f).map_err(|e| sql(&path, e))?;
        }
        tx.commit().map_err(|e| sql(&path, e))?;
        Ok(id)
    }

    fn record_feedback(&mut self, f: &FeedbackRow) -> Result<i64, StoreError> {
        insert_feedback(&self.conn, f).map_err(|e| self.err(e))
    }

    fn alert_id_for_key(&self, key: &str) -> Result<Option<i64>, StoreError> {
        self.conn
            .query_row("SELECT id FROM alerts WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))
    }

    fn feedback(&self, alert: i64) -> Result<Vec<FeedbackRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT alert, actor, time, label, reason_code, note, feature, audit_index \
                 FROM feedback WHERE alert = ?1 ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([alert], |r| {
                Ok(FeedbackRow {
                    alert: r.get(0)?,
                    actor: r.get(1)?,
                    time: r.get(2)?,
                    label: r.get(3)?,
                    reason_code: r.get(4)?,
                    note: r.get(5)?,
                    feature: r.get(6)?,
                    audit_index: r.get::<_, Option<i64>>(7)?.map(|i| i as u64),
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }
    fn get_state(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row("SELECT value FROM state WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))
    }

    fn put_state(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO state (key, value) VALUES (?1, ?2) \
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    fn stats(&self) -> Result<Stats, StoreError> {
        let count = |q: &str| -> Result<u64, StoreError> {
            self.conn
                .query_row(q, [], |r| r.get::<_, i64>(0))
                .map(|n| n as u64)
                .map_err(|e| self.err(e))
        };
        let grouped = |col: &str| -> Result<Vec<(String, u64)>, StoreError> {
            let q = format!("SELECT {col}, COUNT(*) FROM alerts GROUP BY {col} ORDER BY {col}");
            let mut stmt = self.conn.prepare(&q).map_err(|e| self.err(e))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))
                .map_err(|e| self.err(e))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
                .map_err(|e| self.err(e))
        };
        Ok(Stats {
            alerts: count("SELECT COUNT(*) FROM alerts")?,
            by_tier: grouped("tier")?,
            by_state: grouped("state")?,
            cases: count("SELECT COUNT(*) FROM cases")?,
            new_patterns: count("SELECT COUNT(*) FROM cases WHERE new_pattern = 1")?,
            decisions: count("SELECT COUNT(*) FROM decisions")?,
            feedback: count("SELECT COUNT(*) FROM feedback")?,
        })
    }
}

fn insert_feedback(conn: &Connection, f: &FeedbackRow) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO feedback (alert, actor, time, label, reason_code, note, feature, \
                 audit_index) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            f.alert,
            f.actor,
            f.time,
            f.label,
            f.reason_code,
            f.note,
            f.feature,
            f.audit_index.map(|i| i as i64)
        ],
    )?;
    Ok(conn.last_insert_rowid())
}
