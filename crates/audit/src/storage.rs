//! On-disk framing of the entries file and the leaf-hash file.
//!
//! `entries.log` starts with the 8-byte magic `ARBLOG1\n`, then one record per entry:
//!
//! ```text
//! u32 big-endian payload length ‖ payload (canonical JSON of the entry) ‖ leaf hash (32 bytes)
//! ```
//!
//! The trailing leaf hash (`SHA-256(0x00 ‖ payload)`) makes every record self-checking: a
//! torn tail shows up as a short or mismatching last record, and a flipped byte inside a
//! payload is attributed to exactly that record. It is *not* what makes the log
//! tamper-evident — anyone can recompute it — the signed checkpoint roots are.
//!
//! `leaves.idx` is derived data with one fixed 40-byte slot per entry:
//! `u64 big-endian byte offset of the record ‖ leaf hash`. It gives O(1) random access to
//! entry `i` and all leaf hashes for proofs without rereading payloads; and since it is
//! covered by the checkpoint roots, [`crate::verify`] can authenticate it and then pinpoint
//! the first entry whose bytes no longer match.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::error::{AuditError, io};
use crate::merkle::{Hash, leaf_hash};

/// The entries file.
pub const ENTRIES_FILE: &str = "entries.log";
/// The leaf-hash / offset file.
pub const LEAVES_FILE: &str = "leaves.idx";
/// The cached right edge of the tree (derived, rebuilt if missing or damaged).
pub const STATE_FILE: &str = "tree.state";
/// The SQLite query index (derived).
pub const INDEX_FILE: &str = "index.sqlite";
/// Magic header of the entries file.
pub const MAGIC: &[u8; 8] = b"ARBLOG1\n";
/// Size of one `leaves.idx` slot.
pub const SLOT: u64 = 40;
/// Largest accepted entry; bigger lengths are treated as corruption rather than allocated.
pub const MAX_ENTRY: u32 = 64 << 20;

/// Bytes a record with a `len`-byte payload occupies.
pub fn record_len(len: u64) -> u64 {
    4 + len + 32
}

/// Appends the framed record to `out`.
pub(crate) fn encode_record(payload: &[u8], hash: &Hash, out: &mut Vec<u8>) {
    // Payloads are bounded by MAX_ENTRY (checked by the caller), so this never truncates.
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(hash);
}

/// What was found at a record position.
#[derive(Debug)]
pub(crate) enum Scanned {
    /// A complete record (its trailer may or may not match the payload).
    Record { payload: Vec<u8>, stored: Hash },
    /// The file ends before the record does.
    Incomplete { have: u64, need: u64 },
    /// The length field is implausible.
    BadLength(u32),
}

impl Scanned {
    /// A complete record whose trailer matches its payload.
    pub fn valid(&self) -> Option<(&[u8], Hash)> {
        match self {
            Scanned::Record { payload, stored } if leaf_hash(payload) == *stored => {
                Some((payload.as_slice(), *stored))
            }
            _ => None,
        }
    }
}

/// Positional read that does not move any shared cursor (so `&self` readers never race).
pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        let mut done = 0;
        while done < buf.len() {
            let n = std::os::windows::fs::FileExt::seek_read(
                file,
                &mut buf[done..],
                offset + done as u64,
            )?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            done += n;
        }
        Ok(())
    }
}

/// Reads the record at `offset` of a file `file_len` bytes long.
pub(crate) fn read_record(file: &File, offset: u64, file_len: u64) -> io::Result<Scanned> {
    let have = file_len.saturating_sub(offset);
    if have < 4 {
        return Ok(Scanned::Incomplete { have, need: 4 });
    }
    let mut len = [0u8; 4];
    read_at(file, &mut len, offset)?;
    let len = u32::from_be_bytes(len);
    if len > MAX_ENTRY {
        return Ok(Scanned::BadLength(len));
    }
    let need = record_len(u64::from(len));
    if have < need {
        return Ok(Scanned::Incomplete { have, need });
    }
    let mut buf = vec![0u8; len as usize + 32];
    read_at(file, &mut buf, offset + 4)?;
    let stored: Hash = buf[len as usize..].try_into().unwrap_or_default();
    buf.truncate(len as usize);
    Ok(Scanned::Record {
        payload: buf,
        stored,
    })
}

/// Sequential reader over records, for whole-file scans (verify, recovery, reindexing).
pub(crate) struct RecordReader {
    inner: BufReader<File>,
    /// Byte offset of the next record.
    pub offset: u64,
    file_len: u64,
}

impl RecordReader {
    /// Starts reading `path` at byte `offset`.
    pub fn open(path: &Path, offset: u64) -> Result<Self, AuditError> {
        let file = File::open(path).map_err(io(path))?;
        let file_len = file.metadata().map_err(io(path))?.len();
        let mut inner = BufReader::with_capacity(1 << 20, file);
        inner.seek(SeekFrom::Start(offset)).map_err(io(path))?;
        Ok(Self {
            inner,
            offset,
            file_len,
        })
    }

    /// Repositions the reader (used to resynchronise after a damaged length field).
    pub fn seek(&mut self, offset: u64) -> io::Result<()> {
        self.inner.seek(SeekFrom::Start(offset))?;
        self.offset = offset;
        Ok(())
    }

    /// The record at the current offset, advancing past it if it is complete; `None` at EOF.
    pub fn next_record(&mut self) -> io::Result<Option<Scanned>> {
        let have = self.file_len.saturating_sub(self.offset);
        if have == 0 {
            return Ok(None);
        }
        if have < 4 {
            return Ok(Some(Scanned::Incomplete { have, need: 4 }));
        }
        let mut len = [0u8; 4];
        self.inner.read_exact(&mut len)?;
        let len = u32::from_be_bytes(len);
        if len > MAX_ENTRY {
            self.inner.seek(SeekFrom::Start(self.offset))?;
            return Ok(Some(Scanned::BadLength(len)));
        }
        let need = record_len(u64::from(len));
        if have < need {
            self.inner.seek(SeekFrom::Start(self.offset))?;
            return Ok(Some(Scanned::Incomplete { have, need }));
        }
        let mut payload = vec![0u8; len as usize];
        self.inner.read_exact(&mut payload)?;
        let mut stored = [0u8; 32];
        self.inner.read_exact(&mut stored)?;
        self.offset += need;
        Ok(Some(Scanned::Record { payload, stored }))
    }
}

/// Encodes one `leaves.idx` slot.
pub(crate) fn encode_slot(offset: u64, hash: &Hash, out: &mut Vec<u8>) {
    out.extend_from_slice(&offset.to_be_bytes());
    out.extend_from_slice(hash);
}

/// Reads slots `from..to` of `leaves.idx` as (record offset, leaf hash).
pub(crate) fn read_slots(file: &File, from: u64, to: u64) -> io::Result<Vec<(u64, Hash)>> {
    let n = to.saturating_sub(from) as usize;
    let mut buf = vec![0u8; n * SLOT as usize];
    read_at(file, &mut buf, from * SLOT)?;
    Ok(buf
        .chunks_exact(SLOT as usize)
        .map(|c| {
            let mut off = [0u8; 8];
            off.copy_from_slice(&c[..8]);
            let mut h = [0u8; 32];
            h.copy_from_slice(&c[8..]);
            (u64::from_be_bytes(off), h)
        })
        .collect())
}

/// Copies `bytes` to a fresh `recovered-<what>-<offset>-<n>.bin` in `dir` (fsynced) before
/// recovery truncates them: a dropped tail is reported *and* kept for the investigator.
pub(crate) fn quarantine(
    dir: &Path,
    what: &str,
    offset: u64,
    bytes: &[u8],
) -> Result<PathBuf, AuditError> {
    use std::io::Write;
    for n in 0u32.. {
        let path = dir.join(format!("recovered-{what}-{offset}-{n}.bin"));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut f) => {
                f.write_all(bytes).map_err(io(&path))?;
                f.sync_all().map_err(io(&path))?;
                crate::keys::sync_dir(dir)?;
                return Ok(path);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io(&path)(e)),
        }
    }
    Err(io(dir)(io::ErrorKind::AlreadyExists.into()))
}
