//! The pages that are not about alerts: login and errors.

use crate::layout::{escape, flash, page};
use crate::view::User;

/// The login form: an API token in a password field, posted to `/login`.
pub fn login_page(error: Option<&str>) -> String {
    let mut body = String::from("<section class=\"login\"><h1>Sign in</h1>");
    if let Some(e) = error {
        body.push_str(&flash(e, "error"));
    }
    body.push_str(concat!(
        "<form id=\"login-form\" method=\"post\" action=\"/login\">",
        "<label for=\"token\">API token</label>",
        "<input type=\"password\" name=\"token\" id=\"token\" required autocomplete=\"current-password\" autofocus>",
        "<button id=\"login-submit\" type=\"submit\">Sign in</button></form></section>\n"
    ));
    page("Sign in", None, &body)
}

/// An error page with the status code and a plain message.
pub fn error_page(user: Option<&User>, status: u16, message: &str) -> String {
    let body = format!(
        concat!(
            "<section class=\"error-page\" data-status=\"{}\"><h1>Error {}</h1>",
            "<p class=\"flash error\">{}</p><p><a href=\"/queue\">Back to the queue</a></p></section>\n"
        ),
        status,
        status,
        escape(message)
    );
    page(&format!("Error {status}"), user, &body)
}
