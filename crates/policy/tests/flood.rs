//! Flood control: identical alerts within the window collapse into one counted case.

mod common;

use arbiter_policy::{FloodConfig, FloodControl};
use common::{default_policy, package, with_ids};

const WINDOW_MS: i64 = 300_000;

#[test]
fn identical_alerts_within_the_window_collapse_into_one_case() {
    let mut fc = FloodControl::new(&default_policy()); // key: [category, host], 300 s
    let alert = with_ids(
        package(0.9, Some("dos"), &[]),
        &[("host", "ws-1"), ("user", "a")],
    );
    let first = fc.observe(&alert, 0);
    assert!(first.first_in_window && first.new_pattern);
    assert_eq!(first.count, 1);
    assert_eq!(first.pattern, "category=dos|host=ws-1");
    // A different user does not matter: the key is category and host.
    let other_user = with_ids(
        package(0.8, Some("dos"), &[]),
        &[("host", "ws-1"), ("user", "b")],
    );
    let second = fc.observe(&other_user, 1_000);
    let third = fc.observe(&alert, WINDOW_MS - 1);
    assert_eq!(second.case_key, first.case_key);
    assert_eq!(third.case_key, first.case_key);
    assert_eq!((second.count, third.count), (2, 3));
    assert!(!second.first_in_window && !second.new_pattern);
}

#[test]
fn a_different_key_is_a_different_case() {
    let mut fc = FloodControl::new(&default_policy());
    let a = fc.observe(
        &with_ids(package(0.9, Some("dos"), &[]), &[("host", "ws-1")]),
        0,
    );
    let b = fc.observe(
        &with_ids(package(0.9, Some("dos"), &[]), &[("host", "ws-2")]),
        0,
    );
    let c = fc.observe(
        &with_ids(package(0.9, Some("probe"), &[]), &[("host", "ws-1")]),
        0,
    );
    assert_ne!(a.case_key, b.case_key);
    assert_ne!(a.case_key, c.case_key);
    assert!(b.new_pattern && c.new_pattern);
}

#[test]
fn a_new_window_starts_a_new_case_but_not_a_new_pattern() {
    let mut fc = FloodControl::new(&default_policy());
    let alert = with_ids(package(0.9, Some("dos"), &[]), &[("host", "ws-1")]);
    let first = fc.observe(&alert, 0);
    fc.observe(&alert, 10_000);
    let later = fc.observe(&alert, WINDOW_MS);
    assert_ne!(later.case_key, first.case_key);
    assert!(later.first_in_window);
    assert_eq!(later.count, 1);
    assert!(!later.new_pattern, "the pattern was seen before");
}

#[test]
fn missing_key_fields_read_as_a_dash() {
    let fc = FloodControl::with_config(FloodConfig {
        window_s: 60,
        key: vec!["category".into(), "label".into(), "user".into()],
    });
    let p = package(0.2, None, &[]);
    assert_eq!(fc.pattern(&p), "category=-|label=benign|user=-");
}

#[test]
fn flood_state_survives_a_json_round_trip() {
    let policy = default_policy();
    let mut fc = FloodControl::new(&policy);
    let alert = with_ids(package(0.9, Some("dos"), &[]), &[("host", "ws-1")]);
    let first = fc.observe(&alert, 0);
    let mut restored = FloodControl::from_json(&policy, &fc.to_json()).expect("restores");
    assert_eq!(restored, fc);
    let next = restored.observe(&alert, 5_000);
    assert_eq!(
        (next.case_key, next.count, next.new_pattern),
        (first.case_key, 2, false)
    );
}

#[test]
fn expiring_closed_cases_keeps_the_seen_patterns() {
    let mut fc = FloodControl::new(&default_policy());
    let alert = with_ids(package(0.9, Some("dos"), &[]), &[("host", "ws-1")]);
    fc.observe(&alert, 0);
    fc.expire(WINDOW_MS);
    let again = fc.observe(&alert, WINDOW_MS + 1);
    assert!(again.first_in_window && !again.new_pattern);
}

#[test]
fn restoring_under_different_key_fields_starts_afresh() {
    let policy = default_policy();
    let mut fc = FloodControl::new(&policy);
    fc.observe(
        &with_ids(package(0.9, Some("dos"), &[]), &[("host", "ws-1")]),
        0,
    );
    let yaml = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/default.yaml"),
    )
    .expect("read default policy")
    .replace("key: [category, host]", "key: [category, user]");
    let other = arbiter_policy::Policy::from_yaml(&yaml, "other.yaml").expect("valid");
    let mut restored = FloodControl::from_json(&other, &fc.to_json()).expect("restores");
    let next = restored.observe(
        &with_ids(package(0.9, Some("dos"), &[]), &[("user", "a")]),
        1,
    );
    assert!(next.new_pattern && next.first_in_window);
    assert_eq!(next.pattern, "category=dos|user=a");
}

#[test]
fn without_entity_fields_only_alerts_with_the_same_content_collapse() {
    let mut flood = FloodControl::new(&default_policy());
    let a = package(0.99, Some("dos"), &[]);
    assert!(a.ids.is_empty(), "the helper builds packages without ids");
    let first = flood.observe_with(&a, Some("c1"), 0);
    let same = flood.observe_with(&a, Some("c1"), 1_000);
    let other = flood.observe_with(&a, Some("c2"), 2_000);
    assert!(first.first_in_window && first.new_pattern);
    assert!(!same.first_in_window);
    assert_eq!(same.case_key, first.case_key);
    assert!(other.first_in_window && other.new_pattern);
}

#[test]
fn flood_control_rebuilt_from_stored_cases_continues_where_it_stopped() {
    let policy = default_policy();
    let mut live = FloodControl::new(&policy);
    let p = with_ids(package(0.99, Some("dos"), &[]), &[("host", "h1")]);
    let t0 = 1_000_000;
    let first = live.observe(&p, t0);
    let second = live.observe(&p, t0 + 1_000);
    assert!(first.first_in_window && !second.first_in_window);
    // What the store keeps: one case row with its count.
    let cases = [(first.case_key.as_str(), second.count)];
    let mut restored = FloodControl::restore(&policy, cases, t0 + 2_000);
    let third = restored.observe(&p, t0 + 2_000);
    assert_eq!(third.case_key, first.case_key, "joins the open case");
    assert_eq!(third.count, 3);
    assert!(
        !third.new_pattern,
        "the pattern was seen before the restart"
    );
    // Cases from a policy keyed on other fields are not taken for this one's.
    let other = [("label=malicious@5", 4)];
    let mut fresh = FloodControl::restore(&policy, other, t0);
    assert!(fresh.observe(&p, t0).new_pattern);
}
