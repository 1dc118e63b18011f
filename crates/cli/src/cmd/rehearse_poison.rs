//! `arbiter teach rehearse`: measures the poisoning screen on real labelled data.
//!
//! The rows are split (seeded) into a base training set, a feedback stream and a held-out
//! must-catch pool. A champion is trained on the base. The stream is labelled by `labellers`
//! simulated analysts in turn, with ground truth, except that one of them (`analyst-1`) flips
//! `flip` of its labels — either at random (benign ↔ malicious), or all on one attack family
//! (malicious → benign, the insider who wants that family closed). A small share of the
//! stream also arrives as imported incident labels (the trusted tier). Every defence is run
//! alone and together, and for each the report gives the share of flipped labels caught, of
//! clean labels quarantined, and of clean labels that corrected the champion quarantined.
//! Then two candidates are trained on base + stream labels, one with every label and one with
//! only what the screen accepted, and the must-catch rows of the targeted family are scored:
//! the share auto-closable (p at or below the certified threshold at α = 0.01, no flag) is
//! what the poisoner was after.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use arbiter_core::{BENIGN, Label, Schema};
use arbiter_ingest::{IngestReport, Loaded, OnError, Record, load, load_schema};
use arbiter_learn::neighbours::Neighbours;
use arbiter_learn::{Candidate, Screen, screen};
use arbiter_model::Model;
use arbiter_train::{InputFile, Quiet, TrainOptions, train};
use serde::Serialize;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    pub schema: PathBuf,
    /// Labelled rows (read with the schema)
    #[arg(long)]
    pub data: PathBuf,
    /// Directory for poisoning.json and poisoning.md
    #[arg(long)]
    pub out: PathBuf,
    /// Labels in the feedback stream
    #[arg(long, default_value_t = 10_000)]
    pub stream: usize,
    /// Rows held out as the must-catch pool
    #[arg(long, default_value_t = 10_000)]
    pub held_out: usize,
    /// Simulated analysts labelling the stream in turn; `analyst-1` is the poisoner
    #[arg(long, default_value_t = 5)]
    pub labellers: usize,
    /// Share of the poisoner's labels it flips
    #[arg(long, default_value_t = 0.05)]
    pub flip: f64,
    /// Share of the stream that also arrives as imported incident labels (trusted tier)
    #[arg(long, default_value_t = 0.02)]
    pub trusted: f64,
    /// Family the targeted poisoner flips to benign (default: the stream's most frequent)
    #[arg(long)]
    pub target: Option<String>,
    /// Neighbours read for label consistency
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    #[arg(long, default_value_t = 3)]
    pub members: usize,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Skip the two retrainings (the screen's numbers only)
    #[arg(long)]
    pub no_retrain: bool,
}

/// What one defence did in one scenario.
#[derive(Debug, Clone, Serialize)]
struct Caught {
    defence: String,
    flipped: usize,
    flips_caught: usize,
    clean: usize,
    clean_quarantined: usize,
    /// Clean labels that disagree with the champion's verdict (the useful corrections).
    corrections: usize,
    corrections_quarantined: usize,
}

impl Caught {
    fn rate(a: usize, b: usize) -> f64 {
        if b == 0 { 0.0 } else { a as f64 / b as f64 }
    }
}

#[derive(Debug, Clone, Serialize)]
struct Retrained {
    /// Which labels the candidate trained on.
    labels: String,
    examples: usize,
    must_catch: usize,
    /// Must-catch rows the candidate would auto-close (p ≤ certified threshold at α 0.01,
    /// no flag).
    auto_closable: usize,
    /// Must-catch rows called benign at p < 0.5.
    called_benign: usize,
    threshold: Option<f64>,
    seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
struct Scenario {
    name: String,
    target: Option<String>,
    poisoner_accuracy: f64,
    honest_accuracy_min: f64,
    poisoner_weight_share: f64,
    defences: Vec<Caught>,
    /// The shipped screen at other posterior floors.
    frontier: Vec<Caught>,
    retrained: Vec<Retrained>,
}

#[derive(Debug, Serialize)]
struct Report {
    data: String,
    rows: usize,
    base: usize,
    stream: usize,
    held_out: usize,
    labellers: usize,
    flip: f64,
    trusted: usize,
    k: usize,
    seed: u64,
    champion_seconds: f64,
    champion_threshold: Option<f64>,
    high_impact: Vec<String>,
    scenarios: Vec<Scenario>,
    command: String,
}

/// splitmix64: a seeded order without a dependency.
struct Mix(u64);
impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn family(r: &Record) -> String {
    r.category.clone().unwrap_or_else(|| BENIGN.into())
}

/// Whether a label disagrees with the champion's verdict (a correction, when the label is
/// clean).
fn against_model(c: &Candidate) -> bool {
    (c.model_p >= 0.5) != (c.label.as_str() != BENIGN)
}

/// What one defence did: `quarantined(j, candidate)` says whether it held candidate `j`
/// back; `flipped[j]` is `None` for the trusted tier (not counted).
fn count(
    defence: &str,
    cands: &[Candidate],
    flipped: &[Option<bool>],
    quarantined: &dyn Fn(usize, &Candidate) -> bool,
) -> Caught {
    let mut c = Caught {
        defence: defence.into(),
        flipped: 0,
        flips_caught: 0,
        clean: 0,
        clean_quarantined: 0,
        corrections: 0,
        corrections_quarantined: 0,
    };
    for (j, x) in cands.iter().enumerate() {
        let Some(f) = flipped[j] else { continue };
        let q = usize::from(quarantined(j, x));
        if f {
            c.flipped += 1;
            c.flips_caught += q;
        } else {
            c.clean += 1;
            c.clean_quarantined += q;
            if against_model(x) {
                c.corrections += 1;
                c.corrections_quarantined += q;
            }
        }
    }
    c
}

fn with_label(r: &Record, label: &str) -> Record {
    let mut r = r.clone();
    r.category = Some(label.to_string());
    r.label = Some(label.to_string());
    r
}

fn fit(schema: &Schema, records: Vec<Record>, a: &Args) -> anyhow::Result<Model> {
    let input = InputFile {
        name: "rehearsal".into(),
        sha256: String::new(),
        data: Loaded {
            records,
            report: IngestReport::default(),
        },
        weights: None,
    };
    let opts = TrainOptions {
        members: a.members,
        seed: a.seed,
        ..TrainOptions::default()
    };
    Ok(train(schema, vec![input], &opts, &Quiet)?.model)
}

fn threshold(m: &Model) -> Option<f64> {
    m.spec
        .risk
        .table
        .iter()
        .find(|r| (r.alpha - 0.01).abs() < 1e-12)
        .and_then(|r| r.threshold)
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let schema = load_schema(&a.schema)?;
    let data = load(&schema, &a.data, OnError::Skip, &mut |_, _| {})
        .with_context(|| format!("cannot read {}", a.data.display()))?;
    let rows: Vec<Record> = data
        .records
        .into_iter()
        .filter(|r| r.category.is_some())
        .collect();
    anyhow::ensure!(
        rows.len() > a.stream + a.held_out + 1000,
        "{}: {} labelled rows; the stream and held-out pool need fewer (--stream, --held-out)",
        a.data.display(),
        rows.len()
    );
    let mut mix = Mix(a.seed);
    let mut order: Vec<usize> = (0..rows.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, mix.below(i + 1));
    }
    let held: Vec<&Record> = order[..a.held_out].iter().map(|&i| &rows[i]).collect();
    let stream: Vec<&Record> = order[a.held_out..a.held_out + a.stream]
        .iter()
        .map(|&i| &rows[i])
        .collect();
    let base: Vec<&Record> = order[a.held_out + a.stream..]
        .iter()
        .map(|&i| &rows[i])
        .collect();
    eprintln!(
        "rehearse: {} rows: base {}, stream {}, held out {}; training the champion",
        rows.len(),
        base.len(),
        stream.len(),
        held.len()
    );
    let t = Instant::now();
    let champion = fit(&schema, base.iter().map(|r| (*r).clone()).collect(), &a)?;
    let champion_seconds = t.elapsed().as_secs_f64();
    let scores = champion.score(
        &stream.iter().map(|r| (*r).clone()).collect::<Vec<_>>(),
        "stream",
        0.1,
    )?;
    let neighbours = Neighbours::new(&champion, &base, a.k);
    let shares = neighbours.malicious_share(&champion, &stream);
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for r in &stream {
        *counts.entry(family(r)).or_default() += 1;
    }
    let target = a.target.clone().or_else(|| {
        counts
            .iter()
            .filter(|(f, _)| *f != BENIGN)
            .max_by_key(|(_, n)| **n)
            .map(|(f, _)| f.clone())
    });
    let high_impact: Vec<String> = target.iter().cloned().collect();
    let some_attack = target.clone().unwrap_or_else(|| "malicious".into());
    let trusted_every = if a.trusted > 0.0 {
        (1.0 / a.trusted).round().max(1.0) as usize
    } else {
        usize::MAX
    };

    let mut scenarios = Vec::new();
    for (name, targeted) in [("random flips", false), ("targeted flips", true)] {
        // Who labels what, and which of the poisoner's labels it flips.
        let mine: Vec<usize> = (0..stream.len()).filter(|i| i % a.labellers == 0).collect();
        let budget = ((mine.len() as f64) * a.flip).round() as usize;
        let pool: Vec<usize> = if targeted {
            mine.iter()
                .copied()
                .filter(|&i| Some(family(stream[i])) == target)
                .collect()
        } else {
            mine.clone()
        };
        let mut pool = pool;
        for i in (1..pool.len()).rev() {
            pool.swap(i, mix.below(i + 1));
        }
        let flipped: std::collections::HashSet<usize> = pool.into_iter().take(budget).collect();
        let mut cands = Vec::with_capacity(stream.len());
        let mut truth_flipped = Vec::with_capacity(stream.len());
        let mut labels_given = Vec::with_capacity(stream.len());
        for (i, r) in stream.iter().enumerate() {
            let truth = family(r);
            let label = if flipped.contains(&i) {
                if truth == BENIGN {
                    some_attack.clone()
                } else {
                    BENIGN.to_string()
                }
            } else {
                truth.clone()
            };
            let s = &scores[i];
            let model_family = s
                .categories
                .iter()
                .filter(|(c, _)| *c != BENIGN)
                .max_by(|x, y| x.1.total_cmp(y.1))
                .map(|(c, _)| c.clone());
            let base_cand = Candidate {
                id: i as i64,
                item: format!("row-{i}"),
                labeller: format!("analyst-{}", i % a.labellers + 1),
                trusted: false,
                label: Label::new(&label)?,
                model_p: s.p_malicious.get(),
                model_family,
                neighbours_malicious: shares[i],
            };
            if i % trusted_every == trusted_every / 2 {
                // The incident ticket on the same alert: gold.
                let mut gold = base_cand.clone();
                gold.id = (stream.len() + i) as i64;
                gold.labeller = "incident".into();
                gold.trusted = true;
                gold.label = Label::new(&truth)?;
                cands.push(gold);
                truth_flipped.push(None);
                labels_given.push((i, truth.clone()));
            }
            cands.push(base_cand);
            truth_flipped.push(Some(flipped.contains(&i)));
            labels_given.push((i, label));
        }
        let mut defences = Vec::new();
        let mut tally = |defence: &str, quarantined: &dyn Fn(usize, &Candidate) -> bool| {
            defences.push(count(defence, &cands, &truth_flipped, quarantined));
        };
        // Each defence alone, then the screen as shipped.
        tally(
            "model agreement (verdict against a champion at least 0.9 sure)",
            &|_, x| {
                let mal = x.label.as_str() != BENIGN;
                if mal {
                    x.model_p < 0.1
                } else {
                    x.model_p > 0.9
                }
            },
        );
        tally(
            "k-NN label consistency (at least 80 % of neighbours disagree)",
            &|_, x| {
                let mal = x.label.as_str() != BENIGN;
                x.neighbours_malicious
                    .is_some_and(|n| if mal { n < 0.2 } else { n > 0.8 })
            },
        );
        let plain = screen(
            &cands,
            &Screen {
                suspect_accuracy: 0.0,
                ..Screen::default()
            },
        );
        tally(
            "Dawid-Skene posterior < 0.5 (model + neighbours + labeller accuracy)",
            &|j, _| !plain.examples[j].accepted(),
        );
        let suspects = screen(&cands, &Screen::default());
        tally(
            "the posterior, and at least 0.9 for a labeller estimated below 0.97 accurate",
            &|j, _| !suspects.examples[j].accepted(),
        );
        let shipped_screen = Screen {
            high_impact: high_impact.clone(),
            ..Screen::default()
        };
        let full = screen(&cands, &shipped_screen);
        tally(
            &format!(
                "all (shipped): posterior with the suspect rule, second reviewer for benign \
                 flips on {}, labeller cap {}",
                high_impact.join(", "),
                shipped_screen.labeller_cap
            ),
            &|j, _| !full.examples[j].accepted(),
        );
        // The frontier: the shipped screen at other posterior floors.
        let mut frontier = Vec::new();
        for floor in [0.3, 0.5, 0.6, 0.7, 0.8, 0.9] {
            let sc = screen(
                &cands,
                &Screen {
                    min_posterior: floor,
                    ..shipped_screen.clone()
                },
            );
            frontier.push(count(
                &format!("posterior floor {floor}"),
                &cands,
                &truth_flipped,
                &|j, _| !sc.examples[j].accepted(),
            ));
        }
        let honest_accuracy_min = full
            .accuracy
            .iter()
            .filter(|(l, _)| l.starts_with("analyst-") && *l != "analyst-1")
            .map(|(_, v)| *v)
            .fold(1.0, f64::min);

        let mut retrained = Vec::new();
        if !a.no_retrain {
            let must: Vec<&Record> = held
                .iter()
                .copied()
                .filter(|r| {
                    if targeted {
                        Some(family(r)) == target
                    } else {
                        r.is_malicious() == Some(true)
                    }
                })
                .collect();
            let must_records: Vec<Record> = must.iter().map(|r| (*r).clone()).collect();
            for (labels, keep) in [
                ("every stream label (no defences)", None),
                ("only what the screen accepted", Some(&full)),
            ] {
                let mut train_rows: Vec<Record> = base.iter().map(|r| (*r).clone()).collect();
                let mut n = 0;
                for (j, (i, label)) in labels_given.iter().enumerate() {
                    if keep.is_some_and(|s| !s.examples[j].accepted()) {
                        continue;
                    }
                    train_rows.push(with_label(stream[*i], label));
                    n += 1;
                }
                eprintln!("rehearse: {name}: training on base + {n} labels ({labels})");
                let t = Instant::now();
                let m = fit(&schema, train_rows, &a)?;
                let seconds = t.elapsed().as_secs_f64();
                let th = threshold(&m);
                let sc = m.score(&must_records, "must-catch", 0.1)?;
                retrained.push(Retrained {
                    labels: labels.into(),
                    examples: n,
                    must_catch: sc.len(),
                    auto_closable: sc
                        .iter()
                        .filter(|s| {
                            th.is_some_and(|t| s.p_malicious.get() <= t) && s.flags.is_empty()
                        })
                        .count(),
                    called_benign: sc.iter().filter(|s| s.p_malicious.get() < 0.5).count(),
                    threshold: th,
                    seconds,
                });
            }
        }
        scenarios.push(Scenario {
            name: name.into(),
            target: targeted.then(|| target.clone()).flatten(),
            poisoner_accuracy: full.accuracy.get("analyst-1").copied().unwrap_or(f64::NAN),
            honest_accuracy_min,
            poisoner_weight_share: full.weight_share.get("analyst-1").copied().unwrap_or(0.0),
            defences,
            frontier,
            retrained,
        });
    }
    let report = Report {
        data: super::file_name(&a.data),
        rows: rows.len(),
        base: base.len(),
        stream: stream.len(),
        held_out: held.len(),
        labellers: a.labellers,
        flip: a.flip,
        trusted: stream
            .len()
            .div_ceil(trusted_every.max(1))
            .min(stream.len()),
        k: a.k,
        seed: a.seed,
        champion_seconds,
        champion_threshold: threshold(&champion),
        high_impact,
        scenarios,
        command: std::env::args().collect::<Vec<_>>().join(" "),
    };
    std::fs::create_dir_all(&a.out)?;
    std::fs::write(
        a.out.join("poisoning.json"),
        serde_json::to_string_pretty(&report)? + "\n",
    )?;
    std::fs::write(a.out.join("poisoning.md"), markdown(&report))?;
    print!("{}", markdown(&report));
    Ok(())
}

fn pct(a: usize, b: usize) -> String {
    format!("{:.1} % ({a}/{b})", 100.0 * Caught::rate(a, b))
}

fn markdown(r: &Report) -> String {
    let mut s = format!(
        "# Poisoning rehearsal: {}\n\n{} labelled rows, seeded split (seed {}): base training {}, \
         feedback stream {}, held-out must-catch pool {}. {} simulated analysts label the \
         stream in turn with ground truth; `analyst-1` flips {:.0} % of its labels. {} stream \
         alerts also carry an imported incident label (the trusted tier). Neighbours: k = {}. \
         Champion trained in {:.0} s; certified auto-close threshold at α = 0.01: {}.\n\n\
         Command: `{}`\n",
        r.data,
        r.rows,
        r.seed,
        r.base,
        r.stream,
        r.held_out,
        r.labellers,
        r.flip * 100.0,
        r.trusted,
        r.k,
        r.champion_seconds,
        r.champion_threshold
            .map_or("none".to_string(), |t| format!("{t:.4}")),
        r.command
    );
    for sc in &r.scenarios {
        s += &format!(
            "\n## {}{}\n\nEstimated accuracy: poisoner {:.3}, lowest honest analyst {:.3}; \
             poisoner's share of accepted weight {:.3}.\n\n\
             | defence | flips caught | clean quarantined | corrections of the champion quarantined |\n\
             |---|---|---|---|\n",
            sc.name,
            sc.target
                .as_ref()
                .map_or(String::new(), |t| format!(" (family `{t}` → benign)")),
            sc.poisoner_accuracy,
            sc.honest_accuracy_min,
            sc.poisoner_weight_share
        );
        for d in &sc.defences {
            s += &format!(
                "| {} | {} | {} | {} |\n",
                d.defence,
                pct(d.flips_caught, d.flipped),
                pct(d.clean_quarantined, d.clean),
                pct(d.corrections_quarantined, d.corrections)
            );
        }
        s += "\nThe shipped screen at other posterior floors (the default is 0.5; suspects need 0.9 or the floor, whichever is higher):\n\n| floor | flips caught | clean quarantined | corrections quarantined |\n|---|---|---|---|\n";
        for d in &sc.frontier {
            s += &format!(
                "| {} | {} | {} | {} |\n",
                d.defence.trim_start_matches("posterior floor "),
                pct(d.flips_caught, d.flipped),
                pct(d.clean_quarantined, d.clean),
                pct(d.corrections_quarantined, d.corrections)
            );
        }
        if !sc.retrained.is_empty() {
            s += "\n| candidate trained on base + | labels | must-catch rows | auto-closable | called benign (p < 0.5) | threshold α 0.01 | train s |\n|---|---|---|---|---|---|---|\n";
            for t in &sc.retrained {
                s += &format!(
                    "| {} | {} | {} | {} | {} | {} | {:.0} |\n",
                    t.labels,
                    t.examples,
                    t.must_catch,
                    pct(t.auto_closable, t.must_catch),
                    pct(t.called_benign, t.must_catch),
                    t.threshold
                        .map_or("none".to_string(), |x| format!("{x:.4}")),
                    t.seconds
                );
            }
        }
    }
    s
}
