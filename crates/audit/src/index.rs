//! The entity query index: a SQLite sidecar (`index.sqlite`) mapping entity → entry index.
//!
//! It is derived data. It is written after the entries are durable, without its own fsync
//! (`synchronous=OFF`): if a crash loses part of it, its `indexed_len` falls behind the log,
//! readers scan the unindexed tail of `entries.log` (so a query never misses an entry), and
//! the writer catches up on open and, a bounded step at a time, on later appends.
//!
//! Its rows are trusted for what they *omit* below `indexed_len` (a query does not re-read
//! the whole log), so [`crate::verify()`] compares them with the entries and reports any
//! difference as [`crate::ProblemKind::IndexMismatch`].
//!
//! # Schema (version [`SCHEMA`])
//!
//! * `meta(key, value)`: `schema` and `indexed_len` (entries `0..indexed_len` are indexed).
//! * `mention(idx, entity, time_us)`, primary key `(idx, entity)`: one row per distinct
//!   entity an entry names; `time_us` is the entry's time in floored microseconds. Rows in
//!   `idx` order let verify stream them beside the entries.
//! * `mention_by_entity(entity, idx, time_us)`: covering index for paged queries in log order.
//!
//! An index with another schema version is dropped and rebuilt by the writer on open;
//! readers treat it as absent (and scan) until then.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::entry::Entry;
use crate::error::{AuditError, sql};

/// Version of the index layout; bump it (and old indexes are rebuilt) when it changes.
pub(crate) const SCHEMA: i64 = 2;

const CREATE: &str = "
    CREATE TABLE IF NOT EXISTS mention(
        idx INTEGER NOT NULL,
        entity TEXT NOT NULL,
        time_us INTEGER NOT NULL,
        PRIMARY KEY(idx, entity)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS mention_by_entity ON mention(entity, idx, time_us);";

/// The writer's read-write handle on the SQLite index.
pub(crate) struct Index {
    conn: Connection,
    path: PathBuf,
    /// Set when open found an index of another schema version (or none) and reset it.
    pub rebuilt_from: Option<i64>,
}

impl Index {
    /// Opens (creating if needed) the index at `path`; resets it if its schema is not
    /// [`SCHEMA`], so that the caller's catch-up rebuilds it.
    pub fn open(path: &Path) -> Result<Self, AuditError> {
        let conn = Connection::open(path).map_err(sql(path))?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             PRAGMA synchronous=OFF;
             CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);",
        )
        .map_err(sql(path))?;
        let have = meta(&conn, "schema").map_err(sql(path))?;
        let mut rebuilt_from = None;
        if have != Some(SCHEMA) {
            // Version 1 had no schema row; a brand-new file has no table either.
            let old: bool = conn
                .query_row(
                    "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE name = 'mention')",
                    [],
                    |r| r.get(0),
                )
                .map_err(sql(path))?;
            let tx = conn.unchecked_transaction().map_err(sql(path))?;
            tx.execute_batch(
                "DROP INDEX IF EXISTS mention_by_entity;
                 DROP TABLE IF EXISTS mention;
                 DELETE FROM meta;",
            )
            .map_err(sql(path))?;
            tx.execute_batch(CREATE).map_err(sql(path))?;
            tx.execute(
                "INSERT INTO meta(key, value) VALUES ('schema', ?1)",
                params![SCHEMA],
            )
            .map_err(sql(path))?;
            tx.commit().map_err(sql(path))?;
            if old {
                rebuilt_from = Some(have.unwrap_or(1));
            }
        }
        Ok(Self {
            conn,
            path: path.to_path_buf(),
            rebuilt_from,
        })
    }

    /// How many log entries (a prefix) are indexed.
    pub fn indexed_len(&self) -> Result<u64, AuditError> {
        indexed_len(&self.conn).map_err(sql(&self.path))
    }

    /// Indexes `entries` (starting at log index `first`) and records the new indexed length,
    /// in one transaction. Refuses (returning `false`, changing nothing) unless `first` is
    /// the current indexed length, so a gap can never be recorded as indexed.
    ///
    /// Takes `&self` (an unchecked transaction) so that a lagging index can be caught up from
    /// a `&self` method; `Connection` is not `Sync`, so no two transactions can overlap.
    pub fn add(&self, first: u64, entries: &[Entry]) -> Result<bool, AuditError> {
        let path = self.path.clone();
        let tx = self.conn.unchecked_transaction().map_err(sql(&path))?;
        if indexed_len(&tx).map_err(sql(&path))? != first {
            return Ok(false);
        }
        {
            let mut st = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO mention(idx, entity, time_us) VALUES (?1, ?2, ?3)",
                )
                .map_err(sql(&path))?;
            for (i, e) in entries.iter().enumerate() {
                let idx = (first + i as u64) as i64;
                let t = e.time.timestamp_micros();
                for ent in &e.entities {
                    st.execute(params![idx, ent, t]).map_err(sql(&path))?;
                }
            }
        }
        tx.execute(
            "INSERT INTO meta(key, value) VALUES ('indexed_len', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![(first + entries.len() as u64) as i64],
        )
        .map_err(sql(&path))?;
        tx.commit().map_err(sql(&path))?;
        Ok(true)
    }

    /// Forgets every row (before a rebuild); readers see `indexed_len` 0 and scan.
    pub fn clear(&self) -> Result<(), AuditError> {
        let tx = self.conn.unchecked_transaction().map_err(sql(&self.path))?;
        tx.execute_batch(
            "DELETE FROM mention;
             DELETE FROM meta WHERE key = 'indexed_len';",
        )
        .map_err(sql(&self.path))?;
        tx.commit().map_err(sql(&self.path))
    }
}

/// Opens `path` read-only for a reader or for verify: `Ok(None)` if there is no index file.
pub(crate) fn open_read_only(path: &Path) -> Result<Option<Connection>, AuditError> {
    if !path.exists() {
        return Ok(None);
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql(path))?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(sql(path))?;
    Ok(Some(conn))
}

/// An integer from `meta`, if present (and if `meta` exists at all).
pub(crate) fn meta(conn: &Connection, key: &str) -> rusqlite::Result<Option<i64>> {
    let exists: bool = conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta')",
        [],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok(None);
    }
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()
}

/// The indexed prefix length recorded in `meta` (0 if none).
pub(crate) fn indexed_len(conn: &Connection) -> rusqlite::Result<u64> {
    Ok(meta(conn, "indexed_len")?.unwrap_or(0).max(0) as u64)
}

/// Entry indices in `from..to` mentioning `entity` at or after `since_us` (floored
/// microseconds), in log order, at most `limit`. The caller re-checks each entry.
pub(crate) fn lookup(
    conn: &Connection,
    entity: &str,
    since_us: Option<i64>,
    from: u64,
    to: u64,
    limit: usize,
) -> rusqlite::Result<Vec<u64>> {
    let mut st = conn.prepare_cached(
        "SELECT idx FROM mention INDEXED BY mention_by_entity
         WHERE entity = ?1 AND idx >= ?2 AND idx < ?3 AND time_us >= ?4
         ORDER BY idx LIMIT ?5",
    )?;
    let rows = st.query_map(
        params![
            entity,
            from as i64,
            to as i64,
            since_us.unwrap_or(i64::MIN),
            limit as i64
        ],
        |r| r.get::<_, i64>(0),
    )?;
    rows.map(|r| r.map(|v| v as u64)).collect()
}

/// Rows `(idx, entity, time_us)` with `idx` in `from..to`, ordered by `(idx, entity)`.
pub(crate) fn rows_between(
    conn: &Connection,
    from: u64,
    to: u64,
) -> rusqlite::Result<Vec<(u64, String, i64)>> {
    let mut st = conn.prepare_cached(
        "SELECT idx, entity, time_us FROM mention
         WHERE idx >= ?1 AND idx < ?2 ORDER BY idx, entity",
    )?;
    let rows = st.query_map(params![from as i64, to as i64], |r| {
        Ok((r.get::<_, i64>(0)? as u64, r.get(1)?, r.get(2)?))
    })?;
    rows.collect()
}
