//! Writing a simulation report: `report.json`, `report.md` and one PNG per metric over days
//! (`adr.png`, `fpoa.png`, `silent_misses.png`, `backlog.png`, `ece.png`), every arm on each.
//!
//! `report.json` and `report.md` are byte-identical for identical input: maps are ordered and
//! floats are rounded to six decimals before printing.

mod markdown;
mod plots;
mod targets;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::metrics::{Summary, definitions};

pub use markdown::markdown;
pub use plots::PLOTS;
pub use targets::{Bound, Check, Source, TARGETS, Target, TargetCheck, check_targets};

/// What was run, as the report's header states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportMeta {
    pub title: String,
    /// Name of the simulation configuration.
    pub config: String,
    pub seeds: Vec<u64>,
    pub days: u32,
    pub alerts_per_seed: u64,
    /// The command line that produced the report.
    pub command: String,
    /// Free text: what this run is for and what to keep in mind reading it.
    pub description: String,
}

/// Everything that can go wrong writing a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot create report directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot serialise the report to json: {0}")]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Plot(#[from] arbiter_eval::EvalError),
}

#[derive(Serialize)]
struct ReportJson<'a> {
    meta: &'a ReportMeta,
    definitions: BTreeMap<&'static str, &'static str>,
    targets: Vec<TargetCheck>,
    summary: &'a Summary,
}

/// The text of `report.json`: the meta, the definitions, the targets checked per arm and the
/// summary, pretty-printed with a final newline.
///
/// # Errors
/// [`ReportError::Json`] if serialisation fails (it does not for these types).
pub fn json(meta: &ReportMeta, summary: &Summary) -> Result<String, ReportError> {
    let report = ReportJson {
        meta,
        definitions: definitions().into_iter().collect(),
        targets: check_targets(summary),
        summary,
    };
    let mut text = serde_json::to_string_pretty(&report)?;
    text.push('\n');
    Ok(text)
}

/// Writes `report.json`, `report.md` and the plots of [`PLOTS`] into `dir` (created if
/// missing), text first so a missing font leaves the numbers in place.
///
/// # Errors
/// [`ReportError::CreateDir`] or [`ReportError::Write`] naming the path,
/// [`ReportError::Plot`] when a plot cannot be drawn (e.g. no font: see
/// [`arbiter_eval::EvalError::NoFont`]).
pub fn write_report(dir: &Path, meta: &ReportMeta, summary: &Summary) -> Result<(), ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    write(&dir.join("report.json"), &json(meta, summary)?)?;
    write(&dir.join("report.md"), &markdown(meta, summary))?;
    plots::write_plots(dir, meta, summary)
}

fn write(path: &Path, text: &str) -> Result<(), ReportError> {
    std::fs::write(path, text).map_err(|source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    })
}
