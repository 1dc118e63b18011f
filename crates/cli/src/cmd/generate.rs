//! `arbiter generate`

use std::path::PathBuf;

use arbiter_scenario::Options;

#[derive(clap::Args)]
pub struct Args {
    /// Scenario name (see the list with --list)
    #[arg(long, default_value = "soc-mixed")]
    pub scenario: String,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Output directory (schema.yaml, train.csv, test.csv, README.md)
    #[arg(long, required_unless_present = "list")]
    pub out: Option<PathBuf>,
    #[arg(long)]
    pub train_rows: Option<usize>,
    #[arg(long)]
    pub test_rows: Option<usize>,
    /// Shift benign behaviour in the test file
    #[arg(long)]
    pub drift: bool,
    /// Share of test rows with telemetry gaps (missing process/file features)
    #[arg(long)]
    pub gaps: Option<f64>,
    /// List the scenarios and exit
    #[arg(long)]
    pub list: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if args.list {
        for (name, about) in arbiter_scenario::scenarios() {
            println!("{name:<12} {about}");
        }
        return Ok(());
    }
    let out = args.out.expect("clap requires --out");
    let mut options = Options::default();
    if let Some(n) = args.train_rows {
        options.train_rows = n;
    }
    if let Some(n) = args.test_rows {
        options.test_rows = n;
    }
    if let Some(g) = args.gaps {
        anyhow::ensure!(
            (0.0..=1.0).contains(&g),
            "--gaps {g} must be a share in [0, 1]"
        );
        options.gaps = g;
    }
    options.drift = args.drift;
    let summary = arbiter_scenario::generate(&args.scenario, args.seed, &options, &out)?;
    println!(
        "SYNTHETIC scenario {} (seed {}) written to {}",
        args.scenario,
        args.seed,
        out.display()
    );
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}
