//! `arbiter bench-explain`: TreeSHAP against LightGBM's own `pred_contrib` on the same ensemble
//! and rows in one run, then full evidence packages per second and peak memory. Not a test:
//! numbers depend on the machine, which the report describes.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use arbiter_explain::{Explainer, Explaining};
use arbiter_ingest::{OnError, load};
use arbiter_model::Model;
use arbiter_train::lightgbm_contrib;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::bench::{Machine, first_line_with, kib, machine};
use super::file_name;

#[derive(clap::Args)]
pub struct Args {
    /// Model bundle directory
    #[arg(long)]
    pub model: PathBuf,
    /// Rows to explain (read with the bundle's schema)
    #[arg(long)]
    pub data: PathBuf,
    /// Directory for bench-explain.json and bench-explain.md
    #[arg(long)]
    pub out: PathBuf,
    /// Rows given to the TreeSHAP comparison (LightGBM runs on one thread, so keep it modest)
    #[arg(long, default_value_t = 4000)]
    pub shap_rows: usize,
    /// Timed runs of each TreeSHAP measurement, after one untimed warm-up (the median is
    /// reported)
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
}

#[derive(Serialize)]
struct Timing {
    what: String,
    rows: usize,
    seconds: f64,
    rows_per_second: f64,
    /// Relative to LightGBM's single-thread `pred_contrib` measured in the same run.
    vs_lightgbm: f64,
}

#[derive(Serialize)]
struct Report {
    machine: Machine,
    bundle: String,
    data_file: String,
    members: usize,
    trees_per_member: usize,
    features: usize,
    repeats: usize,
    /// Largest |ours − LightGBM| over every contribution compared.
    max_abs_difference: f64,
    /// Distinct decision words per tree over rows, with all compared rows as one block: the
    /// share of (row, tree) pairs whose contributions had to be computed rather than reused.
    distinct_word_share: f64,
    /// Memory held by the precomputed TreeSHAP tables of all members.
    shap_table_mib: f64,
    shap: Vec<Timing>,
    package_rows: usize,
    /// Every batch computed afresh (no contributions kept across calls): the baseline.
    package_seconds_no_memo: f64,
    packages_per_second_no_memo: f64,
    /// The default: contributions of decision words seen in earlier batches kept and reused.
    package_seconds: f64,
    packages_per_second: f64,
    /// What the memo held at the end.
    memo_mib: f64,
    /// The two passes gave the same packages, byte for byte.
    packages_identical: bool,
    peak_rss_mib: Option<f64>,
}

/// One untimed warm-up run, then the median of `repeats` timed runs, with the last result.
fn timed<T>(repeats: usize, mut f: impl FnMut() -> anyhow::Result<T>) -> anyhow::Result<(T, f64)> {
    let mut out = f()?;
    let mut seconds = Vec::with_capacity(repeats);
    for _ in 0..repeats.max(1) {
        let start = Instant::now();
        out = f()?;
        seconds.push(start.elapsed().as_secs_f64());
    }
    seconds.sort_by(f64::total_cmp);
    Ok((out, seconds[seconds.len() / 2]))
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let model = std::sync::Arc::new(Model::load(&args.model)?);
    let data = load(&model.schema, &args.data, OnError::Fail, &mut |_, _| {})?;
    let records = data.records;
    let n = model.encoder.width();
    let rows = args.shap_rows.min(records.len()).max(1);
    let (x, _) = model.encoder.encode_all(&records[..rows]);
    let texts: Vec<String> = model
        .spec
        .members
        .iter()
        .map(|m| {
            let p = args.model.join(m);
            std::fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))
        })
        .collect::<anyhow::Result<_>>()?;
    let explainers: Vec<Explainer> = model
        .members()
        .iter()
        .cloned()
        .map(Explainer::new)
        .collect();

    eprintln!(
        "TreeSHAP on {rows} rows × {} members: LightGBM pred_contrib, one thread …",
        texts.len()
    );
    let (theirs, lightgbm) = timed(args.repeats, || {
        texts
            .iter()
            .map(|t| lightgbm_contrib(t, &x, n).map_err(anyhow::Error::from))
            .collect::<anyhow::Result<Vec<Vec<f64>>>>()
    })?;
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    eprintln!("… Arbiter, one thread …");
    let (ours, single) = timed(args.repeats, || {
        Ok(one.install(|| {
            explainers
                .iter()
                .map(|e| e.contributions_batch(&x))
                .collect::<Vec<_>>()
        }))
    })?;
    eprintln!("… Arbiter, one thread, one row at a time …");
    let (_, alone) = timed(args.repeats, || {
        one.install(|| {
            for e in &explainers {
                for row in x.chunks(n) {
                    std::hint::black_box(e.contributions(row));
                }
            }
        });
        Ok(())
    })?;
    let threads = rayon::current_num_threads();
    eprintln!("… Arbiter, {threads} threads …");
    let (_, all) = timed(args.repeats, || {
        Ok(explainers
            .iter()
            .map(|e| e.contributions_batch(&x))
            .collect::<Vec<_>>())
    })?;
    let (distinct, total) = explainers.iter().fold((0, 0), |acc, e| {
        let (d, t) = e.sharing(&x);
        (acc.0 + d, acc.1 + t)
    });
    let max_abs_difference = theirs
        .iter()
        .zip(&ours)
        .flat_map(|(a, b)| a.iter().zip(b).map(|(p, q)| (p - q).abs()))
        .fold(0.0, f64::max);

    eprintln!(
        "full evidence packages on all {} rows, {threads} threads …",
        records.len()
    );
    let file = args.data.display().to_string();
    // The same rows twice in one run: without the memo (the baseline), then with a fresh one
    // that fills as the batches go by. Each pass hashes its packages to show they agree.
    let pass = |memo: usize| -> anyhow::Result<(usize, f64, usize, Vec<u8>)> {
        let explaining = Explaining::with_memo(model.clone(), None, memo)?;
        let mut hash = Sha256::new();
        let start = Instant::now();
        let mut packages = 0;
        for chunk in records.chunks(2048) {
            let out = explaining.explain(chunk, &file)?;
            packages += out.len();
            for p in &out {
                hash.update(serde_json::to_vec(p)?);
            }
        }
        let seconds = start.elapsed().as_secs_f64();
        Ok((
            packages,
            seconds,
            explaining.memo_bytes(),
            hash.finalize().to_vec(),
        ))
    };
    let (packages, package_seconds_no_memo, _, plain) = pass(0)?;
    let (_, package_seconds, memo_bytes, memoised) = pass(arbiter_explain::package::MEMO_BYTES)?;

    let timing = |what: String, seconds: f64| Timing {
        what,
        rows,
        seconds,
        rows_per_second: rows as f64 / seconds,
        vs_lightgbm: lightgbm / seconds,
    };
    let report = Report {
        machine: machine(),
        bundle: model.id.clone(),
        data_file: file_name(&args.data),
        members: explainers.len(),
        trees_per_member: model.members().first().map_or(0, |f| f.trees.len()),
        features: n,
        repeats: args.repeats,
        max_abs_difference,
        distinct_word_share: distinct as f64 / total.max(1) as f64,
        shap_table_mib: explainers.iter().map(|e| e.table_bytes()).sum::<usize>() as f64
            / 1048576.0,
        shap: vec![
            timing(
                "LightGBM pred_contrib, one thread (the baseline)".into(),
                lightgbm,
            ),
            timing(
                "Arbiter TreeSHAP, one thread, one row at a time (nothing shared between rows)"
                    .into(),
                alone,
            ),
            timing(
                "Arbiter TreeSHAP, one thread, the rows as one batch".into(),
                single,
            ),
            timing(
                format!("Arbiter TreeSHAP, {threads} threads, the rows as one batch"),
                all,
            ),
        ],
        package_rows: packages,
        package_seconds_no_memo,
        packages_per_second_no_memo: packages as f64 / package_seconds_no_memo,
        package_seconds,
        packages_per_second: packages as f64 / package_seconds,
        memo_mib: memo_bytes as f64 / 1048576.0,
        packages_identical: plain == memoised,
        peak_rss_mib: kib(first_line_with("/proc/self/status", "VmHWM")).map(|k| k / 1024.0),
    };
    write(&report, &args.out)?;
    print!("{}", markdown(&report));
    Ok(())
}

fn markdown(r: &Report) -> String {
    let mut s = format!(
        "# Benchmark: explanations\n\n\
         {}\n\n\
         Bundle `{}`: {} members × {} trees over {} features.\n\n\
         ## Exact TreeSHAP for every member, {} rows of {}\n\n\
         Both sides compute the same values (largest difference over all {} contributions \
         compared: {:.1e}); each the median of {} timed runs after one warm-up, LightGBM first.\n\n\
         | what | seconds | rows/s | × LightGBM |\n|---|---:|---:|---:|\n",
        r.machine.line(),
        r.bundle,
        r.members,
        r.trees_per_member,
        r.features,
        r.shap.first().map_or(0, |t| t.rows),
        r.data_file,
        r.shap.first().map_or(0, |t| t.rows) * r.members * (r.features + 1),
        r.max_abs_difference,
        r.repeats,
    );
    for t in &r.shap {
        s.push_str(&format!(
            "| {} | {:.3} | {:.0} | {:.1} |\n",
            t.what, t.seconds, t.rows_per_second, t.vs_lightgbm
        ));
    }
    s.push_str(&format!(
        "\nArbiter computes a tree's contributions once per distinct decision word (the row's \
         branch at every node) in a block of rows and reuses them for rows that share it; over \
         these rows {:.1} % of (row, tree) pairs needed their own computation. Precomputed \
         TreeSHAP tables: {:.1} MiB.\n\n\
         ## Full evidence packages\n\n\
         {} rows of {} (score, member and head TreeSHAP, drivers, hypotheses, stability, \
         counterfactual search, falsification, provenance; no case store; batches of 2048), the \
         same rows twice in this run, one timed pass each:\n\n\
         | pass | seconds | packages/s | ratio |\n|---|---:|---:|---:|\n\
         | every batch computed afresh (the baseline) | {:.2} | {:.0} | 1.00 |\n\
         | TreeSHAP contributions of decision words seen before kept across batches (the default; fresh at the start of the pass, {:.1} MiB at its end) | {:.2} | **{:.0}** | {:.2} |\n\n\
         The two passes' packages are {}.\n",
        100.0 * r.distinct_word_share,
        r.shap_table_mib,
        r.package_rows,
        r.data_file,
        r.package_seconds_no_memo,
        r.packages_per_second_no_memo,
        r.memo_mib,
        r.package_seconds,
        r.packages_per_second,
        r.package_seconds_no_memo / r.package_seconds,
        if r.packages_identical {
            "identical, byte for byte (SHA-256 over their JSON)"
        } else {
            "NOT identical"
        }
    ));
    if let Some(mib) = r.peak_rss_mib {
        s.push_str(&format!(
            "\nPeak resident memory of the whole run: {mib:.0} MiB.\n"
        ));
    }
    s
}

fn write(r: &Report, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::write(
        dir.join("bench-explain.json"),
        serde_json::to_string_pretty(r)? + "\n",
    )?;
    std::fs::write(dir.join("bench-explain.md"), markdown(r))?;
    Ok(())
}
