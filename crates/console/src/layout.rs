//! The page frame (head, nav, flash), HTML escaping and the small formatters every page uses.

use arbiter_core::{FieldValue, Verdict};

use crate::view::User;

/// HTML-escapes `&`, `<`, `>`, `"` and `'`: safe in text and in quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A value reduced to one CSS class token (`[a-z0-9_-]`); anything else becomes `other`.
pub(crate) fn class_token(s: &str) -> String {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        s.to_string()
    } else {
        "other".to_string()
    }
}

/// The whole document: head, top bar with nav (when someone is logged in) and `body`.
pub(crate) fn page(title: &str, user: Option<&User>, body: &str) -> String {
    let nav = match user {
        Some(u) => format!(
            concat!(
                "<nav class=\"nav\"><a href=\"/queue\" class=\"nav-queue\">Queue</a> ",
                "<a href=\"/teaching\" class=\"nav-teaching\">Teaching</a> ",
                "<a href=\"/models\" class=\"nav-models\">Models</a>",
                "<span class=\"whoami\"><span class=\"user-name\">{}</span> ",
                "<span class=\"user-role\">({})</span></span>",
                "<form method=\"post\" action=\"/logout\" class=\"logout-form\">",
                "<button id=\"logout\" type=\"submit\">Log out</button></form></nav>"
            ),
            escape(&u.name),
            u.role.as_str()
        ),
        None => String::new(),
    };
    format!(
        concat!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
            "<title>{} · Arbiter</title>",
            "<link rel=\"stylesheet\" href=\"/console/style.css\"></head>\n<body>",
            "<header class=\"topbar\"><a class=\"brand\" href=\"/queue\">Arbiter</a>{}</header>\n",
            "<main>\n{}</main>\n</body></html>\n"
        ),
        escape(title),
        nav,
        body
    )
}

/// A flash message; `kind` is an extra class (`error`, `ok`, or empty).
pub(crate) fn flash(message: &str, kind: &str) -> String {
    let class = if kind.is_empty() {
        "flash".to_string()
    } else {
        format!("flash {}", class_token(kind))
    };
    format!(
        "<p class=\"{class}\" role=\"status\">{}</p>\n",
        escape(message)
    )
}

/// A probability as [`arbiter_core::display::p_text`] writes it (the rule the terminal uses
/// too), escaped: the extremes say `< 0.001` / `> 0.999` instead of rounding to a certainty
/// the model does not claim.
pub(crate) fn fmt_p(p: f64) -> String {
    escape(&arbiter_core::display::p_text(p))
}

/// A plain number: integers without a fraction, otherwise the shortest exact form.
pub(crate) fn fmt_number(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        format!("{x}")
    }
}

/// A feature value, escaped.
pub(crate) fn field_value(v: &FieldValue) -> String {
    match v {
        FieldValue::Number(x) => fmt_number(*x),
        FieldValue::Text(s) => escape(s),
        FieldValue::Missing => "<em>missing</em>".to_string(),
    }
}

/// `benign` or `malicious`.
pub(crate) fn verdict_str(v: Verdict) -> &'static str {
    v.as_str()
}

/// Escaped items joined with `, `, or `fallback` when there are none.
pub(crate) fn join_escaped(items: &[String], fallback: &str) -> String {
    if items.is_empty() {
        return fallback.to_string();
    }
    items
        .iter()
        .map(|s| format!("<code>{}</code>", escape(s)))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_replaces_all_five_html_metacharacters() {
        assert_eq!(
            escape(r#"<a href="x" title='y'>&</a>"#),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn class_tokens_refuse_anything_but_plain_names() {
        assert_eq!(class_token("low_confidence"), "low_confidence");
        assert_eq!(class_token("x\" onclick=\"y"), "other");
        assert_eq!(class_token("Auto"), "other");
        assert_eq!(class_token(""), "other");
    }

    #[test]
    fn probabilities_never_round_to_certainty() {
        assert_eq!(fmt_p(0.51), "0.510");
        assert_eq!(fmt_p(0.99999), "&gt; 0.999");
        assert_eq!(fmt_p(0.00001), "&lt; 0.001");
        assert_eq!(fmt_p(1.0), "&gt; 0.999");
    }

    #[test]
    fn whole_numbers_print_without_a_fraction() {
        assert_eq!(fmt_number(2362379.0), "2362379");
        assert_eq!(fmt_number(0.093), "0.093");
    }
}
