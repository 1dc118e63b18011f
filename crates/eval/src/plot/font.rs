//! Finding and registering the TrueType font plotters' `ab_glyph` backend
//! needs for all text.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};

use plotters::style::{FontStyle, register_font};

use crate::EvalError;

/// Environment variable naming a `.ttf`/`.otf` file to use instead of the
/// default search.
pub(crate) const FONT_ENV: &str = "ARBITER_FONT";

/// The family name plots ask for.
pub(crate) const FAMILY: &str = "sans-serif";

/// Where common Linux distributions install DejaVu Sans or Liberation Sans.
const DEFAULT_FONT_PATHS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/local/share/fonts/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
    "/usr/share/fonts/liberation-sans-fonts/LiberationSans-Regular.ttf",
];

/// The font file registered with plotters, once registration succeeded.
static REGISTERED: OnceLock<PathBuf> = OnceLock::new();
/// Serialises registration attempts so the font is leaked at most once.
static REGISTERING: Mutex<()> = Mutex::new(());

/// Registers the plot font on first use and returns the file it came from.
///
/// Success is remembered for the life of the process. A failure is not, so
/// a later call looks again (e.g. after the font has been installed).
pub(crate) fn ensure_font() -> Result<&'static Path, EvalError> {
    if let Some(path) = REGISTERED.get() {
        return Ok(path);
    }
    // A poisoned lock only means another registration attempt panicked.
    let _guard = REGISTERING.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(path) = REGISTERED.get() {
        return Ok(path);
    }
    let explicit = std::env::var_os(FONT_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let defaults: Vec<PathBuf> = DEFAULT_FONT_PATHS.iter().map(PathBuf::from).collect();
    let (path, bytes) = find_font(explicit, &defaults)?;
    // register_font needs 'static bytes. After success this never runs again.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    register_font(FAMILY, FontStyle::Normal, bytes)
        .map_err(|_| EvalError::InvalidFont { path: path.clone() })?;
    Ok(REGISTERED.get_or_init(|| path))
}

/// Reads the font named by `explicit` (which must exist), or else the first
/// existing file among `defaults`.
fn find_font(
    explicit: Option<PathBuf>,
    defaults: &[PathBuf],
) -> Result<(PathBuf, Vec<u8>), EvalError> {
    let path = match explicit {
        Some(path) => path,
        None => defaults
            .iter()
            .find(|p| p.is_file())
            .cloned()
            .ok_or_else(|| EvalError::NoFont {
                tried: defaults.to_vec(),
            })?,
    };
    let bytes = std::fs::read(&path).map_err(|e| EvalError::FontRead {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    Ok((path, bytes))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::{FONT_ENV, find_font};
    use crate::EvalError;

    #[test]
    fn missing_fonts_are_reported_with_every_path_tried_and_a_remedy() {
        let tried = vec![
            PathBuf::from("/nonexistent/arbiter/A.ttf"),
            PathBuf::from("/nonexistent/arbiter/B.ttf"),
        ];
        let err = find_font(None, &tried).unwrap_err();
        assert!(
            matches!(&err, EvalError::NoFont { tried: t } if *t == tried),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(message.contains("/nonexistent/arbiter/A.ttf, /nonexistent/arbiter/B.ttf"));
        assert!(message.contains("fonts-dejavu-core"));
        assert!(message.contains(FONT_ENV));
    }

    #[test]
    fn an_explicit_font_path_that_does_not_exist_is_an_error_naming_it() {
        let err = find_font(Some(PathBuf::from("/nonexistent/x.ttf")), &[]).unwrap_err();
        assert!(matches!(err, EvalError::FontRead { .. }));
        assert!(
            err.to_string()
                .starts_with("cannot read font /nonexistent/x.ttf: ")
        );
    }

    #[test]
    fn the_first_existing_default_font_is_chosen() {
        let dir = tempfile::tempdir().unwrap();
        let present = dir.path().join("present.ttf");
        std::fs::write(&present, b"not really a font").unwrap();
        let defaults = vec![dir.path().join("absent.ttf"), present.clone()];
        let (path, bytes) = find_font(None, &defaults).unwrap();
        assert_eq!(path, present);
        assert_eq!(bytes, b"not really a font");
    }
}
