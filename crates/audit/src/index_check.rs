//! Verify's comparison of `index.sqlite` with the entries it was derived from.
//!
//! Queries trust the index for what it omits below its `indexed_len`, so an index that lost
//! (or had deleted) a row would make "what happened to alert X" silently incomplete. Verify
//! therefore streams the index's rows in entry order beside its scan of `entries.log` —
//! [`CHUNK`] entries' rows at a time, inside one read snapshot — and requires, for every
//! entry below `indexed_len`, exactly one row per distinct entity the entry names, with the
//! entry's time. Memory stays bounded whatever the log's size.
//!
//! The index is derived data: a missing file, or one of an older schema (the writer
//! rebuilds it on open), is a note, not a failure.

use std::path::Path;

use rusqlite::Connection;

use crate::entry::Entry;
use crate::index::{SCHEMA, indexed_len, meta, open_read_only, rows_between};
use crate::report::{ProblemKind as K, VerifyReport};
use crate::storage::{ENTRIES_FILE, INDEX_FILE};

/// Entries whose rows are read from the index at a time.
const CHUNK: u64 = 8192;
/// Mismatches reported one by one; the rest are counted.
const SHOWN: usize = 5;
const HINT: &str = "rebuild it with `arbiter audit reindex`";

/// An index comparison in progress.
pub(crate) struct IndexCheck {
    conn: Connection,
    indexed_len: u64,
    /// Rows of entries `chunk_start..chunk_end`, ordered by (entry, entity); `pos` is the
    /// first row not consumed yet.
    rows: Vec<(u64, String, i64)>,
    pos: usize,
    chunk_end: u64,
    checked: u64,
    missing: u64,
    extra: u64,
    mistimed: u64,
    shown: Vec<(u64, String)>,
    failed: Option<String>,
}

impl IndexCheck {
    /// Starts a comparison, or notes in `r` why there is none. Call before the entries are
    /// scanned, so that the index snapshot is no newer than the entries read.
    pub fn open(dir: &Path, r: &mut VerifyReport) -> Option<Self> {
        let conn = match open_read_only(&dir.join(INDEX_FILE)) {
            Ok(Some(c)) => c,
            Ok(None) => {
                r.notes.push(format!(
                    "{INDEX_FILE} is absent: not checked (derived data; the next open \
                     rebuilds it)"
                ));
                return None;
            }
            Err(e) => {
                r.push(K::IndexMismatch, None, None, INDEX_FILE, cannot(&e));
                return None;
            }
        };
        // One read transaction for the whole comparison: a writer indexing meanwhile can
        // neither add rows above the `indexed_len` read here nor rebuild under our feet.
        let started = conn.execute_batch("BEGIN").and_then(|_| {
            let schema = meta(&conn, "schema")?;
            Ok((schema, indexed_len(&conn)?))
        });
        match started {
            Ok((Some(SCHEMA), indexed_len)) => Some(Self {
                conn,
                indexed_len,
                rows: Vec::new(),
                pos: 0,
                chunk_end: 0,
                checked: 0,
                missing: 0,
                extra: 0,
                mistimed: 0,
                shown: Vec::new(),
                failed: None,
            }),
            Ok((schema, _)) => {
                r.notes.push(format!(
                    "{INDEX_FILE} has schema version {} (this build uses {SCHEMA}): not \
                     checked; queries do not use it, and the next open rebuilds it",
                    schema.map_or("none".to_string(), |v| v.to_string())
                ));
                None
            }
            Err(e) => {
                r.push(K::IndexMismatch, None, None, INDEX_FILE, cannot(&e));
                None
            }
        }
    }

    /// Compares the index's rows for entry `i` with what the entry names. Entries must come
    /// in increasing order; rows of skipped (damaged) entries are ignored.
    pub fn entry(&mut self, i: u64, e: &Entry) {
        if self.failed.is_some() || i >= self.indexed_len {
            return;
        }
        if i >= self.chunk_end {
            let end = self.indexed_len.min(i.saturating_add(CHUNK));
            match rows_between(&self.conn, i, end) {
                Ok(rows) => (self.rows, self.pos, self.chunk_end) = (rows, 0, end),
                Err(e) => {
                    self.failed = Some(cannot(&e));
                    return;
                }
            }
        }
        while self.rows.get(self.pos).is_some_and(|r| r.0 < i) {
            self.pos += 1;
        }
        let first = self.pos;
        while self.rows.get(self.pos).is_some_and(|r| r.0 == i) {
            self.pos += 1;
        }
        let mut want: Vec<&str> = e.entities.iter().map(String::as_str).collect();
        want.sort_unstable();
        want.dedup();
        let time = e.time.timestamp_micros();
        let have = &self.rows[first..self.pos];
        let (mut w, mut h) = (0, 0);
        let mut found = Vec::new();
        while w < want.len() || h < have.len() {
            let (wn, hn) = (want.get(w).copied(), have.get(h).map(|r| r.1.as_str()));
            match (wn, hn) {
                (Some(a), Some(b)) if a == b => {
                    if have[h].2 != time {
                        self.mistimed += 1;
                        found.push(format!(
                            "{INDEX_FILE} gives entity {a:?} of entry {i} the time {} µs, \
                             the entry says {time} µs",
                            have[h].2
                        ));
                    }
                    (w, h) = (w + 1, h + 1);
                }
                (Some(a), b) if b.is_none_or(|b| a < b) => {
                    self.missing += 1;
                    found.push(format!(
                        "entry {i} names entity {a:?} but {INDEX_FILE} has no row for it: \
                         a query for {a:?} would not return this entry"
                    ));
                    w += 1;
                }
                (_, Some(b)) => {
                    self.extra += 1;
                    found.push(format!(
                        "{INDEX_FILE} lists entry {i} under entity {b:?}, which the entry does \
                         not name"
                    ));
                    h += 1;
                }
                (_, None) => break,
            }
        }
        self.checked += 1;
        for m in found {
            self.show(i, m);
        }
    }

    fn show(&mut self, i: u64, message: String) {
        if self.shown.len() < SHOWN {
            self.shown.push((i, message));
        }
    }

    /// Checks what lies past the `entries` that were scanned and writes the outcome to `r`.
    pub fn finish(mut self, entries: u64, r: &mut VerifyReport) {
        let bound = self.indexed_len.min(entries);
        if self.failed.is_none() {
            match rows_from(&self.conn, bound) {
                Ok((count, first)) => {
                    self.extra += count;
                    for (i, entity) in first {
                        self.show(
                            i,
                            format!(
                                "{INDEX_FILE} lists entry {i} under entity {entity:?}, but \
                                 {}",
                                if i >= entries {
                                    format!("{ENTRIES_FILE} has only {entries} entries")
                                } else {
                                    format!("it claims to index only {} entries", self.indexed_len)
                                }
                            ),
                        );
                    }
                }
                Err(e) => self.failed = Some(cannot(&e)),
            }
        }
        let _ = self.conn.execute_batch("COMMIT");
        if let Some(why) = self.failed {
            r.push(K::IndexMismatch, None, None, INDEX_FILE, why);
            return;
        }
        r.index_checked = Some(self.checked);
        if self.indexed_len > entries {
            r.push(
                K::IndexMismatch,
                None,
                None,
                INDEX_FILE,
                format!(
                    "{INDEX_FILE} claims {} entries are indexed but {ENTRIES_FILE} has \
                     {entries}; {HINT}",
                    self.indexed_len
                ),
            );
        } else if self.indexed_len < entries {
            r.notes.push(format!(
                "{INDEX_FILE} covers entries 0..{} of {entries}; queries scan the rest of \
                 {ENTRIES_FILE} until the writer catches it up",
                self.indexed_len
            ));
        }
        let total = self.missing + self.extra + self.mistimed;
        for (i, m) in &self.shown {
            r.push(
                K::IndexMismatch,
                Some(*i),
                None,
                INDEX_FILE,
                format!("{m}; {HINT}"),
            );
        }
        if total > self.shown.len() as u64 {
            r.push(
                K::IndexMismatch,
                None,
                None,
                INDEX_FILE,
                format!(
                    "{} rows missing, {} rows extra, {} rows with a wrong time in all (the \
                     first {} are listed); {HINT}",
                    self.missing,
                    self.extra,
                    self.mistimed,
                    self.shown.len()
                ),
            );
        }
    }
}

/// How many rows name entries at or above `from`, and the first few of them.
fn rows_from(conn: &Connection, from: u64) -> rusqlite::Result<(u64, Vec<(u64, String)>)> {
    let count: i64 = conn.query_row(
        "SELECT COUNT(*) FROM mention WHERE idx >= ?1",
        [from as i64],
        |r| r.get(0),
    )?;
    let mut st = conn
        .prepare("SELECT idx, entity FROM mention WHERE idx >= ?1 ORDER BY idx, entity LIMIT ?2")?;
    let first = st
        .query_map([from as i64, SHOWN as i64], |r| {
            Ok((r.get::<_, i64>(0)? as u64, r.get(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((count.max(0) as u64, first))
}

fn cannot(e: &dyn std::fmt::Display) -> String {
    format!("cannot read {INDEX_FILE}: {e}; {HINT}")
}
