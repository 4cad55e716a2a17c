//! Charts of the customer-value views: the CLV distribution and the holdout gain
//! ([`crate::report::customer_value`] computes what they show).

use plotters::prelude::*;

use super::legend;
use super::{Chart, PALETTE, SIZE, render};
use crate::error::Result;
use crate::report::customer_value::{ClvDistribution, GainReading};
use crate::report::readings::{count, money};

/// Customers by CLV: a histogram to the 99th percentile, with the mean and the median.
pub(super) fn clv_distribution(d: &ClvDistribution) -> Result<Chart> {
    let (x_lo, x_hi) = (d.edges[0], d.edges[d.edges.len() - 1]);
    let x_hi = if x_hi > x_lo { x_hi } else { x_lo + 1.0 };
    let y_hi = d.counts.iter().copied().max().unwrap_or(1).max(1) as f64 * 1.12;
    let svg = render(SIZE, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Customers by CLV", ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(72)
            .build_cartesian_2d(x_lo..x_hi, 0.0..y_hi)?;
        let xlab = |v: &f64| money(*v);
        let ylab = |v: &f64| count(*v);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE)
            .x_label_formatter(&xlab)
            .y_label_formatter(&ylab)
            .x_desc("CLV per customer (money, discounted over the horizon)")
            .y_desc("customers")
            .draw()?;
        chart.draw_series(d.counts.iter().enumerate().map(|(i, &c)| {
            Rectangle::new(
                [(d.edges[i], 0.0), (d.edges[i + 1], c as f64)],
                PALETTE[0].mix(0.8).filled(),
            )
        }))?;
        for (value, name, colour) in [
            (d.mean, "mean", PALETTE[1]),
            (d.median, "median", PALETTE[2]),
        ] {
            if value >= x_lo && value <= x_hi {
                chart
                    .draw_series(DashedLineSeries::new(
                        vec![(value, 0.0), (value, y_hi)],
                        6,
                        4,
                        colour.stroke_width(2),
                    ))?
                    .label(format!("{name} {}", money(value)))
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour));
            }
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    })?;
    Ok(Chart {
        id: "clv_distribution",
        title: "CLV distribution".into(),
        svg,
        reading: d.text.clone(),
    })
}

/// Cumulative gain of the list ranked by the model's holdout expectation: share of the
/// holdout buyers (and purchases) found against the share of customers contacted.
pub(super) fn holdout_gain(g: &GainReading) -> Result<Chart> {
    let n = g.customers.max(1) as f64;
    let mut contacted = 0usize;
    let mut buyers = vec![(0.0, 0.0)];
    let mut purchases = vec![(0.0, 0.0)];
    for row in &g.evaluation.deciles {
        contacted += row.customers;
        let x = contacted as f64 / n;
        buyers.push((x, row.cumulative_gain));
        purchases.push((x, row.cumulative_purchase_share));
    }
    let svg = render(SIZE, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                "Gain: holdout buyers found by the model's ranking",
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..1.0, 0.0..1.02)?;
        let pct = |v: &f64| format!("{:.0}%", 100.0 * v);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE)
            .x_labels(11)
            .x_label_formatter(&pct)
            .y_label_formatter(&pct)
            .x_desc("customers contacted, best-ranked first (share of the base)")
            .y_desc("share of holdout buyers / purchases")
            .draw()?;
        let grey = RGBColor(150, 150, 150);
        chart
            .draw_series(DashedLineSeries::new(
                vec![(0.0, 0.0), (1.0, 1.0)],
                6,
                4,
                grey.stroke_width(1),
            ))?
            .label("random list")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], grey));
        chart
            .draw_series(LineSeries::new(buyers.clone(), PALETTE[0].stroke_width(2)))?
            .label("buyers found")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], PALETTE[0]));
        chart.draw_series(
            buyers
                .iter()
                .skip(1)
                .map(|&p| Circle::new(p, 3, PALETTE[0].filled())),
        )?;
        chart
            .draw_series(LineSeries::new(purchases, PALETTE[1].stroke_width(2)))?
            .label("purchases captured")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], PALETTE[1]));
        legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        Ok(())
    })?;
    Ok(Chart {
        id: "holdout_gain",
        title: "Holdout gain of the model's ranking".into(),
        svg,
        reading: g.text.clone(),
    })
}
