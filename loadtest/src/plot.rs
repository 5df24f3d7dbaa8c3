//! SVG plots of a comparison: throughput and p99 latency versus the swept value, one line per
//! server (median of the rounds, error bars from min to max), for PERF.md to embed.

use std::path::Path;

use plotters::prelude::*;

use crate::compare::{Comparison, Spread};
use crate::Error;

/// Size of the whole figure (two panels side by side), pixels.
const FIGURE_PX: (u32, u32) = (1100, 440);
/// Series colours by target position: baseline first.
const COLORS: [RGBColor; 4] = [
    RGBColor(200, 40, 40),
    RGBColor(30, 90, 200),
    RGBColor(40, 150, 60),
    RGBColor(140, 80, 170),
];

/// (x, spread) points of one target for one figure.
type Series = Vec<(f64, Spread)>;

fn series(c: &Comparison, target: usize, figure: fn(&crate::compare::Sample) -> f64) -> Series {
    c.rows
        .iter()
        .filter_map(|row| {
            let cell = row.cells.get(target)?;
            Some((row.value as f64, cell.spread(|s| Some(figure(s)))?))
        })
        .collect()
}

fn panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    c: &Comparison,
    title: &str,
    y_desc: &str,
    figure: fn(&crate::compare::Sample) -> f64,
) -> Result<(), Error> {
    let all: Vec<(usize, Series)> = (0..c.targets.len())
        .map(|t| (t, series(c, t, figure)))
        .collect();
    let (mut x_lo, mut x_hi) = c.rows.iter().fold((f64::MAX, 0f64), |(lo, hi), r| {
        (lo.min(r.value as f64), hi.max(r.value as f64))
    });
    if c.rows.is_empty() {
        (x_lo, x_hi) = (1.0, 10.0);
    }
    // Log x: sweeps span decades (1, 100, 1000 subscribers); pad half a step each side.
    let (x_lo, x_hi) = ((x_lo.max(1.0) / 1.5).max(0.5), x_hi.max(1.0) * 1.5);
    let y_hi = all
        .iter()
        .flat_map(|(_, s)| s.iter().map(|(_, sp)| sp.max))
        .fold(0f64, f64::max);
    let y_hi = if y_hi > 0.0 { y_hi * 1.15 } else { 1.0 };
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d((x_lo..x_hi).log_scale(), 0f64..y_hi)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc(c.sweep.as_str())
        .y_desc(y_desc)
        .light_line_style(WHITE)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| {
            if *y >= 10_000.0 {
                format!("{:.0}k", y / 1000.0)
            } else {
                format!("{y:.0}")
            }
        })
        .draw()
        .map_err(|e| e.to_string())?;
    for (t, points) in all {
        if points.is_empty() {
            continue;
        }
        let color = COLORS[t % COLORS.len()];
        let medians: Vec<(f64, f64)> = points.iter().map(|(x, s)| (*x, s.median)).collect();
        chart
            .draw_series(LineSeries::new(medians.clone(), color.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(c.targets[t].clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart
            .draw_series(medians.iter().map(|&p| Circle::new(p, 4, color.filled())))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(
                points
                    .iter()
                    .map(|(x, s)| ErrorBar::new_vertical(*x, s.min, s.median, s.max, color, 8)),
            )
            .map_err(|e| e.to_string())?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .border_style(BLACK)
        .background_style(WHITE.mix(0.85))
        .draw()
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Writes the two-panel figure.
pub fn write_svg(path: &Path, c: &Comparison) -> Result<(), Error> {
    let root = SVGBackend::new(path, FIGURE_PX).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let (left, right) = root.split_horizontally(FIGURE_PX.0 / 2);
    let scenario = c.config.scenario.name();
    let op = c.op.as_str();
    panel(
        &left,
        c,
        &format!("{scenario}: throughput vs {}", c.sweep),
        &format!("{}/s", crate::run::plural(op)),
        |s| s.ops_per_sec,
    )?;
    panel(
        &right,
        c,
        &format!("{scenario}: p99 latency vs {}", c.sweep),
        "p99 µs",
        |s| s.p99_us,
    )?;
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}
