//! The Teaching page: what people taught the model, with where each label came from, and what
//! the poisoning screen holds back, with its reasons (a lead can release an example).

use arbiter_store::ExampleRow;

use crate::layout::{escape, flash, page};
use crate::view::{TeachingView, User};

/// The teaching set: quarantined examples first, then the most recent ones.
pub fn teaching_page(user: &User, view: &TeachingView) -> String {
    let mut body = String::from("<h1>Teaching</h1>\n");
    if let Some(m) = &view.flash {
        body.push_str(&flash(m, "ok"));
    }
    body.push_str(&format!(
        "<p class=\"teaching-counts\" id=\"teaching-counts\">{} examples, {} quarantined. \
         Labellers' estimated accuracy: {}.</p>\n",
        view.total,
        view.held.len(),
        if view.accuracy.is_empty() {
            "none yet".to_string()
        } else {
            view.accuracy
                .iter()
                .map(|(l, a)| format!("{} {a:.3}", escape(l)))
                .collect::<Vec<_>>()
                .join(", ")
        }
    ));
    body.push_str("<h2>Quarantined</h2>\n");
    if view.held.is_empty() {
        body.push_str("<p class=\"empty\" id=\"quarantine-empty\">Nothing is held back.</p>\n");
    } else {
        body.push_str("<ul id=\"quarantine\" class=\"quarantine\">\n");
        for h in &view.held {
            let r = &h.example;
            body.push_str(&format!(
                "<li class=\"held\" id=\"held-{}\"><p>{} on <a href=\"/alerts/{}\">{}</a> by {} \
                 ({}), P(label right) {:.2}</p><ul class=\"reasons\">",
                r.id,
                escape(r.example.label.as_str()),
                r.alert,
                escape(&r.example.key.to_string()),
                escape(&r.example.labeller.to_string()),
                r.example.source.as_str(),
                h.posterior
            ));
            for reason in &h.reasons {
                body.push_str(&format!("<li>{}</li>", escape(reason)));
            }
            body.push_str("</ul>");
            if view.may_release {
                body.push_str(&format!(
                    concat!(
                        "<form method=\"post\" action=\"/teaching/{id}/release\" class=\"release-form\">",
                        "<label for=\"reason-{id}\">Why the label is right</label>",
                        "<input name=\"reason\" id=\"reason-{id}\" required maxlength=\"4096\">",
                        "<button type=\"submit\" id=\"release-{id}\">Release into training</button></form>"
                    ),
                    id = r.id
                ));
            }
            body.push_str("</li>\n");
        }
        body.push_str("</ul>\n");
    }
    body.push_str("<h2>Recent examples</h2>\n");
    if view.recent.is_empty() {
        body.push_str(
            "<p class=\"empty\" id=\"teaching-empty\">No labels yet: decisions with a label, \
             approvals and imported incident tickets appear here.</p>\n",
        );
    } else {
        body.push_str(concat!(
            "<table id=\"teaching\" class=\"queue\"><thead><tr><th>#</th><th>Time</th>",
            "<th>Source</th><th>Labeller</th><th>Alert</th><th>Model said</th><th>Label</th>",
            "<th>Reason</th><th>Feature that mattered</th><th>Ticket</th></tr></thead><tbody>\n"
        ));
        for r in &view.recent {
            body.push_str(&row(r));
        }
        body.push_str("</tbody></table>\n");
    }
    page("Teaching", Some(user), &body)
}

fn row(r: &ExampleRow) -> String {
    let e = &r.example;
    let opt = |s: &Option<String>| s.as_deref().map_or(String::new(), escape);
    format!(
        "<tr class=\"example\" data-source=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td>\
         <td><a href=\"/alerts/{}\">{}</a></td><td>{}</td><td class=\"label\">{}</td><td>{}</td>\
         <td>{}</td><td>{}</td></tr>\n",
        e.source.as_str(),
        r.id,
        e.time.format("%Y-%m-%d %H:%M"),
        e.source.as_str(),
        escape(&e.labeller.to_string()),
        e.token_name.as_deref().map_or(String::new(), |t| format!(
            " <span class=\"token\">({})</span>",
            escape(t)
        )),
        r.alert,
        escape(&e.key.to_string()),
        r.model_verdict.map_or("—".to_string(), |v| {
            format!(
                "{v}{}",
                r.model_category
                    .as_deref()
                    .filter(|c| *c != arbiter_core::BENIGN && v == arbiter_core::Verdict::Malicious)
                    .map_or(String::new(), |c| format!(" ({})", escape(c)))
            )
        }),
        escape(e.label.as_str()),
        opt(&e.reason_code),
        opt(&e.feature),
        opt(&e.reference),
    )
}
