//! Opening a source: decompression by extension, a UTF-8 byte-order mark skipped, progress
//! counted in compressed bytes so a progress bar can show how far through the file we are.

use std::fs::File;
use std::io::{self, BufReader, Cursor, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::IngestError;

/// Shared count of bytes read from the file on disk (before decompression).
#[derive(Debug, Clone, Default)]
pub struct Progress(Arc<AtomicU64>);

impl Progress {
    pub fn bytes_read(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

struct Counting<R> {
    inner: R,
    progress: Progress,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.0.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Compression, as told by the file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Xz,
    Zstd,
}

impl Compression {
    pub fn of(path: &Path) -> Compression {
        match path.extension().and_then(|e| e.to_str()) {
            Some("gz") => Compression::Gzip,
            Some("xz") => Compression::Xz,
            Some("zst") => Compression::Zstd,
            _ => Compression::None,
        }
    }
}

/// An opened source: a byte stream (decompressed, BOM removed), its size on disk and a
/// progress counter.
pub struct Opened {
    pub reader: Box<dyn Read + Send>,
    pub file_len: u64,
    pub progress: Progress,
}

/// Opens `path`, decompressing by extension and dropping a leading UTF-8 byte-order mark.
pub fn open(path: &Path) -> Result<Opened, IngestError> {
    let io_err = |source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io_err)?;
    let file_len = file.metadata().map_err(io_err)?.len();
    let progress = Progress::default();
    let counted = BufReader::with_capacity(
        1 << 16,
        Counting {
            inner: file,
            progress: progress.clone(),
        },
    );
    let decoded: Box<dyn Read + Send> = match Compression::of(path) {
        Compression::None => Box::new(counted),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(counted)),
        Compression::Xz => Box::new(liblzma::read::XzDecoder::new_multi_decoder(counted)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(counted).map_err(io_err)?),
    };
    let reader = skip_bom(decoded).map_err(io_err)?;
    Ok(Opened {
        reader,
        file_len,
        progress,
    })
}

/// Byte offsets of line ends in a stream, to turn a record's byte offset into its line.
///
/// The CSV parser's own line numbers are off after CRLF line ends and blank lines, and error
/// messages must name the right line. Queries come in increasing byte order, so offsets
/// already passed are dropped and memory stays bounded by what the parser has read ahead.
#[derive(Debug, Clone, Default)]
pub(crate) struct Newlines(std::sync::Arc<std::sync::Mutex<NewlineState>>);

#[derive(Debug, Default)]
struct NewlineState {
    pending: std::collections::VecDeque<u64>,
    passed: u64,
}

impl Newlines {
    fn record(&self, offsets: &[u64]) {
        if !offsets.is_empty() {
            let mut s = self.0.lock().expect("not poisoned");
            s.pending.extend(offsets);
        }
    }

    /// The 1-based line on which a record starting at `byte` begins, skipping the blank lines
    /// the parser passes over before a record.
    pub fn line_at(&self, mut byte: u64) -> u64 {
        let mut s = self.0.lock().expect("not poisoned");
        while s.pending.front().is_some_and(|&n| n < byte) {
            s.pending.pop_front();
            s.passed += 1;
        }
        while s.pending.front() == Some(&byte) {
            s.pending.pop_front();
            s.passed += 1;
            byte += 1;
        }
        s.passed + 1
    }
}

/// Turns CRLF line ends into LF (the CSV parser counts lines of CRLF files one short) and
/// records where lines end.
pub(crate) struct CrlfToLf<R> {
    inner: R,
    out: Vec<u8>,
    pos: usize,
    /// Bytes emitted before `out`.
    emitted: u64,
    newlines: Newlines,
    /// A `\r` held back because its chunk ended on it.
    pending_cr: bool,
    eof: bool,
}

impl<R: Read> CrlfToLf<R> {
    pub fn new(inner: R, newlines: Newlines) -> Self {
        CrlfToLf {
            inner,
            out: Vec::with_capacity(1 << 16),
            pos: 0,
            emitted: 0,
            newlines,
            pending_cr: false,
            eof: false,
        }
    }
}

impl<R: Read> Read for CrlfToLf<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.out.len() {
            if self.eof {
                return Ok(0);
            }
            self.emitted += self.out.len() as u64;
            self.out.clear();
            self.pos = 0;
            let mut raw = [0u8; 1 << 14];
            let n = self.inner.read(&mut raw)?;
            if n == 0 {
                self.eof = true;
                if std::mem::take(&mut self.pending_cr) {
                    self.out.push(b'\r');
                }
                continue;
            }
            let mut ends = Vec::new();
            for &b in &raw[..n] {
                if std::mem::take(&mut self.pending_cr) && b != b'\n' {
                    self.out.push(b'\r');
                }
                if b == b'\r' {
                    self.pending_cr = true;
                } else {
                    if b == b'\n' {
                        ends.push(self.emitted + self.out.len() as u64);
                    }
                    self.out.push(b);
                }
            }
            self.newlines.record(&ends);
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn skip_bom(mut r: Box<dyn Read + Send>) -> io::Result<Box<dyn Read + Send>> {
    let mut head = [0u8; 3];
    let mut got = 0;
    while got < 3 {
        let n = r.read(&mut head[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    let keep = if got == 3 && head == [0xEF, 0xBB, 0xBF] {
        Vec::new()
    } else {
        head[..got].to_vec()
    };
    Ok(Box::new(Cursor::new(keep).chain(r)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn read_all(path: &Path) -> String {
        let mut s = String::new();
        open(path).unwrap().reader.read_to_string(&mut s).unwrap();
        s
    }

    #[test]
    fn every_supported_compression_reads_back_the_same_text() {
        let dir = tempfile::tempdir().unwrap();
        let text = "\u{feff}a,b\r\n1,2\r\n";
        let plain = dir.path().join("x.csv");
        std::fs::write(&plain, text).unwrap();

        let gz = dir.path().join("x.csv.gz");
        let mut e = flate2::write::GzEncoder::new(File::create(&gz).unwrap(), Default::default());
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap();

        let xz = dir.path().join("x.csv.xz");
        let mut e = liblzma::write::XzEncoder::new(File::create(&xz).unwrap(), 6);
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap();

        let zst = dir.path().join("x.csv.zst");
        let mut e = zstd::stream::write::Encoder::new(File::create(&zst).unwrap(), 3).unwrap();
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap();

        for p in [&plain, &gz, &xz, &zst] {
            assert_eq!(read_all(p), "a,b\r\n1,2\r\n", "{}", p.display());
        }
    }

    #[test]
    fn crlf_becomes_lf_even_when_a_read_ends_between_cr_and_lf() {
        struct Dribble(Vec<u8>, usize);
        impl Read for Dribble {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = 3.min(buf.len()).min(self.0.len() - self.1);
                buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
                self.1 += n;
                Ok(n)
            }
        }
        let text = b"ab\r\ncd\r\n\r\ne\rf\r".to_vec();
        for cap in [1usize, 2, 3, 4, 64] {
            let lines = Newlines::default();
            let mut r = CrlfToLf::new(Dribble(text.clone(), 0), lines.clone());
            let mut out = Vec::new();
            let mut buf = vec![0u8; cap];
            loop {
                let n = r.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&buf[..n]);
            }
            assert_eq!(out, b"ab\ncd\n\ne\rf\r", "buffer of {cap}");
            // "e" starts at byte 7 on line 4, after the blank line 3.
            assert_eq!(lines.line_at(0), 1);
            assert_eq!(lines.line_at(3), 2);
            assert_eq!(lines.line_at(6), 4, "a record after a blank line");
        }
    }

    #[test]
    fn a_file_shorter_than_a_byte_order_mark_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tiny.csv");
        std::fs::write(&p, "a").unwrap();
        assert_eq!(read_all(&p), "a");
    }

    #[test]
    fn a_missing_file_is_an_error_naming_it() {
        let err = open(Path::new("/nonexistent/flows.csv")).err().unwrap();
        assert!(err.to_string().contains("/nonexistent/flows.csv"), "{err}");
    }
}
