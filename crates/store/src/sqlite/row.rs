//! Reading typed values out of SQLite rows.

use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::Row;
use rusqlite::types::Type;

use crate::registry::{ModelRow, TokenRow};
use crate::types::{AlertRow, DecisionRow, ExampleRow, FeedbackRow, NewExample};

/// How times are written: RFC 3339, UTC, `Z`, as many fraction digits as needed.
pub(crate) fn time_text(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn bad(i: usize, e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(e))
}

pub(crate) fn parsed<T>(r: &Row<'_>, i: usize) -> rusqlite::Result<T>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let s: String = r.get(i)?;
    s.parse().map_err(|e| bad(i, e))
}

pub(crate) fn parsed_opt<T>(r: &Row<'_>, i: usize) -> rusqlite::Result<Option<T>>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let s: Option<String> = r.get(i)?;
    s.map(|s| s.parse().map_err(|e| bad(i, e))).transpose()
}

pub(crate) fn time(r: &Row<'_>, i: usize) -> rusqlite::Result<DateTime<Utc>> {
    let s: String = r.get(i)?;
    DateTime::parse_from_rfc3339(&s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| bad(i, e))
}

pub(crate) fn time_opt(r: &Row<'_>, i: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    let s: Option<String> = r.get(i)?;
    s.map(|s| {
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| bad(i, e))
    })
    .transpose()
}

pub(crate) fn json<T: serde::de::DeserializeOwned>(r: &Row<'_>, i: usize) -> rusqlite::Result<T> {
    let s: String = r.get(i)?;
    serde_json::from_str(&s).map_err(|e| bad(i, e))
}

pub(crate) const ALERT_COLUMNS: &str = "a.id, a.key, a.source_file, a.source_line, a.time, \
     a.received_at, a.bundle, a.p_malicious, a.verdict, a.category, a.flags, a.risk, a.tier, \
     a.action, a.state, c.key, c.new_pattern, a.impact, a.reversible, a.blast_radius";

pub(crate) fn alert(r: &Row<'_>) -> rusqlite::Result<AlertRow> {
    let verdict: Option<String> = r.get(8)?;
    Ok(AlertRow {
        id: r.get(0)?,
        key: parsed(r, 1)?,
        source_file: r.get(2)?,
        source_line: r.get::<_, i64>(3)? as u64,
        time: r.get(4)?,
        received_at: time(r, 5)?,
        bundle: parsed_opt(r, 6)?,
        p_malicious: r.get(7)?,
        verdict: verdict
            .map(|v| serde_json::from_value(serde_json::Value::String(v)).map_err(|e| bad(8, e)))
            .transpose()?,
        category: r.get(9)?,
        flags: json(r, 10)?,
        risk: r.get(11)?,
        tier: parsed(r, 12)?,
        action: r.get(13)?,
        state: parsed(r, 14)?,
        case_key: r.get(15)?,
        new_pattern: r.get::<_, i64>(16)? != 0,
        impact: parsed_opt(r, 17)?,
        reversible: r.get::<_, Option<i64>>(18)?.map(|v| v != 0),
        blast_radius: r.get(19)?,
    })
}

pub(crate) const DECISION_COLUMNS: &str = "alert, kind, tier, action, reasons, actor, time, \
     audit_index, reason_code, note, ms_to_decision, actor_token";

pub(crate) fn decision(r: &Row<'_>) -> rusqlite::Result<DecisionRow> {
    Ok(DecisionRow {
        alert: r.get(0)?,
        kind: parsed(r, 1)?,
        tier: parsed(r, 2)?,
        action: r.get(3)?,
        reasons: json(r, 4)?,
        actor: with_token(parsed(r, 5)?, r.get(11)?),
        time: time(r, 6)?,
        audit_index: r.get::<_, i64>(7)? as u64,
        reason_code: r.get(8)?,
        note: r.get(9)?,
        ms_to_decision: r.get(10)?,
    })
}

/// The actor read back from its name, with the token it presented.
pub(crate) fn with_token(actor: arbiter_core::Actor, token: Option<i64>) -> arbiter_core::Actor {
    match actor {
        arbiter_core::Actor::Person { person, role, .. } => arbiter_core::Actor::Person {
            person,
            role,
            token,
        },
        other => other,
    }
}

pub(crate) const FEEDBACK_COLUMNS: &str =
    "alert, actor, time, label, reason_code, note, feature, audit_index";

pub(crate) fn feedback(r: &Row<'_>) -> rusqlite::Result<FeedbackRow> {
    Ok(FeedbackRow {
        alert: r.get(0)?,
        actor: parsed(r, 1)?,
        time: time(r, 2)?,
        label: r.get(3)?,
        reason_code: r.get(4)?,
        note: r.get(5)?,
        feature: r.get(6)?,
        audit_index: r.get::<_, i64>(7)? as u64,
    })
}

pub(crate) const EXAMPLE_COLUMNS: &str = "e.id, e.alert, a.key, e.source, e.labeller, \
     e.labeller_token, e.token_name, e.time, e.label, e.reason_code, e.note, e.feature, e.model, \
     e.package_sha256, e.reference, e.audit_index, a.verdict, a.category, a.state, a.features, \
     a.p_malicious, e.released_by, e.released_at, e.release_reason";

pub(crate) fn example(r: &Row<'_>) -> rusqlite::Result<ExampleRow> {
    let verdict: Option<String> = r.get(16)?;
    let features: Option<String> = r.get(19)?;
    Ok(ExampleRow {
        id: r.get(0)?,
        alert: r.get(1)?,
        example: NewExample {
            key: parsed(r, 2)?,
            source: parsed(r, 3)?,
            labeller: with_token(parsed(r, 4)?, r.get(5)?),
            token_name: r.get(6)?,
            time: time(r, 7)?,
            label: parsed(r, 8)?,
            reason_code: r.get(9)?,
            note: r.get(10)?,
            feature: r.get(11)?,
            model: parsed_opt(r, 12)?,
            package_sha256: r.get(13)?,
            reference: r.get(14)?,
        },
        audit_index: r.get::<_, i64>(15)? as u64,
        model_verdict: verdict
            .map(|v| serde_json::from_value(serde_json::Value::String(v)).map_err(|e| bad(16, e)))
            .transpose()?,
        model_category: r.get(17)?,
        model_p: r.get(20)?,
        state: parsed(r, 18)?,
        release: match parsed_opt::<arbiter_core::Actor>(r, 21)? {
            Some(by) => Some(crate::types::Release {
                by,
                at: time(r, 22)?,
                reason: r.get::<_, Option<String>>(23)?.unwrap_or_default(),
            }),
            None => None,
        },
        features: features
            .map(|f| serde_json::from_str(&f).map_err(|e| bad(19, e)))
            .transpose()?,
    })
}

pub(crate) const TOKEN_COLUMNS: &str =
    "id, name, person, role, sha256, created_at, created_by, revoked_at";

pub(crate) fn token(r: &Row<'_>) -> rusqlite::Result<TokenRow> {
    Ok(TokenRow {
        id: r.get(0)?,
        name: r.get(1)?,
        person: r.get(2)?,
        role: parsed(r, 3)?,
        sha256: r.get(4)?,
        created_at: time(r, 5)?,
        created_by: parsed(r, 6)?,
        revoked_at: time_opt(r, 7)?,
    })
}

pub(crate) const MODEL_COLUMNS: &str = "id, path, schema, state, registered_by, registered_at, \
     changed_by, changed_at, parent, champion_at, canary, promotion_requested_by, \
     promotion_requested_at";

pub(crate) fn model(r: &Row<'_>) -> rusqlite::Result<ModelRow> {
    let canary: Option<String> = r.get(10)?;
    Ok(ModelRow {
        id: parsed(r, 0)?,
        path: r.get(1)?,
        schema: r.get(2)?,
        state: parsed(r, 3)?,
        registered_by: parsed(r, 4)?,
        registered_at: time(r, 5)?,
        changed_by: parsed(r, 6)?,
        changed_at: time(r, 7)?,
        parent: parsed_opt(r, 8)?,
        champion_at: time_opt(r, 9)?,
        canary: canary
            .map(|c| serde_json::from_str(&c).map_err(|e| bad(10, e)))
            .transpose()?,
        promotion_requested_by: parsed_opt(r, 11)?,
        promotion_requested_at: time_opt(r, 12)?,
    })
}
