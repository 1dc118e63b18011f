//! Everything known about one alert, read without the writer: the row, its package,
//! decisions and feedback from the store, and its audit timeline from the log — cross-checked,
//! so that an index that lost entries can never make the timeline say "nothing happened".

use std::collections::BTreeMap;

use arbiter_audit::Entry;
use arbiter_core::EvidencePackage;
use arbiter_ledger::record_of;
use arbiter_store::{AlertRow, DecisionRow, FeedbackRow, Mutation};

use crate::api::types::{ActionJson, TimelineJson};
use crate::app::App;
use crate::error::ApiError;

/// Most timeline entries shown on one alert page.
pub const TIMELINE_PAGE: usize = 500;

pub struct Detail {
    pub alert: AlertRow,
    pub package: Option<EvidencePackage>,
    pub decisions: Vec<DecisionRow>,
    pub feedback: Vec<FeedbackRow>,
    pub timeline: Vec<TimelineJson>,
    pub timeline_complete: bool,
    pub timeline_note: Option<String>,
}

pub async fn load(app: &App, id: i64) -> Result<Option<Detail>, ApiError> {
    app.read(move |s, audit| {
        let Some(alert) = s.alert(id)? else {
            return Ok(None);
        };
        let package = s.package(id)?;
        let decisions = s.decisions(id)?;
        let feedback = s.feedback(id)?;
        let page = audit.query_page(&alert.key.entity(), None, None, TIMELINE_PAGE)?;
        let mut entries: BTreeMap<u64, Entry> = page.entries.into_iter().collect();
        // Every entry the store points at must be in the timeline, whatever the index says.
        let mut missing: Vec<u64> = decisions
            .iter()
            .map(|d| d.audit_index)
            .chain(feedback.iter().map(|f| f.audit_index))
            .filter(|i| !entries.contains_key(i) && *i < audit.len())
            .collect();
        missing.sort_unstable();
        missing.dedup();
        for i in &missing {
            entries.insert(*i, audit.entry(*i)?);
        }
        let mut notes = Vec::new();
        if !missing.is_empty() {
            notes.push(format!(
                "the audit index left out entries {missing:?} about this alert; they are shown \
                 from the log itself. Run `arbiter audit verify`, then `arbiter audit reindex`"
            ));
        }
        if page.next.is_some() {
            notes.push(format!(
                "more than {TIMELINE_PAGE} entries: see GET /api/v1/audit/query?entity={}",
                alert.key.entity()
            ));
        }
        Ok(Some(Detail {
            timeline: entries
                .into_iter()
                .map(|(i, e)| timeline_item(i, e))
                .collect(),
            timeline_complete: notes.is_empty(),
            timeline_note: (!notes.is_empty()).then(|| notes.join("; ")),
            alert,
            package,
            decisions,
            feedback,
        }))
    })
    .await
}

fn timeline_item(index: u64, e: Entry) -> TimelineJson {
    let (reason_code, note) = match record_of(&e) {
        Some(Ok(ms)) => ms
            .into_iter()
            .find_map(|m| match m {
                Mutation::Transition { decision, .. } => {
                    Some((decision.reason_code, decision.note))
                }
                _ => None,
            })
            .unwrap_or((None, None)),
        _ => (None, None),
    };
    TimelineJson {
        audit_index: index,
        time: arbiter_core::display::time(&e.time),
        kind: serde_json::to_value(e.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        actor: e.actor,
        summary: e.summary,
        reason_code,
        note,
    }
}

/// The recommended action of `alert` as the policy's catalogue describes it.
pub fn action(app: &App, alert: &AlertRow) -> Option<ActionJson> {
    let name = alert.action.as_ref()?;
    let policy = app.policy();
    let a = policy.policy.actions().get(name);
    Some(ActionJson {
        name: name.clone(),
        impact: alert
            .impact
            .or(a.map(|a| a.impact))
            .map_or_else(|| "unknown".to_string(), |i| i.to_string()),
        reversible: alert
            .reversible
            .or(a.map(|a| a.reversible))
            .unwrap_or(false),
        blast_radius: alert
            .blast_radius
            .clone()
            .or_else(|| a.map(|a| a.blast_radius.clone()))
            .unwrap_or_default(),
        description: a.and_then(|a| a.description.clone()).unwrap_or_default(),
        needs_two_approvals: alert.needs_two(),
    })
}

/// People who approved so far.
pub fn approvals(decisions: &[DecisionRow]) -> Vec<String> {
    arbiter_ledger::human::approvals(decisions)
        .into_iter()
        .map(|a| a.to_string())
        .collect()
}
