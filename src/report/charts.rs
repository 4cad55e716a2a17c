//! SVG charts of a pipeline run (plotters' SVG backend, no font files needed: text is
//! left to the browser).
//!
//! Every chart comes with a one-paragraph reading computed from the same figures, for
//! the HTML page. Large tables are thinned deterministically (every n-th customer) for
//! the scatter and the whale curve; the reading says so.

use plotters::coord::Shift;
use plotters::prelude::*;
use polars::prelude::DataFrame;

use crate::error::{Error, Result};
use crate::pipeline::PipelineOutput;

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
/// rfm_heatmap, holdout, p_alive, period_transactions, cohort_retention.
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
    let mut charts = Vec::new();
    for chart in [
        matrix(out)?,
        whale(out)?,
        segments(out)?,
        Some(rfm_heatmap(out)?),
        holdout(out)?,
        p_alive(out)?,
        period_transactions(out)?,
        Some(cohort_retention(out)?),
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
    let mut s = Vec::new();
    match &out.profitability {
        None => {
            s.push(("matrix", "profitability is switched off".to_string()));
            s.push(("whale", "profitability is switched off".to_string()));
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
        s.push(("segments", "segmentation is switched off".into()));
    }
    match &out.checks {
        None => {
            s.push(("holdout", "CLV is switched off".into()));
            s.push(("p_alive", "CLV is switched off".into()));
            s.push(("period_transactions", "CLV is switched off".into()));
        }
        Some(c) if c.holdout.is_none() => s.push((
            "holdout",
            "no calibration end: nothing to check against".into(),
        )),
        Some(_) => {}
    }
    s
}

type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

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

fn f64_column(df: &DataFrame, name: &str) -> Result<Vec<Option<f64>>> {
    crate::io::frame::nullable_f64(df, name)
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

/// A frequency bin's label: `3`, or `7+` for the open last bin.
fn bin_label(frequency: u32, open_ended: bool) -> String {
    if open_ended {
        format!("{frequency}+")
    } else {
        frequency.to_string()
    }
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn pct(v: f64) -> String {
    format!("{:.1}%", 100.0 * v)
}

fn money(v: f64) -> String {
    if v.abs() >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v.abs() >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.2}")
    }
}

/// Profit contribution (margin %) against cost-to-serve, one dot per customer, with the
/// quadrant split lines.
fn matrix(out: &PipelineOutput) -> Result<Option<Chart>> {
    let Some(p) = &out.profitability else {
        return Ok(None);
    };
    let df = &out.customers;
    let cts = f64_column(df, "cost_to_serve")?;
    let contribution = p.axis == crate::profitability::MatrixAxis::Contribution;
    let margin = f64_column(df, p.axis.column())?;
    let quadrant: Vec<Option<String>> = df
        .column("quadrant")?
        .str()?
        .iter()
        .map(|v| v.map(str::to_string))
        .collect();
    let n = cts.len();
    let stride = n.div_ceil(4000).max(1);
    let mut xs: Vec<f64> = cts.iter().flatten().copied().collect();
    let mut ys: Vec<f64> = margin.iter().flatten().copied().collect();
    xs.sort_by(f64::total_cmp);
    ys.sort_by(f64::total_cmp);
    let (t_margin, t_cts) = p.thresholds;
    let x_hi = (quantile(&xs, 0.99) * 1.05).max(t_cts * 1.2).max(1e-9);
    let (q_lo, q_hi) = (
        quantile(&ys, 0.01).min(t_margin),
        quantile(&ys, 0.99).max(t_margin),
    );
    let pad = ((q_hi - q_lo) * 0.05).max(if contribution { 1.0 } else { 5.0 });
    let (y_lo, y_hi) = (q_lo - pad, q_hi + pad);
    let constant = ys.first().zip(ys.last()).is_some_and(|(a, b)| a == b);
    let y_desc = if contribution {
        "gross profit per customer"
    } else {
        "gross margin % of revenue"
    };
    let names = [
        "Passive",
        "Carriage trade",
        "Bargain basement",
        "Aggressive",
    ];
    let mut outside = 0usize;
    let mut shown = 0usize;
    let svg = render(SIZE, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Profit contribution vs cost-to-serve", ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..x_hi, y_lo..y_hi)?;
        chart
            .configure_mesh()
            .x_desc("cost to serve per customer")
            .y_desc(y_desc)
            .draw()?;
        for (qi, name) in names.iter().enumerate() {
            let color = PALETTE[qi];
            let pts: Vec<(f64, f64)> = (0..n)
                .step_by(stride)
                .filter(|&i| quadrant[i].as_deref() == Some(*name))
                .filter_map(|i| Some((cts[i]?, margin[i]?)))
                .collect();
            let inside: Vec<(f64, f64)> = pts
                .iter()
                .copied()
                .filter(|(x, y)| *x <= x_hi && *y >= y_lo && *y <= y_hi)
                .collect();
            outside += pts.len() - inside.len();
            shown += inside.len();
            chart
                .draw_series(
                    inside
                        .iter()
                        .map(|&(x, y)| Circle::new((x, y), 2, color.mix(0.55).filled())),
                )?
                .label(*name)
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
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        Ok(())
    })?;
    let big = p
        .quadrants
        .iter()
        .max_by(|a, b| a.net_contribution.total_cmp(&b.net_contribution));
    let worst = p
        .quadrants
        .iter()
        .min_by(|a, b| a.net_contribution.total_cmp(&b.net_contribution));
    let mut reading = if contribution {
        format!(
            "Each dot is a customer: gross profit (profit contribution before service costs) against the cost of serving them. The lines split both axes at {} gross profit and {} cost-to-serve.",
            money(t_margin),
            money(t_cts)
        )
    } else {
        format!(
            "Each dot is a customer: gross margin as a share of revenue against the cost of serving them. The lines split both axes at {:.1}% margin and {} cost-to-serve.",
            t_margin,
            money(t_cts)
        )
    };
    if constant {
        reading.push_str(" Every customer has the same value on the vertical axis (a margin rate without a cost column?): the matrix separates customers by cost-to-serve only; set the profitability axis to contribution.");
    }
    if let (Some(b), Some(w)) = (big, worst) {
        reading.push_str(&format!(
            " {} customers ({} of the base) bring {} of net contribution; {} ({}) bring {}.",
            b.quadrant,
            pct(b.customer_share),
            pct(b.net_contribution_share),
            w.quadrant,
            pct(w.customer_share),
            pct(w.net_contribution_share)
        ));
    }
    if stride > 1 {
        reading.push_str(&format!(
            " Every {stride}th customer is drawn ({shown} dots)."
        ));
    }
    if outside > 0 {
        reading.push_str(&format!(
            " {outside} drawn customers beyond the 1st-99th percentile range are off the chart."
        ));
    }
    Ok(Some(Chart {
        id: "matrix",
        title: "Profit contribution vs cost-to-serve".into(),
        svg,
        reading,
    }))
}

/// Cumulative share of net contribution against the share of customers, best first.
fn whale(out: &PipelineOutput) -> Result<Option<Chart>> {
    let Some(w) = out.profitability.as_ref().and_then(|p| p.whale.as_ref()) else {
        return Ok(None);
    };
    let n = w.points.len();
    if n == 0 {
        return Ok(None);
    }
    let stride = n.div_ceil(1000).max(1);
    let mut pts: Vec<(f64, f64)> = vec![(0.0, 0.0)];
    pts.extend(
        (0..n)
            .step_by(stride)
            .chain(std::iter::once(n - 1))
            .map(|i| (100.0 * (i + 1) as f64 / n as f64, 100.0 * w.points[i])),
    );
    let y_hi = (w.peak_share * 100.0).max(100.0) * 1.08;
    let y_lo = pts.iter().map(|p| p.1).fold(0.0, f64::min).min(0.0);
    let svg = render(SIZE, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Whale curve", ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..100.0, y_lo..y_hi)?;
        chart
            .configure_mesh()
            .x_desc("% of customers, most profitable first")
            .y_desc("cumulative % of net contribution")
            .draw()?;
        chart.draw_series(LineSeries::new(
            vec![(0.0, 100.0), (100.0, 100.0)],
            BLACK.mix(0.5).stroke_width(1),
        ))?;
        chart
            .draw_series(LineSeries::new(pts.clone(), PALETTE[0].stroke_width(2)))?
            .label("cumulative net contribution")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], PALETTE[0]));
        chart.draw_series(std::iter::once(Circle::new(
            (100.0 * w.peak_customer_share, 100.0 * w.peak_share),
            5,
            PALETTE[3].filled(),
        )))?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        Ok(())
    })?;
    let reading = format!(
        "The top 20% of customers bring {} of total net contribution ({}). The curve peaks at {} after the best {} customers ({} of the base): {} customers lose money, together {}.{}",
        pct(w.top20_share),
        money(w.total),
        pct(w.peak_share),
        w.peak_customers,
        pct(w.peak_customer_share),
        w.loss_making,
        money(w.loss_total),
        match w.gini {
            Some(g) => format!(" Gini of net contribution: {g:.3}."),
            None => String::new(),
        }
    );
    Ok(Some(Chart {
        id: "whale",
        title: "Whale curve".into(),
        svg,
        reading,
    }))
}

/// Share of customers and of revenue per cluster.
fn segments(out: &PipelineOutput) -> Result<Option<Chart>> {
    let Some(seg) = &out.segmentation else {
        return Ok(None);
    };
    let p = &seg.profiles;
    let k = p.len();
    if k == 0 {
        return Ok(None);
    }
    let top = p
        .iter()
        .map(|p| p.share.max(p.revenue_share.unwrap_or(0.0)))
        .fold(0.0, f64::max)
        * 100.0
        * 1.15;
    let labels: Vec<String> = p.iter().map(|p| format!("segment {}", p.segment)).collect();
    let svg = render(SIZE, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Segments: size and value", ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(56)
            .build_cartesian_2d(-0.5..(k as f64 - 0.5), 0.0..top.max(1.0))?;
        let fmt = |v: &f64| category(&labels, *v);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(k + 1)
            .x_label_formatter(&fmt)
            .y_desc("% of customers / % of revenue")
            .draw()?;
        chart
            .draw_series(p.iter().enumerate().map(|(i, s)| {
                let x = i as f64;
                Rectangle::new(
                    [(x - 0.38, 0.0), (x - 0.02, 100.0 * s.share)],
                    PALETTE[0].filled(),
                )
            }))?
            .label("customers")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], PALETTE[0].filled()));
        chart
            .draw_series(p.iter().enumerate().map(|(i, s)| {
                let x = i as f64;
                Rectangle::new(
                    [
                        (x + 0.02, 0.0),
                        (x + 0.38, 100.0 * s.revenue_share.unwrap_or(0.0)),
                    ],
                    PALETTE[1].filled(),
                )
            }))?
            .label("revenue")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], PALETTE[1].filled()));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        Ok(())
    })?;
    let parts: Vec<String> = p
        .iter()
        .map(|s| {
            format!(
                "segment {} \u{201c}{}\u{201d}: {} of customers, {} of revenue",
                s.segment,
                s.label,
                pct(s.share),
                s.revenue_share.map_or("n/a".into(), pct)
            )
        })
        .collect();
    let reading = format!(
        "{} segments were chosen (highest silhouette over the k range, computed on {} customers). {}. Segments are numbered by revenue, largest first.",
        seg.chosen_k,
        seg.silhouette_sample_size,
        parts.join("; ")
    );
    Ok(Some(Chart {
        id: "segments",
        title: "Segment sizes and value".into(),
        svg,
        reading,
    }))
}

/// Mean total spend per (R score, F score) cell.
fn rfm_heatmap(out: &PipelineOutput) -> Result<Chart> {
    let df = out.rfm.frame();
    let r: Vec<Option<f64>> = f64_column(df, "r_score")?;
    let f: Vec<Option<f64>> = f64_column(df, "f_score")?;
    let m: Vec<Option<f64>> = f64_column(df, "total_spend")?;
    let bins = r
        .iter()
        .chain(&f)
        .flatten()
        .fold(1.0_f64, |a, &b| a.max(b))
        .round() as usize;
    let mut sum = vec![vec![0.0; bins]; bins];
    let mut count = vec![vec![0usize; bins]; bins];
    for i in 0..r.len() {
        if let (Some(r), Some(f), Some(m)) = (r[i], f[i], m[i]) {
            let (ri, fi) = (r as usize, f as usize);
            if (1..=bins).contains(&ri) && (1..=bins).contains(&fi) {
                sum[ri - 1][fi - 1] += m;
                count[ri - 1][fi - 1] += 1;
            }
        }
    }
    let mean = |ri: usize, fi: usize| -> Option<f64> {
        (count[ri][fi] > 0).then(|| sum[ri][fi] / count[ri][fi] as f64)
    };
    let values: Vec<f64> = (0..bins)
        .flat_map(|ri| (0..bins).filter_map(move |fi| mean(ri, fi)))
        .collect();
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let scale = |v: f64| if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
    let svg = render((640, 560), |root| {
        let mut chart = ChartBuilder::on(root)
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
        for (ri, row) in count.iter().enumerate() {
            for (fi, &n) in row.iter().enumerate() {
                let (x, y) = (fi as f64 + 1.0, ri as f64 + 1.0);
                match mean(ri, fi) {
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
    let best = (0..bins)
        .flat_map(|ri| (0..bins).map(move |fi| (ri, fi)))
        .filter_map(|(ri, fi)| mean(ri, fi).map(|v| (ri, fi, v)))
        .max_by(|a, b| a.2.total_cmp(&b.2));
    let reading = match best {
        Some((ri, fi, v)) => format!(
            "Each cell holds the customers with one recency score (rows) and one frequency score (columns), coloured by their mean total spend. The highest mean, {}, is at R {} / F {} ({} customers); grey cells have no customers (ties in the frequency score leave some empty).",
            money(v),
            ri + 1,
            fi + 1,
            count[ri][fi]
        ),
        None => "No customer has both scores.".into(),
    };
    Ok(Chart {
        id: "rfm_heatmap",
        title: "RFM heat map".into(),
        svg,
        reading,
    })
}

/// Actual against expected holdout purchases by calibration frequency.
fn holdout(out: &PipelineOutput) -> Result<Option<Chart>> {
    let Some(h) = out.checks.as_ref().and_then(|c| c.holdout.as_ref()) else {
        return Ok(None);
    };
    let bins = &h.bins;
    if bins.is_empty() {
        return Ok(None);
    }
    let top = bins
        .iter()
        .map(|b| b.actual.max(b.expected))
        .fold(0.0, f64::max)
        * 1.15;
    let last = bins.len() as f64 - 1.0;
    let labels: Vec<String> = bins
        .iter()
        .map(|b| bin_label(b.frequency, b.open_ended))
        .collect();
    let svg = render(SIZE, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Calibration vs holdout", ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(56)
            .build_cartesian_2d(-0.3..(last + 0.3), 0.0..top.max(1e-9))?;
        let fmt = |v: &f64| category(&labels, *v);
        chart
            .configure_mesh()
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
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        Ok(())
    })?;
    let reading = format!(
        "Customers grouped by their repeat purchases in the calibration period; for each group the mean number of purchases they made in the holdout period, and what the model fitted on the calibration period expected. In all: {:.0} actual against {:.0} expected holdout purchases (mean absolute error per group {:.3}).",
        h.actual_total, h.expected_total, h.mae
    );
    Ok(Some(Chart {
        id: "holdout",
        title: "Calibration vs holdout".into(),
        svg,
        reading,
    }))
}

/// P(alive) over frequency and recency at the largest customer age.
fn p_alive(out: &PipelineOutput) -> Result<Option<Chart>> {
    let Some(clv) = &out.clv else {
        return Ok(None);
    };
    let Some(pm) = clv.purchase.purchase_model() else {
        return Ok(None);
    };
    let x: Vec<f64> = f64_column(&clv.frame, "frequency")?
        .into_iter()
        .flatten()
        .collect();
    let t_all: Vec<f64> = f64_column(&clv.frame, "T")?.into_iter().flatten().collect();
    let t = t_all.iter().copied().fold(0.0, f64::max);
    if x.is_empty() || t <= 0.0 {
        return Ok(None);
    }
    let mut sorted = x.clone();
    sorted.sort_by(f64::total_cmp);
    let max_x = quantile(&sorted, 0.995).clamp(5.0, 60.0).round() as usize;
    let cols = 40usize;
    let dt = t / cols as f64;
    let grid: Vec<Vec<Option<f64>>> = (0..=max_x)
        .map(|xi| {
            (0..cols)
                .map(|c| {
                    let t_x = (c as f64 + 0.5) * dt;
                    if xi == 0 {
                        (c == 0).then(|| pm.p_alive(0.0, 0.0, t))
                    } else {
                        Some(pm.p_alive(xi as f64, t_x, t))
                    }
                })
                .collect()
        })
        .collect();
    let svg = render(SIZE, |root| {
        let mut chart = ChartBuilder::on(root)
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
            .x_desc("recency: age at the last purchase (time units)")
            .y_desc("repeat purchases")
            .draw()?;
        for (xi, row) in grid.iter().enumerate() {
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
    let low_recent = grid
        .get(max_x.min(grid.len() - 1))
        .and_then(|row| row.first().copied().flatten())
        .unwrap_or(f64::NAN);
    let reading = format!(
        "The fitted {} model's probability that a customer is still active, for a customer first seen {t:.1} time units before the end (dark = likely active). Customers with many purchases whose last purchase was long ago (top left) are the likeliest to have left: at {max_x} repeat purchases and the earliest recency P(alive) is {:.3}. Customers without repeat purchases (bottom row) have one value, {:.3}; grey cells cannot occur.",
        clv.purchase.name(),
        low_recent,
        pm.p_alive(0.0, 0.0, t)
    );
    Ok(Some(Chart {
        id: "p_alive",
        title: "Frequency-recency P(alive) matrix".into(),
        svg,
        reading,
    }))
}

/// Customers by number of repeat purchases in the fitted period: actual and model.
fn period_transactions(out: &PipelineOutput) -> Result<Option<Chart>> {
    let Some(h) = out.checks.as_ref().and_then(|c| c.histogram.as_ref()) else {
        return Ok(None);
    };
    let bins = &h.bins;
    if bins.is_empty() {
        return Ok(None);
    }
    let top = bins
        .iter()
        .map(|b| b.actual.max(b.expected))
        .fold(0.0, f64::max)
        * 1.15;
    let labels: Vec<String> = bins
        .iter()
        .map(|b| bin_label(b.frequency, b.open_ended))
        .collect();
    let k = bins.len();
    let svg = render(SIZE, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Repeat purchases: actual vs model", ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(64)
            .build_cartesian_2d(-0.5..(k as f64 - 0.5), 0.0..top.max(1.0))?;
        let fmt = |v: &f64| category(&labels, *v);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(k + 1)
            .x_label_formatter(&fmt)
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
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        Ok(())
    })?;
    let zero = bins.first().map(|b| (b.actual, b.expected));
    let reading = format!(
        "How many customers made 0, 1, 2, ... repeat purchases in the period the model was fitted on, against the counts the fitted model implies for the same customer ages.{} Chi-square over the bins: {:.1}.",
        match zero {
            Some((a, e)) => format!(" Without repeat purchase: {a:.0} customers, model {e:.0}."),
            None => String::new(),
        },
        h.chi_square
    );
    Ok(Some(Chart {
        id: "period_transactions",
        title: "Period transactions: actual vs model".into(),
        svg,
        reading,
    }))
}

/// Retention by acquisition cohort and period since acquisition.
fn cohort_retention(out: &PipelineOutput) -> Result<Chart> {
    let c = &out.cohorts;
    let max_rows = 36usize;
    let first = c.labels.len().saturating_sub(max_rows);
    let rows: Vec<usize> = (first..c.labels.len()).collect();
    let periods = rows
        .iter()
        .map(|&i| c.retention.get(i).map_or(0, Vec::len))
        .max()
        .unwrap_or(0)
        .max(1);
    let labels: Vec<String> = rows.iter().map(|&i| c.labels[i].clone()).collect();
    let h = (rows.len().max(1) as u32 * 18 + 120).clamp(320, 900);
    let svg = render((760, h), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Cohort retention", ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(84)
            .build_cartesian_2d(
                -0.5..(periods as f64 - 0.5),
                -0.5..(rows.len().max(1) as f64 - 0.5),
            )?;
        let ylab = |v: &f64| category(&labels, *v);
        chart
            .configure_mesh()
            .disable_mesh()
            .y_labels(labels.len().max(1))
            .y_label_formatter(&ylab)
            .x_desc("periods since acquisition")
            .y_desc("cohort")
            .draw()?;
        for (row, &i) in rows.iter().enumerate() {
            for (p, &v) in c.retention[i].iter().enumerate() {
                chart.draw_series(std::iter::once(Rectangle::new(
                    [
                        (p as f64 - 0.5, row as f64 - 0.5),
                        (p as f64 + 0.5, row as f64 + 0.5),
                    ],
                    shade(v).filled(),
                )))?;
            }
        }
        Ok(())
    })?;
    let p1: Vec<f64> = rows
        .iter()
        .filter_map(|&i| c.retention[i].get(1).copied())
        .collect();
    let mut reading = format!(
        "Customers grouped by the period of their first purchase (rows); each cell is the share of the cohort buying again in that period since acquisition (dark = high). {} cohorts, {} customers.",
        c.labels.len(),
        c.sizes.iter().sum::<usize>()
    );
    if !p1.is_empty() {
        reading.push_str(&format!(
            " On average {} of a cohort buy again in the period after acquisition.",
            pct(p1.iter().sum::<f64>() / p1.len() as f64)
        ));
    }
    if first > 0 {
        reading.push_str(&format!(
            " The latest {max_rows} cohorts are drawn; cohorts.csv has all."
        ));
    }
    Ok(Chart {
        id: "cohort_retention",
        title: "Cohort retention".into(),
        svg,
        reading,
    })
}
