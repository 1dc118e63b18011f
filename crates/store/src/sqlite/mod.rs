//! The embedded default: one SQLite file in WAL mode. One write connection behind a lock
//! (the ledger is the only writer); readers take their own connections from a small pool, so
//! a queue read never waits for a write in progress (WAL lets them read the last commit).

mod read;
mod registry;
mod row;
mod write;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, params};

use crate::error::StoreError;
use crate::migrations::MIGRATIONS;

/// Most idle reader connections kept open.
const IDLE_READERS: usize = 8;

pub struct SqliteStore {
    path: PathBuf,
    name: String,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    /// Cleared on drop: stops the checkpointing thread.
    alive: Arc<AtomicBool>,
}

/// WAL pages after which a commit checkpoints by itself (a safety net: normally the
/// checkpointing thread has copied them long before).
const AUTOCHECKPOINT_PAGES: i64 = 10_000;
/// How often the checkpointing thread copies the WAL into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.alive.store(false, Ordering::SeqCst);
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SqliteStore({})", self.name)
    }
}

impl SqliteStore {
    /// Opens (creating if absent) the database at `path` and applies pending migrations.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let name = path.display().to_string();
        let mut conn = Connection::open(path).map_err(|e| backend(&name, e))?;
        // WAL lets readers read while the writer writes; NORMAL is durable across process
        // crashes in WAL mode (the audit log, fsynced first, is the record of what happened,
        // and the ledger restores from it what a power loss took from here).
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
        )
        .map_err(|e| backend(&name, e))?;
        migrate(&mut conn, &name)?;
        // Commits do not stop to copy the WAL into the database: a thread of its own does,
        // passively (never blocking the writer or readers), so a write's latency stays that
        // of the write.
        conn.execute_batch(&format!(
            "PRAGMA wal_autocheckpoint = {AUTOCHECKPOINT_PAGES};"
        ))
        .map_err(|e| backend(&name, e))?;
        let alive = Arc::new(AtomicBool::new(true));
        spawn_checkpointer(path, alive.clone());
        Ok(SqliteStore {
            path: path.to_path_buf(),
            name,
            writer: Mutex::new(conn),
            readers: Mutex::new(Vec::new()),
            alive,
        })
    }

    /// The schema version the database is at.
    pub fn version(&self) -> Result<i64, StoreError> {
        self.read(|c| {
            c.query_row(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                [],
                |r| r.get(0),
            )
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on a reader connection from the pool (opening one when none is idle).
    pub(crate) fn read<R>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<R>,
    ) -> Result<R, StoreError> {
        let idle = self.readers.lock().ok().and_then(|mut v| v.pop());
        let conn = match idle {
            Some(c) => c,
            None => self.open_reader()?,
        };
        // One read transaction, so a read of several statements sees one commit, not parts
        // of several.
        let out = conn
            .execute_batch("BEGIN DEFERRED")
            .and_then(|_| {
                let r = f(&conn);
                let end = conn.execute_batch(if r.is_ok() { "COMMIT" } else { "ROLLBACK" });
                r.and_then(|v| end.map(|_| v))
            })
            .map_err(|e| self.err(e));
        if let Ok(mut v) = self.readers.lock()
            && v.len() < IDLE_READERS
        {
            v.push(conn);
        }
        out
    }

    fn open_reader(&self) -> Result<Connection, StoreError> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| self.err(e))?;
        conn.execute_batch("PRAGMA busy_timeout = 5000;")
            .map_err(|e| self.err(e))?;
        Ok(conn)
    }

    /// Runs `f` on the write connection.
    pub(crate) fn write<R>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let mut conn = self.writer.lock().map_err(|_| StoreError::Backend {
            backend: "sqlite",
            target: self.name.clone(),
            message: "a previous write panicked; reopen the store".into(),
        })?;
        f(&mut conn)
    }

    pub(crate) fn err(&self, e: rusqlite::Error) -> StoreError {
        backend(&self.name, e)
    }
}

/// Copies the WAL into the database every [`CHECKPOINT_EVERY`] until the store is dropped. A
/// failure is not fatal: the writer's own autocheckpoint still bounds the WAL.
fn spawn_checkpointer(path: &Path, alive: Arc<AtomicBool>) {
    let path = path.to_path_buf();
    let _ = std::thread::Builder::new()
        .name("arbiter-sqlite-checkpoint".into())
        .spawn(move || {
            let Ok(conn) = Connection::open(&path) else {
                return;
            };
            let _ = conn.execute_batch("PRAGMA busy_timeout = 1000;");
            while alive.load(Ordering::SeqCst) {
                std::thread::sleep(CHECKPOINT_EVERY);
                let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            }
        });
}

/// Turns a SQLite error into the store's: busy and locked become [`StoreError::Busy`], an
/// unreadable column [`StoreError::Corrupt`], anything else [`StoreError::Backend`].
pub(crate) fn backend(target: &str, e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode;
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) =>
        {
            StoreError::Busy {
                backend: "sqlite",
                target: target.to_string(),
                message: e.to_string(),
            }
        }
        rusqlite::Error::FromSqlConversionFailure(col, _, inner) => StoreError::Corrupt {
            target: target.to_string(),
            what: format!("column {col}"),
            message: inner.to_string(),
        },
        _ => StoreError::Backend {
            backend: "sqlite",
            target: target.to_string(),
            message: e.to_string(),
        },
    }
}

fn migrate(conn: &mut Connection, name: &str) -> Result<(), StoreError> {
    let err = |e| backend(name, e);
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations \
         (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)",
    )
    .map_err(err)?;
    let current: i64 = conn
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )
        .map_err(err)?;
    let known = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > known {
        return Err(StoreError::TooNew {
            target: name.to_string(),
            found: current,
            known,
        });
    }
    for &(version, description, sql_text) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        let tx = conn.transaction().map_err(err)?;
        tx.execute_batch(sql_text).map_err(err)?;
        // When a migration ran is operational metadata, not part of any decision record.
        tx.execute(
            "INSERT INTO schema_migrations (version, description, applied_at) \
             VALUES (?1, ?2, ?3)",
            params![version, description, chrono::Utc::now().to_rfc3339()],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
    }
    Ok(())
}
