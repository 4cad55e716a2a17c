//! The retention what-if's chart: per group (quadrant or RFM segment), the gain in
//! customer equity of the retention change, and net of cost-to-serve where priced
//! ([`crate::stages::whatif`] computes the figures, [`crate::report::whatif`] words them).

use plotters::prelude::*;

use super::{Chart, PALETTE, SIZE, category, legend, render};
use crate::error::Result;
use crate::pipeline::PipelineOutput;
use crate::report::readings::money;

/// Horizontal bars, one row per group, the group gaining most at the top.
pub(super) fn whatif(out: &PipelineOutput) -> Result<Option<Chart>> {
    let Some(w) = &out.whatif else {
        return Ok(None);
    };
    let unit = out.summary.options().time_unit;
    let net = w.total.net_gain.is_some();
    let mut groups: Vec<_> = w.by.iter().filter(|g| g.customers > 0).collect();
    if groups.is_empty() {
        groups.push(&w.total);
    }
    let rank = |g: &crate::stages::whatif::WhatIfFigures| g.net_gain.unwrap_or(g.gain);
    groups.sort_by(|a, b| rank(b).total_cmp(&rank(a)).then(a.group.cmp(&b.group)));
    let k = groups.len();
    // Row 0 at the bottom: the last group in the ranking.
    let labels: Vec<String> = groups.iter().rev().map(|g| g.group.clone()).collect();
    let row = |i: usize| (k - 1 - i) as f64;
    let values = groups
        .iter()
        .flat_map(|g| [Some(g.gain), g.net_gain])
        .flatten();
    let (lo, hi) = values.fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let pad = (hi - lo).max(1.0) * 0.08;
    let (x_lo, x_hi) = (if lo < 0.0 { lo - pad } else { 0.0 }, hi + pad);
    let height = (k as u32 * 60 + 140).clamp(320, 760);
    let svg = render((SIZE.0 + 80, height), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!(
                    "Gain in customer equity from {:+} points of retention",
                    w.retention_points
                ),
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(190)
            .build_cartesian_2d(x_lo..x_hi, -0.5..(k as f64 - 0.5))?;
        let fmt = |v: &f64| category(&labels, *v);
        let xlab = |v: &f64| money(*v);
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .disable_y_mesh()
            .y_labels(k + 1)
            .y_label_formatter(&fmt)
            .y_label_style(("sans-serif", 13))
            .x_label_formatter(&xlab)
            .x_desc("gain in customer equity (money, discounted over the CLV horizon)")
            .draw()?;
        // With net figures the two bars share the row; without, one bar fills it.
        let (gain_band, net_band) = if net {
            ((0.02, 0.38), (-0.38, -0.02))
        } else {
            ((-0.3, 0.3), (0.0, 0.0))
        };
        chart
            .draw_series(groups.iter().enumerate().map(|(i, g)| {
                let y = row(i);
                Rectangle::new(
                    [(0.0, y + gain_band.0), (g.gain, y + gain_band.1)],
                    PALETTE[0].filled(),
                )
            }))?
            .label("gain")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], PALETTE[0].filled()));
        if net {
            chart
                .draw_series(groups.iter().enumerate().map(|(i, g)| {
                    let y = row(i);
                    Rectangle::new(
                        [
                            (0.0, y + net_band.0),
                            (g.net_gain.unwrap_or(0.0), y + net_band.1),
                        ],
                        PALETTE[2].filled(),
                    )
                }))?
                .label("net of cost-to-serve")
                .legend(|(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], PALETTE[2].filled())
                });
        }
        if x_lo < 0.0 {
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(0.0, -0.5), (0.0, k as f64 - 0.5)],
                BLACK.stroke_width(1),
            )))?;
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        Ok(())
    })?;
    Ok(Some(Chart {
        id: "whatif",
        title: "Retention what-if".into(),
        svg,
        reading: crate::report::whatif::reading(w, unit),
    }))
}
