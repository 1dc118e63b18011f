//! Fixtures: an evidence package, alert rows and views built in code, shaped like the
//! explain crate's golden packages.

#![allow(dead_code)]

use arbiter_console::{ActionInfo, AlertView, ReasonChoice, TimelineItem, User};
use arbiter_core::{
    Aleatoric, Change, Counterfactual, Driver, EVIDENCE_SCHEMA_VERSION, Epistemic, Evidence,
    EvidencePackage, Falsification, FieldValue, Flag, Hypothesis, Provenance, RowSource,
    SimilarCase, SimilarCases, Summary, Uncertainty, Verdict, VerdictSummary,
};
use arbiter_store::AlertRow;

pub fn user(name: &str, role: &str) -> User {
    User {
        name: name.into(),
        role: role.parse().expect("a role"),
    }
}

fn evidence(field: &str, value: FieldValue, contribution: f64, text: &str) -> Evidence {
    Evidence {
        field: field.into(),
        value,
        contribution,
        text: text.into(),
    }
}

/// A full package for `alert_id` with calibrated probability `p` and the given flags.
pub fn package(alert_id: &str, p: f64, flags: Vec<Flag>) -> EvidencePackage {
    let label = if p >= 0.5 {
        Verdict::Malicious
    } else {
        Verdict::Benign
    };
    let flags_ood = flags.contains(&Flag::OutOfDistribution);
    EvidencePackage {
        schema_version: EVIDENCE_SCHEMA_VERSION.into(),
        alert_id: alert_id.into(),
        source: RowSource {
            file: "test.csv".into(),
            line: 3,
        },
        ids: Default::default(),
        time: Some("2024-05-01T10:00:00Z".into()),
        verdict: VerdictSummary {
            label,
            p_malicious: p,
            interval: [(p - 0.1).max(0.0), (p + 0.05).min(1.0)],
            conformal_set: vec![label],
            alpha: 0.05,
            category: Some("exfiltration".into()),
            category_p: p * 0.8,
        },
        uncertainty: Uncertainty {
            flags,
            ood_score: 0.4,
            member_spread: 0.03,
            stability: 0.8,
            epistemic: Epistemic::from_parts(0.03, 0.4, flags_ood),
            aleatoric: Aleatoric::assess(p, false),
        },
        summary: Summary {
            why: format!("{label:?}, p(malicious) {p:.3}; mainly bytes_out = 82995091"),
            check_next: "Break the outbound bytes down by destination in the flow logs.".into(),
        },
        drivers: vec![
            Driver {
                field: "bytes_out".into(),
                value: FieldValue::Number(82995091.0),
                typical: Some("benign median 5154812".into()),
                contribution: 1.076,
                toward: Verdict::Malicious,
                member_agreement: 1.0,
                text: "bytes_out = 82995091 pushed toward malicious — Bytes the host sent".into(),
            },
            Driver {
                field: "geo_distance_km".into(),
                value: FieldValue::Number(0.0),
                typical: Some("benign median 0".into()),
                contribution: -0.42,
                toward: Verdict::Benign,
                member_agreement: 0.67,
                text: "geo_distance_km = 0 pushed toward benign — Distance from usual location"
                    .into(),
            },
        ],
        hypotheses: vec![
            Hypothesis {
                name: "exfiltration".into(),
                p: 0.6,
                evidence_for: vec![evidence(
                    "bytes_out",
                    FieldValue::Number(82995091.0),
                    0.9,
                    "bytes_out = 82995091 (benign median 5154812)",
                )],
                against: vec![evidence(
                    "dns_entropy",
                    FieldValue::Number(3.2),
                    -0.1,
                    "dns_entropy = 3.2 (benign median 2.935)",
                )],
            },
            Hypothesis {
                name: "novel".into(),
                p: 0.1,
                evidence_for: vec![evidence(
                    "sensor",
                    FieldValue::Text("edr-8.0".into()),
                    0.0,
                    "sensor=edr-8.0 was never seen in training",
                )],
                against: vec![],
            },
        ],
        counterfactual: Counterfactual {
            found: true,
            changes: vec![Change {
                field: "beacon_regularity".into(),
                from: FieldValue::Number(0.596),
                to: FieldValue::Number(0.63),
            }],
            flips_to: Some(Verdict::Benign),
            p_after: Some(0.45),
            statement: "changing beacon_regularity from 0.596 to 0.63 would flip the verdict"
                .into(),
        },
        falsify: Falsification {
            field: Some("bytes_out".into()),
            check: "Confirm whether the largest destination is a sanctioned backup service.".into(),
            because: "bytes_out pushes hardest toward the verdict".into(),
        },
        similar_cases: SimilarCases {
            representation: "scaled feature space of the OOD detector".into(),
            store: Some("past.csv".into()),
            cases: vec![SimilarCase {
                alert_id: "past-000042".into(),
                source: RowSource {
                    file: "past.csv".into(),
                    line: 43,
                },
                resolution: "malicious".into(),
                category: "exfiltration".into(),
                distance: 1.1841,
            }],
            note: None,
        },
        provenance: Provenance {
            bundle: "sha256:a6f2ccd4".into(),
            schema: "soc-synthetic@1".into(),
            calibration: "platt".into(),
            features_expected: 31,
            features_present: 29,
            missing: vec!["process_starts".into(), "cmdline_entropy".into()],
            unseen_values: vec!["sensor=edr-8.0".into()],
            not_model_inputs: vec!["alert_id".into(), "host".into()],
            window: Some(["2024-05-01T09:55:00Z".into(), "2024-05-01T10:00:00Z".into()]),
            method: "exact TreeSHAP, mean over members".into(),
        },
        observed_label: None,
    }
}

/// An alert row, built through serde so that fields the store adds with defaults need no edit.
pub fn row(id: i64, alert_id: &str, p: Option<f64>, tier: &str, state: &str) -> AlertRow {
    serde_json::from_value(serde_json::json!({
        "id": id,
        "key": format!("test/{alert_id}"),
        "source_file": "test.csv",
        "source_line": id as u64 + 1,
        "time": format!("2024-05-01T10:00:{id:02}Z"),
        "received_at": "2024-05-01T10:01:00Z",
        "bundle": format!("sha256:{}", "a6".repeat(32)),
        "p_malicious": p,
        "verdict": p.map(|p| if p >= 0.5 { "malicious" } else { "benign" }),
        "category": "exfiltration",
        "flags": [],
        "risk": p.unwrap_or(1.0),
        "tier": tier,
        "action": "isolate_host",
        "state": state,
        "case_key": "host-7/exfiltration",
        "new_pattern": false,
    }))
    .expect("an alert row")
}

pub fn action(needs_two: bool) -> ActionInfo {
    ActionInfo {
        name: "isolate_host".into(),
        impact: if needs_two { "critical" } else { "medium" }.into(),
        reversible: !needs_two,
        blast_radius: "one host".into(),
        description: "cut the host off the network".into(),
        needs_two_approvals: needs_two,
    }
}

/// An open alert awaiting approval, scored with `p`.
pub fn view(p: f64, flags: Vec<Flag>) -> AlertView {
    AlertView {
        alert: row(7, "test-000002", Some(p), "approve", "pending_approval"),
        package: Some(package("test-000002", p, flags)),
        action: Some(action(false)),
        approvals: vec![],
        open: true,
        reason_codes: vec![
            ReasonChoice {
                code: "false_positive".into(),
                label: "False positive".into(),
            },
            ReasonChoice {
                code: "known_benign".into(),
                label: "Known benign activity".into(),
            },
        ],
        labels: vec!["benign".into(), "exfiltration".into()],
        features: vec!["bytes_out".into(), "dns_entropy".into()],
        timeline: vec![
            TimelineItem {
                audit_index: Some(11),
                time: "2024-05-01T10:01:00Z".into(),
                kind: "decision".into(),
                actor: "policy".into(),
                summary: "suggested isolate_host, tier approve".into(),
                reason_code: None,
                note: None,
            },
            TimelineItem {
                audit_index: None,
                time: "2024-05-01T10:05:00Z".into(),
                kind: "approval".into(),
                actor: "alice".into(),
                summary: "approved isolate_host".into(),
                reason_code: Some("confirmed".into()),
                note: Some("seen on the proxy too".into()),
            },
        ],
        timeline_note: None,
    }
}

/// The first `<tag … id="id" …>` element up to its first closing `</tag>` (no nesting).
pub fn element<'a>(html: &'a str, tag: &str, id: &str) -> &'a str {
    let at = html
        .find(&format!(" id=\"{id}\""))
        .unwrap_or_else(|| panic!("no element with id {id} in page"));
    let start = html[..at]
        .rfind(&format!("<{tag}"))
        .filter(|s| !html[*s..at].contains('>'))
        .unwrap_or_else(|| panic!("id {id} is not on a <{tag}>"));
    let end = html[start..]
        .find(&format!("</{tag}>"))
        .map_or(html.len(), |e| start + e);
    &html[start..end]
}
