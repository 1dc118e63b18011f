//! The recommended action (impact, reversibility, blast radius, four eyes) and the decision
//! controls: one-click approve, and override/reject with a reason code and a note.

use crate::layout::{class_token, escape};
use crate::view::{AlertView, User};

/// The action the policy recommends, or the plain statement that there is none.
pub(crate) fn action_section(view: &AlertView) -> String {
    let mut s = String::from("<section id=\"action\" class=\"action\"><h2>Recommended action</h2>");
    if view.abstained() {
        s.push_str(concat!(
            "<p class=\"no-recommendation\">No recommendation: the model abstained, ",
            "so a human must decide what, if anything, to do.</p></section>\n"
        ));
        return s;
    }
    let Some(a) = &view.action else {
        match &view.alert.action {
            Some(name) => {
                let a = &view.alert;
                let reversible = match a.reversible {
                    Some(true) => "yes",
                    Some(false) => "<b>no — cannot be undone</b>",
                    None => "unknown",
                };
                s.push_str(&format!(
                    concat!(
                        "<p class=\"action-name\"><b>{}</b></p><dl class=\"facts\">",
                        "<dt>Impact</dt><dd>{}</dd><dt>Reversible</dt><dd>{}</dd>",
                        "<dt>Blast radius</dt><dd>{}</dd></dl>"
                    ),
                    escape(name),
                    a.impact.map_or("unknown", |i| i.as_str()),
                    reversible,
                    escape(a.blast_radius.as_deref().unwrap_or("unknown")),
                ));
            }
            None => s.push_str("<p class=\"no-recommendation\">No action is recommended.</p>"),
        }
        s.push_str("</section>\n");
        return s;
    };
    s.push_str(&format!(
        concat!(
            "<p class=\"action-name\"><b>{}</b> — {}</p><dl class=\"facts\">",
            "<dt>Impact</dt><dd><span class=\"impact impact-{}\">{}</span></dd>",
            "<dt>Reversible</dt><dd class=\"{}\">{}</dd>",
            "<dt>Blast radius</dt><dd>{}</dd></dl>"
        ),
        escape(&a.name),
        escape(&a.description),
        class_token(&a.impact),
        escape(&a.impact),
        if a.reversible {
            "reversible"
        } else {
            "irreversible"
        },
        if a.reversible {
            "yes"
        } else {
            "<b>no — cannot be undone</b>"
        },
        escape(&a.blast_radius),
    ));
    if a.needs_two_approvals {
        s.push_str(concat!(
            "<p class=\"four-eyes\" id=\"four-eyes\">⚠ Four eyes: this action needs two different people ",
            "(four eyes): one approval is not enough.</p>"
        ));
    }
    let approvals = if view.approvals.is_empty() {
        "none yet".to_string()
    } else {
        view.approvals
            .iter()
            .map(|n| escape(n))
            .collect::<Vec<_>>()
            .join(", ")
    };
    s.push_str(&format!(
        "<p id=\"approvals\" class=\"approvals\">Approved so far: <b>{approvals}</b></p></section>\n"
    ));
    s
}

/// Why there are no controls, or the controls.
pub(crate) fn decision_section(user: &User, view: &AlertView) -> String {
    let mut s = String::from("<section id=\"decision\" class=\"decision\"><h2>Decision</h2>");
    if !view.open {
        s.push_str(&format!(
            "<p class=\"no-controls\" id=\"no-controls\">No decision controls: decided: {}.</p></section>\n",
            view.alert.state.as_str()
        ));
        return s;
    }
    if !user.can_decide() {
        let why = if user.role == arbiter_core::Role::Viewer {
            "viewers cannot decide".to_string()
        } else {
            format!("the {} role cannot decide", user.role)
        };
        s.push_str(&format!(
            "<p class=\"no-controls\" id=\"no-controls\">No decision controls: {why}.</p></section>\n"
        ));
        return s;
    }
    s.push_str(&approve_control(user, view));
    s.push_str(&override_form(view));
    s.push_str("</section>\n");
    s
}

fn approve_control(user: &User, view: &AlertView) -> String {
    if view.abstained() {
        return String::new();
    }
    let Some(name) = view
        .action
        .as_ref()
        .map(|a| &a.name)
        .or(view.alert.action.as_ref())
    else {
        return String::new();
    };
    let four_eyes = view.action.as_ref().is_some_and(|a| a.needs_two_approvals);
    let first = view
        .approvals
        .first()
        .map(|n| escape(n))
        .unwrap_or_default();
    let by_me = |actor: &String| actor.split_once(':').map_or(actor.as_str(), |x| x.1) == user.name;
    if four_eyes && view.approvals.iter().any(by_me) {
        return format!(
            concat!(
                "<p class=\"waiting\" id=\"awaiting-second\">Approved by <b>{}</b>; waiting for a ",
                "second, different person (four eyes). You cannot give the second approval.</p>"
            ),
            first
        );
    }
    let (label, notice) = if four_eyes && !view.approvals.is_empty() {
        (
            " (second approval)",
            format!(
                "<p class=\"waiting\" id=\"awaiting-second\">Approved by <b>{first}</b>; yours would be the second approval (four eyes).</p>"
            ),
        )
    } else {
        ("", String::new())
    };
    format!(
        concat!(
            "{}<form method=\"post\" action=\"/alerts/{}/decision\" class=\"approve-form\" id=\"approve-form\">",
            "<input type=\"hidden\" name=\"action\" value=\"approve\">",
            "<button id=\"approve\" type=\"submit\">Approve: {}{}</button></form>"
        ),
        notice,
        view.alert.id,
        escape(name),
        label
    )
}

fn options(items: impl Iterator<Item = (String, String)>) -> String {
    items
        .map(|(value, label)| {
            format!(
                "<option value=\"{}\">{}</option>",
                escape(&value),
                escape(&label)
            )
        })
        .collect()
}

fn override_form(view: &AlertView) -> String {
    format!(
        concat!(
            "<form id=\"override-form\" class=\"override-form\" method=\"post\" action=\"/alerts/{}/decision\">",
            "<fieldset><legend>Override or reject</legend>",
            "<label>Decision <select name=\"action\" id=\"decision-action\">",
            "<option value=\"override\">Override: the verdict is wrong</option>",
            "<option value=\"reject\">Reject the recommended action</option></select></label>",
            "<label>Reason <select name=\"reason_code\" id=\"reason-code\" required>",
            "<option value=\"\">choose a reason…</option>{}</select></label>",
            "<label>Corrected label <select name=\"label\" id=\"label\">",
            "<option value=\"\">no correction</option>{}</select></label>",
            "<label>Feature that should have mattered <select name=\"feature\" id=\"feature\">",
            "<option value=\"\">none</option>{}</select></label>",
            "<label class=\"wide\">Note (required) <textarea name=\"note\" id=\"note\" rows=\"3\" required ",
            "placeholder=\"what you saw that the model did not\"></textarea></label>",
            "<button id=\"override-submit\" type=\"submit\">Record decision</button>",
            "</fieldset></form>"
        ),
        view.alert.id,
        options(
            view.reason_codes
                .iter()
                .map(|r| (r.code.clone(), r.label.clone()))
        ),
        options(view.labels.iter().map(|l| (l.clone(), l.clone()))),
        options(view.features.iter().map(|f| (f.clone(), f.clone()))),
    )
}
