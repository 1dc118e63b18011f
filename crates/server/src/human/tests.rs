use super::*;

fn alert(state: &str, action: Option<&str>, impact: &str, reversible: bool) -> AlertRow {
    AlertRow {
        id: 1,
        key: "k".into(),
        alert_id: "a-1".into(),
        source_file: "f".into(),
        source_line: 1,
        time: None,
        received_at: "2026-12-01T00:00:00Z".into(),
        bundle: None,
        p_malicious: Some(0.8),
        verdict: Some("malicious".into()),
        category: Some("dos".into()),
        flags: vec![],
        risk: 0.8,
        tier: "approve".into(),
        action: action.map(str::to_string),
        impact: Some(impact.into()),
        reversible: Some(reversible),
        blast_radius: Some("one host".into()),
        state: state.into(),
        case_key: "c".into(),
        new_pattern: false,
    }
}

fn approval(actor: &str) -> DecisionRow {
    DecisionRow {
        alert: 1,
        kind: "approve".into(),
        tier: "approve".into(),
        action: Some("isolate_host".into()),
        reasons: "[]".into(),
        actor: actor.into(),
        time: "t".into(),
        audit_index: Some(3),
        reason_code: None,
        note: None,
        ms_to_decision: None,
    }
}

fn req(action: &str, code: Option<&str>, note: Option<&str>) -> DecisionRequest {
    DecisionRequest {
        action: action.into(),
        reason_code: code.map(str::to_string),
        note: note.map(str::to_string),
        ..DecisionRequest::default()
    }
}

fn cx(actor: &str) -> Context<'_> {
    static CODES: std::sync::LazyLock<Vec<String>> =
        std::sync::LazyLock::new(|| vec!["model_wrong".into(), "expected_activity".into()]);
    static LABELS: std::sync::LazyLock<Vec<String>> =
        std::sync::LazyLock::new(|| vec!["benign".into(), "dos".into()]);
    static FEATURES: std::sync::LazyLock<Vec<String>> =
        std::sync::LazyLock::new(|| vec!["src_bytes".into()]);
    Context {
        reason_codes: &CODES,
        labels: &LABELS,
        features: &FEATURES,
        actor,
    }
}

#[test]
fn a_reversible_high_impact_action_is_approved_by_one_analyst() {
    let a = alert("pending_approval", Some("isolate_host"), "high", true);
    let p = plan(&a, &[], &req("approve", None, None), &cx("analyst:ann")).unwrap();
    assert_eq!(p.new_state, "approved");
    assert!(!p.first_of_two);
}

#[test]
fn an_irreversible_action_needs_two_different_analysts() {
    let a = alert("analyst", Some("reset_credentials"), "high", false);
    let first = plan(&a, &[], &req("approve", None, None), &cx("analyst:ann")).unwrap();
    assert_eq!(first.new_state, "pending_second_approval");
    assert!(first.first_of_two);

    let a = alert(
        "pending_second_approval",
        Some("reset_credentials"),
        "high",
        false,
    );
    let again = plan(
        &a,
        &[approval("analyst:ann")],
        &req("approve", None, None),
        &cx("analyst:ann"),
    );
    match again {
        Err(Refusal::Conflict(m)) => assert!(m.contains("four eyes"), "{m}"),
        other => panic!("same analyst twice must be refused, got {other:?}"),
    }
    let second = plan(
        &a,
        &[approval("analyst:ann")],
        &req("approve", None, None),
        &cx("lead:bob"),
    )
    .unwrap();
    assert_eq!(second.new_state, "approved");
}

#[test]
fn a_critical_action_needs_two_analysts_even_when_reversible() {
    let a = alert("analyst", Some("block_org_domain"), "critical", true);
    let p = plan(&a, &[], &req("approve", None, None), &cx("analyst:ann")).unwrap();
    assert_eq!(p.new_state, "pending_second_approval");
}

#[test]
fn an_override_needs_a_known_reason_code_and_a_note() {
    let a = alert("auto_closed", Some("close_alert"), "none", true);
    let c = cx("analyst:ann");
    assert!(matches!(
        plan(&a, &[], &req("override", None, Some("x")), &c),
        Err(Refusal::Invalid(m)) if m.contains("reason_code")
    ));
    assert!(matches!(
        plan(&a, &[], &req("override", Some("model_wrong"), Some("  ")), &c),
        Err(Refusal::Invalid(m)) if m.contains("note")
    ));
    assert!(matches!(
        plan(&a, &[], &req("override", Some("bogus"), Some("x")), &c),
        Err(Refusal::Invalid(m)) if m.contains("\"bogus\"") && m.contains("model_wrong")
    ));
    let ok = plan(
        &a,
        &[],
        &req("override", Some("model_wrong"), Some("it was a scan")),
        &c,
    )
    .unwrap();
    assert_eq!(ok.new_state, "overridden");
    assert!(ok.feedback);
}

#[test]
fn a_decided_alert_cannot_be_approved_or_rejected_again() {
    let a = alert("approved", Some("isolate_host"), "high", true);
    let c = cx("analyst:ann");
    assert!(matches!(
        plan(&a, &[], &req("approve", None, None), &c),
        Err(Refusal::Conflict(_))
    ));
    assert!(matches!(
        plan(&a, &[], &req("reject", Some("model_wrong"), None), &c),
        Err(Refusal::Conflict(_))
    ));
}

#[test]
fn an_abstained_alert_has_nothing_to_approve() {
    let a = alert("abstained", None, "none", true);
    let r = plan(&a, &[], &req("approve", None, None), &cx("analyst:ann"));
    assert!(matches!(r, Err(Refusal::Conflict(m)) if m.contains("no recommended action")));
}

#[test]
fn unknown_actions_labels_and_features_are_named_in_the_refusal() {
    let a = alert("analyst", Some("isolate_host"), "high", true);
    let c = cx("analyst:ann");
    assert!(matches!(
        plan(&a, &[], &req("close", None, None), &c),
        Err(Refusal::Invalid(m)) if m.contains("\"close\"")
    ));
    let mut r = req("override", Some("model_wrong"), Some("n"));
    r.label = Some("martian".into());
    assert!(matches!(plan(&a, &[], &r, &c), Err(Refusal::Invalid(m)) if m.contains("\"martian\"")));
    r.label = Some("benign".into());
    r.feature = Some("colour".into());
    assert!(matches!(plan(&a, &[], &r, &c), Err(Refusal::Invalid(m)) if m.contains("\"colour\"")));
}
