//! `arbiter score`

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use arbiter_ingest::Source;
use arbiter_model::Model;

use super::{OnErrorArg, report_ingest};
use crate::progress;

#[derive(clap::Args)]
pub struct Args {
    /// Model bundle directory written by `arbiter train`
    #[arg(long)]
    pub model: PathBuf,
    /// Data to score (read with the bundle's schema unless --schema is given)
    #[arg(long)]
    pub data: PathBuf,
    /// Where to write one JSON score per line (`-` for stdout)
    #[arg(long)]
    pub out: PathBuf,
    /// Read the data with this schema instead; its features must match the bundle's
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// Conformal miscoverage level (default: the bundle's)
    #[arg(long)]
    pub alpha: Option<f64>,
    /// Rows scored per batch
    #[arg(long, default_value_t = 8192)]
    pub batch: usize,
    #[arg(long, value_enum, default_value_t)]
    pub on_error: OnErrorArg,
}

/// Checks that a schema presents the same features, in the same order and roles, as the model's.
pub fn compatible(model: &Model, schema: &arbiter_core::Schema) -> anyhow::Result<()> {
    let want: Vec<_> = model.schema.features().map(|f| (&f.name, f.role)).collect();
    let got: Vec<_> = schema.features().map(|f| (&f.name, f.role)).collect();
    anyhow::ensure!(
        want == got,
        "schema {} presents features {:?}, but bundle {} was trained on {:?}",
        schema.id(),
        got.iter().map(|f| f.0).collect::<Vec<_>>(),
        model.id,
        want.iter().map(|f| f.0).collect::<Vec<_>>()
    );
    Ok(())
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let model = Model::load(&args.model)?;
    let schema = match &args.schema {
        Some(p) => {
            let s = super::schema(p)?;
            compatible(&model, &s)?;
            s
        }
        None => model.schema.clone(),
    };
    let alpha = args.alpha.unwrap_or(model.spec.flags.alpha);
    anyhow::ensure!(
        alpha > 0.0 && alpha < 1.0,
        "--alpha {alpha} must lie strictly between 0 and 1"
    );
    if (alpha - model.spec.flags.alpha).abs() > 1e-12 {
        eprintln!(
            "note: conformal sets at α={alpha}; flags and the risk-control table stay at the bundle's α={}",
            model.spec.flags.alpha
        );
    }
    let mut source = Source::open(&schema, &args.data, args.on_error.into())?;
    let mut out: Box<dyn Write> = if args.out.as_os_str() == "-" {
        Box::new(BufWriter::new(std::io::stdout().lock()))
    } else {
        Box::new(BufWriter::new(File::create(&args.out).with_context(
            || format!("cannot create {}", args.out.display()),
        )?))
    };
    let file = args.data.display().to_string();
    let pb = progress::bytes(source.file_len, &format!("scoring {file}"));
    let started = Instant::now();
    let mut rows = 0u64;
    let mut flagged: BTreeMap<String, u64> = BTreeMap::new();
    loop {
        let chunk = source.next_chunk(args.batch.max(1))?;
        if chunk.is_empty() {
            break;
        }
        for s in model.score(&chunk, &file, alpha)? {
            for f in &s.flags {
                *flagged.entry(f.to_string()).or_default() += 1;
            }
            serde_json::to_writer(&mut out, &s)?;
            out.write_all(b"\n")?;
            rows += 1;
        }
        pb.set_position(source.progress.bytes_read());
    }
    out.flush()?;
    pb.finish_and_clear();
    report_ingest(&source.report);
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "scored {rows} rows in {secs:.2}s ({:.0} rows/s) with bundle {}",
        rows as f64 / secs.max(1e-9),
        model.id
    );
    for (f, n) in &flagged {
        eprintln!(
            "  {f}: {n} rows ({:.1}%)",
            100.0 * *n as f64 / rows.max(1) as f64
        );
    }
    Ok(())
}
