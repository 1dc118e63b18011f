//! The alert page: header, the one-line why and what to check next, the uncertainty banners,
//! the verdict, then the evidence, the action, the decision controls and the timeline.

use arbiter_core::EvidencePackage;

use crate::decide::{action_section, decision_section};
use crate::evidence::evidence_sections;
use crate::gauge::{Band, confidence_block, flag_words};
use crate::layout::{
    class_token, escape, flash as flash_html, fmt_number, fmt_p, page, verdict_str,
};
use crate::timeline::timeline_section;
use crate::view::{AlertView, User};

/// One alert with everything known about it, and the decision controls the user may use.
pub fn alert_page(user: &User, view: &AlertView, flash: Option<&str>) -> String {
    render(user, view, flash.map(|m| (m, "")))
}

/// The alert page with an error message (a decision that was not recorded) at the top.
pub fn alert_page_error(user: &User, view: &AlertView, error: &str) -> String {
    render(user, view, Some((error, "error")))
}

fn render(user: &User, view: &AlertView, flash: Option<(&str, &str)>) -> String {
    let mut body = String::new();
    if let Some((m, kind)) = flash {
        body.push_str(&flash_html(m, kind));
    }
    body.push_str(&header(view));
    body.push_str(&summary(view));
    body.push_str(&banners(view));
    if let Some(pkg) = &view.package {
        body.push_str(&verdict_section(view, pkg));
        body.push_str(&evidence_sections(pkg));
    }
    body.push_str(&action_section(view));
    body.push_str(&decision_section(user, view));
    body.push_str(&timeline_section(
        &view.timeline,
        view.timeline_note.as_deref(),
    ));
    page(&format!("Alert {}", view.alert.key.id()), Some(user), &body)
}

fn header(view: &AlertView) -> String {
    let a = &view.alert;
    let time = match &a.time {
        Some(t) => format!("event time {} · ", escape(t)),
        None => String::new(),
    };
    let new = if a.new_pattern {
        " <span class=\"new-pattern\">★ new pattern</span>"
    } else {
        ""
    };
    format!(
        concat!(
            "<header class=\"alert-header\" id=\"alert-header\" data-id=\"{}\">",
            "<h1>Alert <span class=\"alert-id\">{}</span></h1>",
            "<p class=\"alert-meta\"><span class=\"tier tier-{}\">tier {}</span> ",
            "<span class=\"state state-{}\">{}</span>{} · ",
            "<span class=\"source\">{}:{}</span> · {}received {} · case <code>{}</code></p>",
            "</header>\n"
        ),
        a.id,
        escape(&a.key.to_string()),
        a.tier.as_str(),
        a.tier.as_str(),
        a.state.as_str(),
        a.state.as_str().replace('_', " "),
        new,
        escape(&a.source_file),
        a.source_line,
        time,
        escape(&arbiter_core::display::time(&a.received_at)),
        escape(&a.case_key),
    )
}

fn summary(view: &AlertView) -> String {
    let (why, check) = match &view.package {
        Some(p) => (escape(&p.summary.why), escape(&p.summary.check_next)),
        None => (
            "not scored: the model did not score this alert, so there is no verdict and no explanation."
                .to_string(),
            format!(
                "a human must decide from the raw alert: read {}:{}.",
                escape(&view.alert.source_file),
                view.alert.source_line
            ),
        ),
    };
    format!(
        concat!(
            "<section class=\"summary\"><p id=\"why\" class=\"why\"><span class=\"k\">Why</span> {}</p>",
            "<p id=\"check-next\" class=\"check-next\"><span class=\"k\">Check next</span> {}</p>",
            "</section>\n"
        ),
        why, check
    )
}

/// The banners: unscored, abstained, and one listing every uncertainty flag in words.
fn banners(view: &AlertView) -> String {
    let mut s = String::new();
    if view.package.is_none() {
        s.push_str(concat!(
            "<div class=\"banner unscored-banner\" id=\"unscored-banner\" role=\"alert\">",
            "<strong>✖ The model did not score this alert</strong> (timeout, error or no model). ",
            "There is no verdict and no recommendation from the model: a human must decide.</div>\n"
        ));
    }
    if view.abstained() {
        s.push_str(concat!(
            "<div class=\"banner abstain-banner\" id=\"abstain-banner\" role=\"alert\">",
            "<strong>⊘ The model abstained: it declined to decide this alert.</strong> ",
            "There is no recommendation: a human must decide."
        ));
        if view.package.is_some() {
            s.push_str(
                " The model's view below is shown for context; it is not evidence for a verdict.",
            );
        }
        s.push_str("</div>\n");
    }
    let flags = view.flags();
    if !flags.is_empty() {
        s.push_str(concat!(
            "<div class=\"banner uncertain-banner\" id=\"uncertain-banner\" role=\"alert\">",
            "<strong>⚠ Uncertain: do not take this verdict at face value.</strong><ul>"
        ));
        for f in &flags {
            let words = flag_words(f).unwrap_or("an uncertainty flag this console does not know");
            s.push_str(&format!(
                "<li class=\"flag-{}\"><b>{}</b>: <code>{}</code></li>",
                class_token(f),
                words,
                escape(f)
            ));
        }
        s.push_str("</ul></div>\n");
    }
    s
}

fn verdict_section(view: &AlertView, pkg: &EvidencePackage) -> String {
    let v = &pkg.verdict;
    let u = &pkg.uncertainty;
    let band = Band::of(v.p_malicious);
    let heading = if view.abstained() {
        "The model's view <span class=\"not-evidence\">(it abstained: not evidence for a verdict)</span>"
    } else {
        "Verdict"
    };
    let set = match v.conformal_set.as_slice() {
        [] => "{} — no verdict is conformal at this level".to_string(),
        [one] => format!("{{{}}}", verdict_str(*one)),
        many => format!(
            "{{{}}} — both verdicts remain plausible",
            many.iter()
                .map(|x| verdict_str(*x))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let category = match &v.category {
        Some(c) => format!(
            "<dt>Likeliest family</dt><dd>{} (p {})</dd>",
            escape(c),
            fmt_p(v.category_p)
        ),
        None => String::new(),
    };
    let truth = match &pkg.observed_label {
        Some(l) => format!(
            "<dt>Observed label</dt><dd>{} (from the data; never a model input)</dd>",
            escape(l)
        ),
        None => String::new(),
    };
    format!(
        concat!(
            "<section id=\"verdict\" class=\"verdict {}\"><h2>{}</h2>",
            "<p class=\"verdict-label\">{} <span class=\"conf-band\">{}</span></p>{}",
            "<dl class=\"facts\"><dt>p(malicious)</dt><dd>{} (calibrated)</dd>",
            "<dt>Member interval</dt><dd>{} to {} (spread {})</dd>",
            "<dt>Conformal set</dt><dd>{} at α = {}</dd>{}",
            "<dt>OOD score</dt><dd>{}</dd><dt>Stability</dt><dd>{} (agreement of members on the top drivers)</dd>",
            "<dt>Epistemic uncertainty</dt><dd class=\"epistemic {}\"><strong>{}</strong>: {} ",
            "<span class=\"muted\">(what the model does not know: members disagree by {} bits, distance from training {})</span></dd>",
            "<dt>Aleatoric uncertainty</dt><dd class=\"aleatoric {}\"><strong>{}</strong>: {} ",
            "<span class=\"muted\">(class overlap: entropy {} bits{})</span></dd>{}",
            "</dl></section>\n"
        ),
        crate::gauge::band_class(band),
        heading,
        verdict_str(v.label),
        band.words(),
        confidence_block(v.p_malicious, Some(v.interval), false),
        fmt_p(v.p_malicious),
        fmt_p(v.interval[0]),
        fmt_p(v.interval[1]),
        fmt_p(u.member_spread),
        set,
        fmt_number(v.alpha),
        category,
        format!("{:.2}", u.ood_score),
        format!("{:.2}", u.stability),
        u.epistemic.level,
        u.epistemic.level,
        escape(&u.epistemic.meaning),
        format!("{:.3}", u.epistemic.disagreement),
        format!("{:.2}", u.epistemic.distance),
        u.aleatoric.level,
        u.aleatoric.level,
        escape(&u.aleatoric.meaning),
        format!("{:.2}", u.aleatoric.entropy),
        if u.aleatoric.both_verdicts {
            ", conformal set holds both verdicts"
        } else {
            ""
        },
        truth,
    )
}
