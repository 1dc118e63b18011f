use arbiter_core::{AlertKey, Impact, Role, Tier, Verdict};
use chrono::{TimeZone, Utc};

use super::*;

fn alert(state: AlertState, action: Option<&str>, impact: Impact, reversible: bool) -> AlertRow {
    AlertRow {
        id: 1,
        key: AlertKey::new("test", "a-1").unwrap(),
        source_file: "f".into(),
        source_line: 1,
        time: None,
        received_at: Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap(),
        bundle: None,
        p_malicious: Some(0.8),
        verdict: Some(Verdict::Malicious),
        category: Some("dos".into()),
        flags: vec![],
        risk: 0.8,
        tier: Tier::Approve,
        action: action.map(str::to_string),
        impact: Some(impact),
        reversible: Some(reversible),
        blast_radius: Some("one host".into()),
        state,
        case_key: "c".into(),
        new_pattern: false,
    }
}

fn person(name: &str, token: i64) -> Actor {
    Actor::person(name, Role::Analyst, token)
}

fn approval(actor: Actor) -> DecisionRow {
    DecisionRow {
        alert: 1,
        kind: Decision::Approve,
        tier: Tier::Approve,
        action: Some("isolate_host".into()),
        reasons: vec![],
        actor,
        time: Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap(),
        audit_index: 3,
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

fn rules() -> Rules {
    Rules {
        reason_codes: vec!["model_wrong".into(), "expected_activity".into()],
        labels: vec!["benign".into(), "dos".into()],
        features: vec!["src_bytes".into()],
    }
}

/// Tokens 1–9 were minted by the CLI, token 66 by ann.
fn minted_by(token: i64) -> Option<Actor> {
    Some(if token == 66 {
        person("ann", 1)
    } else {
        Actor::system("cli/token")
    })
}

fn plan_by(
    a: &AlertRow,
    d: &[DecisionRow],
    r: &DecisionRequest,
    who: &Actor,
) -> Result<Plan, Refusal> {
    plan(a, d, r, who, &minted_by, &rules())
}

#[test]
fn a_reversible_high_impact_action_is_approved_by_one_analyst() {
    let a = alert(
        AlertState::PendingApproval,
        Some("isolate_host"),
        Impact::High,
        true,
    );
    let p = plan_by(&a, &[], &req("approve", None, None), &person("ann", 1)).unwrap();
    assert_eq!(p.to, AlertState::Approved);
    assert!(!p.first_of_two);
}

#[test]
fn an_irreversible_action_needs_two_different_people() {
    let a = alert(
        AlertState::Analyst,
        Some("reset_credentials"),
        Impact::High,
        false,
    );
    let first = plan_by(&a, &[], &req("approve", None, None), &person("ann", 1)).unwrap();
    assert_eq!(first.to, AlertState::PendingSecondApproval);
    assert!(first.first_of_two);

    let a = alert(
        AlertState::PendingSecondApproval,
        Some("reset_credentials"),
        Impact::High,
        false,
    );
    let so_far = [approval(person("ann", 1))];
    match plan_by(&a, &so_far, &req("approve", None, None), &person("ann", 1)) {
        Err(Refusal::Conflict(m)) => assert!(m.contains("four eyes"), "{m}"),
        other => panic!("same analyst twice must be refused, got {other:?}"),
    }
    let second = plan_by(
        &a,
        &so_far,
        &req("approve", None, None),
        &Actor::person("bob", Role::Lead, 2),
    )
    .unwrap();
    assert_eq!(second.to, AlertState::Approved);
}

#[test]
fn issue_10_two_tokens_of_one_person_are_one_pair_of_eyes() {
    let a = alert(
        AlertState::PendingSecondApproval,
        Some("reset_credentials"),
        Impact::High,
        false,
    );
    // Ann approved with her analyst token; her admin token is still Ann.
    let so_far = [approval(person("ann", 1))];
    let r = plan_by(
        &a,
        &so_far,
        &req("approve", None, None),
        &Actor::person("ann", Role::Admin, 5),
    );
    assert!(matches!(r, Err(Refusal::Conflict(m)) if m.contains("ann already approved")));
}

#[test]
fn issue_10_a_lead_cannot_complete_four_eyes_with_a_token_he_minted() {
    let a = alert(
        AlertState::PendingSecondApproval,
        Some("reset_credentials"),
        Impact::High,
        false,
    );
    // Ann approved, then minted token 66 for "carl" and approves again through it.
    let so_far = [approval(person("ann", 1))];
    let r = plan_by(
        &a,
        &so_far,
        &req("approve", None, None),
        &person("carl", 66),
    );
    assert!(
        matches!(&r, Err(Refusal::Conflict(m)) if m.contains("minted")),
        "{r:?}"
    );
    // And the other way round: carl approved first with the token ann minted for him.
    let so_far = [approval(person("carl", 66))];
    let r = plan_by(&a, &so_far, &req("approve", None, None), &person("ann", 1));
    assert!(
        matches!(&r, Err(Refusal::Conflict(m)) if m.contains("minted")),
        "{r:?}"
    );
}

#[test]
fn a_critical_action_needs_two_people_even_when_reversible() {
    let a = alert(
        AlertState::Analyst,
        Some("block_org_domain"),
        Impact::Critical,
        true,
    );
    let p = plan_by(&a, &[], &req("approve", None, None), &person("ann", 1)).unwrap();
    assert_eq!(p.to, AlertState::PendingSecondApproval);
}

#[test]
fn an_override_needs_a_known_reason_code_and_a_note() {
    let a = alert(
        AlertState::AutoClosed,
        Some("close_alert"),
        Impact::None,
        true,
    );
    let ann = person("ann", 1);
    assert!(matches!(
        plan_by(&a, &[], &req("override", None, Some("x")), &ann),
        Err(Refusal::Invalid(m)) if m.contains("reason_code")
    ));
    assert!(matches!(
        plan_by(&a, &[], &req("override", Some("model_wrong"), Some("  ")), &ann),
        Err(Refusal::Invalid(m)) if m.contains("note")
    ));
    assert!(matches!(
        plan_by(&a, &[], &req("override", Some("bogus"), Some("x")), &ann),
        Err(Refusal::Invalid(m)) if m.contains("\"bogus\"") && m.contains("model_wrong")
    ));
    let ok = plan_by(
        &a,
        &[],
        &req("override", Some("model_wrong"), Some("it was a scan")),
        &ann,
    )
    .unwrap();
    assert_eq!(ok.to, AlertState::Overridden);
    assert!(ok.feedback);
}

#[test]
fn issue_10_a_note_longer_than_the_cap_is_refused_with_its_size() {
    let a = alert(
        AlertState::Analyst,
        Some("isolate_host"),
        Impact::High,
        true,
    );
    let long = "x".repeat(MAX_NOTE_BYTES + 1);
    let r = plan_by(
        &a,
        &[],
        &req("override", Some("model_wrong"), Some(&long)),
        &person("ann", 1),
    );
    assert!(
        matches!(&r, Err(Refusal::Invalid(m)) if m.contains("4097 bytes") && m.len() < 300),
        "{r:?}"
    );
}

#[test]
fn a_decided_alert_cannot_be_approved_or_rejected_again() {
    let a = alert(
        AlertState::Approved,
        Some("isolate_host"),
        Impact::High,
        true,
    );
    let ann = person("ann", 1);
    assert!(matches!(
        plan_by(&a, &[], &req("approve", None, None), &ann),
        Err(Refusal::Conflict(_))
    ));
    assert!(matches!(
        plan_by(&a, &[], &req("reject", Some("model_wrong"), None), &ann),
        Err(Refusal::Conflict(_))
    ));
}

#[test]
fn an_abstained_alert_has_nothing_to_approve() {
    let a = alert(AlertState::Abstained, None, Impact::None, true);
    let r = plan_by(&a, &[], &req("approve", None, None), &person("ann", 1));
    assert!(matches!(r, Err(Refusal::Conflict(m)) if m.contains("no recommended action")));
}

#[test]
fn only_people_decide() {
    let a = alert(
        AlertState::Analyst,
        Some("isolate_host"),
        Impact::High,
        true,
    );
    let r = plan_by(&a, &[], &req("approve", None, None), &Actor::system("cli"));
    assert!(matches!(r, Err(Refusal::Invalid(m)) if m.contains("not a person")));
}

#[test]
fn unknown_actions_labels_and_features_are_named_in_the_refusal() {
    let a = alert(
        AlertState::Analyst,
        Some("isolate_host"),
        Impact::High,
        true,
    );
    let ann = person("ann", 1);
    assert!(matches!(
        plan_by(&a, &[], &req("close", None, None), &ann),
        Err(Refusal::Invalid(m)) if m.contains("\"close\"")
    ));
    let mut r = req("override", Some("model_wrong"), Some("n"));
    r.label = Some("martian".into());
    assert!(
        matches!(plan_by(&a, &[], &r, &ann), Err(Refusal::Invalid(m)) if m.contains("\"martian\""))
    );
    r.label = Some("benign".into());
    r.feature = Some("colour".into());
    assert!(
        matches!(plan_by(&a, &[], &r, &ann), Err(Refusal::Invalid(m)) if m.contains("\"colour\""))
    );
}
