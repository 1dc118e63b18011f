//! The crate's single error type.

use std::path::PathBuf;

/// Everything that can go wrong in `arbiter-eval`.
///
/// Errors come from the outside world: fonts, files, data and the model.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// No font file could be found for rendering plot text.
    #[error(
        "no font found for plot text (tried {}); install Debian's fonts-dejavu-core or set ARBITER_FONT to a .ttf file",
        display_paths(tried)
    )]
    NoFont {
        /// Every path that was looked at, in order.
        tried: Vec<PathBuf>,
    },
    /// A font file exists (or was named by `ARBITER_FONT`) but cannot be read.
    #[error("cannot read font {path}: {reason}")]
    FontRead {
        /// The font file.
        path: PathBuf,
        /// Why reading failed.
        reason: String,
    },
    /// A font file was read but is not a usable TrueType/OpenType font.
    #[error("font {path} is not a valid TrueType/OpenType font")]
    InvalidFont {
        /// The font file.
        path: PathBuf,
    },
    /// Drawing or encoding a plot failed.
    #[error("cannot write plot {path}: {reason}")]
    Plot {
        /// The PNG that was being written.
        path: PathBuf,
        /// What the plotting backend reported.
        reason: String,
    },
    /// A report file could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Test rows must carry ground truth.
    #[error("line {line} of {file} has no label; evaluation needs labelled rows")]
    Unlabelled { file: String, line: u64 },
    /// The auto-close α must be one the bundle certified.
    #[error("alpha {alpha} is not in the bundle's risk-control table (it has {known:?})")]
    UnknownAlpha { alpha: f64, known: Vec<f64> },
    /// Scoring failed.
    #[error(transparent)]
    Model(#[from] arbiter_model::ModelError),
}

fn display_paths(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        return "no paths".to_owned();
    }
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
