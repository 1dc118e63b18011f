//! The Models page: the registry with each model's lineage and latest gate report, the
//! challenger's disagreements with the champion, and (for admins) the lifecycle's buttons —
//! shadow, canary, promote under four eyes, retire, roll back.

use arbiter_store::{ModelRow, ModelState};

use crate::layout::{escape, flash, page};
use crate::view::{ModelsView, User};

fn short(id: &str) -> String {
    escape(&id.chars().take(19).collect::<String>()) + "…"
}

/// The registry and its lifecycle actions.
pub fn models_page(user: &User, view: &ModelsView) -> String {
    let mut body = String::from("<h1>Models</h1>\n");
    if let Some(m) = &view.flash {
        body.push_str(&flash(m, "ok"));
    }
    body.push_str(
        "<p class=\"models-note\">A retrained model becomes champion only when its latest gate \
         report against the champion passed and two different admins promote it.</p>\n",
    );
    body.push_str(concat!(
        "<table id=\"models\" class=\"queue\"><thead><tr><th>Model</th><th>State</th>",
        "<th>Parent</th><th>Registered</th><th>Latest gate</th><th>Promotion</th>",
        "<th></th></tr></thead><tbody>\n"
    ));
    for m in &view.models {
        body.push_str(&row(m, view, user));
    }
    body.push_str("</tbody></table>\n");
    if view.may_change && view.models.iter().any(|m| m.state == ModelState::Champion) {
        body.push_str(concat!(
            "<form method=\"post\" action=\"/models/rollback\" class=\"rollback-form\">",
            "<button type=\"submit\" id=\"rollback\">Roll back the champion</button></form>\n"
        ));
    }
    body.push_str("<h2>Shadow and canary</h2>\n");
    match &view.challenger {
        None => body.push_str(
            "<p class=\"empty\" id=\"challenger-empty\">No model is scoring beside the champion.</p>\n",
        ),
        Some(c) => {
            body.push_str(&format!(
                "<p id=\"challenger\">{} has given {} second opinions; {} differ from the decision \
                 acted on.</p>\n",
                short(&c.id),
                c.opinions,
                c.disagreeing
            ));
            if let Some(t) = &c.tally {
                body.push_str(&format!(
                    "<p id=\"canary-tally\">As the canary it decided {} alerts ({} automated); \
                     humans reviewed {}, overrode {}, and found {} automated decisions wrong.</p>\n",
                    t.decided, t.automated, t.reviewed, t.overridden, t.automated_overridden
                ));
            }
            if !c.latest.is_empty() {
                body.push_str(concat!(
                    "<table id=\"disagreements\" class=\"queue\"><thead><tr><th>Alert</th>",
                    "<th>Acted on</th><th>Second opinion</th></tr></thead><tbody>\n"
                ));
                for o in &c.latest {
                    let p = |p: Option<f64>| p.map_or("—".to_string(), |p| format!("{p:.3}"));
                    body.push_str(&format!(
                        "<tr class=\"disagreement\"><td><a href=\"/alerts/{}\">{}</a></td>\
                         <td>{} {} (p {}) by {}</td><td>{} {} {} (p {})</td></tr>\n",
                        o.alert,
                        escape(&o.key.to_string()),
                        o.acted_tier,
                        escape(o.acted_action.as_deref().unwrap_or("")),
                        p(o.acted_p_malicious),
                        o.acted_by.as_ref().map_or("—".into(), |m| short(m.as_str())),
                        o.opinion.role,
                        o.opinion.tier,
                        escape(o.opinion.action.as_deref().unwrap_or("")),
                        p(o.opinion.p_malicious),
                    ));
                }
                body.push_str("</tbody></table>\n");
            }
        }
    }
    page("Models", Some(user), &body)
}

fn row(m: &ModelRow, view: &ModelsView, user: &User) -> String {
    let id = m.id.as_str();
    let gate = match view.gates.get(id) {
        None => "none".to_string(),
        Some(g) => format!(
            "<span class=\"gate {}\">{}</span> vs {} <code>{:.12}</code>",
            if g.passed { "passed" } else { "failed" },
            if g.passed { "passed" } else { "failed" },
            short(g.champion.as_str()),
            escape(&g.sha256)
        ),
    };
    let asked = match &m.promotion_requested_by {
        None => String::new(),
        Some(by) => format!("asked by {}; needs a second admin", escape(&by.to_string())),
    };
    let mut actions = String::new();
    if view.may_change {
        let form = |path: &str, label: &str, extra: &str| {
            format!(
                "<form method=\"post\" action=\"/models/{id}/{path}\" class=\"model-form\">{extra}\
                 <button type=\"submit\" class=\"{path}\">{label}</button></form>"
            )
        };
        let mine = m
            .promotion_requested_by
            .as_ref()
            .and_then(|a| a.person_name())
            .is_some_and(|p| p == user.name);
        match m.state {
            ModelState::Candidate => {
                actions.push_str(&form("shadow", "Shadow", ""));
                actions.push_str(&form(
                    "canary",
                    "Canary",
                    "<input name=\"share\" value=\"0.1\" size=\"4\" aria-label=\"share\">",
                ));
            }
            ModelState::Shadow => actions.push_str(&form(
                "canary",
                "Canary",
                "<input name=\"share\" value=\"0.1\" size=\"4\" aria-label=\"share\">",
            )),
            _ => {}
        }
        if matches!(
            m.state,
            ModelState::Candidate | ModelState::Shadow | ModelState::Canary
        ) {
            if !mine {
                let label = if m.promotion_requested_by.is_some() {
                    "Approve promotion"
                } else {
                    "Ask to promote"
                };
                actions.push_str(&form("promote", label, ""));
            }
            actions.push_str(&form(
                "retire",
                "Retire",
                "<input name=\"reason\" required placeholder=\"why\" aria-label=\"reason\">",
            ));
        }
    }
    format!(
        "<tr class=\"model\" data-state=\"{}\" id=\"model-{}\"><td><code>{}</code></td><td>{}</td>\
         <td>{}</td><td>{} by {}</td><td>{}</td><td class=\"promotion\">{}</td><td>{}</td></tr>\n",
        m.state,
        escape(id.trim_start_matches("sha256:")),
        short(id),
        m.state,
        m.parent.as_ref().map_or("—".into(), |p| short(p.as_str())),
        m.registered_at.format("%Y-%m-%d %H:%M"),
        escape(&m.registered_by.to_string()),
        gate,
        asked,
        actions
    )
}
