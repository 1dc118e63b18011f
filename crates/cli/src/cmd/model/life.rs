//! The lifecycle offline: show, diff, shadow, canary, promote (four eyes), roll back, retire.
//! Changes need a person: `--token` (or `ARBITER_TOKEN`) names the admin acting.

use std::path::Path;

use anyhow::Context;
use arbiter_core::{Actor, ModelId};
use arbiter_ledger::Ledger;
use arbiter_model::Model;
use arbiter_store::{CanaryBounds, ModelState, SqliteStore, StoreRead};

/// A model and the admin acting on it.
#[derive(clap::Args)]
pub struct Who {
    pub id: String,
    #[command(flatten)]
    pub token: Token,
}

#[derive(clap::Args)]
pub struct Token {
    /// The acting person's API token (`arbiter token create`)
    #[arg(long, env = "ARBITER_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

#[derive(clap::Args)]
pub struct CanaryArgs {
    pub id: String,
    /// Share of live alerts the canary decides, chosen by a hash of the alert key
    #[arg(long, default_value_t = 0.1)]
    pub share: f64,
    /// Roll back when humans override or reject more than this share of the canary's reviewed
    /// decisions…
    #[arg(long, default_value_t = 0.2)]
    pub max_override_rate: f64,
    /// …once at least this many were reviewed
    #[arg(long, default_value_t = 20)]
    pub min_reviewed: u64,
    /// Roll back when more than this many of its automated decisions are found wrong
    #[arg(long, default_value_t = 0)]
    pub max_automated_overridden: u64,
    #[command(flatten)]
    pub token: Token,
}

#[derive(clap::Args)]
pub struct RetireArgs {
    pub id: String,
    /// Why (recorded)
    #[arg(long)]
    pub reason: String,
    #[command(flatten)]
    pub token: Token,
}

/// The person behind `token`, or `cli/model` without one.
pub fn actor(l: &Ledger, token: Option<&str>) -> anyhow::Result<Actor> {
    let Some(secret) = token else {
        return Ok(Actor::system("cli/model"));
    };
    let hash = arbiter_server::token_hash(secret.trim());
    let t = l
        .store()
        .token_by_hash(&hash)?
        .context("the token is not known or was revoked")?;
    Ok(Actor::person(&t.person, t.role, t.id))
}

fn person(l: &Ledger, token: &Token) -> anyhow::Result<Actor> {
    anyhow::ensure!(
        token.token.is_some(),
        "this change needs an admin's token: pass --token or set ARBITER_TOKEN"
    );
    actor(l, token.token.as_deref())
}

fn id(s: &str) -> anyhow::Result<ModelId> {
    Ok(ModelId::new(s)?)
}

pub fn show(db: &Path, id_text: &str) -> anyhow::Result<()> {
    let store = SqliteStore::open(db)?;
    let id = id(id_text)?;
    let m = store
        .model(&id)?
        .with_context(|| format!("no registered model {id}"))?;
    println!("{}  {}", m.id, m.state);
    println!("  path      {}", m.path);
    println!("  schema    {}", m.schema);
    if let Some(p) = &m.parent {
        println!("  parent    {p}");
    }
    println!(
        "  registered {} by {}",
        m.registered_at.to_rfc3339(),
        m.registered_by
    );
    println!(
        "  changed    {} by {}",
        m.changed_at.to_rfc3339(),
        m.changed_by
    );
    if let Some(t) = m.champion_at {
        println!("  champion since {}", t.to_rfc3339());
    }
    if let Some(by) = &m.promotion_requested_by {
        println!("  promotion asked by {by}: a second, different admin must approve");
    }
    let gates = store.gates(&id)?;
    if gates.is_empty() {
        println!("  gates     none recorded");
    }
    for g in &gates {
        println!(
            "  gate      {} against {:.19}… sha256 {:.12} at {} by {} (audit entry {})",
            if g.passed { "passed" } else { "FAILED" },
            g.champion.as_str(),
            g.sha256,
            g.at.to_rfc3339(),
            g.by,
            g.audit_index
        );
    }
    if m.state.is_challenger() || !store.opinions(&id, false, 1)?.is_empty() {
        let all = store.opinions(&id, false, 0)?.len();
        let differ = store.opinions(&id, true, 0)?.len();
        println!("  second opinions {all}, of which {differ} differ in tier");
    }
    if let (ModelState::Canary, Some(b)) = (m.state, &m.canary) {
        let t = store.canary_tally(&id)?;
        println!(
            "  canary    {:.1} % of alerts; decided {}, automated {}, reviewed {}, overridden {} \
             (bound {:.1} % of at least {}), automated overridden {} (bound {})",
            b.share * 100.0,
            t.decided,
            t.automated,
            t.reviewed,
            t.overridden,
            b.max_override_rate * 100.0,
            b.min_reviewed,
            t.automated_overridden,
            b.max_automated_overridden
        );
    }
    Ok(())
}

/// A bundle directory, or a registered id's bundle.
fn bundle(store: &SqliteStore, s: &str) -> anyhow::Result<Model> {
    if Path::new(s).is_dir() {
        return Ok(Model::load(Path::new(s))?);
    }
    let id = id(s)?;
    let row = store
        .model(&id)?
        .with_context(|| format!("{s} is neither a bundle directory nor a registered model"))?;
    Ok(Model::load(Path::new(&row.path))?)
}

pub fn diff(db: &Path, a: &str, b: &str, all: bool) -> anyhow::Result<()> {
    let store = SqliteStore::open(db)?;
    let (a, b) = (bundle(&store, a)?, bundle(&store, b)?);
    let rows = arbiter_model::diff::diff(&a, &b, all);
    if rows.is_empty() {
        println!("no compared property differs");
    }
    for r in rows {
        println!("{}\n  a: {}\n  b: {}", r.what, r.a, r.b);
    }
    Ok(())
}

pub fn disagreements(db: &Path, id_text: &str, limit: usize) -> anyhow::Result<()> {
    let store = SqliteStore::open(db)?;
    let rows = store.opinions(&id(id_text)?, true, limit)?;
    if rows.is_empty() {
        println!("no disagreements recorded");
    }
    for o in rows {
        println!(
            "alert {} {}: acted {} {} (p {}) by {:.19}…; {} {:.19}… would have {} {} (p {})",
            o.alert,
            o.key,
            o.acted_tier,
            o.acted_action.as_deref().unwrap_or("(no action)"),
            o.acted_p_malicious
                .map_or("-".into(), |p| format!("{p:.4}")),
            o.acted_by.as_ref().map_or("-", |m| m.as_str()),
            o.opinion.role,
            o.opinion.model.as_str(),
            o.opinion.tier,
            o.opinion.action.as_deref().unwrap_or("(no action)"),
            o.opinion
                .p_malicious
                .map_or("-".into(), |p| format!("{p:.4}")),
        );
    }
    Ok(())
}

fn changed(
    db: &Path,
    audit: Option<&Path>,
    token: &Token,
    f: impl FnOnce(&mut Ledger, &Actor) -> anyhow::Result<String>,
) -> anyhow::Result<()> {
    let mut l = super::ledger(db, audit)?;
    let who = person(&l, token)?;
    let said = f(&mut l, &who)?;
    l.checkpoint()?;
    println!("{said}");
    Ok(())
}

pub fn shadow(db: &Path, audit: Option<&Path>, w: Who) -> anyhow::Result<()> {
    changed(db, audit, &w.token, |l, who| {
        let at = l.start_challenger(&id(&w.id)?, None, who)?;
        Ok(format!(
            "{} is the shadow (audit entry {at}); `arbiter serve` scores with it beside the champion",
            w.id
        ))
    })
}

pub fn canary(db: &Path, audit: Option<&Path>, c: CanaryArgs) -> anyhow::Result<()> {
    let bounds = CanaryBounds {
        share: c.share,
        max_override_rate: c.max_override_rate,
        min_reviewed: c.min_reviewed,
        max_automated_overridden: c.max_automated_overridden,
    };
    changed(db, audit, &c.token, |l, who| {
        let at = l.start_challenger(&id(&c.id)?, Some(bounds), who)?;
        Ok(format!("{} is the canary (audit entry {at})", c.id))
    })
}

pub fn promote(db: &Path, audit: Option<&Path>, w: Who) -> anyhow::Result<()> {
    changed(db, audit, &w.token, |l, who| {
        let p = l.promote_model(&id(&w.id)?, who)?;
        Ok(if p.awaiting_second_admin {
            format!(
                "promotion of {} asked (audit entry {}, gate report sha256 {:.12}): a second, \
                 different admin must approve with `arbiter model promote {}`",
                w.id, p.audit_index, p.gate_sha256, w.id
            )
        } else {
            format!(
                "{} is the champion (audit entry {}); {} retired",
                w.id,
                p.audit_index,
                p.retired.map_or("-".into(), |r| r.to_string())
            )
        })
    })
}

pub fn rollback(db: &Path, audit: Option<&Path>, t: Token) -> anyhow::Result<()> {
    changed(db, audit, &t, |l, who| {
        let r = l.rollback_model(who)?;
        Ok(format!(
            "rolled back: {} is the champion again, {} retired (audit entry {})",
            r.champion, r.retired, r.audit_index
        ))
    })
}

pub fn retire(db: &Path, audit: Option<&Path>, r: RetireArgs) -> anyhow::Result<()> {
    changed(db, audit, &r.token, |l, who| {
        let at = l.retire_model(&id(&r.id)?, &r.reason, who)?;
        Ok(format!("{} retired (audit entry {at})", r.id))
    })
}
