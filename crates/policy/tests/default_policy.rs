//! The shipped default policy parses, validates and passes its own embedded tests.

use std::path::PathBuf;

use arbiter_policy::{Policy, Tier, check, run_tests};

fn default_policy_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policies/default.yaml")
}

#[test]
fn the_default_policy_passes_its_embedded_tests() {
    let policy = Policy::load(default_policy_path()).expect("default policy loads");
    let report = run_tests(&policy);
    assert!(report.passed(), "{report}");
    assert!(
        report.cases.len() >= 12,
        "only {} tests",
        report.cases.len()
    );
}

#[test]
fn the_default_policy_tests_cover_every_tier() {
    let policy = Policy::load(default_policy_path()).expect("default policy loads");
    for &tier in Tier::ALL {
        assert!(
            policy.tests().iter().any(|t| t.expect.tier == tier),
            "no embedded test expects {tier}"
        );
    }
}

#[test]
fn check_summarises_the_default_policy() {
    let summary = check(default_policy_path()).expect("default policy checks");
    let policy = Policy::load(default_policy_path()).expect("default policy loads");
    assert_eq!(summary.actions, policy.actions().len());
    assert_eq!(summary.tests, policy.tests().len());
    assert_eq!(summary.auto_close_alpha, 0.01);
    assert!(summary.to_string().starts_with("valid (version 1): "));
    assert_eq!(policy.summary(), summary);
}

#[test]
fn the_default_policy_maps_every_scenario_and_benchmark_category() {
    let policy = Policy::load(default_policy_path()).expect("default policy loads");
    let expected = [
        "dos",
        "probe",
        "r2l",
        "u2r",
        "exploits",
        "fuzzers",
        "generic",
        "reconnaissance",
        "backdoor",
        "shellcode",
        "worms",
        "analysis",
        "brute_force",
        "password_spray",
        "lateral_movement",
        "exfiltration",
        "c2_beacon",
        "port_scan",
        "ransomware",
    ];
    for c in expected {
        assert!(policy.categories().contains_key(c), "category {c} unmapped");
    }
}
