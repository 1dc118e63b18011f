//! The gate report: JSON (whose SHA-256 the registry and the audit log record) and markdown.

use std::fmt::Write;

use arbiter_model::Model;
use serde::{Deserialize, Serialize};

/// One gate's outcome: what was measured, the bound it was held to, and how it compares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gate {
    pub name: String,
    pub passed: bool,
    /// `None` when there was nothing to measure.
    pub measured: Option<f64>,
    pub bound: Option<f64>,
    /// `at_least`, `at_most` or `certified`.
    pub comparison: String,
    pub detail: String,
}

impl Gate {
    pub(crate) fn at_least(name: &str, measured: f64, bound: f64, detail: String) -> Gate {
        Gate {
            name: name.into(),
            passed: measured >= bound - 1e-12,
            measured: Some(measured),
            bound: Some(bound),
            comparison: "at_least".into(),
            detail,
        }
    }

    pub(crate) fn at_most(name: &str, measured: f64, bound: f64, detail: String) -> Gate {
        Gate {
            name: name.into(),
            passed: measured <= bound + 1e-12,
            measured: Some(measured),
            bound: Some(bound),
            comparison: "at_most".into(),
            detail,
        }
    }

    pub(crate) fn failed(name: &str, bound: f64, detail: String) -> Gate {
        Gate {
            name: name.into(),
            passed: false,
            measured: None,
            bound: Some(bound),
            comparison: "at_least".into(),
            detail,
        }
    }

    /// How far a failed gate missed its bound (positive), when both are numbers.
    pub fn shortfall(&self) -> Option<f64> {
        let (m, b) = (self.measured?, self.bound?);
        if self.passed {
            return None;
        }
        Some(match self.comparison.as_str() {
            "at_most" => m - b,
            _ => b - m,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSide {
    pub id: String,
    pub schema: String,
    pub auto_close_threshold: Option<f64>,
}

impl ModelSide {
    pub(crate) fn of(m: &Model, threshold: Option<f64>) -> ModelSide {
        ModelSide {
            id: m.id.clone(),
            schema: m.schema.id(),
            auto_close_threshold: threshold,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteInfo {
    pub name: String,
    pub file: String,
    pub sha256: String,
    pub must_catch: usize,
    pub must_not_act: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecentInfo {
    pub alerts: usize,
    pub attacks: usize,
    pub first_example: Option<i64>,
    pub last_example: Option<i64>,
}

/// Every gate of one candidate against one champion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateReport {
    pub version: u32,
    pub champion: ModelSide,
    pub candidate: ModelSide,
    pub policy: String,
    pub suite: SuiteInfo,
    pub recent: RecentInfo,
    pub gates: Vec<Gate>,
    /// All gates passed: the only state in which the registry lets the candidate be promoted.
    pub passed: bool,
}

impl GateReport {
    /// The report as stored; its SHA-256 is [`GateReport::sha256`].
    pub fn json(&self) -> Vec<u8> {
        (serde_json::to_string_pretty(self).expect("report serialises") + "\n").into_bytes()
    }

    pub fn sha256(&self) -> String {
        arbiter_triage::sha256_hex(&self.json())
    }

    /// The failed gates, each with how far it missed: what a refused promotion says.
    pub fn failures(&self) -> Vec<String> {
        self.gates
            .iter()
            .filter(|g| !g.passed)
            .map(|g| match g.shortfall() {
                Some(by) => format!(
                    "{} missed its bound {:.4} by {by:.4}",
                    g.name,
                    g.bound.unwrap_or_default()
                ),
                None => format!("{} failed: {}", g.name, g.detail),
            })
            .collect()
    }

    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# Gate report: {}\n\ncandidate `{}` against champion `{}` ({}), policy {}, \
             regression suite {} ({} must-catch, {} must-not-act, sha256 {}), {} recent \
             labelled alerts ({} attacks).\n",
            if self.passed { "PASSED" } else { "FAILED" },
            self.candidate.id,
            self.champion.id,
            self.candidate.schema,
            self.policy,
            self.suite.name,
            self.suite.must_catch,
            self.suite.must_not_act,
            &self.suite.sha256[..self.suite.sha256.len().min(12)],
            self.recent.alerts,
            self.recent.attacks
        );
        let _ = writeln!(
            s,
            "| gate | result | measured | bound | detail |\n|---|---|---:|---:|---|"
        );
        let num = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{x:.4}"));
        for g in &self.gates {
            let result = match (g.passed, g.shortfall()) {
                (true, _) => "pass".to_string(),
                (false, Some(by)) => format!("**FAIL** by {by:.4}"),
                (false, None) => "**FAIL**".to_string(),
            };
            let op = match g.comparison.as_str() {
                "at_most" => "≤ ",
                "at_least" => "≥ ",
                _ => "",
            };
            let _ = writeln!(
                s,
                "| {} | {result} | {} | {op}{} | {} |",
                g.name,
                num(g.measured),
                num(g.bound),
                g.detail.replace('|', "\\|")
            );
        }
        s
    }
}
