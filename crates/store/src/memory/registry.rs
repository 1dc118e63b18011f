//! The model registry in memory: lifecycle states, gate reports, second opinions.

use arbiter_core::{Decision, ModelId, Tier};

use super::{Mem, Undo};
use crate::error::StoreError;
use crate::mutation::{Applied, Mutation};
use crate::registry::{CanaryTally, GateRow, ModelRow, ModelState, OpinionRow};

impl Mem {
    pub(super) fn apply_registry(
        &mut self,
        index: u64,
        mu: &Mutation,
    ) -> Result<(Applied, Undo), StoreError> {
        match mu {
            Mutation::RegisterModel(m) => {
                if self.models.iter().any(|x| x.id == m.id) {
                    return Err(StoreError::Duplicate {
                        what: "model",
                        value: m.id.to_string(),
                    });
                }
                self.models.push(ModelRow {
                    id: m.id.clone(),
                    path: m.path.clone(),
                    schema: m.schema.clone(),
                    state: ModelState::Candidate,
                    parent: m.parent.clone(),
                    registered_by: m.by.clone(),
                    registered_at: m.at,
                    changed_by: m.by.clone(),
                    changed_at: m.at,
                    champion_at: None,
                    canary: None,
                    promotion_requested_by: None,
                    promotion_requested_at: None,
                });
                Ok((Applied::Model, Undo::Model))
            }
            Mutation::SetModelState {
                id,
                from,
                to,
                by,
                at,
                canary,
            } => {
                let i = self.model_at(id)?;
                if self.models[i].state != *from {
                    return Err(StoreError::StaleModel {
                        id: id.clone(),
                        expected: from.to_string(),
                        found: self.models[i].state.to_string(),
                    });
                }
                if to.is_challenger()
                    && let Some(other) = self
                        .models
                        .iter()
                        .enumerate()
                        .find(|(j, m)| *j != i && m.state.is_challenger())
                        .map(|(_, m)| m)
                {
                    return Err(StoreError::ChallengerRunning {
                        other: other.id.clone(),
                        state: other.state,
                    });
                }
                let mut undo = Vec::new();
                for (j, m) in self.models.iter_mut().enumerate() {
                    let retire =
                        *to == ModelState::Champion && j != i && m.state == ModelState::Champion;
                    if j != i && !retire {
                        continue;
                    }
                    undo.push((j, m.clone()));
                    m.changed_by = by.clone();
                    m.changed_at = *at;
                    if retire {
                        m.state = ModelState::Retired;
                        continue;
                    }
                    m.state = *to;
                    m.promotion_requested_by = None;
                    m.promotion_requested_at = None;
                    if *to == ModelState::Champion {
                        m.champion_at = Some(*at);
                    }
                    if *from == ModelState::Champion {
                        // Retired by hand (a rollback), not replaced: never restored again.
                        m.champion_at = None;
                    }
                    if *to == ModelState::Canary {
                        m.canary = canary.clone();
                    }
                }
                Ok((Applied::Model, Undo::Models(undo)))
            }
            Mutation::RequestPromotion { id, by, at } => {
                let i = self.model_at(id)?;
                let undo = vec![(i, self.models[i].clone())];
                let m = &mut self.models[i];
                m.promotion_requested_by = Some(by.clone());
                m.promotion_requested_at = Some(*at);
                Ok((Applied::Model, Undo::Models(undo)))
            }
            Mutation::RecordGate(g) => {
                self.model_at(&g.candidate)?;
                let id = self.gates.len() as i64 + 1;
                self.gates.push(GateRow {
                    id,
                    candidate: g.candidate.clone(),
                    champion: g.champion.clone(),
                    passed: g.passed,
                    sha256: g.sha256.clone(),
                    report: g.report.clone(),
                    by: g.by.clone(),
                    at: g.at,
                    audit_index: index,
                });
                Ok((Applied::Gate { id }, Undo::Gate))
            }
            Mutation::SecondOpinion { key, opinion } => {
                let Some(&alert) = self.by_key.get(key) else {
                    return Ok((Applied::Opinion { inserted: false }, Undo::Nothing));
                };
                if self
                    .opinions
                    .iter()
                    .any(|(a, o, _)| *a == alert && o.model == opinion.model)
                {
                    return Ok((Applied::Opinion { inserted: false }, Undo::Nothing));
                }
                self.opinions.push((alert, (**opinion).clone(), index));
                Ok((Applied::Opinion { inserted: true }, Undo::Opinion))
            }
            other => unreachable!("not a registry mutation: {other:?}"),
        }
    }

    fn model_at(&self, id: &ModelId) -> Result<usize, StoreError> {
        self.models
            .iter()
            .position(|x| &x.id == id)
            .ok_or_else(|| StoreError::NoSuchModel(id.clone()))
    }

    pub(super) fn opinions_of(
        &self,
        model: &ModelId,
        disagreeing: bool,
        limit: usize,
    ) -> Vec<OpinionRow> {
        let limit = if limit == 0 { usize::MAX } else { limit };
        self.opinions
            .iter()
            .rev()
            .filter_map(|(alert, o, _)| {
                let a = &self.alerts[(*alert - 1) as usize];
                let about = &o.model == model || a.bundle.as_ref() == Some(model);
                (about && (!disagreeing || o.tier != a.tier)).then(|| OpinionRow {
                    alert: a.id,
                    key: a.key.clone(),
                    acted_by: a.bundle.clone(),
                    acted_tier: a.tier,
                    acted_action: a.action.clone(),
                    acted_p_malicious: a.p_malicious,
                    opinion: o.clone(),
                })
            })
            .take(limit)
            .collect()
    }

    pub(super) fn tally(&self, model: &ModelId) -> CanaryTally {
        let mut t = CanaryTally::default();
        for a in self
            .alerts
            .iter()
            .filter(|a| a.bundle.as_ref() == Some(model))
        {
            let human: Vec<Decision> = self
                .decisions
                .iter()
                .filter(|d| d.alert == a.id && d.kind.is_human())
                .map(|d| d.kind)
                .collect();
            let automated = a.tier == Tier::Auto;
            let overridden = human
                .iter()
                .any(|k| matches!(k, Decision::Override | Decision::Reject));
            t.decided += 1;
            t.automated += u64::from(automated);
            t.reviewed += u64::from(!human.is_empty());
            t.overridden += u64::from(overridden);
            t.automated_overridden += u64::from(automated && overridden);
        }
        t
    }
}
