//! One module per subcommand, plus what they share.

pub mod audit;
pub mod bench;
pub mod bench_audit;
pub mod bench_explain;
pub mod bench_lifecycle;
pub mod bench_serve;
pub mod demo;
pub mod eval;
pub mod explain;
pub mod generate;
pub mod model;
pub mod policy;
pub mod rehearse_poison;
pub mod retrain;
pub mod score;
pub mod serve;
pub mod simulate;
pub mod split;
pub mod teach;
pub mod token;
pub mod train;
pub mod triage;

use std::path::Path;

use anyhow::Context;
use arbiter_ingest::OnError;
use clap::ValueEnum;

/// What to do with a malformed row.
#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum OnErrorArg {
    /// Stop at the first malformed row, naming file, line, field and value
    #[default]
    Fail,
    /// Skip malformed rows and report how many, by field
    Skip,
}

impl From<OnErrorArg> for OnError {
    fn from(a: OnErrorArg) -> OnError {
        match a {
            OnErrorArg::Fail => OnError::Fail,
            OnErrorArg::Skip => OnError::Skip,
        }
    }
}

/// The file name without directories, for provenance that does not depend on where data lives.
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Prints the ingest report and the first few refused rows.
pub fn report_ingest(report: &arbiter_ingest::IngestReport) {
    eprintln!("{}", report.summary());
    for e in report.errors.iter().take(5) {
        eprintln!("  skipped: {e}");
    }
    if report.rows_skipped as usize > report.errors.len().min(5) {
        eprintln!("  … {} refused rows in all", report.rows_skipped);
    }
}

/// Loads a schema file, with the path in the error.
pub fn schema(path: &Path) -> anyhow::Result<arbiter_core::Schema> {
    arbiter_ingest::load_schema(path).with_context(|| format!("reading schema {}", path.display()))
}
