//! One review: what the analyst concludes, and the decision that says so in terms the ledger
//! accepts (see `arbiter_ledger::human::plan`).

use arbiter_core::BENIGN;
use arbiter_ledger::DecisionRequest;
use rand::RngExt;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;

use super::config::{AnalystConfig, Presentation};
use crate::queue::{QueueItem, Vocabulary};

/// What an analyst concluded about one alert, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Judgement {
    pub malicious: bool,
    /// Accepted a wrong recommendation unexamined (and the conclusion still follows it).
    pub automation_bias: bool,
    /// A poisoner flipped the conclusion.
    pub poisoned: bool,
}

/// Judges `item` `hours` into the shift with `open` alerts waiting.
pub(crate) fn judge(
    config: &AnalystConfig,
    item: &QueueItem,
    hours: f64,
    open: usize,
    rng: &mut ChaCha8Rng,
) -> Judgement {
    let wrong = item.recommended.is_some() && item.recommends_close == item.truth.malicious;
    let accepted = wrong && rng.random_bool(config.automation_bias.rate(Presentation::of(item)));
    let mut malicious = if accepted {
        !item.recommends_close
    } else {
        let rates = config.error_rates(hours, open);
        if item.truth.malicious {
            !rng.random_bool(rates.miss)
        } else {
            rng.random_bool(rates.false_alarm)
        }
    };
    let poisoned = config.poison.is_some_and(|p| rng.random_bool(p.flip_share));
    if poisoned {
        malicious = !malicious;
    }
    Judgement {
        malicious,
        automation_bias: accepted && !poisoned,
        poisoned,
    }
}

/// The decision that records `malicious` on `item`: `approve` when it agrees with the
/// recommendation, `reject` of a containment judged benign, `override` otherwise.
pub(crate) fn request(
    item: &QueueItem,
    malicious: bool,
    vocab: &Vocabulary,
    rng: &mut ChaCha8Rng,
) -> DecisionRequest {
    match item.recommended.as_deref() {
        Some(_) if malicious != item.recommends_close => DecisionRequest {
            action: "approve".into(),
            ..DecisionRequest::default()
        },
        Some(action) if !malicious => DecisionRequest {
            action: "reject".into(),
            reason_code: reason(vocab, &["expected_activity"]),
            note: Some(format!(
                "investigated: benign activity, {action} is not needed"
            )),
            label: benign(vocab),
            feature: feature(vocab, rng),
        },
        Some(_) => {
            let (label, note) = family(item, vocab, rng);
            DecisionRequest {
                action: "override".into(),
                reason_code: reason(vocab, &["model_wrong", "true_positive_confirmed"]),
                note: Some(format!("investigated: {note}, not benign")),
                label,
                feature: feature(vocab, rng),
            }
        }
        None => {
            let verdict_wrong = item.p_malicious.is_some_and(|p| (p >= 0.5) != malicious);
            let (reason_code, label, note) = if malicious {
                let (label, note) = family(item, vocab, rng);
                let code = reason(vocab, &["true_positive_confirmed", "model_wrong"]);
                (code, label, format!("investigated: {note}"))
            } else {
                let code = reason(vocab, &["expected_activity"]);
                (
                    code,
                    benign(vocab),
                    "investigated: benign activity".to_string(),
                )
            };
            DecisionRequest {
                action: "override".into(),
                reason_code,
                note: Some(note),
                label,
                feature: if verdict_wrong {
                    feature(vocab, rng)
                } else {
                    None
                },
            }
        }
    }
}

/// The first of `preferred` the policy offers, else its first code (`None` if it has none:
/// the ledger then refuses, as it would a person's).
fn reason(vocab: &Vocabulary, preferred: &[&str]) -> Option<String> {
    preferred
        .iter()
        .find(|p| vocab.reason_codes.iter().any(|c| c == *p))
        .map(|p| p.to_string())
        .or_else(|| vocab.reason_codes.first().cloned())
}

fn benign(vocab: &Vocabulary) -> Option<String> {
    vocab
        .labels
        .iter()
        .any(|l| l == BENIGN)
        .then(|| BENIGN.to_string())
}

/// The attack family an analyst who judged `item` malicious names: the true one when it is an
/// attack (no label when the model has no such category yet), else a plausible other one.
/// Returns the label and how the note describes it.
fn family(item: &QueueItem, vocab: &Vocabulary, rng: &mut ChaCha8Rng) -> (Option<String>, String) {
    if item.truth.malicious {
        let known = vocab.labels.contains(&item.truth.family);
        let note = if known {
            format!("{} activity", item.truth.family)
        } else {
            format!("{} activity (no label for it yet)", item.truth.family)
        };
        return (known.then(|| item.truth.family.clone()), note);
    }
    let families: Vec<&String> = vocab.labels.iter().filter(|l| *l != BENIGN).collect();
    match families.choose(rng) {
        Some(f) => (Some((*f).clone()), format!("{f} activity")),
        None => (None, "malicious activity".to_string()),
    }
}

/// "The feature that should have mattered", for a verdict the analyst found wrong.
fn feature(vocab: &Vocabulary, rng: &mut ChaCha8Rng) -> Option<String> {
    vocab.features.choose(rng).cloned()
}
