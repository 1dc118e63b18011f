//! The model lifecycle: register, put a base model in force, gate, shadow, canary, promote
//! (four eyes), roll back — each one audit entry, then its store change.
//!
//! The rules live here, not in the callers:
//! - a retrained bundle (one with a parent) becomes champion only through [`Ledger::promote_model`]:
//!   an admin asks, a second, different admin approves, and at that moment the candidate's latest
//!   gate report against the current champion must have passed;
//! - a canary needs the same passing gate (it decides live traffic), a shadow does not (it
//!   decides nothing);
//! - a canary that crosses its declared bounds is retired by [`Ledger::check_canary`] at once;
//! - rollback retires the champion and restores the one before it; a rolled-back champion is
//!   never a rollback target again.

use arbiter_audit::{Entry, EntryKind};
use arbiter_core::{Actor, ModelId, Role};
use arbiter_store::{CanaryBounds, ModelRow, ModelState, Mutation, NewGate, NewModel};
use serde::Serialize;

use crate::admin::with_person;
use crate::human::Refusal;
use crate::{Change, Ledger, LedgerError};

/// What a promotion request did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Promotion {
    pub model: ModelId,
    pub audit_index: u64,
    /// The first admin asked; a second, different admin must approve.
    pub awaiting_second_admin: bool,
    /// The champion it replaced (when it was promoted).
    pub retired: Option<ModelId>,
    /// The gate report that allowed it.
    pub gate_sha256: String,
}

/// What a rollback did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rollback {
    pub audit_index: u64,
    /// The champion now in force.
    pub champion: ModelId,
    pub retired: ModelId,
}

/// A canary retired because it crossed a declared bound.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CanaryRollback {
    pub model: ModelId,
    pub audit_index: u64,
    /// Which bound, with the numbers.
    pub reason: String,
}

/// Whether `actor` calling promote on `row` would promote it now (rather than ask): another
/// person asked first. The gate is checked separately.
pub fn completes_promotion(row: &ModelRow, actor: &Actor) -> bool {
    row.promotion_requested_by
        .as_ref()
        .and_then(Actor::person_name)
        .is_some_and(|p| Some(p) != actor.person_name())
}

fn conflict(m: String) -> LedgerError {
    LedgerError::Refused(Refusal::Conflict(m))
}

fn admin_person(actor: &Actor, what: &str) -> Result<(), LedgerError> {
    match actor {
        Actor::Person {
            role: Role::Admin, ..
        } => Ok(()),
        other => Err(LedgerError::Refused(Refusal::Invalid(format!(
            "{what} needs an admin person (a token of role admin); {other} is not one"
        )))),
    }
}

/// The failed gates of a stored report, as `name (measured m, bound b)`.
fn failed_gates(report: &serde_json::Value) -> String {
    let failed: Vec<String> = report["gates"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|g| g["passed"] == serde_json::Value::Bool(false))
        .map(|g| {
            format!(
                "{} (measured {}, bound {})",
                g["name"].as_str().unwrap_or("?"),
                g["measured"],
                g["bound"]
            )
        })
        .collect();
    if failed.is_empty() {
        "no gate named".into()
    } else {
        failed.join("; ")
    }
}

/// The champion a rollback would retire and the one it would restore: the retired model that
/// became champion last and was not itself rolled back.
pub fn rollback_target(
    store: &dyn arbiter_store::StoreRead,
) -> Result<(ModelRow, ModelRow), LedgerError> {
    let models = store.models()?;
    let current = models
        .iter()
        .find(|m| m.state == ModelState::Champion)
        .cloned()
        .ok_or_else(|| conflict("there is no champion to roll back".into()))?;
    let previous = models
        .into_iter()
        .filter(|m| m.state == ModelState::Retired && m.id != current.id)
        .filter_map(|m| m.champion_at.map(|t| (t, m)))
        .max_by(|a, b| a.0.cmp(&b.0).then(a.1.id.cmp(&b.1.id)))
        .map(|(_, m)| m)
        .ok_or_else(|| {
            conflict(format!(
                "there is no earlier champion to restore: {} is the first in force",
                current.id
            ))
        })?;
    Ok((current, previous))
}

impl Ledger {
    fn model_row(&self, id: &ModelId) -> Result<ModelRow, LedgerError> {
        self.store
            .model(id)?
            .ok_or_else(|| LedgerError::NoSuchModel(id.clone()))
    }

    /// The model in force, if any.
    pub fn champion(&self) -> Result<Option<ModelRow>, LedgerError> {
        Ok(self
            .store
            .models()?
            .into_iter()
            .find(|m| m.state == ModelState::Champion))
    }

    /// The shadow or canary, if one runs.
    pub fn challenger(&self) -> Result<Option<ModelRow>, LedgerError> {
        Ok(self
            .store
            .models()?
            .into_iter()
            .find(|m| m.state.is_challenger()))
    }

    /// One model-change entry about `ids` (the first is the model changed), then its mutations.
    fn model_change(
        &mut self,
        actor: &Actor,
        ids: &[&ModelId],
        summary: String,
        body: serde_json::Value,
        mutations: Vec<Mutation>,
    ) -> Result<u64, LedgerError> {
        let change = Change {
            entry: Entry {
                time: self.clock.now(),
                kind: EntryKind::ModelChange,
                actor: actor.to_string(),
                entities: with_person(ids.iter().map(|id| format!("model:{id}")).collect(), actor),
                summary,
                body,
            },
            mutations,
        };
        Ok(self.record(vec![change])?.0.start)
    }

    fn set_state(
        &self,
        row: &ModelRow,
        to: ModelState,
        actor: &Actor,
        canary: Option<CanaryBounds>,
    ) -> Mutation {
        Mutation::SetModelState {
            id: row.id.clone(),
            from: row.state,
            to,
            by: actor.clone(),
            at: self.clock.now(),
            canary,
        }
    }

    /// Registers a verified bundle (`id` is its content hash) found at `path`, as a candidate.
    /// `parent` is the champion a retrained bundle was built from.
    pub fn register_model(
        &mut self,
        id: &ModelId,
        path: &str,
        schema: &str,
        parent: Option<&ModelId>,
        actor: &Actor,
    ) -> Result<u64, LedgerError> {
        let lineage = parent.map_or(String::new(), |p| format!(", retrained from {p}"));
        let new = NewModel {
            id: id.clone(),
            path: path.into(),
            schema: schema.into(),
            parent: parent.cloned(),
            by: actor.clone(),
            at: self.clock.now(),
        };
        self.model_change(
            actor,
            &[id],
            format!("model {id} ({schema}) registered from {path}{lineage} (by {actor})"),
            serde_json::json!({}),
            vec![Mutation::RegisterModel(new)],
        )
    }

    /// Puts a base model (trained from data, no parent) in force; the champion before is
    /// retired. `None` when it already is champion. A retrained model is refused: it becomes
    /// champion only by [`Ledger::promote_model`].
    pub fn activate_model(
        &mut self,
        id: &ModelId,
        actor: &Actor,
    ) -> Result<Option<u64>, LedgerError> {
        let row = self.model_row(id)?;
        if row.state == ModelState::Champion {
            return Ok(None);
        }
        if let Some(parent) = &row.parent {
            return Err(conflict(format!(
                "model {id} was retrained from {parent}: it becomes champion only by promotion \
                 (a passing gate report and two admins: `arbiter model promote`)"
            )));
        }
        let m = self.set_state(&row, ModelState::Champion, actor, None);
        Ok(Some(self.model_change(
            actor,
            &[id],
            format!("model {id} now in force (by {actor})"),
            serde_json::json!({"path": row.path, "schema": row.schema}),
            vec![m],
        )?))
    }

    /// Records a gate report of `gate.candidate` against `gate.champion`.
    pub fn record_gate(&mut self, gate: NewGate) -> Result<u64, LedgerError> {
        self.model_row(&gate.candidate)?;
        let actor = gate.by.clone();
        let verdict = if gate.passed {
            "passed".to_string()
        } else {
            format!("failed: {}", failed_gates(&gate.report))
        };
        let summary = format!(
            "gates of model {} against champion {} {verdict} (report sha256 {:.12}, by {actor})",
            gate.candidate, gate.champion, gate.sha256
        );
        let body = serde_json::json!({"sha256": gate.sha256, "passed": gate.passed});
        let (id, champion) = (gate.candidate.clone(), gate.champion.clone());
        self.model_change(
            &actor,
            &[&id, &champion],
            summary,
            body,
            vec![Mutation::RecordGate(Box::new(gate))],
        )
    }

    /// The latest gate report of `id` against the champion in force: it must exist and have
    /// passed. Returns the champion and the report's hash.
    fn passing_gate(&self, id: &ModelId, what: &str) -> Result<(ModelRow, String), LedgerError> {
        let champion = self.champion()?.ok_or_else(|| {
            conflict(format!(
                "there is no champion to compare {id} with: put a base model in force first"
            ))
        })?;
        let gates = self.store.gates(id)?;
        let Some(g) = gates.iter().rev().find(|g| g.champion == champion.id) else {
            return Err(conflict(format!(
                "{what} of {id} needs a passing gate report against the champion {}: none is \
                 recorded (`arbiter model gate --record`)",
                champion.id
            )));
        };
        if !g.passed {
            return Err(conflict(format!(
                "{what} of {id} is blocked: its latest gate report against the champion {} \
                 (sha256 {:.12}) failed: {}",
                champion.id,
                g.sha256,
                failed_gates(&g.report)
            )));
        }
        Ok((champion, g.sha256.clone()))
    }

    /// Promotes a candidate, shadow or canary to champion under four eyes: the first admin's
    /// call records the request, a second, different admin's call promotes. Both calls need
    /// a passing gate report against the champion in force at that moment.
    pub fn promote_model(&mut self, id: &ModelId, actor: &Actor) -> Result<Promotion, LedgerError> {
        admin_person(actor, "promotion")?;
        let row = self.model_row(id)?;
        match row.state {
            ModelState::Champion => {
                return Err(conflict(format!("model {id} is already the champion")));
            }
            ModelState::Retired => {
                return Err(conflict(format!(
                    "model {id} is retired: it cannot be promoted (a rollback restores earlier champions)"
                )));
            }
            _ => {}
        }
        let (champion, sha) = self.passing_gate(id, "promotion")?;
        let me = actor.person_name().unwrap_or_default().to_string();
        let first = row
            .promotion_requested_by
            .as_ref()
            .map(|by| by.person_name().unwrap_or_default().to_string());
        match first {
            Some(p) if p == me => Err(conflict(format!(
                "{me} already asked to promote {id}: a second, different admin must approve (four eyes)"
            ))),
            None => {
                let index = self.model_change(
                    actor,
                    &[id],
                    format!(
                        "{actor} asked to promote model {id} over {} (gate report sha256 {sha:.12}; 1 of 2: four eyes)",
                        champion.id
                    ),
                    serde_json::json!({"gate_sha256": sha, "champion": champion.id}),
                    vec![Mutation::RequestPromotion {
                        id: id.clone(),
                        by: actor.clone(),
                        at: self.clock.now(),
                    }],
                )?;
                Ok(Promotion {
                    model: id.clone(),
                    audit_index: index,
                    awaiting_second_admin: true,
                    retired: None,
                    gate_sha256: sha,
                })
            }
            Some(p) => {
                let m = self.set_state(&row, ModelState::Champion, actor, None);
                let index = self.model_change(
                    actor,
                    &[id, &champion.id],
                    format!(
                        "model {id} promoted to champion over {} by {p} and {me} (gate report sha256 {sha:.12})",
                        champion.id
                    ),
                    serde_json::json!({"gate_sha256": sha, "retired": champion.id,
                                       "requested_by": p, "approved_by": me,
                                       "from": row.state, "path": row.path}),
                    vec![m],
                )?;
                Ok(Promotion {
                    model: id.clone(),
                    audit_index: index,
                    awaiting_second_admin: false,
                    retired: Some(champion.id),
                    gate_sha256: sha,
                })
            }
        }
    }

    /// Retires the champion and restores the champion before it (the retired model that
    /// became champion last and was not itself rolled back). One admin suffices: it returns
    /// to a model that was in force before.
    pub fn rollback_model(&mut self, actor: &Actor) -> Result<Rollback, LedgerError> {
        admin_person(actor, "rollback")?;
        let (current, previous) = rollback_target(self.store.as_ref())?;
        let retire = self.set_state(&current, ModelState::Retired, actor, None);
        let restore = self.set_state(&previous, ModelState::Champion, actor, None);
        let index = self.model_change(
            actor,
            &[&previous.id, &current.id],
            format!(
                "rollback: model {} retired, model {} champion again (by {actor})",
                current.id, previous.id
            ),
            serde_json::json!({"retired": current.id, "champion": previous.id, "path": previous.path}),
            vec![retire, restore],
        )?;
        Ok(Rollback {
            audit_index: index,
            champion: previous.id,
            retired: current.id,
        })
    }

    /// Starts a candidate as the shadow (decisions recorded, never acted on) or, with bounds,
    /// as the canary (decides `bounds.share` of live alerts). A canary needs a passing gate
    /// report against the champion; one challenger runs at a time.
    pub fn start_challenger(
        &mut self,
        id: &ModelId,
        bounds: Option<CanaryBounds>,
        actor: &Actor,
    ) -> Result<u64, LedgerError> {
        let to = if bounds.is_some() {
            ModelState::Canary
        } else {
            ModelState::Shadow
        };
        admin_person(actor, &format!("starting a {to}"))?;
        let row = self.model_row(id)?;
        if !matches!(
            (row.state, to),
            (ModelState::Candidate, _) | (ModelState::Shadow, ModelState::Canary)
        ) {
            return Err(conflict(format!(
                "model {id} is {}: only a candidate (or a shadow, into canary) can become {to}",
                row.state
            )));
        }
        if let Some(b) = &bounds {
            let ok = b.share > 0.0
                && b.share <= 1.0
                && (0.0..=1.0).contains(&b.max_override_rate)
                && b.min_reviewed >= 1;
            if !ok {
                return Err(LedgerError::Refused(Refusal::Invalid(format!(
                    "canary bounds are invalid: share {} must be in (0, 1], max override rate {} \
                     in [0, 1], min reviewed {} at least 1",
                    b.share, b.max_override_rate, b.min_reviewed
                ))));
            }
        }
        let gate = match to {
            ModelState::Canary => Some(self.passing_gate(id, "a canary")?.1),
            _ => None,
        };
        let what = match &bounds {
            Some(b) => format!(
                "canary on {:.1} % of alerts (rolled back above {:.1} % overrides of at least {} \
                 reviewed, or more than {} automated decisions found wrong)",
                b.share * 100.0,
                b.max_override_rate * 100.0,
                b.min_reviewed,
                b.max_automated_overridden
            ),
            None => "shadow (decisions recorded, never acted on)".into(),
        };
        let m = self.set_state(&row, to, actor, bounds.clone());
        self.model_change(
            actor,
            &[id],
            format!("model {id} is now the {what} (by {actor})"),
            serde_json::json!({"state": to, "bounds": bounds, "gate_sha256": gate}),
            vec![m],
        )
    }

    /// Ends a shadow or canary, or sets a candidate aside (an admin): the model is retired.
    pub fn retire_model(
        &mut self,
        id: &ModelId,
        reason: &str,
        actor: &Actor,
    ) -> Result<u64, LedgerError> {
        admin_person(actor, "retiring a model")?;
        self.retire(id, reason, actor)
    }

    fn retire(&mut self, id: &ModelId, reason: &str, actor: &Actor) -> Result<u64, LedgerError> {
        let row = self.model_row(id)?;
        if matches!(row.state, ModelState::Champion | ModelState::Retired) {
            return Err(conflict(format!(
                "model {id} is {}: a champion leaves by promotion of another or by rollback",
                row.state
            )));
        }
        let m = self.set_state(&row, ModelState::Retired, actor, None);
        self.model_change(
            actor,
            &[id],
            format!("model {id} ({}) retired: {reason} (by {actor})", row.state),
            serde_json::json!({"from": row.state, "reason": reason}),
            vec![m],
        )
    }

    /// Retires the canary when the humans' verdicts on its decisions cross a declared bound.
    /// Call after every human decision (the only thing that moves the tally's bounds).
    pub fn check_canary(&mut self) -> Result<Option<CanaryRollback>, LedgerError> {
        let Some(row) = self.challenger()? else {
            return Ok(None);
        };
        let (ModelState::Canary, Some(b)) = (row.state, row.canary.clone()) else {
            return Ok(None);
        };
        let t = self.store.canary_tally(&row.id)?;
        let rate = if t.reviewed == 0 {
            0.0
        } else {
            t.overridden as f64 / t.reviewed as f64
        };
        let reason = if t.automated_overridden > b.max_automated_overridden {
            format!(
                "{} of its {} automated decisions were found wrong by a human (bound {})",
                t.automated_overridden, t.automated, b.max_automated_overridden
            )
        } else if t.reviewed >= b.min_reviewed && rate > b.max_override_rate {
            format!(
                "humans overrode or rejected {} of {} reviewed decisions ({:.1} %, bound {:.1} %)",
                t.overridden,
                t.reviewed,
                rate * 100.0,
                b.max_override_rate * 100.0
            )
        } else {
            return Ok(None);
        };
        let guard = Actor::system("canary-guard");
        let index = self.retire(&row.id, &format!("canary bound crossed: {reason}"), &guard)?;
        Ok(Some(CanaryRollback {
            model: row.id,
            audit_index: index,
            reason,
        }))
    }
}
