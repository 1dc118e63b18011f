//! The package's context sections: the counterfactual, the falsification check, similar past
//! cases, and provenance (what the model could and could not see).

use arbiter_core::{Counterfactual, EvidencePackage, Falsification, SimilarCases};

use crate::layout::{escape, field_value, fmt_p, join_escaped, verdict_str};

pub(crate) fn counterfactual(cf: &Counterfactual) -> String {
    let mut s = format!(
        "<section id=\"counterfactual\" class=\"counterfactual {}\"><h2>Counterfactual</h2><p>{}</p>",
        if cf.found { "found" } else { "not-found" },
        escape(&cf.statement)
    );
    if cf.found {
        s.push_str("<ul class=\"changes\">");
        for c in &cf.changes {
            s.push_str(&format!(
                "<li><code>{}</code>: {} → {}</li>",
                escape(&c.field),
                field_value(&c.from),
                field_value(&c.to)
            ));
        }
        s.push_str("</ul>");
        if let (Some(v), Some(p)) = (cf.flips_to, cf.p_after) {
            s.push_str(&format!(
                "<p class=\"flips\">would flip the verdict to <b>{}</b> (p after {})</p>",
                verdict_str(v),
                fmt_p(p)
            ));
        }
    }
    s.push_str("</section>\n");
    s
}

pub(crate) fn falsify(f: &Falsification) -> String {
    let field = match &f.field {
        Some(x) => format!(
            " <span class=\"on-field\">(on <code>{}</code>)</span>",
            escape(x)
        ),
        None => String::new(),
    };
    format!(
        concat!(
            "<section id=\"falsify\"><h2>The check that would prove it wrong</h2>",
            "<p class=\"check\">{}{}</p><p class=\"because\">because {}</p></section>\n"
        ),
        escape(&f.check),
        field,
        escape(&f.because)
    )
}

pub(crate) fn similar(sc: &SimilarCases) -> String {
    let mut s = String::from("<section id=\"similar\"><h2>Similar past cases</h2>");
    let store = match &sc.store {
        Some(st) => format!(" from <code>{}</code>", escape(st)),
        None => String::new(),
    };
    s.push_str(&format!(
        "<p class=\"hint\">similarity: {}{}</p>",
        escape(&sc.representation),
        store
    ));
    if sc.cases.is_empty() {
        let note = sc
            .note
            .as_deref()
            .unwrap_or("no similar resolved cases were found");
        s.push_str(&format!("<p class=\"note\">{}</p>", escape(note)));
    } else {
        s.push_str(concat!(
            "<table class=\"similar\"><thead><tr><th>Alert</th><th>Source</th>",
            "<th>Resolved as</th><th>Category</th><th>Distance</th></tr></thead><tbody>"
        ));
        for c in &sc.cases {
            s.push_str(&format!(
                "<tr class=\"case\"><td>{}</td><td>{}:{}</td><td>{}</td><td>{}</td><td>{:.4}</td></tr>",
                escape(&c.alert_id),
                escape(&c.source.file),
                c.source.line,
                escape(&c.resolution),
                escape(&c.category),
                c.distance
            ));
        }
        s.push_str("</tbody></table>");
        if let Some(n) = &sc.note {
            s.push_str(&format!("<p class=\"note\">{}</p>", escape(n)));
        }
    }
    s.push_str("</section>\n");
    s
}

pub(crate) fn provenance(pkg: &EvidencePackage) -> String {
    let p = &pkg.provenance;
    let window = match &p.window {
        Some([a, b]) => format!("{} to {}", escape(a), escape(b)),
        None => "none declared".to_string(),
    };
    let seen_class = if p.features_present < p.features_expected {
        "partial"
    } else {
        "complete"
    };
    format!(
        concat!(
            "<section id=\"provenance\"><h2>What the model could and could not see</h2>",
            "<dl class=\"facts\">",
            "<dt>Features seen</dt><dd class=\"seen {}\"><b>{} of {}</b> features the model reads</dd>",
            "<dt>Missing</dt><dd class=\"missing\">{}</dd>",
            "<dt>Never seen in training</dt><dd class=\"unseen\">{}</dd>",
            "<dt>Not model inputs</dt><dd class=\"not-inputs\">{}</dd>",
            "<dt>Time window</dt><dd>{}</dd>",
            "<dt>Bundle</dt><dd><code>{}</code></dd><dt>Schema</dt><dd><code>{}</code></dd>",
            "<dt>Calibration</dt><dd>{}</dd><dt>Method</dt><dd>{}</dd>",
            "<dt>Package</dt><dd>schema version {}, source {}:{}</dd></dl></section>\n"
        ),
        seen_class,
        p.features_present,
        p.features_expected,
        join_escaped(&p.missing, "none"),
        join_escaped(&p.unseen_values, "none"),
        join_escaped(&p.not_model_inputs, "none"),
        window,
        escape(&p.bundle),
        escape(&p.schema),
        escape(&p.calibration),
        escape(&p.method),
        escape(&pkg.schema_version),
        escape(&pkg.source.file),
        pkg.source.line,
    )
}
