//! Arbiter as it is today: the policy and the day-0 bundle, analysts in the loop, no learning.
//! Every alert goes through the real path — keyed, scored and explained, decided by the policy
//! and its guardrails, recorded through the ledger (audit log on disk, in-memory store) on a
//! manual clock — and every analyst's review goes through `Ledger::decide`, the interface the
//! console uses.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use arbiter_core::{Actor, AlertKey, AlertState, Clock, Decision, Impact, ManualClock, Role, Tier};
use arbiter_ledger::{Ledger, LedgerError, Rules};
use arbiter_policy::{ModelStatus, Policy};
use arbiter_store::{MemoryStore, QueueFilter};
use arbiter_triage::{Guards, Incoming, Scored, Scorer, Summary};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::Arm;
use crate::analysts::{Team, TeamConfig};
use crate::error::SimError;
use crate::outcome::{AnalystDay, ArmRun, DAY_MS, Final, Outcome, Review, Truth};
use crate::queue::{QueueItem, Vocabulary};
use crate::stream::SimAlert;

/// The source name simulated alerts carry.
pub const SOURCE: &str = "sim";
/// Open alerts handed to the team per step, at most (more than a step's capacity).
const QUEUE_WINDOW: usize = 400;
/// Scoring deadline in the simulation (real time; timeouts are injected as events).
const DEADLINE: Duration = Duration::from_secs(600);

pub struct ArbiterStatic {
    seed: u64,
    days: u32,
    start_ms: i64,
    ledger: Ledger,
    clock: Arc<ManualClock>,
    scorer: Arc<Scorer>,
    guards: Guards,
    policy: Arc<Policy>,
    team: Team,
    names: Vec<String>,
    tokens: BTreeMap<String, i64>,
    rules: Rules,
    vocab: Vocabulary,
    rng: ChaCha8Rng,
    outcomes: BTreeMap<u64, Outcome>,
    by_id: HashMap<i64, u64>,
    categories: HashMap<u64, String>,
    open: u64,
    backlog: Vec<u64>,
    reviews: BTreeMap<(String, u32), u32>,
    /// Reviews the ledger refused (the rules said no): counted, never silently dropped.
    pub refused: u64,
}

impl ArbiterStatic {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        scorer: Arc<Scorer>,
        policy: Arc<Policy>,
        policy_text: &str,
        bundle: &Path,
        team: &TeamConfig,
        audit_dir: &Path,
        seed: u64,
        days: u32,
        start_ms: i64,
    ) -> Result<ArbiterStatic, SimError> {
        let clock = Arc::new(ManualClock::new(start_ms));
        let store = Arc::new(MemoryStore::new());
        let mut ledger = Ledger::open(store, audit_dir, clock.clone())?.ledger;
        let model = scorer.model().clone();
        arbiter_triage::put_in_force(
            &mut ledger,
            policy_text,
            "policy",
            &model,
            bundle,
            &Actor::system("simulate"),
        )?;
        let mut tokens = BTreeMap::new();
        let names: Vec<String> = team.team.iter().map(|a| a.name.clone()).collect();
        for name in &names {
            let hash = format!("{:0>64}", tokens.len() + 1);
            let (id, _) = ledger.create_token(
                name,
                name,
                Role::Analyst,
                &hash,
                &Actor::system("simulate"),
            )?;
            tokens.insert(name.clone(), id);
        }
        let guards = Guards::restore(
            policy.clone(),
            &model,
            ledger.store().as_ref(),
            clock.as_ref(),
        )?;
        let mut labels = vec!["benign".to_string()];
        for c in &model.spec.category_head.classes {
            if !labels.contains(c) {
                labels.push(c.clone());
            }
        }
        let rules = Rules {
            reason_codes: policy
                .reason_codes()
                .iter()
                .map(|c| c.code.clone())
                .collect(),
            labels: labels.clone(),
            features: model.schema.features().map(|f| f.name.clone()).collect(),
        };
        let vocab = Vocabulary {
            reason_codes: rules.reason_codes.clone(),
            labels,
            features: rules.features.clone(),
        };
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(4);
        Ok(ArbiterStatic {
            seed,
            days,
            start_ms,
            ledger,
            clock,
            scorer,
            guards,
            policy,
            team: Team::new(&team.team)?,
            names,
            tokens,
            rules,
            vocab,
            rng,
            outcomes: BTreeMap::new(),
            by_id: HashMap::new(),
            categories: HashMap::new(),
            open: 0,
            backlog: Vec::new(),
            reviews: BTreeMap::new(),
            refused: 0,
        })
    }

    /// Containment or escalation: any action but a close with some impact.
    fn containment(&self, action: &str) -> bool {
        action != self.policy.close_action()
            && self
                .policy
                .actions()
                .get(action)
                .is_none_or(|a| a.impact >= Impact::Low)
    }

    fn final_for(&self, action: Option<&str>) -> Final {
        match action {
            None => Final::Pending,
            Some(a) if a == self.policy.close_action() || !self.containment(a) => Final::Closed,
            Some(a) => Final::Acted {
                action: a.to_string(),
                containment: true,
            },
        }
    }

    fn day_of(&self, ms: i64) -> u32 {
        ((ms - self.start_ms) / DAY_MS).max(0) as u32
    }
}

fn seq_of(key: &AlertKey) -> Option<u64> {
    key.id().strip_prefix("a-")?.parse().ok()
}

fn same_kind(a: &Final, b: &Final) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

impl Arm for ArbiterStatic {
    fn name(&self) -> &str {
        "arbiter_static"
    }

    fn arrive(
        &mut self,
        alerts: &[SimAlert],
        now_ms: i64,
        times_out: bool,
    ) -> Result<(), SimError> {
        self.clock.set_ms(now_ms);
        let mut batch = Vec::with_capacity(alerts.len());
        let mut arrivals: HashMap<u64, &SimAlert> = HashMap::new();
        for a in alerts {
            batch.push(Incoming {
                key: AlertKey::new(SOURCE, &format!("a-{}", a.seq))?,
                record: a.record.clone(),
            });
            arrivals.entry(a.seq).or_insert(a);
        }
        let prepared = arbiter_triage::prepare(batch, self.ledger.store().as_ref())?;
        let scored = if times_out {
            Scored {
                packages: vec![None; prepared.fresh.len()],
                status: ModelStatus::Timeout,
                ms_per_row: 0.0,
                bundle: self.scorer.model().id.clone(),
            }
        } else {
            self.scorer.score(
                &prepared.records(),
                "sim-stream",
                DEADLINE,
                self.clock.as_ref(),
            )
        };
        let mut sum = Summary::default();
        let triaged = arbiter_triage::record(
            prepared,
            scored,
            &self.scorer,
            &mut self.guards,
            &mut self.ledger,
            "sim-stream",
            &mut sum,
        )?;
        for t in triaged.into_iter().filter(|t| t.new) {
            let Some(seq) = seq_of(&t.key) else { continue };
            let Some(a) = arrivals.get(&seq) else {
                continue;
            };
            let state = t.state.unwrap_or(AlertState::Analyst);
            let automated = state.is_automated();
            let final_ = if automated {
                self.final_for(t.action.as_deref())
            } else {
                Final::Pending
            };
            if !automated {
                self.open += 1;
            }
            self.by_id.insert(t.id, seq);
            self.categories.insert(seq, a.category.clone());
            self.outcomes.insert(
                seq,
                Outcome {
                    p_malicious: t.p_malicious,
                    tier: t.tier,
                    flags: t.flags,
                    automated,
                    finalised_ms: automated.then_some(now_ms),
                    final_,
                    ..a.outcome(self.start_ms)
                },
            );
        }
        Ok(())
    }

    fn work(
        &mut self,
        from_ms: i64,
        to_ms: i64,
        poison: &BTreeMap<String, f64>,
    ) -> Result<(), SimError> {
        if self.open == 0 {
            return Ok(());
        }
        for name in &self.names {
            self.team.set_poison(name, poison.get(name).copied());
        }
        let store = self.ledger.store().clone();
        let rows = store.queue(&QueueFilter {
            limit: QUEUE_WINDOW,
            ..QueueFilter::default()
        })?;
        let mut items = Vec::with_capacity(rows.len());
        for r in &rows {
            let Some(&seq) = self.by_id.get(&r.id) else {
                continue;
            };
            let o = &self.outcomes[&seq];
            let approvals = if r.needs_two() && r.state == AlertState::PendingSecondApproval {
                arbiter_ledger::human::approvals(&store.decisions(r.id)?)
                    .into_iter()
                    .filter_map(|a| a.person_name().map(str::to_string))
                    .collect()
            } else {
                Vec::new()
            };
            items.push(QueueItem {
                id: r.id,
                seq,
                arrived_ms: o.arrived_ms,
                // What an investigation finds, in the labels an analyst can give.
                truth: Truth {
                    malicious: o.truth.malicious,
                    family: self.categories[&seq].clone(),
                    novel: o.truth.novel,
                },
                p_malicious: r.p_malicious,
                tier: r.tier,
                flags: r.flags.clone(),
                recommended: if r.tier == Tier::Abstain {
                    None
                } else {
                    r.action.clone()
                },
                recommends_close: r.action.as_deref() == Some(self.policy.close_action()),
                needs_two: r.needs_two(),
                approvals,
            });
        }
        let mut works = self.team.work(
            &items,
            from_ms,
            to_ms,
            self.open as usize,
            &self.vocab,
            &mut self.rng,
        );
        works.sort_by_key(|w| w.at_ms);
        let recommended: HashMap<i64, Option<String>> = items
            .iter()
            .map(|i| (i.id, i.recommended.clone()))
            .collect();
        for w in works {
            let at = w.at_ms.max(self.clock.now_ms());
            self.clock.set_ms(at);
            let Some(&token) = self.tokens.get(&w.analyst) else {
                continue;
            };
            let actor = Actor::person(&w.analyst, Role::Analyst, token);
            let done = match self.ledger.decide(w.id, &w.request, &actor, &self.rules) {
                Ok(d) => d,
                Err(LedgerError::Refused(_)) => {
                    self.refused += 1;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let Some(&seq) = self.by_id.get(&w.id) else {
                continue;
            };
            let category = self.categories[&seq].clone();
            let label = arbiter_ledger::DecisionRequest::clean(&w.request.label);
            let rec = self.final_for(recommended.get(&w.id).cloned().flatten().as_deref());
            let row_action = store.alert(w.id)?.and_then(|r| r.action);
            let new_final = match done.state {
                AlertState::Approved => self.final_for(row_action.as_deref()),
                AlertState::Rejected => Final::Closed,
                AlertState::Overridden => match label.as_deref() {
                    Some("benign") | None => Final::Closed,
                    Some(family) => Final::Acted {
                        action: self.policy.action_for_category(Some(family)).to_string(),
                        containment: true,
                    },
                },
                _ => Final::Pending,
            };
            let changed = match done.decision {
                Decision::Approve | Decision::Suggested => false,
                Decision::Reject => true,
                Decision::Override => rec == Final::Pending || !same_kind(&new_final, &rec),
            };
            let day = self.day_of(at);
            *self.reviews.entry((w.analyst.clone(), day)).or_default() += 1;
            let o = self
                .outcomes
                .get_mut(&seq)
                .expect("decided alerts are known");
            o.reviews.push(Review {
                analyst: w.analyst.clone(),
                at_ms: at,
                kind: done.decision,
                changed_outcome: changed,
                label_correct: label.as_ref().map(|l| *l == category),
                label,
            });
            if new_final != Final::Pending && o.final_ == Final::Pending {
                o.final_ = new_final;
                o.finalised_ms = Some(at);
                self.open = self.open.saturating_sub(1);
            }
        }
        Ok(())
    }

    fn end_of_day(&mut self, _day: u32) -> Result<(), SimError> {
        self.backlog.push(self.open);
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<ArmRun, SimError> {
        let mut analysts = Vec::new();
        for name in &self.names {
            for day in 0..self.days {
                analysts.push(AnalystDay {
                    analyst: name.clone(),
                    day,
                    reviews: self.reviews.get(&(name.clone(), day)).copied().unwrap_or(0),
                });
            }
        }
        Ok(ArmRun {
            arm: "arbiter_static".into(),
            seed: self.seed,
            days: self.days,
            start_ms: self.start_ms,
            outcomes: self.outcomes.into_values().collect(),
            analysts,
            backlog: self.backlog,
            refused_reviews: self.refused,
        })
    }
}
