//! The alert page: confidence, banners, decision controls, four eyes and the timeline.

mod common;

use arbiter_console::alert_page;
use arbiter_core::Flag;
use common::{action, element, user, view};

fn analyst() -> arbiter_console::User {
    user("alice", "analyst")
}

#[test]
fn a_coin_flip_and_a_near_certain_verdict_look_different() {
    let low = alert_page(&analyst(), &view(0.51, vec![]), None);
    let high = alert_page(&analyst(), &view(0.99, vec![]), None);
    let low_v = element(&low, "section", "verdict");
    let high_v = element(&high, "section", "verdict");
    assert!(low_v.contains("class=\"verdict conf-coinflip\""));
    assert!(low_v.contains("coin flip — 51 % malicious"));
    assert!(!low_v.contains("conf-certain"));
    assert!(high_v.contains("class=\"verdict conf-certain\""));
    assert!(high_v.contains("near certain — 99.0 % malicious"));
    assert!(!high_v.contains("coin flip —"));
}

#[test]
fn why_and_check_next_come_first_and_sections_follow_in_order() {
    let html = alert_page(
        &analyst(),
        &view(0.8, vec![Flag::LowConfidence]),
        Some("saved"),
    );
    let order = [
        "class=\"flash\"",
        "id=\"alert-header\"",
        "id=\"why\"",
        "id=\"check-next\"",
        "uncertain-banner",
        "id=\"verdict\"",
        "id=\"drivers\"",
        "id=\"hypotheses\"",
        "id=\"counterfactual\"",
        "id=\"falsify\"",
        "id=\"similar\"",
        "id=\"provenance\"",
        "id=\"action\"",
        "id=\"decision\"",
        "id=\"timeline\"",
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|n| html.find(n).unwrap_or_else(|| panic!("{n} missing")))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    assert!(element(&html, "p", "why").contains("mainly bytes_out = 82995091"));
    assert!(element(&html, "p", "check-next").contains("Break the outbound bytes down"));
}

#[test]
fn drivers_show_direction_value_typical_and_text() {
    let html = alert_page(&analyst(), &view(0.8, vec![]), None);
    let d = element(&html, "ol", "drivers");
    assert!(d.contains("class=\"driver toward-malicious\" data-field=\"bytes_out\""));
    assert!(d.contains("class=\"driver toward-benign\" data-field=\"geo_distance_km\""));
    assert!(d.contains("<code>bytes_out</code> = <b>82995091</b>"));
    assert!(d.contains("typical: benign median 5154812"));
    assert!(d.contains("malicious →") && d.contains("← benign"));
    // The largest driver fills its half; the other is scaled to it, on the benign side.
    assert!(d.contains("class=\"bar bar-malicious\" x=\"100.0\" y=\"1\" width=\"98.0\""));
    assert!(d.contains("class=\"bar bar-benign\" x=\"61.7\" y=\"1\" width=\"38.3\""));
}

#[test]
fn provenance_says_what_the_model_could_not_see() {
    let html = alert_page(&analyst(), &view(0.8, vec![]), None);
    let p = element(&html, "section", "provenance");
    assert!(p.contains("<b>29 of 31</b>"));
    assert!(p.contains("<code>process_starts</code>, <code>cmdline_entropy</code>"));
    assert!(p.contains("sensor=edr-8.0"));
    assert!(p.contains("soc-synthetic@1") && p.contains("platt"));
    assert!(p.contains("2024-05-01T09:55:00Z to 2024-05-01T10:00:00Z"));
}

#[test]
fn any_flag_raises_the_uncertainty_banner_in_words() {
    let calm = alert_page(&analyst(), &view(0.97, vec![]), None);
    assert!(!calm.contains("uncertain-banner"));
    let html = alert_page(&analyst(), &view(0.97, vec![Flag::OutOfDistribution]), None);
    let banner = element(&html, "div", "uncertain-banner");
    assert!(banner.contains("class=\"banner uncertain-banner\""));
    assert!(banner.contains("unlike anything seen in training"));
    let mut v = view(0.6, vec![Flag::MissingTelemetry]);
    v.alert.flags = vec![Flag::MissingTelemetry, Flag::ConflictingSignals];
    let html = alert_page(&analyst(), &v, None);
    let banner = element(&html, "div", "uncertain-banner");
    assert!(banner.contains("telemetry the model reads is missing"));
    assert!(banner.contains("the ensemble members disagree"));
    assert_eq!(
        banner.matches("<li").count(),
        2,
        "flags are listed once each"
    );
}

#[test]
fn an_abstained_alert_shows_the_abstain_banner_and_no_recommendation() {
    let mut v = view(0.55, vec![Flag::LowConfidence]);
    v.alert.tier = arbiter_core::Tier::Abstain;
    v.alert.state = arbiter_core::AlertState::Abstained;
    let html = alert_page(&analyst(), &v, None);
    assert!(html.contains("class=\"banner abstain-banner\""));
    assert!(html.contains("The model abstained"));
    assert!(!html.contains("id=\"approve\""));
    assert!(element(&html, "section", "action").contains("No recommendation"));
    assert!(!element(&html, "section", "action").contains("isolate_host"));
    assert!(element(&html, "section", "verdict").contains("not evidence for a verdict"));
    assert!(
        html.contains("id=\"override-form\""),
        "a human can still decide"
    );
}

#[test]
fn an_unscored_alert_says_the_model_did_not_score_it() {
    let mut v = view(0.5, vec![]);
    v.package = None;
    v.alert.p_malicious = None;
    v.action = None;
    v.alert.action = None;
    let html = alert_page(&analyst(), &v, None);
    assert!(html.contains("class=\"banner unscored-banner\""));
    assert!(html.contains("The model did not score this alert"));
    assert!(element(&html, "p", "why").contains("the model did not score this alert"));
    assert!(!html.contains("id=\"verdict\""));
    assert!(!html.contains("id=\"drivers\""));
    assert!(!html.contains("conf-"));
    assert!(!html.contains("id=\"approve\""));
}

#[test]
fn a_viewer_sees_no_decision_controls() {
    let html = alert_page(&user("vic", "viewer"), &view(0.9, vec![]), None);
    assert!(!html.contains("id=\"approve\""));
    assert!(!html.contains("id=\"override-form\""));
    assert!(element(&html, "section", "decision").contains("viewers cannot decide"));
}

#[test]
fn an_analyst_sees_approve_and_override_on_an_open_alert() {
    let v = view(0.9, vec![]);
    let html = alert_page(&analyst(), &v, None);
    let d = element(&html, "section", "decision");
    assert!(d.contains(concat!(
        "<form method=\"post\" action=\"/alerts/7/decision\" class=\"approve-form\" id=\"approve-form\">",
        "<input type=\"hidden\" name=\"action\" value=\"approve\">",
        "<button id=\"approve\" type=\"submit\">Approve: isolate_host</button></form>"
    )));
    assert!(d.contains("<form id=\"override-form\" class=\"override-form\" method=\"post\" action=\"/alerts/7/decision\">"));
    assert!(d.contains("<option value=\"override\">Override: the verdict is wrong</option>"));
    assert!(d.contains("<option value=\"reject\">Reject the recommended action</option>"));
    assert!(d.contains("<select name=\"reason_code\" id=\"reason-code\" required><option value=\"\">choose a reason…</option><option value=\"false_positive\">False positive</option>"));
    assert!(d.contains("<textarea name=\"note\" id=\"note\""));
    assert!(d.contains(
        "<option value=\"\">no correction</option><option value=\"benign\">benign</option>"
    ));
    assert!(d.contains("<select name=\"feature\" id=\"feature\"><option value=\"\">none</option><option value=\"bytes_out\">"));
    assert!(d.contains("id=\"override-submit\""));
}

#[test]
fn a_decided_alert_shows_no_controls() {
    let mut v = view(0.9, vec![]);
    v.open = false;
    v.alert.state = arbiter_core::AlertState::Approved;
    let html = alert_page(&analyst(), &v, None);
    assert!(!html.contains("id=\"approve\""));
    assert!(!html.contains("id=\"override-form\""));
    assert!(element(&html, "section", "decision").contains("decided: approved"));
}

#[test]
fn four_eyes_hides_the_second_approve_from_the_first_approver() {
    let mut v = view(0.97, vec![]);
    v.action = Some(action(true));
    v.alert.state = arbiter_core::AlertState::PendingSecondApproval;
    v.approvals = vec!["alice".into()];
    let mine = alert_page(&analyst(), &v, None);
    assert!(!mine.contains("id=\"approve\""));
    let waiting = element(&mine, "p", "awaiting-second");
    assert!(waiting.contains("Approved by <b>alice</b>"));
    assert!(waiting.contains("second, different person"));
    assert!(element(&mine, "section", "action").contains("needs two different people"));
    assert!(element(&mine, "p", "approvals").contains("alice"));
    assert!(mine.contains("id=\"override-form\""));

    let theirs = alert_page(&user("bob", "analyst"), &v, None);
    assert!(theirs.contains(
        "<button id=\"approve\" type=\"submit\">Approve: isolate_host (second approval)</button>"
    ));
    assert!(element(&theirs, "p", "awaiting-second").contains("alice"));
}

#[test]
fn the_timeline_lists_items_in_order_with_their_kinds() {
    let html = alert_page(&analyst(), &view(0.9, vec![]), None);
    let t = element(&html, "ol", "timeline");
    let kinds: Vec<&str> = t
        .split("data-kind=\"")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .collect();
    assert_eq!(kinds, ["decision", "approval"]);
    assert_eq!(t.matches("<li class=\"timeline-item").count(), 2);
    assert!(t.contains("<a class=\"audit-link\" href=\"/api/v1/audit/proof/11\">audit #11</a>"));
    assert!(t.contains("reason <code>confirmed</code>"));
    assert!(t.contains("seen on the proxy too"));
    assert!(t.find("policy").unwrap() < t.find("alice").unwrap());
}

#[test]
fn the_frame_links_the_stylesheet_and_offers_logout() {
    let html = alert_page(&analyst(), &view(0.9, vec![]), None);
    assert!(html.contains("<link rel=\"stylesheet\" href=\"/console/style.css\">"));
    assert!(html.contains("<a href=\"/queue\" class=\"nav-queue\">Queue</a>"));
    assert!(html.contains("<span class=\"user-name\">alice</span>"));
    assert!(html.contains("<form method=\"post\" action=\"/logout\""));
    assert!(html.contains("<button id=\"logout\""));
}

#[test]
fn the_verdict_names_what_the_model_does_not_know_apart_from_class_overlap() {
    // Out of distribution but confident: epistemic high, aleatoric low.
    let ood = alert_page(&analyst(), &view(0.02, vec![Flag::OutOfDistribution]), None);
    let v = element(&ood, "section", "verdict");
    assert!(
        v.contains("<dd class=\"epistemic high\"><strong>high</strong>"),
        "{v}"
    );
    assert!(v.contains("extrapolating"), "{v}");
    assert!(
        v.contains("<dd class=\"aleatoric low\"><strong>low</strong>"),
        "{v}"
    );
    // Familiar but a coin toss: the other way round.
    let toss = alert_page(&analyst(), &view(0.5, vec![]), None);
    let v = element(&toss, "section", "verdict");
    assert!(v.contains("<dd class=\"epistemic moderate\">"), "{v}");
    assert!(
        v.contains("<dd class=\"aleatoric high\"><strong>high</strong>"),
        "{v}"
    );
    assert!(v.contains("entropy 1.00 bits"), "{v}");
}
