//! Embedded policy tests: the alert each one feeds to the decision and what it expects.
//!
//! `expect:` is either a bare tier (`expect: auto`) or a mapping `{tier, action?, reason?}`,
//! deserialised by hand rather than with `#[serde(untagged)]` because untagged enums replace a
//! precise "unknown field `tiers` at line 40" with "did not match any variant".

use std::fmt;

use arbiter_core::Flag;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use arbiter_core::Tier;

/// Model outcome in an embedded test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestModel {
    #[default]
    Ok,
    Timeout,
    Error,
    Missing,
}

/// Telemetry state in an embedded test; `degraded` adds the `missing_telemetry` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestTelemetry {
    #[default]
    Ok,
    Degraded,
}

/// Circuit-breaker state in an embedded test; `open` runs the decision in conservative mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestBreaker {
    #[default]
    Closed,
    Open,
}

/// The alert an embedded test feeds to [`crate::decide`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestAlert {
    /// Required when `model` is `ok`; ignored otherwise (no package exists).
    #[serde(default)]
    pub p_malicious: Option<f64>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub flags: Vec<Flag>,
    #[serde(default)]
    pub asset: Option<String>,
    #[serde(default)]
    pub model: TestModel,
    #[serde(default)]
    pub telemetry: TestTelemetry,
    #[serde(default)]
    pub breaker: TestBreaker,
    /// The certified auto-close threshold at `auto_close.alpha`; absent means none qualified.
    #[serde(default)]
    pub threshold: Option<f64>,
    /// Member disagreement in bits (epistemic); 0 when absent.
    #[serde(default)]
    pub disagreement: Option<f64>,
    /// Distance from training, the OOD score (epistemic); 0 when absent.
    #[serde(default)]
    pub distance: Option<f64>,
    /// The conformal set holds both verdicts (aleatoric).
    #[serde(default)]
    pub both_verdicts: bool,
}

/// One embedded policy test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    pub name: String,
    pub alert: TestAlert,
    pub expect: Expect,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Expect {
    pub tier: Tier,
    /// When given, the recommended action must be this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// When given, this reason code must be among the decision's reasons.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectMap {
    tier: Tier,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

impl<'de> Deserialize<'de> for Expect {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ExpectVisitor;

        impl<'de> Visitor<'de> for ExpectVisitor {
            type Value = Expect;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a tier (auto, approve, analyst, abstain) or {tier, action, reason}")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Expect, E> {
                let tier = Tier::deserialize(de::value::StrDeserializer::<E>::new(v))?;
                Ok(Expect {
                    tier,
                    action: None,
                    reason: None,
                })
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Expect, A::Error> {
                let m = ExpectMap::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(Expect {
                    tier: m.tier,
                    action: m.action,
                    reason: m.reason,
                })
            }
        }

        deserializer.deserialize_any(ExpectVisitor)
    }
}
