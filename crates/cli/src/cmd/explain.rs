//! `arbiter explain`: one evidence package per row.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use arbiter_explain::{CaseStore, Explaining, render};
use arbiter_ingest::Source;
use arbiter_model::Model;
use clap::ValueEnum;

use super::{OnErrorArg, report_ingest};
use crate::progress;

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum Format {
    /// One JSON evidence package per line
    #[default]
    Json,
    /// Readable text for a terminal
    Text,
}

#[derive(clap::Args)]
pub struct Args {
    /// Model bundle directory
    #[arg(long)]
    pub model: PathBuf,
    /// Alerts to explain (read with the bundle's schema unless --schema is given)
    #[arg(long)]
    pub data: PathBuf,
    /// Where to write the packages (`-` for stdout)
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// Resolved past alerts (labelled, same schema) to find similar cases in
    #[arg(long)]
    pub cases: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Skip the first N rows (they are still read and checked)
    #[arg(long, default_value_t = 0)]
    pub skip: usize,
    /// Explain only N rows (after --skip)
    #[arg(long)]
    pub limit: Option<usize>,
    #[arg(long, default_value_t = 2048)]
    pub batch: usize,
    #[arg(long, value_enum, default_value_t)]
    pub on_error: OnErrorArg,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let model = std::sync::Arc::new(Model::load(&args.model)?);
    let schema = match &args.schema {
        Some(p) => {
            let s = super::schema(p)?;
            super::score::compatible(&model, &s)?;
            s
        }
        None => model.schema.clone(),
    };
    let cases = match &args.cases {
        Some(path) => {
            let data = progress::load(&schema, path, args.on_error.into())?;
            report_ingest(&data.report);
            let name = super::file_name(path);
            let store = CaseStore::new(&model, &name, &path.display().to_string(), &data.records);
            eprintln!("{} resolved past alerts indexed from {name}", store.len());
            Some(store)
        }
        None => None,
    };
    let explaining = Explaining::new(model.clone(), cases)?;
    let mut source = Source::open(&schema, &args.data, args.on_error.into())?;
    let mut out: Box<dyn Write> = if args.out.as_os_str() == "-" {
        Box::new(BufWriter::new(std::io::stdout().lock()))
    } else {
        Box::new(BufWriter::new(File::create(&args.out).with_context(
            || format!("cannot create {}", args.out.display()),
        )?))
    };
    let file = args.data.display().to_string();
    let pb = progress::bytes(source.file_len, &format!("explaining {file}"));
    let started = Instant::now();
    let mut done = 0usize;
    let limit = args.limit.unwrap_or(usize::MAX);
    let mut skipped = 0usize;
    while skipped < args.skip {
        let chunk = source.next_chunk(args.batch.max(1).min(args.skip - skipped))?;
        if chunk.is_empty() {
            break;
        }
        skipped += chunk.len();
    }
    while done < limit {
        let chunk = source.next_chunk(args.batch.max(1).min(limit - done))?;
        if chunk.is_empty() {
            break;
        }
        for p in explaining.explain(&chunk, &file)? {
            match args.format {
                Format::Json => {
                    serde_json::to_writer(&mut out, &p)?;
                    out.write_all(b"\n")?;
                }
                Format::Text => {
                    out.write_all(render::text(&p).as_bytes())?;
                    out.write_all(b"\n")?;
                }
            }
            done += 1;
        }
        pb.set_position(source.progress.bytes_read());
    }
    out.flush()?;
    pb.finish_and_clear();
    report_ingest(&source.report);
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "explained {done} rows in {secs:.2}s ({:.0} packages/s) with bundle {}",
        done as f64 / secs.max(1e-9),
        model.id
    );
    Ok(())
}
