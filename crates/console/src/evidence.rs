//! The evidence sections of the alert page: drivers as a diverging bar chart and the competing
//! hypotheses. The rest of the package (counterfactual, check, similar cases, provenance) is in
//! [`crate::context`].

use arbiter_core::{Driver, Evidence, EvidencePackage, Hypothesis, Verdict};

use crate::context::{counterfactual, falsify, provenance, similar};
use crate::layout::{escape, field_value, fmt_p};

/// Every section derived from the package, after the verdict.
pub(crate) fn evidence_sections(pkg: &EvidencePackage) -> String {
    let mut s = drivers(&pkg.drivers);
    s.push_str(&hypotheses(&pkg.hypotheses));
    s.push_str(&counterfactual(&pkg.counterfactual));
    s.push_str(&falsify(&pkg.falsify));
    s.push_str(&similar(&pkg.similar_cases));
    s.push_str(&provenance(pkg));
    s
}

/// A diverging bar: left of the centre toward benign, right toward malicious, length relative
/// to the largest contribution on the page.
fn bar(contribution: f64, max: f64, toward: Verdict) -> String {
    let w = if max > 0.0 && contribution.is_finite() {
        ((contribution.abs() / max) * 98.0 * 10.0).round() / 10.0
    } else {
        0.0
    };
    let (class, x) = match toward {
        Verdict::Benign => ("bar-benign", 100.0 - w),
        Verdict::Malicious => ("bar-malicious", 100.0),
    };
    format!(
        concat!(
            "<svg class=\"driver-bar\" viewBox=\"0 0 200 12\" preserveAspectRatio=\"none\" aria-hidden=\"true\">",
            "<rect class=\"bar-track\" x=\"0\" y=\"0\" width=\"200\" height=\"12\"/>",
            "<rect class=\"bar {}\" x=\"{:.1}\" y=\"1\" width=\"{:.1}\" height=\"10\"/>",
            "<line class=\"bar-axis\" x1=\"100\" y1=\"0\" x2=\"100\" y2=\"12\" vector-effect=\"non-scaling-stroke\"/></svg>"
        ),
        class, x, w
    )
}

fn drivers(drivers: &[Driver]) -> String {
    let mut s = String::from(concat!(
        "<section id=\"drivers-section\"><h2>Drivers</h2>",
        "<p class=\"hint\">Exact contributions in log-odds; bars left of the axis push toward ",
        "<span class=\"dir dir-benign\">← benign</span>, right toward ",
        "<span class=\"dir dir-malicious\">malicious →</span>.</p>"
    ));
    if drivers.is_empty() {
        s.push_str("<p class=\"empty\" id=\"drivers\">no drivers were computed for this alert.</p></section>\n");
        return s;
    }
    let max = drivers
        .iter()
        .map(|d| d.contribution.abs())
        .filter(|c| c.is_finite())
        .fold(0.0_f64, f64::max);
    s.push_str("<ol id=\"drivers\" class=\"drivers\">");
    for d in drivers {
        let (dir_class, dir_words) = match d.toward {
            Verdict::Benign => ("toward-benign", "← benign"),
            Verdict::Malicious => ("toward-malicious", "malicious →"),
        };
        let typical = match &d.typical {
            Some(t) => format!("<span class=\"typical\">typical: {}</span>", escape(t)),
            None => String::new(),
        };
        s.push_str(&format!(
            concat!(
                "<li class=\"driver {dc}\" data-field=\"{field}\">",
                "<div class=\"driver-head\"><span class=\"contribution\">{c:+.3}</span> ",
                "<span class=\"dir\">{dw}</span>{bar}",
                "<span class=\"fv\"><code>{field}</code> = <b>{value}</b></span>{typ}",
                "<span class=\"agreement\">{agree:.0} % of members agree</span></div>",
                "<p class=\"driver-text\">{text}</p></li>"
            ),
            dc = dir_class,
            field = escape(&d.field),
            c = d.contribution,
            dw = dir_words,
            bar = bar(d.contribution, max, d.toward),
            value = field_value(&d.value),
            typ = typical,
            agree = d.member_agreement * 100.0,
            text = escape(&d.text),
        ));
    }
    s.push_str("</ol></section>\n");
    s
}

fn evidence_list(items: &[Evidence]) -> String {
    if items.is_empty() {
        return "<span class=\"none\">nothing</span>".to_string();
    }
    let mut s = String::from("<ul>");
    for e in items {
        s.push_str(&format!("<li>{}</li>", escape(&e.text)));
    }
    s.push_str("</ul>");
    s
}

fn hypotheses(hyps: &[Hypothesis]) -> String {
    let mut s = String::from("<section id=\"hypotheses-section\"><h2>Competing hypotheses</h2>");
    if hyps.is_empty() {
        s.push_str("<p class=\"empty\" id=\"hypotheses\">no hypotheses were computed for this alert.</p></section>\n");
        return s;
    }
    s.push_str("<table id=\"hypotheses\" class=\"hypotheses\"><thead><tr><th>Hypothesis</th><th>p</th><th>Evidence for</th><th>Evidence against</th></tr></thead><tbody>");
    for h in hyps {
        let novel = h.name == "novel";
        let note = if novel {
            "<br><small>a weight from the OOD score, not a calibrated probability</small>"
        } else {
            ""
        };
        let w = (h.p.clamp(0.0, 1.0) * 100.0 * 10.0).round() / 10.0;
        s.push_str(&format!(
            concat!(
                "<tr class=\"hypothesis{}\" data-name=\"{}\"><th scope=\"row\">{}</th>",
                "<td class=\"hp\">{}<svg class=\"p-bar\" viewBox=\"0 0 100 6\" preserveAspectRatio=\"none\" aria-hidden=\"true\">",
                "<rect class=\"bar-track\" x=\"0\" y=\"0\" width=\"100\" height=\"6\"/>",
                "<rect class=\"p-fill\" x=\"0\" y=\"0\" width=\"{:.1}\" height=\"6\"/></svg>{}</td>",
                "<td class=\"for\">{}</td><td class=\"against\">{}</td></tr>"
            ),
            if novel { " novel" } else { "" },
            escape(&h.name),
            escape(&h.name),
            fmt_p(h.p),
            w,
            note,
            evidence_list(&h.evidence_for),
            evidence_list(&h.against),
        ));
    }
    s.push_str("</tbody></table></section>\n");
    s
}
