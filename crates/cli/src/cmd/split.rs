//! `arbiter split`: stratified, seeded parts of a labelled file, written as raw lines so the
//! same schema reads them.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;
use arbiter_train::split::{check, stratified};

use super::{OnErrorArg, report_ingest};
use crate::progress;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    pub schema: PathBuf,
    /// Labelled data file
    #[arg(long)]
    pub data: PathBuf,
    /// Output directory
    #[arg(long)]
    pub out: PathBuf,
    /// Share of each category in each part, comma-separated; the last part takes the rest
    #[arg(long, value_delimiter = ',', default_values_t = [0.7, 0.3])]
    pub fractions: Vec<f64>,
    /// Part names, comma-separated, one per fraction
    #[arg(long, value_delimiter = ',', default_values_t = ["train".to_string(), "test".to_string()])]
    pub names: Vec<String>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, value_enum, default_value_t)]
    pub on_error: OnErrorArg,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.fractions.len() == args.names.len() && args.fractions.len() >= 2,
        "--fractions ({}) and --names ({}) need the same number of parts, at least two",
        args.fractions.len(),
        args.names.len()
    );
    check(&args.fractions).context("--fractions")?;
    let schema = super::schema(&args.schema)?;
    let data = progress::load(&schema, &args.data, args.on_error.into())?;
    report_ingest(&data.report);
    let cats: Vec<&str> = data
        .records
        .iter()
        .map(|r| r.category.as_deref())
        .collect::<Option<_>>()
        .context("split needs labelled rows: some rows have no label")?;
    let part = stratified(&cats, &args.fractions, args.seed);
    let by_line: HashMap<u64, usize> = data
        .records
        .iter()
        .zip(&part)
        .map(|(r, p)| (r.line, *p))
        .collect();

    let base = super::file_name(&args.data);
    let stem = base
        .trim_end_matches(".gz")
        .trim_end_matches(".xz")
        .trim_end_matches(".zst");
    let ext = stem.rsplit_once('.').map_or("txt", |(_, e)| e);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let mut outs = Vec::new();
    for name in &args.names {
        let path = args.out.join(format!("{name}.{ext}"));
        let f = File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        outs.push((path, BufWriter::new(f), 0u64));
    }
    let reader = BufReader::new(arbiter_ingest::open_text(&args.data)?);
    let header = schema.source.header && schema.source.format == arbiter_core::Format::Csv;
    let mut unrouted = 0u64;
    for (i, line) in reader.split(b'\n').enumerate() {
        let mut line = line.with_context(|| format!("reading {}", args.data.display()))?;
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        let n = i as u64 + 1;
        if header && n == 1 {
            for (_, w, _) in &mut outs {
                w.write_all(&line)?;
                w.write_all(b"\n")?;
            }
            continue;
        }
        match by_line.get(&n) {
            Some(&p) => {
                let (_, w, count) = &mut outs[p];
                w.write_all(&line)?;
                w.write_all(b"\n")?;
                *count += 1;
            }
            None if line.iter().all(u8::is_ascii_whitespace) => {}
            None => unrouted += 1,
        }
    }
    let routed: u64 = outs.iter().map(|o| o.2).sum();
    anyhow::ensure!(
        routed == data.records.len() as u64 && unrouted == data.report.rows_skipped,
        "{} does not hold one record per line (quoted line breaks?), so it cannot be split by line",
        args.data.display()
    );
    for (path, mut w, count) in outs {
        w.flush()?;
        println!("{count} rows → {}", path.display());
    }
    Ok(())
}
