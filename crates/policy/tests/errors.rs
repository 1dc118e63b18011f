//! Policy files that must be refused, and how the refusal names the file, line and key.

use arbiter_policy::{Policy, PolicyError};

/// A small valid policy; tests break one thing at a time by text substitution.
const BASE: &str = "\
version: 1
actions:
  close_alert: {impact: none, reversible: true, blast_radius: one alert}
  isolate_host:
    impact: high
    reversible: true
    blast_radius: one host
  open_incident: {impact: low, reversible: true, blast_radius: queue}
close_action: close_alert
categories:
  c2_beacon: isolate_host
default_action: open_incident
bands:
  auto: {min_confidence: 0.9, max_impact: low}
  approve: {min_confidence: 0.6, max_impact: high}
rate_limits:
  isolate_host: 5/hour
tests:
  - name: beacon needs approval
    alert: {p_malicious: 0.99, category: c2_beacon}
    expect: approve
";

fn refuse(text: &str) -> String {
    match Policy::from_yaml(text, "policy.yaml") {
        Ok(_) => panic!("policy accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_base_policy_is_valid() {
    let policy = Policy::from_yaml(BASE, "policy.yaml").expect("valid");
    assert_eq!(policy.close_action(), "close_alert");
    assert_eq!(policy.auto_close_alpha(), 0.01);
    assert_eq!(policy.reason_codes().len(), 9, "defaults apply when absent");
}

#[test]
fn an_unknown_key_is_an_error_naming_file_and_line() {
    let text = BASE.replace("    impact: high", "    max_impat: high");
    let msg = refuse(&text);
    assert!(msg.starts_with("policy.yaml line 5: "), "{msg}");
    assert!(msg.contains("unknown field `max_impat`"), "{msg}");
    assert!(!msg.contains(" at line "), "location stated once: {msg}");
}

#[test]
fn an_unknown_top_level_section_is_an_error_naming_the_line() {
    let msg = refuse(&format!("{BASE}auto_clse: {{alpha: 0.01}}\n"));
    assert!(msg.starts_with("policy.yaml line 22: "), "{msg}");
    assert!(msg.contains("unknown field `auto_clse`"), "{msg}");
}

#[test]
fn another_version_is_an_error_naming_the_version() {
    let err = Policy::from_yaml(&BASE.replace("version: 1", "version: 2"), "p.yaml")
        .expect_err("version 2 refused");
    assert!(matches!(err, PolicyError::Version { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "p.yaml line 1: unsupported policy version 2, expected 1"
    );
}

#[test]
fn a_missing_version_is_an_error() {
    let msg = refuse(&BASE.replace("version: 1\n", ""));
    assert!(msg.contains("version: missing"), "{msg}");
}

#[test]
fn a_category_mapped_to_an_undeclared_action_names_key_and_line() {
    let msg = refuse(&BASE.replace("c2_beacon: isolate_host", "c2_beacon: isolate_hots"));
    assert_eq!(
        msg,
        "policy.yaml line 11: categories.c2_beacon: action `isolate_hots` is not declared in `actions`"
    );
}

#[test]
fn an_undeclared_default_action_is_an_error() {
    let msg = refuse(&BASE.replace("default_action: open_incident", "default_action: page_ceo"));
    assert!(
        msg.starts_with("policy.yaml line 12: default_action:"),
        "{msg}"
    );
    assert!(msg.contains("`page_ceo`"), "{msg}");
}

#[test]
fn an_irreversible_close_action_is_an_error() {
    let text = BASE.replace(
        "close_alert: {impact: none, reversible: true",
        "close_alert: {impact: none, reversible: false",
    );
    let msg = refuse(&text);
    assert!(
        msg.contains("close_action: `close_alert` must be reversible"),
        "{msg}"
    );
}

#[test]
fn a_bad_rate_string_is_an_error_naming_it() {
    let msg = refuse(&BASE.replace("5/hour", "5 per hour"));
    assert!(msg.starts_with("policy.yaml line 17: "), "{msg}");
    assert!(msg.contains("invalid rate \"5 per hour\""), "{msg}");
}

#[test]
fn a_zero_rate_is_an_error() {
    let msg = refuse(&BASE.replace("5/hour", "0/hour"));
    assert!(msg.contains("invalid rate \"0/hour\""), "{msg}");
}

#[test]
fn a_rate_limit_for_an_unknown_action_names_it() {
    let msg = refuse(&BASE.replace("  isolate_host: 5/hour", "  nuke_site: 5/hour"));
    assert_eq!(
        msg,
        "policy.yaml line 17: rate_limits.nuke_site: rate limit for unknown action `nuke_site`"
    );
}

#[test]
fn a_band_with_min_confidence_outside_the_unit_interval_is_an_error() {
    let msg = refuse(&BASE.replace("min_confidence: 0.6", "min_confidence: 1.6"));
    assert!(
        msg.starts_with("policy.yaml line 15: bands.approve.min_confidence: 1.6 is outside [0, 1]"),
        "{msg}"
    );
}

#[test]
fn an_auto_band_below_the_approve_band_is_an_error() {
    let msg = refuse(&BASE.replace("min_confidence: 0.9", "min_confidence: 0.5"));
    assert!(msg.contains("bands.auto.min_confidence"), "{msg}");
}

#[test]
fn an_approve_band_admitting_critical_actions_is_an_error() {
    let msg = refuse(&BASE.replace("max_impact: high", "max_impact: critical"));
    assert!(msg.contains("bands.approve.max_impact"), "{msg}");
}

#[test]
fn an_alpha_outside_the_risk_control_table_is_an_error() {
    let msg = refuse(&format!("{BASE}auto_close: {{alpha: 0.03}}\n"));
    assert!(
        msg.starts_with("policy.yaml line 22: auto_close.alpha: 0.03"),
        "{msg}"
    );
}

#[test]
fn a_flag_both_analyst_and_abstain_is_an_error() {
    let text = format!(
        "{BASE}uncertain:\n  analyst: [out_of_distribution]\n  abstain: [out_of_distribution]\n"
    );
    let msg = refuse(&text);
    assert!(
        msg.contains("uncertain.abstain.out_of_distribution"),
        "{msg}"
    );
}

#[test]
fn abstaining_on_no_verdict_or_one_verdict_twice_is_an_error() {
    let empty = format!(
        "{BASE}uncertain:\n  analyst: []\n  abstain: [out_of_distribution]\n  abstain_verdicts: []\n"
    );
    let msg = refuse(&empty);
    assert!(msg.contains("uncertain.abstain_verdicts"), "{msg}");
    assert!(msg.contains("is empty"), "{msg}");
    let twice = format!(
        "{BASE}uncertain:\n  analyst: []\n  abstain: [out_of_distribution]\n  abstain_verdicts: [benign, benign]\n"
    );
    assert!(refuse(&twice).contains("lists benign twice"));
    let unknown = format!("{BASE}uncertain:\n  abstain_verdicts: [harmless]\n");
    assert!(refuse(&unknown).contains("harmless"));
}

#[test]
fn a_test_expecting_an_unknown_tier_is_an_error_naming_the_line() {
    let msg = refuse(&BASE.replace("expect: approve", "expect: autopilot"));
    assert!(msg.starts_with("policy.yaml line 21: "), "{msg}");
    assert!(
        msg.contains("invalid tier \"autopilot\": expected one of auto, approve"),
        "{msg}"
    );
}

#[test]
fn a_test_expecting_an_undeclared_action_is_an_error() {
    let text = BASE.replace("expect: approve", "expect: {tier: approve, action: nuke}");
    let msg = refuse(&text);
    assert!(
        msg.starts_with("policy.yaml line 21: tests.beacon needs approval.action:"),
        "{msg}"
    );
}

#[test]
fn a_test_expecting_an_unknown_reason_is_an_error() {
    let text = BASE.replace("expect: approve", "expect: {tier: approve, reason: vibes}");
    let msg = refuse(&text);
    assert!(msg.contains("`vibes` is not a reason code"), "{msg}");
}

#[test]
fn a_typo_inside_a_test_expectation_names_the_line() {
    let text = BASE.replace("expect: approve", "expect: {tiers: approve}");
    let msg = refuse(&text);
    assert!(msg.starts_with("policy.yaml line 21: "), "{msg}");
    assert!(msg.contains("unknown field `tiers`"), "{msg}");
}

#[test]
fn a_missing_file_is_an_error_naming_the_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nope.yaml");
    let msg = Policy::load(&path).expect_err("missing").to_string();
    assert!(msg.contains("nope.yaml"), "{msg}");
}

#[test]
fn load_names_the_file_by_its_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("mine.yaml");
    std::fs::write(&path, BASE.replace("version: 1", "version: 7")).expect("write");
    let msg = Policy::load(&path).expect_err("refused").to_string();
    assert!(
        msg.starts_with(&format!("{} line 1", path.display())),
        "{msg}"
    );
}

#[test]
fn an_uncertainty_route_to_auto_is_an_error_naming_the_key() {
    let text = format!("{BASE}uncertain:\n  epistemic: {{tier: auto, min_disagreement: 0.1}}\n");
    let msg = refuse(&text);
    assert!(msg.contains("uncertain.epistemic.tier"), "{msg}");
    assert!(msg.contains("cannot grant auto"), "{msg}");
}

#[test]
fn an_uncertainty_route_with_no_trigger_is_an_error() {
    let msg = refuse(&format!(
        "{BASE}uncertain:\n  aleatoric: {{tier: analyst}}\n"
    ));
    assert!(msg.contains("uncertain.aleatoric"), "{msg}");
    assert!(msg.contains("min_entropy"), "{msg}");
    let msg = refuse(&format!(
        "{BASE}uncertain:\n  epistemic: {{tier: analyst}}\n"
    ));
    assert!(msg.contains("min_disagreement, min_distance"), "{msg}");
}

#[test]
fn an_uncertainty_threshold_outside_the_unit_interval_names_it() {
    let text = format!("{BASE}uncertain:\n  epistemic: {{tier: analyst, min_distance: 1.5}}\n");
    let msg = refuse(&text);
    assert!(msg.contains("uncertain.epistemic.min_distance"), "{msg}");
    assert!(msg.contains("1.5 is outside [0, 1]"), "{msg}");
}

#[test]
fn a_misspelt_uncertainty_trigger_is_an_error() {
    let text = format!("{BASE}uncertain:\n  aleatoric: {{tier: analyst, min_entropi: 0.7}}\n");
    let msg = refuse(&text);
    assert!(msg.contains("min_entropi"), "{msg}");
}

#[test]
fn a_high_impact_family_that_is_not_a_category_is_named_with_its_line() {
    let with = |families: &str| {
        BASE.replace(
            "tests:\n",
            &format!("teaching:\n  high_impact: [{families}]\ntests:\n"),
        )
    };
    let msg = refuse(&with("c2_beacon, c2_beakon"));
    assert!(
        msg.starts_with("policy.yaml line 19: teaching.high_impact: "),
        "{msg}"
    );
    assert!(
        msg.contains("`c2_beakon` is not a family of `categories`"),
        "{msg}"
    );
    let ok = Policy::from_yaml(&with("c2_beacon"), "policy.yaml").unwrap();
    assert_eq!(ok.high_impact_families(), ["c2_beacon"]);
}
