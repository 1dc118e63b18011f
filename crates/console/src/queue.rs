//! The queue page: filters, counts, and one row per alert in the order given (riskiest first,
//! as the store sorts it).

use arbiter_core::{AlertState, Flag, Tier};
use arbiter_store::AlertRow;

use crate::gauge::{confidence_block, flag_badges};
use crate::layout::{escape, fmt_p, page};
use crate::view::{QueueView, User};

fn words<T: Copy + std::fmt::Display>(all: &[T]) -> Vec<String> {
    all.iter().map(|x| x.to_string()).collect()
}

/// The queue of alerts with its filter form and counts.
pub fn queue_page(user: &User, view: &QueueView) -> String {
    let mut body = String::from("<h1>Queue</h1>\n");
    body.push_str(&filters(view));
    body.push_str(&counts(view));
    if view.rows.is_empty() {
        body.push_str("<p class=\"empty\" id=\"queue-empty\">No alerts match this filter.</p>\n");
    } else {
        body.push_str(concat!(
            "<table id=\"queue\" class=\"queue\"><thead><tr>",
            "<th>Alert</th><th>Time</th><th>Tier</th><th>State</th><th>p(malicious)</th>",
            "<th>Verdict / category</th><th>Uncertainty</th><th>Recommended action</th>",
            "</tr></thead><tbody>\n"
        ));
        for row in &view.rows {
            body.push_str(&queue_row(row));
        }
        body.push_str("</tbody></table>\n");
    }
    page("Queue", Some(user), &body)
}

/// A `<select>` with an "any" option and `current` preselected (kept even when unknown).
fn select(name: &str, label: &str, options: &[String], current: Option<&str>) -> String {
    let current = current.filter(|c| !c.is_empty());
    let mut s = format!(
        "<label>{label} <select name=\"{name}\" id=\"filter-{name}\"><option value=\"\">any</option>"
    );
    let mut known = false;
    for o in options {
        let sel = if current == Some(o.as_str()) {
            known = true;
            " selected"
        } else {
            ""
        };
        s.push_str(&format!(
            "<option value=\"{o}\"{sel}>{}</option>",
            o.replace('_', " ")
        ));
    }
    if let (Some(c), false) = (current, known) {
        let c = escape(c);
        s.push_str(&format!("<option value=\"{c}\" selected>{c}</option>"));
    }
    s.push_str("</select></label>");
    s
}

fn filters(view: &QueueView) -> String {
    format!(
        concat!(
            "<form id=\"queue-filter\" class=\"filters\" method=\"get\" action=\"/queue\">",
            "{}{}<label>Category <input type=\"text\" name=\"category\" id=\"filter-category\" ",
            "value=\"{}\" placeholder=\"any\"></label>{}",
            "<label class=\"filter-new\"><input type=\"checkbox\" name=\"new_pattern\" ",
            "value=\"true\" id=\"filter-new-pattern\"{}> new patterns only</label> ",
            "<button type=\"submit\" id=\"filter-submit\">Filter</button> ",
            "<a href=\"/queue\" class=\"filter-clear\">clear</a></form>\n"
        ),
        select(
            "tier",
            "Tier",
            &words(Tier::ALL),
            view.tier.map(|t| t.as_str())
        ),
        select(
            "state",
            "State",
            &words(AlertState::ALL),
            view.state.map(|t| t.as_str())
        ),
        escape(view.category.as_deref().unwrap_or("")),
        select(
            "flag",
            "Flag",
            &words(&[
                Flag::OutOfDistribution,
                Flag::MissingTelemetry,
                Flag::ConflictingSignals,
                Flag::LowConfidence,
                Flag::UnstableExplanation,
            ]),
            view.flag.map(|t| t.as_str())
        ),
        if view.new_pattern { " checked" } else { "" },
    )
}

fn counts(view: &QueueView) -> String {
    let mut s = String::from("<ul id=\"counts\" class=\"counts\">");
    for (state, n) in &view.counts.by_state {
        s.push_str(&format!(
            "<li class=\"count state-{}\" data-state=\"{}\"><b>{n}</b> {}</li>",
            state.as_str(),
            state.as_str(),
            state.as_str().replace('_', " ")
        ));
    }
    s.push_str(&format!(
        "<li class=\"count count-new-patterns\"><a href=\"/queue?new_pattern=true\"><b>{}</b> new \
         pattern{}</a></li></ul>\n",
        view.counts.new_patterns,
        if view.counts.new_patterns == 1 {
            ""
        } else {
            "s"
        }
    ));
    s
}

fn queue_row(row: &AlertRow) -> String {
    let id = row.id;
    let time = match &row.time {
        Some(t) => escape(t),
        None => format!(
            "<span class=\"received\">received {}</span>",
            escape(&arbiter_core::display::time(&row.received_at))
        ),
    };
    let new = if row.new_pattern {
        " <span class=\"new-pattern\" title=\"first alert of a new case pattern\">★ new pattern</span>"
    } else {
        ""
    };
    // An abstention's probability is no evidence (the row is unlike training): it must not
    // read as "near certain" in the queue.
    let p = match (row.p_malicious, row.tier) {
        (Some(p), Tier::Abstain) => format!(
            "<span class=\"abstained-p\"><b>model abstained</b> — its p {} is not evidence</span>",
            fmt_p(p)
        ),
        (Some(p), _) => confidence_block(p, None, true),
        (None, _) => "<span class=\"unscored\">not scored</span>".to_string(),
    };
    let verdict = match (&row.verdict, &row.category) {
        (Some(v), Some(c)) => format!(
            "{} <span class=\"category\">{}</span>",
            crate::layout::verdict_str(*v),
            escape(c)
        ),
        (Some(v), None) => crate::layout::verdict_str(*v).to_string(),
        (None, Some(c)) => format!("<span class=\"category\">{}</span>", escape(c)),
        (None, None) => "—".to_string(),
    };
    let flags = if row.flags.is_empty() {
        "<span class=\"no-flags\">none</span>".to_string()
    } else {
        flag_badges(
            &row.flags
                .iter()
                .map(|f| f.as_str().to_string())
                .collect::<Vec<_>>(),
        )
    };
    let action = match (&row.action, row.tier) {
        (_, Tier::Abstain) => "<span class=\"no-action\">none (model abstained)</span>".to_string(),
        (Some(a), _) => format!("<span class=\"action-name\">{}</span>", escape(a)),
        (None, _) => "<span class=\"no-action\">—</span>".to_string(),
    };
    format!(
        concat!(
            "<tr class=\"alert-row row-tier-{tc}\" data-id=\"{id}\" data-tier=\"{tier}\">",
            "<td><a class=\"alert-link\" href=\"/alerts/{id}\">{aid}</a>{new}</td>",
            "<td class=\"time\">{time}</td>",
            "<td><span class=\"tier tier-{tc}\">{tier}</span></td>",
            "<td><span class=\"state state-{sc}\">{state}</span></td>",
            "<td class=\"p\">{p}</td><td>{verdict}</td><td class=\"flags\">{flags}</td>",
            "<td>{action}</td></tr>\n"
        ),
        tc = row.tier.as_str(),
        id = id,
        tier = row.tier.as_str(),
        aid = escape(row.key.id()),
        new = new,
        time = time,
        sc = row.state.as_str(),
        state = row.state.as_str().replace('_', " "),
        p = p,
        verdict = verdict,
        flags = flags,
        action = action,
    )
}
