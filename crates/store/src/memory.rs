//! Everything in memory, behind one lock: for tests and simulations. It keeps the same
//! contract as the SQLite store (the conformance suite runs against both): a failed batch
//! leaves nothing behind, because every applied mutation leaves an undo step.

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

use arbiter_core::{Actor, AlertKey, AlertState, Decision, EvidencePackage, ModelId, Observed};

use crate::error::StoreError;
use crate::mutation::{Applied, Mutation, Recorded};
use crate::registry::{GateRow, ModelRow, SecondOpinion, TokenRow};

mod registry;
use crate::types::{
    AlertRow, CaseRow, DecisionRow, ExampleRow, FeedbackRow, NewAlert, NewExample, QueueFilter,
    Release, Stats,
};
use crate::{Store, StoreRead};

#[derive(Debug, Default)]
struct Case {
    key: String,
    count: u64,
    new_pattern: bool,
}

#[derive(Debug, Default)]
struct Mem {
    alerts: Vec<AlertRow>,
    by_key: HashMap<AlertKey, i64>,
    packages: HashMap<i64, EvidencePackage>,
    features: HashMap<i64, Observed>,
    /// `(id, alert, example, audit index)`.
    examples: Vec<(i64, i64, NewExample, u64)>,
    released: HashMap<i64, Release>,
    decisions: Vec<DecisionRow>,
    feedback: Vec<FeedbackRow>,
    cases: Vec<Case>,
    state: BTreeMap<String, String>,
    tokens: Vec<TokenRow>,
    models: Vec<ModelRow>,
    gates: Vec<GateRow>,
    /// `(alert, opinion, audit index)`.
    opinions: Vec<(i64, SecondOpinion, u64)>,
    applied: Option<u64>,
}

/// How to take one applied mutation back.
enum Undo {
    Alert {
        opened_case: bool,
        case: usize,
    },
    Transition {
        alert: i64,
        from: AlertState,
        feedback: bool,
    },
    State {
        name: String,
        old: Option<String>,
    },
    Example,
    Release(i64),
    Token,
    Revoke {
        id: i64,
    },
    Model,
    /// Rows as they were before a state change.
    Models(Vec<(usize, ModelRow)>),
    Gate,
    Opinion,
    Nothing,
}

/// The in-memory backend.
#[derive(Debug, Default)]
pub struct MemoryStore {
    mem: RwLock<Mem>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn read<R>(&self, f: impl FnOnce(&Mem) -> R) -> Result<R, StoreError> {
        let m = self.mem.read().map_err(|_| poisoned())?;
        Ok(f(&m))
    }
}

/// Feedback names its author without the token (as text-only backends read it back).
fn without_token(a: &Actor) -> Actor {
    match a {
        Actor::Person { person, role, .. } => Actor::Person {
            person: person.clone(),
            role: *role,
            token: None,
        },
        other => other.clone(),
    }
}

fn poisoned() -> StoreError {
    StoreError::Backend {
        backend: "memory",
        target: "memory".into(),
        message: "a previous write panicked".into(),
    }
}

impl Mem {
    fn alert_mut(&mut self, id: i64) -> &mut AlertRow {
        &mut self.alerts[(id - 1) as usize]
    }

    fn apply(&mut self, index: u64, m: &Mutation) -> Result<(Applied, Undo), StoreError> {
        match m {
            Mutation::InsertAlert(a) => Ok(self.insert(a, index)),
            Mutation::ReleaseExample { id, by, at, reason } => {
                if !self.examples.iter().any(|(x, ..)| x == id) {
                    return Err(StoreError::NoSuchExample(*id));
                }
                if self.released.contains_key(id) {
                    return Ok((
                        Applied::Released {
                            id: *id,
                            released: false,
                        },
                        Undo::Nothing,
                    ));
                }
                self.released.insert(
                    *id,
                    Release {
                        by: without_token(by),
                        at: *at,
                        reason: reason.clone(),
                    },
                );
                Ok((
                    Applied::Released {
                        id: *id,
                        released: true,
                    },
                    Undo::Release(*id),
                ))
            }
            Mutation::Teach(e) => {
                let alert = *self
                    .by_key
                    .get(&e.key)
                    .ok_or_else(|| StoreError::NoSuchKey(e.key.clone()))?;
                let same = self.examples.iter().find(|(_, a, x, _)| {
                    *a == alert
                        && x.source == e.source
                        && x.reference.is_some()
                        && x.reference == e.reference
                });
                if let Some(&(id, ..)) = same {
                    return Ok((
                        Applied::Example {
                            id,
                            inserted: false,
                        },
                        Undo::Nothing,
                    ));
                }
                let id = self.examples.len() as i64 + 1;
                self.examples.push((id, alert, (**e).clone(), index));
                Ok((Applied::Example { id, inserted: true }, Undo::Example))
            }
            Mutation::Transition {
                key,
                from,
                to,
                decision,
                feedback,
            } => {
                if !from.can_become(*to) {
                    return Err(StoreError::InvalidTransition {
                        key: key.clone(),
                        from: *from,
                        to: *to,
                    });
                }
                let id = *self
                    .by_key
                    .get(key)
                    .ok_or_else(|| StoreError::NoSuchKey(key.clone()))?;
                let a = self.alert_mut(id);
                if a.state != *from {
                    return Err(StoreError::StaleState {
                        key: key.clone(),
                        expected: *from,
                        found: a.state,
                    });
                }
                a.state = *to;
                let (tier, action) = (a.tier, a.action.clone());
                self.decisions.push(DecisionRow {
                    alert: id,
                    kind: decision.kind,
                    tier,
                    action,
                    reasons: Vec::new(),
                    actor: decision.actor.clone(),
                    time: decision.time,
                    audit_index: index,
                    reason_code: decision.reason_code.clone(),
                    note: decision.note.clone(),
                    ms_to_decision: decision.ms_to_decision,
                });
                if let Some(f) = feedback {
                    self.feedback.push(FeedbackRow {
                        alert: id,
                        actor: without_token(&decision.actor),
                        time: decision.time,
                        label: f.label.clone(),
                        reason_code: f.reason_code.clone(),
                        note: f.note.clone(),
                        feature: f.feature.clone(),
                        audit_index: index,
                    });
                }
                Ok((
                    Applied::Decision { alert: id },
                    Undo::Transition {
                        alert: id,
                        from: *from,
                        feedback: feedback.is_some(),
                    },
                ))
            }
            Mutation::PutState { name, value } => {
                let old = self.state.insert(name.clone(), value.clone());
                Ok((
                    Applied::State,
                    Undo::State {
                        name: name.clone(),
                        old,
                    },
                ))
            }
            Mutation::CreateToken(t) => {
                if self.tokens.iter().any(|x| x.sha256 == t.sha256) {
                    return Err(StoreError::Duplicate {
                        what: "token with hash",
                        value: format!("{}…", &t.sha256[..12.min(t.sha256.len())]),
                    });
                }
                let id = self.tokens.len() as i64 + 1;
                self.tokens.push(TokenRow {
                    id,
                    name: t.name.clone(),
                    person: t.person.clone(),
                    role: t.role,
                    sha256: t.sha256.clone(),
                    created_at: t.created_at,
                    created_by: t.created_by.clone(),
                    revoked_at: None,
                });
                Ok((Applied::Token { id }, Undo::Token))
            }
            Mutation::RevokeToken { id, at } => {
                let t = self
                    .tokens
                    .iter_mut()
                    .find(|t| t.id == *id)
                    .ok_or(StoreError::NoSuchToken(*id))?;
                if t.revoked_at.is_some() {
                    return Ok((
                        Applied::Revoked {
                            id: *id,
                            revoked: false,
                        },
                        Undo::Nothing,
                    ));
                }
                t.revoked_at = Some(*at);
                Ok((
                    Applied::Revoked {
                        id: *id,
                        revoked: true,
                    },
                    Undo::Revoke { id: *id },
                ))
            }
            Mutation::RegisterModel(_)
            | Mutation::SetModelState { .. }
            | Mutation::RequestPromotion { .. }
            | Mutation::RecordGate(_)
            | Mutation::SecondOpinion { .. } => self.apply_registry(index, m),
        }
    }

    fn insert(&mut self, a: &NewAlert, index: u64) -> (Applied, Undo) {
        if let Some(&id) = self.by_key.get(&a.key) {
            return (
                Applied::Alert {
                    id,
                    inserted: false,
                },
                Undo::Nothing,
            );
        }
        let latest = (!a.case.opens)
            .then(|| self.cases.iter().rposition(|c| c.key == a.case.key))
            .flatten();
        let (case, opened_case) = match latest {
            Some(i) => {
                self.cases[i].count += 1;
                (i, false)
            }
            None => {
                self.cases.push(Case {
                    key: a.case.key.clone(),
                    count: 1,
                    new_pattern: a.case.new_pattern,
                });
                (self.cases.len() - 1, true)
            }
        };
        let id = self.alerts.len() as i64 + 1;
        self.alerts.push(AlertRow {
            id,
            key: a.key.clone(),
            source_file: a.source_file.clone(),
            source_line: a.source_line,
            time: a.time.clone(),
            received_at: a.received_at,
            bundle: a.bundle.clone(),
            p_malicious: a.p_malicious,
            verdict: a.verdict,
            category: a.category.clone(),
            flags: a.flags.clone(),
            risk: a.risk,
            tier: a.tier,
            action: a.action.clone(),
            impact: a.impact,
            reversible: a.reversible,
            blast_radius: a.blast_radius.clone(),
            state: a.state,
            case_key: self.cases[case].key.clone(),
            new_pattern: self.cases[case].new_pattern,
        });
        self.by_key.insert(a.key.clone(), id);
        if let Some(p) = &a.package {
            self.packages.insert(id, p.clone());
        }
        if let Some(f) = &a.features {
            self.features.insert(id, f.clone());
        }
        self.decisions.push(DecisionRow {
            alert: id,
            kind: Decision::Suggested,
            tier: a.tier,
            action: a.action.clone(),
            reasons: a.reasons.clone(),
            actor: Actor::Policy,
            time: a.received_at,
            audit_index: index,
            reason_code: None,
            note: None,
            ms_to_decision: None,
        });
        (
            Applied::Alert { id, inserted: true },
            Undo::Alert { opened_case, case },
        )
    }

    fn undo(&mut self, u: Undo) {
        match u {
            Undo::Alert { opened_case, case } => {
                if let Some(a) = self.alerts.pop() {
                    self.by_key.remove(&a.key);
                    self.packages.remove(&a.id);
                    self.features.remove(&a.id);
                }
                self.decisions.pop();
                if opened_case {
                    self.cases.pop();
                } else {
                    self.cases[case].count -= 1;
                }
            }
            Undo::Transition {
                alert,
                from,
                feedback,
            } => {
                self.alert_mut(alert).state = from;
                self.decisions.pop();
                if feedback {
                    self.feedback.pop();
                }
            }
            Undo::State { name, old } => match old {
                Some(v) => {
                    self.state.insert(name, v);
                }
                None => {
                    self.state.remove(&name);
                }
            },
            Undo::Example => {
                self.examples.pop();
            }
            Undo::Release(id) => {
                self.released.remove(&id);
            }
            Undo::Token => {
                self.tokens.pop();
            }
            Undo::Revoke { id } => {
                if let Some(t) = self.tokens.iter_mut().find(|t| t.id == id) {
                    t.revoked_at = None;
                }
            }
            Undo::Model => {
                self.models.pop();
            }
            Undo::Models(v) => {
                for (j, row) in v {
                    self.models[j] = row;
                }
            }
            Undo::Gate => {
                self.gates.pop();
            }
            Undo::Opinion => {
                self.opinions.pop();
            }
            Undo::Nothing => {}
        }
    }
}

impl StoreRead for MemoryStore {
    fn existing_keys(&self, keys: &[AlertKey]) -> Result<Vec<AlertKey>, StoreError> {
        self.read(|m| {
            keys.iter()
                .filter(|k| m.by_key.contains_key(k))
                .cloned()
                .collect()
        })
    }

    fn alert(&self, id: i64) -> Result<Option<AlertRow>, StoreError> {
        self.read(|m| {
            usize::try_from(id - 1)
                .ok()
                .and_then(|i| m.alerts.get(i))
                .cloned()
        })
    }

    fn alert_by_key(&self, key: &AlertKey) -> Result<Option<AlertRow>, StoreError> {
        self.read(|m| {
            m.by_key
                .get(key)
                .map(|&id| m.alerts[(id - 1) as usize].clone())
        })
    }

    fn package(&self, id: i64) -> Result<Option<EvidencePackage>, StoreError> {
        self.read(|m| m.packages.get(&id).cloned())
    }

    fn queue(&self, f: &QueueFilter) -> Result<Vec<AlertRow>, StoreError> {
        self.read(|m| {
            let mut rows: Vec<&AlertRow> = m.alerts.iter().filter(|a| f.admits(a)).collect();
            rows.sort_by(|a, b| {
                b.risk
                    .total_cmp(&a.risk)
                    .then(b.flags.len().cmp(&a.flags.len()))
                    .then(a.id.cmp(&b.id))
            });
            if f.limit > 0 {
                rows.truncate(f.limit);
            }
            rows.into_iter().cloned().collect()
        })
    }

    fn decisions(&self, alert: i64) -> Result<Vec<DecisionRow>, StoreError> {
        self.read(|m| {
            m.decisions
                .iter()
                .filter(|d| d.alert == alert)
                .cloned()
                .collect()
        })
    }

    fn feedback(&self, alert: i64) -> Result<Vec<FeedbackRow>, StoreError> {
        self.read(|m| {
            m.feedback
                .iter()
                .filter(|d| d.alert == alert)
                .cloned()
                .collect()
        })
    }

    fn examples(&self, after: i64, limit: usize) -> Result<Vec<ExampleRow>, StoreError> {
        self.read(|m| {
            let rows =
                m.examples
                    .iter()
                    .filter(|(id, ..)| *id > after)
                    .map(|(id, alert, e, index)| {
                        let a = &m.alerts[(*alert - 1) as usize];
                        ExampleRow {
                            id: *id,
                            alert: *alert,
                            example: e.clone(),
                            model_verdict: a.verdict,
                            model_category: a.category.clone(),
                            model_p: a.p_malicious,
                            state: a.state,
                            release: m.released.get(id).cloned(),
                            features: m.features.get(alert).cloned(),
                            audit_index: *index,
                        }
                    });
            if limit == 0 {
                rows.collect()
            } else {
                rows.take(limit).collect()
            }
        })
    }

    fn get_state(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.read(|m| m.state.get(name).cloned())
    }

    fn stats(&self) -> Result<Stats, StoreError> {
        self.read(|m| {
            let mut by_tier = BTreeMap::new();
            let mut by_state = BTreeMap::new();
            for a in &m.alerts {
                by_tier.entry(a.tier.as_str()).or_insert((a.tier, 0)).1 += 1;
                by_state.entry(a.state.as_str()).or_insert((a.state, 0)).1 += 1;
            }
            Stats {
                alerts: m.alerts.len() as u64,
                by_tier: by_tier.into_values().collect(),
                by_state: by_state.into_values().collect(),
                cases: m.cases.len() as u64,
                new_patterns: m.cases.iter().filter(|c| c.new_pattern).count() as u64,
                decisions: m.decisions.len() as u64,
                feedback: m.feedback.len() as u64,
                examples: m.examples.len() as u64,
            }
        })
    }

    fn cases(&self) -> Result<Vec<CaseRow>, StoreError> {
        self.read(|m| {
            m.cases
                .iter()
                .map(|c| CaseRow {
                    key: c.key.clone(),
                    count: c.count,
                    new_pattern: c.new_pattern,
                })
                .collect()
        })
    }

    fn token_by_hash(&self, sha256: &str) -> Result<Option<TokenRow>, StoreError> {
        self.read(|m| {
            m.tokens
                .iter()
                .find(|t| t.sha256 == sha256 && t.revoked_at.is_none())
                .cloned()
        })
    }

    fn token(&self, id: i64) -> Result<Option<TokenRow>, StoreError> {
        self.read(|m| m.tokens.iter().find(|t| t.id == id).cloned())
    }

    fn tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
        self.read(|m| m.tokens.clone())
    }

    fn models(&self) -> Result<Vec<ModelRow>, StoreError> {
        self.read(|m| {
            let mut v = m.models.clone();
            v.sort_by(|a, b| a.registered_at.cmp(&b.registered_at).then(a.id.cmp(&b.id)));
            v
        })
    }

    fn model(&self, id: &ModelId) -> Result<Option<ModelRow>, StoreError> {
        self.read(|m| m.models.iter().find(|x| &x.id == id).cloned())
    }

    fn gates(&self, candidate: &ModelId) -> Result<Vec<GateRow>, StoreError> {
        self.read(|m| {
            m.gates
                .iter()
                .filter(|g| &g.candidate == candidate)
                .cloned()
                .collect()
        })
    }

    fn opinions(
        &self,
        model: &ModelId,
        disagreeing: bool,
        limit: usize,
    ) -> Result<Vec<crate::OpinionRow>, StoreError> {
        self.read(|m| m.opinions_of(model, disagreeing, limit))
    }

    fn canary_tally(&self, model: &ModelId) -> Result<crate::CanaryTally, StoreError> {
        self.read(|m| m.tally(model))
    }

    fn applied_through(&self) -> Result<Option<u64>, StoreError> {
        self.read(|m| m.applied)
    }
}

impl Store for MemoryStore {
    fn apply(&self, batch: &[Recorded]) -> Result<Vec<Applied>, StoreError> {
        let mut m = self.mem.write().map_err(|_| poisoned())?;
        let mut undo = Vec::new();
        let mut out = Vec::new();
        for rec in batch {
            for mu in &rec.mutations {
                match m.apply(rec.audit_index, mu) {
                    Ok((a, u)) => {
                        out.push(a);
                        undo.push(u);
                    }
                    Err(e) => {
                        for u in undo.into_iter().rev() {
                            m.undo(u);
                        }
                        return Err(e);
                    }
                }
            }
        }
        if let Some(max) = batch.iter().map(|r| r.audit_index).max() {
            m.applied = Some(m.applied.map_or(max, |a| a.max(max)));
        }
        Ok(out)
    }

    fn mark_applied(&self, index: u64) -> Result<(), StoreError> {
        let mut m = self.mem.write().map_err(|_| poisoned())?;
        m.applied = Some(m.applied.map_or(index, |a| a.max(index)));
        Ok(())
    }
}
