//! `arbiter policy check|test`: validate a policy file and run its embedded test cases.

use std::path::PathBuf;

use arbiter_policy::{Policy, run_tests};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// Parse and validate a policy file; errors name the file and line
    Check { policy: PathBuf },
    /// Run the policy file's embedded `tests:` cases
    Test { policy: PathBuf },
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Check { policy } => {
            let p = Policy::load(&policy)?;
            println!("{}: {}", policy.display(), p.summary());
        }
        Command::Test { policy } => {
            let p = Policy::load(&policy)?;
            let report = run_tests(&p);
            println!("{report}");
            if !report.passed() {
                anyhow::bail!(
                    "{}: {} of {} policy tests failed",
                    policy.display(),
                    report.failed(),
                    report.total()
                );
            }
        }
    }
    Ok(())
}
