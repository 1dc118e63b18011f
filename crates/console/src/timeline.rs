//! The audit timeline of an alert, oldest first, each event linked to its audit proof.

use crate::layout::{class_token, escape};
use crate::view::TimelineItem;

pub(crate) fn timeline_section(items: &[TimelineItem], note: Option<&str>) -> String {
    let mut s = String::from("<section id=\"timeline-section\"><h2>Timeline</h2>");
    if let Some(n) = note {
        s.push_str(&format!(
            "<p class=\"banner timeline-note\" id=\"timeline-note\" role=\"alert\">⚠ {}</p>",
            escape(n)
        ));
    }
    s.push_str("<ol id=\"timeline\" class=\"timeline\">");
    for it in items {
        let reason = match &it.reason_code {
            Some(r) => format!(
                " <span class=\"reason-code\">reason <code>{}</code></span>",
                escape(r)
            ),
            None => String::new(),
        };
        let note = match &it.note {
            Some(n) => format!("<p class=\"note\">{}</p>", escape(n)),
            None => String::new(),
        };
        let audit = match it.audit_index {
            Some(i) => {
                format!(" <a class=\"audit-link\" href=\"/api/v1/audit/proof/{i}\">audit #{i}</a>")
            }
            None => " <span class=\"audit-none\">not in the audit log</span>".to_string(),
        };
        s.push_str(&format!(
            concat!(
                "<li class=\"timeline-item kind-{}\" data-kind=\"{}\">",
                "<time>{}</time> <span class=\"kind\">{}</span> by <span class=\"actor\">{}</span>",
                "{}{}<p class=\"tl-summary\">{}</p>{}</li>"
            ),
            class_token(&it.kind),
            escape(&it.kind),
            escape(&it.time),
            escape(&it.kind),
            escape(&it.actor),
            reason,
            audit,
            escape(&it.summary),
            note,
        ));
    }
    s.push_str("</ol>");
    if items.is_empty() {
        s.push_str("<p class=\"empty\">no events yet.</p>");
    }
    s.push_str("</section>\n");
    s
}
