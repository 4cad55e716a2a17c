//! SVG charts of a pipeline run (plotters' SVG backend, no font files needed: text is
//! left to the browser).
//!
//! Only the drawing: what each chart shows (axis ranges that depend on the data, the
//! thinned points, the cells) and its one-paragraph reading come from
//! [`super::readings`]. Large tables are thinned deterministically (every n-th customer)
//! for the scatter and the whale curve.

mod customer_value;
mod whatif;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::customer_value::Views;
use super::readings::{self, money};
use crate::error::{Error, Result};
use crate::pipeline::{PipelineOutput, Stage};

/// One chart: an id (also the file name, `<id>.svg`), a title, the SVG text and a
/// reading of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// File stem and HTML anchor.
    pub id: &'static str,
    /// Title.
    pub title: String,
    /// The SVG document.
    pub svg: String,
    /// What the chart says, in one paragraph.
    pub reading: String,
}

/// Every chart the run has data for, in page order: matrix, whale, segments,
/// clv_distribution, rfm_heatmap, holdout, holdout_gain, p_alive, period_transactions,
/// tracking, tracking_periods, cohort_retention, contractual_survival, whatif.
///
/// # Errors
///
/// [`Error::Model`] (model "chart") when plotters fails to draw; missing columns.
///
/// # Example
///
/// ```
/// use patronage::pipeline::Pipeline;
/// let p = Pipeline::builder().build()?;
/// let out = p.run(&p.scan("datasets/retail_sample.csv")?)?;
/// let charts = patronage::report::charts::all(&out)?;
/// assert!(charts.iter().all(|c| c.svg.starts_with("<svg")));
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn all(out: &PipelineOutput) -> Result<Vec<Chart>> {
    all_with(out, &Views::of(out))
}

/// [`all`] with the customer-value views already computed (the report computes them
/// once for report.json, the charts and the page). A view that could not be computed
/// has no chart; [`skipped_with`] gives its error as the reason.
pub(crate) fn all_with(out: &PipelineOutput, views: &Views) -> Result<Vec<Chart>> {
    let distribution = match &views.distribution {
        Ok(Some(d)) => Some(customer_value::clv_distribution(d)?),
        _ => None,
    };
    let gain = match &views.gain {
        Ok(Some(g)) => Some(customer_value::holdout_gain(g)?),
        _ => None,
    };
    let mut charts = Vec::new();
    for chart in [
        matrix(out)?,
        whale(out)?,
        segments(out)?,
        distribution,
        Some(rfm_heatmap(out)?),
        holdout(out)?,
        gain,
        p_alive(out)?,
        period_transactions(out)?,
        tracking_cumulative(out)?,
        tracking_periods(out)?,
        Some(cohort_retention(out)?),
        contractual_survival(out)?,
        whatif::whatif(out)?,
    ]
    .into_iter()
    .flatten()
    {
        charts.push(chart);
    }
    Ok(charts)
}

/// The charts a run has no data for, with the reason.
pub fn skipped(out: &PipelineOutput) -> Vec<(&'static str, String)> {
    skipped_with(out, &Views::of(out))
}

/// [`skipped`] with the customer-value views already computed: a view that failed is
/// listed with its error.
pub(crate) fn skipped_with(out: &PipelineOutput, views: &Views) -> Vec<(&'static str, String)> {
    let mut s = Vec::new();
    if let Err(e) = &views.distribution {
        s.push(("clv_distribution", format!("could not be computed: {e}")));
    }
    if let Err(e) = &views.gain {
        s.push(("holdout_gain", format!("could not be computed: {e}")));
    }
    match &out.profitability {
        None => {
            s.push(("matrix", out.not_run_reason(Stage::Profitability)));
            s.push(("whale", out.not_run_reason(Stage::Profitability)));
        }
        Some(p) if p.whale.is_none() => s.push((
            "whale",
            p.whale_note
                .clone()
                .unwrap_or_else(|| "no whale curve".into()),
        )),
        Some(_) => {}
    }
    if out.segmentation.is_none() {
        s.push(("segments", out.not_run_reason(Stage::Segmentation)));
    }
    // Only when it was asked for ([cohorts] contractual) and could not be fitted.
    if out.churn.is_none()
        && let Some(skip) = out.skipped.iter().find(|k| k.stage == Stage::Cohorts)
    {
        s.push(("contractual_survival", skip.reason.clone()));
    }
    // Only when it was asked for ([whatif] retention) and could not run.
    if out.whatif.is_none()
        && let Some(skip) = out.skipped.iter().find(|k| k.stage == Stage::WhatIf)
    {
        s.push(("whatif", skip.reason.clone()));
    }
    if out.clv.is_none() {
        s.push(("clv_distribution", out.not_run_reason(Stage::Clv)));
    }
    match &out.checks {
        None => {
            for id in [
                "holdout",
                "holdout_gain",
                "p_alive",
                "period_transactions",
                "tracking",
                "tracking_periods",
            ] {
                s.push((id, out.not_run_reason(Stage::Clv)));
            }
        }
        Some(c) => {
            if c.holdout.is_none() {
                for id in ["holdout", "holdout_gain"] {
                    s.push((id, "no calibration end: nothing to check against".into()));
                }
            }
            if c.tracking.is_none() {
                for id in ["tracking", "tracking_periods"] {
                    s.push((id, "the data span less than one time unit".into()));
                }
            }
        }
    }
    s
}

type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

/// The legend every chart with more than one series draws: a framed, lightly opaque box
/// at `position`.
fn legend<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> DrawResult
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    CT: CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

fn render(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> DrawResult,
) -> Result<String> {
    let fail = |e: &dyn std::fmt::Display| Error::Model {
        model: "chart".into(),
        reason: e.to_string(),
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(&e))?;
        draw(&root).map_err(|e| fail(&e))?;
        root.present().map_err(|e| fail(&e))?;
    }
    Ok(svg)
}

const SIZE: (u32, u32) = (760, 480);
const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// Light to dark blue for t in [0, 1].
fn shade(t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (a, b, c) = (
        (247.0, 251.0, 255.0),
        (107.0, 174.0, 214.0),
        (8.0, 48.0, 107.0),
    );
    let mix = |x: f64, y: f64, s: f64| (x + (y - x) * s).round() as u8;
    if t < 0.5 {
        let s = t * 2.0;
        RGBColor(mix(a.0, b.0, s), mix(a.1, b.1, s), mix(a.2, b.2, s))
    } else {
        let s = (t - 0.5) * 2.0;
        RGBColor(mix(b.0, c.0, s), mix(b.1, c.1, s), mix(b.2, c.2, s))
    }
}

fn text_on(t: f64) -> RGBColor {
    if t > 0.55 { WHITE } else { BLACK }
}

/// Width of the colour scale drawn beside a heat map.
const SCALE_WIDTH: u32 = 96;

/// The colour scale of a heat map drawn with [`shade`], in `area` (a strip to the right
/// of the map): the shades from 0 at the bottom to 1 at the top, labelled `lo` and `hi`,
/// under the title `what`.
fn colour_scale(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    what: &str,
    lo: &str,
    hi: &str,
) -> DrawResult {
    let (_, h) = area.dim_in_pixel();
    let (x0, x1) = (8, 26);
    let (top, bottom) = (64, h as i32 - 64);
    let steps = 40;
    let y = |s: i32| {
        bottom - (f64::from(bottom - top) * f64::from(s) / f64::from(steps)).round() as i32
    };
    for s in 0..steps {
        let t = (f64::from(s) + 0.5) / f64::from(steps);
        area.draw(&Rectangle::new(
            [(x0, y(s + 1)), (x1, y(s))],
            shade(t).filled(),
        ))?;
    }
    area.draw(&Rectangle::new(
        [(x0, top), (x1, bottom)],
        BLACK.stroke_width(1),
    ))?;
    let font = ("sans-serif", 12).into_font();
    area.draw(&Text::new(what.to_string(), (x0, top - 22), font.clone()))?;
    area.draw(&Text::new(hi.to_string(), (x1 + 5, top - 6), font.clone()))?;
    area.draw(&Text::new(lo.to_string(), (x1 + 5, bottom - 6), font))?;
    Ok(())
}

/// The label of the category at integer position `x` of a continuous axis ("" between
/// categories and outside them).
fn category(labels: &[String], x: f64) -> String {
    let i = x.round();
    if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < labels.len() {
        labels[i as usize].clone()
    } else {
        String::new()
    }
}

/// Profit contribution (margin %) against cost-to-serve, one dot per customer, with the
/// quadrant split lines.
fn matrix(out: &PipelineOutput) -> Result<Option<Chart>> {
    let Some(r) = readings::matrix_of(out)? else {
        return Ok(None);
    };
    let x_hi = r.x_max;
    let (y_lo, y_hi) = r.y_range;
    let (t_margin, t_cts) = (r.value_split, r.cost_split);
    let y_desc = if r.axis == crate::profitability::MatrixAxis::Contribution {
        "gross profit per customer"
    } else {
        "gross margin % of revenue"
    };
    let svg = render(SIZE, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Profit contribution vs cost-to-serve", ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..x_hi, y_lo..y_hi)?;
        chart
            .configure_mesh()
            // Major grid lines only: the minor grid is noise on a slide.
            .light_line_style(WHITE)
            .x_desc("cost to serve per customer")
            .y_desc(y_desc)
            .draw()?;
        for (qi, dots) in r.dots.iter().enumerate() {
            let color = PALETTE[qi];
            chart
                .draw_series(
                    dots.points
                        .iter()
                        .map(|&(x, y)| Circle::new((x, y), 2, color.mix(0.55).filled())),
                )?
                .label(dots.quadrant)
                .legend(move |(x, y)| Circle::new((x + 8, y), 4, color.filled()));
        }
        chart.draw_series(LineSeries::new(
            vec![(t_cts, y_lo), (t_cts, y_hi)],
            BLACK.stroke_width(1),
        ))?;
        chart.draw_series(LineSeries::new(
            vec![(0.0, t_margin), (x_hi, t_margin)],
            BLACK.stroke_width(1),
        ))?;
        // Customers exactly on a split line hide under it (with few distinct costs, half
        // the base can): say on the chart how many there are and which side they count on.
        let note = ("sans-serif", 12).into_font().color(&RGBColor(60, 60, 60));
        let span = y_hi - y_lo;
        if r.on_splits.0 > 0 {
            chart.draw_series(std::iter::once(Text::new(
                format!(
                    "{} customers on this line count as cheap to serve",
                    readings::count(r.on_splits.0 as f64)
                ),
                (t_cts + 0.01 * x_hi, y_lo + 0.06 * span),
                note.clone(),
            )))?;
        }
        if r.on_splits.1 > 0 {
            chart.draw_series(std::iter::once(Text::new(
                format!(
                    "{} customers on this line count as low value",
                    readings::count(r.on_splits.1 as f64)
                ),
                (0.01 * x_hi, t_margin + 0.06 * span),
                note,
            )))?;
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    })?;
    Ok(Some(Chart {
        id: "matrix",
        title: "Profit contribution vs cost-to-serve".into(),
        svg,
        reading: r.text,
    }))
}

/// Cumulative share of net contribution against the share of customers, best first.
fn whale(out: &PipelineOutput) -> Result<Option<Chart>> {
    let Some(r) = out
        .profitability
        .as_ref()
        .and_then(|p| p.whale.as_ref())
        .and_then(readings::whale)
    else {
        return Ok(None);
    };
    let y_hi = (r.peak_share * 100.0).max(100.0) * 1.08;
    let y_lo = r.curve.iter().map(|p| p.1).fold(0.0, f64::min).min(0.0);
    let svg = render(SIZE, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Whale curve", ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..100.0, y_lo..y_hi)?;
        chart
            .configure_mesh()
            // Major grid lines only: the minor grid is noise on a slide.
            .light_line_style(WHITE)
            .x_desc("% of customers, most profitable first")
            .y_desc("cumulative % of net contribution")
            .draw()?;
        chart.draw_series(LineSeries::new(
            vec![(0.0, 100.0), (100.0, 100.0)],
            BLACK.mix(0.5).stroke_width(1),
        ))?;
        chart
            .draw_series(LineSeries::new(r.curve.clone(), PALETTE[0].stroke_width(2)))?
            .label("cumulative net contribution")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], PALETTE[0]));
        chart.draw_series(std::iter::once(Circle::new(r.peak, 5, PALETTE[3].filled())))?;
        legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        Ok(())
    })?;
    Ok(Some(Chart {
        id: "whale",
        title: "Whale curve".into(),
        svg,
        reading: r.text,
    }))
}

/// Share of customers and of revenue per cluster.
fn segments(out: &PipelineOutput) -> Result<Option<Chart>> {
    let Some(r) = out.segmentation.as_ref().and_then(readings::segments_of) else {
        return Ok(None);
    };
    let bars = &r.bars;
    let k = bars.len();
    let top = r.max_share * 100.0 * 1.15;
    // Segments are named by their labels (long ones shortened), one row each, the
    // first segment (the largest revenue) at the top: horizontal bars leave room for
    // the words.
    let labels: Vec<String> = bars
        .iter()
        .rev()
        .map(|b| {
            let label = if b.label.chars().count() > 44 {
                format!("{}\u{2026}", b.label.chars().take(43).collect::<String>())
            } else {
                b.label.clone()
            };
            format!("{label} ({})", b.segment)
        })
        .collect();
    let row = |i: usize| (k - 1 - i) as f64;
    let height = (k as u32 * 70 + 140).clamp(320, 760);
    let svg = render((SIZE.0 + 140, height), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Segments: size and value", ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(300)
            .build_cartesian_2d(0.0..top.max(1.0), -0.5..(k as f64 - 0.5))?;
        let fmt = |v: &f64| category(&labels, *v);
        let pct = |v: &f64| format!("{v:.0}%");
        chart
            .configure_mesh()
            // Major grid lines only: the minor grid is noise on a slide.
            .light_line_style(WHITE)
            .disable_y_mesh()
            .y_labels(k + 1)
            .y_label_formatter(&fmt)
            .y_label_style(("sans-serif", 13))
            .x_label_formatter(&pct)
            .x_desc("% of customers / % of revenue")
            .draw()?;
        chart
            .draw_series(bars.iter().enumerate().map(|(i, s)| {
                let y = row(i);
                Rectangle::new(
                    [(0.0, y + 0.02), (100.0 * s.customer_share, y + 0.38)],
                    PALETTE[0].filled(),
                )
            }))?
            .label("customers")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], PALETTE[0].filled()));
        chart
            .draw_series(bars.iter().enumerate().map(|(i, s)| {
                let y = row(i);
                Rectangle::new(
                    [
                        (0.0, y - 0.38),
                        (100.0 * s.revenue_share.unwrap_or(0.0), y - 0.02),
                    ],
                    PALETTE[1].filled(),
                )
            }))?
            .label("revenue")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], PALETTE[1].filled()));
        legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        Ok(())
    })?;
    Ok(Some(Chart {
        id: "segments",
        title: "Segment sizes and value".into(),
        svg,
        reading: r.text,
    }))
}

/// Mean total spend per (R score, F score) cell.
fn rfm_heatmap(out: &PipelineOutput) -> Result<Chart> {
    let r = readings::rfm_heatmap_of(out)?;
    let bins = r.bins;
    let scale = |v: f64| match r.mean_range {
        Some((lo, hi)) if hi > lo => (v - lo) / (hi - lo),
        _ => 0.5,
    };
    let svg = render((640 + SCALE_WIDTH, 560), |root| {
        let (map, strip) = root.split_horizontally(640);
        if let Some((lo, hi)) = r.mean_range {
            colour_scale(&strip, "mean spend", &money(lo), &money(hi))?;
        }
        let mut chart = ChartBuilder::on(&map)
            .caption(
                "RFM: mean spend by recency and frequency score",
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(48)
            .build_cartesian_2d(0.5..(bins as f64 + 0.5), 0.5..(bins as f64 + 0.5))?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(bins)
            .y_labels(bins)
            .x_label_formatter(&|x| format!("{:.0}", x))
            .y_label_formatter(&|y| format!("{:.0}", y))
            .x_desc("F score (5 = most frequent)")
            .y_desc("R score (5 = most recent)")
            .draw()?;
        for (ri, row) in r.customers.iter().enumerate() {
            for (fi, &n) in row.iter().enumerate() {
                let (x, y) = (fi as f64 + 1.0, ri as f64 + 1.0);
                match r.mean_spend[ri][fi] {
                    Some(v) => {
                        let t = scale(v);
                        chart.draw_series(std::iter::once(Rectangle::new(
                            [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)],
                            shade(t).filled(),
                        )))?;
                        chart.draw_series(std::iter::once(Text::new(
                            format!("{}\n", money(v)),
                            (x - 0.3, y + 0.1),
                            ("sans-serif", 13).into_font().color(&text_on(t)),
                        )))?;
                        chart.draw_series(std::iter::once(Text::new(
                            format!("n={n}"),
                            (x - 0.3, y - 0.15),
                            ("sans-serif", 10).into_font().color(&text_on(t)),
                        )))?;
                    }
                    None => {
                        chart.draw_series(std::iter::once(Rectangle::new(
                            [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)],
                            RGBColor(235, 235, 235).filled(),
                        )))?;
                    }
                }
            }
        }
        Ok(())
    })?;
    Ok(Chart {
        id: "rfm_heatmap",
        title: "RFM heat map".into(),
        svg,
        reading: r.text,
    })
}

/// Actual against expected holdout purchases by calibration frequency.
fn holdout(out: &PipelineOutput) -> Result<Option<Chart>> {
    let Some(h) = out.checks.as_ref().and_then(|c| c.holdout.as_ref()) else {
        return Ok(None);
    };
    let Some(r) = readings::holdout(h) else {
        return Ok(None);
    };
    let bins = &h.bins;
    let top = r.max_mean * 1.15;
    let last = bins.len() as f64 - 1.0;
    let labels = &r.labels;
    let svg = render(SIZE, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Calibration vs holdout", ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(56)
            .build_cartesian_2d(-0.3..(last + 0.3), 0.0..top.max(1e-9))?;
        let fmt = |v: &f64| category(labels, *v);
        chart
            .configure_mesh()
            // Major grid lines only: the minor grid is noise on a slide.
            .light_line_style(WHITE)
            .x_labels(labels.len() + 1)
            .x_label_formatter(&fmt)
            .x_desc("repeat purchases in the calibration period")
            .y_desc("mean purchases per customer in the holdout")
            .draw()?;
        let actual: Vec<(f64, f64)> = bins
            .iter()
            .enumerate()
            .map(|(i, b)| (i as f64, b.actual))
            .collect();
        let expected: Vec<(f64, f64)> = bins
            .iter()
            .enumerate()
            .map(|(i, b)| (i as f64, b.expected))
            .collect();
        chart
            .draw_series(LineSeries::new(actual.clone(), PALETTE[0].stroke_width(2)))?
            .label("actual")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], PALETTE[0]));
        chart.draw_series(
            actual
                .iter()
                .map(|&p| Circle::new(p, 4, PALETTE[0].filled())),
        )?;
        chart
            .draw_series(LineSeries::new(
                expected.clone(),
                PALETTE[1].stroke_width(2),
            ))?
            .label("model")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], PALETTE[1]));
        chart.draw_series(
            expected
                .iter()
                .map(|&p| TriangleMarker::new(p, 5, PALETTE[1].filled())),
        )?;
        legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    })?;
    Ok(Some(Chart {
        id: "holdout",
        title: "Calibration vs holdout".into(),
        svg,
        reading: r.text,
    }))
}

/// P(alive) over frequency and recency at the largest customer age.
fn p_alive(out: &PipelineOutput) -> Result<Option<Chart>> {
    let Some(r) = readings::p_alive_of(out)? else {
        return Ok(None);
    };
    let (t, max_x, dt) = (r.age, r.max_frequency, r.column_width);
    let svg = render((SIZE.0 + SCALE_WIDTH, SIZE.1), |root| {
        let (map, strip) = root.split_horizontally(SIZE.0);
        colour_scale(&strip, "P(alive)", "0%", "100%")?;
        let mut chart = ChartBuilder::on(&map)
            .caption(
                format!("P(alive) by frequency and recency (T = {t:.1})"),
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..t, -0.5..(max_x as f64 + 0.5))?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(format!("recency: age at the last purchase ({}s)", r.unit))
            .y_desc("repeat purchases")
            .draw()?;
        for (xi, row) in r.grid.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                let color = match v {
                    Some(p) => shade(*p),
                    None => RGBColor(235, 235, 235),
                };
                let x0 = c as f64 * dt;
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(x0, xi as f64 - 0.5), (x0 + dt, xi as f64 + 0.5)],
                    color.filled(),
                )))?;
            }
        }
        Ok(())
    })?;
    Ok(Some(Chart {
        id: "p_alive",
        title: "Frequency-recency P(alive) matrix".into(),
        svg,
        reading: r.text,
    }))
}

/// Customers by number of repeat purchases in the fitted period: actual and model.
fn period_transactions(out: &PipelineOutput) -> Result<Option<Chart>> {
    let Some(h) = out.checks.as_ref().and_then(|c| c.histogram.as_ref()) else {
        return Ok(None);
    };
    let Some(r) = readings::period_transactions(h) else {
        return Ok(None);
    };
    let bins = &h.bins;
    let top = r.max_count * 1.15;
    let labels = &r.labels;
    let k = bins.len();
    let svg = render(SIZE, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Repeat purchases: actual vs model", ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(64)
            .build_cartesian_2d(-0.5..(k as f64 - 0.5), 0.0..top.max(1.0))?;
        let fmt = |v: &f64| category(labels, *v);
        chart
            .configure_mesh()
            // Major grid lines only: the minor grid is noise on a slide.
            .light_line_style(WHITE)
            .disable_x_mesh()
            .x_labels(k + 1)
            .x_label_formatter(&fmt)
            .y_label_formatter(&|v: &f64| readings::count(*v))
            .x_desc("repeat purchases in the fitted period")
            .y_desc("customers")
            .draw()?;
        chart
            .draw_series(bins.iter().enumerate().map(|(i, b)| {
                let x = i as f64;
                Rectangle::new([(x - 0.38, 0.0), (x - 0.02, b.actual)], PALETTE[0].filled())
            }))?
            .label("actual")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], PALETTE[0].filled()));
        chart
            .draw_series(bins.iter().enumerate().map(|(i, b)| {
                let x = i as f64;
                Rectangle::new(
                    [(x + 0.02, 0.0), (x + 0.38, b.expected)],
                    PALETTE[1].filled(),
                )
            }))?
            .label("model")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], PALETTE[1].filled()));
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    })?;
    Ok(Some(Chart {
        id: "period_transactions",
        title: "Period transactions: actual vs model".into(),
        svg,
        reading: r.text,
    }))
}

/// Cumulative or per-period repeat purchases over calendar time, actual against the
/// model, with the calibration end marked.
fn tracking_chart(
    out: &PipelineOutput,
    cumulative: bool,
) -> Result<Option<(readings::TrackingReading, String)>> {
    let Some(t) = out.checks.as_ref().and_then(|c| c.tracking.as_ref()) else {
        return Ok(None);
    };
    let Some(r) = readings::tracking(t) else {
        return Ok(None);
    };
    type Line = Vec<(f64, f64)>;
    let (actual, expected): (Line, Line) = if cumulative {
        t.points
            .iter()
            .map(|p| ((p.period_end, p.actual), (p.period_end, p.expected)))
            .unzip()
    } else {
        r.rates.iter().map(|&(x, a, e)| ((x, a), (x, e))).unzip()
    };
    let top = if cumulative {
        r.max_cumulative
    } else {
        r.max_rate
    } * 1.1;
    let (caption, y_desc) = if cumulative {
        (
            "Tracking: cumulative repeat purchases".to_string(),
            "repeat purchases, cumulative".to_string(),
        )
    } else {
        (
            format!("Tracking: repeat purchases per {}", t.time_unit),
            format!("repeat purchases per {}", t.time_unit),
        )
    };
    let svg = render(SIZE, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(caption.as_str(), ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(72)
            .build_cartesian_2d(0.0..r.x_max.max(1e-9), 0.0..top.max(1.0))?;
        let ylab = |v: &f64| readings::count(*v);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE)
            .y_label_formatter(&ylab)
            .x_desc(r.x_label.as_str())
            .y_desc(y_desc.as_str())
            .draw()?;
        if let Some(cal) = r.calibration_end {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(cal, 0.0), (cal, top.max(1.0))],
                    6,
                    4,
                    RGBColor(120, 120, 120).stroke_width(1),
                ))?
                .label("calibration end")
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], RGBColor(120, 120, 120))
                });
        }
        chart
            .draw_series(LineSeries::new(actual, PALETTE[0].stroke_width(2)))?
            .label("actual")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], PALETTE[0]));
        chart
            .draw_series(DashedLineSeries::new(
                expected,
                8,
                4,
                PALETTE[1].stroke_width(2),
            ))?
            .label("model")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], PALETTE[1]));
        legend(
            &mut chart,
            if cumulative {
                SeriesLabelPosition::UpperLeft
            } else {
                SeriesLabelPosition::UpperRight
            },
        )?;
        Ok(())
    })?;
    Ok(Some((r, svg)))
}

/// Cumulative repeat purchases over calendar time: actual against the model.
fn tracking_cumulative(out: &PipelineOutput) -> Result<Option<Chart>> {
    Ok(tracking_chart(out, true)?.map(|(r, svg)| Chart {
        id: "tracking",
        title: "Tracking: cumulative repeat purchases".into(),
        svg,
        reading: r.text,
    }))
}

/// Repeat purchases per period over calendar time: actual against the model.
fn tracking_periods(out: &PipelineOutput) -> Result<Option<Chart>> {
    Ok(tracking_chart(out, false)?.map(|(r, svg)| Chart {
        id: "tracking_periods",
        title: "Tracking: repeat purchases per period".into(),
        svg,
        reading: r.incremental_text,
    }))
}

/// With `[cohorts] contractual`: the share of the cohorts still subscribed by period
/// since acquisition, observed against the sBG model, and the model's projection.
fn contractual_survival(out: &PipelineOutput) -> Result<Option<Chart>> {
    let Some(c) = &out.churn else {
        return Ok(None);
    };
    let r = readings::churn(c);
    let svg = render(SIZE, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                "Contractual retention: share still subscribed",
                ("sans-serif", 20),
            )
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..f64::from(r.horizon), 0.0..1.05)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .y_label_formatter(&|v: &f64| format!("{:.0}%", 100.0 * v))
            .x_label_formatter(&|v: &f64| format!("{v:.0}"))
            .x_desc("periods since acquisition")
            .y_desc("share of the cohort still subscribed")
            .draw()?;
        let observed: Vec<(f64, f64)> = r.survival.iter().map(|&(t, o, _)| (t, o)).collect();
        chart
            .draw_series(LineSeries::new(
                observed.clone(),
                PALETTE[0].stroke_width(2),
            ))?
            .label("observed (cohorts pooled)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], PALETTE[0]));
        chart.draw_series(
            observed
                .iter()
                .map(|&p| Circle::new(p, 4, PALETTE[0].filled())),
        )?;
        chart
            .draw_series(DashedLineSeries::new(
                r.projection.clone(),
                8,
                4,
                PALETTE[1].stroke_width(2),
            ))?
            .label("sBG model")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], PALETTE[1]));
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    })?;
    Ok(Some(Chart {
        id: "contractual_survival",
        title: "Contractual retention".into(),
        svg,
        reading: r.text,
    }))
}

/// Retention by acquisition cohort and period since acquisition.
fn cohort_retention(out: &PipelineOutput) -> Result<Chart> {
    let c = &out.cohorts;
    let r = readings::cohort_retention(c);
    let rows: Vec<usize> = (r.first_drawn..c.labels.len()).collect();
    let periods = r.periods;
    let labels: Vec<String> = rows.iter().map(|&i| c.labels[i].clone()).collect();
    let h = (rows.len().max(1) as u32 * 18 + 120).clamp(320, 900);
    let svg = render((760 + SCALE_WIDTH, h), |root| {
        let (map, strip) = root.split_horizontally(760);
        colour_scale(
            &strip,
            "retained",
            "0%",
            &format!("{:.0}%", 100.0 * r.colour_max),
        )?;
        let mut chart = ChartBuilder::on(&map)
            .caption("Cohort retention", ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(84)
            .build_cartesian_2d(
                -0.5..(periods as f64 - 0.5),
                -0.5..(rows.len().max(1) as f64 - 0.5),
            )?;
        let ylab = |v: &f64| category(&labels, *v);
        let xlab = |v: &f64| format!("{v:.0}");
        // Cohort labels are `2024-01` for months and a Monday's date for weeks
        // (`CohortPeriod::label`).
        let unit = if labels.iter().all(|l| l.len() == 7) {
            "months since acquisition"
        } else {
            "weeks since acquisition"
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .y_labels(labels.len().max(1))
            .y_label_formatter(&ylab)
            .x_labels(periods.min(20))
            .x_label_formatter(&xlab)
            .x_desc(unit)
            .y_desc("cohort")
            .draw()?;
        let top = r.colour_max.max(1e-9);
        for (row, &i) in rows.iter().enumerate() {
            for (p, &v) in c.retention[i].iter().enumerate() {
                // The acquisition period is 100% by definition: grey, off the scale.
                let colour = if p == 0 {
                    RGBColor(215, 215, 215)
                } else {
                    shade((v / top).min(1.0))
                };
                chart.draw_series(std::iter::once(Rectangle::new(
                    [
                        (p as f64 - 0.5, row as f64 - 0.5),
                        (p as f64 + 0.5, row as f64 + 0.5),
                    ],
                    colour.filled(),
                )))?;
            }
        }
        Ok(())
    })?;
    Ok(Chart {
        id: "cohort_retention",
        title: "Cohort retention".into(),
        svg,
        reading: r.text,
    })
}
