//! The queue page, the login page and the error page.

mod common;

use arbiter_console::{QueueCounts, QueueView, STYLE, error_page, login_page, queue_page};
use arbiter_core::{AlertState, Flag, Tier};
use common::{row, user};

fn queue() -> QueueView {
    let mut a = row(3, "alert-c", Some(0.51), "analyst", "analyst");
    a.flags = vec![Flag::LowConfidence, Flag::OutOfDistribution];
    a.new_pattern = true;
    let mut b = row(1, "alert-a", Some(0.992), "approve", "pending_approval");
    b.time = None;
    let c = row(2, "alert-b", None, "abstain", "abstained");
    QueueView {
        rows: vec![a, b, c],
        tier: Some(Tier::Analyst),
        state: Some(AlertState::PendingApproval),
        category: Some("exfiltration".into()),
        flag: Some(Flag::LowConfidence),
        new_pattern: true,
        counts: QueueCounts {
            by_state: vec![(AlertState::Analyst, 1), (AlertState::PendingApproval, 1)],
            new_patterns: 1,
        },
    }
}

fn rows(html: &str) -> Vec<&str> {
    html.split("<tr class=\"alert-row").skip(1).collect()
}

#[test]
fn the_queue_shows_rows_in_the_given_order_with_links_and_tiers() {
    let html = queue_page(&user("alice", "analyst"), &queue());
    let rows = rows(&html);
    assert_eq!(rows.len(), 3);
    assert!(rows[0].contains("data-id=\"3\" data-tier=\"analyst\""));
    assert!(rows[0].contains("<a class=\"alert-link\" href=\"/alerts/3\">alert-c</a>"));
    assert!(rows[1].contains("data-id=\"1\" data-tier=\"approve\""));
    assert!(
        rows[1].contains("received 2024-05-01T10:01:00Z"),
        "received_at when no time"
    );
    assert!(rows[1].contains("isolate_host"));
    assert!(rows[2].contains("data-id=\"2\" data-tier=\"abstain\""));
    assert!(rows[2].contains("not scored"));
    assert!(rows[2].contains("none (model abstained)"));
    assert!(html.contains("<table id=\"queue\""));
}

#[test]
fn the_queue_shows_flags_new_patterns_and_confidence_bands() {
    let html = queue_page(&user("alice", "analyst"), &queue());
    let rows = rows(&html);
    assert!(rows[0].contains("class=\"flag flag-low_confidence\""));
    assert!(rows[0].contains("class=\"flag flag-out_of_distribution\""));
    assert!(rows[0].contains("title=\"unlike anything seen in training\""));
    assert!(rows[0].contains("class=\"new-pattern\""));
    assert!(!rows[1].contains("class=\"new-pattern\""));
    assert!(!rows[1].contains("class=\"flag "));
    assert!(rows[0].contains("confidence conf-coinflip") && rows[0].contains("coin flip — 51 %"));
    assert!(
        rows[1].contains("confidence conf-certain") && rows[1].contains("near certain — 99.2 %")
    );
}

#[test]
fn the_queue_counts_states_and_new_patterns() {
    let html = queue_page(&user("alice", "analyst"), &queue());
    let counts = common::element(&html, "ul", "counts");
    assert!(counts.contains("data-state=\"analyst\"><b>1</b> analyst"));
    assert!(counts.contains("data-state=\"pending_approval\"><b>1</b> pending approval"));
    assert!(counts.contains("<b>1</b> new pattern<"));
    assert!(html.find("id=\"counts\"").unwrap() < html.find("id=\"queue\"").unwrap());
}

#[test]
fn filter_selects_keep_their_values() {
    let html = queue_page(&user("alice", "analyst"), &queue());
    let form = common::element(&html, "form", "queue-filter");
    assert!(form.contains("method=\"get\" action=\"/queue\""));
    assert!(form.contains("<option value=\"analyst\" selected>"));
    assert!(form.contains("<option value=\"pending_approval\" selected>"));
    assert!(form.contains("<option value=\"low_confidence\" selected>"));
    assert!(form.contains("name=\"category\" id=\"filter-category\" value=\"exfiltration\""));
    assert_eq!(form.matches(" selected>").count(), 3);
    assert!(
        form.contains("id=\"filter-new-pattern\" checked>"),
        "{form}"
    );
    let mut q = queue();
    q.new_pattern = false;
    let plain = queue_page(&user("alice", "analyst"), &q);
    assert!(plain.contains("id=\"filter-new-pattern\">"));
    q.flag = Some(Flag::UnstableExplanation);
    let html = queue_page(&user("alice", "analyst"), &q);
    assert!(html.contains("<option value=\"unstable_explanation\" selected>"));
}

#[test]
fn an_empty_queue_says_so_in_a_sentence() {
    let html = queue_page(&user("alice", "analyst"), &QueueView::default());
    assert!(html.contains("No alerts match this filter."));
    assert!(!html.contains("<tr class=\"alert-row"));
    assert!(html.contains("<option value=\"\">any</option>"));
}

#[test]
fn the_login_page_posts_a_token_and_shows_errors() {
    let plain = login_page(None);
    assert!(plain.contains("<form id=\"login-form\" method=\"post\" action=\"/login\">"));
    assert!(plain.contains("<input type=\"password\" name=\"token\" id=\"token\""));
    assert!(plain.contains("<button id=\"login-submit\""));
    assert!(!plain.contains("flash"));
    assert!(!plain.contains("id=\"logout\""));
    let failed = login_page(Some("unknown token"));
    assert!(failed.contains("<p class=\"flash error\" role=\"status\">unknown token</p>"));
}

#[test]
fn the_error_page_shows_status_and_message() {
    let html = error_page(None, 404, "no such alert");
    assert!(html.contains("<h1>Error 404</h1>"));
    assert!(html.contains("no such alert"));
    assert!(!html.contains("id=\"logout\""));
    assert!(
        error_page(Some(&user("alice", "analyst")), 403, "forbidden").contains("id=\"logout\"")
    );
}

#[test]
fn the_stylesheet_styles_the_bands_banners_and_flags() {
    for class in [
        ".conf-coinflip",
        ".conf-certain",
        ".uncertain-banner",
        ".abstain-banner",
        ".unscored-banner",
        ".flag-out_of_distribution",
        ".new-pattern",
    ] {
        assert!(STYLE.contains(class), "{class} not styled");
    }
}

#[test]
fn an_abstained_row_does_not_show_its_probability_as_a_confident_verdict() {
    let mut q = queue();
    let mut r = q.rows[0].clone();
    r.tier = Tier::Abstain;
    r.state = AlertState::Abstained;
    r.p_malicious = Some(0.9995);
    q.rows = vec![r];
    let html = queue_page(&user("alice", "analyst"), &q);
    let table = common::element(&html, "table", "queue");
    assert!(table.contains("model abstained"), "{table}");
    assert!(!table.contains("near certain"), "{table}");
}
