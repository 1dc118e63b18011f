//! `arbiter model gate`: every promotion gate of a candidate against a champion, written as
//! markdown and JSON, and with `--record` recorded in the registry (audited) so promotion can
//! find it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arbiter_core::ModelId;
use arbiter_model::Model;
use arbiter_store::{NewGate, SqliteStore};

/// `arbiter model gate`: every promotion gate of a candidate against a champion.
#[derive(clap::Args)]
pub struct GateArgs {
    /// The champion's bundle
    #[arg(long)]
    pub champion: PathBuf,
    /// The candidate's bundle (from `arbiter retrain`)
    #[arg(long)]
    pub candidate: PathBuf,
    /// The regression suite (must-catch and must-not-act rows)
    #[arg(long)]
    pub suite: PathBuf,
    /// The policy the gates decide with (its auto-close α and bands)
    #[arg(long, env = "ARBITER_POLICY", default_value = "policies/default.yaml")]
    pub policy: PathBuf,
    /// Directory for gate-report.json and gate-report.md
    #[arg(long)]
    pub out: PathBuf,
    /// Also record the report in the registry (audited, with its hash): promotion and canary
    /// read the latest recorded report. Both models must be registered
    #[arg(long)]
    pub record: bool,
    /// Who records it: an API token (its person is named in the record); without one the
    /// record names `cli/model`
    #[arg(long, env = "ARBITER_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

pub fn gate(db: &Path, audit: Option<&Path>, a: GateArgs) -> anyhow::Result<bool> {
    let champion = Arc::new(Model::load(&a.champion)?);
    let candidate = Arc::new(Model::load(&a.candidate)?);
    let policy = arbiter_policy::Policy::load(&a.policy)?;
    let store = SqliteStore::open(db)?;
    let report = arbiter_gate::evaluate(
        &champion,
        &candidate,
        &a.candidate,
        &policy,
        &a.suite,
        &store,
    )?;
    std::fs::create_dir_all(&a.out)?;
    std::fs::write(a.out.join("gate-report.json"), report.json())?;
    std::fs::write(a.out.join("gate-report.md"), report.markdown())?;
    print!("{}", report.markdown());
    println!(
        "\ngate report sha256 {} written to {}",
        report.sha256(),
        a.out.display()
    );
    for f in report.failures() {
        println!("blocks promotion: {f}");
    }
    if a.record {
        let mut l = super::ledger(db, audit)?;
        let registered = |m: &Model, what: &str| -> anyhow::Result<ModelId> {
            let id = ModelId::new(&m.id)?;
            anyhow::ensure!(
                l.store().model(&id)?.is_some(),
                "the {what} {id} is not registered: `arbiter model register` it first"
            );
            Ok(id)
        };
        let (cand, champ) = (
            registered(&candidate, "candidate")?,
            registered(&champion, "champion")?,
        );
        let by = super::life::actor(&l, a.token.as_deref())?;
        let index = l.record_gate(NewGate {
            candidate: cand,
            champion: champ,
            passed: report.passed,
            sha256: report.sha256(),
            report: serde_json::from_slice(&report.json())?,
            by,
            at: l.clock().now(),
        })?;
        l.checkpoint()?;
        println!("recorded in the registry as audit entry {index}");
    }
    Ok(report.passed)
}
