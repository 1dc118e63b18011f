//! Semantic checks a policy must pass after it parses, and finding the line of the key at fault.
//!
//! serde catches the shape of the file; these rules catch a well-formed file that would make
//! the decision meaningless or unsafe (an action that does not exist, a band that lets a
//! critical action through, a close action that cannot be undone).

use std::collections::BTreeSet;

use arbiter_core::Tier;

use crate::cases::TestModel;
use crate::decide::known_reason_codes;
use crate::error::{Location, PolicyError};
use crate::file::{Impact, Policy, RISK_ALPHAS};

/// The 1-based line of the key path in the YAML source: each segment is searched for as a
/// whole word after the line where the previous one was found, comments ignored. Returns the
/// deepest segment found, so a partially found path still points near the fault.
pub(crate) fn locate(source: &str, path: &[&str]) -> Option<usize> {
    let lines: Vec<&str> = source.lines().collect();
    let mut from = 0;
    let mut found = None;
    for segment in path {
        let hit = (from..lines.len()).find(|&i| mentions(strip_comment(lines[i]), segment));
        match hit {
            Some(i) => {
                found = Some(i + 1);
                from = i;
            }
            None => break,
        }
    }
    found
}

fn strip_comment(line: &str) -> &str {
    if line.trim_start().starts_with('#') {
        return "";
    }
    line.find(" #").map_or(line, |i| &line[..i])
}

/// Whether `word` occurs in `line` not as part of a longer identifier.
fn mentions(line: &str, word: &str) -> bool {
    if word.is_empty() {
        return false;
    }
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    line.match_indices(word).any(|(i, _)| {
        let before = line[..i].chars().next_back();
        let after = line[i + word.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

struct Checker<'a> {
    file: &'a str,
    source: &'a str,
}

impl Checker<'_> {
    fn fail(&self, path: &[&str], message: String) -> PolicyError {
        PolicyError::Invalid {
            at: Location {
                file: self.file.to_string(),
                line: locate(self.source, path),
            },
            key: path.join("."),
            message,
        }
    }

    fn declared(&self, policy: &Policy, path: &[&str], action: &str) -> Result<(), PolicyError> {
        if policy.actions.contains_key(action) {
            Ok(())
        } else {
            Err(self.fail(
                path,
                format!("action `{action}` is not declared in `actions`"),
            ))
        }
    }

    /// An uncertainty route may only take automation away.
    fn route_tier(&self, at: &[&str; 2], tier: Tier) -> Result<(), PolicyError> {
        if tier == Tier::Auto {
            let message = "an uncertainty route cannot grant auto: use approve, analyst or abstain";
            return Err(self.fail(&[at[0], at[1], "tier"], message.to_string()));
        }
        Ok(())
    }

    /// An optional threshold that must lie in [0, 1] (bits of a binary verdict, or a share).
    fn unit(&self, at: &[&str; 2], key: &str, v: Option<f64>) -> Result<(), PolicyError> {
        match v {
            Some(x) if !(0.0..=1.0).contains(&x) => {
                Err(self.fail(&[at[0], at[1], key], format!("{x} is outside [0, 1]")))
            }
            _ => Ok(()),
        }
    }
}

/// Checks every rule; the first violation is returned.
pub(crate) fn validate(policy: &Policy, source: &str) -> Result<(), PolicyError> {
    let ck = Checker {
        file: &policy.file,
        source,
    };
    if policy.actions.is_empty() {
        return Err(ck.fail(&["actions"], "at least one action must be declared".into()));
    }
    for (name, action) in &policy.actions {
        if action.blast_radius.trim().is_empty() {
            let message = "blast_radius must say who is affected".to_string();
            return Err(ck.fail(&["actions", name, "blast_radius"], message));
        }
    }

    let close = policy.close_action.as_str();
    ck.declared(policy, &["close_action"], close)?;
    if let Some(a) = policy.actions.get(close)
        && (a.impact > Impact::Low || !a.reversible)
    {
        {
            return Err(ck.fail(
                &["close_action"],
                format!(
                    "`{close}` must be reversible with impact none or low, it is {} and {}",
                    a.impact,
                    if a.reversible {
                        "reversible"
                    } else {
                        "irreversible"
                    }
                ),
            ));
        }
    }
    for (category, action) in &policy.categories {
        ck.declared(policy, &["categories", category], action)?;
    }
    ck.declared(policy, &["default_action"], &policy.default_action)?;

    let bands = &policy.bands;
    for (tier, band) in [("auto", bands.auto), ("approve", bands.approve)] {
        let c = band.min_confidence;
        if !(0.0..=1.0).contains(&c) {
            return Err(ck.fail(
                &["bands", tier, "min_confidence"],
                format!("{c} is outside [0, 1]"),
            ));
        }
    }
    if bands.auto.min_confidence < bands.approve.min_confidence {
        return Err(ck.fail(
            &["bands", "auto", "min_confidence"],
            format!(
                "{} is below the approve band's {}: auto must need more confidence",
                bands.auto.min_confidence, bands.approve.min_confidence
            ),
        ));
    }
    if bands.approve.max_impact >= Impact::Critical {
        return Err(ck.fail(
            &["bands", "approve", "max_impact"],
            "critical actions always go to an analyst; use high at most".into(),
        ));
    }
    if bands.auto.max_impact > bands.approve.max_impact {
        return Err(ck.fail(
            &["bands", "auto", "max_impact"],
            format!(
                "{} exceeds the approve band's {}",
                bands.auto.max_impact, bands.approve.max_impact
            ),
        ));
    }

    for flag in &policy.uncertain.abstain {
        if policy.uncertain.analyst.contains(flag) {
            return Err(ck.fail(
                &["uncertain", "abstain", flag.as_str()],
                format!("{flag} is listed under both analyst and abstain"),
            ));
        }
    }

    let verdicts = &policy.uncertain.abstain_verdicts;
    if verdicts.is_empty() {
        return Err(ck.fail(
            &["uncertain", "abstain_verdicts"],
            "is empty: list benign, malicious or both (a flag under abstain must abstain on some verdict)".into(),
        ));
    }
    if let Some((_, v)) = verdicts
        .iter()
        .enumerate()
        .find(|(i, v)| verdicts[..*i].contains(v))
    {
        return Err(ck.fail(
            &["uncertain", "abstain_verdicts"],
            format!("lists {v} twice"),
        ));
    }

    if let Some(r) = &policy.uncertain.epistemic {
        let at = ["uncertain", "epistemic"];
        ck.route_tier(&at, r.tier)?;
        ck.unit(&at, "min_disagreement", r.min_disagreement)?;
        ck.unit(&at, "min_distance", r.min_distance)?;
        if r.min_disagreement.is_none() && r.min_distance.is_none() {
            let message = "set min_disagreement, min_distance or both".to_string();
            return Err(ck.fail(&at, message));
        }
    }
    if let Some(r) = &policy.uncertain.aleatoric {
        let at = ["uncertain", "aleatoric"];
        ck.route_tier(&at, r.tier)?;
        ck.unit(&at, "min_entropy", r.min_entropy)?;
        if r.min_entropy.is_none() && !r.both_verdicts {
            let message = "set min_entropy, both_verdicts: true or both".to_string();
            return Err(ck.fail(&at, message));
        }
    }

    let alpha = policy.auto_close.alpha;
    if !RISK_ALPHAS.contains(&alpha) {
        return Err(ck.fail(
            &["auto_close", "alpha"],
            format!(
                "{alpha} is not a row of the risk-control table (0.001, 0.005, 0.01, 0.02, 0.05)"
            ),
        ));
    }

    for family in &policy.teaching.high_impact {
        if !policy.categories.contains_key(family) {
            return Err(ck.fail(
                &["teaching", "high_impact"],
                format!(
                    "`{family}` is not a family of `categories`, so no label could ever be a \
                     flip on it (a misspelt family protects nothing)"
                ),
            ));
        }
    }

    for action in policy.rate_limits.keys() {
        if !policy.actions.contains_key(action) {
            return Err(ck.fail(
                &["rate_limits", action],
                format!("rate limit for unknown action `{action}`"),
            ));
        }
    }

    let mut codes = BTreeSet::new();
    for rc in &policy.reason_codes {
        let ok = !rc.code.is_empty()
            && rc
                .code
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !ok {
            return Err(ck.fail(
                &["reason_codes", &rc.code],
                format!("`{}` must be snake_case", rc.code),
            ));
        }
        if !codes.insert(rc.code.as_str()) {
            return Err(ck.fail(
                &["reason_codes", &rc.code],
                format!("`{}` is listed twice", rc.code),
            ));
        }
    }

    let b = &policy.breaker;
    if !(0.0..=1.0).contains(&b.max_error_rate) {
        let message = format!("{} is outside [0, 1]", b.max_error_rate);
        return Err(ck.fail(&["breaker", "max_error_rate"], message));
    }
    if b.window == 0 {
        return Err(ck.fail(&["breaker", "window"], "must be at least 1".into()));
    }
    if policy.flood.window_s == 0 {
        return Err(ck.fail(&["flood", "window_s"], "must be at least 1".into()));
    }
    if policy.flood.key.is_empty() {
        return Err(ck.fail(&["flood", "key"], "name at least one field".into()));
    }

    validate_tests(policy, &ck)
}

fn validate_tests(policy: &Policy, ck: &Checker) -> Result<(), PolicyError> {
    let known = known_reason_codes();
    let mut names = BTreeSet::new();
    for t in &policy.tests {
        let at = ["tests", t.name.as_str()];
        let key = |k: &'static str| [at[0], at[1], k];
        if !names.insert(t.name.as_str()) {
            return Err(ck.fail(&at, format!("test name `{}` is used twice", t.name)));
        }
        match t.alert.p_malicious {
            None if t.alert.model == TestModel::Ok => {
                let message = "p_malicious is required when the model answers".to_string();
                return Err(ck.fail(&key("p_malicious"), message));
            }
            Some(p) if !(0.0..=1.0).contains(&p) => {
                let message = format!("{p} is outside [0, 1]");
                return Err(ck.fail(&key("p_malicious"), message));
            }
            _ => {}
        }
        for (k, v) in [
            ("threshold", t.alert.threshold),
            ("disagreement", t.alert.disagreement),
            ("distance", t.alert.distance),
        ] {
            if let Some(x) = v.filter(|x| !(0.0..=1.0).contains(x)) {
                return Err(ck.fail(&key(k), format!("{x} is outside [0, 1]")));
            }
        }
        if let Some(action) = &t.expect.action {
            ck.declared(policy, &key("action"), action)?;
        }
        if let Some(reason) = t
            .expect
            .reason
            .as_deref()
            .filter(|r| !known.iter().any(|k| k == r))
        {
            return Err(ck.fail(
                &key("reason"),
                format!("`{reason}` is not a reason code the decision can give"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::locate;

    const SRC: &str = "\
version: 1
# categories: commented out, must be skipped
categories:
  dos: block   # dos again in a comment
  dos_v2: block
rate_limits:
  dos: 5/hour
";

    #[test]
    fn locate_follows_the_key_path_in_order() {
        assert_eq!(locate(SRC, &["categories", "dos"]), Some(4));
        assert_eq!(locate(SRC, &["categories", "dos_v2"]), Some(5));
        assert_eq!(locate(SRC, &["rate_limits", "dos"]), Some(7));
    }

    #[test]
    fn locate_falls_back_to_the_deepest_segment_found() {
        assert_eq!(locate(SRC, &["rate_limits", "absent"]), Some(6));
        assert_eq!(locate(SRC, &["absent"]), None);
    }
}
