//! The embedded-test runner reports passes and failures faithfully.

use arbiter_policy::{Policy, Tier, run_tests};

const POLICY: &str = "\
version: 1
actions:
  close_alert: {impact: none, reversible: true, blast_radius: one alert}
  isolate_host: {impact: high, reversible: true, blast_radius: one host}
close_action: close_alert
categories: {c2_beacon: isolate_host}
default_action: isolate_host
tests:
  - name: shorthand expectation passes
    alert: {p_malicious: 0.99, category: c2_beacon}
    expect: approve
  - name: a wrong expectation fails
    alert: {p_malicious: 0.99, category: c2_beacon}
    expect: {tier: auto, action: isolate_host}
  - name: a reason that is not given fails
    alert: {p_malicious: 0.99, category: c2_beacon}
    expect: {tier: approve, reason: irreversible}
  - name: a timeout needs no probability
    alert: {model: timeout}
    expect: {tier: analyst, reason: model_timeout}
";

#[test]
fn the_runner_reports_each_case_with_what_it_got() {
    let policy = Policy::from_yaml(POLICY, "runner.yaml").expect("valid");
    let report = run_tests(&policy);
    let outcome: Vec<(&str, bool, Tier)> = report
        .cases
        .iter()
        .map(|c| (c.name.as_str(), c.passed, c.got_tier))
        .collect();
    assert_eq!(
        outcome,
        [
            ("shorthand expectation passes", true, Tier::Approve),
            ("a wrong expectation fails", false, Tier::Approve),
            ("a reason that is not given fails", false, Tier::Approve),
            ("a timeout needs no probability", true, Tier::Analyst),
        ]
    );
    assert_eq!(
        (report.passed_count(), report.failed(), report.total()),
        (2, 2, 4)
    );
    assert!(!report.passed());
    let printed = report.to_string();
    assert!(printed.contains("FAIL a wrong expectation fails: got approve isolate_host"));
    assert!(printed.contains("expected tier auto, action isolate_host"));
    assert!(
        printed.ends_with("runner.yaml: 2 passed, 2 failed\n"),
        "{printed}"
    );
}

#[test]
fn a_test_with_an_answering_model_needs_a_probability() {
    let text = POLICY.replace("alert: {model: timeout}", "alert: {category: dos}");
    let err = Policy::from_yaml(&text, "runner.yaml").expect_err("refused");
    let msg = err.to_string();
    assert!(
        msg.contains("tests.a timeout needs no probability.p_malicious: p_malicious is required"),
        "{msg}"
    );
}

#[test]
fn duplicate_test_names_are_refused() {
    let text = POLICY.replace("a wrong expectation fails", "shorthand expectation passes");
    let msg = Policy::from_yaml(&text, "runner.yaml")
        .expect_err("refused")
        .to_string();
    assert!(msg.contains("is used twice"), "{msg}");
}
