//! The decision rules and their invariants, as unit tests and as properties over random inputs.

mod common;

use arbiter_core::{EvidencePackage, Flag, Verdict};
use arbiter_policy::{Decision, DecisionInput, Impact, ModelStatus, Policy, Tier, decide};
use common::{default_policy, package, package_with_label};

fn input(package: &EvidencePackage) -> DecisionInput<'_> {
    DecisionInput {
        package: Some(package),
        model: ModelStatus::Ok,
        asset: None,
        auto_close_threshold: Some(0.01),
        conservative: false,
    }
}

fn codes(d: &Decision) -> Vec<&str> {
    d.reasons.iter().map(|r| r.code.as_str()).collect()
}

#[test]
fn a_confident_reversible_low_impact_verdict_is_automated() {
    let policy = default_policy();
    let p = package(0.97, Some("dos"), &[]);
    let d = decide(&policy, &input(&p));
    assert_eq!(d.tier, Tier::Auto, "{:?}", d.reasons);
    assert_eq!(d.action.as_deref(), Some("block_source_ip"));
    assert_eq!(d.impact, Some(Impact::Low));
    assert_eq!(d.reversible, Some(true));
    assert_eq!(d.confidence, Some(0.97));
    assert_eq!(codes(&d), ["category_action", "band_auto"]);
}

#[test]
fn confidence_of_a_benign_verdict_is_one_minus_p_malicious() {
    let policy = default_policy();
    let p = package(0.25, None, &[]);
    let d = decide(&policy, &input(&p));
    assert_eq!(d.confidence, Some(0.75));
    assert_eq!(d.action.as_deref(), Some(policy.close_action()));
}

#[test]
fn a_timeout_goes_to_an_analyst_with_reason_model_timeout_and_no_action() {
    let policy = default_policy();
    let p = package(0.999, Some("dos"), &[]);
    let d = decide(
        &policy,
        &DecisionInput {
            model: ModelStatus::Timeout,
            ..input(&p)
        },
    );
    assert_eq!(d.tier, Tier::Analyst);
    assert_eq!(codes(&d), ["model_timeout"]);
    assert_eq!(d.action, None);
}

#[test]
fn a_scoring_error_goes_to_an_analyst_and_names_the_error() {
    let policy = default_policy();
    let d = decide(
        &policy,
        &DecisionInput {
            package: None,
            model: ModelStatus::Error("bundle checksum mismatch".into()),
            asset: None,
            auto_close_threshold: Some(0.01),
            conservative: false,
        },
    );
    assert_eq!(d.tier, Tier::Analyst);
    assert_eq!(d.reasons[0].code, "scoring_error");
    assert!(d.reasons[0].text.contains("bundle checksum mismatch"));
}

#[test]
fn a_missing_model_goes_to_an_analyst() {
    let policy = default_policy();
    let d = decide(
        &policy,
        &DecisionInput {
            package: None,
            model: ModelStatus::Missing,
            asset: None,
            auto_close_threshold: None,
            conservative: false,
        },
    );
    assert_eq!((d.tier, codes(&d)), (Tier::Analyst, vec!["missing_model"]));
}

#[test]
fn an_ok_status_without_a_package_is_a_scoring_error() {
    let policy = default_policy();
    let d = decide(
        &policy,
        &DecisionInput {
            package: None,
            model: ModelStatus::Ok,
            asset: None,
            auto_close_threshold: Some(0.01),
            conservative: false,
        },
    );
    assert_eq!((d.tier, codes(&d)), (Tier::Analyst, vec!["scoring_error"]));
    assert_eq!(d.action, None);
}

#[test]
fn a_probability_that_is_not_one_goes_to_an_analyst_without_a_recommendation() {
    let policy = default_policy();
    for bad in [f64::NAN, -0.1, 1.5, f64::INFINITY] {
        let p = package_with_label(Verdict::Malicious, bad, Some("dos"), &[]);
        let d = decide(&policy, &input(&p));
        assert_eq!(d.tier, Tier::Analyst, "p = {bad}");
        assert_eq!(d.action, None, "p = {bad}");
    }
}

#[test]
fn missing_telemetry_never_yields_auto() {
    let policy = default_policy();
    let p = package(0.999, Some("dos"), &[Flag::MissingTelemetry]);
    let d = decide(&policy, &input(&p));
    assert_eq!(d.tier, Tier::Analyst);
    assert!(d.has_reason("flag_missing_telemetry"));
}

#[test]
fn out_of_distribution_never_yields_auto_and_by_default_shows_no_recommendation() {
    let policy = default_policy();
    let p = package(0.001, None, &[Flag::OutOfDistribution]);
    let d = decide(&policy, &input(&p));
    assert_eq!(d.tier, Tier::Abstain);
    assert_eq!(d.action, None);
    assert!(d.has_reason("flag_out_of_distribution"));
}

#[test]
fn an_open_breaker_never_yields_auto_and_says_so_first() {
    let policy = default_policy();
    let p = package(0.001, None, &[]);
    let d = decide(
        &policy,
        &DecisionInput {
            conservative: true,
            ..input(&p)
        },
    );
    assert_eq!(d.tier, Tier::Approve);
    assert_eq!(d.reasons[0].code, "breaker_open");
}

#[test]
fn an_irreversible_action_goes_to_an_analyst_however_sure() {
    let policy = default_policy();
    let p = package(1.0, Some("lateral_movement"), &[]);
    let d = decide(&policy, &input(&p));
    assert_eq!(d.reversible, Some(false));
    assert_eq!(d.tier, Tier::Analyst);
    assert!(d.has_reason("irreversible"));
}

#[test]
fn a_critical_action_goes_to_an_analyst_however_sure() {
    let policy = default_policy();
    let p = package(1.0, Some("exfiltration"), &[]);
    let d = decide(&policy, &input(&p));
    assert_eq!(d.impact, Some(Impact::Critical));
    assert_eq!(d.tier, Tier::Analyst);
    assert!(d.has_reason("impact_critical"));
}

#[test]
fn a_critical_asset_is_never_automated_and_a_high_one_is_capped_at_approve() {
    let policy = default_policy();
    let p = package(0.99, Some("dos"), &[]);
    let on = |asset| {
        decide(
            &policy,
            &DecisionInput {
                asset: Some(asset),
                ..input(&p)
            },
        )
    };
    assert_eq!(on("domain_controller").tier, Tier::Analyst);
    assert!(on("domain_controller").has_reason("asset_critical"));
    assert_eq!(on("build_server").tier, Tier::Approve);
    assert!(on("build_server").has_reason("asset_high"));
    assert_eq!(on("workstation").tier, Tier::Auto);
    assert_eq!(on("not_in_the_inventory").tier, Tier::Auto);
}

#[test]
fn an_unknown_category_gets_the_default_action() {
    let policy = default_policy();
    let p = package(0.8, Some("novel"), &[]);
    let d = decide(&policy, &input(&p));
    assert_eq!(d.action.as_deref(), Some(policy.default_action()));
    assert!(d.has_reason("category_default"));
}

#[test]
fn a_benign_close_needs_the_certified_threshold_not_just_confidence() {
    let policy = default_policy();
    let p = package(0.004, None, &[]);
    let with = |t| {
        decide(
            &policy,
            &DecisionInput {
                auto_close_threshold: t,
                ..input(&p)
            },
        )
    };
    assert_eq!(with(Some(0.01)).tier, Tier::Auto);
    assert!(with(Some(0.01)).has_reason("auto_close_certified"));
    assert_eq!(with(Some(0.003)).tier, Tier::Approve);
    assert!(with(Some(0.003)).has_reason("auto_close_not_certified"));
    assert_eq!(with(None).tier, Tier::Approve);
    assert!(with(None).has_reason("no_certified_threshold"));
    assert_eq!(with(Some(f64::NAN)).tier, Tier::Approve);
}

#[test]
fn no_single_signal_authorises_auto_on_its_own() {
    // From an auto baseline, taking away any one condition removes auto.
    let policy = default_policy();
    let base = package(0.97, Some("dos"), &[]);
    assert_eq!(decide(&policy, &input(&base)).tier, Tier::Auto);
    let low_confidence = package(0.8, Some("dos"), &[]);
    let high_impact = package(0.97, Some("brute_force"), &[]);
    let irreversible = package(0.97, Some("lateral_movement"), &[]);
    let flagged = package(0.97, Some("dos"), &[Flag::ConflictingSignals]);
    for p in [&low_confidence, &high_impact, &irreversible, &flagged] {
        let d = decide(&policy, &input(p));
        assert_ne!(d.tier, Tier::Auto, "{:?}", d.reasons);
    }
    let benign = package(0.005, None, &[]);
    let uncertified = DecisionInput {
        auto_close_threshold: None,
        ..input(&benign)
    };
    assert_ne!(decide(&policy, &uncertified).tier, Tier::Auto);
}

#[test]
fn a_flag_configured_to_abstain_hides_the_recommendation() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/default.yaml"),
    )
    .expect("read default policy");
    let text = text
        .replace("    - low_confidence\n", "")
        .replace(
            "  abstain: [out_of_distribution]",
            "  abstain: [out_of_distribution, low_confidence]",
        )
        .replace("tests:", "tests_disabled:");
    let text = text.split("tests_disabled:").next().unwrap_or_default();
    let policy = Policy::from_yaml(text, "abstain.yaml").expect("valid");
    let p = package(0.97, Some("dos"), &[Flag::LowConfidence]);
    let d = decide(&policy, &input(&p));
    assert_eq!(d.tier, Tier::Abstain);
    assert_eq!(d.action, None);
    assert!(d.has_reason("flag_low_confidence"));
}

#[test]
fn a_novel_alert_called_benign_abstains_and_one_called_malicious_goes_to_an_analyst_with_its_reading()
 {
    let policy = with_routes("  abstain_verdicts: [benign]\n");
    let ood = [Flag::OutOfDistribution];
    let benign = package(0.002, None, &ood);
    let d = decide(&policy, &input(&benign));
    assert_eq!(d.tier, Tier::Abstain, "{:?}", d.reasons);
    assert_eq!(
        d.action, None,
        "no recommendation on a novel benign verdict"
    );
    assert!(d.has_reason("flag_out_of_distribution"));

    let malicious = package(0.99, Some("dos"), &ood);
    let d = decide(&policy, &input(&malicious));
    assert_eq!(d.tier, Tier::Analyst, "{:?}", d.reasons);
    assert_eq!(d.action.as_deref(), Some("block_source_ip"));
    let r = d
        .reasons
        .iter()
        .find(|r| r.code == "flag_out_of_distribution")
        .expect("the flag is the reason");
    assert!(r.text.contains("malicious verdict"), "{}", r.text);
}

#[test]
fn abstaining_on_both_verdicts_is_the_default_when_a_policy_does_not_say() {
    let policy = default_policy();
    assert!(
        !std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/default.yaml")
        )
        .unwrap()
        .lines()
        .any(|l| l.trim_start().starts_with("abstain_verdicts:"))
    );
    for p in [
        package(0.99, Some("dos"), &[Flag::OutOfDistribution]),
        package(0.002, None, &[Flag::OutOfDistribution]),
    ] {
        assert_eq!(decide(&policy, &input(&p)).tier, Tier::Abstain);
    }
}

fn with_routes(extra: &str) -> Policy {
    let path =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policies/default.yaml");
    let text = std::fs::read_to_string(path).expect("default policy");
    let text = text.replace("uncertain:\n", &format!("uncertain:\n{extra}"));
    Policy::from_yaml(&text, "default.yaml").expect("policy with routes")
}

#[test]
fn members_that_disagree_send_an_otherwise_automated_verdict_where_the_epistemic_route_says() {
    let policy = with_routes("  epistemic: {tier: abstain, min_disagreement: 0.1}\n");
    let mut p = package(0.97, Some("dos"), &[]);
    assert_eq!(decide(&policy, &input(&p)).tier, Tier::Auto);
    p.uncertainty.epistemic.disagreement = 0.15;
    let d = decide(&policy, &input(&p));
    assert_eq!(d.tier, Tier::Abstain, "{:?}", d.reasons);
    assert_eq!(d.action, None);
    let r = d
        .reasons
        .iter()
        .find(|r| r.code == "epistemic_high")
        .unwrap();
    assert!(r.text.contains("0.150 bits ≥ 0.1"), "{}", r.text);
}

#[test]
fn distance_from_training_alone_can_trigger_the_epistemic_route() {
    let policy = with_routes("  epistemic: {tier: analyst, min_distance: 0.95}\n");
    let mut p = package(0.97, Some("dos"), &[]);
    p.uncertainty.ood_score = 0.96;
    let d = decide(&policy, &input(&p));
    assert_eq!(d.tier, Tier::Analyst, "{:?}", d.reasons);
    assert!(d.has_reason("epistemic_high"));
    assert_eq!(d.action.as_deref(), Some("block_source_ip"));
}

#[test]
fn a_conformal_set_with_both_verdicts_takes_an_auto_close_to_the_aleatoric_routes_tier() {
    let policy = with_routes("  aleatoric: {tier: approve, both_verdicts: true}\n");
    let mut p = package(0.002, None, &[]);
    assert_eq!(decide(&policy, &input(&p)).tier, Tier::Auto);
    p.verdict.conformal_set = vec![Verdict::Benign, Verdict::Malicious];
    let d = decide(&policy, &input(&p));
    assert_eq!(d.tier, Tier::Approve, "{:?}", d.reasons);
    assert!(d.has_reason("aleatoric_high"));
}

#[test]
fn the_aleatoric_route_reads_entropy_from_the_probability_not_the_stored_summary() {
    // A 1.0 package carries no aleatoric block; the route still sees p = 0.3's 0.88 bits.
    let policy = with_routes("  aleatoric: {tier: analyst, min_entropy: 0.8}\n");
    let mut p = package(0.3, None, &[]);
    p.uncertainty.aleatoric = Default::default();
    let d = decide(&policy, &input(&p));
    assert_eq!(d.tier, Tier::Analyst, "{:?}", d.reasons);
    assert!(d.has_reason("aleatoric_high"));
}

#[test]
fn uncertainty_routes_that_do_not_fire_leave_the_decision_alone() {
    let routes = "  epistemic: {tier: abstain, min_disagreement: 0.1, min_distance: 0.99}\n  \
                  aleatoric: {tier: analyst, min_entropy: 0.9, both_verdicts: true}\n";
    let policy = with_routes(routes);
    let p = package(0.97, Some("dos"), &[]);
    let d = decide(&policy, &input(&p));
    assert_eq!(d.tier, Tier::Auto, "{:?}", d.reasons);
    assert_eq!(codes(&d), ["category_action", "band_auto"]);
}
