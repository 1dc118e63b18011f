//! PNG plots: reliability diagrams and risk–coverage curves.
//!
//! Both plots are 800×600 with a header (title, subtitle, legend) above the
//! plotting area, so the legend never covers data.

mod font;
mod header;
mod series;

use std::fmt::Display;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use arbiter_core::stats::{ReliabilityBin, RiskCoveragePoint};

use crate::EvalError;
use font::FAMILY;
use header::{LegendEntry, draw_header};
pub use series::{Series, SeriesPoint, series_png};

/// Width of every plot, in pixels.
const WIDTH: u32 = 800;
/// Height of every plot, in pixels.
const HEIGHT: u32 = 600;
/// Space for y tick labels and the rotated y-axis description.
const Y_LABEL_AREA: u32 = 72;
/// Gap between the plotting area and the right edge.
const RIGHT_MARGIN: u32 = 28;
/// Risk–coverage points below this coverage do not influence the y range.
const NOISY_COVERAGE: f64 = 0.01;

/// Tableau-10: distinct, colour-blind friendlier than plotters' primaries.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
const DIAGONAL: RGBColor = RGBColor(120, 120, 120);
const BARS: RGBColor = RGBColor(158, 202, 225);
const MUTED_TEXT: RGBColor = RGBColor(80, 80, 80);

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;
type DrawResult<T> =
    Result<T, DrawingAreaErrorKind<<BitMapBackend<'static> as DrawingBackend>::ErrorType>>;

/// Draws a reliability diagram to `path` (PNG, 800×600).
///
/// The upper panel shows the dashed "perfect calibration" diagonal and the
/// observed positive fraction against the mean predicted probability of
/// every non-empty bin (markers joined by a line); the lower panel is a bar
/// chart of how many predictions fall into each bin.
///
/// # Errors
/// [`EvalError::NoFont`] (or another font error) when no font can be
/// loaded, [`EvalError::Plot`] when drawing or writing the file fails.
pub fn reliability_png(
    path: &Path,
    bins: &[ReliabilityBin],
    title: &str,
    subtitle: &str,
) -> Result<(), EvalError> {
    font::ensure_font()?;
    let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    draw_reliability(&root, bins, title, subtitle)
        .and_then(|()| root.present())
        .map_err(plot_error(path))
}

/// Draws risk–coverage curves to `path` (PNG, 800×600), one coloured line
/// per named curve, with a legend above the plot.
///
/// The x axis is coverage from 0 to 1. The y axis runs from 0 to 1.1 × the
/// largest risk seen at coverage ≥ 1% (capped at 1): the first percent of
/// a curve averages over few alerts and can spike; if it leaves the plot,
/// it is clipped at the top edge and a note says so.
///
/// # Errors
/// [`EvalError::NoFont`] (or another font error) when no font can be
/// loaded, [`EvalError::Plot`] when drawing or writing the file fails.
pub fn risk_coverage_png(
    path: &Path,
    curves: &[(&str, &[RiskCoveragePoint])],
    title: &str,
    subtitle: &str,
) -> Result<(), EvalError> {
    font::ensure_font()?;
    let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    draw_risk_coverage(&root, curves, title, subtitle)
        .and_then(|()| root.present())
        .map_err(plot_error(path))
}

fn plot_error<E: Display>(path: &Path) -> impl Fn(E) -> EvalError + '_ {
    move |e| EvalError::Plot {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

fn draw_reliability(
    root: &Area<'_>,
    bins: &[ReliabilityBin],
    title: &str,
    subtitle: &str,
) -> DrawResult<()> {
    root.fill(&WHITE)?;
    let observed = PALETTE[0];
    let legend = [
        LegendEntry::dashed("perfect calibration", DIAGONAL),
        LegendEntry::marked("observed (per bin)", observed),
        LegendEntry::bar("predictions per bin (lower panel)", BARS),
    ];
    let header = draw_header(root, title, subtitle, &legend, None)?;
    let (_, body) = root.split_vertically(header);
    let main_height = body.dim_in_pixel().1 * 7 / 10;
    let (main, hist) = body.split_vertically(main_height);

    let mut chart = ChartBuilder::on(&main)
        .margin_right(RIGHT_MARGIN)
        .margin_top(4)
        .x_label_area_size(6)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(0f64..1f64, 0f64..1f64)?;
    chart
        .configure_mesh()
        .x_labels(11)
        .y_labels(11)
        .x_label_formatter(&|_| String::new())
        .y_label_formatter(&|v| format!("{v:.1}"))
        .y_desc("observed frequency")
        .label_style((FAMILY, 13))
        .axis_desc_style((FAMILY, 15))
        .light_line_style(WHITE)
        .draw()?;
    chart.draw_series(DashedLineSeries::new(
        [(0.0, 0.0), (1.0, 1.0)],
        8,
        5,
        DIAGONAL.stroke_width(2),
    ))?;
    let points: Vec<(f64, f64)> = bins
        .iter()
        .filter(|b| b.count > 0 && b.mean_p.is_finite() && b.frac_positive.is_finite())
        .map(|b| (b.mean_p, b.frac_positive))
        .collect();
    chart.draw_series(segments(&points, observed))?;
    chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, observed.filled())))?;

    let max_count = bins.iter().map(|b| b.count).max().unwrap_or(0);
    let count_top = if max_count == 0 {
        1.0
    } else {
        max_count as f64 * 1.15
    };
    let mut counts = ChartBuilder::on(&hist)
        .margin_right(RIGHT_MARGIN)
        .margin_top(8)
        .x_label_area_size(48)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(0f64..1f64, 0f64..count_top)?;
    counts
        .configure_mesh()
        .x_labels(11)
        .y_labels(3)
        .x_label_formatter(&|v| format!("{v:.1}"))
        .y_label_formatter(&|v| compact_count(*v))
        .x_desc("predicted probability")
        .y_desc("count")
        .label_style((FAMILY, 13))
        .axis_desc_style((FAMILY, 15))
        .light_line_style(WHITE)
        .draw()?;
    counts.draw_series(
        bins.iter()
            .filter(|b| b.count > 0)
            .map(|b| Rectangle::new([(b.lo, 0.0), (b.hi, b.count as f64)], BARS.filled())),
    )?;
    counts.draw_series(
        bins.iter()
            .filter(|b| b.count > 0)
            .map(|b| Rectangle::new([(b.lo, 0.0), (b.hi, b.count as f64)], WHITE.stroke_width(1))),
    )?;
    Ok(())
}

fn draw_risk_coverage(
    root: &Area<'_>,
    curves: &[(&str, &[RiskCoveragePoint])],
    title: &str,
    subtitle: &str,
) -> DrawResult<()> {
    root.fill(&WHITE)?;
    let y_max = risk_axis_max(curves);
    let clipped = curves
        .iter()
        .flat_map(|(_, c)| c.iter())
        .any(|p| p.risk > y_max);
    let legend: Vec<LegendEntry> = curves
        .iter()
        .enumerate()
        .map(|(i, (name, _))| LegendEntry::line(name, PALETTE[i % PALETTE.len()]))
        .collect();
    let note = clipped.then_some("the first 1% of coverage goes above the plot and is cut off");
    let header = draw_header(root, title, subtitle, &legend, note)?;
    let (_, body) = root.split_vertically(header);

    let mut chart = ChartBuilder::on(&body)
        .margin_right(RIGHT_MARGIN)
        .margin_top(4)
        .x_label_area_size(48)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(0f64..1f64, 0f64..y_max)?;
    let decimals = tick_decimals(y_max);
    chart
        .configure_mesh()
        .x_labels(11)
        .y_labels(10)
        .x_label_formatter(&|v| format!("{v:.1}"))
        .y_label_formatter(&|v| format!("{v:.decimals$}"))
        .x_desc("coverage (fraction of alerts auto-closed)")
        .y_desc("risk (attack fraction among auto-closed)")
        .label_style((FAMILY, 13))
        .axis_desc_style((FAMILY, 15))
        .max_light_lines(1)
        .light_line_style(RGBColor(238, 238, 238))
        .draw()?;
    for (i, (_, curve)) in curves.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let points: Vec<(f64, f64)> = curve
            .iter()
            .filter(|p| p.coverage.is_finite() && p.risk.is_finite())
            .map(|p| (p.coverage, p.risk))
            .collect();
        for run in clip_above(&points, y_max) {
            if let [single] = run.as_slice() {
                chart.draw_series(std::iter::once(Circle::new(*single, 3, color.filled())))?;
            } else {
                chart.draw_series(segments(&run, color))?;
            }
        }
    }
    Ok(())
}

/// A 2-pixel polyline as separate segments. Plotters joins the segments
/// of one thick path with miter joins, which shoot far past the data at
/// the sharp turns of a noisy curve (even out of the plotting area).
fn segments(
    points: &[(f64, f64)],
    color: RGBColor,
) -> impl Iterator<Item = PathElement<(f64, f64)>> + '_ {
    points
        .windows(2)
        .map(move |w| PathElement::new(vec![w[0], w[1]], color.stroke_width(2)))
}

/// Top of the risk axis: 1.1 × the largest risk at coverage ≥ 1% (all
/// points if none qualify), capped at 1; 1 when there is no positive risk.
fn risk_axis_max(curves: &[(&str, &[RiskCoveragePoint])]) -> f64 {
    let finite = || {
        curves
            .iter()
            .flat_map(|(_, c)| c.iter())
            .filter(|p| p.risk.is_finite() && p.coverage.is_finite())
    };
    let settled = finite()
        .filter(|p| p.coverage >= NOISY_COVERAGE)
        .map(|p| p.risk)
        .fold(f64::NEG_INFINITY, f64::max);
    let peak = if settled.is_finite() {
        settled
    } else {
        finite().map(|p| p.risk).fold(f64::NEG_INFINITY, f64::max)
    };
    if peak.is_finite() && peak > 0.0 {
        (peak * 1.1).min(1.0)
    } else {
        1.0
    }
}

/// Splits a polyline into the runs that stay at or below `y_max`, adding
/// the points where it crosses `y_max` so clipped lines end at the edge.
fn clip_above(points: &[(f64, f64)], y_max: f64) -> Vec<Vec<(f64, f64)>> {
    let mut runs = Vec::new();
    let mut current = Vec::new();
    for (i, &p) in points.iter().enumerate() {
        if let Some(&q) = i.checked_sub(1).and_then(|j| points.get(j)) {
            let (q_in, p_in) = (q.1 <= y_max, p.1 <= y_max);
            if q_in != p_in {
                let t = (y_max - q.1) / (p.1 - q.1);
                current.push((q.0 + t * (p.0 - q.0), y_max));
                if q_in {
                    runs.push(std::mem::take(&mut current));
                }
            }
        }
        if p.1 <= y_max {
            current.push(p);
        }
    }
    if !current.is_empty() {
        runs.push(current);
    }
    runs
}

/// Decimals needed to tell apart ticks on an axis from 0 to `top` with
/// about ten ticks (at least one, at most six).
fn tick_decimals(top: f64) -> usize {
    let step = top / 10.0;
    if step.is_finite() && step > 0.0 {
        (-step.log10().floor()).clamp(1.0, 6.0) as usize
    } else {
        2
    }
}

/// Formats a non-negative count axis value compactly (`950`, `12k`, `3.5M`).
fn compact_count(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if v >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::{clip_above, compact_count, tick_decimals};

    #[test]
    fn a_polyline_that_rises_above_the_limit_is_cut_at_the_crossing() {
        let runs = clip_above(&[(0.0, 0.0), (1.0, 2.0), (2.0, 0.0)], 1.0);
        assert_eq!(
            runs,
            vec![vec![(0.0, 0.0), (0.5, 1.0)], vec![(1.5, 1.0), (2.0, 0.0)]]
        );
    }

    #[test]
    fn a_polyline_below_the_limit_is_kept_whole() {
        let points = vec![(0.0, 0.1), (0.5, 0.2), (1.0, 0.3)];
        assert_eq!(clip_above(&points, 1.0), vec![points]);
    }

    #[test]
    fn risk_ticks_get_enough_decimals_to_differ() {
        assert_eq!(tick_decimals(1.0), 1);
        assert_eq!(tick_decimals(0.116), 2);
        assert_eq!(tick_decimals(0.009), 4);
    }

    #[test]
    fn counts_are_abbreviated_on_the_axis() {
        assert_eq!(compact_count(950.0), "950");
        assert_eq!(compact_count(1500.0), "1.5k");
        assert_eq!(compact_count(12_000.0), "12k");
        assert_eq!(compact_count(3_500_000.0), "3.5M");
    }
}
