//! Flood control: a burst of identical alerts becomes one case with a count, so one noisy
//! source cannot bury the queue or spend the automation budget a thousand times over.

use std::collections::{BTreeMap, BTreeSet};

use arbiter_core::EvidencePackage;
use serde::{Deserialize, Serialize};

use crate::error::PolicyError;
use crate::file::{FloodConfig, Policy};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FloodOutcome {
    /// Identifies the case the alert joined: its pattern plus the time the case opened.
    pub case_key: String,
    /// The pattern alone (`category=dos|host=h1`), the same across windows.
    pub pattern: String,
    /// True for the alert that opened the case; later ones in the window are folded into it.
    pub first_in_window: bool,
    /// Alerts in the case so far, this one included.
    pub count: u64,
    /// True the first time this pattern is ever seen.
    pub new_pattern: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct OpenCase {
    started_ms: i64,
    count: u64,
}

/// Collapses alerts with the same key (`flood.key`) seen within `flood.window_s` of the first
/// one into one case. Windows are anchored at the case's first alert, so a steady trickle
/// still opens a new case every window and is re-surfaced rather than hidden forever.
///
/// The set of seen patterns only grows; it holds one short string per distinct pattern.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FloodControl {
    config: FloodConfig,
    open: BTreeMap<String, OpenCase>,
    seen: BTreeSet<String>,
}

impl FloodControl {
    pub fn new(policy: &Policy) -> FloodControl {
        FloodControl::with_config(policy.flood.clone())
    }

    pub fn with_config(config: FloodConfig) -> FloodControl {
        FloodControl {
            config,
            open: BTreeMap::new(),
            seen: BTreeSet::new(),
        }
    }

    /// The pattern of a package: each key field as `name=value`, `-` when absent. Fields are
    /// `category`, `label`, or the name of an `ids` entry (`host`, `user` …).
    pub fn pattern(&self, package: &EvidencePackage) -> String {
        let value = |field: &str| -> String {
            match field {
                "category" => package.verdict.category.clone(),
                "label" | "verdict" => Some(package.verdict.label.as_str().to_string()),
                other => package.ids.get(other).cloned(),
            }
            .unwrap_or_else(|| "-".to_string())
        };
        self.config
            .key
            .iter()
            .map(|f| format!("{f}={}", value(f)))
            .collect::<Vec<_>>()
            .join("|")
    }

    pub fn observe(&mut self, package: &EvidencePackage, now_ms: i64) -> FloodOutcome {
        self.observe_with(package, None, now_ms)
    }

    /// As [`FloodControl::observe`], for sources whose rows carry none of the key's entity
    /// fields (no host, no user): then "identical" means the same category and the same
    /// `content` (the caller's fingerprint of the row's values), not every alert of a category.
    pub fn observe_with(
        &mut self,
        package: &EvidencePackage,
        content: Option<&str>,
        now_ms: i64,
    ) -> FloodOutcome {
        let mut pattern = self.pattern(package);
        let entity_free = self
            .config
            .key
            .iter()
            .filter(|f| !matches!(f.as_str(), "category" | "label" | "verdict"))
            .all(|f| !package.ids.contains_key(f));
        if let (true, Some(c)) = (entity_free, content) {
            pattern.push_str(&format!("|content={c}"));
        }
        let new_pattern = self.seen.insert(pattern.clone());
        let window_ms =
            i64::try_from(self.config.window_s.saturating_mul(1000)).unwrap_or(i64::MAX);
        let case = self.open.entry(pattern.clone()).or_insert(OpenCase {
            started_ms: now_ms,
            count: 0,
        });
        // A late alert stamped before the case opened joins it rather than splitting it.
        if now_ms.saturating_sub(case.started_ms) >= window_ms {
            *case = OpenCase {
                started_ms: now_ms,
                count: 0,
            };
        }
        case.count += 1;
        FloodOutcome {
            case_key: format!("{pattern}@{}", case.started_ms),
            pattern,
            first_in_window: case.count == 1,
            count: case.count,
            new_pattern,
        }
    }

    /// Drops cases whose window has ended, keeping memory bounded by the live patterns.
    pub fn expire(&mut self, now_ms: i64) {
        let window_ms =
            i64::try_from(self.config.window_s.saturating_mul(1000)).unwrap_or(i64::MAX);
        self.open
            .retain(|_, c| now_ms.saturating_sub(c.started_ms) < window_ms);
    }

    /// Rebuilds flood control from the cases stored so far (`pattern@started_ms` keys with
    /// their counts, oldest first): every pattern is seen, and each pattern's latest case is
    /// open again until its window ends. Cases built from other key fields (an older policy)
    /// are ignored, since their patterns would never match again.
    pub fn restore<'a>(
        policy: &Policy,
        cases: impl IntoIterator<Item = (&'a str, u64)>,
        now_ms: i64,
    ) -> FloodControl {
        let mut f = FloodControl::new(policy);
        let names: Vec<&str> = f.config.key.iter().map(String::as_str).collect();
        for (key, count) in cases {
            let Some((pattern, started)) = key.rsplit_once('@') else {
                continue;
            };
            let Ok(started_ms) = started.parse::<i64>() else {
                continue;
            };
            let fields: Vec<&str> = pattern
                .split('|')
                .filter_map(|kv| kv.split_once('=').map(|(k, _)| k))
                .filter(|k| *k != "content")
                .collect();
            if fields != names {
                continue;
            }
            f.seen.insert(pattern.to_string());
            f.open
                .insert(pattern.to_string(), OpenCase { started_ms, count });
        }
        f.expire(now_ms);
        f
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Restores saved state under the current policy's `flood` settings. Open cases and seen
    /// patterns are kept only when the key fields are unchanged, since patterns built from other
    /// fields would never match again (and would mark every pattern as seen-before wrongly).
    pub fn from_json(policy: &Policy, text: &str) -> Result<FloodControl, PolicyError> {
        let saved: FloodControl =
            serde_json::from_str(text).map_err(|source| PolicyError::State {
                what: "flood control",
                source,
            })?;
        let mut restored = FloodControl::new(policy);
        if saved.config.key == restored.config.key {
            restored.open = saved.open;
            restored.seen = saved.seen;
        }
        Ok(restored)
    }
}
