//! The entity query index: a SQLite sidecar (`index.sqlite`) mapping entity → (time, entry).
//!
//! It is derived data. It is written after the entries are durable, without its own fsync
//! (`synchronous=OFF`): if a crash loses part of it, [`Index::indexed_len`] falls behind the
//! log and the next open (or query) re-indexes the missing entries from `entries.log`.
//! [`crate::verify`] never reads it.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};

use crate::entry::Entry;
use crate::error::{AuditError, sql};

/// Handle on the SQLite index.
pub(crate) struct Index {
    conn: Connection,
    path: PathBuf,
}

impl Index {
    /// Opens (creating if needed) the index at `path`.
    pub fn open(path: &Path) -> Result<Self, AuditError> {
        let conn = Connection::open(path).map_err(sql(path))?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             PRAGMA synchronous=OFF;
             CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS mention(
                 entity TEXT NOT NULL,
                 time_us INTEGER NOT NULL,
                 idx INTEGER NOT NULL,
                 PRIMARY KEY(entity, time_us, idx)
             ) WITHOUT ROWID;",
        )
        .map_err(sql(path))?;
        Ok(Self {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// How many log entries (a prefix) are indexed.
    pub fn indexed_len(&self) -> Result<u64, AuditError> {
        let v: Option<i64> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key='indexed_len'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(sql(&self.path))?;
        Ok(v.unwrap_or(0).max(0) as u64)
    }

    /// Indexes `entries` (starting at log index `first`) and records the new indexed length,
    /// in one transaction.
    ///
    /// Takes `&self` (an unchecked transaction) so that a lagging index can be caught up from
    /// a read-only query; `Connection` is not `Sync`, so no two transactions can overlap.
    pub fn add(&self, first: u64, entries: &[Entry]) -> Result<(), AuditError> {
        let path = self.path.clone();
        let tx = self.conn.unchecked_transaction().map_err(sql(&path))?;
        {
            let mut st = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO mention(entity, time_us, idx) VALUES (?1, ?2, ?3)",
                )
                .map_err(sql(&path))?;
            for (i, e) in entries.iter().enumerate() {
                let idx = (first + i as u64) as i64;
                let t = e.time.timestamp_micros();
                for ent in &e.entities {
                    st.execute(params![ent, t, idx]).map_err(sql(&path))?;
                }
            }
        }
        tx.execute(
            "INSERT INTO meta(key, value) VALUES ('indexed_len', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![(first + entries.len() as u64) as i64],
        )
        .map_err(sql(&path))?;
        tx.commit().map_err(sql(&path))
    }

    /// Forgets everything (before a rebuild).
    pub fn clear(&self) -> Result<(), AuditError> {
        self.conn
            .execute_batch("DELETE FROM mention; DELETE FROM meta;")
            .map_err(sql(&self.path))
    }

    /// Log indices mentioning `entity` at or after `since_us` (microseconds, floored), in log
    /// order. The caller re-checks the exact time on the entries themselves.
    pub fn lookup(&self, entity: &str, since_us: Option<i64>) -> Result<Vec<u64>, AuditError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT idx FROM mention WHERE entity = ?1 AND time_us >= ?2 ORDER BY idx",
            )
            .map_err(sql(&self.path))?;
        let rows = st
            .query_map(params![entity, since_us.unwrap_or(i64::MIN)], |r| {
                r.get::<_, i64>(0)
            })
            .map_err(sql(&self.path))?;
        rows.map(|r| r.map(|v| v as u64).map_err(sql(&self.path)))
            .collect()
    }
}
