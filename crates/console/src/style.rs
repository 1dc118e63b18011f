//! The console's stylesheet.

/// The CSS, served by the server at `/console/style.css`.
pub const STYLE: &str = include_str!("style.css");
