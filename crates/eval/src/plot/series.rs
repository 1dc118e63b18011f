//! Lines over an integer-like x axis (days), each with an optional shaded band (an interval
//! around the line), all on one chart.

use std::path::Path;

use plotters::prelude::*;

use super::font::{self, FAMILY};
use super::header::{LegendEntry, draw_header};
use super::{
    Area, DrawResult, HEIGHT, PALETTE, RIGHT_MARGIN, WIDTH, Y_LABEL_AREA, plot_error, segments,
    tick_decimals,
};
use crate::EvalError;

/// Opacity of the bands, so overlapping bands of several series stay readable.
const BAND_OPACITY: f64 = 0.18;
/// At most this many labelled ticks on the x axis.
const MAX_X_TICKS: usize = 15;

/// One point of a [`Series`]: a value and an optional interval at `x`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeriesPoint {
    pub x: f64,
    /// The line's value; `None` (or a non-finite value) leaves a gap in the line.
    pub y: Option<f64>,
    /// The band `(lo, hi)` around it; `None` leaves a gap in the band.
    pub band: Option<(f64, f64)>,
}

/// One named line with its band, drawn in the next colour of the palette.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub label: String,
    pub points: Vec<SeriesPoint>,
}

/// Draws `series` to `path` (PNG, 800×600): one coloured line per series over the x axis
/// ("day"), its band shaded in the same colour, and a legend above the plot.
///
/// The y axis runs from 0 (or the lowest value, if negative) to 1.1 × the highest value or
/// band edge (1 when everything is 0). Lines break where a value is missing; a point with no
/// neighbour is drawn as a dot.
///
/// # Errors
/// [`EvalError::NoFont`] (or another font error) when no font can be loaded,
/// [`EvalError::Plot`] when drawing or writing the file fails.
pub fn series_png(
    path: &Path,
    series: &[Series],
    title: &str,
    subtitle: &str,
    y_label: &str,
) -> Result<(), EvalError> {
    font::ensure_font()?;
    let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    draw_series(&root, series, title, subtitle, y_label)
        .and_then(|()| root.present())
        .map_err(plot_error(path))
}

fn draw_series(
    root: &Area<'_>,
    series: &[Series],
    title: &str,
    subtitle: &str,
    y_label: &str,
) -> DrawResult<()> {
    root.fill(&WHITE)?;
    let legend: Vec<LegendEntry> = series
        .iter()
        .enumerate()
        .map(|(i, s)| LegendEntry::line(&s.label, PALETTE[i % PALETTE.len()]))
        .collect();
    let header = draw_header(root, title, subtitle, &legend, None)?;
    let (_, body) = root.split_vertically(header);

    let (x_min, x_max) = x_range(series);
    let (y_min, y_max) = y_range(series);
    let mut chart = ChartBuilder::on(&body)
        .margin_right(RIGHT_MARGIN)
        .margin_top(4)
        .x_label_area_size(48)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(x_min..x_max, y_min..y_max)?;
    let x_ticks = ((x_max - x_min).round() as usize + 1).clamp(2, MAX_X_TICKS);
    let decimals = tick_decimals(y_max - y_min);
    chart
        .configure_mesh()
        .x_labels(x_ticks)
        .y_labels(10)
        .x_label_formatter(&|v| format_x(*v))
        .y_label_formatter(&|v| format!("{v:.decimals$}"))
        .x_desc("day")
        .y_desc(y_label)
        .label_style((FAMILY, 13))
        .axis_desc_style((FAMILY, 15))
        .max_light_lines(1)
        .light_line_style(RGBColor(238, 238, 238))
        .draw()?;
    for (i, s) in series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        for run in runs(&s.points, |p| {
            p.band.filter(|(lo, hi)| lo.is_finite() && hi.is_finite())
        }) {
            let band = color.mix(BAND_OPACITY);
            if let [(x, (lo, hi))] = run.as_slice() {
                let bar = PathElement::new(vec![(*x, *lo), (*x, *hi)], band.stroke_width(6));
                chart.draw_series(std::iter::once(bar))?;
            } else {
                let upper = run.iter().map(|&(x, (_, hi))| (x, hi));
                let lower = run.iter().rev().map(|&(x, (lo, _))| (x, lo));
                let outline: Vec<(f64, f64)> = upper.chain(lower).collect();
                chart.draw_series(std::iter::once(Polygon::new(outline, band.filled())))?;
            }
        }
    }
    for (i, s) in series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        for run in runs(&s.points, |p| p.y.filter(|y| y.is_finite())) {
            let line: Vec<(f64, f64)> = run.into_iter().collect();
            if let [single] = line.as_slice() {
                chart.draw_series(std::iter::once(Circle::new(*single, 3, color.filled())))?;
            } else {
                chart.draw_series(segments(&line, color))?;
            }
        }
    }
    Ok(())
}

/// Maximal runs of consecutive points for which `value` is present, as `(x, value)`.
fn runs<T>(
    points: &[SeriesPoint],
    value: impl Fn(&SeriesPoint) -> Option<T>,
) -> Vec<Vec<(f64, T)>> {
    let mut runs = Vec::new();
    let mut current = Vec::new();
    for p in points {
        match value(p).filter(|_| p.x.is_finite()) {
            Some(v) => current.push((p.x, v)),
            None if !current.is_empty() => runs.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        runs.push(current);
    }
    runs
}

/// The x range of all points, widened by ½ on each side when it is a single value; 0..1 when
/// there are no points.
fn x_range(series: &[Series]) -> (f64, f64) {
    let xs = || {
        series
            .iter()
            .flat_map(|s| &s.points)
            .map(|p| p.x)
            .filter(|x| x.is_finite())
    };
    let lo = xs().fold(f64::INFINITY, f64::min);
    let hi = xs().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() {
        (0.0, 1.0)
    } else if lo == hi {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    }
}

/// From 0 (or the lowest value below it) to 1.1 × the highest value or band edge.
fn y_range(series: &[Series]) -> (f64, f64) {
    let values = || {
        series
            .iter()
            .flat_map(|s| &s.points)
            .flat_map(|p| [p.y, p.band.map(|b| b.0), p.band.map(|b| b.1)])
            .flatten()
            .filter(|v| v.is_finite())
    };
    let lo = values().fold(0.0, f64::min);
    let hi = values().fold(f64::NEG_INFINITY, f64::max);
    let span = hi - lo;
    if hi.is_finite() && span > 0.0 {
        (lo, hi + 0.1 * span)
    } else {
        (lo, lo + 1.0)
    }
}

/// Whole numbers without decimals (days), anything else with one.
fn format_x(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::{Series, SeriesPoint, format_x, runs, series_png, x_range, y_range};

    fn point(x: f64, y: Option<f64>) -> SeriesPoint {
        SeriesPoint {
            x,
            y,
            band: y.map(|y| (y - 1.0, y + 1.0)),
        }
    }

    #[test]
    fn a_missing_value_splits_a_line_into_two_runs() {
        let points = [
            point(0.0, Some(1.0)),
            point(1.0, None),
            point(2.0, Some(3.0)),
            point(3.0, Some(4.0)),
        ];
        let lines = runs(&points, |p| p.y);
        assert_eq!(lines, vec![vec![(0.0, 1.0)], vec![(2.0, 3.0), (3.0, 4.0)]]);
    }

    #[test]
    fn the_y_axis_starts_at_zero_and_leaves_a_tenth_above_the_highest_band() {
        let s = Series {
            label: "a".into(),
            points: vec![point(0.0, Some(4.0)), point(1.0, Some(9.0))],
        };
        assert_eq!(y_range(std::slice::from_ref(&s)), (0.0, 11.0));
        assert_eq!(y_range(&[]), (0.0, 1.0));
    }

    #[test]
    fn a_single_day_is_widened_so_the_axis_has_a_length() {
        let s = Series {
            label: "a".into(),
            points: vec![point(3.0, Some(1.0))],
        };
        assert_eq!(x_range(&[s]), (2.5, 3.5));
        assert_eq!(x_range(&[]), (0.0, 1.0));
    }

    #[test]
    fn whole_days_are_labelled_without_decimals() {
        assert_eq!(format_x(7.0), "7");
        assert_eq!(format_x(7.5), "7.5");
    }

    #[test]
    fn a_series_plot_is_written_with_gaps_single_points_and_bands() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("series.png");
        let series = [
            Series {
                label: "baseline".into(),
                points: (0..10)
                    .map(|d| point(f64::from(d), (d != 4).then(|| f64::from(d % 3) + 2.0)))
                    .collect(),
            },
            Series {
                label: "arbiter".into(),
                points: vec![point(5.0, Some(1.0))],
            },
        ];
        series_png(&path, &series, "Title", "subtitle", "value").unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
    }
}
