//! What a candidate changed relative to its champion: `changes.json` in the bundle, and the
//! "What changed" section appended to its model card.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use arbiter_learn::{Lesson, Screening, SetAside};
use arbiter_model::Model;
use arbiter_store::ExampleRow;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::mattered::Mattered;

/// File name of the record in the bundle.
pub const FILE: &str = arbiter_model::CHANGES;

/// The accepted examples kept out of training, newest, for the non-inferiority gate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HeldBack {
    /// Teaching-example ids, oldest first.
    pub examples: Vec<i64>,
    /// Time of the oldest held-back example: the candidate trained on nothing labelled later.
    pub from: Option<DateTime<Utc>>,
}

/// One labeller's part in the candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabellerChange {
    pub labeller: String,
    /// Examples of theirs the candidate trained on.
    pub examples: usize,
    /// Examples of theirs the screen quarantined (and nobody released).
    pub quarantined: usize,
    /// Estimated accuracy (the trusted tier is 1).
    pub accuracy: Option<f64>,
    /// Share of the accepted teaching weight, after the cap.
    pub weight_share: Option<f64>,
}

/// What changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Changes {
    pub champion: String,
    pub seed: u64,
    /// Teaching examples in the store when the candidate was built.
    pub examples: usize,
    /// Examples that cannot be trained on, by reason.
    pub set_aside: BTreeMap<String, usize>,
    /// Quarantined by the poisoning screen and not released.
    pub quarantined: usize,
    /// Quarantined, then released by a lead.
    pub released: usize,
    /// Examples the candidate trained on, by source and by family.
    pub trained_on: usize,
    pub by_source: BTreeMap<String, usize>,
    pub by_family: BTreeMap<String, usize>,
    /// Families the candidate trained on that the champion never saw.
    pub new_families: Vec<String>,
    /// Sum of the teaching examples' training weights (each base row weighs 1).
    pub teaching_weight: f64,
    pub labellers: Vec<LabellerChange>,
    pub held_back: HeldBack,
    /// "The feature that should have mattered", per feature and family.
    pub mattered: Vec<Mattered>,
}

impl Changes {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        champion: &Model,
        candidate: &Model,
        rows: &[ExampleRow],
        taught: &[&Lesson],
        screening: &Screening,
        aside: &[(i64, SetAside)],
        held_back: HeldBack,
        mattered: Vec<Mattered>,
    ) -> Changes {
        let mut by_source = BTreeMap::new();
        let mut by_family = BTreeMap::new();
        let mut labellers: BTreeMap<String, LabellerChange> = BTreeMap::new();
        let weight: BTreeMap<i64, f64> = screening
            .examples
            .iter()
            .map(|s| (s.id, s.weight))
            .collect();
        let mut teaching_weight = 0.0;
        for l in taught {
            *by_source.entry(l.source.to_string()).or_insert(0) += 1;
            *by_family.entry(l.label.as_str().to_string()).or_insert(0) += 1;
            slot(&mut labellers, person(&l.labeller), screening).examples += 1;
            teaching_weight += weight.get(&l.id).copied().unwrap_or(0.0).max(1e-3);
        }
        let (mut quarantined, mut released) = (0, 0);
        for (r, s) in rows.iter().zip(&screening.examples) {
            if s.quarantine.is_empty() {
                continue;
            }
            if s.released_by.is_some() {
                released += 1;
            } else {
                quarantined += 1;
                slot(&mut labellers, person(&r.example.labeller), screening).quarantined += 1;
            }
        }
        let mut set_aside = BTreeMap::new();
        for (_, why) in aside {
            let name = serde_json::to_value(why).expect("reason serialises");
            *set_aside
                .entry(name.as_str().unwrap_or("unknown").to_string())
                .or_insert(0) += 1;
        }
        let seen: BTreeSet<&str> = champion
            .spec
            .training
            .categories
            .keys()
            .map(String::as_str)
            .collect();
        Changes {
            champion: champion.id.clone(),
            seed: candidate.spec.training.seed,
            examples: rows.len(),
            set_aside,
            quarantined,
            released,
            trained_on: taught.len(),
            new_families: by_family
                .keys()
                .filter(|f| !seen.contains(f.as_str()))
                .cloned()
                .collect(),
            by_source,
            by_family,
            teaching_weight,
            labellers: labellers.into_values().collect(),
            held_back,
            mattered,
        }
    }

    /// The model card's "What changed" section.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let list = |m: &BTreeMap<String, usize>| {
            m.iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(s, "\n## What changed (retrained from {})\n", self.champion);
        let _ = writeln!(
            s,
            "Teaching examples in the store: {}. Trained on {} (total weight {:.1}; each base \
             row weighs 1), quarantined by the poisoning screen {}, released by a lead {}, set \
             aside {} ({}), held back for the non-inferiority gate {}{}.\n",
            self.examples,
            self.trained_on,
            self.teaching_weight,
            self.quarantined,
            self.released,
            self.set_aside.values().sum::<usize>(),
            if self.set_aside.is_empty() {
                "none".to_string()
            } else {
                list(&self.set_aside)
            },
            self.held_back.examples.len(),
            self.held_back
                .from
                .map(|t| format!(" (labelled from {} on)", t.to_rfc3339()))
                .unwrap_or_default()
        );
        let _ = writeln!(s, "- by source: {}", or_none(list(&self.by_source)));
        let _ = writeln!(s, "- by family: {}", or_none(list(&self.by_family)));
        let _ = writeln!(
            s,
            "- families the champion never saw: {}\n",
            or_none(self.new_families.join(", "))
        );
        if !self.labellers.is_empty() {
            let _ = writeln!(
                s,
                "| labeller | trained on | quarantined | est. accuracy | weight share |\n|---|---:|---:|---:|---:|"
            );
            for l in &self.labellers {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} |",
                    l.labeller,
                    l.examples,
                    l.quarantined,
                    l.accuracy.map_or("-".into(), |a| format!("{a:.3}")),
                    l.weight_share
                        .map_or("-".into(), |w| format!("{:.1} %", 100.0 * w))
                );
            }
            s.push('\n');
        }
        if !self.mattered.is_empty() {
            let _ = writeln!(
                s,
                "\"The feature that should have mattered\" (not used in training; exact TreeSHAP, \
                 ensemble mean, on the alerts that named it):\n\n| feature | family | examples | \
                 champion share / rank | candidate share / rank |\n|---|---|---:|---:|---:|"
            );
            let a = |x: &Option<crate::Attribution>| {
                x.as_ref().map_or("not read".into(), |a| {
                    format!("{:.1} % / {:.1}", 100.0 * a.share, a.rank)
                })
            };
            for m in &self.mattered {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} |",
                    m.feature,
                    m.family,
                    m.examples,
                    a(&m.champion),
                    a(&m.candidate)
                );
            }
        }
        s
    }
}

fn slot<'m>(
    m: &'m mut BTreeMap<String, LabellerChange>,
    who: String,
    s: &Screening,
) -> &'m mut LabellerChange {
    m.entry(who.clone()).or_insert_with(|| LabellerChange {
        accuracy: s.accuracy.get(&who).copied(),
        weight_share: s.weight_share.get(&who).copied(),
        labeller: who,
        examples: 0,
        quarantined: 0,
    })
}

fn or_none(s: String) -> String {
    if s.is_empty() { "none".into() } else { s }
}

fn person(a: &arbiter_core::Actor) -> String {
    a.person_name()
        .map_or_else(|| a.to_string(), str::to_string)
}
