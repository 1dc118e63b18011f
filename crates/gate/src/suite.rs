//! The regression suite: a declared file of must-catch incidents and must-not-act benign
//! cases, each a real row of a data file named by file and line.
//!
//! ```yaml
//! version: 1
//! name: nsl-kdd
//! schema: nsl-kdd@1
//! root: data            # files are under $ARBITER_DATA (default ../shared/data); or `suite`
//! cases:
//!   - file: nsl-kdd/KDDTest+.txt.xz
//!     sha256: 0f3c…     # optional: the file must still be the one the suite was cut from
//!     expect: must_catch
//!     note: u2r and r2l rows the champion caught
//!     lines: [118, 305]
//! ```
//!
//! A must-catch row must be labelled malicious in its file and a must-not-act row benign;
//! a line the file does not hold, a label that contradicts the expectation or a changed file
//! is an error naming the suite, the file and the line.

use std::path::{Path, PathBuf};

use arbiter_core::{BENIGN, Schema};
use arbiter_ingest::{OnError, Record};
use serde::{Deserialize, Serialize};

use crate::error::GateError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// An attack: the candidate must never auto-close it.
    MustCatch,
    /// Benign: the candidate must never act on it by itself.
    MustNotAct,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Root {
    /// Files are under the shared data directory (`$ARBITER_DATA`).
    Data,
    /// Files are relative to the suite file.
    Suite,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteFile {
    version: u32,
    name: String,
    schema: String,
    root: Root,
    cases: Vec<Group>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Group {
    file: String,
    #[serde(default)]
    sha256: Option<String>,
    expect: Expect,
    #[serde(default)]
    note: Option<String>,
    lines: Vec<u64>,
}

/// One row of the suite, read.
#[derive(Debug, Clone)]
pub struct Case {
    pub file: String,
    pub line: u64,
    pub expect: Expect,
    pub category: String,
    /// The group's note (why these rows are in the suite).
    pub note: Option<String>,
    pub record: Record,
}

/// A loaded suite.
#[derive(Debug, Clone)]
pub struct Suite {
    pub name: String,
    /// SHA-256 of the suite file as read.
    pub sha256: String,
    pub path: String,
    pub cases: Vec<Case>,
}

impl Suite {
    pub fn count(&self, e: Expect) -> usize {
        self.cases.iter().filter(|c| c.expect == e).count()
    }
}

/// Where `root: data` suites find their files: `$ARBITER_DATA`, else `../shared/data`.
pub fn data_root() -> PathBuf {
    std::env::var_os("ARBITER_DATA").map_or_else(|| PathBuf::from("../shared/data"), PathBuf::from)
}

/// Reads a suite file and every row it names, under `schema`.
pub fn load(path: &Path, schema: &Schema, data: &Path) -> Result<Suite, GateError> {
    let name = path.display().to_string();
    let bad = |message: String| GateError::Suite {
        file: name.clone(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read: {e}")))?;
    let text = String::from_utf8(bytes.clone()).map_err(|_| bad("is not UTF-8".into()))?;
    let file: SuiteFile = serde_yaml_ng::from_str(&text).map_err(|e| bad(e.to_string()))?;
    if file.version != 1 {
        return Err(bad(format!(
            "version {} is not supported: this build reads version 1",
            file.version
        )));
    }
    if file.schema != schema.id() {
        return Err(bad(format!(
            "is for schema {}, the models read {}",
            file.schema,
            schema.id()
        )));
    }
    let base = match file.root {
        Root::Data => data.to_path_buf(),
        Root::Suite => path.parent().unwrap_or(Path::new(".")).to_path_buf(),
    };
    let mut cases = Vec::new();
    for g in &file.cases {
        let p = base.join(&g.file);
        if let Some(want) = &g.sha256 {
            let got = arbiter_ingest::file_sha256(&p)
                .map_err(|e| bad(format!("{}: {e}", p.display())))?;
            if &got != want {
                return Err(bad(format!(
                    "{} has sha256 {got}, the suite was cut from {want}",
                    g.file
                )));
            }
        }
        let loaded = arbiter_ingest::load(schema, &p, OnError::Skip, &mut |_, _| {})
            .map_err(|e| bad(format!("{}: {e}", p.display())))?;
        let by_line: std::collections::HashMap<u64, &Record> =
            loaded.records.iter().map(|r| (r.line, r)).collect();
        for &line in &g.lines {
            let r = by_line
                .get(&line)
                .ok_or_else(|| bad(format!("{} holds no readable row at line {line}", g.file)))?;
            let category = r.category.clone().unwrap_or_else(|| BENIGN.to_string());
            let malicious = category != BENIGN;
            if malicious != (g.expect == Expect::MustCatch) {
                return Err(bad(format!(
                    "{} line {line} is labelled {category}, not what {:?} needs",
                    g.file, g.expect
                )));
            }
            cases.push(Case {
                file: g.file.clone(),
                line,
                expect: g.expect,
                category,
                note: g.note.clone(),
                record: (*r).clone(),
            });
        }
    }
    if cases.is_empty() {
        return Err(bad("declares no cases".into()));
    }
    Ok(Suite {
        name: file.name,
        sha256: arbiter_triage::sha256_hex(&bytes),
        path: name,
        cases,
    })
}
