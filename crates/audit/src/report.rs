//! The result of [`crate::verify`]: a list of located problems, printable for a CLI.

use std::fmt;
use std::path::PathBuf;

/// What kind of problem verification found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemKind {
    /// A file could not be read.
    Io,
    /// `signing.pub` is missing or malformed, so no signature can be checked.
    MissingKey,
    /// `entries.log` does not start with the magic header.
    BadHeader,
    /// A record's payload does not hash to the leaf hash stored after it (bytes changed).
    CorruptRecord,
    /// A record's length field is implausible (the framing itself was changed).
    BadLength,
    /// The file ends in the middle of a record.
    TornRecord,
    /// A record is intact but its payload is not a valid entry.
    UnreadableEntry,
    /// `leaves.idx` (derived) disagrees with the entries: points at the first differing entry.
    LeafIndexMismatch,
    /// The recomputed root at a checkpoint's size differs from the signed root.
    RootMismatch,
    /// The log has fewer entries than a checkpoint signed.
    Truncated,
    /// A checkpoint's signature does not verify with `signing.pub`.
    BadSignature,
    /// A checkpoint block cannot be parsed.
    MalformedCheckpoint,
    /// Two checkpoints contradict each other (size went backwards, or same size, other root).
    InconsistentCheckpoints,
    /// `index.sqlite` (derived) disagrees with the entries it claims to index: a query could
    /// miss an entry. Rebuild it with `arbiter audit reindex`.
    IndexMismatch,
}

impl ProblemKind {
    fn label(self) -> &'static str {
        match self {
            ProblemKind::Io => "i/o error",
            ProblemKind::MissingKey => "missing public key",
            ProblemKind::BadHeader => "bad header",
            ProblemKind::CorruptRecord => "corrupt record",
            ProblemKind::BadLength => "bad record length",
            ProblemKind::TornRecord => "torn record",
            ProblemKind::UnreadableEntry => "unreadable entry",
            ProblemKind::LeafIndexMismatch => "leaf index mismatch",
            ProblemKind::RootMismatch => "root mismatch",
            ProblemKind::Truncated => "truncated log",
            ProblemKind::BadSignature => "bad signature",
            ProblemKind::MalformedCheckpoint => "malformed checkpoint",
            ProblemKind::InconsistentCheckpoints => "inconsistent checkpoints",
            ProblemKind::IndexMismatch => "index mismatch",
        }
    }
}

/// One located problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What is wrong.
    pub kind: ProblemKind,
    /// The entry concerned, if the problem can be attributed to one.
    pub entry: Option<u64>,
    /// Byte offset in [`Problem::file`] (for entries: the start of the record).
    pub offset: Option<u64>,
    /// File name within the log directory that `offset` refers to.
    pub file: &'static str,
    /// Human explanation.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind.label())?;
        if let Some(e) = self.entry {
            write!(f, ": entry {e}")?;
        }
        if let Some(o) = self.offset {
            write!(f, ", byte {o} of {}", self.file)?;
        } else {
            write!(f, " ({})", self.file)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Everything [`crate::verify`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// The verified directory.
    pub dir: PathBuf,
    /// Entries read from `entries.log`.
    pub entries: u64,
    /// Checkpoints read from `checkpoints.txt`.
    pub checkpoints: usize,
    /// Checkpoints whose signature and root both verified.
    pub checkpoints_verified: usize,
    /// Problems, in the order found.
    pub problems: Vec<Problem>,
    /// Trailing entries covered by no checkpoint whose signature and root verified: a cut
    /// that removes only these goes undetected. Not a problem by itself.
    pub uncovered: u64,
    /// The first of those entries (the size of the largest verified checkpoint).
    pub first_uncovered: Option<u64>,
    /// Entries whose `index.sqlite` rows were compared with them (`None`: not checked).
    pub index_checked: Option<u64>,
    /// Remarks that are not problems (a missing derived index, a lagging one, …).
    pub notes: Vec<String>,
}

impl VerifyReport {
    /// True if nothing is wrong.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// Problems of one kind.
    pub fn of_kind(&self, kind: ProblemKind) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(move |p| p.kind == kind)
    }

    pub(crate) fn push(
        &mut self,
        kind: ProblemKind,
        entry: Option<u64>,
        offset: Option<u64>,
        file: &'static str,
        message: String,
    ) {
        self.problems.push(Problem {
            kind,
            entry,
            offset,
            file,
            message,
        });
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "audit log {}: {} entries, {} checkpoints ({} verified): ",
            self.dir.display(),
            self.entries,
            self.checkpoints,
            self.checkpoints_verified
        )?;
        if self.is_ok() {
            write!(f, "OK")?;
        } else {
            write!(f, "{} problem(s)", self.problems.len())?;
            for p in &self.problems {
                write!(f, "\n  - {p}")?;
            }
        }
        if let Some(first) = self.first_uncovered.filter(|_| self.uncovered > 0) {
            write!(
                f,
                "\n  {} trailing entries (from entry {first}) are covered by no signed \
                 checkpoint: they could be cut off undetected",
                self.uncovered
            )?;
        }
        for n in &self.notes {
            write!(f, "\n  note: {n}")?;
        }
        Ok(())
    }
}
