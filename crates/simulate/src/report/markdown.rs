//! `report.md`: the header, the overall table, the targets, time to adapt, ADR and FPOA per day,
//! the plots and the definitions.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::ReportMeta;
use super::plots::PLOTS;
use super::targets::{Check, Source, TargetCheck, check_targets};
use crate::metrics::{Estimate, SCALARS, Summary, definitions};

/// How a metric is printed: shares in percent, the rest in their own unit.
#[derive(Clone, Copy)]
enum Unit {
    Share,
    PerThousand,
    Days,
    Minutes,
    Ece,
    Count,
}

fn unit(metric: &str) -> Unit {
    match metric {
        "adr" | "hiy" | "silent_miss_share" => Unit::Share,
        "fpoa_per_1000" => Unit::PerThousand,
        "tta" => Unit::Days,
        "ttd_p50_min" | "ttd_p90_min" => Unit::Minutes,
        "ece" => Unit::Ece,
        _ => Unit::Count,
    }
}

/// A number in the metric's unit, without the unit's name.
fn number(metric: &str, v: f64) -> String {
    match unit(metric) {
        Unit::Share => format!("{:.2}", 100.0 * v),
        Unit::PerThousand => format!("{v:.2}"),
        Unit::Ece => format!("{v:.4}"),
        Unit::Days | Unit::Minutes | Unit::Count => format!("{v:.1}"),
    }
}

/// The unit's name as a column or row label says it.
fn unit_label(metric: &str) -> &'static str {
    match unit(metric) {
        Unit::Share => " (%)",
        Unit::PerThousand => " (per 1,000 alerts)",
        Unit::Days => " (days)",
        Unit::Minutes => " (minutes)",
        Unit::Ece | Unit::Count => "",
    }
}

/// A value with its unit (`92.31 %`, `3.20 per 1,000`).
fn quantity(metric: &str, v: f64) -> String {
    let n = number(metric, v);
    match unit(metric) {
        Unit::Share => format!("{n} %"),
        Unit::PerThousand => format!("{n} per 1,000"),
        Unit::Days => format!("{n} days"),
        Unit::Minutes => format!("{n} min"),
        Unit::Ece | Unit::Count => n,
    }
}

/// A distance in the metric's unit (shares in percentage points).
fn distance(metric: &str, v: f64) -> String {
    match unit(metric) {
        Unit::Share => format!("{} pp", number(metric, v)),
        _ => quantity(metric, v),
    }
}

fn estimate(metric: &str, e: Option<Estimate>) -> String {
    e.map_or("n/a".to_owned(), |e| {
        format!(
            "{} [{}, {}]",
            number(metric, e.mean),
            number(metric, e.lo),
            number(metric, e.hi)
        )
    })
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// Groups a count in thousands (`10,000`).
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Renders `report.md`.
pub fn markdown(meta: &ReportMeta, summary: &Summary) -> String {
    let mut s = String::new();
    header(&mut s, meta, summary);
    overall(&mut s, summary);
    targets(&mut s, &check_targets(summary));
    adaptation(&mut s, summary);
    for metric in ["adr", "fpoa_per_1000"] {
        per_day(&mut s, summary, metric);
    }
    let _ = writeln!(s, "## Plots\n");
    for plot in &PLOTS {
        let _ = writeln!(s, "![{}]({})\n", plot.title, plot.file);
    }
    let _ = writeln!(s, "## Definitions\n");
    for (name, sentence) in definitions() {
        let _ = writeln!(s, "- `{name}`: {sentence}");
    }
    s
}

fn header(s: &mut String, meta: &ReportMeta, summary: &Summary) {
    let seeds: Vec<String> = meta.seeds.iter().map(u64::to_string).collect();
    let b = &summary.bootstrap;
    let _ = writeln!(s, "# {}\n", meta.title);
    if !meta.description.is_empty() {
        let _ = writeln!(s, "{}\n", meta.description.trim_end());
    }
    let _ = writeln!(
        s,
        "| | |\n|---|---|\n| configuration | `{}` |\n| seeds | {} ({}) |\n| days | {} |\n\
         | alerts per seed | {} |\n| command | `{}` |\n",
        cell(&meta.config),
        cell(&seeds.join(", ")),
        seeds.len(),
        meta.days,
        thousands(meta.alerts_per_seed),
        cell(&meta.command)
    );
    let _ = writeln!(
        s,
        "Every cell is the mean over seeds with its {:.0} % interval [lo, hi]: {} \
         ({} resamples, ChaCha8 seed {}). Days count from 0, the run's first day.\n",
        100.0 * b.level,
        b.method,
        thousands(b.resamples as u64),
        b.seed
    );
}

fn arm_columns(s: &mut String, first: &str, summary: &Summary) {
    let arms: Vec<String> = summary.arms.keys().map(|a| cell(a)).collect();
    let _ = writeln!(s, "| {first} | {} |", arms.join(" | "));
    let _ = writeln!(s, "|---|{}", "---:|".repeat(arms.len()));
}

fn overall(s: &mut String, summary: &Summary) {
    let _ = writeln!(s, "## Overall\n");
    arm_columns(s, "metric", summary);
    for metric in SCALARS {
        let cells: Vec<String> = summary
            .arms
            .values()
            .map(|a| estimate(metric, a.overall.get(metric).copied().flatten()))
            .collect();
        let _ = writeln!(
            s,
            "| `{metric}`{} | {} |",
            unit_label(metric),
            cells.join(" | ")
        );
    }
    s.push('\n');
}

/// One check's verdict: `met, 1.29 per 1,000 to spare`; with `bare`, without the leading
/// word the target's overall verdict already says (`1.29 per 1,000 to spare`).
fn verdict(check: &Check, bare: bool) -> String {
    let (word, detail) = match check.met {
        None => ("no data", None),
        Some(true) => (
            "met",
            Some(format!(
                "{} to spare",
                distance(check.metric, check.margin.unwrap_or(0.0))
            )),
        ),
        Some(false) => match check.margin {
            Some(m) if m < 0.0 => ("missed", Some(format!("by {}", distance(check.metric, -m)))),
            _ => ("missed", None),
        },
    };
    let what = match (bare, detail) {
        (true, Some(d)) => d,
        (true, None) => String::new(),
        (false, Some(d)) if check.met == Some(true) => format!("{word}, {d}"),
        (false, Some(d)) => format!("{word} {d}"),
        (false, None) => word.to_owned(),
    };
    match (&check.note, what.is_empty()) {
        (Some(note), true) => note.clone(),
        (Some(note), false) => format!("{what} ({note})"),
        (None, _) => what,
    }
}

fn targets(s: &mut String, checks: &[TargetCheck]) {
    let _ = writeln!(
        s,
        "## Field-study anchors and stretch targets\n\n\
         Verdicts compare the overall mean over seeds with the bound.\n\n\
         | target | source | arm | value | verdict |\n|---|---|---|---:|---|"
    );
    for t in checks {
        let source = match t.source {
            Source::FieldStudy => "field study",
            Source::Stretch => "stretch",
        };
        let values: Vec<String> = t
            .checks
            .iter()
            .map(|c| c.value.map_or("n/a".to_owned(), |v| quantity(c.metric, v)))
            .collect();
        let verdicts: Vec<String> = t
            .checks
            .iter()
            .map(|c| {
                if t.checks.len() > 1 {
                    format!("`{}` {}", c.metric, verdict(c, false))
                } else {
                    verdict(c, true)
                }
            })
            .collect();
        let overall = match t.met {
            Some(true) => "**met**",
            Some(false) => "**missed**",
            None => "**no data**",
        };
        let detail = verdicts.join("; ");
        let verdict = if detail.is_empty() {
            overall.to_owned()
        } else {
            format!("{overall}: {detail}")
        };
        let _ = writeln!(
            s,
            "| {} | {source} | {} | {} | {} |",
            t.statement,
            cell(&t.arm),
            values.join("; "),
            cell(&verdict)
        );
    }
    s.push('\n');
}

fn adaptation(s: &mut String, summary: &Summary) {
    let _ = writeln!(
        s,
        "## Time to adapt to novel families\n\n\
         | family | arm | adapted in | mean days (over the runs that adapted) |\n|---|---|---:|---:|"
    );
    let mut rows: BTreeMap<(&str, &str), String> = BTreeMap::new();
    for (arm, a) in &summary.arms {
        for (family, t) in &a.tta {
            let mean = t.mean_days.map_or("n/a".to_owned(), |d| format!("{d:.1}"));
            rows.insert(
                (family, arm),
                format!("{} of {} seeds | {mean}", t.reached, t.of),
            );
        }
    }
    if rows.is_empty() {
        let _ = writeln!(s, "| (no novel family appeared) | | | |");
    }
    for ((family, arm), row) in rows {
        let _ = writeln!(s, "| {} | {} | {row} |", cell(family), cell(arm));
    }
    s.push('\n');
}

fn per_day(s: &mut String, summary: &Summary, metric: &str) {
    let _ = writeln!(s, "## `{metric}`{} per day\n", unit_label(metric));
    arm_columns(s, "day", summary);
    let days = summary
        .arms
        .values()
        .map(|a| a.per_day.len())
        .max()
        .unwrap_or(0);
    for day in 0..days {
        let cells: Vec<String> = summary
            .arms
            .values()
            .map(|a| {
                estimate(
                    metric,
                    a.per_day
                        .get(day)
                        .and_then(|m| m.get(metric))
                        .copied()
                        .flatten(),
                )
            })
            .collect();
        let _ = writeln!(s, "| {day} | {} |", cells.join(" | "));
    }
    s.push('\n');
}

#[cfg(test)]
mod tests {
    use super::{distance, quantity, thousands};

    #[test]
    fn counts_are_grouped_in_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn shares_print_in_percent_and_their_margins_in_points() {
        assert_eq!(quantity("adr", 0.9231), "92.31 %");
        assert_eq!(distance("adr", 0.025), "2.50 pp");
        assert_eq!(quantity("fpoa_per_1000", 3.2), "3.20 per 1,000");
        assert_eq!(quantity("tta", 3.0), "3.0 days");
    }
}
