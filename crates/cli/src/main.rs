//! `arbiter`: calibrated, explained, policy-gated decisions for SOC alerts.
//!
//! A thin front over the libraries: parse arguments, call, print. Errors print their whole
//! chain and exit with code 1 (usage errors exit with 2, from clap).

mod cmd;
mod progress;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "arbiter", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a labelled SYNTHETIC scenario (events plus the schema to read them)
    Generate(cmd::generate::Args),
    /// Split a labelled file into stratified, seeded parts (e.g. train/test)
    Split(cmd::split::Args),
    /// Train a calibrated ensemble with conformal sets, OOD detector and risk-control table
    Train(cmd::train::Args),
    /// Retrain a candidate from the champion, its base data and the screened teaching set
    Retrain(cmd::retrain::Args),
    /// Score rows with a model bundle, writing one JSON score per line
    Score(cmd::score::Args),
    /// Explain rows: one evidence package per alert (JSON, or text for a terminal)
    Explain(cmd::explain::Args),
    /// Ingest, score, explain, decide by policy, audit and store alerts
    Triage(cmd::triage::Args),
    /// Serve the HTTP API and the analyst console
    Serve(cmd::serve::Args),
    /// Create, list or revoke API tokens
    Token(cmd::token::Args),
    /// Register, list or activate model bundles (the registry)
    Model(cmd::model::Args),
    /// The teaching set: import incident-ticket labels, list examples with their provenance
    Teach(cmd::teach::Args),
    /// Replay days of SOC traffic with drift, faults, floods and simulated analysts
    Simulate(cmd::simulate::Args),
    /// Check a policy file or run its embedded tests
    Policy(cmd::policy::Args),
    /// Verify the audit log, prove entries, query what was decided about an entity
    Audit(cmd::audit::Args),
    /// Evaluate a bundle on labelled test data: metrics, plots and the auto-close table
    Eval(cmd::eval::Args),
    /// Generate a scenario, train, score and evaluate it, and print the auto-close table
    Demo(cmd::demo::Args),
    /// Measure training time and scoring throughput against a single-model baseline
    Bench(cmd::bench::Args),
    /// Measure TreeSHAP against LightGBM's pred_contrib, evidence packages/s and peak memory
    BenchExplain(cmd::bench_explain::Args),
    /// Measure audit append rate (with and without fsync batching), verify and query time
    BenchAudit(cmd::bench_audit::Args),
    /// Measure HTTP ingest rate and single-alert ingest-to-decision latency on loopback
    BenchServe(cmd::bench_serve::Args),
    /// Measure how long a promotion and a rollback take to be in force in a running server
    BenchLifecycle(cmd::bench_lifecycle::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Generate(a) => cmd::generate::run(a),
        Command::Split(a) => cmd::split::run(a),
        Command::Train(a) => cmd::train::run(a),
        Command::Retrain(a) => cmd::retrain::run(a),
        Command::Score(a) => cmd::score::run(a),
        Command::Explain(a) => cmd::explain::run(a),
        Command::Triage(a) => cmd::triage::run(a),
        Command::Serve(a) => cmd::serve::run(a),
        Command::Token(a) => cmd::token::run(a),
        Command::Model(a) => cmd::model::run(a),
        Command::Teach(a) => cmd::teach::run(a),
        Command::Simulate(a) => cmd::simulate::run(a),
        Command::Policy(a) => cmd::policy::run(a),
        Command::Audit(a) => cmd::audit::run(a),
        Command::Eval(a) => cmd::eval::run(a),
        Command::Demo(a) => cmd::demo::run(a),
        Command::Bench(a) => cmd::bench::run(a),
        Command::BenchExplain(a) => cmd::bench_explain::run(a),
        Command::BenchAudit(a) => cmd::bench_audit::run(a),
        Command::BenchServe(a) => cmd::bench_serve::run(a),
        Command::BenchLifecycle(a) => cmd::bench_lifecycle::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
