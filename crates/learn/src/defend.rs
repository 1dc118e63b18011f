//! Poisoning defences: which teaching examples may enter training, with what weight, and
//! why the others are quarantined.
//!
//! An example is screened against three kinds of evidence about its true label, none of which
//! the labeller controls:
//!
//! - **the model**: the champion's calibrated probability on the example's features, out of
//!   sample (the champion never trained on a teaching example);
//! - **its neighbours**: the share of malicious rows among its nearest trusted rows (training
//!   data and the trusted tier) in the OOD detector's space;
//! - **its labeller's record**: a one-coin Dawid–Skene model estimates each labeller's
//!   accuracy by EM, with the trusted tier as gold, from how often their labels agree with
//!   the evidence.
//!
//! The prior that the true label is malicious mixes model and neighbours; the labeller's
//! accuracy turns it into the posterior that *this* label is right. An example whose posterior
//! is below [`Screen::min_posterior`] is quarantined: a reliable labeller's correction of a
//! confident model survives, a labeller who often disagrees with everything does not. A
//! labeller whose estimated accuracy falls below [`Screen::suspect_accuracy`] is a suspect,
//! and their labels need the stronger [`Screen::suspect_posterior`]. Two more
//! rules stand regardless of the posterior: a malicious → benign flip on a high-impact family
//! counts only once a second, different person agrees; and no labeller's examples carry more
//! than [`Screen::labeller_cap`] of the new weight.

use std::collections::{BTreeMap, HashMap, HashSet};

use arbiter_core::{BENIGN, Label, Verdict};
use serde::Serialize;

/// One example as the defences see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub id: i64,
    /// The alert (or row) the label is about: a second reviewer's label is on the same item.
    pub item: String,
    /// The person (or ticket system) who labelled it.
    pub labeller: String,
    /// The trusted tier (imported incident labels): gold, never quarantined.
    pub trusted: bool,
    pub label: Label,
    /// The champion's calibrated P(malicious), out of sample.
    pub model_p: f64,
    /// The champion's most probable family when it said malicious.
    pub model_family: Option<String>,
    /// Share of malicious rows among the nearest trusted rows (`None`: not computed).
    pub neighbours_malicious: Option<f64>,
}

/// The screen's settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Screen {
    /// Weight of the model in the prior (the rest is the neighbours').
    pub model_weight: f64,
    /// An example whose label has a lower posterior of being right is quarantined.
    pub min_posterior: f64,
    /// A labeller estimated less accurate than this is a suspect: their labels need a
    /// posterior of at least [`Screen::suspect_posterior`].
    pub suspect_accuracy: f64,
    pub suspect_posterior: f64,
    /// Families on which a malicious → benign flip needs a second, different reviewer.
    pub high_impact: Vec<String>,
    /// The model's P(malicious) above which a benign label on a high-impact family is a flip.
    pub flip_p: f64,
    /// Largest share of the new weight one labeller may carry.
    pub labeller_cap: f64,
    /// EM rounds of the Dawid–Skene estimate.
    pub rounds: usize,
    /// Priors are kept inside [clip, 1 - clip] so no evidence is ever certain.
    pub clip: f64,
}

impl Default for Screen {
    fn default() -> Screen {
        Screen {
            model_weight: 0.5,
            min_posterior: 0.5,
            suspect_accuracy: 0.97,
            suspect_posterior: 0.9,
            high_impact: Vec::new(),
            flip_p: 0.5,
            labeller_cap: 0.25,
            rounds: 20,
            clip: 0.01,
        }
    }
}

/// Why an example is kept out of training.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Quarantine {
    /// The evidence says this label is more likely wrong than right.
    Implausible {
        posterior: f64,
        /// The posterior this label needed.
        floor: f64,
        model_p: f64,
        neighbours_malicious: Option<f64>,
        labeller_accuracy: f64,
    },
    /// A malicious → benign flip on a high-impact family, not yet agreed by a second person.
    AwaitingSecondReview { family: String, model_p: f64 },
}

impl Quarantine {
    /// One line for the analyst and the lead who may release it.
    pub fn text(&self) -> String {
        match self {
            Quarantine::Implausible {
                posterior,
                floor,
                model_p,
                neighbours_malicious,
                labeller_accuracy,
            } => format!(
                "the evidence gives this label a {:.0} % chance of being right, below the \
                 {:.0} % it needs: the model says P(malicious) {model_p:.3}{}, and this \
                 labeller's estimated accuracy is {labeller_accuracy:.3}",
                posterior * 100.0,
                floor * 100.0,
                neighbours_malicious.map_or(String::new(), |s| format!(
                    ", {:.0} % of its nearest trusted rows are malicious",
                    s * 100.0
                ))
            ),
            Quarantine::AwaitingSecondReview { family, model_p } => format!(
                "a malicious → benign flip on the high-impact family {family} (model \
                 P(malicious) {model_p:.3}) counts only once a second, different person agrees"
            ),
        }
    }
}

/// What the screen decided about one example.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Screened {
    pub id: i64,
    /// Posterior probability that the label is right.
    pub posterior: f64,
    /// Training weight (0 when quarantined): the labeller's accuracy, capped per labeller.
    pub weight: f64,
    pub quarantine: Vec<Quarantine>,
    /// Who let it into training despite the quarantine, when someone did.
    pub released_by: Option<String>,
}

impl Screened {
    /// Whether training may use the example: nothing against it, or a lead released it.
    pub fn accepted(&self) -> bool {
        self.quarantine.is_empty() || self.released_by.is_some()
    }
}

/// The screen's result: one [`Screened`] per candidate, in order, and what it learnt of each
/// labeller.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Screening {
    pub examples: Vec<Screened>,
    /// Estimated accuracy per labeller (the trusted tier is 1 by definition).
    pub accuracy: BTreeMap<String, f64>,
    /// Share of the accepted weight per labeller, after the cap.
    pub weight_share: BTreeMap<String, f64>,
}

fn is_malicious(l: &Label) -> bool {
    l.verdict() == Verdict::Malicious
}

/// Screens `cands`.
pub fn screen(cands: &[Candidate], s: &Screen) -> Screening {
    let clip = |p: f64| p.clamp(s.clip, 1.0 - s.clip);
    let prior: Vec<f64> = cands
        .iter()
        .map(|c| {
            let p = match c.neighbours_malicious {
                Some(n) => s.model_weight * c.model_p + (1.0 - s.model_weight) * n,
                None => c.model_p,
            };
            clip(p)
        })
        .collect();
    // One-coin Dawid–Skene by EM: each item's posterior of being malicious given every label
    // on it; each labeller's accuracy the expected share of their labels that are right.
    let mut items: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, c) in cands.iter().enumerate() {
        items.entry(c.item.as_str()).or_default().push(i);
    }
    let mut accuracy: BTreeMap<String, f64> = BTreeMap::new();
    for c in cands {
        accuracy.entry(c.labeller.clone()).or_insert(0.9);
    }
    let mut truth = vec![0.5; cands.len()];
    for _ in 0..s.rounds.max(1) {
        for idx in items.values() {
            let gold = idx.iter().find(|&&i| cands[i].trusted);
            let t = match gold {
                Some(&g) => f64::from(u8::from(is_malicious(&cands[g].label))),
                None => {
                    let (mut m, mut b) = (prior[idx[0]], 1.0 - prior[idx[0]]);
                    for &i in idx {
                        let a = clip(accuracy[&cands[i].labeller]);
                        if is_malicious(&cands[i].label) {
                            m *= a;
                            b *= 1.0 - a;
                        } else {
                            m *= 1.0 - a;
                            b *= a;
                        }
                    }
                    m / (m + b)
                }
            };
            for &i in idx {
                truth[i] = t;
            }
        }
        let mut sums: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
        for (i, c) in cands.iter().enumerate() {
            if c.trusted {
                continue;
            }
            let right = if is_malicious(&c.label) {
                truth[i]
            } else {
                1.0 - truth[i]
            };
            let e = sums.entry(c.labeller.as_str()).or_default();
            e.0 += right;
            e.1 += 1.0;
        }
        for (l, (right, n)) in sums {
            // Beta(9, 1) prior: a labeller starts trusted at 0.9 and earns or loses it.
            accuracy.insert(l.to_string(), (right + 9.0) / (n + 10.0));
        }
    }
    for c in cands.iter().filter(|c| c.trusted) {
        accuracy.insert(c.labeller.clone(), 1.0);
    }
    // The posterior that each label is right, from its own labeller's accuracy and the prior
    // alone (the other labels on the item judge it through the agreement rule below).
    let mut examples: Vec<Screened> = cands
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let a = clip(accuracy[&c.labeller]);
            let (m, b) = (prior[i], 1.0 - prior[i]);
            let posterior = if c.trusted {
                1.0
            } else if is_malicious(&c.label) {
                m * a / (m * a + b * (1.0 - a))
            } else {
                b * a / (b * a + m * (1.0 - a))
            };
            let mut quarantine = Vec::new();
            let floor = if accuracy[&c.labeller] < s.suspect_accuracy {
                s.suspect_posterior.max(s.min_posterior)
            } else {
                s.min_posterior
            };
            if posterior < floor {
                quarantine.push(Quarantine::Implausible {
                    posterior,
                    floor,
                    model_p: c.model_p,
                    neighbours_malicious: c.neighbours_malicious,
                    labeller_accuracy: accuracy[&c.labeller],
                });
            }
            if let Some(family) = high_impact_flip(c, s)
                && !second_reviewer_agrees(c, &items[c.item.as_str()], cands)
            {
                quarantine.push(Quarantine::AwaitingSecondReview {
                    family,
                    model_p: c.model_p,
                });
            }
            Screened {
                id: c.id,
                posterior,
                weight: if quarantine.is_empty() { a } else { 0.0 },
                quarantine,
                released_by: None,
            }
        })
        .collect();
    let weight_share = cap(cands, &mut examples, s.labeller_cap);
    Screening {
        examples,
        accuracy,
        weight_share,
    }
}

/// Screens the stored teaching set: the champion's probability is the one stored with each
/// alert (0.5 when it never scored it), `neighbours` the malicious share among each example's
/// nearest trusted rows when known. An example a lead released is accepted with its
/// labeller's weight, its quarantine reasons kept for the record.
pub fn screen_rows(
    rows: &[arbiter_store::ExampleRow],
    neighbours: Option<&[Option<f64>]>,
    s: &Screen,
) -> Screening {
    let cands: Vec<Candidate> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| Candidate {
            id: r.id,
            item: r.example.key.to_string(),
            labeller: r
                .example
                .labeller
                .person_name()
                .map_or_else(|| r.example.labeller.to_string(), str::to_string),
            trusted: r.example.source.trusted(),
            label: r.example.label.clone(),
            model_p: r.model_p.unwrap_or(0.5),
            model_family: r.model_category.clone(),
            neighbours_malicious: neighbours.and_then(|n| n.get(i).copied().flatten()),
        })
        .collect();
    let mut out = screen(&cands, s);
    for ((e, r), c) in out.examples.iter_mut().zip(rows).zip(&cands) {
        if let Some(rel) = &r.release
            && !e.quarantine.is_empty()
        {
            e.released_by = Some(rel.by.to_string());
            e.weight = out.accuracy.get(&c.labeller).copied().unwrap_or(0.0);
        }
    }
    out
}

/// The high-impact family a benign label flips, when it does.
fn high_impact_flip(c: &Candidate, s: &Screen) -> Option<String> {
    if c.trusted || is_malicious(&c.label) || c.model_p < s.flip_p {
        return None;
    }
    let family = c.model_family.as_deref().filter(|f| *f != BENIGN)?;
    s.high_impact
        .iter()
        .any(|h| h == family)
        .then(|| family.to_string())
}

/// Whether someone other than `c`'s labeller gave the same label on the same item.
fn second_reviewer_agrees(c: &Candidate, item: &[usize], cands: &[Candidate]) -> bool {
    item.iter().any(|&j| {
        let o = &cands[j];
        o.id != c.id && o.labeller != c.labeller && o.label.verdict() == c.label.verdict()
    })
}

/// Scales down the weight of any labeller above `cap` of the accepted total, and returns
/// each labeller's share after. With fewer labellers than `1 / cap` the cap cannot hold for
/// all; it then limits each to an equal share.
fn cap(cands: &[Candidate], ex: &mut [Screened], cap: f64) -> BTreeMap<String, f64> {
    let by: Vec<&str> = cands.iter().map(|c| c.labeller.as_str()).collect();
    let labellers: HashSet<&str> = by.iter().copied().collect();
    let cap = cap.max(1.0 / labellers.len().max(1) as f64);
    // A few rounds: scaling one labeller down raises every other share.
    for _ in 0..8 {
        let total: f64 = ex.iter().map(|e| e.weight).sum();
        if total <= 0.0 {
            break;
        }
        let mut per: HashMap<&str, f64> = HashMap::new();
        for (e, l) in ex.iter().zip(&by) {
            *per.entry(l).or_default() += e.weight;
        }
        let over: HashMap<&str, f64> = per
            .iter()
            .filter(|(_, w)| **w / total > cap + 1e-9)
            .map(|(l, w)| (*l, w))
            .map(|(l, w)| {
                let rest = total - w;
                // Solve w' / (rest + w') = cap.
                let target = cap * rest / (1.0 - cap);
                (l, (target / w).min(1.0))
            })
            .collect();
        if over.is_empty() {
            break;
        }
        for (e, l) in ex.iter_mut().zip(&by) {
            if let Some(f) = over.get(l) {
                e.weight *= f;
            }
        }
    }
    let total: f64 = ex.iter().map(|e| e.weight).sum();
    let mut share = BTreeMap::new();
    for (e, l) in ex.iter().zip(&by) {
        *share.entry((*l).to_string()).or_insert(0.0) += e.weight;
    }
    if total > 0.0 {
        for v in share.values_mut() {
            *v /= total;
        }
    }
    share
}
