//! The header above each plot: title, subtitle, legend and an optional note.
//!
//! Legends live here rather than inside the plotting area so they can never
//! hide data.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::font::FAMILY;
use super::{Area, DrawResult, MUTED_TEXT};

/// How a legend entry's sample is drawn.
#[derive(Clone, Copy)]
enum Sample {
    Line,
    Dashed,
    LineWithMarker,
    Bar,
}

/// One entry of a plot legend.
pub(super) struct LegendEntry {
    label: String,
    color: RGBColor,
    sample: Sample,
}

impl LegendEntry {
    pub(super) fn line(label: &str, color: RGBColor) -> Self {
        Self::new(label, color, Sample::Line)
    }
    pub(super) fn dashed(label: &str, color: RGBColor) -> Self {
        Self::new(label, color, Sample::Dashed)
    }
    pub(super) fn marked(label: &str, color: RGBColor) -> Self {
        Self::new(label, color, Sample::LineWithMarker)
    }
    pub(super) fn bar(label: &str, color: RGBColor) -> Self {
        Self::new(label, color, Sample::Bar)
    }
    fn new(label: &str, color: RGBColor, sample: Sample) -> Self {
        Self {
            label: label.to_owned(),
            color,
            sample,
        }
    }
}

const TITLE_SIZE: f64 = 22.0;
const SUBTITLE_SIZE: f64 = 15.0;
const LEGEND_SIZE: f64 = 14.0;
const SMALLEST_SIZE: f64 = 10.0;
const SAMPLE_WIDTH: i32 = 30;
const SAMPLE_GAP: i32 = 6;
const ENTRY_GAP: i32 = 22;
const ROW_HEIGHT: i32 = 22;
const SIDE_MARGIN: i32 = 12;

fn text_style(size: f64, color: RGBColor, pos: Pos) -> TextStyle<'static> {
    TextStyle {
        font: (FAMILY, size).into_font(),
        color: color.to_backend_color(),
        pos,
    }
}

/// Largest font size in `[SMALLEST_SIZE, size]` at which `text` fits `width`.
fn fitting_size(area: &Area<'_>, text: &str, size: f64, width: i32) -> DrawResult<f64> {
    let mut size = size;
    while size > SMALLEST_SIZE {
        let (w, _) = area.estimate_text_size(text, &(FAMILY, size).into())?;
        if i64::from(w) <= i64::from(width) {
            break;
        }
        size -= 1.0;
    }
    Ok(size)
}

/// Draws one centred line of text with its top at `y`; returns the next free y.
fn centred_line(
    area: &Area<'_>,
    text: &str,
    y: i32,
    size: f64,
    color: RGBColor,
) -> DrawResult<i32> {
    let width = area.dim_in_pixel().0 as i32;
    let size = fitting_size(area, text, size, width - 2 * SIDE_MARGIN)?;
    let style = text_style(size, color, Pos::new(HPos::Center, VPos::Top));
    area.draw(&Text::new(text.to_owned(), (width / 2, y), style))?;
    Ok(y + (size * 1.45).ceil() as i32)
}

/// Draws the header and returns its height in pixels.
pub(super) fn draw_header(
    area: &Area<'_>,
    title: &str,
    subtitle: &str,
    legend: &[LegendEntry],
    note: Option<&str>,
) -> DrawResult<u32> {
    let mut y = 10;
    if !title.is_empty() {
        y = centred_line(area, title, y, TITLE_SIZE, BLACK)?;
    }
    if !subtitle.is_empty() {
        y = centred_line(area, subtitle, y, SUBTITLE_SIZE, MUTED_TEXT)?;
    }
    y = draw_legend(area, legend, y + 4)?;
    if let Some(note) = note {
        y = centred_line(area, note, y, 13.0, MUTED_TEXT)?;
    }
    Ok(u32::try_from(y + 4).unwrap_or(0))
}

/// Lays legend entries out in centred rows starting at `top`; returns the
/// y below the last row.
fn draw_legend(area: &Area<'_>, legend: &[LegendEntry], top: i32) -> DrawResult<i32> {
    let width = area.dim_in_pixel().0 as i32;
    let font: TextStyle<'_> = (FAMILY, LEGEND_SIZE).into();
    let mut widths = Vec::with_capacity(legend.len());
    for entry in legend {
        let (w, _) = area.estimate_text_size(&entry.label, &font)?;
        widths.push(SAMPLE_WIDTH + SAMPLE_GAP + w as i32);
    }
    // Greedy rows: as many entries as fit the width.
    let mut rows: Vec<Vec<usize>> = Vec::new();
    let mut row_width = 0;
    for (i, &w) in widths.iter().enumerate() {
        let extra = if row_width == 0 { w } else { ENTRY_GAP + w };
        match rows.last_mut() {
            Some(row) if row_width + extra <= width - 2 * SIDE_MARGIN => {
                row.push(i);
                row_width += extra;
            }
            _ => {
                rows.push(vec![i]);
                row_width = w;
            }
        }
    }
    let mut y = top;
    for row in &rows {
        let total: i32 =
            row.iter().map(|&i| widths[i]).sum::<i32>() + ENTRY_GAP * (row.len() as i32 - 1);
        let mut x = (width - total) / 2;
        let mid = y + ROW_HEIGHT / 2;
        for &i in row {
            draw_entry(area, &legend[i], x, mid)?;
            x += widths[i] + ENTRY_GAP;
        }
        y += ROW_HEIGHT;
    }
    Ok(y)
}

/// Draws one legend entry with its sample's left edge at `x`, centred on `mid`.
fn draw_entry(area: &Area<'_>, entry: &LegendEntry, x: i32, mid: i32) -> DrawResult<()> {
    let color = entry.color;
    let stroke = color.stroke_width(2);
    match entry.sample {
        Sample::Line | Sample::LineWithMarker => {
            area.draw(&PathElement::new(
                [(x, mid), (x + SAMPLE_WIDTH, mid)],
                stroke,
            ))?;
            if matches!(entry.sample, Sample::LineWithMarker) {
                area.draw(&Circle::new((x + SAMPLE_WIDTH / 2, mid), 4, color.filled()))?;
            }
        }
        Sample::Dashed => {
            for start in (0..SAMPLE_WIDTH).step_by(11) {
                let end = (start + 7).min(SAMPLE_WIDTH);
                area.draw(&PathElement::new(
                    [(x + start, mid), (x + end, mid)],
                    stroke,
                ))?;
            }
        }
        Sample::Bar => {
            let rect = [(x + 4, mid - 6), (x + SAMPLE_WIDTH - 4, mid + 6)];
            area.draw(&Rectangle::new(rect, color.filled()))?;
        }
    }
    let style = text_style(LEGEND_SIZE, BLACK, Pos::new(HPos::Left, VPos::Center));
    area.draw(&Text::new(
        entry.label.clone(),
        (x + SAMPLE_WIDTH + SAMPLE_GAP, mid),
        style,
    ))?;
    Ok(())
}
