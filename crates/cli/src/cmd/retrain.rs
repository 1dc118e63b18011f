//! `arbiter retrain`: a candidate bundle from the champion and the screened teaching set.
//! It only writes a directory; registering, gating and promoting it are separate steps
//! (`arbiter model register|gate|promote`), so no retraining ever changes what is in force.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use arbiter_model::Model;
use arbiter_retrain::{RetrainOptions, retrain};
use arbiter_store::{SqliteStore, StoreRead};
use arbiter_train::{InputFile, bundle};

use super::{OnErrorArg, file_name, report_ingest};
use crate::progress;

#[derive(clap::Args)]
pub struct Args {
    /// The champion's bundle: its options, schema and screen are reused
    #[arg(long = "from")]
    pub champion: PathBuf,
    /// The store holding the teaching set
    #[arg(long, env = "ARBITER_DB", default_value = "out/arbiter.db")]
    pub db: PathBuf,
    /// The champion's own training files (checked against its bundle by SHA-256)
    #[arg(long, required = true, num_args = 1..)]
    pub data: Vec<PathBuf>,
    /// Directory for the candidate bundle
    #[arg(long)]
    pub out: PathBuf,
    /// The policy whose `teaching.high_impact` families need a second reviewer
    #[arg(long, env = "ARBITER_POLICY", default_value = "policies/default.yaml")]
    pub policy: PathBuf,
    /// Seed (default: the champion's)
    #[arg(long)]
    pub seed: Option<u64>,
    /// Share of the accepted examples, newest, held back for the non-inferiority gate
    #[arg(long, default_value_t = 0.2)]
    pub recent: f64,
    /// Override the champion's ensemble size (quicker rehearsals)
    #[arg(long)]
    pub members: Option<usize>,
    /// Override the champion's boosting rounds
    #[arg(long)]
    pub iterations: Option<usize>,
    #[arg(long, value_enum, default_value_t)]
    pub on_error: OnErrorArg,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let champion = Model::load(&a.champion)?;
    let policy = arbiter_policy::Policy::load(&a.policy)?;
    let store = SqliteStore::open(&a.db)?;
    let rows = store.examples(0, 0)?;
    let schemas: BTreeMap<String, String> = store
        .models()?
        .into_iter()
        .map(|m| (m.id.to_string(), m.schema))
        .collect();
    let mut base = Vec::new();
    for path in &a.data {
        let data = progress::load(&champion.schema, path, a.on_error.into())?;
        report_ingest(&data.report);
        base.push(InputFile {
            name: file_name(path),
            sha256: arbiter_ingest::file_sha256(path)?,
            data,
            weights: None,
        });
    }
    let opts = RetrainOptions {
        seed: a.seed,
        recent: a.recent,
        screen: arbiter_learn::Screen {
            high_impact: policy.high_impact_families().to_vec(),
            ..arbiter_learn::Screen::default()
        },
        members: a.members,
        iterations: a.iterations,
        ..RetrainOptions::default()
    };
    let stages = progress::Stages::new();
    let schema_of = |r: &arbiter_store::ExampleRow| {
        r.example
            .model
            .as_ref()
            .and_then(|m| schemas.get(m.as_str()).cloned())
    };
    let out =
        retrain(&champion, base, &rows, &schema_of, &opts, &stages).context("retraining failed")?;
    stages.finish();
    let id = bundle::write(&a.out, &out.trained.files)?;
    let c = &out.changes;
    println!(
        "candidate {id} written to {} ({:.0} s), retrained from {}",
        a.out.display(),
        started.elapsed().as_secs_f64(),
        c.champion
    );
    print!("{}", c.markdown());
    println!(
        "\nnext: `arbiter model register {}`, then `arbiter model gate` against the champion",
        a.out.display()
    );
    Ok(())
}
