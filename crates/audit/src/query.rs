//! Paged, bounded entity queries: "what happened to this alert/host/user", in log order.
//!
//! A page holds at most [`MAX_PAGE_ENTRIES`] entries and, beyond its first entry, at most
//! [`MAX_PAGE_BYTES`] of payload, so the memory one query needs is bounded whatever the
//! entity. Entries `0..indexed_len` are found through `index.sqlite` (read in one snapshot);
//! entries the index has not caught up with yet are found by scanning that tail of
//! `entries.log`, at most [`MAX_PAGE_SCAN`] of them per page. A query never misses an entry
//! the index has not seen; what the index omits below `indexed_len` is checked by
//! [`crate::verify()`].

use chrono::{DateTime, Utc};

use crate::entry::Entry;
use crate::error::{AuditError, io, sql};
use crate::index::{SCHEMA, indexed_len, lookup, meta};
use crate::merkle::leaf_hash;
use crate::reader::{AuditReader, parse_entry};
use crate::storage::{ENTRIES_FILE, LEAVES_FILE, RecordReader, Scanned, read_slots};

/// Most entries one page holds, whatever `limit` asks for.
pub const MAX_PAGE_ENTRIES: usize = 1000;
/// Most payload bytes one page holds; a page always holds at least one entry if any is left.
pub const MAX_PAGE_BYTES: usize = 8 << 20;
/// Most unindexed entries one page reads from `entries.log` while the index lags behind.
pub const MAX_PAGE_SCAN: u64 = 100_000;

/// Slots read from `leaves.idx` at a time while scanning the unindexed tail.
const SLOT_CHUNK: u64 = 4096;

/// One page of [`AuditReader::query_page`].
#[derive(Debug, Clone, PartialEq)]
pub struct QueryPage {
    /// Matching entries with their indices, in log order.
    pub entries: Vec<(u64, Entry)>,
    /// `Some(i)` if there may be more: pass it back as `after`. Only `None` means the end;
    /// a page may hold fewer than `limit` entries (even none, after a long unindexed scan)
    /// and still have a `next`.
    pub next: Option<u64>,
    /// The committed log length the page was answered against.
    pub log_len: u64,
    /// Entries `0..indexed` were answered from the index.
    pub indexed: u64,
    /// How many unindexed entries this page read from `entries.log`.
    pub scanned: u64,
}

/// A page being filled.
struct Fill<'a> {
    entity: &'a str,
    since: Option<DateTime<Utc>>,
    limit: usize,
    bytes: usize,
    entries: Vec<(u64, Entry)>,
}

impl Fill<'_> {
    fn is_full(&self) -> bool {
        self.entries.len() >= self.limit
    }

    /// Offers entry `idx`; returns false if the page is full (by bytes) and it was not taken.
    fn offer(&mut self, idx: u64, e: Entry, payload_len: usize) -> bool {
        if !(self.since.is_none_or(|s| e.time >= s) && e.entities.iter().any(|x| x == self.entity))
        {
            return true;
        }
        if !self.entries.is_empty() && self.bytes + payload_len > MAX_PAGE_BYTES {
            return false;
        }
        self.bytes += payload_len;
        self.entries.push((idx, e));
        true
    }

    /// The cursor to resume after the last entry taken.
    fn last(&self) -> Option<u64> {
        self.entries.last().map(|(i, _)| *i)
    }
}

impl AuditReader {
    /// Entries mentioning `entity` (exact match) at or after `since`, in log order, from the
    /// first entry after `after` (or from the start): at most `limit` entries (capped at
    /// [`MAX_PAGE_ENTRIES`], at least 1) and [`MAX_PAGE_BYTES`] of payload per page.
    pub fn query_page(
        &self,
        entity: &str,
        since: Option<DateTime<Utc>>,
        after: Option<u64>,
        limit: usize,
    ) -> Result<QueryPage, AuditError> {
        self.query_page_with(entity, since, after, limit, MAX_PAGE_SCAN)
    }

    /// Every page of [`AuditReader::query_page`] concatenated. Its memory grows with the
    /// answer: servers should page instead.
    pub fn query(
        &self,
        entity: &str,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<(u64, Entry)>, AuditError> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = self.query_page(entity, since, after, MAX_PAGE_ENTRIES)?;
            out.extend(page.entries);
            match page.next {
                Some(n) => after = Some(n),
                None => return Ok(out),
            }
        }
    }

    /// [`AuditReader::query_page`] with an explicit unindexed-scan budget (for tests).
    pub(crate) fn query_page_with(
        &self,
        entity: &str,
        since: Option<DateTime<Utc>>,
        after: Option<u64>,
        limit: usize,
        scan_budget: u64,
    ) -> Result<QueryPage, AuditError> {
        let log_len = self.len();
        let start = after.map_or(0, |a| a.saturating_add(1)).min(log_len);
        let mut fill = Fill {
            entity,
            since,
            limit: limit.clamp(1, MAX_PAGE_ENTRIES),
            bytes: 0,
            entries: Vec::new(),
        };
        let page = |fill: Fill, next, indexed, scanned| QueryPage {
            entries: fill.entries,
            next,
            log_len,
            indexed,
            scanned,
        };
        let (indexed, stopped) = self.fill_from_index(&mut fill, start, log_len)?;
        if stopped {
            let next = fill.last();
            return Ok(page(fill, next, indexed, 0));
        }
        let from = start.max(indexed);
        let (next, scanned) = self.fill_from_tail(&mut fill, from, log_len, scan_budget)?;
        Ok(page(fill, next, indexed, scanned))
    }

    /// Fills from the index's rows in `start..min(indexed_len, log_len)`; returns that end
    /// and whether the page filled up before the rows ran out.
    fn fill_from_index(
        &self,
        fill: &mut Fill,
        start: u64,
        log_len: u64,
    ) -> Result<(u64, bool), AuditError> {
        let path = self.inner.index.path().to_path_buf();
        let since_us = fill.since.map(|t| t.timestamp_micros());
        let answered = self.inner.index.with(|conn| {
            // One read transaction: one snapshot, even if the writer rebuilds meanwhile.
            let tx = conn.unchecked_transaction().map_err(sql(&path))?;
            if meta(&tx, "schema").map_err(sql(&path))? != Some(SCHEMA) {
                return Ok((0, false));
            }
            let end = indexed_len(&tx).map_err(sql(&path))?.min(log_len);
            let batch_len = fill.limit + 1;
            let mut from = start;
            while from < end {
                let batch =
                    lookup(&tx, fill.entity, since_us, from, end, batch_len).map_err(sql(&path))?;
                for &idx in &batch {
                    if fill.is_full() {
                        return Ok((end, true));
                    }
                    let (offset, p) = self.payload(idx)?;
                    let e = parse_entry(self.dir(), idx, offset, &p)?;
                    if !fill.offer(idx, e, p.len()) {
                        return Ok((end, true));
                    }
                }
                match batch.last() {
                    Some(&last) if batch.len() == batch_len => from = last + 1,
                    _ => break,
                }
            }
            Ok((end, false))
        })?;
        Ok(answered.unwrap_or((0, false)))
    }

    /// Fills from entries `from..to` read straight from `entries.log` (the index has not
    /// seen them), reading at most `budget`; returns the cursor and how many were read.
    fn fill_from_tail(
        &self,
        fill: &mut Fill,
        from: u64,
        to: u64,
        budget: u64,
    ) -> Result<(Option<u64>, u64), AuditError> {
        if from >= to {
            return Ok((None, 0));
        }
        let lp = self.dir().join(LEAVES_FILE);
        let ep = self.dir().join(ENTRIES_FILE);
        let needle = serde_json::to_vec(fill.entity)
            .map_err(|source| AuditError::Serialize { index: 0, source })?;
        let stop = to.min(from.saturating_add(budget.max(1)));
        let mut reader: Option<RecordReader> = None;
        let mut at = from;
        while at < stop {
            let chunk_end = stop.min(at + SLOT_CHUNK);
            let slots = read_slots(&self.inner.leaves, at, chunk_end).map_err(io(&lp))?;
            for (k, (offset, want)) in slots.into_iter().enumerate() {
                let i = at + k as u64;
                let rd = match reader.as_mut() {
                    Some(rd) => rd,
                    None => reader.insert(RecordReader::open(&ep, offset)?),
                };
                if rd.offset != offset {
                    rd.seek(offset).map_err(io(&ep))?;
                }
                let payload = match rd.next_record().map_err(io(&ep))? {
                    Some(Scanned::Record { payload, stored })
                        if stored == want && leaf_hash(&payload) == want =>
                    {
                        payload
                    }
                    // Let the random-access path produce the precise error.
                    _ => self.record_at(i, offset, &want)?.1,
                };
                if !may_mention(&payload, &needle) {
                    continue;
                }
                if fill.is_full() {
                    return Ok((fill.last(), i + 1 - from));
                }
                let e = parse_entry(self.dir(), i, offset, &payload)?;
                if !fill.offer(i, e, payload.len()) {
                    return Ok((fill.last(), i + 1 - from));
                }
            }
            at = chunk_end;
        }
        Ok(((stop < to).then(|| stop - 1), stop - from))
    }
}

/// False only if `payload` certainly does not name the JSON string `needle`: without any
/// backslash in the payload no string in it is escaped, so the entity would appear
/// literally. With one, the entry is parsed and checked in full.
fn may_mention(payload: &[u8], needle: &[u8]) -> bool {
    payload.contains(&b'\\') || payload.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AuditLog;
    use crate::entry::EntryKind;

    fn entry(n: u64, entity: &str) -> Entry {
        Entry {
            time: DateTime::from_timestamp(1_750_000_000 + n as i64, 0).unwrap_or_default(),
            kind: EntryKind::Decision,
            actor: "test".into(),
            entities: vec![entity.into()],
            summary: format!("entry {n}"),
            body: serde_json::Value::Null,
        }
    }

    #[test]
    fn an_unindexed_scan_stops_at_its_budget_and_resumes_from_the_cursor() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = AuditLog::open(dir.path()).unwrap();
        let es: Vec<_> = (0..25)
            .map(|i| entry(i, if i % 10 == 9 { "rare" } else { "common" }))
            .collect();
        log.append_batch(&es).unwrap();
        drop(log);
        std::fs::remove_file(dir.path().join(crate::storage::INDEX_FILE)).unwrap();
        let r = AuditReader::open(dir.path()).unwrap();

        let first = r.query_page_with("rare", None, None, 10, 4).unwrap();
        assert_eq!(
            (first.entries.len(), first.next, first.scanned),
            (0, Some(3), 4)
        );
        let mut got = Vec::new();
        let mut after = None;
        let mut pages = 0;
        loop {
            let p = r.query_page_with("rare", None, after, 10, 4).unwrap();
            assert!(p.scanned <= 4 && p.indexed == 0);
            got.extend(p.entries.iter().map(|e| e.0));
            pages += 1;
            match p.next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        assert_eq!((got, pages), (vec![9, 19], 7));
    }

    #[test]
    fn the_mention_filter_never_rejects_an_entry_naming_the_entity() {
        let needle = serde_json::to_vec("a\"b").unwrap();
        let e = entry(0, "a\"b");
        assert!(may_mention(&serde_json::to_vec(&e).unwrap(), &needle));
        let other = serde_json::to_vec(&entry(0, "ab")).unwrap();
        assert!(!may_mention(&other, &serde_json::to_vec("abc").unwrap()));
    }
}
