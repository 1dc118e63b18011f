//! Shared helpers: evidence packages built directly, and the shipped default policy.
#![allow(dead_code)]

use std::path::PathBuf;

use arbiter_core::{EvidencePackage, Flag, Verdict};
use arbiter_policy::Policy;

pub fn default_policy() -> Policy {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policies/default.yaml");
    Policy::load(path).expect("default policy loads")
}

/// A package whose verdict label follows p_malicious at the 0.5 cut.
pub fn package(p_malicious: f64, category: Option<&str>, flags: &[Flag]) -> EvidencePackage {
    let label = if p_malicious >= 0.5 {
        Verdict::Malicious
    } else {
        Verdict::Benign
    };
    package_with_label(label, p_malicious, category, flags)
}

pub fn package_with_label(
    label: Verdict,
    p_malicious: f64,
    category: Option<&str>,
    flags: &[Flag],
) -> EvidencePackage {
    EvidencePackage::verdict_only("a-1", label, p_malicious, category, flags.to_vec())
}

/// The same package with `ids` entries added.
pub fn with_ids(mut p: EvidencePackage, ids: &[(&str, &str)]) -> EvidencePackage {
    for (k, v) in ids {
        p.ids.insert(k.to_string(), v.to_string());
    }
    p
}
