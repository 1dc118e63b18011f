//! Everything that came from an alert is untrusted: no page may carry it unescaped.

mod common;

use arbiter_console::{QueueView, alert_page, error_page, escape, login_page, queue_page};
use arbiter_core::{FieldValue, Flag};
use common::{user, view};

const SCRIPT: &str = "<script>alert(1)</script>";
const ATTR: &str = "\"onmouseover=";

fn hostile() -> String {
    format!("x{SCRIPT}{ATTR}alert(2) '")
}

fn assert_clean(html: &str) {
    assert!(!html.contains(SCRIPT), "unescaped script tag in page");
    assert!(!html.contains("<script"), "a script element in page");
    assert!(!html.contains(ATTR), "unescaped attribute breakout in page");
    assert!(
        !html.contains("alert(2) '"),
        "unescaped single quote in page"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;onmouseover="));
}

#[test]
fn hostile_field_values_are_escaped_everywhere() {
    let h = hostile();
    let mut v = view(0.8, vec![Flag::OutOfDistribution]);
    // Tier, state and flags are closed word lists: only free text can carry markup.
    v.alert.key = arbiter_core::AlertKey::new("test", &h).unwrap();
    v.alert.source_file = h.clone();
    v.alert.category = Some(h.clone());
    v.alert.case_key = h.clone();
    v.alert.action = Some(h.clone());
    let pkg = v.package.as_mut().unwrap();
    pkg.alert_id = h.clone();
    pkg.summary.why = h.clone();
    pkg.summary.check_next = h.clone();
    pkg.verdict.category = Some(h.clone());
    pkg.drivers[0].field = h.clone();
    pkg.drivers[0].value = FieldValue::Text(h.clone());
    pkg.drivers[0].typical = Some(h.clone());
    pkg.drivers[0].text = h.clone();
    pkg.hypotheses[0].name = h.clone();
    pkg.hypotheses[0].evidence_for[0].text = h.clone();
    pkg.counterfactual.changes[0].field = h.clone();
    pkg.counterfactual.changes[0].to = FieldValue::Text(h.clone());
    pkg.falsify.check = h.clone();
    pkg.similar_cases.cases[0].alert_id = h.clone();
    pkg.similar_cases.cases[0].resolution = h.clone();
    pkg.provenance.missing = vec![h.clone()];
    pkg.provenance.unseen_values = vec![h.clone()];
    pkg.provenance.bundle = h.clone();
    v.action.as_mut().unwrap().name = h.clone();
    v.action.as_mut().unwrap().blast_radius = h.clone();
    v.approvals = vec![h.clone()];
    v.reason_codes[0].code = h.clone();
    v.reason_codes[0].label = h.clone();
    v.labels.push(h.clone());
    v.features.push(h.clone());
    v.timeline[1].note = Some(h.clone());
    v.timeline[1].actor = h.clone();
    v.timeline[1].kind = h.clone();
    v.timeline[1].reason_code = Some(h.clone());
    v.timeline_note = Some(h.clone());
    let mut u = common::user("x", "analyst");
    u.name = h.clone();
    let html = alert_page(&u, &v, Some(&h));
    assert_clean(&html);
    // The hostile kind never reaches a class attribute as it is.
    assert!(html.contains("data-kind=\"x&lt;script&gt;"));
    assert!(html.contains("class=\"timeline-item kind-other\""));
}

#[test]
fn hostile_queue_rows_and_filters_are_escaped() {
    let h = hostile();
    let mut r = common::row(1, &h, Some(0.7), "analyst", "analyst");
    r.category = Some(h.clone());
    r.action = Some(h.clone());
    r.time = Some(h.clone());
    let q = QueueView {
        rows: vec![r],
        category: Some(h.clone()),
        ..QueueView::default()
    };
    let html = queue_page(&user("bob", "viewer"), &q);
    assert_clean(&html);
    assert!(
        html.contains("&lt;script&gt;"),
        "the hostile id is shown, escaped"
    );
}

#[test]
fn login_and_error_pages_escape_their_messages() {
    let h = hostile();
    assert_clean(&login_page(Some(&h)));
    let mut u = user("x", "viewer");
    u.name = h.clone();
    assert_clean(&error_page(Some(&u), 404, &h));
    assert_eq!(escape(SCRIPT), "&lt;script&gt;alert(1)&lt;/script&gt;");
}

#[test]
fn pages_carry_no_inline_handlers_or_style_attributes() {
    let html = alert_page(&user("alice", "analyst"), &view(0.5, vec![]), Some("done"));
    for needle in [" onclick", " onload", " onmouseover", " style=", "<script"] {
        assert!(!html.contains(needle), "{needle} in page");
    }
}
