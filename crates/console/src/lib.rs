//! The analyst console: server-rendered HTML, no JavaScript required, no third-party code.
//!
//! Pure functions from [`view`] data to HTML strings. Everything that came from an alert
//! (field values, ids, analyst notes) is untrusted and escaped with [`escape`]. The pages use
//! no inline scripts, event handlers or style attributes, so a strict content security policy
//! (`default-src 'self'`) holds.

mod alert;
mod context;
mod decide;
mod evidence;
mod gauge;
mod layout;
mod models;
mod pages;
mod queue;
mod style;
mod teaching;
mod timeline;
pub mod view;

pub use alert::{alert_page, alert_page_error};
pub use layout::escape;
pub use models::models_page;
pub use pages::{error_page, login_page};
pub use queue::queue_page;
pub use style::STYLE;
pub use teaching::teaching_page;
pub use view::{
    ActionInfo, AlertView, HeldView, QueueCounts, QueueView, ReasonChoice, TeachingView,
    TimelineItem, User,
};
