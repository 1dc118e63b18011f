//! One PNG per metric over days, every arm on each: the mean over seeds as a line, the
//! bootstrap interval as a band.

use std::path::Path;

use arbiter_eval::{Series, SeriesPoint, series_png};

use super::{ReportError, ReportMeta};
use crate::metrics::{ArmSummary, Summary};

/// A plot of the report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plot {
    pub file: &'static str,
    /// The per-day metric it shows.
    pub metric: &'static str,
    pub title: &'static str,
    pub y_label: &'static str,
    /// Factor from the metric to the y axis (100 for shares shown in percent).
    pub scale: f64,
}

/// The report's plots.
pub const PLOTS: [Plot; 5] = [
    Plot {
        file: "adr.png",
        metric: "adr",
        title: "Automated decision rate per day",
        y_label: "% of alerts finalised without a person",
        scale: 100.0,
    },
    Plot {
        file: "fpoa.png",
        metric: "fpoa_per_1000",
        title: "False-positive operational actions per day",
        y_label: "benign alerts contained per 1,000 alerts",
        scale: 1.0,
    },
    Plot {
        file: "silent_misses.png",
        metric: "silent_misses",
        title: "Silent misses per day",
        y_label: "attacks closed without a person",
        scale: 1.0,
    },
    Plot {
        file: "backlog.png",
        metric: "backlog",
        title: "Backlog at the end of each day",
        y_label: "alerts waiting for a person",
        scale: 1.0,
    },
    Plot {
        file: "ece.png",
        metric: "ece",
        title: "Calibration error per day",
        y_label: "expected calibration error (15 bins)",
        scale: 1.0,
    },
];

pub(super) fn write_plots(
    dir: &Path,
    meta: &ReportMeta,
    summary: &Summary,
) -> Result<(), ReportError> {
    let subtitle = format!(
        "{} · {} seed{} · line: mean over seeds, band: {:.0} % bootstrap interval",
        meta.config,
        meta.seeds.len(),
        if meta.seeds.len() == 1 { "" } else { "s" },
        100.0 * summary.bootstrap.level
    );
    for plot in &PLOTS {
        let series: Vec<Series> = summary
            .arms
            .iter()
            .map(|(arm, s)| series(arm, s, plot))
            .collect();
        series_png(
            &dir.join(plot.file),
            &series,
            plot.title,
            &subtitle,
            plot.y_label,
        )?;
    }
    Ok(())
}

fn series(arm: &str, summary: &ArmSummary, plot: &Plot) -> Series {
    let points = summary
        .per_day
        .iter()
        .enumerate()
        .map(|(day, metrics)| {
            let e = metrics.get(plot.metric).copied().flatten();
            SeriesPoint {
                x: day as f64,
                y: e.map(|e| plot.scale * e.mean),
                band: e.map(|e| (plot.scale * e.lo, plot.scale * e.hi)),
            }
        })
        .collect();
    Series {
        label: arm.to_owned(),
        points,
    }
}
